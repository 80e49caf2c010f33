"""What a person watching a study sees: one line per finished run and one progress bar with the time left."""

from __future__ import annotations

import os
import threading

from tqdm import tqdm

BAR = "{desc}: {n_fmt}/{total_fmt} runs trained [{elapsed} elapsed, ~{remaining} left]"


def run_line(task: str, kind: str, d: int | None, seed: int, result: dict, metric: str, reused: bool) -> str:
    value = result["metrics"].get(metric)
    shown = f"{metric} {value:.4g}" if isinstance(value, float) else f"{metric} -"
    where = f"d={d}" if d is not None else "full space"
    timing = "stored" if reused else f"{result['provenance']['seconds']:.1f} s"
    return f"  {task:<24} {kind:<8} {where:<12} seed {seed:<3} {shown:<18} {timing}"


class Progress:
    """A bar over the runs to train (the total grows as the search plans more) and a line per finished run.

    It writes to its own copy of the terminal's stderr, so runs that send their output to log files (in
    this process or in others) never hide it. On a terminal the bar is redrawn in place; into a file (a
    cluster job's log, `dvc repro > log`) it is written as a line of its own when a round is planned and after
    each trained run, so that every line of the log is whole.
    """

    def __init__(self, title: str) -> None:
        self._stream = os.fdopen(os.dup(2), "w", buffering=1)
        self._live = self._stream.isatty()
        self._sink = self._stream if self._live else open(os.devnull, "w")  # noqa: SIM115 (closed in close())
        self._lock = threading.Lock()
        self._bar = tqdm(total=0, desc=title, unit="run", file=self._sink, dynamic_ncols=True, bar_format=BAR)

    def _log_bar(self) -> None:
        if not self._live:
            print(self._bar, file=self._stream)

    def plan(self, title: str, to_train: int, expected_later: int) -> None:
        """A new round: `to_train` runs now, about `expected_later` in later rounds."""
        with self._lock:
            self._bar.set_description_str(title, refresh=False)
            self._bar.total = self._bar.n + to_train + expected_later
            self._bar.refresh()
            self._log_bar()

    def line(self, text: str, trained: bool) -> None:
        with self._lock:
            self._bar.write(text, file=self._stream)  # clears the bar first where it is drawn
            if trained:
                self._bar.update(1)
                self._log_bar()

    def close(self, finished: bool) -> None:
        """The last bar: the runs trained of all there were, or (not finished) of all that were planned."""
        if finished:
            self._bar.total = self._bar.n
        self._log_bar()
        self._bar.close()
        if not self._live:
            self._sink.close()
        self._stream.close()

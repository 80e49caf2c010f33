"""Local jobs end with the study that started them: a killed study (kill -9 included) leaves no worker training.

The study names itself in the environment its local worker processes inherit (joblib's); each job then
watches that process and exits once it is gone. Its finished runs are stored; the rest are retrained on resume.
Cluster jobs run elsewhere and go on: they store their runs, which the next study reads.
"""

from __future__ import annotations

import os
import platform
import threading
import time

VARIABLE = "INTRINSIC_DIM_STUDY"  # "<host>:<pid>" of the study process
POLL_SECONDS = 1.0
_watching = False


def mark_study() -> None:
    os.environ[VARIABLE] = f"{platform.node()}:{os.getpid()}"


def follow_study() -> None:
    """In a job: exit as soon as the local study process that started it is gone."""
    global _watching
    host, _, pid = os.environ.get(VARIABLE, "").partition(":")
    if _watching or host != platform.node() or not pid.isdigit() or int(pid) == os.getpid():
        return
    _watching = True

    def watch() -> None:
        while True:
            time.sleep(POLL_SECONDS)
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                os._exit(1)  # no cleanup to wait for: a run is stored atomically or not at all

    threading.Thread(target=watch, name="follow-study", daemon=True).start()

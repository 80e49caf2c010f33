"""Text classification, of single texts or text pairs, from CSV/TSV files or the Hugging Face hub.

Offline the files come from a local mirror; with `download=true` and a `hub` entry the hub's splits are saved
under <root>/hub instead. Either way the prepared form is a `datasets.DatasetDict` (train, val, and test when
given) with columns text, text_pair (pair tasks only) and label, an index into `label_names`, saved to disk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from intrinsic_dim.datasets.delimited_files import quoting_rule, read_columns
from intrinsic_dim.datasets.raw_files import RawFiles
from intrinsic_dim.errors import BadInput, DataError

TEXT_COLUMNS = ("text", "text_pair")
SPLITS = ("train", "val", "test")  # train and val are required; test is optional


def chosen_columns(columns: Mapping[str, str | None], key: str) -> dict[str, str]:
    """Our column name -> the data's, without a null text_pair (a single-text task)."""
    chosen = {ours: theirs for ours, theirs in columns.items() if theirs is not None}
    if not {"text", "label"} <= set(chosen) <= {*TEXT_COLUMNS, "label"}:
        raise BadInput(
            f"{key} must map text, label and optionally text_pair to the data's columns, not {dict(columns)}"
        )
    return chosen


def label_indices(values: Sequence, names: Sequence[str], where: str) -> list[int]:
    """Each label as an index into `names`: a split that gives every label by name is looked up by name,
    otherwise each label must be an integer index (as GLUE's 0/1)."""
    position = {name: index for index, name in enumerate(names)}
    texts = [str(value) for value in values]
    if all(text in position for text in texts):
        return [position[text] for text in texts]
    indices = [int(text) if text.isdigit() and int(text) < len(names) else None for text in texts]
    if None not in indices:
        return indices
    for row, text in enumerate(texts, start=1):
        if text not in position and indices[row - 1] is None:
            raise DataError(
                f"{where}, row {row}: label {text!r} is neither one of dataset.source.label_names {list(names)} nor "
                f"an index from 0 to {len(names) - 1}; add it to label_names or correct the data"
            )
    row = indices.index(None) + 1
    raise DataError(f"{where}, row {row}: label {texts[row - 1]!r} is a name where others are indices; use one of both")


class TextClassificationSource:
    def __init__(
        self,
        root: str,
        mirror: str | None,
        download: bool,
        columns: Mapping[str, str | None],
        label_names: Sequence[str],
        files: Mapping[str, str] | None = None,
        hub: Mapping | None = None,
        delimiter: str = ",",
        quoting: str = "minimal",
        encoding: str = "utf-8-sig",
        sha256: Mapping[str, str | None] | None = None,
    ) -> None:
        self.root = Path(root)
        self.mirror = Path(mirror) if mirror else None
        self.download = download
        self.files = dict(files or {})  # split -> file name under root
        self.hub = dict(hub or {})  # {path, name, splits: {ours: the hub's}, columns: when the hub's names differ}
        if not self.files and not self.hub.get("splits"):
            raise BadInput("dataset.source needs files: {train: ..., val: ...} or hub: {path: ..., splits: {...}}")
        self.splits = list(self.files or self.hub["splits"])
        if not {"train", "val"} <= set(self.splits) <= set(SPLITS):
            raise BadInput(f"the splits of dataset.source are {self.splits}; give train, val and optionally test")
        if self.files and self.hub and set(self.hub["splits"]) != set(self.files):
            raise BadInput("dataset.source.hub.splits must name the same splits as dataset.source.files")
        self.columns = chosen_columns(columns, "dataset.source.columns")
        self.hub_columns = chosen_columns(self.hub.get("columns") or columns, "dataset.source.hub.columns")
        if set(self.hub_columns) != set(self.columns):
            raise BadInput("dataset.source.hub.columns must name the same columns as dataset.source.columns")
        self.label_names = list(label_names)
        if len(self.label_names) < 2 or len(set(self.label_names)) != len(self.label_names):
            raise BadInput(f"dataset.source.label_names={self.label_names} must name two or more distinct labels")
        if len(delimiter) != 1:
            raise BadInput(f"dataset.source.delimiter={delimiter!r} must be one character, e.g. ',' or '\\t'")
        quoting_rule(quoting)  # refused now rather than when preparing
        self.delimiter, self.quoting, self.encoding = delimiter, quoting, encoding
        self.raw = RawFiles(self.root, self.mirror, self.files, sha256 or {})  # digests by split

    @property
    def hub_id(self) -> str:
        return "/".join(filter(None, (self.hub.get("path"), self.hub.get("name"))))

    @property
    def hub_copy(self) -> Path:
        return self.root / "hub"

    def fetch(self) -> Path:
        """Keep what root has, else copy the mirror's files, else save the hub's splits under root."""
        if (self.files and self.raw.fetch()) or self.hub_copy.is_dir():
            return self.root
        if self.download and self.hub:
            self.save_hub_copy()
            return self.root
        take = f"dataset.source.download=true to take {self.hub_id} from the Hugging Face hub"
        if not self.files:
            raise DataError(f"no copy of {self.hub_id} in {self.hub_copy}; set {take}")
        raise DataError(
            f"no {', '.join(self.files.values())} in {self.root} or the mirror {self.mirror}; set "
            f"dataset.source.mirror to a folder that has them{f', or {take}' if self.hub else ''}"
        )

    def save_hub_copy(self) -> None:
        import datasets

        try:
            hub = datasets.load_dataset(self.hub["path"], self.hub.get("name"))
        except (OSError, ValueError) as error:  # offline: ConnectionError or DatasetNotFoundError (both OSError)
            raise DataError(
                f"cannot download {self.hub_id} from the Hugging Face hub ({str(error).splitlines()[0][:160]}); "
                "give local copies as dataset.source.files instead"
            ) from error
        missing = sorted(set(self.hub["splits"].values()) - set(hub))
        if missing:
            raise DataError(
                f"{self.hub_id} has no split {missing[0]!r} (only {sorted(hub)}); fix dataset.source.hub.splits"
            )
        copy = datasets.DatasetDict({ours: hub[theirs] for ours, theirs in self.hub["splits"].items()})
        copy.save_to_disk(str(self.hub_copy))

    def prepare(self):
        """The checked files (or the hub's saved splits) as a DatasetDict of text, [text_pair,] label."""
        import datasets

        if self.hub_copy.is_dir() and not (self.files and self.raw.present()):
            saved = datasets.load_from_disk(str(self.hub_copy))
            return datasets.DatasetDict({split: self.from_hub(split, saved[split]) for split in self.splits})
        if not self.files:
            raise DataError(
                f"no copy of {self.hub_id} in {self.hub_copy}; run `python pipelines/fetch_data.py dataset=<name> "
                "dataset.source.download=true` first"
            )
        return datasets.DatasetDict({split: self.from_file(split) for split in self.files})

    def from_file(self, split: str):
        path = self.raw.checked(split)
        table = read_columns(path, list(self.columns.values()), self.delimiter, self.quoting, self.encoding)
        return self.examples({ours: table[theirs] for ours, theirs in self.columns.items()}, str(path))

    def from_hub(self, split: str, data):
        where = f"{self.hub_id} {self.hub['splits'][split]}"
        missing = sorted(set(self.hub_columns.values()) - set(data.column_names))
        if missing:
            raise DataError(
                f"{where} has no column {missing[0]!r} (only {data.column_names}); fix dataset.source.hub.columns"
            )
        names = getattr(data.features[self.hub_columns["label"]], "names", None)  # a ClassLabel's
        if names is not None and list(names) != self.label_names:
            raise DataError(f"{where} names its labels {names}; set dataset.source.label_names to them, in that order")
        return self.examples({ours: list(data[theirs]) for ours, theirs in self.hub_columns.items()}, where)

    def examples(self, rows: Mapping[str, list], where: str):
        import datasets

        if not rows["label"]:
            raise DataError(f"{where} holds no examples; fetch it again")
        texts = {column: rows[column] for column in TEXT_COLUMNS if column in rows}
        features = datasets.Features(
            {**dict.fromkeys(texts, datasets.Value("string")), "label": datasets.ClassLabel(names=self.label_names)}
        )
        labels = label_indices(rows["label"], self.label_names, where)
        return datasets.Dataset.from_dict({**texts, "label": labels}, features=features)

"""A GLUE sentence-pair task (MRPC) in GLUE's own TSV files, read through the Hugging Face `datasets` csv loader.

Offline the TSVs come from a local mirror; with `download=true` the task is taken from the hub (`glue`/`mrpc`)
and written in the same TSV layout, so both paths prepare through one reader. The prepared form is a
`datasets.DatasetDict` (train, val) with columns sentence1, sentence2, label, saved to disk.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Mapping
from pathlib import Path

from intrinsic_dim.datasets.source import sha256
from intrinsic_dim.errors import DataError

COLUMNS = {"Quality": "label", "#1 String": "sentence1", "#2 String": "sentence2"}  # GLUE header -> ours
HUB_SPLITS = {"train": "train", "val": "validation"}  # our split -> the hub's


class GlueSource:
    def __init__(
        self,
        hub: Mapping[str, str],
        root: str,
        mirror: str | None,
        download: bool,
        files: Mapping[str, str],
        sha256: Mapping[str, str | None],
    ) -> None:
        self.hub = dict(hub)  # load_dataset(path, name)
        self.root = Path(root)
        self.mirror = Path(mirror) if mirror else None
        self.download = download
        self.files = dict(files)  # split -> TSV file name
        self.expected_sha256 = dict(sha256)

    def has_files(self, directory: Path) -> bool:
        return all((directory / name).is_file() for name in self.files.values())

    def fetch(self) -> Path:
        """Keep what root has, else copy the mirror's TSVs, else download from the hub and write them as TSVs."""
        if self.has_files(self.root):
            return self.root
        if self.mirror is not None and self.has_files(self.mirror):
            self.root.mkdir(parents=True, exist_ok=True)
            for name in self.files.values():
                shutil.copyfile(self.mirror / name, self.root / name)
            return self.root
        if not self.download:
            raise DataError(
                f"no {', '.join(self.files.values())} in {self.root} or in the mirror {self.mirror}; set "
                "INTRINSIC_DIM_MIRROR to a folder that has them, or pass dataset.source.download=true"
            )
        self.write_from_hub()
        return self.root

    def write_from_hub(self) -> None:
        import datasets

        try:
            hub = datasets.load_dataset(self.hub["path"], self.hub["name"])
        except (OSError, ConnectionError) as error:
            raise DataError(
                f"cannot download {self.hub['path']}/{self.hub['name']} from the Hugging Face hub "
                f"({str(error).splitlines()[0][:120]}); put GLUE's TSVs in {self.root} instead"
            ) from error
        self.root.mkdir(parents=True, exist_ok=True)
        for split, name in self.files.items():
            with (self.root / name).open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None, escapechar=None)
                writer.writerow(["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"])
                for row in hub[HUB_SPLITS[split]]:
                    writer.writerow([row["label"], row["idx"], row["idx"], row["sentence1"], row["sentence2"]])

    def check(self, split: str) -> Path:
        path = self.root / self.files[split]
        if not path.is_file():
            raise DataError(f"{path} is missing; run `python pipelines/fetch_data.py dataset=mrpc` first")
        expected = self.expected_sha256.get(self.files[split])
        if expected is not None and sha256(path) != expected:
            raise DataError(
                f"{path} does not match its sha256 in conf/dataset ({expected[:12]}...): it is corrupt or another "
                f"copy; delete it and fetch again, or set dataset.source.sha256.{self.files[split]}=null to accept it"
            )
        return path

    def prepare(self):
        """The checked TSVs as a DatasetDict (train, val): sentence1, sentence2 and an integer label per pair."""
        import datasets

        paths = {split: str(self.check(split)) for split in self.files}
        features = datasets.Features(
            {"label": datasets.Value("int64"), "sentence1": datasets.Value("string"),
             "sentence2": datasets.Value("string")}
        )  # fmt: skip
        try:
            raw = datasets.load_dataset(
                "csv", data_files=paths, delimiter="\t", quoting=csv.QUOTE_NONE, encoding="utf-8-sig",
                usecols=list(COLUMNS), keep_default_na=False,
            )  # fmt: skip
            prepared = raw.rename_columns(COLUMNS).cast(features)
        except (ValueError, KeyError, datasets.exceptions.DatasetGenerationError) as error:
            raise DataError(
                f"cannot read {', '.join(paths.values())} as GLUE TSVs ({str(error).splitlines()[0][:120]}); "
                "delete them and fetch again"
            ) from error
        labels = {split: set(prepared[split]["label"]) for split in prepared}
        if any(not values <= {0, 1} for values in labels.values()):
            raise DataError(f"labels other than 0/1 in {paths}: {labels}; delete the files and fetch again")
        return prepared

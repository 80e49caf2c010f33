"""Lightning data module over a prepared text-classification dataset (intrinsic_dim.datasets.text_classification):
single texts or text pairs, tokenized once (cached on disk), padded per batch."""

from __future__ import annotations

import hashlib
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader
from transformers import AutoTokenizer, DataCollatorWithPadding
from transformers.trainer_pt_utils import LengthGroupedSampler

from intrinsic_dim.datasets.raw_files import sha256
from intrinsic_dim.errors import DataError
from intrinsic_dim.tasks.loading import loader_settings

SPLITS = ("train", "val")
TEXT_COLUMNS = ("text", "text_pair")  # a pair task has both; the tokenizer joins them with its separator


class TokenizedText(L.LightningDataModule):
    def __init__(
        self,
        path: str,
        tokenizer: str,
        cache_dir: str,
        num_classes: int,
        max_length: int = 128,
        batch_size: int = 16,
        group_by_length: bool = True,
        seed: int = 0,
        train_examples: int | None = None,
        limit: int | None = None,
        workers: int = 0,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.tokenizer_name = tokenizer
        self.cache_dir = Path(cache_dir)
        self.num_classes = num_classes  # what the model's head has: checked against the prepared label names
        self.max_length = max_length
        self.batch_size = batch_size
        self.group_by_length = group_by_length  # batches of similar lengths: less padding, ~1.4x faster on MRPC
        self.seed = seed  # the order of training batches
        self.train_examples = train_examples  # a fixed subset of the training split (the first N)
        self.limit = limit  # first `limit` examples of each split: tiny real subsets for tests
        self.workers = workers
        self.splits: dict = {}
        if not (self.path / "dataset_dict.json").is_file():  # checked when the run is built, before any logger
            raise DataError(
                f"prepared data {self.path} is missing; run `dvc repro prepare` "
                f"(or python pipelines/prepare.py dataset={self.path.name})"
            )

    def tokenizer(self):
        local = Path(self.tokenizer_name).is_dir()
        try:
            return AutoTokenizer.from_pretrained(self.tokenizer_name, local_files_only=local)
        except OSError as error:
            raise DataError(
                f"cannot load the tokenizer of {self.tokenizer_name} ({str(error).splitlines()[0]})"
            ) from error

    def cache_file(self, split: str, examples, columns: list[str], tokenizer) -> Path:
        """One file per (split, the prepared examples' content, text columns, tokenizer vocabulary and rules,
        max_length): a dataset prepared again with other content is tokenized again."""
        content = "".join(sha256(Path(file["filename"])) for file in examples.cache_files)
        digest = hashlib.sha256((content + tokenizer.backend_tokenizer.to_str()).encode()).hexdigest()[:16]
        return self.cache_dir / f"{self.path.name}-{split}-{'+'.join(columns)}-{self.max_length}-{digest}.arrow"

    def text_columns(self, examples) -> list[str]:
        """The text columns of a prepared split, after checking it against this module's expectations."""
        remake = f"run `python pipelines/prepare.py dataset={self.path.name}` again"
        if "text" not in examples.column_names:
            raise DataError(f"prepared data {self.path} has no text column (an older format); {remake}")
        names = examples.features["label"].names
        if len(names) != self.num_classes:
            raise DataError(
                f"prepared data {self.path} has {len(names)} labels {names} but num_classes is {self.num_classes}; "
                f"set num_classes: {len(names)} in conf/dataset/{self.path.name}.yaml"
            )
        return [column for column in TEXT_COLUMNS if column in examples.column_names]

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        import datasets

        prepared = datasets.load_from_disk(str(self.path))
        tokenizer = self.tokenizer()
        self.collate = DataCollatorWithPadding(tokenizer)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        for split in SPLITS:
            examples = prepared[split]
            columns = self.text_columns(examples)
            examples = examples.map(
                lambda batch, columns=columns: tokenizer(
                    *(batch[column] for column in columns), truncation=True, max_length=self.max_length
                ),
                batched=True,
                cache_file_name=str(self.cache_file(split, examples, columns, tokenizer)),
                remove_columns=columns,
                desc=None,
            ).rename_column("label", "labels")
            if split == "train" and self.train_examples is not None:
                examples = examples.select(range(min(self.train_examples, len(examples))))
            if self.limit is not None:
                examples = examples.select(range(min(self.limit, len(examples))))
            self.splits[split] = examples.with_format("torch")

    def loader(self, split: str, shuffle: bool = False, seed: int | None = None) -> DataLoader:
        """Batches in a fixed order, or shuffled in the order drawn from `seed` (default: this module's), grouped by
        length when `group_by_length`."""
        self.setup()
        examples, settings = self.splits[split], loader_settings(self.workers)
        if not shuffle:
            return DataLoader(examples, batch_size=self.batch_size, collate_fn=self.collate, **settings)
        generator = torch.Generator().manual_seed(self.seed if seed is None else seed)
        if not self.group_by_length:
            return DataLoader(examples, batch_size=self.batch_size, shuffle=True, generator=generator,
                              collate_fn=self.collate, **settings)  # fmt: skip
        lengths = [len(ids) for ids in examples["input_ids"]]
        sampler = LengthGroupedSampler(self.batch_size, lengths=lengths, generator=generator)
        return DataLoader(examples, batch_size=self.batch_size, sampler=sampler, collate_fn=self.collate, **settings)

    def train_dataloader(self) -> DataLoader:
        return self.loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self.loader("val")

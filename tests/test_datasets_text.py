"""Text classification sources: CSV/TSV files (single texts or pairs, labels by name or index) and the hub's
splits, prepared into text, [text_pair,] label; GLUE MRPC prepared exactly as the GLUE reader it replaces did."""

import hashlib

import datasets
import hydra
import pytest

from helpers import MRPC_MIRROR
from intrinsic_dim.config import compose
from intrinsic_dim.datasets.text_classification import TextClassificationSource, label_indices
from intrinsic_dim.errors import BadInput, DataError

# The previous reader's output (datasets.glue.GlueSource, sentence1/sentence2/label) on the mirror: sha256 of the
# texts joined by newlines and of the label bytes, the number of pairs and of paraphrases.
MRPC_BEFORE = {
    "train": (3668, 2474, "b2b9651d700c769cfdc6f21389575d417b9de6b59b576cde6f110eb100d94794",
              "a00d16be7df274af1f82f16d4c3170a6015a4e90e2d7705d6a91f0d1519c7ede",
              "af0caf7e89a87dd028ba435dc4f477b4fb210df6db87759783ef91004178c797"),
    "val": (408, 279, "00451fdc3e8d1a7457084587f181bf07f5a0fdc028cd0dbf8a65d9256df27b70",
            "c779ea0b72bb9f42c13303733ccb312709f220e485d6669eaaed5f6ea975d93b",
            "66014940b9e276ddb4d77486ad363f9c959091dec614db863f65faf3ecea2457"),
}  # fmt: skip


def digest(texts) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()


@pytest.mark.skipif(not (MRPC_MIRROR / "train.tsv").is_file(), reason="no local MRPC mirror")
def test_mrpc_is_prepared_as_the_glue_reader_prepared_it():
    overrides = ["dataset=mrpc", f"dataset.source.root={MRPC_MIRROR}"]
    prepared = hydra.utils.instantiate(compose(overrides, config_name="data").dataset.source).prepare()
    assert list(prepared) == ["train", "val"]
    for split, (count, positives, texts, pairs, labels) in MRPC_BEFORE.items():
        rows = prepared[split]
        assert (len(rows), sum(rows["label"])) == (count, positives)
        assert (digest(rows["text"]), digest(rows["text_pair"])) == (texts, pairs)
        assert hashlib.sha256(bytes(list(rows["label"]))).hexdigest() == labels
    assert prepared["val"][100]["text_pair"].startswith("The \u00b5Guru microcontroller")  # UTF-8 kept


def source(root, columns, label_names=("negative", "positive"), **settings) -> TextClassificationSource:
    defaults = {"mirror": None, "download": False, "files": {"train": "train.csv", "val": "val.csv"}}
    return TextClassificationSource(root=str(root), columns=columns, label_names=list(label_names),
                                    **{**defaults, **settings})  # fmt: skip


REVIEWS_YAML = """
# Short reviews, one text each: reviews/train.csv and reviews/val.csv in the mirror.
name: reviews
num_classes: 3
prepared: ${paths.prepared_dir}/${.name}
source:
  _target_: intrinsic_dim.datasets.text_classification.TextClassificationSource
  root: ${paths.data_dir}/${..name}
  mirror: ${paths.mirror_dir}/${..name}
  download: false
  files: {train: train.csv, val: val.csv}
  columns: {text: review, text_pair: null, label: stars}
  label_names: [bad, fair, good]  # the stars column holds these names
  sha256: {train: null, val: null}
"""


def test_a_single_text_csv_dataset_is_one_config_file(tmp_path):
    (tmp_path / "conf" / "dataset").mkdir(parents=True)
    (tmp_path / "conf" / "dataset" / "reviews.yaml").write_text(REVIEWS_YAML)
    mirror = tmp_path / "mirror" / "reviews"
    mirror.mkdir(parents=True)
    (mirror / "train.csv").write_text('id,review,stars\n1,"Loud, but fun.",good\n2,NA,bad\n3,"Said ""meh""",fair\n'
                                      '4,"Two\nlines",good\n')  # fmt: skip
    (mirror / "val.csv").write_text("id,review,stars\n5,Fine.,fair\n\n")
    where = [f"hydra.searchpath=[file://{tmp_path / 'conf'}]", f"paths.mirror_dir={tmp_path / 'mirror'}",
             f"paths.data_dir={tmp_path / 'data'}", "dataset=reviews"]  # fmt: skip
    reviews = hydra.utils.instantiate(compose(where, config_name="data").dataset.source)
    assert reviews.fetch() == tmp_path / "data" / "reviews" and (tmp_path / "data" / "reviews" / "val.csv").is_file()
    prepared = reviews.prepare()
    assert prepared.column_names == {"train": ["text", "label"], "val": ["text", "label"]}
    assert prepared["train"]["text"] == ["Loud, but fun.", "NA", 'Said "meh"', "Two\nlines"]  # "NA" stays text
    assert prepared["train"]["label"] == [2, 0, 1, 2] and prepared["val"]["label"] == [1]
    assert prepared["train"].features["label"].names == ["bad", "fair", "good"]


def test_a_pair_tsv_with_a_byte_order_mark_bare_quotes_and_integer_labels(tmp_path):
    rows = ["\ufeffgold\tfirst\tsecond", '1\t"Quoted, never closed\tShe agreed', "0\tA \u00b5 test\t' quoted '"]
    for name in ("train.tsv", "val.tsv", "test.tsv"):
        (tmp_path / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    pairs = source(tmp_path, {"text": "first", "text_pair": "second", "label": "gold"}, delimiter="\t",
                   quoting="none", files={"train": "train.tsv", "val": "val.tsv", "test": "test.tsv"})  # fmt: skip
    prepared = pairs.prepare()
    assert list(prepared) == ["train", "val", "test"]
    assert prepared["test"].column_names == ["text", "text_pair", "label"]
    assert prepared["test"]["text"] == ['"Quoted, never closed', "A \u00b5 test"]
    assert prepared["test"]["label"] == [1, 0]
    assert prepared["test"]["text_pair"] == ["She agreed", "' quoted '"]
    with pytest.raises(DataError, match="no column 'gold' .*utf-8-sig skips a byte-order mark"):
        source(tmp_path, {"text": "first", "label": "gold"}, delimiter="\t", quoting="none", encoding="utf-8",
               files={"train": "train.tsv", "val": "val.tsv"}).prepare()  # fmt: skip
    with pytest.raises(DataError, match="line 3: 2 fields under a header of 3; check .*quoting"):
        source(tmp_path, {"text": "first", "label": "gold"}, delimiter="\t",
               files={"train": "train.tsv", "val": "val.tsv"}).prepare()  # a quoted field runs on  # fmt: skip


def test_labels_are_names_or_indices_and_anything_else_is_refused():
    assert label_indices(["good", "bad", "good"], ["bad", "good"], "x") == [1, 0, 1]
    assert label_indices(["1", "0"], ["bad", "good"], "x") == [1, 0]
    assert label_indices(["1", "3"], ["1", "2", "3"], "x") == [0, 2]  # names first: star ratings stay ratings
    neither = r"val.csv, row 2: label 'neutral' is neither one of dataset.source.label_names \['bad', 'good'\] nor "
    with pytest.raises(DataError, match=neither + "an index from 0 to 1; add it to label_names"):
        label_indices(["good", "neutral"], ["bad", "good"], "val.csv")
    with pytest.raises(DataError, match="row 2: label 'good' is a name where others are indices"):
        label_indices(["1", "good"], ["bad", "good"], "x")
    with pytest.raises(DataError, match="label '2' is neither"):
        label_indices([0, 2], ["bad", "good"], "hub")
    with pytest.raises(DataError, match="label '-1' is neither"):
        label_indices(["-1"], ["bad", "good"], "hub")


def test_an_unknown_label_in_a_file_is_one_line(tmp_path):
    (tmp_path / "train.csv").write_text("text,label\ngreat,positive\nawful,negative\n")
    (tmp_path / "val.csv").write_text("text,label\nfine,neutral\n")
    with pytest.raises(DataError, match="val.csv, row 1: label 'neutral' is neither one of"):
        source(tmp_path, {"text": "text", "label": "label"}).prepare()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"files": None}, "needs files: .* or hub: "),
        ({"files": {"train": "train.csv"}}, r"splits of dataset.source are \['train'\]; give train, val"),
        ({"quoting": "double"}, "quoting='double': use minimal or none"),
        ({"delimiter": "::"}, "delimiter='::' must be one character"),
        ({"columns": {"text": "a", "text_pair": "b"}}, "must map text, label and optionally text_pair"),
        ({"label_names": ["only"]}, "must name two or more distinct labels"),
        (
            {"hub": {"path": "x", "splits": {"train": "train", "val": "dev"}, "columns": {"text": "s", "label": "l"}}},
            "hub.columns must name the same columns",
        ),
    ],
)
def test_settings_that_cannot_work_are_one_line(tmp_path, settings, message):
    base = {"columns": {"text": "a", "text_pair": "b", "label": "c"}, "label_names": ["no", "yes"],
            "files": {"train": "train.csv", "val": "val.csv"}}  # fmt: skip
    with pytest.raises(BadInput, match=message):
        TextClassificationSource(root=str(tmp_path), mirror=None, download=False, **{**base, **settings})


def hub_source(root, label_names=("not_equivalent", "equivalent"), **settings) -> TextClassificationSource:
    hub = {"path": "nyu-mll/glue", "name": "mrpc", "splits": {"train": "train", "val": "validation"},
           "columns": {"text": "sentence1", "text_pair": "sentence2", "label": "label"}}  # fmt: skip
    return source(root, {"text": "#1 String", "text_pair": "#2 String", "label": "Quality"}, label_names,
                  files={"train": "train.tsv", "val": "dev.tsv"}, hub=hub, **settings)  # fmt: skip


def test_the_hubs_splits_are_saved_under_root_and_prepared_like_files(tmp_path, monkeypatch):
    labels = datasets.ClassLabel(names=["not_equivalent", "equivalent"])
    features = datasets.Features({"sentence1": datasets.Value("string"), "sentence2": datasets.Value("string"),
                                  "label": labels, "idx": datasets.Value("int32")})  # fmt: skip

    def split(count: int) -> datasets.Dataset:
        rows = {"sentence1": [f"a{i}" for i in range(count)], "sentence2": [f"b{i}" for i in range(count)],
                "label": [i % 2 for i in range(count)], "idx": list(range(count))}  # fmt: skip
        return datasets.Dataset.from_dict(rows, features=features)

    hub = datasets.DatasetDict({"train": split(5), "validation": split(2), "test": split(3)})
    asked = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *args: asked.append(args) or hub)
    with pytest.raises(DataError, match="no train.tsv, dev.tsv in .* or dataset.source.download=true to take nyu-mll"):
        hub_source(tmp_path).fetch()
    assert hub_source(tmp_path, download=True).fetch() == tmp_path and asked == [("nyu-mll/glue", "mrpc")]
    prepared = hub_source(tmp_path).prepare()  # offline again: the saved copy
    assert prepared["val"].to_dict() == {"text": ["a0", "a1"], "text_pair": ["b0", "b1"], "label": [0, 1]}
    assert len(prepared["train"]) == 5 and list(prepared) == ["train", "val"]
    with pytest.raises(DataError, match=r"labels \['not_equivalent', 'equivalent'\]; set dataset.source.label_names"):
        hub_source(tmp_path, label_names=["equivalent", "not_equivalent"]).prepare()


def test_an_unreachable_hub_is_one_line(tmp_path):
    with pytest.raises(DataError, match="cannot download nyu-mll/glue/mrpc from the Hugging Face hub .*files instead"):
        hub_source(tmp_path, download=True).fetch()

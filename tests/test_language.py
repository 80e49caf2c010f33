"""The language family: MRPC loaders, transformer sequence classifiers in DID and SAID subspaces, the offline
hub failure, and a few real steps of the MiniLM task."""

import csv
import json
import time
from pathlib import Path

import datasets
import hydra
import pytest
import torch
from transformers import AutoTokenizer

from helpers import in_process_study, mrpc_source, study_arguments
from intrinsic_dim.config import compose
from intrinsic_dim.core.subspace import SubspaceModel, trainable_tensors
from intrinsic_dim.datasets.text_classification import TextClassificationSource
from intrinsic_dim.errors import DataError
from intrinsic_dim.run import run
from intrinsic_dim.study.report import markdown, paper_value, summarize, table_rows
from intrinsic_dim.tasks.language.metrics import MajorityClassRate, PositiveClassF1
from intrinsic_dim.tasks.language.models import hub_reachable, sequence_classifier
from intrinsic_dim.tasks.language.tokenized_text import TokenizedText

TINY_ROBERTA = {"model_type": "roberta", "vocab_size": 64, "hidden_size": 16, "num_hidden_layers": 2,
                "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 40,
                "pad_token_id": 1}  # fmt: skip


def tiny_roberta() -> torch.nn.Module:
    torch.manual_seed(0)
    return sequence_classifier(architecture=TINY_ROBERTA)


def test_the_offline_loader_reads_every_glue_pair_with_the_bom_and_quotes(mrpc):
    prepared = mrpc_source(mrpc).prepare()
    assert {split: len(pairs) for split, pairs in prepared.items()} == {"train": 3668, "val": 408}
    assert prepared.column_names["train"] == ["text", "text_pair", "label"]  # the BOM did not rename Quality
    assert prepared["train"].features["label"].names == ["not_equivalent", "equivalent"]
    first = prepared["train"][0]
    assert first["label"] == 1 and first["text"].startswith("Amrozi accused his brother")
    with (mrpc / "train.tsv").open(encoding="utf-8-sig") as handle:  # line 93 holds an unbalanced quote
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    assert list(prepared["train"]["text_pair"]) == [row[4] for row in rows]
    assert sorted(set(prepared["val"]["label"])) == [0, 1] and sum(prepared["val"]["label"]) == 279


def test_a_corrupt_or_missing_tsv_is_a_one_line_data_error(mrpc, tmp_path):
    source = mrpc_source(tmp_path, mirror=mrpc)
    source.fetch()
    (tmp_path / "dev.tsv").write_text("Quality\t#1 ID\n1\t2\n")
    with pytest.raises(DataError, match="does not match its sha256.*sha256.val=null"):
        source.prepare()
    with pytest.raises(DataError, match="dev.tsv has no column '#1 String'.*fix dataset.source.columns"):
        mrpc_source(tmp_path, **{"sha256.val": "null"}).prepare()
    with pytest.raises(DataError, match="no train.tsv, dev.tsv in .* set dataset.source.mirror .*download=true"):
        mrpc_source(tmp_path / "empty", mirror="null").fetch()


def test_the_offline_hub_fails_fast_and_names_the_offline_model(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not hub_reachable()
    start = time.perf_counter()
    with pytest.raises(DataError, match="roberta-base is not on this machine.*task=mrpc_minilm"):
        sequence_classifier("roberta-base")
    assert time.perf_counter() - start < 2


def test_said_spends_one_of_d_on_each_tensor_of_a_transformer():
    model = tiny_roberta()
    tensors, _ = trainable_tensors(model)
    wrapped = SubspaceModel(model, "said", 300, seed=0)
    assert wrapped.projection.scales.numel() == len(tensors) > 30
    assert wrapped.theta_d.numel() == 300 - len(tensors)
    assert sum(p.numel() for p in wrapped.parameters()) == 300  # the budget d counts theta_d and the scales
    assert wrapped.projection.D == sum(t.numel() for t in tensors)


@pytest.mark.parametrize("kind", ["fastfood", "said"])
def test_one_step_of_a_subspace_transformer_changes_only_theta_d_and_the_scales(kind):
    wrapped = SubspaceModel(tiny_roberta(), kind, 200, seed=0)
    before = {name: value.detach().clone() for name, value in wrapped.named_parameters()}
    theta_0 = wrapped.theta_0.clone()
    optimizer = torch.optim.AdamW(wrapped.parameters(), lr=1e-2)
    ids = torch.randint(3, 64, (4, 12), generator=torch.Generator().manual_seed(0))
    logits = wrapped(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 1, 0])).backward()
    optimizer.step()
    changed = {name for name, value in wrapped.named_parameters() if not torch.equal(value, before[name])}
    assert changed == ({"theta_d", "projection.scales"} if kind == "said" else {"theta_d"})
    assert torch.equal(wrapped.theta_0, theta_0)
    moved = wrapped.parameters_flat().detach() - theta_0
    assert moved.abs().max() > 0 and torch.isfinite(moved).all()


def test_f1_of_the_positive_class_and_the_majority_rate_from_logits():
    logits = torch.tensor([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([1, 0, 1, 0, 1])
    f1, majority = PositiveClassF1(), MajorityClassRate(num_classes=2)
    f1.update(logits, labels)
    majority.update(logits, labels)
    # predicted positives 3, of them true 2; actual positives 3: precision = recall = 2/3
    assert f1.compute().item() == pytest.approx(2 / 3)
    assert majority.compute().item() == pytest.approx(3 / 5)


def prepared_text(folder: Path, pair: bool) -> Path:
    """Two examples in train and val, prepared from a CSV as the prepare stage does; single texts or pairs."""
    folder.mkdir()
    rows = [("first", "second", "answer"), ("A cat sat on the mat.", "A cat was sitting on a mat.", "yes"),
            ("Stocks fell sharply.", "It rained all day.", "no")]  # fmt: skip
    (folder / "examples.csv").write_text("\n".join(",".join(row) for row in rows) + "\n")
    source = TextClassificationSource(
        root=str(folder), mirror=None, download=False, files={"train": "examples.csv", "val": "examples.csv"},
        columns={"text": "first", "text_pair": "second" if pair else None, "label": "answer"},
        label_names=["no", "yes"],
    )  # fmt: skip
    path = folder / "tiny"
    source.prepare().save_to_disk(str(path))
    return path


def test_single_texts_and_text_pairs_are_tokenized_by_their_prepared_columns(tmp_path):
    model = hydra.utils.instantiate(compose(["task=mrpc_minilm"]).task.model.name)
    tokenizer = AutoTokenizer.from_pretrained(model)
    cache = str(tmp_path / "cache")
    single, pairs = (TokenizedText(str(prepared_text(tmp_path / kind, kind == "pairs")), model, cache, num_classes=2)
                     for kind in ("single", "pairs"))  # fmt: skip
    for module in (single, pairs):
        module.setup()
    assert single.splits["train"][0]["input_ids"].tolist() == tokenizer("A cat sat on the mat.")["input_ids"]
    both = tokenizer("A cat sat on the mat.", "A cat was sitting on a mat.")
    assert pairs.splits["train"][0]["input_ids"].tolist() == both["input_ids"]
    assert pairs.splits["train"][0]["token_type_ids"].tolist() == both["token_type_ids"]  # 1 on the second text
    assert single.splits["val"][:]["labels"].tolist() == [1, 0]
    cached = sorted(path.name.split("-")[2] for path in (tmp_path / "cache").glob("tiny-train-*.arrow"))
    assert cached == ["text", "text+text_pair"]  # same data folder name, other columns: another cache file
    with pytest.raises(DataError, match=r"has 2 labels \['no', 'yes'\] but num_classes is 3; set num_classes: 2"):
        TokenizedText(str(tmp_path / "single" / "tiny"), model, cache, num_classes=3).setup()


@pytest.mark.slow
def test_tokenized_pairs_are_cached_and_padded_per_batch(prepared_mrpc, tmp_path):
    model_path = compose(["task=mrpc_minilm"]).task.model.name
    tokenizer = hydra.utils.instantiate(model_path)
    make = lambda: TokenizedText(str(prepared_mrpc), tokenizer, str(tmp_path / "cache"), 2, batch_size=16, seed=3)  # noqa: E731
    first = make()
    batches = list(first.loader("train", shuffle=True))
    cached = sorted((tmp_path / "cache").glob("*.arrow"))
    assert len(cached) == 2 and len(first.splits["train"]) == 3668
    stamps = [path.stat().st_mtime_ns for path in cached]
    again = list(make().loader("train", shuffle=True))
    assert [path.stat().st_mtime_ns for path in cached] == stamps  # read from the cache, not tokenized again
    assert all(torch.equal(a["input_ids"], b["input_ids"]) for a, b in zip(batches, again, strict=True))
    widths = [batch["input_ids"].shape[1] for batch in batches]
    assert max(widths) <= 128 and min(widths) < 60  # padded to each batch's longest pair, not to 128
    padding = sum((batch["attention_mask"] == 0).sum().item() for batch in batches)
    tokens = sum(batch["attention_mask"].sum().item() for batch in batches)
    assert padding < 0.1 * tokens  # length grouping keeps padding small (random batches: ~40% of tokens)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["none", "said", "fastfood"])
def test_the_minilm_task_runs_on_real_pairs(kind, prepared_mrpc, tmp_path):
    d = ["subspace.d=300"] if kind != "none" else []
    where = [f"dataset.prepared={prepared_mrpc}", f"paths.results_dir={tmp_path / 'results'}",
             f"paths.cache_dir={tmp_path / 'cache'}", "logger=csv"]  # fmt: skip
    cfg = compose(["task=mrpc_minilm", "profile=test", f"subspace={kind}", *d, *where, "trainer.limit_train_batches=2"])
    cfg.paths.output_dir = str(tmp_path / "logs")
    result = run(cfg)
    assert result["D"] == 22_713_986 and result["tensors"] == 105
    metrics = result["metrics"]
    positive = (
        sum(datasets.load_from_disk(str(prepared_mrpc))["val"]["label"][: cfg.task.budget.limit])
        / cfg.task.budget.limit
    )
    assert metrics["val/majority"] == pytest.approx(max(positive, 1 - positive))
    assert 0 <= metrics["val/acc"] <= 1 and 0 <= metrics["val/f1"] <= 1


def test_the_report_shows_the_majority_rate_and_the_papers_value_of_each_kind():
    paper = {"d_int90": {"said": 207, "fastfood": 322}, "source": "Aghajanyan et al. 2020"}
    assert paper_value(paper, "said")["d_int90"] == 207 and paper_value(paper, "dense") is None
    assert paper_value({"d_int90": 750}, "sparse")["d_int90"] == 750
    estimate = {
        "value": 250.0,
        "interval": None,
        "upper_bound": False,
        "refined": True,
        "label": "90% of full",
        "seeds": 1,
        "confidence": 0.95,
    }
    facts = {"D": 355_000_000, "metric": "val/acc", "baseline": 0.9, "seeds": 1, "headline": "relative",
             "d_int": {"relative": estimate}, "chance": {"value": 0.6838, "label": "majority class"}}  # fmt: skip
    rows = table_rows({"mrpc_roberta_large": {kind: {**facts, "paper": paper_value(paper, kind)}
                                              for kind in ("said", "fastfood")}})  # fmt: skip
    assert [row[3] for row in rows] == ["val/acc 0.9 (majority class 0.6838)"] * 2
    assert [row[-1] for row in rows] == ["207 (+21%)", "322 (-22%)"]


@pytest.mark.slow
def test_a_language_study_with_two_seeds_from_the_budget_reports_the_majority_rate(prepared_mrpc, tmp_path):
    """Baseline, SAID sweep and report of the MiniLM task on 32 real pairs, through the study engine."""
    arguments = study_arguments(
        tmp_path, "language", "baseline", "profile.tasks=[mrpc_minilm]", f"dataset.prepared={prepared_mrpc}",
        f"paths.cache_dir={tmp_path / 'cache'}", "+task.budgets.test.seeds=[0,1]", "task.budgets.test.grid=[200]",
    )  # fmt: skip
    in_process_study(arguments)
    sweep = in_process_study([argument.replace("study.stage=baseline", "study.stage=sweep") for argument in arguments])
    facts = sweep["tasks"]["mrpc_minilm"]
    # the majority rate is measured by the baselines, never typed: 20 of the first 32 dev pairs are paraphrases
    majority = [json.loads((tmp_path / "results" / path / "result.json").read_text())["metrics"]["val/majority"]
                for path in facts["baseline"]["runs"]]  # fmt: skip
    assert majority == [0.625, 0.625] and facts["chance"]["value"] == 0.625
    assert facts["D"] == 22_713_986 and facts["min_d"] == {"said": 106}
    assert {(run["kind"], run["seed"]) for run in facts["runs"]} == {("said", 0), ("said", 1)}
    baseline, gain = facts["baseline"]["value"], facts["thresholds"]["gain"]
    if baseline > 0.625:  # 90% of the way from the majority rate to the baseline
        assert gain["target"] == pytest.approx(0.625 + 0.9 * (baseline - 0.625))
    else:  # 32 pairs teach little: no gain to keep, and the report says so
        assert gain["target"] is None and gain["undefined"] == f"the baseline {baseline:.4g} is not above 0.625"
    summary = summarize(sweep, tmp_path / "results", "")
    assert summary["mrpc_minilm"]["said"]["seeds"] == 2
    assert "(majority class 0.625)" in markdown(summary)

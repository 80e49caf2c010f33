import math
import sys

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from torch import nn
from torch.nn.utils import parametrize

from helpers import fails_in_one_line
from intrinsic_dim.bounds.codes import choice_bits, counts_bits, decode, elias_delta_bits, encode, entropy_bits
from intrinsic_dim.bounds.compress import compact, compress
from intrinsic_dim.bounds.description import Message, description_bits
from intrinsic_dim.bounds.evaluate import bound_run, split_errors
from intrinsic_dim.bounds.pac_bayes import catoni_bound, occam_bound
from intrinsic_dim.bounds.quantize import NearestLevel, dequantize, kmeans_levels, quantize, uniform_levels
from intrinsic_dim.bounds.restore import restore
from intrinsic_dim.config import compose
from intrinsic_dim.core.subspace import SubspaceModel
from intrinsic_dim.errors import BadInput, DataError
from intrinsic_dim.run import run
from intrinsic_dim.runs import store


def test_occam_and_catoni_against_hand_computed_values():
    # 1,000 bits, 60,000 examples, delta 0.05: (1000 ln 2 + ln 20) / 60000 = 0.0116024 nats per example
    assert occam_bound(0.1, bits=1000, m=60_000) == pytest.approx(0.1 + math.sqrt(0.0116024 / 2), abs=1e-6)
    assert occam_bound(0.1, bits=1000, m=60_000) == pytest.approx(0.176166, abs=1e-6)
    # C = 1 only: (1 - e^(-0.1 - 0.0116024)) / (1 - e^-1) = 0.105603 / 0.632121
    assert catoni_bound(0.1, bits=1000, m=60_000, grid=(1.0,)) == pytest.approx(0.167057, abs=1e-6)


def test_catoni_is_monotone_in_the_error_and_the_code_length_and_never_below_the_error():
    errors, lengths = np.linspace(0, 0.9, 19), [0, 100, 1_000, 10_000, 100_000]
    table = np.array([[catoni_bound(error, bits, m=50_000) for error in errors] for bits in lengths])
    assert (np.diff(table, axis=1) > 0).all() and (np.diff(table, axis=0) > 0).all()
    assert (table >= errors).all() and (table <= 1).all()
    for bits in lengths:
        assert all(occam_bound(error, bits, m=50_000) >= error for error in errors)


def test_more_data_tightens_the_bound():
    assert catoni_bound(0.05, 5_000, m=60_000) < catoni_bound(0.05, 5_000, m=6_000) < 1


@pytest.mark.parametrize(("n", "bits"), [(1, 1), (2, 4), (3, 4), (4, 5), (16, 9), (1_000_000, 28)])
def test_elias_delta_lengths(n, bits):
    assert elias_delta_bits(n) == bits


def test_choice_and_histogram_lengths():
    assert choice_bits(8) == 3 and choice_bits(1) == 0
    assert counts_bits(levels=4, symbols=1000) == 3 * 10


def test_range_code_of_a_known_distribution_is_its_entropy_and_decodes_exactly():
    counts = np.array([4000, 2000, 1000, 1000])  # probabilities 1/2, 1/4, 1/8, 1/8: 1.75 bits per symbol
    symbols = np.random.default_rng(0).permutation(np.repeat(np.arange(4), counts))
    words, coded_counts = encode(symbols, levels=4)
    assert entropy_bits(coded_counts) == pytest.approx(1.75 * 8000)
    assert 1.75 * 8000 <= 32 * len(words) <= 1.75 * 8000 * 1.001 + 64
    np.testing.assert_array_equal(decode(words, coded_counts), symbols)


def test_quantization_round_trip_and_error():
    values = np.random.default_rng(0).normal(size=10_000).astype(np.float32)
    levels = uniform_levels(values, 16)
    symbols = quantize(values, levels)
    np.testing.assert_array_equal(quantize(dequantize(symbols, levels), levels), symbols)
    assert np.abs(dequantize(symbols, levels) - values).max() <= (levels[1] - levels[0]) / 2 + 1e-6


def test_kmeans_levels_find_separated_clusters():
    rng = np.random.default_rng(0)
    values = np.concatenate([centre + 0.01 * rng.normal(size=500) for centre in (-1.0, 0.0, 2.0)])
    np.testing.assert_allclose(kmeans_levels(values, 3), [-1.0, 0.0, 2.0], atol=0.01)


def test_nearest_level_forward_is_quantized_and_gradients_pass_straight_through():
    values = torch.tensor([-0.9, -0.2, 0.1, 0.45, 0.8], requires_grad=True)
    quantizer = NearestLevel(np.array([-1.0, 0.0, 0.5]))
    upstream = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    quantized = quantizer(values)
    torch.testing.assert_close(quantized.detach(), torch.tensor([-1.0, 0.0, 0.0, 0.5, 0.5]))
    (quantized * upstream).sum().backward()
    torch.testing.assert_close(values.grad, upstream)  # straight through
    torch.testing.assert_close(quantizer.levels.grad, torch.tensor([1.0, 2.0 + 3.0, 4.0 + 5.0]))  # per level


def test_quantizing_a_subspace_models_theta_d_changes_only_its_function_not_its_parameters():
    net = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    model = SubspaceModel(net, "fastfood", 12, seed=0)
    with torch.no_grad():
        model.theta_d.normal_()
    inputs = torch.randn(4, 6)
    levels = kmeans_levels(model.theta_d.detach().numpy(), 4)
    rounded = torch.as_tensor(dequantize(quantize(model.theta_d.detach().numpy(), levels), levels))
    parametrize.register_parametrization(model, "theta_d", NearestLevel(levels))
    quantized_output = model(inputs)
    with parametrize.cached():
        torch.testing.assert_close(model.theta_d, rounded)
    parametrize.remove_parametrizations(model, "theta_d", leave_parametrized=True)
    torch.testing.assert_close(model(inputs), quantized_output)


def test_compact_keeps_only_the_levels_in_use():
    symbols, levels = compact(np.array([0, 2, 2, 4]), np.array([0.0, 1.0, 2.0, 3.0, 4.0], dtype=np.float32))
    np.testing.assert_array_equal(symbols, [0, 1, 1, 2])
    np.testing.assert_array_equal(levels, [0.0, 2.0, 4.0])


def test_a_message_decodes_to_the_quantized_vector_and_its_parts_add_up():
    values = np.random.default_rng(1).normal(size=3_000).astype(np.float32)
    levels = kmeans_levels(values, 8)
    message = Message.of(*compact(quantize(values, levels), levels))
    np.testing.assert_array_equal(message.values(), levels[quantize(values, levels)])
    bits = description_bits(message, seeds=(0, 3), scales=5, options=6)
    assert bits["seeds"] == 1 + 5 and bits["d"] == elias_delta_bits(3_000) and bits["scales"] == 5 * 32
    assert bits["codebook"] == elias_delta_bits(len(message.levels)) + 32 * len(message.levels)
    assert bits["choices"] == pytest.approx(math.log2(6))
    assert entropy_bits(message.counts) <= bits["symbols"] <= entropy_bits(message.counts) * 1.002 + 64
    assert bits["bits"] == pytest.approx(sum(value for name, value in bits.items() if name != "bits"))


BOUNDS = {"accuracy": "acc", "delta": 0.05, "levels": [4, 16], "quantizers": ["kmeans"], "epochs": 1, "lr": 1e-3,
          "trainer": {"_target_": "lightning.Trainer", "accelerator": "cpu", "devices": 1, "deterministic": True,
                      "enable_progress_bar": False, "enable_model_summary": False}}  # fmt: skip


@pytest.fixture
def stored_run(prepared_subset, tmp_path):
    """A real subspace run of MNIST LeNet (512 examples per split), stored as a sweep stores it."""
    where = [f"dataset.prepared={prepared_subset}", f"paths.results_dir={tmp_path / 'results'}", "logger=csv"]
    cfg = compose(["task=mnist_lenet", "profile=test", "subspace=fastfood", "subspace.d=64", *where])
    cfg.paths.output_dir = str(tmp_path / "logs")
    result = run(cfg)
    directory = store.run_dir(cfg.paths.results_dir, "vision", "mnist_lenet", "fastfood", 64, 0, result["key"])
    return directory, cfg.paths, result


@pytest.mark.slow
def test_a_stored_run_is_rebuilt_exactly_and_its_decoded_model_has_the_reported_error(stored_run):
    directory, paths, result = stored_run
    options = OmegaConf.create(BOUNDS)
    cfg, built = restore(directory, paths)
    model = built.model
    assert 1 - split_errors(cfg, built, "acc", ["val"])["val"] == pytest.approx(result["metrics"]["val/acc"], abs=1e-6)
    message = compress(model, built.data, cfg, levels=4, quantizer="kmeans", epochs=1, lr=1e-3, trainer=options.trainer)
    assert len(message.levels) <= 4 and set(model.theta_d.detach().numpy()) <= set(message.levels)
    _, decoded = restore(directory, paths)
    with torch.no_grad():
        decoded.model.theta_d.copy_(torch.from_numpy(message.values()))
    torch.testing.assert_close(decoded.model.theta_d, model.theta_d, rtol=0, atol=0)
    assert split_errors(cfg, decoded, "acc", ["train"]) == split_errors(cfg, built, "acc", ["train"])
    with pytest.raises(BadInput, match="measures no 'f1' on train: bounds need a classification accuracy"):
        split_errors(cfg, built, "f1", ["train"])
    rows = bound_run(directory, paths, options, kinds=1)
    assert [row["levels"] for row in rows] == [4, 16] and all(row["m"] == 512 for row in rows)
    for row in rows:
        assert row["train_error"] <= row["catoni"] <= 1 and row["train_error"] <= row["occam"] <= 1
        assert row["compression"] == pytest.approx(32 * row["D"] / row["bits"])
    assert rows[0]["train_error"] == pytest.approx(split_errors(cfg, built, "acc", ["train"])["train"])


@pytest.mark.slow
def test_a_damaged_or_full_space_run_is_refused_with_the_fix(stored_run, prepared_subset, tmp_path):
    directory, paths, _ = stored_run
    (directory / store.STATE_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match=r"subspace.pt is unreadable .*delete .* and rerun its sweep stage"):
        restore(directory, paths)
    where = [f"dataset.prepared={prepared_subset}", f"paths.results_dir={paths.results_dir}", "logger=csv"]
    cfg = compose(["task=mnist_lenet", "profile=test", "subspace=none", *where])
    cfg.paths.output_dir = str(tmp_path / "full-logs")
    result = run(cfg)
    full = store.run_dir(paths.results_dir, "vision", "mnist_lenet", "none", None, 0, result["key"])
    with pytest.raises(DataError, match="is a full-space run: only subspace runs have a short description"):
        restore(full, paths)


def test_the_bounds_stage_without_a_sweep_names_the_stage_to_run(tmp_path):
    line = fails_in_one_line([sys.executable, "pipelines/bounds.py", "study.family=vision", "profile=test",
                              f"paths.results_dir={tmp_path / 'results'}"])  # fmt: skip
    assert "does not exist; run `dvc repro study@vision` first" in line

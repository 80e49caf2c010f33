import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from intrinsic_dim.bounds.codes import choice_bits, counts_bits, decode, elias_delta_bits, encode, entropy_bits
from intrinsic_dim.bounds.pac_bayes import catoni_bound, occam_bound
from intrinsic_dim.bounds.quantize import NearestLevel, dequantize, kmeans_levels, quantize, uniform_levels
from intrinsic_dim.subspace import SubspaceModel


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

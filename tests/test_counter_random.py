import math

import pytest
import torch

from intrinsic_dim.core import counter_random
from intrinsic_dim.core.projections import make_projection


def test_bits_are_splitmix64_of_the_counter_computed_with_python_integers():
    """The int64 tensor arithmetic (wrapping multiplies, logical shifts) equals exact unsigned arithmetic."""
    seed, stream = 12345, 7
    key = counter_random.stream_key(seed, stream)
    golden = 0x9E3779B97F4A7C15
    bits = counter_random.random_bits(seed, stream, 50, offset=1_000)
    expected = [counter_random.mix_int(key + (1_000 + i + 1) * golden) for i in range(50)]
    assert [value & (2**64 - 1) for value in bits.tolist()] == expected


def test_any_part_of_a_stream_can_be_drawn_alone():
    whole = counter_random.normal(3, 1, 1_000)
    parts = torch.cat([counter_random.normal(3, 1, 300, offset=start) for start in range(0, 1_000, 300)])
    assert torch.equal(whole, parts[:1_000])


def test_seeds_and_streams_draw_different_numbers():
    draws = [counter_random.random_bits(seed, stream, 1_000) for seed, stream in ((0, 0), (0, 1), (1, 0))]
    for i, first in enumerate(draws):
        for second in draws[i + 1 :]:
            assert (first == second).sum() == 0


def test_the_distributions_have_their_moments():
    n = 200_000
    uniform = counter_random.uniform(0, 0, n)
    assert 0 <= uniform.min() and uniform.max() < 1
    assert uniform.mean().item() == pytest.approx(0.5, abs=4 / math.sqrt(12 * n))
    normal = counter_random.normal(0, 1, n).double()
    assert normal.mean().item() == pytest.approx(0.0, abs=4 / math.sqrt(n))
    assert normal.var().item() == pytest.approx(1.0, abs=4 * math.sqrt(2 / n))
    assert (normal.abs() > 3).double().mean().item() == pytest.approx(0.0027, rel=0.25)  # the tails, not only moments
    signs = counter_random.signs(0, 2, n)
    assert set(signs.unique().tolist()) == {-1.0, 1.0} and abs(signs.sum().item()) < 4 * math.sqrt(n)


def test_permutations_are_permutations_and_look_uniform():
    length = 64
    assert torch.equal(counter_random.permutation(length, 5, 0).sort().values, torch.arange(length))
    first_entries = torch.stack([counter_random.permutation(8, 5, stream)[0] for stream in range(4_000)])
    counts = torch.bincount(first_entries, minlength=8).double()
    chi_square = ((counts - 500) ** 2 / 500).sum().item()
    assert chi_square < 24.3  # the 0.999 quantile with 7 degrees of freedom


@pytest.mark.gpu
@pytest.mark.parametrize("kind", ["dense", "fastfood", "said"])
def test_a_projection_drawn_on_the_gpu_has_the_cpu_values(kind):
    on_cpu = make_projection(kind, [300, 40, 1_000], d=64, seed=2)
    on_gpu = make_projection(kind, [300, 40, 1_000], d=64, seed=2, device="cuda")
    for (name, cpu_buffer), (_, gpu_buffer) in zip(on_cpu.named_buffers(), on_gpu.named_buffers(), strict=True):
        assert gpu_buffer.is_cuda, name
        assert torch.allclose(gpu_buffer.cpu(), cpu_buffer, rtol=1e-6, atol=0), name

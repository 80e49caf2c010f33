import math

import pytest
import torch

from intrinsic_dim.tasks.vision.models import fully_connected, lenet


def parameter_count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_li_et_al():
    assert parameter_count(fully_connected()) == 199_210
    assert parameter_count(lenet()) == 44_426


@pytest.mark.parametrize("build", [fully_connected, lenet])
def test_mnist_shaped_input_gives_class_logits(build):
    assert build()(torch.zeros(5, 1, 28, 28)).shape == (5, 10)


def test_he_normal_initialization():
    torch.manual_seed(0)
    layer = fully_connected()[1]  # Linear(784, 200)
    assert layer.weight.std().item() == pytest.approx(math.sqrt(2 / 784), rel=0.02)
    assert torch.count_nonzero(layer.bias) == 0

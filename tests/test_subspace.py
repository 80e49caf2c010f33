import copy

import pytest
import torch
from torch import nn

from helpers import materialize
from intrinsic_dim import SubspaceModel

KINDS = ["dense", "sparse", "fastfood", "said"]


def make_net(init_seed: int = 0) -> nn.Module:
    torch.manual_seed(init_seed)
    return nn.Sequential(nn.Linear(12, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 4))


def train_steps(model: SubspaceModel, steps: int = 5) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        model(torch.randn(16, 12)).square().mean().backward()
        optimizer.step()


@pytest.mark.parametrize("kind", KINDS)
def test_starts_exactly_at_theta_0(kind):
    x = torch.randn(8, 12)
    expected = make_net().eval()(x)
    model = SubspaceModel(make_net(), kind, d=100, seed=0).eval()
    assert torch.equal(model(x), expected)


@pytest.mark.parametrize("kind", KINDS)
def test_only_theta_d_and_scales_are_trainable(kind):
    base = make_net()
    D = sum(p.numel() for p in base.parameters())
    model = SubspaceModel(base, kind, d=100, seed=0)
    names = {name for name, _ in model.named_parameters()}
    assert names == ({"theta_d", "projection.scales"} if kind == "said" else {"theta_d"})
    assert sum(p.numel() for p in model.parameters()) == 100
    assert model.theta_0.numel() == D == model.spec["D"]
    assert not model.theta_0.requires_grad


@pytest.mark.parametrize("kind", KINDS)
def test_gradient_equals_projected_full_space_gradient(kind):
    """grad theta_d = P^T grad theta_D, with P built explicitly and grad theta_D from the plain module."""
    torch.manual_seed(5)
    x = torch.randn(16, 12, dtype=torch.float64)
    reference = make_net().double()
    reference(x).square().mean().backward()
    full_gradient = torch.cat([p.grad.reshape(-1) for p in reference.parameters()])

    model = SubspaceModel(make_net(), kind, d=60, seed=4).double()
    model(x).square().mean().backward()
    assert torch.allclose(model.theta_d.grad, materialize(model.projection).t() @ full_gradient, rtol=1e-9, atol=1e-12)


def test_batchnorm_statistics_keep_working():
    model = SubspaceModel(make_net(), "fastfood", d=50, seed=0)
    batch_norm = model.module[1]
    model.train()
    model(torch.randn(64, 12) * 3 + 2)
    assert batch_norm.num_batches_tracked.item() == 1
    assert batch_norm.running_mean.abs().sum() > 0
    assert "module.1.running_var" in model.state_dict()
    model.eval()
    x = torch.randn(4, 12)
    assert torch.equal(model(x), model(x))  # eval uses the running statistics, not the batch


def test_module_tensors_are_views_of_theta_0_after_moves():
    model = SubspaceModel(make_net(), "fastfood", d=50, seed=0).double()
    weight = model.module[0].weight
    assert weight.dtype == torch.float64
    assert weight.untyped_storage().data_ptr() == model.theta_0.untyped_storage().data_ptr()
    assert "module.0.weight" not in model.state_dict()


@pytest.mark.parametrize("kind", KINDS)
def test_wrapping_a_float64_module_keeps_float64(kind):
    model = SubspaceModel(make_net().double(), kind, d=50, seed=0)
    assert model.theta_d.dtype == torch.float64
    model(torch.randn(4, 12, dtype=torch.float64)).sum().backward()
    assert model.theta_d.grad.dtype == torch.float64


def test_tied_weights_count_once():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(6, 6, bias=False)
            self.decoder = nn.Linear(6, 6, bias=False)
            self.decoder.weight = self.encoder.weight

        def forward(self, x):
            return self.decoder(torch.relu(self.encoder(x)))

    model = SubspaceModel(Tied(), "dense", d=10, seed=0)
    assert model.theta_0.numel() == 36
    assert model.module.encoder.weight is model.module.decoder.weight
    model.theta_d.data.normal_()
    weight = model.theta_0.view(6, 6) + (model.projection.matrix @ model.theta_d).view(6, 6)
    x = torch.randn(3, 6)
    assert torch.allclose(model(x), torch.relu(x @ weight.t()) @ weight.t(), atol=1e-6)


def test_frozen_parameters_stay_outside_the_subspace():
    base = make_net()
    base[0].requires_grad_(False)
    model = SubspaceModel(base, "fastfood", d=50, seed=0)
    assert model.theta_0.numel() == 32 * 2 + 32 * 4 + 4
    assert isinstance(model.module[0].weight, nn.Parameter)


@pytest.mark.parametrize("kind", KINDS)
def test_checkpoint_round_trip(kind, tmp_path):
    model = SubspaceModel(make_net(init_seed=1), kind, d=80, seed=9)
    train_steps(model)
    path = tmp_path / "subspace.pt"
    torch.save(model.state_dict(), path)
    saved = torch.load(path)
    assert saved["_extra_state"]["seed"] == 9
    assert all(value.numel() <= 80 for key, value in saved.items() if key.startswith(("theta", "projection")))

    fresh = SubspaceModel(make_net(init_seed=1), kind, d=80, seed=9)
    fresh.load_state_dict(saved)
    x = torch.randn(8, 12)
    assert torch.equal(fresh.eval()(x), model.eval()(x))


def test_checkpoint_from_another_seed_or_base_is_refused(tmp_path):
    saved = SubspaceModel(make_net(init_seed=1), "fastfood", d=80, seed=9).state_dict()
    with pytest.raises(ValueError, match="seed 9 .this model: 10.*checkpoint.s kind, d and seed"):
        SubspaceModel(make_net(init_seed=1), "fastfood", d=80, seed=10).load_state_dict(saved)
    with pytest.raises(ValueError, match="theta_0_sha256.*init seed or pretrained weights"):
        SubspaceModel(make_net(init_seed=2), "fastfood", d=80, seed=9).load_state_dict(saved)


def test_no_grad_evaluation_builds_no_graph():
    model = SubspaceModel(make_net(), "fastfood", d=50, seed=0).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 12))
    assert not out.requires_grad


@pytest.mark.parametrize("kind", KINDS)
def test_evaluation_projects_once_until_theta_d_the_scales_or_theta_0_change(kind, monkeypatch):
    model = SubspaceModel(make_net(), kind, d=50, seed=0).eval()
    projected = []
    project = model.projection.pieces
    monkeypatch.setattr(model.projection, "pieces", lambda *args: projected.append(1) or project(*args))
    x = torch.randn(3, 12)

    def fresh() -> torch.Tensor:
        with torch.enable_grad():
            return model(x).detach()

    def evaluated() -> torch.Tensor:
        with torch.inference_mode():
            return model(x)

    first = evaluated()
    assert torch.equal(evaluated(), first) and torch.equal(first, fresh()) and len(projected) == 2  # one kept
    changes = [lambda: model.theta_d.data.add_(0.1),  # as SB3's target update writes: no version counter moves
               lambda: torch.optim.SGD([model.theta_d], lr=1.0).step(),
               lambda: model.theta_0.mul_(1.01)]  # fmt: skip
    if kind == "said":
        changes.append(lambda: model.projection.scales.data.mul_(2.0))
    model(x).sum().backward()
    for change in changes:
        before = evaluated()
        with torch.no_grad():
            change()
        after = evaluated()
        assert not torch.allclose(after, before) and torch.allclose(after, fresh(), rtol=1e-5, atol=1e-6)
    model(x).sum().backward()  # a training forward drops the kept pieces and takes its gradient through P
    assert model._kept_pieces is None and model.theta_d.grad.abs().sum() > 0


def test_training_moves_only_theta_d():
    model = SubspaceModel(make_net(), "sparse", d=50, seed=0)
    theta_0 = model.theta_0.clone()
    before = copy.deepcopy(model.theta_d.detach())
    train_steps(model)
    assert torch.equal(model.theta_0, theta_0)
    assert not torch.equal(model.theta_d.detach(), before)


def test_model_without_trainable_parameters_is_rejected():
    with pytest.raises(ValueError, match="no trainable parameters"):
        SubspaceModel(nn.ReLU(), "dense", d=1, seed=0)


@pytest.mark.gpu
@pytest.mark.parametrize("kind", KINDS)
def test_cuda_matches_cpu_forward_and_backward(kind):
    x = torch.randn(8, 12)
    model = SubspaceModel(make_net(), kind, d=100, seed=0)
    model.theta_d.data.normal_()
    expected = model.eval()(x)
    expected.square().sum().backward()
    gradients = {name: parameter.grad.clone() for name, parameter in model.named_parameters()}  # SAID: its scales
    model.zero_grad()
    model.cuda()
    assert model.module[0].weight.untyped_storage().data_ptr() == model.theta_0.untyped_storage().data_ptr()
    output = model(x.cuda())
    assert torch.allclose(output.cpu(), expected, atol=1e-5)
    output.square().sum().backward()
    for name, parameter in model.named_parameters():
        assert torch.allclose(parameter.grad.cpu(), gradients[name], rtol=1e-4, atol=1e-5), name


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
@pytest.mark.parametrize("kind", KINDS)
def test_projection_runs_in_float32_under_autocast(kind, implementation, device):
    """Half precision would make P theta_d wrong by up to 16% at large D; autocast must not reach it."""
    model = SubspaceModel(make_net(), kind, d=100, seed=0).to(device)
    with torch.no_grad():
        model.theta_d.copy_(torch.randn(model.theta_d.numel(), generator=torch.Generator().manual_seed(1)) * 0.01)
        exact = model.parameters_flat()
        with torch.autocast(device, dtype=torch.bfloat16):
            autocast = model.parameters_flat()
            logits = model(torch.randn(8, 12, device=device))
    assert autocast.dtype == torch.float32 and torch.equal(autocast, exact)
    assert logits.dtype == torch.bfloat16  # the network itself still runs under autocast

"""Wrap any module so that it trains in a random subspace: theta_D = theta_0 + P theta_d."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call

from intrinsic_dim.core.projections import make_projection
from intrinsic_dim.errors import BadInput


def tensor_digest(tensor: torch.Tensor) -> str:
    """SHA-256 of a tensor's float32 values, independent of its device and current dtype."""
    return hashlib.sha256(tensor.detach().float().cpu().numpy().tobytes()).hexdigest()


def trainable_tensors(module: nn.Module) -> tuple[list[torch.Tensor], list[list[str]]]:
    """The module's trainable parameters, each once, and the names under which each appears.

    Tied parameters (e.g. embeddings and LM head) are one tensor with several names; frozen ones are left out.
    """
    aliases: dict[int, list[str]] = {}
    tensors: list[torch.Tensor] = []
    for name, parameter in module.named_parameters(remove_duplicate=False):
        if not parameter.requires_grad:
            continue
        if id(parameter) not in aliases:
            aliases[id(parameter)] = []
            tensors.append(parameter)
        aliases[id(parameter)].append(name)
    return tensors, list(aliases.values())


class SubspaceModel(nn.Module):
    """`module` reparametrized by theta_d (zeros at start, so the model starts exactly at theta_0).

    Only theta_d (and, for SAID, one scale per tensor) are parameters. The module's trainable parameters
    become non-persistent buffers that view one flat frozen copy, theta_0; its other buffers (BatchNorm
    statistics) keep working and stay in the state dict. The state dict holds theta_d, the scales, and
    (kind, d, seed, D, a digest of theta_0): never P, which is rebuilt from the seed, and never theta_0,
    which comes from the base model (same init seed or the same pretrained weights).
    """

    def __init__(self, module: nn.Module, kind: str, d: int, seed: int) -> None:
        super().__init__()
        tensors, self._names = trainable_tensors(module)
        if not tensors:
            raise BadInput(f"{type(module).__name__} has no trainable parameters to reparametrize")
        self.module = module
        self._shapes = [tensor.shape for tensor in tensors]
        self._sizes = [tensor.numel() for tensor in tensors]
        self.register_buffer("theta_0", torch.cat([t.detach().reshape(-1) for t in tensors]), persistent=False)
        for names in self._names:
            for name in names:
                owner, _, attribute = name.rpartition(".")
                del module.get_submodule(owner)._parameters[attribute]
        self._bind_base_views()
        self.theta_0_digest = tensor_digest(self.theta_0)
        device = self.theta_0.device  # P is drawn where theta_0 lives: a model already on its GPU draws it there
        self.projection = make_projection(kind, self._sizes, d, seed, device).to(device, self.theta_0.dtype)
        self.theta_d = nn.Parameter(self.theta_0.new_zeros(self.projection.trainable_size))
        self._kept_pieces: tuple[torch.Tensor, int, list[torch.Tensor], tuple[torch.Tensor, ...]] | None = None

    @property
    def kind(self) -> str:
        return self.projection.kind

    @property
    def spec(self) -> dict:
        """Everything that identifies the function, besides theta_d and theta_0 themselves."""
        projection = self.projection
        return {"kind": projection.kind, "d": projection.d, "seed": projection.seed, "D": projection.D}

    def _split(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        return self._by_name(flat.split(self._sizes))

    def _by_name(self, pieces: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The module's parameters by name from their flat pieces, in parameter order (aliases share a view)."""
        views = [piece.view(shape) for piece, shape in zip(pieces, self._shapes, strict=True)]
        return {name: view for names, view in zip(self._names, views, strict=True) for name in names}

    def _bind_base_views(self) -> None:
        """Point the module's reparametrized attributes at views of theta_0, so they cost no memory."""
        for name, view in self._split(self.theta_0).items():
            owner, _, attribute = name.rpartition(".")
            self.module.get_submodule(owner).register_buffer(attribute, view, persistent=False)

    def _apply(self, fn, recurse=True):
        # Module.to() moves each buffer on its own, which would give the views their own storage.
        super()._apply(fn, recurse)
        self._bind_base_views()
        self._kept_pieces = None
        return self

    def parameters_flat(self) -> torch.Tensor:
        """theta_D = theta_0 + P theta_d, differentiable with respect to theta_d (and SAID scales).

        Always in theta_0's precision, whatever autocast says: in half precision the relative error of
        P theta_d grows with D (16% at D = 30M in fp16), worst for the small theta_d of early training.
        """
        with torch.autocast(self.theta_0.device.type, enabled=False):
            return self.projection.shifted(self.theta_0, self.theta_d)

    def parameter_pieces(self) -> tuple[torch.Tensor, ...]:
        """theta_D as one flat piece per parameter tensor, in the precision of parameters_flat.

        Without autograd (evaluation, rollouts) the pieces are kept until theta_d, the SAID scales or theta_0
        change: a policy that acts one environment step at a time would otherwise pay a projection per step.
        theta_d and the scales are compared by value (SB3's target update writes them through `.data`, which
        no version counter sees); theta_0, a buffer, by identity and version.
        """
        if torch.is_grad_enabled():
            self._kept_pieces = None  # a training step builds its own: keeping both would double the memory
            return self._projected_pieces()
        trained = [self.theta_d, *self.projection.parameters()]
        if self._kept_pieces is not None:
            theta_0, version, kept_trained, pieces = self._kept_pieces
            same_base = theta_0 is self.theta_0 and version == self.theta_0._version
            if same_base and all(map(torch.equal, kept_trained, trained)):
                return pieces
        pieces = self._projected_pieces()
        self._kept_pieces = (self.theta_0, self.theta_0._version, [tensor.clone() for tensor in trained], pieces)
        return pieces

    def _projected_pieces(self) -> tuple[torch.Tensor, ...]:
        with torch.autocast(self.theta_0.device.type, enabled=False):
            return self.projection.pieces(self.theta_0, self.theta_d)

    def forward(self, *args, **kwargs):
        return functional_call(self.module, self._by_name(self.parameter_pieces()), args, kwargs)

    def get_extra_state(self) -> dict:
        return {**self.spec, "theta_0_sha256": self.theta_0_digest}

    def set_extra_state(self, state: dict) -> None:
        mine = self.get_extra_state()
        mismatched = [key for key in mine if state.get(key) != mine[key]]
        if not mismatched:
            return
        details = ", ".join(
            f"{key} {str(state.get(key))[:12]} (this model: {str(mine[key])[:12]})" for key in mismatched
        )
        if mismatched == ["theta_0_sha256"]:
            hint = "build the base model with the checkpoint's init seed or pretrained weights"
        else:
            hint = "build the SubspaceModel with the checkpoint's kind, d and seed"
        raise BadInput(f"checkpoint does not match this SubspaceModel: {details}; {hint}")

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.spec.items())

"""A population of policies that share one network: theta_D = theta_0 + P x for each member x, run as one model.

ES scores many parameter vectors per generation. Each member's theta_D is built once per generation (one
projection each), and then every environment step is one call of the base network, vectorized over the
members with torch.func.vmap: the policy's cost per step does not grow with the population.
"""

from __future__ import annotations

import torch
from omegaconf import DictConfig
from torch import nn
from torch.func import functional_call, vmap

from intrinsic_dim.core.subspace import SubspaceModel, trainable_tensors
from intrinsic_dim.tasks.family import in_subspace


class Population:
    """The search space of one run: a member is x (d values in a subspace, D in the full space), zero at theta_0."""

    def __init__(self, net: nn.Module, subspace: DictConfig) -> None:
        tensors, names = trainable_tensors(net)
        self.layout = [(aliases, tensor.shape, tensor.numel()) for aliases, tensor in zip(names, tensors, strict=True)]
        self.net = net
        self.model = in_subspace(net, subspace)  # wraps `net` in place: its parameters become views of theta_0
        if isinstance(self.model, SubspaceModel):
            self.theta_0, self.size = self.model.theta_0, self.model.theta_d.numel()
        else:
            self.theta_0 = torch.cat([tensor.detach().reshape(-1) for tensor in tensors])
            self.size = self.theta_0.numel()
        self.solution = torch.zeros(self.size)  # x of the model, set by set_solution

    @property
    def D(self) -> int:
        return self.theta_0.numel()

    @torch.no_grad()
    def theta_D(self, members: torch.Tensor) -> torch.Tensor:
        """(members, size) -> (members, D): one projection per member."""
        members = members.as_subclass(torch.Tensor)  # evotorch hands out read-only tensors
        if isinstance(self.model, SubspaceModel):
            offsets = [self.model.projection(member.to(self.theta_0.dtype)) for member in members]
            return self.theta_0 + torch.stack(offsets)
        return self.theta_0 + members.to(self.theta_0.dtype)

    def parameters(self, theta_D: torch.Tensor) -> dict[str, torch.Tensor]:
        """The network's parameters by name, each with a leading member axis (aliases share one tensor)."""
        pieces = theta_D.split([size for _, _, size in self.layout], dim=-1)
        return {
            name: piece.reshape(*theta_D.shape[:-1], *shape)
            for (aliases, shape, _), piece in zip(self.layout, pieces, strict=True)
            for name in aliases
        }

    @torch.no_grad()
    def forward(self, parameters: dict[str, torch.Tensor], observations: torch.Tensor) -> torch.Tensor:
        """(members, episodes, *obs) -> (members, episodes, outputs): every member's policy on its own episodes."""
        return vmap(lambda own, seen: functional_call(self.net, own, (seen,)))(parameters, observations)

    @torch.no_grad()
    def set_solution(self, x: torch.Tensor) -> nn.Module:
        """The run's model at solution x: theta_d = x in a subspace, the parameters theta_0 + x in full space."""
        self.solution = x
        if isinstance(self.model, SubspaceModel):
            self.model.theta_d.copy_(x.to(self.model.theta_d.dtype))
            return self.model
        for name, value in self.parameters(self.theta_0 + x.to(self.theta_0.dtype)).items():
            self.net.get_parameter(name).copy_(value)
        return self.net

"""Several subspace runs of one network trained as one model (issue 11: vectorized runs).

Runs that share a base architecture (different seeds, hence different theta_0 and P, or different d) each keep
their own SubspaceModel: theta_d, projection and theta_0. A step builds every run's theta_D with its own
projection, then calls the base network once, vectorized over the runs with torch.func.vmap (a net with
convolutions: once per run, in one autograd graph), each run on its own batch (training: each run draws its
own data order) or all on one shared batch (evaluation). The loss of the group is the sum of the runs' losses,
so each theta_d gets exactly its own run's gradient, and an element-wise optimizer (SGD, Adam) over all
theta_d steps each run as if it were alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, vmap

from intrinsic_dim.core.subspace import SubspaceModel
from intrinsic_dim.errors import BadInput

CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


class VectorizedRuns(nn.Module):
    """`runs` SubspaceModels of one architecture: (runs, batch, ...) inputs -> (runs, batch, ...) outputs."""

    def __init__(self, runs: Sequence[SubspaceModel]) -> None:
        super().__init__()
        if not runs:
            raise BadInput("VectorizedRuns needs at least one run")
        self.runs = nn.ModuleList(runs)
        self.base = runs[0].module
        layout = self._layout(runs[0])
        for run in runs[1:]:
            if self._layout(run) != layout:
                raise BadInput("runs trained together must share one network architecture (names and shapes)")
        # vmap turns a convolution with per-run weights into a grouped one, slower on CPUs than a convolution per
        # run (4 LeNet runs: 6.4 s vmapped, 4.9 s one by one, 6.1 s as separate runs; 4 FC runs: 2.0, 2.4, 3.1 s)
        self.vmapped = not any(isinstance(module, CONVOLUTIONS) for module in self.base.modules())
        if any(not self._is_reparametrized(buffer) for buffer in self.base.buffers()):
            raise BadInput(
                "networks with their own buffers (e.g. BatchNorm statistics) cannot be vectorized over runs; "
                "train these runs one by one"
            )

    @staticmethod
    def _layout(run: SubspaceModel) -> list[tuple[str, tuple[int, ...]]]:
        return [(name, tuple(view.shape)) for name, view in run._split(run.theta_0).items()]

    def _is_reparametrized(self, buffer: torch.Tensor) -> bool:
        """A buffer that views theta_0 (a parameter the SubspaceModel took over), not a statistic of the net."""
        theta_0 = self.runs[0].theta_0
        return buffer.untyped_storage().data_ptr() == theta_0.untyped_storage().data_ptr()

    def parameters_by_name(self) -> dict[str, torch.Tensor]:
        """Each parameter of the base network with a leading run axis: run r's theta_0 + P_r theta_d."""
        first = self.runs[0]
        by_tensor = zip(*(run.parameter_pieces() for run in self.runs), strict=True)
        stacked = [torch.stack(pieces) for pieces in by_tensor]  # (runs, size) per parameter tensor
        return {
            name: piece.view(len(self.runs), *shape)
            for names, piece, shape in zip(first._names, stacked, first._shapes, strict=True)
            for name in names
        }

    def forward(self, inputs: torch.Tensor, shared: bool = False) -> torch.Tensor:
        """inputs (runs, batch, ...) -> (runs, batch, ...); with `shared`, one (batch, ...) for every run."""
        if not self.vmapped:
            parameters = self.parameters_by_name()
            return torch.stack([
                functional_call(self.base, {name: value[run] for name, value in parameters.items()},
                                (inputs if shared else inputs[run],))
                for run in range(len(self.runs))
            ])  # fmt: skip
        return vmap(
            lambda parameters, batch: functional_call(self.base, parameters, (batch,)),
            in_dims=(0, None if shared else 0),
        )(self.parameters_by_name(), inputs)

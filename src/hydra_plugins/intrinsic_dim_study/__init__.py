"""Hydra finds sweepers only in the hydra_plugins namespace: this is the study's (see intrinsic_dim.study)."""

from hydra_plugins.intrinsic_dim_study.sweeper import StudySweeper

__all__ = ["StudySweeper"]

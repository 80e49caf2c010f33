"""Bounds of one stored subspace run: compress it at each codebook option, measure the decoded model's errors,
and bound its 0-1 error from the training error and the description length alone."""

from __future__ import annotations

import copy
from pathlib import Path

from omegaconf import DictConfig

from intrinsic_dim.bounds.compress import compress
from intrinsic_dim.bounds.description import FLOAT_BITS, description_bits
from intrinsic_dim.bounds.pac_bayes import catoni_bound, occam_bound
from intrinsic_dim.bounds.restore import restore
from intrinsic_dim.errors import BadInput
from intrinsic_dim.tasks.family import Built, family_named


def split_errors(cfg: DictConfig, built: Built, accuracy: str, splits) -> dict[str, float]:
    """The 0-1 error (1 - the task's `accuracy` metric) of the run on each split, measured by its family."""
    metrics = family_named(cfg.task.family).evaluate(cfg, built, list(splits))
    missing = [split for split in splits if f"{split}/{accuracy}" not in metrics]
    if missing:
        raise BadInput(
            f"task {cfg.task.name} measures no {accuracy!r} on {', '.join(missing)}: bounds need a classification "
            "accuracy; set bounds.accuracy to the name of one in task.metrics"
        )
    return {split: 1 - metrics[f"{split}/{accuracy}"] for split in splits}


def options_count(options: DictConfig, kinds: int) -> int:
    """How many descriptions the bound may choose among for one (kind, d, seeds): paid as log2 of it in bits."""
    return kinds * len(options.levels) * len(options.quantizers)


def bound_run(directory: Path, paths: DictConfig, options: DictConfig, kinds: int) -> list[dict]:
    """One row per (codebook size, quantizer) for the run stored in `directory`: bits, errors and bounds."""
    cfg, built = restore(directory, paths)
    model, data = built.model, built.data
    held_out = "test" if "test" in cfg.task.evaluate else cfg.task.evaluate[-1]  # MRPC's labelled dev split
    m = len(data.loader("train").dataset)
    trained = copy.deepcopy(model.state_dict())  # each option starts from the trained run
    rows = []
    for quantizer in options.quantizers:
        for levels in options.levels:
            model.load_state_dict(trained)
            message = compress(model, data, cfg, levels, quantizer, options.epochs, options.lr, options.trainer)
            scales = getattr(model.projection, "scales", None)
            bits = description_bits(
                message, seeds=(cfg.seed, cfg.subspace.seed), scales=0 if scales is None else scales.numel(),
                options=options_count(options, kinds),
            )  # fmt: skip
            errors = split_errors(cfg, built, options.accuracy, ("train", held_out))
            rows.append({
                "task": cfg.task.name, "kind": cfg.subspace.kind, "d": cfg.subspace.d, "seed": cfg.seed,
                "quantizer": quantizer, "levels": levels, "levels_used": len(message.levels),
                "D": model.projection.D, "m": m, "delta": options.delta, "bits": bits["bits"], "parts": bits,
                "compression": FLOAT_BITS * model.projection.D / bits["bits"],
                "train_error": errors["train"], "held_out": held_out, "held_out_error": errors[held_out],
                "occam": occam_bound(errors["train"], bits["bits"], m, options.delta),
                "catoni": catoni_bound(errors["train"], bits["bits"], m, options.delta),
            })  # fmt: skip
    return rows

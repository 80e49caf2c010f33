"""One run: `python -m intrinsic_dim.train [overrides]`; with -m, a Hydra multirun of such runs."""

from __future__ import annotations

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from intrinsic_dim.config import CONF_DIR, check_command_line
from intrinsic_dim.errors import one_line_errors
from intrinsic_dim.run import requested


def summary_line(result: dict) -> str:
    metrics = " ".join(f"{name} {value:.4g}" for name, value in sorted(result["metrics"].items()))
    where = f"d={result['d']} " if result["kind"] != "none" else ""
    return f"{result['task']} {result['kind']} {where}seed={result['seed']} (D={result['D']:,}): {metrics}"


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def main(cfg: DictConfig) -> list[dict]:
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        return requested(cfg)  # the launcher records a failure and the other jobs go on
    with one_line_errors("train"):
        results = requested(cfg)
    for result in results:
        print(summary_line(result))
    return results


if __name__ == "__main__":
    check_command_line("train", "train")
    main()

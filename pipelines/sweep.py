"""DVC stage `sweep`: the subspace grid and the adaptive search of a profile. Args: Hydra overrides."""

import sys

from intrinsic_dim.errors import one_line_errors
from intrinsic_dim.study import baseline_accuracy, profile_name, sweep

if __name__ == "__main__":
    with one_line_errors("sweep"):
        profile = profile_name(sys.argv[1:])
        for result in sweep(profile, baseline_accuracy(profile, sys.argv[1:]), sys.argv[1:]):
            print(f"{result['task']} d={result['d']} seed={result['seed']} val/acc={result['metrics']['val/acc']:.4f}")

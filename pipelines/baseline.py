"""DVC stage `baseline`: the full-space runs of every task of a profile. Args: Hydra overrides (profile=...)."""

import sys

from intrinsic_dim.errors import one_line_errors
from intrinsic_dim.study import baselines, profile_name

if __name__ == "__main__":
    with one_line_errors("baseline"):
        for result in baselines(profile_name(sys.argv[1:]), sys.argv[1:]):
            print(result["task"], "seed", result["seed"], "val/acc", round(result["metrics"]["val/acc"], 4))

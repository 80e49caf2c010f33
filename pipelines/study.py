"""DVC stages `<family>_baseline` and `<family>_sweep`: one study stage of one task family.

`python pipelines/study.py study.family=vision study.stage=sweep profile=quick [trainer=gpu] [hydra/launcher=joblib]`
"""

from intrinsic_dim.study.cli import main

if __name__ == "__main__":
    main()

"""DVC stage `study@<family>`: the study of one task family, its baselines then its sweep (study.stage=all), or one
of them (study.stage=baseline|sweep).

`python pipelines/study.py study.family=vision profile=quick [study.stage=sweep] [trainer=gpu] [hydra/launcher=joblib]`
"""

from intrinsic_dim.study.cli import run

if __name__ == "__main__":
    run()

"""Put the raw files of the pipeline's datasets in data/<name> (tracked by data.dvc): from the local mirror, or
downloaded. Every dataset of `datasets` in conf/data.yaml, or the one named by `dataset=<name>`.

`python pipelines/fetch_data.py [dataset=cifar10] [dataset.source.download=true]`
"""

import sys

import hydra

from intrinsic_dim.config import compose
from intrinsic_dim.errors import one_line_errors

if __name__ == "__main__":
    with one_line_errors("fetch_data"):
        arguments = sys.argv[1:]
        chosen = any(argument.startswith("dataset=") for argument in arguments)
        names = [None] if chosen else compose(arguments, config_name="data").datasets
        for name in names:
            selection = [f"dataset={name}"] if name else []
            print(hydra.utils.instantiate(compose([*arguments, *selection], config_name="data").dataset.source).fetch())

"""Put the raw files of the datasets a profile's tasks read in data/<name> (tracked by data.dvc): from the local
mirror, or downloaded. The profile of conf/pipeline.yaml unless `profile=<name>` is given, or one `dataset=<name>`.

`python pipelines/fetch_data.py [profile=paper | dataset=cifar10] [dataset.source.download=true]`
"""

import sys

import hydra

from intrinsic_dim.config import command_line_config, requested_datasets
from intrinsic_dim.errors import one_line_errors

if __name__ == "__main__":
    with one_line_errors("fetch_data"):
        names, overrides = requested_datasets(sys.argv[1:])
        for name in names:
            print(
                hydra.utils.instantiate(
                    command_line_config([*overrides, f"dataset={name}"], "data").dataset.source
                ).fetch()
            )

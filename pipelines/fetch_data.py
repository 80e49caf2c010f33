"""Put a dataset's raw files in data/<name> (tracked by data.dvc): from the local mirror, or downloaded.

`python pipelines/fetch_data.py [dataset=mnist] [dataset.source.download=true]`
"""

import sys

import hydra

from intrinsic_dim.config import compose
from intrinsic_dim.errors import one_line_errors

if __name__ == "__main__":
    with one_line_errors("fetch_data"):
        print(hydra.utils.instantiate(compose(sys.argv[1:], config_name="data").dataset.source).fetch())

"""Put the raw MNIST files in data/ (tracked by data.dvc): from the local mirror, or by download if enabled."""

import sys
from pathlib import Path

from intrinsic_dim.config import compose
from intrinsic_dim.errors import one_line_errors
from intrinsic_dim.mnist import fetch

if __name__ == "__main__":
    with one_line_errors("fetch_data"):
        dataset = compose(sys.argv[1:]).dataset
        print(fetch(Path(dataset.root), Path(dataset.mirror) if dataset.mirror else None, dataset.download))

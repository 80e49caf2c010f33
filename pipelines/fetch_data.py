"""Put the raw MNIST files in data/ (tracked by data.dvc): from the local mirror, or by download if enabled."""

import sys
from pathlib import Path

from intrinsic_dim.config import compose
from intrinsic_dim.mnist import DataError, fetch


def main() -> None:
    dataset = compose(sys.argv[1:]).dataset
    try:
        print(fetch(Path(dataset.root), Path(dataset.mirror) if dataset.mirror else None, dataset.download))
    except DataError as error:
        sys.exit(f"fetch_data: {error}")


if __name__ == "__main__":
    main()

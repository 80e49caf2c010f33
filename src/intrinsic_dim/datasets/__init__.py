"""Raw datasets: fetched from a local mirror or downloaded, checked, and prepared once (pipelines/prepare.py).

A dataset is one file in conf/dataset/ whose `source` is one of
- image_folders.ImageFolderSource: per split, a folder or a tar of <class>/<file> images;
- torchvision_classes.TorchvisionSource: any image-classification class of torchvision.datasets;
- idx.IdxSource: IDX files (MNIST's layout), where torchvision keeps them or at paths of one's own;
- text_classification.TextClassificationSource: single texts or text pairs from CSV/TSV files or the hub.
They share raw_files (root, mirror, sha256 checks), image_source (the validation split carved from train),
pil_images (one size and mode per dataset) and delimited_files (CSV/TSV columns as strings).
"""

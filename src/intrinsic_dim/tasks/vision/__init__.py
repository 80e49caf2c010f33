"""Image classification: prepared image tensors and the networks of Li et al. 2018."""

"""Compression-based generalization bounds for subspace models: quantize theta_d, code it, bound the 0-1 error."""

"""Sequence-pair classification with a pretrained transformer (Aghajanyan et al. 2020 on GLUE MRPC)."""

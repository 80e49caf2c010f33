"""The math of training in a subspace: projections, Hadamard kernels, SubspaceModel, runs trained together as one
vectorized model. No Lightning, no Hydra: everything above builds on it."""

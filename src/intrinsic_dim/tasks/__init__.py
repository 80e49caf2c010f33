"""Task jobs: what trains one run of each task family (see intrinsic_dim.job for the contract)."""

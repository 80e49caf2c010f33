"""Studies: run identity and the result store, rounds of runs through a launcher, the search, d_int90, reports."""

"""Runs on disk, below everything that trains or plans them: identity and code fingerprint, the result store,
study manifests, atomic writes, and garbage collection of runs no manifest uses."""

"""The software a run was computed with: the versions that enter its key, and every installed package."""

from __future__ import annotations

import functools
import importlib.metadata
import platform


@functools.cache
def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def versions(distributions: tuple[str, ...]) -> dict[str, str]:
    """The versions of `distributions` (and Python's): what the numbers of a family's runs depend on."""
    return {"python": platform.python_version(), **{name: version(name) for name in sorted(distributions)}}


@functools.cache
def installed() -> dict[str, str]:
    """Every installed distribution and its version, as `pip freeze` lists them: recorded with each result."""
    found = {distribution.metadata["Name"]: distribution.version for distribution in importlib.metadata.distributions()}
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))

"""Errors caused by what a user asked for (config, data, checkpoint); each message names the fix.

Entry points print them as one line (see `one_line_errors`) instead of a traceback.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


class BadInput(ValueError):
    """A request that cannot be carried out as given."""


class DataError(BadInput):
    """Missing or corrupt data."""


class TooLarge(BadInput, MemoryError):
    """A request that would not fit in memory."""


@contextlib.contextmanager
def one_line_errors(program: str) -> Iterator[None]:
    try:
        yield
    except BadInput as error:
        sys.exit(f"{program}: {error}")

"""Errors caused by what a user asked for (config, data, files); each message names the fix.

Entry points print them as one line (see `one_line_errors`) instead of a traceback.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from hydra.errors import HydraException
from omegaconf.errors import InterpolationKeyError, MissingMandatoryValue


class BadInput(ValueError):
    """A request that cannot be carried out as given."""


class DataError(BadInput):
    """Missing or corrupt data."""


class TooLarge(BadInput, MemoryError):
    """A request that would not fit in memory."""


def config_error(error: Exception) -> BadInput:
    """The one-line form of a config value that is missing or points nowhere."""
    key = getattr(error, "full_key", "") or "a config value"
    if isinstance(error, MissingMandatoryValue):
        return BadInput(f"{key} is not set; pass it on the command line, e.g. {key}=<value>")
    return BadInput(f"{key} cannot be resolved ({str(error).splitlines()[0]}); check that option in conf/")


@contextlib.contextmanager
def one_line_errors(program: str) -> Iterator[None]:
    try:
        yield
    except BadInput as error:
        sys.exit(f"{program}: {error}")
    except (MissingMandatoryValue, InterpolationKeyError) as error:
        sys.exit(f"{program}: {config_error(error)}")
    except HydraException as error:  # an unknown config option: Hydra's message lists the available ones
        message = str(error).split("Config search path")[0]
        sys.exit(f"{program}: {' '.join(message.split())}")

"""Errors caused by what a user asked for (config, data, files); each message names the fix.

Entry points print them as one line (see `one_line_errors`) instead of a traceback.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import sys
from collections.abc import Iterator

from hydra.errors import HydraException, MissingConfigException
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


UNKNOWN_OPTION = re.compile(r"Could not find '([^']+)/([^'/]+)'")


def missing_option(error: MissingConfigException) -> BadInput | MissingConfigException:
    """The one-line form of an option that is not in its config group (`task=nosuch`), with the closest ones."""
    option = UNKNOWN_OPTION.search(str(error))
    if option is None:
        return error
    group, name = option.groups()
    listing = str(error).split("Config search path")[0]  # the options, one per tab-indented line
    available = [line.strip() for line in listing.splitlines() if line.startswith("\t")]
    close = difflib.get_close_matches(name, available, n=3)
    hint = f"did you mean {' or '.join(close)}?" if close else f"one of: {', '.join(available)}"
    return BadInput(f"{group}={name} is not an option of {group} (conf/{group}/); {hint}")


@contextlib.contextmanager
def one_line_errors(program: str) -> Iterator[None]:
    try:
        yield
    except BadInput as error:
        sys.exit(f"{program}: {error}")
    except (MissingMandatoryValue, InterpolationKeyError) as error:
        sys.exit(f"{program}: {config_error(error)}")
    except MissingConfigException as error:
        sys.exit(f"{program}: {' '.join(str(missing_option(error)).split())}")
    except HydraException as error:  # another config error: Hydra's message, on one line
        message = str(error).split("Config search path")[0]
        sys.exit(f"{program}: {' '.join(message.split())}")

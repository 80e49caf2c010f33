"""Columns of a CSV or TSV file with a header row, read as strings with Python's csv module (no type guessing,
no NA conversion: a text that reads "NA" or "1" stays that text)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from intrinsic_dim.errors import BadInput, DataError

QUOTING = {
    "minimal": csv.QUOTE_MINIMAL,  # fields may be quoted ("a, b"), as most CSV writers do
    "none": csv.QUOTE_NONE,  # quote characters are text (GLUE's TSVs hold unbalanced quotes)
}


def quoting_rule(name: str) -> int:
    if name not in QUOTING:
        raise BadInput(f"dataset.source.quoting={name!r}: use {' or '.join(QUOTING)}")
    return QUOTING[name]


def read_columns(path: Path, names: Sequence[str], delimiter: str, quoting: str, encoding: str) -> dict[str, list[str]]:
    """The columns `names` of the file, by their header names."""
    columns: dict[str, list[str]] = {name: [] for name in names}
    try:
        with path.open(newline="", encoding=encoding) as handle:
            rows = csv.reader(handle, delimiter=delimiter, quoting=quoting_rule(quoting))
            header = next(rows, [])
            missing = [name for name in names if name not in header]
            if missing:
                raise DataError(
                    f"{path} has no column {missing[0]!r} (its header: {header}); fix dataset.source.columns, or "
                    "dataset.source.delimiter / encoding (utf-8-sig skips a byte-order mark)"
                )
            positions = [header.index(name) for name in names]
            for row in rows:
                if not row:  # a blank line
                    continue
                if len(row) != len(header):
                    raise DataError(
                        f"{path}, line {rows.line_num}: {len(row)} fields under a header of {len(header)}; check "
                        "dataset.source.delimiter and dataset.source.quoting (none where quotes are text)"
                    )
                for name, position in zip(names, positions, strict=True):
                    columns[name].append(row[position])
    except UnicodeDecodeError as error:
        raise DataError(f"cannot read {path} as {encoding} text ({error}); set dataset.source.encoding") from error
    except csv.Error as error:  # e.g. a field longer than csv's limit after an unclosed quote
        raise DataError(f"cannot read {path} ({error}); check dataset.source.quoting and delimiter") from error
    return columns

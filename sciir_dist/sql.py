"""SQL literals for Lance (DataFusion) and DuckDB filters.

Every value that reaches a filter string goes through :func:`literal`, so a
model name, sample id or path with a quote cannot break (or change) a query.
Both engines read ``'...'`` strings verbatim except for a doubled quote: a
backslash is an ordinary character there, so only ``'`` is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable


def literal(value: object) -> str:
    """``value`` as a SQL literal: strings quoted, numbers and booleans bare,
    ``None`` as NULL. Anything else is refused rather than ``str()``-ed into a
    query."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("a NUL character cannot be written as a SQL literal")
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__} {value!r}")


def literal_list(values: Iterable[object]) -> str:
    """The inside of an ``IN (...)``."""
    return ", ".join(literal(v) for v in values)


def eq(column: str, value: object) -> str:
    return f"{column} = {literal(value)}"


def is_in(column: str, values: Iterable[object]) -> str:
    """``column IN (...)``; ``false`` for no values (an empty IN list is a
    syntax error in DataFusion)."""
    inside = literal_list(values)
    return f"{column} IN ({inside})" if inside else "false"

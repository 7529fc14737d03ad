"""Values given on the command line as KEY=VALUE (``--set``, ``--option``)."""

from __future__ import annotations

import tomllib


def scalar(text: str):
    """``text`` as TOML reads a value (0.3, 512, true, "x"), else the raw string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text

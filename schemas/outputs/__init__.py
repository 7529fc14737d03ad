"""JSON Schemas of structured model outputs: sent as ``response_format`` for
constrained decoding and used to validate every answer."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent
NAMES = ("filter_decision", "relevance_scores", "reasoning", "sci_rcot", "abstract_prompt", "discipline", "checklist_items",
         "verdicts", "verdicts_sciir")


@cache
def load(name: str) -> dict:
    if name not in NAMES:
        raise KeyError(f"no output schema {name!r}; have {NAMES}")
    return json.loads((HERE / f"{name}.json").read_text())

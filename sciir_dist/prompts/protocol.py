"""Which protocol a model-driven output follows (issue 13).

``sciir`` (the default) reproduces the SciIR paper's setup: a judge that sees
each question's category, the image at high detail and answers at
temperature 0; Sci-RCoT annotation with the article body as context, title
and caption for call (b), the full reasoning for call (c) and the paper's
temperatures; a release of exactly N IF + N IR per group.

``strict-index`` is this project's earlier behaviour, kept because it is
better for one reason each: a judge whose answers are pinned to question
indices cannot misalign answers with questions (the paper's answers are
matched by order within category), and annotation at temperature 0 over a
short body excerpt is cheaper and repeatable.

The protocol is part of every prompt version (``<prompt>-vN:<protocol>``),
so outputs of different protocols never share cache entries or scores.
"""

from __future__ import annotations

SCIIR = "sciir"
STRICT_INDEX = "strict-index"
PROTOCOLS = (SCIIR, STRICT_INDEX)
DEFAULT = SCIIR


def check(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {list(PROTOCOLS)}")
    return protocol


def versioned(prompt_version: str, protocol: str) -> str:
    """The stored prompt version: the prompt's own version and the protocol."""
    return f"{prompt_version}:{check(protocol)}"


def protocol_of(prompt_version: str | None) -> str | None:
    """The protocol a stored prompt version was made under; None for
    versions without one (offline backends, imported verdicts)."""
    tail = (prompt_version or "").rpartition(":")[2]
    return tail if tail in PROTOCOLS else None

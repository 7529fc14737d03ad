"""Sci-RCoT annotation prompts (SPEC §4 step 7): (a) reasoning extraction,
(b) the Sci-RCoT scene description, (c) the abstract prompt. One version for
the three, stored with every annotation together with the protocol
(``annotate-v2:sciir``).

What each call sees depends on the protocol (issue 13):

- ``sciir`` (the paper's): (a) the article body as context, (b) the image,
  article title, figure caption and the reasoning, (c) the reasoning's terms
  and visualizations, the Sci-RCoT and its rendered-text candidates; sampled
  at temperatures 0.1, 0.3, 0.3.
- ``strict-index``: (a) an excerpt of the body citing the figure, (b) the
  image and reasoning, (c) the Sci-RCoT and the terms; temperature 0
  everywhere (cheaper, repeatable).
"""

from __future__ import annotations

import json

from sciir_dist.prompts.protocol import SCIIR, STRICT_INDEX

VERSION = "annotate-v2"
#: the model role each call belongs to (its settings start from that role's)
CALL_ROLES: dict[str, str] = {"reasoning": "vision", "sci_rcot": "vision", "abstract": "text"}
#: sampling temperature per call when neither flags nor the model config set one
TEMPERATURES: dict[str, dict[str, float]] = {
    SCIIR: {"reasoning": 0.1, "sci_rcot": 0.3, "abstract": 0.3},
    STRICT_INDEX: {"reasoning": 0.0, "sci_rcot": 0.0, "abstract": 0.0},
}

TRACK_MEANING = {
    "EntityStructure": "the entities and structures: components, parts and their arrangement",
    "ScientificProcess": "the process: steps, stages, flows, cause and effect, order in time",
    "ScientificLaw": "the law or principle: relations, rules, quantities and their dependence",
}

REASONING_SYSTEM = """You write training data for a model that draws scientific figures from text.
Look at the figure panel and its context and extract the scientific reasoning it depicts, for
each of the requested tracks only:
{tracks}
For each requested track give `terms`: short noun phrases naming the scientific concepts, and
`visualization`: for each term, in the same order, one concrete description of how that concept
is drawn in this image (shape, colour, position, arrows, labels). The two lists have the same
length. Use null for tracks that are not requested.
Evidence priority when sources disagree: the image itself first, then the figure title, then the
caption, then the article body."""

SCI_RCOT_SYSTEM = """You write the prompt that a text-to-image model will follow to redraw a
scientific schematic. Write ONE coherent scene description that:
1. starts by stating the drawing style (e.g. "A flat vector schematic on a white background");
2. covers every visualization item of the given reasoning, in a natural spatial order;
3. demands every piece of text that must appear in the image, written as: labeled as "TEXT".
Also return `rendered_text`: the list of those text strings, each copied exactly as it appears
in your description."""

ABSTRACT_SYSTEM = """You turn a detailed drawing prompt into an abstract prompt that tests whether a
text-to-image model can reason about science on its own. Rewrite it so that:
1. it starts with the same drawing-style phrase;
2. every concrete visual description is replaced by the scientific term it depicts (say what to
   show, not how it looks);
3. only the text labels that are necessary to identify the science are kept.
Also return `retained_text`: the text strings you kept, each copied exactly as it appears in
your abstract prompt."""


def reasoning_messages(image_data_url: str, labels: list[str], context: dict) -> list[dict]:
    tracks = "\n".join(f"- {t}: {TRACK_MEANING[t]}" for t in labels)
    ctx = "\n".join(f"{k}: {v}" for k, v in context.items() if v)
    user = [{"type": "text", "text": f"Requested tracks: {', '.join(labels)}\n\nContext:\n{ctx}"},
            {"type": "image_url", "image_url": {"url": image_data_url}}]
    return [{"role": "system", "content": REASONING_SYSTEM.format(tracks=tracks)}, {"role": "user", "content": user}]


def sci_rcot_messages(image_data_url: str, reasoning: dict, protocol: str,
                      article_title: str | None = None, caption: str | None = None) -> list[dict]:
    text = "Reasoning to cover:\n" + json.dumps(reasoning, ensure_ascii=False, indent=1)
    if protocol == SCIIR:
        context = "\n".join(f"{k}: {v}" for k, v in (("Article title", article_title), ("Figure caption", caption)) if v)
        text = (f"Context:\n{context}\n\n" if context else "") + text
    user = [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": image_data_url}}]
    return [{"role": "system", "content": SCI_RCOT_SYSTEM}, {"role": "user", "content": user}]


def abstract_messages(sci_rcot: str, reasoning: dict, protocol: str, rendered_text: list[str] | None = None) -> list[dict]:
    if protocol == SCIIR:
        user = (f"Detailed prompt:\n{sci_rcot}\n\nReasoning behind it (terms and how each is drawn):\n"
                + json.dumps({t: r for t, r in reasoning.items() if r}, ensure_ascii=False, indent=1)
                + "\n\nText the detailed prompt asks to render (candidates to keep):\n"
                + json.dumps(list(rendered_text or []), ensure_ascii=False))
    else:
        user = (f"Detailed prompt:\n{sci_rcot}\n\nTerms behind its visual descriptions:\n"
                + json.dumps({t: r["terms"] for t, r in reasoning.items() if r}, ensure_ascii=False))
    return [{"role": "system", "content": ABSTRACT_SYSTEM}, {"role": "user", "content": user}]

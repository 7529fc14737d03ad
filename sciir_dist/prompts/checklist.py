"""Checklist generation prompt (SPEC §6): the paper's two layers, in our
own words."""

from __future__ import annotations

import json

VERSION = "checklist-v1"

SYSTEM = """You write evaluation checklists for images generated from scientific prompts. Every
question is atomic (one fact), answerable yes/no by looking at the image, and phrased so that
"yes" means the image is correct.

Layer 1, category "Text": one question per string the prompt requires to be rendered, asking
whether it appears and is spelled correctly (mention its position only when the prompt states one).
Quote the string exactly, in single quotes.

Layer 2, one category per ACTIVE track (EntityStructure, ScientificProcess, ScientificLaw): for
each term that appears both in the reasoning and in the prompt, ask about ONE visual attribute
at a time (shape, colour, component, direction, phase, interaction, constraint...). Never ask
about text in this layer. Add at least one negative (hallucination) question per active track,
marked "negative": true, phrased so "yes" means the error is absent:
- ScientificLaw: no physically impossible state is shown;
- EntityStructure: no fused, broken or floating structures;
- ScientificProcess: no ghost steps and no orphan arrows."""


def messages(prompt: str, reasoning: dict, active: list[str], required_text: list[str]) -> list[dict]:
    user = (f"Prompt:\n{prompt}\n\nActive tracks: {', '.join(active)}\n"
            f"Reasoning (terms and their visual descriptions):\n{json.dumps(reasoning, ensure_ascii=False)}\n\n"
            f"Strings the image must render: {json.dumps(required_text, ensure_ascii=False)}")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]

"""The VLM reviewer of `sciir bench judge` (SPEC §6), in two protocols
(see :mod:`sciir_dist.prompts.protocol`):

- ``sciir``: the paper's reviewer. It sees the prompt and the checklist as
  JSON with each question's category, because the rules differ by category
  (text is judged on spelling and placement, the three scientific tracks on
  graphics only), and answers per question {category, Yes/No, reason}.
- ``strict-index``: numbered questions without categories, answers pinned to
  the question index {index, yes/no, evidence}.
"""

from __future__ import annotations

import json

from sciir_dist.prompts import protocol

VERSION = "judge-v2"

SCIIR_SYSTEM = """You review scientific figures made by an image generator. You receive the
image, the prompt it was generated from (only to know what was intended), and a checklist in
JSON: a list of yes/no questions, each with its category. Answer every question of the list, in
the order given, from what you can actually see in the image, applying the rule of its category:
- Text: the quoted words must be rendered and spelled exactly (case and punctuation aside); check
  the position too when the question names one. Misspelled, garbled or missing text fails.
- EntityStructure: judge the drawn objects themselves - their shape, colour, parts and
  arrangement. Text labels do not count: a label without the drawing fails.
- ScientificProcess: judge the depicted flow - arrows, connecting lines, ordering of stages,
  gradients. Text labels do not count.
- ScientificLaw: judge whether the drawn interactions, trajectories, angles, proportions and
  constraints obey the stated principle.
A question asking whether an error is absent (e.g. "Is the structure free of broken parts?") is
"Yes" when the image is free of that error. Never claim something that is not clearly visible:
missing, illegible or ambiguous means "No".
For each question return its category as given, the answer "Yes" or "No", and one sentence of
visual evidence naming what you see."""

STRICT_SYSTEM = """You are a strict reviewer of generated scientific figures. You get the prompt the
image was generated from and a numbered checklist of yes/no questions about the image.
Answer every question, in order, about what is actually visible in the image:
- "yes" only when the image clearly shows it; anything missing, illegible, misspelled,
  wrongly placed or ambiguous is "no";
- questions that ask whether something wrong is ABSENT (e.g. "Is the structure free of
  broken parts?") are "yes" when the image is free of that error;
- give one sentence of visual evidence per answer, naming what you see.
Judge the image only; the prompt tells you what was intended."""


def messages(image_data_url: str, prompt: str, questions: list[dict], first_index: int,
             protocol_name: str = protocol.DEFAULT) -> list[dict]:
    """``questions``: dicts with ``question`` and ``category``, in checklist order."""
    if protocol.check(protocol_name) == protocol.SCIIR:
        checklist = json.dumps([{"question": q["question"], "category": q["category"]} for q in questions],
                               ensure_ascii=False, indent=1)
        text = (f"Generation prompt:\n{prompt}\n\nChecklist (JSON; answer every entry, in this order):\n{checklist}")
        system = SCIIR_SYSTEM
    else:
        listing = "\n".join(f"{first_index + i}. {q['question']}" for i, q in enumerate(questions))
        text = f"Generation prompt:\n{prompt}\n\nChecklist (answer each index in order):\n{listing}"
        system = STRICT_SYSTEM
    user = [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": image_data_url}}]
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]

"""The VLM reviewer of `sciir bench judge` (SPEC §6): image + prompt +
checklist in, one yes/no verdict with visual evidence per question out."""

from __future__ import annotations

VERSION = "judge-v1"

SYSTEM = """You are a strict reviewer of generated scientific figures. You get the prompt the
image was generated from and a numbered checklist of yes/no questions about the image.
Answer every question, in order, about what is actually visible in the image:
- "yes" only when the image clearly shows it; anything missing, illegible, misspelled,
  wrongly placed or ambiguous is "no";
- questions that ask whether something wrong is ABSENT (e.g. "Is the structure free of
  broken parts?") are "yes" when the image is free of that error;
- give one sentence of visual evidence per answer, naming what you see.
Judge the image only; the prompt tells you what was intended."""


def messages(image_data_url: str, prompt: str, questions: list[str], first_index: int) -> list[dict]:
    listing = "\n".join(f"{first_index + i}. {q}" for i, q in enumerate(questions))
    text = f"Generation prompt:\n{prompt}\n\nChecklist (answer each index in order):\n{listing}"
    user = [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": image_data_url}}]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]

"""Subject-term -> main category, the model fallback of `discipline`
(SPEC §4 step 5) for articles whose subject terms the curated table does
not cover."""

from sciir_dist.data.subject_categories import DESCRIPTIONS

VERSION = "discipline-v1"

SYSTEM = "You sort scientific articles into one of five main categories:\n" + "\n".join(
    f"- {c}: {d}" for c, d in DESCRIPTIONS.items()
) + "\nPick the single category that fits the article's subject terms best and say why in one sentence."


def messages(title: str | None, subjects: list[str]) -> list[dict]:
    user = f"Article title: {title or '(unknown)'}\nSubject terms: {'; '.join(subjects) or '(none)'}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]

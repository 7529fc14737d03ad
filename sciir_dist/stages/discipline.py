"""`discipline`: an article's main category from its subject terms (SPEC §4
step 5).

The curated table decides whenever it covers a subject term (majority over
the article's terms, first term breaking ties; ``discipline_source=table``).
Articles with no covered term go to the text model (``llm``) or, offline,
to the category whose description is closest in all-MiniLM-L6-v2 space
(``offline``). One row per article in ``article_discipline``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from schemas.outputs import load
from schemas.tables import ARTICLE_DISCIPLINE
from sciir_dist.backends.openai import EndpointSettings, VLMError
from sciir_dist.data.subject_categories import CATEGORIES, DESCRIPTIONS, from_table
from sciir_dist.prompts import discipline as prompt
from sciir_dist.stages.base import Resources, Stage, StageResult
from sciir_dist.stages.registry import register
from sciir_dist.stages.vlm import ask_all

OFFLINE_VERSION = "discipline-offline-v1"


@register
class DisciplineStage(Stage):
    name = "discipline"
    output_table = "article_discipline"
    source_table = "articles"
    key = output_key = "article_id"
    inputs = ("article_id", "title", "subjects")


    @classmethod
    def build(cls, backends, options) -> "DisciplineStage":
        return cls(backends.text)

    def __init__(self, text: EndpointSettings | None = None) -> None:
        self.text = text
        self.resources = Resources(num_cpus=1, batch_size=256)
        self._embedder = None
        self._category_vecs = None

    def setup(self) -> None:
        if self.text is None:
            from sciir_dist.backends.minilm import shared

            self._embedder = shared()
            self._category_vecs = self._embedder.encode([f"{c}: {d}" for c, d in DESCRIPTIONS.items()])

    def process(self, batch: pa.Table) -> StageResult:
        rows = batch.to_pylist()
        out, unmapped, rejects = {}, [], []
        for r in rows:
            subjects = [s for s in (r["subjects"] or []) if s and s.strip()]
            hit = from_table(subjects)
            if hit:
                out[r["article_id"]] = _row(r["article_id"], hit[0], "table", "; ".join(hit[1]), "table", None, None)
            else:
                unmapped.append((r, subjects))
        if unmapped and self.text is None:
            texts = ["; ".join(s) or (r["title"] or "") for r, s in unmapped]
            sims = self._embedder.encode(texts) @ self._category_vecs.T
            for (r, subjects), row in zip(unmapped, sims):
                best = int(np.argmax(row))
                out[r["article_id"]] = _row(r["article_id"], CATEGORIES[best], "offline",
                                            f"{'; '.join(subjects) or r['title']} (cosine {row[best]:.2f})",
                                            "offline", "all-MiniLM-L6-v2", OFFLINE_VERSION)
        elif unmapped:
            answers = ask_all(self.text, {r["article_id"]: prompt.messages(r["title"], s) for r, s in unmapped},
                              load("discipline"), "discipline")
            for (r, subjects) in unmapped:
                a = answers[r["article_id"]]
                if isinstance(a, VLMError):
                    rejects.append((r["article_id"], f"vlm_error:{a.kind}", a.detail))
                else:
                    out[r["article_id"]] = _row(r["article_id"], a.data["discipline"], "llm",
                                                f"{'; '.join(subjects)}: {a.data['reason']}", "openai",
                                                self.text.model, prompt.VERSION)
        return StageResult(pa.Table.from_pylist(list(out.values()), schema=ARTICLE_DISCIPLINE), rejects)


def _row(article_id: str, discipline: str, source: str, evidence: str, backend: str, model: str | None,
         version: str | None) -> dict:
    return {"article_id": article_id, "discipline": discipline, "discipline_source": source,
            "discipline_evidence": evidence, "discipline_backend": backend, "discipline_model": model,
            "discipline_prompt_version": version}

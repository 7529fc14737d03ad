"""`classify`: semiotic stratification (SPEC §4 step 6).

Relevance 1-10 for each of EntityStructure, ScientificProcess and
ScientificLaw; labels = tracks scored >= tau (7, the paper's threshold);
panels with no label are ``low_reasoning`` and stay out of the training
split. Runs on panels the filter kept (not in the review queue) that
represent their duplicate cluster.

Offline backend (``classify_backend=offline``): the panel's text (figure
title, caption, sub-caption, OCR lines) against short descriptions of each
track in all-MiniLM-L6-v2 space; the best cosine per track is mapped onto
the 1-10 scale. A transparent stand-in, not a VLM judgement.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import Field

from schemas.outputs import load
from schemas.tables import PANEL_CLASSIFY, TRACKS
from sciir_dist.backends.openai import EndpointSettings, VLMError
from sciir_dist.prompts import classify as prompt
from sciir_dist.stages.base import Lookup, Resources, Stage, StageResult
from sciir_dist.stages.registry import StageOptions, register
from sciir_dist.backends.ocr import read_lines
from sciir_dist.stages.vlm import ask_all, data_url

TAU = 7
OFFLINE_VERSION = "classify-offline-v1"
SCORE_COLUMNS = {"EntityStructure": "score_entity_structure", "ScientificProcess": "score_scientific_process",
                 "ScientificLaw": "score_scientific_law"}

#: phrases that typify each track (offline backend)
TRACK_PHRASES = {
    "EntityStructure": ["the structure and components of a cell, device or organism",
                        "labelled parts and their spatial arrangement", "anatomy of a membrane, receptor or nucleus",
                        "a model of the architecture of a system"],
    "ScientificProcess": ["the stages of a process or pathway", "a mechanism shown step by step with arrows",
                          "a cycle, workflow or transport from one place to another",
                          "how a signal flows and changes over time"],
    "ScientificLaw": ["a physical law or principle", "an equation relating quantities",
                      "how one variable depends on another", "conservation of energy or mass, a gradient driving flow"],
}
#: cosine -> score: LOW maps to 1, HIGH to 10 (linear in between)
COS_LOW, COS_HIGH = 0.05, 0.55


def labels_of(scores: dict[str, int], tau: int) -> list[str]:
    return [t for t in TRACKS if scores[t] >= tau]


def score_from_cosine(cos: float) -> int:
    return int(np.clip(round(1 + 9 * (cos - COS_LOW) / (COS_HIGH - COS_LOW)), 1, 10))


@register
class ClassifyStage(Stage):
    name = "classify"
    output_table = "panel_classify"
    inputs = ("panel_id", "figure_id", "sub_caption", "image")
    lookups = {"figure_title": Lookup("figures", "figure_id", "title"),
               "caption": Lookup("figures", "figure_id", "caption"),
               "ocr_lines": Lookup("panel_filter", "panel_id", "ocr_lines")}
    requires = {"panel_filter": "filter_decision = 'KEEP' AND NOT filter_review",
                "panel_dedup": "dup_of IS NULL"}


    class Options(StageOptions):
        tau: int = Field(TAU, ge=1, le=10, description="A track is a label when its relevance score is >= tau.",
                         json_schema_extra={"flag": "--tau"})

    @classmethod
    def build(cls, backends, options: Options) -> "ClassifyStage":
        return cls(backends.vision, options.tau)

    def __init__(self, vision: EndpointSettings | None = None, tau: int = TAU) -> None:
        self.vision = vision
        self.tau = tau
        self.resources = Resources(num_cpus=1, batch_size=256 if vision else 32)
        self._embedder = None
        self._track_vecs: dict[str, np.ndarray] = {}

    def setup(self) -> None:
        if self.vision is None:
            from sciir_dist.backends.minilm import shared

            self._embedder = shared()
            self._track_vecs = {t: self._embedder.encode(p) for t, p in TRACK_PHRASES.items()}

    def process(self, batch: pa.Table) -> StageResult:
        rows = batch.to_pylist()
        rejects: list[tuple[str, str, str]] = []
        if self.vision is None:
            results = self._offline(rows)
        else:
            answers = ask_all(self.vision, {r["panel_id"]: prompt.messages(data_url(r["image"]), r["figure_title"],
                                                                          r["caption"], r["sub_caption"]) for r in rows},
                              load("relevance_scores"), "relevance_scores")
            results = {}
            for pid, a in answers.items():
                if isinstance(a, VLMError):
                    rejects.append((pid, f"vlm_error:{a.kind}", a.detail))
                else:
                    results[pid] = ({t: int(a.data[t]) for t in TRACKS}, a.data["rationale"], "openai",
                                    self.vision.model, prompt.VERSION)
        out = []
        for pid, (scores, rationale, backend, model, version) in results.items():
            labels = labels_of(scores, self.tau)
            out.append({"panel_id": pid, **{SCORE_COLUMNS[t]: scores[t] for t in TRACKS}, "labels": labels,
                        "low_reasoning": not labels, "classify_rationale": rationale, "classify_backend": backend,
                        "classify_model": model, "classify_prompt_version": version})
        return StageResult(pa.Table.from_pylist(out, schema=PANEL_CLASSIFY), rejects)

    def _offline(self, rows: list[dict]) -> dict[str, tuple]:
        texts = []
        for r in rows:
            lines = r.get("ocr_lines")
            if lines is None:
                lines = read_lines(r["image"])
            parts = [r.get("figure_title"), r.get("sub_caption") or r.get("caption"), " ".join(lines)]
            texts.append(". ".join(p for p in parts if p))
        vecs = self._embedder.encode([t or " " for t in texts])
        out = {}
        for r, v, text in zip(rows, vecs, texts):
            best = {t: float((self._track_vecs[t] @ v).max()) if text else 0.0 for t in TRACKS}
            scores = {t: score_from_cosine(c) for t, c in best.items()}
            why = ", ".join(f"{t} cos {best[t]:.2f}" for t in TRACKS)
            out[r["panel_id"]] = (scores, f"offline text similarity ({why}) of: {text[:200]}", "offline",
                                  "all-MiniLM-L6-v2", OFFLINE_VERSION)
        return out

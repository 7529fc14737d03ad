"""`filter`: is this panel a drawable scientific schematic? KEEP/REJECT with
a category, a one-sentence reason and a confidence (SPEC §4 step 4).

Backends: a VLM behind an OpenAI-compatible endpoint (the production path),
or offline heuristics on the bundled OCR model and image statistics, marked
``backend=offline``. Low-confidence decisions set ``review`` (a queryable
review queue) instead of being silently kept.
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
from PIL import Image
from pydantic import Field

from schemas.outputs import load
from schemas.tables import PANEL_FILTER
from sciir_dist.backends.openai import EndpointSettings, VLMError
from sciir_dist.prompts import filter as prompt
from sciir_dist.backends import ocr
from sciir_dist.stages.base import Resources, Stage, StageResult
from sciir_dist.stages.registry import StageOptions, register
from sciir_dist.stages.vlm import ask_all, data_url

REVIEW_BELOW = 0.7
OFFLINE_VERSION = "filter-offline-v1"


@register
class FilterStage(Stage):
    name = "filter"
    output_table = "panel_filter"
    inputs = ("panel_id", "sub_caption", "fill_color", "image")


    class Options(StageOptions):
        review_below: float = Field(REVIEW_BELOW, ge=0, le=1, description=(
            "Decisions less confident than this go to the review queue (filter_review)."))

    @classmethod
    def build(cls, backends, options: Options) -> "FilterStage":
        return cls(backends.vision, options.review_below)

    def __init__(self, vision: EndpointSettings | None = None, review_below: float = REVIEW_BELOW) -> None:
        self.vision = vision
        self.review_below = review_below
        self.resources = Resources(num_cpus=1, batch_size=256 if vision else 16)

    def setup(self) -> None:
        if self.vision is None:
            ocr.read_boxes(np.full((32, 32, 3), 255, np.uint8))  # load the model before the first batch

    def process(self, batch: pa.Table) -> StageResult:
        rows = batch.to_pylist()
        if self.vision is None:
            decisions = {r["panel_id"]: (self._offline(r), "offline", None, OFFLINE_VERSION) for r in rows}
            rejects: list[tuple[str, str, str]] = []
        else:
            answers = ask_all(self.vision, {r["panel_id"]: prompt.messages(data_url(r["image"]), r["sub_caption"]) for r in rows},
                              load("filter_decision"), "filter_decision")
            decisions, rejects = {}, []
            for pid, a in answers.items():
                if isinstance(a, VLMError):
                    rejects.append((pid, f"vlm_error:{a.kind}", a.detail))
                else:
                    decisions[pid] = (a.data, "openai", self.vision.model, prompt.VERSION)
        out = [
            {"panel_id": pid, "filter_decision": d["decision"], "filter_category": d["category"],
             "filter_reason": d["reason"], "filter_confidence": float(d["confidence"]),
             "filter_review": float(d["confidence"]) < self.review_below, "filter_backend": backend,
             "filter_model": model, "filter_prompt_version": version, "ocr_lines": d.get("ocr_lines")}
            for pid, (d, backend, model, version) in decisions.items()
        ]
        return StageResult(pa.Table.from_pylist(out, schema=PANEL_FILTER), rejects)

    # -- offline heuristics ---------------------------------------------------
    def _offline(self, row: dict) -> dict:
        """Transparent rules: colour entropy (photographs and micrographs),
        numeric tick labels (data plots), share of ink inside text boxes
        (text-only images)."""
        rgb = np.asarray(Image.open(io.BytesIO(row["image"])).convert("RGB"))
        small = (rgb[::4, ::4].reshape(-1, 3) // 32).astype(np.int32)
        hist = np.bincount(small[:, 0] * 64 + small[:, 1] * 8 + small[:, 2], minlength=512) / len(small)
        entropy = float(-(hist[hist > 0] * np.log2(hist[hist > 0])).sum())
        boxes = ocr.read_boxes(rgb)
        numbers = sum(1 for b in boxes if _is_number(b[1]))
        fill = np.array(row["fill_color"] or [255, 255, 255], np.int16)
        ink = np.abs(rgb.astype(np.int16) - fill).max(axis=2) > 40
        text_mask = np.zeros_like(ink)
        for box, _text, _score in boxes:
            xs, ys = [int(p[0]) for p in box], [int(p[1]) for p in box]
            text_mask[max(0, min(ys)): max(ys), max(0, min(xs)): max(xs)] = True
        text_share = float((ink & text_mask).sum() / max(1, ink.sum()))
        return {**self._decide(entropy, numbers, len(boxes), text_share), "ocr_lines": [b[1] for b in boxes]}

    @staticmethod
    def _decide(entropy: float, numbers: int, lines: int, text_share: float) -> dict:
        if entropy >= 3.5:
            return _d("REJECT", "micrograph_or_tissue", f"photograph-like colour distribution (entropy {entropy:.2f} bits)",
                      min(0.95, 0.6 + (entropy - 3.5) / 5))
        if numbers >= 3:
            return _d("REJECT", "data_plot", f"{numbers} numeric tick-like labels found by OCR", min(0.95, 0.6 + numbers / 20))
        if lines >= 3 and text_share >= 0.8:
            return _d("REJECT", "text_legend_or_icon", f"{text_share:.0%} of the ink is text ({lines} text lines)",
                      min(0.95, text_share))
        borderline = entropy >= 2.8 or numbers == 2 or text_share >= 0.6
        return _d("KEEP", "schematic", f"drawn shapes with few text lines (entropy {entropy:.2f}, text share {text_share:.0%})",
                  0.6 if borderline else 0.8)


def _d(decision: str, category: str, reason: str, confidence: float) -> dict:
    return {"decision": decision, "category": category, "reason": reason, "confidence": round(confidence, 3)}


def _is_number(text: str) -> bool:
    t = text.strip().replace(",", ".").replace("−", "-")
    try:
        float(t)
        return True
    except ValueError:
        return False

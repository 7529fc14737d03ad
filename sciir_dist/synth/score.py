"""Scoring ingest output against a synth manifest: panel detection F1 at an
IoU threshold (per layout type) and sub-caption letter agreement."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sciir_dist.split.geometry import iou


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else 1.0


def match(pred: list[list[int]], truth: list[list[int]], thr: float) -> int:
    """Greedy one-to-one matching by IoU; returns true positives."""
    pairs = sorted(((iou(tuple(p), tuple(t)), i, j) for i, p in enumerate(pred) for j, t in enumerate(truth)), reverse=True)
    used_p, used_t, tp = set(), set(), 0
    for v, i, j in pairs:
        if v < thr:
            break
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            tp += 1
    return tp


def panel_detection(manifest: dict, detected: dict[str, list[list[int]]], thr: float = 0.9) -> dict[str, Counts]:
    """``detected``: figure_id -> boxes found (before geometric filtering).
    Only figures the manifest expects to be ingested are scored."""
    out: dict[str, Counts] = defaultdict(Counts)
    for fig in manifest["figures"]:
        if fig["expected"] != "ingest":
            continue
        truth = [p["bbox"] for p in fig["panels"]]
        pred = detected.get(fig["figure_id"], [])
        tp = match(pred, truth, thr)
        for key in (fig["layout"], "all"):
            c = out[key]
            c.tp += tp
            c.fp += len(pred) - tp
            c.fn += len(truth) - tp
    return dict(out)


def letter_agreement(manifest: dict, panels: list[dict]) -> tuple[int, int]:
    """(matching, total) panel letters and sub-captions for ingested figures,
    comparing by panel index."""
    by_id = {p["panel_id"]: p for p in panels}
    ok = total = 0
    for fig in manifest["figures"]:
        if fig["expected"] != "ingest":
            continue
        for i, truth in enumerate(fig["panels"]):
            if truth.get("expected_reject"):
                continue
            total += 1
            got = by_id.get(f"{fig['figure_id']}.p{i}")
            if got and got["panel_letter"] == truth["letter"] and (
                truth["letter"] is None or got["sub_caption"] == truth["sub_caption"]
            ):
                ok += 1
    return ok, total

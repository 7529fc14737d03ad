"""`sciir split eval`: score a splitter against labelled figures.

Labelled figures come from a COCO detection file (a folder of images plus
``annotations.json``-style boxes, optionally with a ``layout`` tag and a
``caption`` per image and a ``letter`` per box) or from the manifest that
`sciir synth` writes beside its packages. Boxes are scored as ingest stores
them; as ingest stores a lone panel as covering the whole figure (SPEC §3),
a figure labelled with one panel counts as one panel covering the figure,
whatever its labelled box (the question there is only whether the splitter
kept it whole). Matching is one-to-one and maximises the number of pairs at or above
the IoU threshold (Hungarian assignment), so it does not depend on the
order boxes are listed in.
"""

from __future__ import annotations

import io
import json
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image

from sciir_dist.split import Splitter
from sciir_dist.split.geometry import Box, iou

THRESHOLDS = (0.5, 0.9)


@dataclass
class LabelledFigure:
    key: str
    layout: str | None
    truth: list[Box]
    load: Callable[[], Image.Image]
    caption: str | None = None
    #: per true box, the letter drawn on it (None: no letter); empty when unknown
    letters: list[str | None] = field(default_factory=list)
    #: per true box, the caption text that belongs to it (None for all: the
    #: caption's markers name no panels or do not match them); empty when unknown
    sub_captions: list[str | None] = field(default_factory=list)
    #: where the source set the caption in bold (panel letters often are)
    bold: tuple[tuple[int, int], ...] = ()


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: "Counts") -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else 1.0

    def as_dict(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


def match(pred: list[Box], truth: list[Box], thr: float) -> list[tuple[int, int]]:
    """(pred index, truth index) pairs with IoU >= thr, as many as possible."""
    from scipy.optimize import linear_sum_assignment

    if not pred or not truth:
        return []
    m = np.array([[iou(p, t) for t in truth] for p in pred])
    ok = m >= thr
    # maximise the number of pairs first, their IoU second
    rows, cols = linear_sum_assignment(-(ok * (1.0 + m)))
    return [(int(r), int(c)) for r, c in zip(rows, cols) if ok[r, c]]


def counts(pred: list[Box], truth: list[Box], thr: float) -> Counts:
    tp = len(match(pred, truth, thr))
    return Counts(tp, len(pred) - tp, len(truth) - tp)


@dataclass
class FigureResult:
    key: str
    layout: str | None
    truth: list[Box]
    pred: list[Box]
    seconds: float
    #: true panels whose matched prediction got their letter and sub-caption right, and how many
    captions_ok: int = 0
    captions_total: int = 0

    def f1(self, thr: float = 0.9) -> float:
        return counts(self.pred, self.truth, thr).f1


@dataclass
class Report:
    splitter: str
    figures: int
    panels_true: int
    panels_pred: int
    overall: dict[str, dict]
    by_layout: dict[str, dict[str, dict]]
    captions: dict | None
    seconds: float
    panels_per_second: float
    worst: list[dict]
    #: every figure's true and predicted boxes, to check or re-score elsewhere
    per_figure: list[dict]

    def as_dict(self) -> dict:
        return asdict(self)


def evaluate(figures: list[LabelledFigure], splitter: Splitter, *, worst: int = 12) -> tuple[Report, list[FigureResult]]:
    """Split every figure as ingest does (pipeline.split_figure) and score it."""
    from sciir_dist.ingest.pipeline import split_figure

    results: list[FigureResult] = []
    for fig in figures:
        img = fig.load()
        t0 = time.perf_counter()
        panels = split_figure(img, splitter, fig.caption, fig.bold)
        pred = [b for b, _, _ in panels]
        truth = [(0, 0, img.width, img.height)] if len(fig.truth) == 1 else fig.truth
        res = FigureResult(fig.key, fig.layout, truth, pred, time.perf_counter() - t0)
        if fig.sub_captions and fig.caption is not None:
            res.captions_ok, res.captions_total = _caption_score(fig, panels, match(pred, truth, 0.5))
        results.append(res)
    return summarise(results, splitter.name, worst), results


def _caption_score(fig: LabelledFigure, panels: list[tuple[Box, str | None, str | None]],
                   pairs: list[tuple[int, int]]) -> tuple[int, int]:
    """(right, total) panel letters and sub-captions. Where the labels give
    each panel its text, a panel must get that text and its drawn letter;
    where they give none (markers that name no panels or do not match), it
    must keep the whole caption and no letter."""
    whole = not any(fig.sub_captions)
    got = {t: panels[p] for p, t in pairs}
    ok = 0
    for t, sub in enumerate(fig.sub_captions):
        if t not in got:
            continue
        _, letter, text = got[t]
        if whole:
            ok += letter is None and _norm(text) == _norm(fig.caption)
        else:
            drawn = fig.letters[t] if t < len(fig.letters) else None
            ok += _norm(text) == _norm(sub) and (drawn is None or letter == drawn)
    return ok, len(fig.sub_captions)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).strip(" ;,.")


def summarise(results: list[FigureResult], name: str, worst: int = 12) -> Report:
    overall = {f"iou{t}": Counts() for t in THRESHOLDS}
    layouts: dict[str, dict[str, Counts]] = defaultdict(lambda: {f"iou{t}": Counts() for t in THRESHOLDS})
    for r in results:
        for t in THRESHOLDS:
            c = counts(r.pred, r.truth, t)
            overall[f"iou{t}"].add(c)
            if r.layout:
                layouts[r.layout][f"iou{t}"].add(c)
    cap_total = sum(r.captions_total for r in results)
    seconds = sum(r.seconds for r in results)
    n_pred = sum(len(r.pred) for r in results)
    ranked = sorted(results, key=lambda r: (r.f1(), r.key))[:worst]
    return Report(
        splitter=name,
        figures=len(results),
        panels_true=sum(len(r.truth) for r in results),
        panels_pred=n_pred,
        overall={k: v.as_dict() for k, v in overall.items()},
        by_layout={k: {t: c.as_dict() for t, c in v.items()} for k, v in sorted(layouts.items())},
        captions={"ok": sum(r.captions_ok for r in results), "total": cap_total,
                  "accuracy": round(sum(r.captions_ok for r in results) / cap_total, 4)} if cap_total else None,
        seconds=round(seconds, 3),
        panels_per_second=round(n_pred / seconds, 2) if seconds else 0.0,
        worst=[_row(r) for r in ranked if r.f1() < 1.0],
        per_figure=[_row(r) for r in results],
    )


def _row(r: FigureResult) -> dict:
    return {"key": r.key, "layout": r.layout, "f1_iou0.9": round(r.f1(), 4), "truth": [list(b) for b in r.truth],
            "pred": [list(b) for b in r.pred]}


# -- labelled sets ---------------------------------------------------------------
def load_labelled(path: str | Path, images: str | Path | None = None) -> list[LabelledFigure]:
    """A COCO file, a folder holding ``annotations.json``, or a `sciir synth`
    corpus (a folder holding ``manifest.json``)."""
    p = Path(path)
    if p.is_dir() and (p / "manifest.json").exists():
        return load_synth(p)
    if p.is_dir():
        p = p / "annotations.json"
    if not p.exists():
        raise FileNotFoundError(f"{path}: neither a COCO JSON file nor a folder with annotations.json or manifest.json")
    return load_coco(p, images)


def load_coco(json_path: Path, images: str | Path | None = None) -> list[LabelledFigure]:
    data = json.loads(Path(json_path).read_text())
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise ValueError(f"{json_path}: not a COCO detection file (needs 'images' and 'annotations')")
    base = Path(images) if images else Path(json_path).parent
    by_image: dict = defaultdict(list)
    for a in data["annotations"]:
        by_image[a["image_id"]].append(a)
    out = []
    for im in data["images"]:
        anns = by_image.get(im["id"], [])
        truth = [_xywh(a["bbox"]) for a in anns]
        file = _find_image(base, im["file_name"])
        tags = im.get("tags")
        layout = im.get("layout") or (tags[0] if isinstance(tags, list) and tags else None)
        letters = [a.get("letter") for a in anns] if any("letter" in a for a in anns) else []
        subs = [a.get("sub_caption") for a in anns] if any("sub_caption" in a for a in anns) else []
        out.append(LabelledFigure(im["file_name"], layout, truth, _opener(file), im.get("caption"), letters, subs))
    return out


def _xywh(b: list[float]) -> Box:
    x, y, w, h = b
    return (int(round(x)), int(round(y)), int(round(x + w)), int(round(y + h)))


def _find_image(base: Path, name: str) -> Path:
    for cand in (base / name, base / "images" / name):
        if cand.exists():
            return cand
    raise FileNotFoundError(f"image {name!r} not found under {base} or {base / 'images'}")


def _opener(path: Path) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        from sciir_dist.ingest.images import decode

        return decode(path.read_bytes())

    return load


def load_synth(corpus: Path) -> list[LabelledFigure]:
    """Figures of a `sciir synth` corpus that its manifest expects ingested,
    read through the ingest readers (so captions are what ingest sees)."""
    from sciir_dist.ingest.images import decode
    from sciir_dist.ingest.model import figure_id_for
    from sciir_dist.ingest.packages import discover
    from sciir_dist.ingest.pipeline import IngestOptions, read_source

    manifest = json.loads((corpus / "manifest.json").read_text())
    wanted = {f["figure_id"]: f for f in manifest["figures"] if f["expected"] == "ingest"}
    out = []
    for src in discover([str(corpus)]):
        files, articles = read_source(src, IngestOptions())
        for art in articles:
            for ref in art.figures:
                fig = wanted.get(figure_id_for(art.article_id, ref.xml_id))
                name = files.resolve(ref.href) if ref.href else None
                if fig is None or name is None:
                    continue
                data = files.read(name)
                out.append(LabelledFigure(
                    fig["figure_id"], fig["layout"], [tuple(p["bbox"]) for p in fig["panels"]],  # type: ignore[misc]
                    lambda data=data: decode(data), ref.caption, [p.get("letter") for p in fig["panels"]],
                    [p.get("sub_caption") if p.get("letter") else None for p in fig["panels"]], ref.bold))
    return sorted(out, key=lambda f: f.key)


# -- contact sheet -----------------------------------------------------------------
def contact_sheet(results: list[FigureResult], figures: list[LabelledFigure], path: str | Path, n: int = 12,
                  cell: int = 360) -> Path | None:
    """A PNG of the n worst figures: true boxes green, predicted boxes red."""
    from PIL import ImageDraw

    by_key = {f.key: f for f in figures}
    ranked = [r for r in sorted(results, key=lambda r: (r.f1(), r.key)) if r.f1() < 1.0][:n]
    if not ranked:
        return None
    cols = min(4, len(ranked))
    rows = (len(ranked) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * cell, rows * (cell + 18)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, r in enumerate(ranked):
        img = by_key[r.key].load().convert("RGB")
        scale = min(cell / img.width, cell / img.height)
        thumb = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))))
        d = ImageDraw.Draw(thumb)
        for boxes, colour, wdt in ((r.truth, (0, 170, 0), 3), (r.pred, (220, 0, 0), 1)):
            for b in boxes:
                d.rectangle([b[0] * scale, b[1] * scale, b[2] * scale - 1, b[3] * scale - 1], outline=colour, width=wdt)
        x, y = (i % cols) * cell, (i // cols) * (cell + 18)
        sheet.paste(thumb, (x, y + 18))
        draw.text((x + 2, y + 2), f"{r.key[-38:]} [{r.layout}] F1@0.9={r.f1():.2f}", fill="black")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    Path(path).write_bytes(buf.getvalue())
    return Path(path)


def iter_rows(report: Report) -> Iterator[tuple[str, str, dict]]:
    """(layout, threshold, counts) rows for printing, 'all' first."""
    for t, c in report.overall.items():
        yield "all", t, c
    for layout, by_t in report.by_layout.items():
        for t, c in by_t.items():
            yield layout, t, c

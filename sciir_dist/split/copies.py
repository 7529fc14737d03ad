"""Re-encoded copies of figures and the two scores taken on them: does a copy
split into the same panels, and does dedup put each copy of a panel in the
cluster of its original? A corpus gathered from many publishers holds the
same figure re-scaled, re-compressed and re-toned; dedup can only match such
copies panel by panel when they split alike and hash alike.

`sciir split eval --copies N` reports them for a user's labelled figures;
tests/test_split_quality.py (floors) and benches/split_quality.py measure the
same on the independent generators' figures. A split is given as a function
from a PIL image to panel boxes in its pixels (:func:`ingest_split`: a
splitter as ingest runs it)."""

from __future__ import annotations

import hashlib
import io
from typing import Callable

import numpy as np
from PIL import Image, ImageEnhance

from sciir_dist.split import Splitter

Box = tuple[float, float, float, float]
Split = Callable[[Image.Image], list[Box]]

#: a copy's box is the same panel as the original's at this IoU, mapped back to the original's pixels
SAME_PANEL_IOU = 0.85


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


COPIES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "scale0.5": lambda im: im.resize((im.width // 2, im.height // 2), Image.LANCZOS),
    "scale0.85": lambda im: _jpeg(im.resize((int(im.width * 0.85), int(im.height * 0.85)), Image.LANCZOS), 90),
    "jpeg60": lambda im: _jpeg(im, 60),
    "jpeg95": lambda im: _jpeg(im, 95),
    "brighter": lambda im: ImageEnhance.Brightness(im).enhance(1.05),
}
#: the copies dedup must match (issue 10: exact, re-scaled and brightened)
DEDUP_COPIES = {"exact": lambda im: im.copy(), "scaled": COPIES["scale0.85"], "bright": COPIES["brighter"]}


def sample(figures: list, n: int) -> list[Image.Image]:
    """``n`` multi-panel figures (labelled figures of a generated set) spread over the set, as RGB images."""
    multi = [f for f in figures if len(f.truth) > 1]
    return [f.load().convert("RGB") for f in multi[:: max(1, len(multi) // n)][:n]]


def ingest_split(splitter: Splitter | None = None) -> Split:
    """``splitter`` (default: the default splitter) as ingest runs it, without a caption."""
    from sciir_dist.ingest.pipeline import split_figure
    from sciir_dist.split import SplitterConfig, make_splitter

    splitter = splitter or make_splitter(SplitterConfig())
    return lambda img: [b for b, _, _ in split_figure(img, splitter, None)]


def copies_report(figures: list, split: Split, n: int) -> dict:
    """Both scores on copies of ``n`` multi-panel figures of a labelled set
    (none: nothing to score, rather than zeros)."""
    images = sample(figures, n)
    if not images:
        return {"figures": 0, "stability": {}, "dedup": None}
    recall, precision = dedup_of_copies(images, split)
    return {"figures": len(images), "stability": stability(images, split),
            "dedup": {"recall": recall, "precision": precision}}


def _mapped_back(split: Split, copy: Image.Image, original: Image.Image) -> list[tuple[Box, Box]]:
    """(box in the copy, the same box in the original's pixels) per panel of the copy."""
    sx, sy = original.width / copy.width, original.height / copy.height
    return [(b, (b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy)) for b in split(copy)]


def stability(images: list[Image.Image], split: Split) -> dict[str, float]:
    """Per kind of copy, the share of figures whose copy splits into as many
    panels as the original, each matching one of the original's (one to one)."""
    from sciir_dist.split.evaluate import match

    same = dict.fromkeys(COPIES, 0)
    for img in images:
        base = split(img)
        for name, make in COPIES.items():
            got = [back for _, back in _mapped_back(split, make(img), img)]
            same[name] += len(got) == len(base) and len(match(got, base, SAME_PANEL_IOU)) == len(base)
    return {k: v / max(1, len(images)) for k, v in same.items()}


def dedup_of_copies(images: list[Image.Image], split: Split) -> tuple[float, float]:
    """(recall, precision) over pairs of panels of the dedup stage's clusters
    when every figure comes with an exact, a re-scaled (+JPEG) and a
    brightened copy, each split, standardized and hashed as the pipeline
    does. Two panels are the same when they are copies of one figure and
    their boxes match; a copy's panel that matches none of the original's is
    a panel of its own."""
    from sciir_dist.ingest.standardize import StandardizeOptions, standardize
    from sciir_dist.split.geometry import iou
    from sciir_dist.stages.dedup import clusters
    from sciir_dist.stages.hash import panel_hashes

    ids, sha, ph, dh, pixels, origin = [], [], [], [], [], []
    for f, img in enumerate(images):
        base = split(img)
        for name, copy in [("orig", img)] + [(n, make(img)) for n, make in DEDUP_COPIES.items()]:
            for i, (box, back) in enumerate(_mapped_back(split, copy, img)):
                true = max(range(len(base)), key=lambda j: iou(back, base[j]), default=None)
                same = true is not None and iou(back, base[true]) >= SAME_PANEL_IOU
                w, h = int(box[2] - box[0]), int(box[3] - box[1])
                png = standardize(copy.crop(tuple(int(v) for v in box)), StandardizeOptions()).png
                hashed = panel_hashes(png, (w, h))
                ids.append(f"f{f}.{name}.p{i}")
                sha.append(hashlib.sha256(png).hexdigest())
                ph.append((hashed["phash"], hashed["phash_ink"]))
                dh.append((hashed["dhash"], hashed["dhash_ink"]))
                pixels.append(w * h)
                origin.append(f"{f}.{true}" if same else f"{f}.{name}.{i}")
    table = clusters(ids, sha, np.array(ph, np.uint64), np.array(pixels), dhash=np.array(dh, np.uint64))
    cluster = np.array(table.column("dup_cluster").to_pylist(), dtype=object)  # a row per id, in order
    same_origin = np.array(origin, dtype=object)
    a, b = np.triu_indices(len(ids), 1)
    truth, found = same_origin[a] == same_origin[b], cluster[a] == cluster[b]
    both = int(np.count_nonzero(truth & found))
    return both / max(1, int(truth.sum())), both / max(1, int(found.sum()))

"""`hash`: exact-duplicate key (sha256 of the standardized PNG) and 64-bit
perceptual hashes per panel (imagehash): the DCT pHash that `dedup` searches
with and the gradient dHash that confirms its candidates, each over two
regions of the panel.

A copy of a figure (re-scaled, re-compressed, brightened) is split again, and
its panel boxes rarely land on the same pixels as the original's. Two kinds
of difference move a whole-crop hash past k = 6:
- a box a pixel or two off on a side puts a sliver of gutter or frame in or
  out, which weighs on the low frequencies: the *interior* (the panel's
  content, not the 1024x1024 canvas it was centred on, less 5 % on each side)
  leaves those slivers out;
- a box that takes a pale tint or a wide margin in one copy and not the other
  (a 5 % brighter copy clips a tint of 245 to page white): the *ink box* (the
  content trimmed to what differs from its border colour) is the same in both.
On re-encoded copies of figures from the independent generators (pil, cv,
vega, seed 11, 40 figures each), matched panels were within k on both hashes
for 0.81-0.86 of 0.85x + JPEG copies and 0.87-0.92 of brightened ones when
hashed over the whole content; over either region, 0.92-0.96 and 0.94-1.0
(each region alone lost on one generator what it won on another). With the
crop error removed (the copy cut at the original's box) it was 0.98-0.99:
the misses are the boxes, not the re-encoding."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
from PIL import Image, UnidentifiedImageError

from schemas.tables import PANEL_HASHES
from sciir_dist.ingest.errors import describe
from sciir_dist.ingest.standardize import target_size
from sciir_dist.sql import eq
from sciir_dist.stages.base import Resources, Stage, StageResult
from sciir_dist.stages.registry import register


def _bits(h) -> int:
    return int("".join("1" if b else "0" for b in h.hash.flatten()), 2)


#: what the hashes cover; rows hashed otherwise are redone
REGION = "interior+ink"
#: share of each side left out of the interior
INTERIOR_MARGIN = 0.05
#: grey levels from the content's border colour that count as ink (above JPEG ringing, below a plotted line)
INK_TOLERANCE = 24


def panel_hashes(png: bytes, source_size: tuple[int, int] | None = None) -> dict[str, int]:
    """The ``panel_hashes`` columns of a standardized panel: pHash and dHash of
    its interior and of its ink box, both within the part of the canvas its
    source (``source_size`` = width, height in source pixels) was scaled into
    (the whole image when the size is unknown)."""
    img = Image.open(io.BytesIO(png))
    img.load()
    if source_size and all(source_size):
        img = img.crop(content_box(img.size, source_size))
    ph, dh = _hashes(_interior(img))
    ph_ink, dh_ink = _hashes(img.crop(ink_box(img)))
    return {"phash": ph, "dhash": dh, "phash_ink": ph_ink, "dhash_ink": dh_ink}


def _hashes(img: Image.Image) -> tuple[int, int]:
    import imagehash

    return _bits(imagehash.phash(img)), _bits(imagehash.dhash(img))


def _interior(img: Image.Image) -> Image.Image:
    mx, my = int(img.width * INTERIOR_MARGIN), int(img.height * INTERIOR_MARGIN)
    return img.crop((mx, my, img.width - mx, img.height - my)) if img.width > 2 * mx and img.height > 2 * my else img


def ink_box(img: Image.Image) -> tuple[int, int, int, int]:
    """The box of pixels more than ``INK_TOLERANCE`` grey levels from the
    median of the image's border (the whole image when none are)."""
    grey = np.asarray(img.convert("L"), np.int16)
    border = np.median(np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]]))
    ink = np.abs(grey - border) > INK_TOLERANCE
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return 0, 0, img.width, img.height
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def content_box(canvas: tuple[int, int], source_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where ``standardize`` placed a source of that size on the canvas."""
    cw, ch = canvas
    w, h = target_size(*source_size, size=min(cw, ch))
    x0, y0 = (cw - w) // 2, (ch - h) // 2
    return x0, y0, x0 + max(1, w), y0 + max(1, h)


@register
class HashStage(Stage):
    name = "hash"
    output_table = "panel_hashes"
    inputs = ("panel_id", "sha256", "source_width", "source_height", "image")
    resources = Resources(num_cpus=1, batch_size=128)

    def done_filter(self) -> str | None:
        return eq("hash_region", REGION)

    def process(self, batch: pa.Table) -> StageResult:
        rows, rejects = [], []
        sizes = zip(batch["source_width"].to_pylist(), batch["source_height"].to_pylist())
        for pid, sha, png, size in zip(batch["panel_id"].to_pylist(), batch["sha256"].to_pylist(),
                                       batch["image"].to_pylist(), sizes):
            try:
                rows.append({"panel_id": pid, "sha256": sha, **panel_hashes(png, size), "hash_region": REGION})
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                rejects.append((pid, "unreadable_panel", describe(exc)))
        return StageResult(pa.Table.from_pylist(rows, schema=PANEL_HASHES), rejects)

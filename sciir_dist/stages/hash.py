"""`hash`: exact-duplicate key (sha256 of the standardized PNG) and two
64-bit perceptual hashes per panel (imagehash): the DCT pHash that `dedup`
searches with, and the gradient dHash that confirms its candidates.

The perceptual hashes cover the panel's content, not the 1024x1024 canvas
it was centred on: two splits of one panel a few pixels apart have slightly
different aspect ratios, which moves the letterbox bands and with them the
low frequencies of the whole canvas. On re-encoded copies of figures drawn
by an independent generator (skia, seed 101, 791 panel pairs split alike)
content hashes within k = 6 on both matched 90.5 % of copies, canvas hashes
86.5 %, with the same one false pair among 23,220 distinct ones."""

from __future__ import annotations

import io

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


#: what ``phash``/``dhash`` cover; rows hashed otherwise are redone
REGION = "content"


def hashes64(png: bytes, source_size: tuple[int, int] | None = None) -> tuple[int, int]:
    """(pHash, dHash) of a standardized panel: of the part of the canvas its
    source (``source_size`` = width, height in source pixels) was scaled
    into, the whole image when the size is unknown."""
    import imagehash

    img = Image.open(io.BytesIO(png))
    img.load()
    if source_size and all(source_size):
        img = img.crop(content_box(img.size, source_size))
    return _bits(imagehash.phash(img)), _bits(imagehash.dhash(img))


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
                ph, dh = hashes64(png, size)
                rows.append({"panel_id": pid, "sha256": sha, "phash": ph, "dhash": dh, "hash_region": REGION})
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                rejects.append((pid, "unreadable_panel", describe(exc)))
        return StageResult(pa.Table.from_pylist(rows, schema=PANEL_HASHES), rejects)

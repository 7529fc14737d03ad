"""`hash`: exact-duplicate key (sha256 of the standardized PNG) and two
64-bit perceptual hashes per panel (imagehash): the DCT pHash that `dedup`
searches with, and the gradient dHash that confirms its candidates."""

from __future__ import annotations

import io

import pyarrow as pa
from PIL import Image, UnidentifiedImageError

from schemas.tables import PANEL_HASHES
from sciir_dist.stages.base import Resources, Stage, StageResult


def _bits(h) -> int:
    return int("".join("1" if b else "0" for b in h.hash.flatten()), 2)


def hashes64(png: bytes) -> tuple[int, int]:
    """(pHash, dHash) of a panel image."""
    import imagehash

    img = Image.open(io.BytesIO(png))
    img.load()
    return _bits(imagehash.phash(img)), _bits(imagehash.dhash(img))


class HashStage(Stage):
    name = "hash"
    output_table = "panel_hashes"
    inputs = ("panel_id", "sha256", "image")
    resources = Resources(num_cpus=1, batch_size=128)

    def process(self, batch: pa.Table) -> StageResult:
        rows, rejects = [], []
        for pid, sha, png in zip(batch["panel_id"].to_pylist(), batch["sha256"].to_pylist(), batch["image"].to_pylist()):
            try:
                ph, dh = hashes64(png)
                rows.append({"panel_id": pid, "sha256": sha, "phash": ph, "dhash": dh})
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                rejects.append((pid, "unreadable_panel", f"{type(exc).__name__}: {exc}"))
        return StageResult(pa.Table.from_pylist(rows, schema=PANEL_HASHES), rejects)

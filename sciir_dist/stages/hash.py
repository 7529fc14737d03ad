"""`hash`: exact-duplicate key (sha256 of the standardized PNG) and a 64-bit
perceptual hash (DCT pHash, imagehash) per panel, for near-duplicate search
in `dedup`."""

from __future__ import annotations

import io

import pyarrow as pa
from PIL import Image, UnidentifiedImageError

from schemas.tables import PANEL_HASHES
from sciir_dist.stages.base import Resources, Stage, StageResult


def phash64(png: bytes) -> int:
    import imagehash

    bits = imagehash.phash(Image.open(io.BytesIO(png))).hash.flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


class HashStage(Stage):
    name = "hash"
    output_table = "panel_hashes"
    inputs = ("panel_id", "sha256", "image")
    resources = Resources(num_cpus=1, batch_size=128)

    def process(self, batch: pa.Table) -> StageResult:
        rows, rejects = [], []
        for pid, sha, png in zip(batch["panel_id"].to_pylist(), batch["sha256"].to_pylist(), batch["image"].to_pylist()):
            try:
                rows.append({"panel_id": pid, "sha256": sha, "phash": phash64(png)})
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                rejects.append((pid, "unreadable_panel", f"{type(exc).__name__}: {exc}"))
        return StageResult(pa.Table.from_pylist(rows, schema=PANEL_HASHES), rejects)

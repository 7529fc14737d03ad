"""OCR text lines of a panel with the bundled PP-OCR model, shared by the
offline heuristics (filter, classify, annotate)."""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image


@functools.lru_cache(maxsize=1)
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def read_boxes(rgb: np.ndarray) -> list[tuple[list, str, float]]:
    """(box corners, text, score) per detected line, at full resolution
    (tick labels and callouts are small)."""
    found, _ = _engine()(rgb)
    return list(found or [])


def read_lines(png: bytes) -> list[str]:
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return [text for _box, text, _score in read_boxes(rgb)]

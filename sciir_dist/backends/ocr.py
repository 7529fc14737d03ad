"""The bundled PP-OCR model (rapidocr-onnxruntime): text lines of a panel
for the offline heuristics (filter, classify, annotate, the OCR judge), and
glyph reading for panel letters."""

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


@functools.lru_cache(maxsize=1)
def _glyph_recogniser():
    """The recognition model alone, padding crops to a narrow width: single
    glyphs cost a fifth of what the line width (320 px) would."""
    import copy

    rec = copy.copy(_engine().text_rec)  # shares the ONNX session
    rec.rec_image_shape = [3, 48, 64]
    rec.rec_batch_num = 32
    return rec


def recognise(crops: list[np.ndarray]) -> list[tuple[str, float]]:
    """(text, confidence) of small RGB crops holding a word or a glyph, read
    without text detection."""
    if not crops:
        return []
    results, _ = _glyph_recogniser()([np.ascontiguousarray(c[:, :, ::-1]) for c in crops])
    return [(str(t), float(s)) for t, s in results]

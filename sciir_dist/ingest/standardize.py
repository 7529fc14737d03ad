"""1024x1024 standardization exactly as SPEC §3 states it.

scale r = min(1024/w, 1024/h) to (int(w*r), int(h*r)) with Lanczos, paste
centred at ((1024-w')//2, (1024-h')//2) on a fill colour taken from the
source edges that need extending (top+bottom rows when the width fills
1024, left+right columns when the height does, all four otherwise): the
most common edge colour when it is >= 55 % of the sampled edge pixels, else
the per-channel integer mean. Transparent pixels are composited over the
fill colour. Output: PNG bytes.

Speed: downscaling uses Pillow's ``reducing_gap`` (a box pre-reduction for
large downscales, then true Lanczos), enlarging uses OpenCV's Lanczos, and
the PNG is written by ``ingest.png`` (fixed filter, zlib level 1);
benches/standardize.py measures all of it against the plain rule and reports
PSNR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from sciir_dist.ingest.png import encode_rgb

SIZE = 1024
DOMINANCE = 0.55


@dataclass(frozen=True)
class StandardizeOptions:
    size: int = SIZE
    #: Pillow reducing_gap; None = plain Lanczos over the full image.
    reducing_gap: float | None = 3.0
    png_compress_level: int = 1
    #: enlarge with OpenCV's Lanczos kernel instead of Pillow's
    fast_upscale: bool = True


def target_size(w: int, h: int, size: int = SIZE) -> tuple[int, int]:
    r = min(size / w, size / h)
    return int(w * r), int(h * r)


def edge_pixels(rgba: np.ndarray, new_w: int, new_h: int, size: int = SIZE) -> np.ndarray:
    """The source edge pixels that decide the fill colour, as an (N, C) array.
    Edges are concatenated (corners counted once per edge they lie on)."""
    if new_w == size:
        parts = [rgba[0, :], rgba[-1, :]]
    elif new_h == size:
        parts = [rgba[:, 0], rgba[:, -1]]
    else:
        parts = [rgba[0, :], rgba[-1, :], rgba[:, 0], rgba[:, -1]]
    return np.concatenate(parts, axis=0)


def fill_color(edges: np.ndarray) -> tuple[int, int, int]:
    """Most common colour if dominant (>= 55 %), else per-channel integer mean.

    For images with alpha only visible edge pixels (alpha >= 128) vote: the
    colour under a transparent pixel is arbitrary. All transparent -> white.
    """
    if edges.shape[1] == 4:
        edges = edges[edges[:, 3] >= 128][:, :3]
        if len(edges) == 0:
            return (255, 255, 255)
    edges = np.ascontiguousarray(edges[:, :3], dtype=np.uint8)
    packed = (edges[:, 0].astype(np.uint32) << 16) | (edges[:, 1].astype(np.uint32) << 8) | edges[:, 2]
    values, counts = np.unique(packed, return_counts=True)
    top = int(np.argmax(counts))
    if counts[top] >= DOMINANCE * len(packed):
        v = int(values[top])
        return ((v >> 16) & 255, (v >> 8) & 255, v & 255)
    sums = edges.astype(np.int64).sum(axis=0)
    return tuple(int(s) // len(edges) for s in sums)  # type: ignore[return-value]


@dataclass(frozen=True)
class Standardized:
    png: bytes
    fill: tuple[int, int, int]
    size: tuple[int, int]  # (w', h') of the scaled content


def standardize(img: Image.Image, opts: StandardizeOptions = StandardizeOptions()) -> Standardized:
    """``img`` must be RGB or RGBA (see images.decode)."""
    w, h = img.size
    new_w, new_h = target_size(w, h, opts.size)
    arr = np.asarray(img)
    fill = fill_color(edge_pixels(arr, new_w, new_h, opts.size))
    if img.mode == "RGBA":
        base = Image.new("RGB", img.size, fill)
        base.paste(img, mask=img.getchannel("A"))
        img = base
    if new_w > w and opts.fast_upscale:
        # OpenCV's Lanczos is ~1.6x faster than Pillow's for enlargement (no
        # antialiasing is needed when enlarging); PSNR vs Pillow is reported by
        # benches/standardize.py
        import cv2

        cv2.setNumThreads(1)  # parallelism comes from the engine (one task per core)
        img = Image.fromarray(cv2.resize(np.asarray(img), (new_w, new_h), interpolation=cv2.INTER_LANCZOS4))
    elif (new_w, new_h) != (w, h):
        img = img.resize((max(new_w, 1), max(new_h, 1)), Image.Resampling.LANCZOS, reducing_gap=opts.reducing_gap)
    canvas = np.empty((opts.size, opts.size, 3), np.uint8)
    canvas[:] = fill
    x0, y0 = (opts.size - new_w) // 2, (opts.size - new_h) // 2
    canvas[y0 : y0 + new_h, x0 : x0 + new_w] = np.asarray(img)
    return Standardized(encode_rgb(canvas, opts.png_compress_level), fill, (new_w, new_h))

"""Standardization against an independent, plain-PIL implementation of the
SPEC §3 rule (written from the spec text, not from our module)."""

from __future__ import annotations

import io
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from sciir_dist.ingest.images import decode
from sciir_dist.ingest.standardize import fill_color, standardize


def reference(img: Image.Image) -> tuple[Image.Image, tuple[int, int, int]]:
    w, h = img.size
    r = min(1024 / w, 1024 / h)
    nw, nh = int(w * r), int(h * r)
    rgba = np.asarray(img.convert("RGBA"))
    if nw == 1024:
        edges = [rgba[0, :], rgba[-1, :]]
    elif nh == 1024:
        edges = [rgba[:, 0], rgba[:, -1]]
    else:
        edges = [rgba[0, :], rgba[-1, :], rgba[:, 0], rgba[:, -1]]
    px = [tuple(p[:3]) for e in edges for p in e if p[3] >= 128]  # visible pixels vote
    if not px:
        fill = (255, 255, 255)
    else:
        colour, n = Counter(px).most_common(1)[0]
        if n >= 0.55 * len(px):
            fill = tuple(int(c) for c in colour)
        else:
            fill = tuple(sum(int(p[i]) for p in px) // len(px) for i in range(3))
    flat = Image.alpha_composite(Image.new("RGBA", img.size, fill + (255,)), img.convert("RGBA")).convert("RGB")
    scaled = flat.resize((nw, nh), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (1024, 1024), fill)
    canvas.paste(scaled, ((1024 - nw) // 2, (1024 - nh) // 2))
    return canvas, fill


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _scene(w: int, h: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    a = np.full((h, w, 3), 255, np.uint8)
    for _ in range(12):
        x0, y0 = rng.integers(0, w - 10), rng.integers(0, h - 10)
        a[y0 : y0 + rng.integers(5, h // 2), x0 : x0 + rng.integers(5, w // 2)] = rng.integers(0, 255, 3)
    return Image.fromarray(a)


CASES = [
    ("wide-png", lambda: _encode(_scene(1900, 700, 1), "PNG")),
    ("tall-jpeg", lambda: _encode(_scene(500, 1500, 2), "JPEG", quality=90)),
    ("small-upscale", lambda: _encode(_scene(200, 150, 3), "PNG")),
    ("square", lambda: _encode(_scene(800, 800, 4), "PNG")),
    ("huge-downscale", lambda: _encode(_scene(4000, 3000, 5), "PNG")),
    ("grey-L", lambda: _encode(_scene(600, 400, 6).convert("L"), "PNG")),
    ("cmyk-jpeg", lambda: _encode(_scene(640, 480, 7).convert("CMYK"), "JPEG")),
    ("palette-alpha", lambda: _encode(_palette_alpha(), "PNG")),
    ("rgba", lambda: _encode(_rgba(), "PNG")),
    ("la", lambda: _encode(_rgba().convert("LA"), "PNG")),
    ("16-bit", lambda: _encode(_sixteen(), "PNG")),
    ("exif-rotated", lambda: _exif_rotated()),
]


def _palette_alpha() -> Image.Image:
    img = _scene(500, 300, 8).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    img.info["transparency"] = 0
    return img


def _rgba() -> Image.Image:
    a = np.zeros((300, 520, 4), np.uint8)
    a[50:250, 60:460] = (200, 30, 30, 255)
    a[100:200, 100:300, 3] = 120  # half transparent
    return Image.fromarray(a, "RGBA")


def _sixteen() -> Image.Image:
    ramp = (np.linspace(0, 65535, 700, dtype=np.float64)[None, :] * np.ones((350, 1))).astype(np.uint16)
    return Image.fromarray(ramp)  # uint16 -> mode I;16


def _exif_rotated() -> bytes:
    img = _scene(700, 400, 9)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° CW on display
    return _encode(img, "JPEG", quality=92, exif=exif.tobytes())


@pytest.mark.parametrize("name,make", CASES, ids=[c[0] for c in CASES])
def test_matches_independent_implementation(name, make):
    data = make()
    img = decode(data)
    assert img.mode in ("RGB", "RGBA")
    ours = standardize(img)
    got = Image.open(io.BytesIO(ours.png))
    assert got.size == (1024, 1024) and got.mode == "RGB" and got.format == "PNG"
    ref, ref_fill = reference(img)
    assert ours.fill == ref_fill, name
    assert psnr(np.asarray(got), np.asarray(ref)) >= 40.0, name


def test_exif_orientation_is_applied():
    img = decode(_exif_rotated())
    assert img.size == (400, 700)  # the stored 700x400 landscape is displayed as portrait


def test_fill_dominant_colour_vs_mean():
    edges = np.array([[255, 0, 0]] * 56 + [[0, 0, 255]] * 44, np.uint8)
    assert fill_color(edges) == (255, 0, 0)  # 56 % >= 55 %: the most common colour
    edges = np.array([[255, 0, 0]] * 54 + [[0, 0, 255]] * 46, np.uint8)
    assert fill_color(edges) == (137, 0, 117)  # below 55 %: integer mean per channel


def test_edges_sampled_depend_on_which_side_fills():
    # wide image: width fills 1024, so only top+bottom rows decide the fill
    a = np.full((100, 400, 3), 255, np.uint8)
    a[:, 0] = a[:, -1] = (0, 0, 0)  # black left/right columns must not matter
    a[0, :] = a[-1, :] = (10, 200, 10)
    assert standardize(Image.fromarray(a)).fill == (10, 200, 10)
    tall = np.ascontiguousarray(np.transpose(a, (1, 0, 2)))  # height fills: left+right columns decide
    assert standardize(Image.fromarray(tall)).fill == (10, 200, 10)


@pytest.mark.parametrize("shape", [(1024, 1024), (7, 3), (1, 1)])
def test_png_writer_round_trips(shape):
    from sciir_dist.ingest.png import encode_rgb

    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    arr[: shape[0] // 2] = (12, 200, 40)  # flat rows, as panels have
    img = Image.open(io.BytesIO(encode_rgb(arr)))
    assert img.format == "PNG" and img.mode == "RGB"
    assert np.array_equal(np.asarray(img), arr)
    with pytest.raises(ValueError):
        encode_rgb(arr.astype(np.uint16))

"""Independent, journal-like multi-panel figure generator (skia-python) with exact panel boxes.

This module is a held-out grading set for a model-free panel splitter.  It was
written without looking at the project's splitter or at the other generators in
this package.  Every figure is drawn with skia (vector paths, gradients,
anti-aliased TrueType text from the fonts bundled with matplotlib, image
textures, blur filters); numpy builds small texture fields; Pillow only encodes
PNG / JPEG.

Public interface
----------------
``FAMILIES``                          layout-family tags (one ``layout`` tag per image)
``generate(out_dir, per_family, seed, families)``
                                      writes ``out_dir/images/*`` and ``out_dir/annotations.json``
                                      (COCO detection) and returns the JSON path; deterministic for a seed
``validate(json_path, families)``     structural checks, returns a summary dict (``ok``, ``errors`` ...)
``python -m tests.layoutgen.skia_sheets OUT_DIR --per-family N --seed S``

Ground-truth conventions
------------------------
* One box per panel, ``bbox = [x, y, w, h]`` in integer pixels, ``x + w`` and
  ``y + h`` exclusive.  Boxes are computed from what was drawn, before any
  JPEG compression, blur or resampling (those never move geometry).
* Panels with a surface -- a tint, a dark/saturated fill, a photo/micrograph /
  full-bleed image, a frame, or a cell of a ruled grid -- get the exact integer
  rectangle of that surface.  All such rectangles are drawn pixel-aligned
  without anti-aliasing.  Frame strokes lie *inside* the box; for a ruled grid
  the box is the white cell *inside* the rules (rule pixels belong to nobody).
* A panel drawn straight on the white page (no tint, no frame: plots, blots,
  schematics, tables, maps, chemistry ...) is rendered into its own transparent
  layer; its box is the tight bounding box of all pixels of that layer whose
  composite over white differs from white by at least ``INK_THRESHOLD`` (16/255)
  in some channel.  Its letter is drawn in the same layer, so a letter inside
  the panel area is part of the box.
* A letter placed outside a filled / framed / photo panel (in the gutter,
  above-left or left of it) is not part of any box; neither are separator
  lines, column / row headers of image arrays, or the page background.
* Single-panel figures have exactly one box (the content extent; for
  ``single_whitespace`` that extent deliberately contains big empty areas).
* Layout guarantees: boxes never overlap; white gutters next to plain (untinted,
  unframed) panels are at least ``max(12 px, 1.5 % of the larger image side)``;
  gutters / lines of 1-4 px occur only between filled panels that contrast with
  the gutter colour (dark lines between light fills, white / light-grey lines
  or gaps between dark, saturated or mid-tone photo panels); a plain panel
  never contains an empty band spanning its full width or height that is wider
  than half of the smallest gutter of its figure (checked on the drawn layer,
  the panel is redrawn with other content until it holds).
* ``letter`` is the drawn panel letter in lower case (``"a"`` for drawn "A",
  "(A)", "a." ...), or ``null``.  ``letters_in_image`` tells whether the figure
  carries letters.  Letters follow reading order (row-major through the layout
  tree) except for ~10 % of plain grids, which are lettered column-major.
  Annotations are listed in letter order (reading order when unlettered).
* ``sub_caption`` is the caption text after that panel's marker up to the next
  marker, trimmed, without the marker; text of a shared marker ("(a,b)",
  "(A-C)", "a-c,", "(a) and (b)") goes to every panel it names.  It is ``null``
  when the caption has no markers, or when its markers do not match the panels
  (~10 % of lettered figures get a wrong count or a skipped letter on purpose).

Families
--------
tinted_grid, saturated, framed, dark_lines, light_lines, jpeg_noise,
gutter_range, big_grid, uneven, nested, column, row, letters_outside, single,
single_whitespace -- see ``FAMILIES`` and the ``_fam_*`` builders.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import re
import string
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import matplotlib  # only used to locate the TrueType files it ships
import numpy as np
import skia
from PIL import Image

FAMILIES: tuple[str, ...] = (
    "tinted_grid",
    "saturated",
    "framed",
    "dark_lines",
    "light_lines",
    "jpeg_noise",
    "gutter_range",
    "big_grid",
    "uneven",
    "nested",
    "column",
    "row",
    "letters_outside",
    "single",
    "single_whitespace",
)

INK_THRESHOLD = 16
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)

# ----------------------------------------------------------------------------
# colours, palettes, colour maps
# ----------------------------------------------------------------------------

PALETTES = {
    "okabe_ito": [(230, 159, 0), (86, 180, 233), (0, 158, 115), (0, 114, 178),
                  (213, 94, 0), (204, 121, 167), (240, 228, 66), (0, 0, 0)],
    "npg": [(230, 75, 53), (77, 187, 213), (0, 160, 135), (60, 84, 136),
            (243, 155, 127), (132, 145, 180), (145, 209, 194), (220, 0, 0), (126, 97, 72)],
    "pastel": [(102, 194, 165), (252, 141, 98), (141, 160, 203), (231, 138, 195),
               (166, 216, 84), (229, 196, 148), (179, 179, 179), (255, 217, 47)],
    "primary": [(228, 26, 28), (55, 126, 184), (77, 175, 74), (152, 78, 163),
                (255, 127, 0), (0, 0, 0), (166, 86, 40)],
    "tab10": [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
              (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127)],
    "viridis": [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)],
    "greys": [(0, 0, 0), (99, 99, 99), (150, 150, 150), (82, 82, 82), (189, 189, 189)],
    "cell": [(0, 114, 178), (213, 94, 0), (120, 120, 120), (0, 158, 115), (204, 121, 167)],
}
LIGHT_PALETTE = [(255, 255, 255), (255, 214, 102), (140, 220, 255), (255, 150, 150),
                 (170, 255, 170), (255, 180, 255)]

CMAPS = {
    "viridis": [(68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142),
                (31, 158, 137), (53, 183, 121), (109, 205, 89), (180, 222, 44), (253, 231, 37)],
    "magma": [(0, 0, 4), (28, 16, 68), (79, 18, 123), (129, 37, 129), (181, 54, 122),
              (229, 80, 100), (251, 135, 97), (254, 194, 135), (252, 253, 191)],
    "inferno": [(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66),
                (245, 125, 21), (250, 193, 39), (252, 255, 164)],
    "rdbu": [(5, 48, 97), (33, 102, 172), (67, 147, 195), (146, 197, 222), (209, 229, 240),
             (247, 247, 247), (253, 219, 199), (244, 165, 130), (214, 96, 77), (178, 24, 43),
             (103, 0, 31)],
    "coolwarm": [(59, 76, 192), (124, 159, 249), (192, 212, 245), (242, 203, 183),
                 (238, 133, 105), (180, 4, 38)],
    "jet": [(0, 0, 143), (0, 0, 255), (0, 255, 255), (255, 255, 0), (255, 0, 0), (128, 0, 0)],
    "blues": [(247, 251, 255), (198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107)],
    "ylorrd": [(255, 255, 204), (254, 217, 118), (253, 141, 60), (227, 26, 28), (128, 0, 38)],
    "greys": [(255, 255, 255), (189, 189, 189), (115, 115, 115), (37, 37, 37), (0, 0, 0)],
    "cividis": [(0, 32, 76), (65, 77, 107), (124, 123, 120), (188, 175, 111), (255, 234, 70)],
}
DARK_CMAPS = ("viridis", "magma", "inferno", "cividis")


def cmap(name, v):
    """Map an array of values in [0, 1] to uint8 RGB with a named colour map."""
    anchors = np.asarray(CMAPS[name], dtype=np.float64)
    v = np.clip(np.asarray(v, dtype=np.float64), 0.0, 1.0)
    pos = np.linspace(0.0, 1.0, len(anchors))
    out = np.stack([np.interp(v, pos, anchors[:, k]) for k in range(3)], axis=-1)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def cmap1(name, t):
    c = cmap(name, np.array([t]))[0]
    return (int(c[0]), int(c[1]), int(c[2]))


def mix(c1, c2, t):
    return tuple(int(round(a + (b - a) * t)) for a, b in zip(c1[:3], c2[:3]))


def lum(c):
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def C(c, a=255):
    if len(c) == 4:
        r, g, b, a = c
    else:
        r, g, b = c
    return skia.ColorSetARGB(int(max(0, min(255, a))), int(r), int(g), int(b))


def paint(c, a=255, sw=None, aa=True, cap=None, join=None, dash=None, blur=None, blend=None):
    p = skia.Paint()
    p.setAntiAlias(aa)
    p.setColor(C(c, a))
    if sw is not None:
        p.setStyle(skia.Paint.kStroke_Style)
        p.setStrokeWidth(float(sw))
        if cap == "round":
            p.setStrokeCap(skia.Paint.kRound_Cap)
        elif cap == "square":
            p.setStrokeCap(skia.Paint.kSquare_Cap)
        if join == "round":
            p.setStrokeJoin(skia.Paint.kRound_Join)
    if dash:
        p.setPathEffect(skia.DashPathEffect.Make([float(d) for d in dash], 0.0))
    if blur:
        p.setMaskFilter(skia.MaskFilter.MakeBlur(skia.kNormal_BlurStyle, float(blur)))
    if blend is not None:
        p.setBlendMode(blend)
    return p


def R_(x0, y0, x1, y1):
    return skia.Rect.MakeLTRB(float(x0), float(y0), float(x1), float(y1))


def new_surface(w, h):
    info = skia.ImageInfo.Make(int(w), int(h), skia.ColorType.kRGBA_8888_ColorType,
                               skia.AlphaType.kPremul_AlphaType)
    return skia.Surface.MakeRaster(info)


def surface_rgba(surf):
    return surf.toarray(colorType=skia.ColorType.kRGBA_8888_ColorType,
                        alphaType=skia.AlphaType.kPremul_AlphaType)


def image_from_rgb(arr):
    arr = np.ascontiguousarray(arr)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.shape[2] == 3:
        arr = np.concatenate([arr, np.full(arr.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return skia.Image.fromarray(np.ascontiguousarray(arr.astype(np.uint8)),
                                colorType=skia.ColorType.kRGBA_8888_ColorType)


LINEAR = skia.SamplingOptions(skia.FilterMode.kLinear)
NEAREST = skia.SamplingOptions(skia.FilterMode.kNearest)


def draw_image(cv, img, x0, y0, x1, y1, smooth=True, alpha=255, blend=None):
    p = skia.Paint()
    p.setAlphaf(alpha / 255.0)
    if blend is not None:
        p.setBlendMode(blend)
    cv.drawImageRect(img, R_(0, 0, img.width(), img.height()), R_(x0, y0, x1, y1),
                     LINEAR if smooth else NEAREST, p)


# ----------------------------------------------------------------------------
# noise fields (numpy, small) -> upscaled by skia
# ----------------------------------------------------------------------------

def _resize_bilinear(g, h, w):
    gh, gw = g.shape
    ys = np.linspace(0, gh - 1, h)
    xs = np.linspace(0, gw - 1, w)
    y0 = np.minimum(np.floor(ys).astype(int), gh - 2)
    x0 = np.minimum(np.floor(xs).astype(int), gw - 2)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    rows = g[y0] * (1 - fy) + g[y0 + 1] * fy
    return rows[:, x0] * (1 - fx) + rows[:, x0 + 1] * fx


def smooth_noise(rng, h, w, base=4, octaves=4, persistence=0.55):
    """Fractal value noise in roughly [0, 1], shape (h, w)."""
    h, w = max(2, int(h)), max(2, int(w))
    out = np.zeros((h, w))
    amp, tot = 1.0, 0.0
    asp = w / h
    for o in range(octaves):
        gh = max(2, int(base * 2 ** o) + 1)
        gw = max(2, int(base * 2 ** o * asp) + 1)
        if gh > h or gw > w:
            break
        out += amp * _resize_bilinear(rng.standard_normal((gh, gw)), h, w)
        tot += amp
        amp *= persistence
    out /= max(tot, 1e-9)
    lo, hi = np.percentile(out, 1), np.percentile(out, 99)
    return np.clip((out - lo) / max(hi - lo, 1e-9), 0, 1)


# ----------------------------------------------------------------------------
# fonts and text
# ----------------------------------------------------------------------------

_FONT_DIR = pathlib.Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf"
FONTSETS = {
    "sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf"),
    "serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf"),
    "stix": ("STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf"),
    "cm": ("cmr10.ttf", "cmb10.ttf", "cmti10.ttf"),
    "cmss": ("cmss10.ttf", "DejaVuSans-Bold.ttf", "cmss10.ttf"),
}
_CM_SAFE = set(string.ascii_letters + string.digits + " ()-.,:;%+=/*[]!?")
_TF_CACHE: dict = {}


def _typeface(name):
    tf = _TF_CACHE.get(name)
    if tf is None:
        tf = skia.Typeface.MakeFromFile(str(_FONT_DIR / name))
        if tf is None:
            raise RuntimeError(f"cannot load font {name} from {_FONT_DIR}")
        _TF_CACHE[name] = tf
    return tf


_RICH = re.compile(r"(\^\{[^}]*\}|_\{[^}]*\})")


class TextKit:
    """Fonts of one family (regular / bold / italic) with measuring and drawing helpers."""

    def __init__(self, family="sans", scale_x=1.0):
        self.family = family
        self.faces = [_typeface(f) for f in FONTSETS[family]]
        self.fallback = [_typeface(f) for f in FONTSETS["stix"]]
        self.cm = family in ("cm", "cmss")
        self.scale_x = scale_x if family == "sans" else 1.0
        self._cache = {}

    def font(self, size, w=0, s=None):
        face_set = self.faces
        if self.cm and s is not None and not set(s) <= _CM_SAFE:
            face_set = self.fallback
        key = (id(face_set), w, round(size * 8))
        f = self._cache.get(key)
        if f is None:
            f = skia.Font(face_set[w], float(size))
            f.setScaleX(self.scale_x)
            f.setEdging(skia.Font.Edging.kAntiAlias)
            f.setSubpixel(True)
            self._cache[key] = f
        return f

    def cap(self, size, w=0):
        m = self.font(size, w).getMetrics()
        ch = m.fCapHeight
        return ch if ch and ch > 0.3 * size else 0.72 * size

    def desc(self, size, w=0):
        return abs(self.font(size, w).getMetrics().fDescent)

    def _parts(self, s):
        if "^{" not in s and "_{" not in s:
            return [(s, 0)]
        out = []
        for tok in _RICH.split(s):
            if not tok:
                continue
            if tok.startswith("^{"):
                out.append((tok[2:-1], 1))
            elif tok.startswith("_{"):
                out.append((tok[2:-1], -1))
            else:
                out.append((tok, 0))
        return out

    def width(self, s, size, w=0):
        tot = 0.0
        for txt, lvl in self._parts(s):
            sz = size * (0.7 if lvl else 1.0)
            tot += self.font(sz, w, txt).measureText(txt)
        return tot

    def draw(self, cv, s, x, y, size, color, w=0, ha="l", va="b", rot=0, alpha=255):
        """Draw s; (x, y) is the anchor: ha in l/c/r, va in b(aseline)/t(op of caps)/m(iddle)."""
        if not s:
            return 0.0
        tw = self.width(s, size, w)
        cap = self.cap(size, w)
        dx = {"l": 0.0, "c": -tw / 2, "r": -tw}[ha]
        dy = {"b": 0.0, "t": cap, "m": cap / 2}[va]
        p = paint(color, alpha)
        if rot:
            cv.save()
            cv.translate(x, y)
            cv.rotate(rot)
            ox, oy = dx, dy
        else:
            ox, oy = x + dx, y + dy
        for txt, lvl in self._parts(s):
            sz = size * (0.7 if lvl else 1.0)
            f = self.font(sz, w, txt)
            shift = {0: 0.0, 1: -0.42 * size, -1: 0.18 * size}[lvl]
            cv.drawString(txt, ox, oy + shift, f, p)
            ox += f.measureText(txt)
        if rot:
            cv.restore()
        return tw


# ----------------------------------------------------------------------------
# figure style and render context
# ----------------------------------------------------------------------------

@dataclass
class Style:
    dpi: float
    ppt: float
    fs: float
    lw: float
    alw: float
    txt: TextKit
    ltxt: TextKit
    pal: list
    cmap: str
    ink: tuple
    letter_fmt: str
    letter_bold: bool
    letter_size: float
    letter_pos: str
    axis_box: bool
    ticks_in: bool
    grid: bool
    minus: str
    titles: bool


def make_style(rng, W, dpi):
    ppt = dpi / 72.0
    fam = rng.choice(["sans", "sans", "sans", "sans", "serif", "stix", "cm", "cmss"])
    txt = TextKit(fam, scale_x=float(rng.uniform(0.86, 1.0)))
    lfam = fam if rng.random() < 0.5 else "sans"
    ltxt = TextKit(lfam, scale_x=float(rng.uniform(0.9, 1.0)))
    fs = float(np.clip(rng.uniform(5.5, 8.5) * ppt, 10, 60))
    lw = float(max(1.0, rng.uniform(0.6, 1.8) * ppt))
    alw = float(max(1.0, rng.uniform(0.4, 1.0) * ppt))
    pal_name = rng.choice(list(PALETTES))
    pal = list(PALETTES[pal_name])
    if rng.random() < 0.5:
        rng.shuffle(pal)
    physics = fam in ("cm", "stix") and rng.random() < 0.7
    fmt = rng.choice(["a", "a", "a", "A", "A", "(a)", "a.", "A)", "(A)"])
    return Style(
        dpi=dpi, ppt=ppt, fs=fs, lw=lw, alw=alw, txt=txt, ltxt=ltxt, pal=pal,
        cmap=str(rng.choice(list(CMAPS))), ink=[(0, 0, 0), (0, 0, 0), (34, 34, 34), (51, 51, 51)][rng.integers(4)],
        letter_fmt=str(fmt), letter_bold=bool(rng.random() < 0.8),
        letter_size=float(np.clip(rng.uniform(7, 11) * ppt, 12, 100)),
        letter_pos="tl", axis_box=bool(physics or rng.random() < 0.25),
        ticks_in=bool(physics or rng.random() < 0.15), grid=bool(rng.random() < 0.15),
        minus="\u2212" if rng.random() < 0.6 else "-", titles=bool(rng.random() < 0.35),
    )


def letter_text(fmt, letter):
    up = letter.upper()
    return {"a": letter, "A": up, "(a)": f"({letter})", "a.": f"{letter}.", "A)": f"{up})",
            "(A)": f"({up})"}[fmt]


class RC:
    """Render context: canvas + randomness + style + colours for one panel."""

    def __init__(self, cv, rng, st, fg=None, bg=WHITE, dark=False, max_gap=math.inf,
                 compact=False, size=None):
        self.cv, self.rng, self.st = cv, rng, st
        self.fg = fg if fg is not None else st.ink
        self.bg = bg
        self.dark = dark
        self.max_gap = max_gap
        self.compact = compact
        mn = min(size) if size else 1e9
        self.fs = float(np.clip(min(st.fs, mn / 15.0), 8.0, 60.0))
        self.lw = min(st.lw, max(1.0, mn / 150))
        self.alw = min(st.alw, max(1.0, mn / 200))
        self.tk = st.txt
        if dark:
            self.pal = list(LIGHT_PALETTE)
            rng.shuffle(self.pal)
        else:
            self.pal = list(st.pal)

    def gap(self, v):
        return float(max(1.0, min(v, 0.3 * self.max_gap)))

    def text(self, s, x, y, size=None, color=None, w=0, ha="l", va="b", rot=0, alpha=255):
        return self.tk.draw(self.cv, s, x, y, size or self.fs, color or self.fg, w, ha, va, rot, alpha)

    def tw(self, s, size=None, w=0):
        return self.tk.width(s, size or self.fs, w)

    def cap(self, size=None):
        return self.tk.cap(size or self.fs)

    def desc(self, size=None):
        return self.tk.desc(size or self.fs)

    def col(self, i):
        return self.pal[i % len(self.pal)]

    def num(self, v, dec):
        s = f"{v:.{dec}f}"
        if s.startswith("-"):
            s = self.st.minus + s[1:]
        return s


# ----------------------------------------------------------------------------
# axes
# ----------------------------------------------------------------------------

def nice_step(span, n):
    raw = span / max(n, 1)
    if raw <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw * 0.999:
            return m * mag
    return 10 * mag


def nice_range(lo, hi, n=5):
    if hi - lo < 1e-12:
        hi = lo + 1.0
    step = nice_step(hi - lo, n)
    lo2 = math.floor(lo / step + 1e-9) * step
    hi2 = math.ceil(hi / step - 1e-9) * step
    ticks = list(np.arange(lo2, hi2 + step * 0.5, step))
    return lo2, hi2, ticks, step


def decimals(step):
    for d in range(0, 5):
        v = step * 10 ** d
        if abs(v - round(v)) < 1e-6 * max(1.0, v):
            return d
    return 4


def marker_path(kind, x, y, r):
    p = skia.Path()
    if kind == "s":
        p.addRect(R_(x - r, y - r, x + r, y + r))
    elif kind == "^":
        p.addPoly([skia.Point(x, y - 1.15 * r), skia.Point(x + r, y + 0.75 * r),
                   skia.Point(x - r, y + 0.75 * r)], True)
    elif kind == "D":
        p.addPoly([skia.Point(x, y - 1.2 * r), skia.Point(x + r, y), skia.Point(x, y + 1.2 * r),
                   skia.Point(x - r, y)], True)
    else:
        p.addCircle(x, y, r)
    return p


class Axes:
    def __init__(self, R, rect, xlim, ylim, *, xticks=None, yticks=None, xlabel=None, ylabel=None,
                 title=None, xcats=None, logx=False, logy=False, box=None, ticks_in=None,
                 right_extra=0.0, top_extra=0.0, grid=None, xtl=None, ytl=None, show_x=True,
                 show_y=True, title_bold=None):
        self.R = R
        st = R.st
        fs = R.fs
        tk = R.tk
        x0, y0, x1, y1 = rect
        self.logx, self.logy = logx, logy
        self.xlim, self.ylim = xlim, ylim
        self.box = st.axis_box if box is None else box
        self.tin = st.ticks_in if ticks_in is None else ticks_in
        self.grid = st.grid if grid is None else grid
        self.xcats = xcats
        if xcats is not None:
            xticks = list(range(len(xcats)))
            xtl = list(xcats)
        if yticks is None:
            yticks = []
        if xticks is None:
            xticks = []
        self.xticks, self.yticks = xticks, yticks
        self.ytl = ytl if ytl is not None else [str(t) for t in yticks]
        self.xtl = xtl if xtl is not None else [str(t) for t in xticks]
        if not show_y:
            self.ytl = []
        if not show_x:
            self.xtl = []
        self.tick = 0.35 * fs
        tout = 0.0 if self.tin else self.tick
        g = R.gap(0.3 * fs)
        self.g = g
        cap, desc = tk.cap(fs), tk.desc(fs)
        self.lab_fs = fs * 1.05
        lcap, ldesc = tk.cap(self.lab_fs), tk.desc(self.lab_fs)
        ytl_w = max([tk.width(t, fs) for t in self.ytl] + [0.0])
        left = tout + (g * 0.8 + ytl_w if self.ytl else 0.0)
        if ylabel:
            left += g + lcap + (ldesc * 0.9 if any(ch in ylabel for ch in "gjpqy()[]{},;\u00b5_") else lcap * 0.04)
        xw = max([tk.width(t, fs) for t in self.xtl] + [0.0])
        n = max(1, len(self.xtl))
        est_w = max(10.0, (x1 - x0) - left - xw / 2)
        self.rot = bool(xcats is not None and xw > 0.92 * est_w / n)
        if self.rot:
            xl_h = xw * 0.71 + cap * 0.9
            left = max(left, xw * 0.71 - 0.5 * est_w / n + 2)
        else:
            xl_h = cap + (desc * 0.6 if any(ch in "".join(self.xtl) for ch in "gjpqy()") else 0.0)
        bottom = tout + ((g * 0.8 + xl_h) if self.xtl else 0.0)
        if xlabel:
            bottom += g + lcap + ldesc
        tfs = fs * 1.1
        self.title_fs = tfs
        top = cap * 0.55 + top_extra
        if title:
            top = tk.cap(tfs) + tk.desc(tfs) * 0.5 + g + top_extra + cap * 0.3
        right = max(xw / 2 + 1 if (self.xtl and not self.rot and xcats is None) else 2.0,
                    0.015 * (x1 - x0)) + right_extra
        self.outer = rect
        self.ix0, self.iy0 = x0 + left, y0 + top
        self.ix1, self.iy1 = x1 - right, y1 - bottom
        if self.ix1 - self.ix0 < 20:
            self.ix1 = self.ix0 + 20
        if self.iy1 - self.iy0 < 20:
            self.iy0 = self.iy1 - 20
        # labels must fit along their axis; thin crowded ticks
        ih, iw = self.iy1 - self.iy0, self.ix1 - self.ix0
        if ylabel:
            f = self.lab_fs
            while tk.width(ylabel, f) > ih * 1.02 and f > fs * 0.72:
                f *= 0.92
            if tk.width(ylabel, f) > ih * 1.02:
                ylabel = ylabel.split(" (")[0]
                if tk.width(ylabel, f) > ih * 1.02:
                    ylabel = None
            self.ylab_fs = f
        if xlabel:
            f = self.lab_fs
            while tk.width(xlabel, f) > iw * 1.02 and f > fs * 0.72:
                f *= 0.92
            if tk.width(xlabel, f) > iw * 1.02:
                xlabel = None
            self.xlab_fs = f
        if xcats is None and len(self.xtl) > 2:
            while len(self.xtl) > 2 and (sum(tk.width(t, fs) for t in self.xtl) + fs * 0.9 * len(self.xtl)) > iw:
                self.xticks, self.xtl = self.xticks[::2], self.xtl[::2]
        if len(self.ytl) > 2:
            while len(self.ytl) > 2 and len(self.ytl) * cap * 2.2 > ih:
                self.yticks, self.ytl = self.yticks[::2], self.ytl[::2]
        self.xlabel, self.ylabel, self.title = xlabel, ylabel, title
        self.title_bold = (rng_bool(R.rng, 0.4) if title_bold is None else title_bold)
        self.top_extra = top_extra

    def X(self, v):
        lo, hi = self.xlim
        if self.logx:
            v, lo, hi = np.log10(v), math.log10(lo), math.log10(hi)
        return self.ix0 + (np.asarray(v, dtype=float) - lo) / (hi - lo) * (self.ix1 - self.ix0)

    def Y(self, v):
        lo, hi = self.ylim
        if self.logy:
            v, lo, hi = np.log10(v), math.log10(lo), math.log10(hi)
        return self.iy1 - (np.asarray(v, dtype=float) - lo) / (hi - lo) * (self.iy1 - self.iy0)

    def clip(self, cv, pad=None):
        pad = self.R.lw * 2 if pad is None else pad
        cv.clipRect(R_(self.ix0 - pad, self.iy0 - pad, self.ix1 + pad, self.iy1 + pad))

    def draw(self):
        R, cv = self.R, self.R.cv
        fs, fg, alw = R.fs, R.fg, R.alw
        ax = paint(fg, sw=alw, cap="square")
        x0, y0, x1, y1 = self.ix0, self.iy0, self.ix1, self.iy1
        if self.grid:
            gp = paint(mix(R.bg, fg, 0.18), sw=max(1.0, alw * 0.6))
            for t in self.yticks:
                y = float(self.Y(t))
                cv.drawLine(x0, y, x1, y, gp)
            if self.xcats is None:
                for t in self.xticks:
                    x = float(self.X(t))
                    cv.drawLine(x, y0, x, y1, gp)
        cv.drawLine(x0, y1, x1, y1, ax)
        cv.drawLine(x0, y0 if True else y1, x0, y1, ax)
        if self.box:
            cv.drawLine(x0, y0, x1, y0, ax)
            cv.drawLine(x1, y0, x1, y1, ax)
        d = -self.tick if self.tin else self.tick
        tp = paint(fg, sw=alw)
        for t in self.xticks:
            x = float(self.X(t))
            cv.drawLine(x, y1, x, y1 + d, tp)
            if self.box and self.tin:
                cv.drawLine(x, y0, x, y0 - d, tp)
        for t in self.yticks:
            y = float(self.Y(t))
            cv.drawLine(x0, y, x0 - d, y, tp)
            if self.box and self.tin:
                cv.drawLine(x1, y, x1 + d, y, tp)
        tout = 0.0 if self.tin else self.tick
        g = self.g
        for t, s in zip(self.yticks, self.ytl):
            R.text(s, x0 - tout - g * 0.8, float(self.Y(t)), fs, ha="r", va="m")
        ty = y1 + tout + g * 0.8
        for t, s in zip(self.xticks, self.xtl):
            x = float(self.X(t))
            if self.rot:
                cv.save()
                cv.translate(x + R.cap() * 0.35, ty)
                cv.rotate(-45)
                R.text(s, 0, R.cap() * 0.5, fs, ha="r", va="b")
                cv.restore()
            else:
                R.text(s, x, ty, fs, ha="c", va="t")
        ox0, oy0, ox1, oy1 = self.outer
        lcap = R.tk.cap(self.lab_fs)
        if self.xlabel:
            R.text(self.xlabel, (x0 + x1) / 2, oy1 - R.tk.desc(self.lab_fs), self.xlab_fs, ha="c", va="b")
        if self.ylabel:
            R.text(self.ylabel, ox0 + lcap, (y0 + y1) / 2, self.ylab_fs, ha="c", va="b", rot=-90)
        if self.title:
            R.text(self.title, x0 if R.rng.random() < 0.5 else (x0 + x1) / 2,
                   oy0 + self.top_extra, self.title_fs, w=1 if self.title_bold else 0,
                   ha="l" if R.rng.random() < 0.5 else "c", va="t")


def rng_bool(rng, p):
    return bool(rng.random() < p)


def ticks_for(lo, hi, n, R):
    lo2, hi2, ticks, step = nice_range(lo, hi, n)
    dec = decimals(step)
    return (lo2, hi2), ticks, [R.num(t, dec) for t in ticks]


def legend_size(R, labels, fs=None):
    fs = fs or R.fs * 0.95
    sw = fs * 1.6
    rowh = R.tk.cap(fs) + R.gap(fs * 0.45)
    w = sw + fs * 0.4 + max(R.tk.width(s, fs) for s in labels)
    return w, rowh * len(labels) - R.gap(fs * 0.45), rowh, sw


def draw_legend(R, x, y, items, style="line", fs=None, frame=False, fill=False):
    """items: (label, colour, marker).  (x, y) = top-left."""
    fs = fs or R.fs * 0.95
    w, h, rowh, sw = legend_size(R, [i[0] for i in items], fs)
    cv = R.cv
    if fill:
        cv.drawRect(R_(x - fs * 0.4, y - fs * 0.4, x + w + fs * 0.4, y + h + fs * 0.4), paint(R.bg, 235))
    if frame:
        cv.drawRect(R_(x - fs * 0.4, y - fs * 0.4, x + w + fs * 0.4, y + h + fs * 0.4),
                    paint(mix(R.bg, R.fg, 0.4), sw=max(1.0, R.alw * 0.7)))
    cap = R.tk.cap(fs)
    for k, (lab, c, mk) in enumerate(items):
        cy = y + k * rowh + cap / 2
        if style == "patch":
            cv.drawRect(R_(x, cy - cap * 0.55, x + sw * 0.7, cy + cap * 0.55), paint(c))
        elif style == "marker":
            cv.drawPath(marker_path(mk or "o", x + sw * 0.35, cy, cap * 0.42), paint(c))
        else:
            cv.drawLine(x, cy, x + sw, cy, paint(c, sw=R.lw))
            if mk:
                cv.drawPath(marker_path(mk, x + sw / 2, cy, max(2.0, R.lw * 1.6)), paint(c))
        R.text(lab, x + sw + fs * 0.4, cy, fs, ha="l", va="m")
    return w, h


# ----------------------------------------------------------------------------
# vocabularies
# ----------------------------------------------------------------------------

X_LABELS = ["Time (h)", "Time (min)", "Days post infection", "Concentration (\u00b5M)",
            "Dose (mg kg^{\u22121})", "Temperature (K)", "Frequency (Hz)", "Wavelength (nm)",
            "Voltage (V)", "Strain (%)", "Distance (km)", "Depth (m)", "Age (years)", "Epoch",
            "Magnetic field (T)", "Pressure (GPa)", "Position (\u00b5m)", "Year", "Time (s)",
            "Bias (mV)", "Energy (eV)", "Latitude (\u00b0N)"]
Y_LABELS = ["Cell viability (%)", "Relative expression", "Fluorescence (a.u.)", "Normalized intensity",
            "Current (nA)", "Resistance (k\u03a9)", "Accuracy (%)", "Loss", "Survival (%)",
            "Tumour volume (mm^{3})", "Counts", "Absorbance", "Velocity (m s^{\u22121})",
            "Temperature anomaly (\u00b0C)", "Yield (%)", "Density", "\u0394F/F_{0}",
            "Fold change", "Intensity (a.u.)", "Signal (mV)", "Area (\u00b5m^{2})", "PL (counts)"]
CATS = ["WT", "KO", "Ctrl", "siRNA", "Vehicle", "Drug", "Sham", "DMSO", "Day 1", "Day 7", "Young",
        "Aged", "Mock", "Het", "Baseline", "Ours", "Site A", "Site B", "LPS", "PBS", "shCtrl",
        "shATG5", "Naive", "Primed", "0 h", "6 h", "24 h", "Low", "High"]
SERIES = ["Control", "Treated", "WT", "Mutant", "Model", "Experiment", "Theory", "Sample 1", "Sample 2",
          "x = 0.1", "x = 0.2", "T = 10 K", "T = 50 K", "DFT", "Measured", "Simulation", "Female",
          "Male", "Untreated", "+ drug", "Fit", "Baseline", "Ours"]
GENES = ["GAPDH", "TP53", "MYC", "CD8A", "IL6", "TNF", "STAT3", "EGFR", "KRAS", "SOX2", "NANOG", "PAX6",
         "FOXP3", "GATA3", "CDK1", "CCNB1", "VIM", "CDH1", "ACTB", "HIF1A", "MKI67", "BRCA1", "PTEN",
         "NOTCH1", "WNT5A", "SMAD4", "JUN", "FOS", "EGR1", "LMNA", "TUBB3", "NES", "OLIG2"]
PROTEINS = ["p-ERK", "ERK", "p-AKT", "AKT", "\u03b2-actin", "GAPDH", "LC3-II", "p62", "Cleaved casp-3",
            "Vinculin", "HA", "FLAG", "Tubulin", "Histone H3", "mTOR", "p-S6", "Cyclin D1"]
BOX_WORDS = ["Sample\ncollection", "RNA-seq", "Library\nprep", "Imaging", "Segmentation", "Feature\nextraction",
             "Classifier", "Encoder", "Decoder", "Attention", "Input", "Output", "Sequencing",
             "Alignment", "Clustering", "Validation", "Mouse\nmodel", "Organoid", "CRISPR\nscreen",
             "Laser", "Sample", "Detector", "Filter", "Lens", "Pump", "Reactor", "Sensor",
             "Preprocess", "Training", "Inference", "Dataset", "Embedding"]


# ----------------------------------------------------------------------------
# plot renderers (each draws inside rect = (x0, y0, x1, y1) on R.cv)
# ----------------------------------------------------------------------------

def _curve(rng, x, shape):
    t = x / (x.max() or 1.0)
    if shape == "sig":
        return 1 / (1 + np.exp(-rng.uniform(6, 14) * (t - rng.uniform(0.3, 0.7))))
    if shape == "exp":
        return np.exp(-t * rng.uniform(1.5, 5))
    if shape == "lin":
        return rng.uniform(0.2, 1.0) * t + rng.uniform(0, 0.3)
    if shape == "sat":
        return t / (t + rng.uniform(0.05, 0.4))
    if shape == "osc":
        return 0.5 + 0.5 * np.exp(-t * rng.uniform(0.5, 2)) * np.cos(2 * np.pi * t * rng.uniform(1.5, 4))
    if shape == "peak":
        return np.exp(-((t - rng.uniform(0.2, 0.8)) / rng.uniform(0.08, 0.3)) ** 2)
    return (t + 0.02) ** rng.uniform(0.3, 2.2)


def _pts(xs, ys):
    return [skia.Point(float(a), float(b)) for a, b in zip(xs, ys)]


def _polyline(xs, ys):
    p = skia.Path()
    p.moveTo(float(xs[0]), float(ys[0]))
    for a, b in zip(xs[1:], ys[1:]):
        p.lineTo(float(a), float(b))
    return p


def _smooth_path(xs, ys):
    """Catmull-Rom through the points."""
    p = skia.Path()
    n = len(xs)
    p.moveTo(float(xs[0]), float(ys[0]))
    for i in range(n - 1):
        xa, ya = (xs[i - 1], ys[i - 1]) if i > 0 else (xs[i], ys[i])
        xb, yb = xs[i], ys[i]
        xc, yc = xs[i + 1], ys[i + 1]
        xd, yd = (xs[i + 2], ys[i + 2]) if i + 2 < n else (xc, yc)
        p.cubicTo(float(xb + (xc - xa) / 6), float(yb + (yc - ya) / 6),
                  float(xc - (xd - xb) / 6), float(yc - (yd - yb) / 6), float(xc), float(yc))
    return p


def _legend_pos(R, labels, pos, rect):
    """Make sure a legend placed above / right of the axes fits; fall back to inside."""
    W = rect[2] - rect[0]
    if pos == "top":
        w = sum(R.tw(s, R.fs * 0.95) + R.fs * 2.6 for s in labels)
        if w > W * 0.95:
            pos = "right"
    if pos == "right":
        w, h, _, _ = legend_size(R, labels)
        if w > W * 0.32 or h > (rect[3] - rect[1]) * 0.8:
            pos = "in"
    return pos


def _legend_block(R, labels, pos):
    """Returns (top_extra, right_extra) for a legend placed above / right / inside."""
    if pos == "top":
        return R.cap() + R.gap(R.fs * 0.5), 0.0
    if pos == "right":
        w, h, _, _ = legend_size(R, labels)
        return 0.0, w + R.gap(R.fs * 0.6)
    return 0.0, 0.0


def _draw_legend_auto(R, ax, items, pos, style="line", data_xy=None, avoid=None):
    cv = R.cv
    labels = [i[0] for i in items]
    if pos == "top":
        fs = R.fs * 0.95
        x = ax.ix0
        y = ax.outer[1]
        cap = R.tk.cap(fs)
        for lab, c, mk in items:
            sw = fs * 1.4
            cy = y + cap / 2
            if style == "patch":
                cv.drawRect(R_(x, cy - cap * 0.55, x + sw * 0.7, cy + cap * 0.55), paint(c))
                x += sw * 0.7 + fs * 0.35
            elif style == "marker":
                cv.drawPath(marker_path(mk or "o", x + cap * 0.45, cy, cap * 0.42), paint(c))
                x += cap + fs * 0.35
            else:
                cv.drawLine(x, cy, x + sw, cy, paint(c, sw=R.lw))
                if mk:
                    cv.drawPath(marker_path(mk, x + sw / 2, cy, max(2.0, R.lw * 1.6)), paint(c))
                x += sw + fs * 0.35
            x += R.text(lab, x, cy, fs, va="m") + fs * 0.9
        return
    w, h, _, _ = legend_size(R, labels)
    if pos == "right":
        draw_legend(R, ax.outer[2] - w - 1, ax.iy0 + R.fs * 0.2, items, style)
        return
    pad = R.fs * 0.6
    corners = {"tl": (ax.ix0 + pad, ax.iy0 + pad), "tr": (ax.ix1 - pad - w, ax.iy0 + pad),
               "bl": (ax.ix0 + pad, ax.iy1 - pad - h), "br": (ax.ix1 - pad - w, ax.iy1 - pad - h)}
    best, bestc = "tr", 1e18
    if avoid in corners and len(corners) > 1:
        corners.pop(avoid)
        best = next(iter(corners))
    if data_xy is not None and len(data_xy[0]):
        dx, dy = data_xy
        for k, (cx, cy) in corners.items():
            n = np.sum((dx > cx - pad) & (dx < cx + w + pad) & (dy > cy - pad) & (dy < cy + h + pad))
            if n < bestc:
                best, bestc = k, n
    cx, cy = corners[best]
    fr = R.rng.random() < 0.4
    draw_legend(R, cx, cy, items, style, frame=fr, fill=fr or bestc > 0)


def r_line(R, rect):
    rng, cv = R.rng, R.cv
    ns = int(rng.integers(1, 5))
    xmax = float(rng.choice([1, 5, 10, 24, 48, 60, 100, 300]))
    npts = int(rng.integers(6, 40))
    x = np.linspace(0, xmax, npts)
    shape = rng.choice(["sig", "exp", "lin", "sat", "osc", "peak", "pow"])
    amp = float(rng.choice([1, 10, 100, 0.5, 50, 1000, 5]))
    ys, es = [], []
    for _ in range(ns):
        y = _curve(rng, x, shape) * amp * rng.uniform(0.5, 1.2) + amp * rng.uniform(-0.05, 0.2)
        y = y + rng.normal(0, 0.025 * amp, npts)
        ys.append(y)
        es.append(np.abs(rng.normal(0.05 * amp, 0.02 * amp, npts)))
    err = rng.choice(["none", "bar", "band"])
    ee = [e if err != "none" else 0 * e for e in es]
    lo = min(float((y - e).min()) for y, e in zip(ys, ee))
    hi = max(float((y + e).max()) for y, e in zip(ys, ee))
    ylim, yt, ytl = ticks_for(lo, hi, int(rng.integers(3, 6)), R)
    xlim, xt, xtl = ticks_for(0, xmax, int(rng.integers(3, 6)), R)
    labels = list(rng.choice(SERIES, ns, replace=False))
    mk_kind = rng.choice(["o", "s", "^", "D"], ns) if rng.random() < 0.55 else [None] * ns
    pos = rng.choice(["in", "in", "top", "right"]) if ns > 1 and rng.random() < 0.85 else None
    pos = _legend_pos(R, labels, pos, rect) if pos else None
    te, re_ = _legend_block(R, labels, pos) if pos else (0.0, 0.0)
    title = rng.choice(["Growth", "Response", "Kinetics", "Dose response", "Time course", "Transport"]) \
        if R.st.titles and rng.random() < 0.6 else None
    ax = Axes(R, rect, xlim, ylim, xticks=xt, yticks=yt, xtl=xtl, ytl=ytl,
              xlabel=str(rng.choice(X_LABELS)), ylabel=str(rng.choice(Y_LABELS)), title=title,
              top_extra=te, right_extra=re_)
    ax.draw()
    cv.save()
    ax.clip(cv)
    smooth = rng.random() < 0.5
    allx, ally = [], []
    for i, (y, e) in enumerate(zip(ys, es)):
        c = R.col(i)
        px, py = ax.X(x), ax.Y(y)
        allx.append(px)
        ally.append(py)
        if err == "band":
            p = skia.Path()
            p.addPoly(_pts(np.r_[px, px[::-1]], np.r_[ax.Y(y + e), ax.Y(y - e)[::-1]]), True)
            cv.drawPath(p, paint(c, 60))
        path = _smooth_path(px, py) if smooth else _polyline(px, py)
        cv.drawPath(path, paint(c, sw=R.lw, join="round", dash=(R.lw * 3, R.lw * 2) if i == 3 else None))
        if err == "bar":
            ep = paint(c, sw=max(1.0, R.lw * 0.7))
            for a, b, ee_ in zip(px, y, e):
                cv.drawLine(float(a), float(ax.Y(b - ee_)), float(a), float(ax.Y(b + ee_)), ep)
        if mk_kind[i]:
            r = max(2.0, R.lw * 1.7)
            for a, b in zip(px, py):
                cv.drawPath(marker_path(mk_kind[i], float(a), float(b), r), paint(c))
                if rng.random() < 0.3:
                    cv.drawPath(marker_path(mk_kind[i], float(a), float(b), r), paint(R.bg, sw=1))
    cv.restore()
    if pos:
        _draw_legend_auto(R, ax, [(lab, R.col(i), mk_kind[i]) for i, lab in enumerate(labels)], pos,
                          data_xy=(np.concatenate(allx), np.concatenate(ally)))


def r_scatter(R, rect):
    rng, cv = R.rng, R.cv
    ng = int(rng.choice([1, 1, 2, 3]))
    xs, ys = [], []
    for _ in range(ng):
        n = int(rng.integers(20, 160))
        r = rng.uniform(-0.9, 0.9)
        cov = np.array([[1, r], [r, 1]]) * rng.uniform(0.3, 1.0)
        d = rng.multivariate_normal([rng.uniform(-1, 1), rng.uniform(-1, 1)], cov, n)
        xs.append(d[:, 0])
        ys.append(d[:, 1])
    sx, sy = float(rng.choice([1, 10, 100])), float(rng.choice([1, 10, 50]))
    xs = [a * sx for a in xs]
    ys = [b * sy for b in ys]
    ax_ = np.concatenate(xs)
    ay_ = np.concatenate(ys)
    xlim, xt, xtl = ticks_for(ax_.min(), ax_.max(), 5, R)
    ylim, yt, ytl = ticks_for(ay_.min(), ay_.max(), 5, R)
    labels = list(rng.choice(SERIES, ng, replace=False))
    pos = rng.choice(["in", "top", "right"]) if ng > 1 else None
    pos = _legend_pos(R, labels, pos, rect) if pos else None
    te, re_ = _legend_block(R, labels, pos) if pos else (0.0, 0.0)
    ax = Axes(R, rect, xlim, ylim, xticks=xt, yticks=yt, xtl=xtl, ytl=ytl,
              xlabel=str(rng.choice(X_LABELS)), ylabel=str(rng.choice(Y_LABELS)),
              top_extra=te, right_extra=re_)
    ax.draw()
    cv.save()
    ax.clip(cv)
    rad = max(1.5, R.fs * rng.uniform(0.15, 0.3))
    mk = rng.choice(["o", "o", "s", "^"], ng)
    filled = rng.random() < 0.75
    for i in range(ng):
        c = R.col(i)
        px, py = ax.X(xs[i]), ax.Y(ys[i])
        if mk[i] == "o":
            p = paint(c, int(rng.integers(140, 256)) if filled else 255, sw=rad * 2, cap="round")
            cv.drawPoints(skia.Canvas.kPoints_PointMode, _pts(px, py), p)
            if not filled:
                p2 = paint(R.bg, sw=max(0.5, rad * 2 - 2 * R.lw * 0.6), cap="round")
                cv.drawPoints(skia.Canvas.kPoints_PointMode, _pts(px, py), p2)
        else:
            pp = paint(c, 200)
            for a, b in zip(px, py):
                cv.drawPath(marker_path(mk[i], float(a), float(b), rad), pp)
    stats = rng.random() < 0.6
    if stats:
        k, b0 = np.polyfit(ax_, ay_, 1)
        xx = np.array([xlim[0], xlim[1]])
        cv.drawLine(float(ax.X(xx[0])), float(ax.Y(k * xx[0] + b0)), float(ax.X(xx[1])),
                    float(ax.Y(k * xx[1] + b0)), paint(R.fg, sw=R.lw, dash=(R.lw * 4, R.lw * 2.5)
                                                       if rng.random() < 0.5 else None))
        rr = np.corrcoef(ax_, ay_)[0, 1]
        s = rng.choice([f"r = {rr:.2f}", f"R^{{2}} = {rr * rr:.2f}", f"\u03c1 = {rr:.2f}, P < 0.001"])
        R.text(str(s).replace("-", R.st.minus), ax.ix0 + R.fs * 0.5, ax.iy0 + R.fs * 0.4, va="t")
    cv.restore()
    if pos:
        _draw_legend_auto(R, ax, [(lab, R.col(i), mk[i]) for i, lab in enumerate(labels)], pos,
                          style="marker", data_xy=(ax.X(ax_), ax.Y(ay_)), avoid="tl" if stats else None)


def _bracket(R, ax, xa, xb, y, label):
    cv = R.cv
    yy = float(ax.Y(y))
    h = R.fs * 0.35
    p = skia.Path()
    p.moveTo(float(ax.X(xa)), yy + h)
    p.lineTo(float(ax.X(xa)), yy)
    p.lineTo(float(ax.X(xb)), yy)
    p.lineTo(float(ax.X(xb)), yy + h)
    cv.drawPath(p, paint(R.fg, sw=max(1.0, R.alw)))
    fs = R.fs * (1.25 if label.startswith("*") else 0.9)
    R.text(label, float(ax.X((xa + xb) / 2)), yy - R.fs * (0.05 if label.startswith("*") else 0.2),
           fs, ha="c", va="b")


def _brackets(R, ax, brackets, base):
    """Stack significance brackets above `base` (data units) with >= 1.8 font heights between them."""
    y0 = float(ax.Y(base)) - R.fs * 0.5
    step = R.fs * 1.8
    for n_, (a, b, lab) in enumerate(brackets):
        y = y0 - n_ * step
        if y - R.fs * 1.3 < ax.iy0 - R.fs * 0.2:
            break
        lo, hi = ax.ylim
        v = lo + (ax.iy1 - y) / (ax.iy1 - ax.iy0) * (hi - lo)
        _bracket(R, ax, a, b, v, lab)


SIG = ["*", "**", "***", "n.s.", "****", "P = 0.003", "*", "**"]


def r_bar(R, rect):
    rng, cv = R.rng, R.cv
    k = int(rng.integers(2, 7))
    m = int(rng.choice([1, 1, 1, 2, 3]))
    cats = list(rng.choice(CATS, k, replace=False))
    amp = float(rng.choice([1, 100, 10, 50, 2]))
    vals = rng.uniform(0.2, 1.0, (k, m)) * amp
    errs = vals * rng.uniform(0.04, 0.2, (k, m))
    dots = rng.random() < 0.5
    nb = int(rng.integers(0, 4)) if k >= 2 else 0
    brackets = []
    for _ in range(nb):
        a = int(rng.integers(0, k - 1))
        b = int(rng.integers(a + 1, k))
        brackets.append((a, b, str(rng.choice(SIG))))
    top = float((vals + errs * (2.2 if dots else 1)).max())
    hi = top * (1.12 + 0.16 * nb)
    ylim, yt, ytl = ticks_for(0, hi, int(rng.integers(3, 6)), R)
    labels = list(rng.choice(SERIES, m, replace=False))
    pos = rng.choice(["top", "top", "right"]) if m > 1 else None
    pos = _legend_pos(R, labels, pos, rect) if pos else None
    te, re_ = _legend_block(R, labels, pos) if pos else (0.0, 0.0)
    ax = Axes(R, rect, (-0.6, k - 0.4), ylim, yticks=yt, ytl=ytl, xcats=cats,
              ylabel=str(rng.choice(Y_LABELS)), top_extra=te, right_extra=re_,
              box=False if rng.random() < 0.8 else None, grid=False)
    ax.draw()
    bw = rng.uniform(0.55, 0.85) / m
    edge = rng.random() < 0.4
    by_cat = rng.random() < 0.5
    hollow_first = rng.random() < 0.15
    for i in range(k):
        for j in range(m):
            cx = i - bw * m / 2 + bw * (j + 0.5)
            c = R.col(j if m > 1 else (i if by_cat else 0))
            xa, xb = float(ax.X(cx - bw / 2)), float(ax.X(cx + bw / 2))
            ya, yb = float(ax.Y(vals[i, j])), float(ax.Y(0))
            hollow = m == 1 and i == 0 and hollow_first
            cv.drawRect(R_(xa, ya, xb, yb), paint(c, 255 if not hollow else 0))
            if edge or hollow:
                cv.drawRect(R_(xa, ya, xb, yb), paint(R.fg if not hollow else c, sw=max(1.0, R.alw)))
            ep = paint(R.fg, sw=max(1.0, R.alw))
            xm = float(ax.X(cx))
            ytop = float(ax.Y(vals[i, j] + errs[i, j]))
            cv.drawLine(xm, ya, xm, ytop, ep)
            cw = (xb - xa) * 0.25
            cv.drawLine(xm - cw, ytop, xm + cw, ytop, ep)
            if dots:
                nd = int(rng.integers(3, 9))
                dv = vals[i, j] + rng.normal(0, errs[i, j] * 1.5, nd)
                dx = xm + rng.uniform(-0.3, 0.3, nd) * (xb - xa)
                cv.drawPoints(skia.Canvas.kPoints_PointMode, _pts(dx, ax.Y(np.maximum(dv, 0))),
                              paint(mix(c, R.fg, 0.6), sw=max(2.0, R.fs * 0.3), cap="round"))
    base = float((vals + errs * (2.2 if dots else 1)).max())
    _brackets(R, ax, brackets, base)
    if pos:
        _draw_legend_auto(R, ax, [(lab, R.col(j), None) for j, lab in enumerate(labels)], pos, style="patch",
                          data_xy=(np.array([ax.ix0, ax.ix1]), np.array([ax.iy1, ax.iy1])))


def r_dist(R, rect, violin=None):
    rng, cv = R.rng, R.cv
    violin = rng.random() < 0.5 if violin is None else violin
    k = int(rng.integers(2, 7))
    cats = list(rng.choice(CATS, k, replace=False))
    amp = float(rng.choice([1, 10, 100]))
    data = []
    for i in range(k):
        n = int(rng.integers(15, 120))
        if rng.random() < 0.5:
            d = rng.normal(rng.uniform(0.3, 1), rng.uniform(0.08, 0.25), n)
        else:
            d = rng.lognormal(rng.uniform(-1, 0), rng.uniform(0.2, 0.5), n)
        data.append(d * amp)
    nb = int(rng.integers(0, 3))
    allv = np.concatenate(data)
    lo, hi = float(allv.min()), float(allv.max())
    hi2 = hi + (hi - lo) * (0.08 + 0.16 * nb)
    ylim, yt, ytl = ticks_for(min(lo, 0) if rng.random() < 0.4 else lo, hi2, int(rng.integers(3, 6)), R)
    ax = Axes(R, rect, (-0.6, k - 0.4), ylim, yticks=yt, ytl=ytl, xcats=cats,
              ylabel=str(rng.choice(Y_LABELS)), grid=False)
    ax.draw()
    cv.save()
    ax.clip(cv)
    strip = rng.random() < 0.5
    for i, d in enumerate(data):
        c = R.col(i)
        q1, med, q3 = np.percentile(d, [25, 50, 75])
        iqr = q3 - q1
        wl, wh = max(d.min(), q1 - 1.5 * iqr), min(d.max(), q3 + 1.5 * iqr)
        x = float(ax.X(i))
        half = float(ax.X(i + 0.38) - ax.X(i))
        if violin:
            grid = np.linspace(d.min(), d.max(), 40)
            bwd = 1.06 * d.std() * len(d) ** -0.2 + 1e-9
            dens = np.exp(-0.5 * ((grid[:, None] - d[None, :]) / bwd) ** 2).sum(1)
            dens = dens / dens.max() * half
            py = ax.Y(grid)
            p = skia.Path()
            p.addPoly(_pts(np.r_[x - dens, (x + dens)[::-1]], np.r_[py, py[::-1]]), True)
            cv.drawPath(p, paint(c, 170))
            cv.drawPath(p, paint(R.fg, sw=max(1.0, R.alw * 0.8)))
            bw_ = half * 0.18
            cv.drawRect(R_(x - bw_, float(ax.Y(q3)), x + bw_, float(ax.Y(q1))), paint(R.fg))
            cv.drawCircle(x, float(ax.Y(med)), bw_ * 0.8, paint(R.bg))
        else:
            bw_ = half * 0.7
            fillc = c if rng.random() < 0.7 else R.bg
            cv.drawRect(R_(x - bw_, float(ax.Y(q3)), x + bw_, float(ax.Y(q1))), paint(fillc, 200))
            bp = paint(R.fg, sw=max(1.0, R.alw))
            cv.drawRect(R_(x - bw_, float(ax.Y(q3)), x + bw_, float(ax.Y(q1))), bp)
            cv.drawLine(x - bw_, float(ax.Y(med)), x + bw_, float(ax.Y(med)), paint(R.fg, sw=max(1.0, R.alw * 1.8)))
            cv.drawLine(x, float(ax.Y(q3)), x, float(ax.Y(wh)), bp)
            cv.drawLine(x, float(ax.Y(q1)), x, float(ax.Y(wl)), bp)
            cv.drawLine(x - bw_ * 0.5, float(ax.Y(wh)), x + bw_ * 0.5, float(ax.Y(wh)), bp)
            cv.drawLine(x - bw_ * 0.5, float(ax.Y(wl)), x + bw_ * 0.5, float(ax.Y(wl)), bp)
            out = d[(d < wl) | (d > wh)]
            if len(out):
                cv.drawPoints(skia.Canvas.kPoints_PointMode, _pts([x] * len(out), ax.Y(out)),
                              paint(R.fg, sw=max(2.0, R.fs * 0.25), cap="round"))
        if strip:
            jx = x + rng.uniform(-0.6, 0.6, len(d)) * half * 0.6
            cv.drawPoints(skia.Canvas.kPoints_PointMode, _pts(jx, ax.Y(d)),
                          paint(mix(c, R.fg, 0.5), 150, sw=max(1.5, R.fs * 0.18), cap="round"))
    cv.restore()
    br = []
    for n_ in range(nb):
        a = int(rng.integers(0, k - 1))
        b = int(rng.integers(a + 1, k))
        br.append((a, b, str(rng.choice(SIG))))
    _brackets(R, ax, br, hi)


def r_hist(R, rect):
    rng, cv = R.rng, R.cv
    ng = int(rng.choice([1, 1, 2]))
    data = [rng.normal(rng.uniform(-1, 1), rng.uniform(0.4, 1.0), int(rng.integers(200, 2000))) for _ in range(ng)]
    allv = np.concatenate(data)
    nbins = int(rng.integers(15, 40))
    edges = np.linspace(allv.min(), allv.max(), nbins + 1)
    hs = [np.histogram(d, edges)[0] for d in data]
    xlim, xt, xtl = ticks_for(edges[0], edges[-1], 5, R)
    ylim, yt, ytl = ticks_for(0, max(h.max() for h in hs) * 1.1, 4, R)
    ax = Axes(R, rect, xlim, ylim, xticks=xt, yticks=yt, xtl=xtl, ytl=ytl,
              xlabel=str(rng.choice(X_LABELS)), ylabel=str(rng.choice(["Counts", "Frequency", "Cells", "Events"])))
    ax.draw()
    cv.save()
    ax.clip(cv)
    for i, h in enumerate(hs):
        c = R.col(i)
        for j in range(nbins):
            if h[j] == 0:
                continue
            rr = R_(float(ax.X(edges[j])), float(ax.Y(h[j])), float(ax.X(edges[j + 1])), float(ax.Y(0)))
            cv.drawRect(rr, paint(c, 150 if ng > 1 else 230))
            if rng.random() < 0.5 or ng == 1:
                cv.drawRect(rr, paint(R.bg if ng == 1 else c, sw=1))
    cv.restore()
    if ng > 1:
        _draw_legend_auto(R, ax, [(s, R.col(i), None) for i, s in enumerate(rng.choice(SERIES, ng, replace=False))],
                          "in", style="patch", data_xy=(np.array([ax.ix0]), np.array([ax.iy1])))


def r_spectrum(R, rect):
    rng, cv = R.rng, R.cv
    nt = int(rng.integers(1, 6))
    x = np.linspace(0, 1, 400)
    xr = rng.choice([(100, 1800), (1.2, 3.2), (10, 80), (400, 800), (0, 300)])
    xv = xr[0] + x * (xr[1] - xr[0])
    npk = int(rng.integers(2, 7))
    cen = rng.uniform(0.05, 0.95, npk)
    wid = rng.uniform(0.005, 0.05, npk)
    traces = []
    for i in range(nt):
        y = np.zeros_like(x)
        for c, w in zip(cen, wid):
            y += rng.uniform(0.2, 1.0) / (1 + ((x - c - rng.normal(0, 0.005)) / w) ** 2)
        y += rng.normal(0, 0.01, len(x)) + 0.05
        traces.append(y / y.max() + i * rng.uniform(0.7, 1.1))
    hi = max(t.max() for t in traces) * 1.05
    xlim, xt, xtl = ticks_for(xv[0], xv[-1], 5, R)
    xlab = {100: "Raman shift (cm^{\u22121})", 1.2: "Energy (eV)", 10: "2\u03b8 (\u00b0)",
            400: "Wavelength (nm)", 0: "Temperature (K)"}[xr[0]]
    no_y = rng.random() < 0.6
    ylim, yt, ytl = ticks_for(0, hi, 4, R)
    ax = Axes(R, rect, (xv[0], xv[-1]), (0, hi), xticks=[t for t in xt if xv[0] <= t <= xv[-1]],
              xtl=[s for t, s in zip(xt, xtl) if xv[0] <= t <= xv[-1]],
              yticks=[] if no_y else yt[:-1], ytl=[] if no_y else ytl[:-1],
              xlabel=xlab, ylabel="Intensity (a.u.)", box=True, ticks_in=True)
    ax.draw()
    cv.save()
    ax.clip(cv)
    for i, t in enumerate(traces):
        cv.drawPath(_polyline(ax.X(xv), ax.Y(t)), paint(R.col(i), sw=max(1.0, R.lw * 0.8), join="round"))
    cv.restore()
    if nt > 1 and rng.random() < 0.8:
        labs = rng.choice([["10 K", "50 K", "100 K", "200 K", "300 K"], ["x = 0", "x = 0.1", "x = 0.2", "x = 0.3", "x = 0.4"],
                           ["0 GPa", "2 GPa", "5 GPa", "8 GPa", "12 GPa"]])
        for i, t in enumerate(traces):
            R.text(labs[i], ax.ix1 - R.fs * 0.4, float(ax.Y(t[-40:].mean() + 0.25)), R.fs * 0.9,
                   color=R.col(i), ha="r", va="b")


def r_umap(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    nc = int(rng.integers(4, 11))
    fs = R.fs
    boxed = R.compact or rng.random() < 0.25
    pad = fs * 0.3
    ar = fs * 3.0
    ix0, iy0, ix1, iy1 = x0 + pad, y0 + pad, x1 - pad, y1 - pad - (0 if boxed else fs * 1.6)
    if not boxed:
        ix0 += fs * 1.6
    cen = rng.uniform(0.15, 0.85, (nc, 2))
    pts = []
    for i in range(nc):
        n = int(rng.integers(60, 400))
        s = rng.uniform(0.03, 0.09, 2)
        d = rng.normal(0, 1, (n, 2)) * s + cen[i]
        if rng.random() < 0.3:
            t = rng.uniform(0, 1, n)
            d += np.c_[t * rng.uniform(-0.2, 0.2), t * rng.uniform(-0.2, 0.2)]
        pts.append(np.clip(d, 0.01, 0.99))
    r = max(1.0, min(fs * 0.14, (ix1 - ix0) / 200))
    pal = R.pal if len(R.pal) >= nc else [cmap1("viridis" if R.rng.random() < 0.5 else "jet", t)
                                         for t in np.linspace(0, 1, nc)]
    for i, d in enumerate(pts):
        px = ix0 + d[:, 0] * (ix1 - ix0)
        py = iy0 + d[:, 1] * (iy1 - iy0)
        cv.drawPoints(skia.Canvas.kPoints_PointMode, _pts(px, py), paint(pal[i % len(pal)], 220, sw=2 * r, cap="round"))
    if rng.random() < 0.7:
        for i in range(nc):
            cx = ix0 + cen[i, 0] * (ix1 - ix0)
            cy = iy0 + cen[i, 1] * (iy1 - iy0)
            R.text(str(rng.choice(["T cells", "B cells", "NK", "Mono", "DC", "Epi", "Fib", "Endo", "Stem", str(i)])),
                   cx, cy, fs * 0.9, ha="c", va="m")
    lab = str(rng.choice(["UMAP", "t-SNE ", "PC"]))
    if boxed:
        cv.drawRect(R_(x0 + 0.5, y0 + 0.5, x1 - 0.5, y1 - 0.5), paint(R.fg, sw=max(1.0, R.alw)))
        R.text(lab.strip() + " 1", x0 + fs * 0.5, y1 - fs * 0.4, fs * 0.9)
    else:
        ap = paint(R.fg, sw=max(1.0, R.alw), cap="round")
        bx, by = x0 + fs * 1.2, y1 - fs * 1.2
        cv.drawLine(bx, by, bx + ar, by, ap)
        cv.drawLine(bx, by, bx, by - ar, ap)
        for (ex, ey, dx, dy) in ((bx + ar, by, 1, 0), (bx, by - ar, 0, -1)):
            p = skia.Path()
            h = fs * 0.35
            p.moveTo(ex + dx * h, ey + dy * h)
            p.lineTo(ex - dy * h * 0.6, ey + dx * h * 0.6)
            p.lineTo(ex + dy * h * 0.6, ey - dx * h * 0.6)
            p.close()
            cv.drawPath(p, paint(R.fg))
        R.text(lab.strip() + " 1", bx, y1 - 1, fs * 0.85, ha="l", va="b")
        R.text(lab.strip() + " 2", x0 + R.cap(fs * 0.85), by, fs * 0.85, ha="l", va="b", rot=-90)


def r_heatmap(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    fs = R.fs
    nr = int(rng.integers(6, 31))
    nc = int(rng.integers(4, 21))
    rg, cg = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    rb = np.sort(rng.integers(0, rg, nr))
    cb = np.sort(rng.integers(0, cg, nc))
    M = rng.normal(0, 1, (rg, cg))[rb][:, cb] + rng.normal(0, 0.45, (nr, nc))
    name = R.st.cmap if rng.random() < 0.6 else str(rng.choice(["rdbu", "coolwarm", "viridis", "magma", "ylorrd", "blues"]))
    vmin, vmax = float(np.percentile(M, 2)), float(np.percentile(M, 98))
    if name in ("rdbu", "coolwarm"):
        vmax = max(abs(vmin), abs(vmax))
        vmin = -vmax
    img = cmap(name, (M - vmin) / (vmax - vmin))
    g = R.gap(fs * 0.5)
    rlab_side = rng.choice(["left", "right", "none"])
    rlabs = list(rng.choice(GENES, nr, replace=len(GENES) < nr)) if rlab_side != "none" else []
    lf = fs * 0.8
    rl_w = max([R.tw(s, lf) for s in rlabs] + [0.0])
    clabs = [f"S{i + 1}" for i in range(nc)] if rng.random() < 0.6 else []
    cl_h = max([R.tw(s, lf) for s in clabs] + [0.0])
    cbw = max(6.0, (x1 - x0) * 0.035)
    cb_ticks = [vmin, (vmin + vmax) / 2, vmax]
    cb_tl = [R.num(v, 1) for v in cb_ticks]
    cb_tw = max(R.tw(s, lf) for s in cb_tl)
    cb_label = str(rng.choice(["z-score", "log_{2} FC", "Expression", "Correlation", "Intensity"]))
    right = g + cbw + g * 0.6 + cb_tw + g * 0.6 + R.cap(lf) + R.desc(lf)
    dendro = rng.random() < 0.35
    top = (y1 - y0) * 0.1 + g * 0.5 if dendro else 0.0
    hx0 = x0 + (rl_w + g * 0.6 if rlab_side == "left" else 0.0)
    hx1 = x1 - right - (rl_w + g * 0.6 if rlab_side == "right" else 0.0)
    hy0 = y0 + top + (R.cap(lf) * 0.5 if not dendro else 0.0)
    hy1 = y1 - (cl_h + g * 0.6 if clabs else 0.0)
    if hx1 - hx0 < 30 or hy1 - hy0 < 30:
        hx0, hx1, hy0, hy1 = x0, x1 - right, y0, y1
        rlabs, clabs, dendro = [], [], False
    draw_image(cv, image_from_rgb(img), hx0, hy0, hx1, hy1, smooth=False)
    ch = (hy1 - hy0) / nr
    cw = (hx1 - hx0) / nc
    if cw > 14 and ch > 14 and rng.random() < 0.5:
        gp = paint(WHITE, sw=1)
        for i in range(1, nc):
            cv.drawLine(hx0 + i * cw, hy0, hx0 + i * cw, hy1, gp)
        for j in range(1, nr):
            cv.drawLine(hx0, hy0 + j * ch, hx1, hy0 + j * ch, gp)
    lf2 = min(lf, ch * 0.9)
    if rlabs and lf2 >= 5:
        for j, s in enumerate(rlabs):
            yy = hy0 + (j + 0.5) * ch
            if rlab_side == "left":
                R.text(s, hx0 - g * 0.6, yy, lf2, ha="r", va="m")
            else:
                R.text(s, hx1 + g * 0.6, yy, lf2, ha="l", va="m")
    lf3 = min(lf, cw * 0.9)
    if clabs and lf3 >= 5:
        for i, s in enumerate(clabs):
            R.text(s, hx0 + (i + 0.5) * cw + R.cap(lf3) / 2, hy1 + g * 0.6, lf3, ha="l", va="b", rot=90)
    if dendro:
        dp = paint(R.fg, sw=max(1.0, R.alw * 0.8))
        xs = [hx0 + (i + 0.5) * cw for i in range(nc)]
        hs = [hy0 - g * 0.5] * nc
        while len(xs) > 1:
            i = int(rng.integers(0, len(xs) - 1))
            top_y = min(hs[i], hs[i + 1]) - rng.uniform(0.15, 0.45) * (top - g * 0.5) / max(1, math.log2(nc))
            top_y = max(top_y, y0)
            cv.drawLine(xs[i], hs[i], xs[i], top_y, dp)
            cv.drawLine(xs[i + 1], hs[i + 1], xs[i + 1], top_y, dp)
            cv.drawLine(xs[i], top_y, xs[i + 1], top_y, dp)
            xs[i:i + 2] = [(xs[i] + xs[i + 1]) / 2]
            hs[i:i + 2] = [top_y]
        cv.drawLine(xs[0], hs[0], xs[0], y0, dp)
    # colour bar
    cbx0 = x1 - right + g
    cby0 = hy0 + (hy1 - hy0) * 0.15
    cby1 = hy1 - (hy1 - hy0) * 0.15
    grad = cmap(name, np.linspace(1, 0, 64))[:, None, :]
    draw_image(cv, image_from_rgb(grad), cbx0, cby0, cbx0 + cbw, cby1, smooth=True)
    cv.drawRect(R_(cbx0, cby0, cbx0 + cbw, cby1), paint(R.fg, sw=max(1.0, R.alw * 0.7)))
    for v, s in zip(cb_ticks, cb_tl):
        yy = cby1 - (v - vmin) / (vmax - vmin) * (cby1 - cby0)
        R.text(s, cbx0 + cbw + g * 0.6, yy, lf, ha="l", va="m")
    R.text(cb_label, x1 - R.desc(lf), (cby0 + cby1) / 2, lf, ha="c", va="b", rot=90)


def r_blot(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    fs = R.fs * 0.95
    lanes = int(rng.integers(3, 11))
    nprot = int(rng.integers(2, 6))
    ncond = int(rng.integers(1, 4))
    g = R.gap(fs * 0.35)
    cap = R.cap(fs)
    prots = list(rng.choice(PROTEINS, nprot, replace=False))
    cond_names = list(rng.choice(["Drug", "siRNA", "Dox", "EGF", "Time (h)", "IP: HA", "MG132", "Torin1"], ncond, replace=False))
    lw_ = max(R.tw(s, fs) for s in prots + cond_names) + g * 1.5
    kda = rng.random() < 0.6
    rw = (R.tw("100", fs * 0.85) + fs * 1.2) if kda else 0.0
    sx0, sx1 = x0 + lw_, x1 - rw
    top = ncond * (cap + g * 1.2)
    avail = (y1 - y0) - top - g
    sh = min(avail / nprot - g, fs * 3.2)
    sh = max(sh, 8.0)
    pitch = (sx1 - sx0) / lanes
    # condition rows
    for r_ in range(ncond):
        yy = y0 + r_ * (cap + g * 1.2)
        R.text(cond_names[r_], x0, yy, fs, va="t")
        for l in range(lanes):
            if cond_names[r_] == "Time (h)":
                s = str([0, 1, 2, 4, 8, 12, 24, 48, 72, 96][l % 10])
            else:
                s = "+" if rng.random() < 0.5 else "\u2212"
            R.text(s, sx0 + (l + 0.5) * pitch, yy, fs, ha="c", va="t")
    ys = y0 + top + g
    for k in range(nprot):
        sy0 = ys + k * (sh + g)
        sy1 = sy0 + sh
        base = int(rng.integers(222, 244))
        tex = smooth_noise(rng, 12, 48, base=2, octaves=3)
        tex = np.clip(base - 14 * tex, 0, 255).astype(np.uint8)
        draw_image(cv, image_from_rgb(tex), sx0, sy0, sx1, sy1)
        strength = rng.uniform(0.2, 1.0, lanes) if rng.random() < 0.6 else np.clip(
            np.linspace(rng.uniform(0, 1), rng.uniform(0, 1), lanes) + rng.normal(0, 0.1, lanes), 0.05, 1)
        bh = sh * rng.uniform(0.25, 0.45)
        cyb = (sy0 + sy1) / 2 + rng.uniform(-0.1, 0.1) * sh
        cv.save()
        cv.clipRect(R_(sx0, sy0, sx1, sy1))
        for l in range(lanes):
            cx = sx0 + (l + 0.5) * pitch
            wband = pitch * rng.uniform(0.55, 0.8)
            a = int(40 + 200 * strength[l])
            cv.drawOval(R_(cx - wband / 2, cyb - bh / 2, cx + wband / 2, cyb + bh / 2),
                        paint((20, 20, 20), a, blur=max(0.8, bh * 0.18)))
        cv.restore()
        if rng.random() < 0.3:
            cv.drawRect(R_(sx0, sy0, sx1, sy1), paint((60, 60, 60), sw=1))
        R.text(prots[k], sx0 - g * 1.2, (sy0 + sy1) / 2, fs, ha="r", va="m")
        if kda:
            R.text(str(int(rng.choice([15, 25, 35, 42, 55, 70, 100, 130]))), x1, (sy0 + sy1) / 2, fs * 0.85, ha="r", va="m")
            cv.drawLine(sx1 + g * 0.5, (sy0 + sy1) / 2, sx1 + g * 0.5 + fs * 0.6, (sy0 + sy1) / 2,
                        paint(R.fg, sw=max(1.0, R.alw)))


def _arrow(R, xa, ya, xb, yb, color=None, sw=None, head=None, curve=0.0, dash=None):
    cv = R.cv
    color = color or R.fg
    sw = sw or max(1.0, R.lw * 0.9)
    head = head or max(4.0, R.fs * 0.55)
    L = math.hypot(xb - xa, yb - ya) + 1e-9
    ux, uy = (xb - xa) / L, (yb - ya) / L
    p = skia.Path()
    p.moveTo(xa, ya)
    if curve:
        mx, my = (xa + xb) / 2 - uy * curve * L, (ya + yb) / 2 + ux * curve * L
        ex, ey = xb - (xb - mx) / (math.hypot(xb - mx, yb - my) + 1e-9) * head * 0.8, yb - (yb - my) / (math.hypot(xb - mx, yb - my) + 1e-9) * head * 0.8
        p.quadTo(mx, my, ex, ey)
        dx, dy = xb - mx, yb - my
        n = math.hypot(dx, dy) + 1e-9
        ux, uy = dx / n, dy / n
    else:
        p.lineTo(xb - ux * head * 0.8, yb - uy * head * 0.8)
    cv.drawPath(p, paint(color, sw=sw, dash=dash))
    h = skia.Path()
    h.moveTo(xb, yb)
    h.lineTo(xb - ux * head - uy * head * 0.45, yb - uy * head + ux * head * 0.45)
    h.lineTo(xb - ux * head + uy * head * 0.45, yb - uy * head - ux * head * 0.45)
    h.close()
    cv.drawPath(h, paint(color))


def _multiline(R, s, cx, cy, fs, color=None, w=0):
    lines = s.split("\n")
    pitch = R.cap(fs) * 1.55
    yy = cy - pitch * (len(lines) - 1) / 2
    for ln in lines:
        R.text(ln, cx, yy, fs, color=color, w=w, ha="c", va="m")
        yy += pitch


def _soft(c, t=0.7, bg=WHITE):
    return mix(c, bg, t)


def r_schematic(R, rect, template=None):
    rng = R.rng
    template = template or rng.choice(["flow", "flow", "cell", "setup", "network", "timeline"])
    {"flow": _sch_flow, "cell": _sch_cell, "setup": _sch_setup, "network": _sch_network,
     "timeline": _sch_timeline}[template](R, rect)


def _sch_flow(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    n = int(rng.integers(3, 7))
    rows = 2 if (n >= 4 and w < 1.6 * h and rng.random() < 0.7) else 1
    per = math.ceil(n / rows)
    fs = R.fs
    gapx = max(fs * 2.2, w * 0.06)
    bw = (w - gapx * (per - 1)) / per
    bh = min(h / rows * 0.55, bw * 0.75, fs * 5)
    vgap = (h - rows * bh) / max(rows, 1)
    words = list(rng.choice(BOX_WORDS, n, replace=False))
    rad = bh * rng.choice([0.0, 0.15, 0.3, 0.5])
    fill_mode = rng.choice(["pastel", "white", "solid"])
    centres = []
    for i in range(n):
        r_ = i // per
        c_ = i % per if r_ % 2 == 0 else per - 1 - i % per
        bx = x0 + c_ * (bw + gapx)
        by = y0 + vgap / 2 + r_ * (bh + vgap) if rows > 1 else y0 + (h - bh) / 2
        col = R.col(i)
        rr = skia.RRect.MakeRectXY(R_(bx, by, bx + bw, by + bh), rad, rad)
        if fill_mode == "pastel":
            cv.drawRRect(rr, paint(_soft(col, 0.7, R.bg)))
            tc = R.fg
        elif fill_mode == "solid":
            cv.drawRRect(rr, paint(col))
            tc = WHITE if lum(col) < 150 else BLACK
        else:
            tc = R.fg
        cv.drawRRect(rr, paint(mix(col, R.fg, 0.3), sw=max(1.0, R.lw * 0.8)))
        f = min(fs, bh / 3.2, bw / max(1, max(len(s) for s in words[i].split("\n"))) * 1.6)
        _multiline(R, words[i], bx + bw / 2, by + bh / 2, f, color=tc, w=1 if rng.random() < 0.3 else 0)
        centres.append((bx, by, bx + bw, by + bh))
    for i in range(n - 1):
        a, b = centres[i], centres[i + 1]
        if abs(a[1] - b[1]) < 1:
            if a[0] < b[0]:
                _arrow(R, a[2] + fs * 0.3, (a[1] + a[3]) / 2, b[0] - fs * 0.3, (b[1] + b[3]) / 2)
            else:
                _arrow(R, a[0] - fs * 0.3, (a[1] + a[3]) / 2, b[2] + fs * 0.3, (b[1] + b[3]) / 2)
            if rng.random() < 0.35:
                lab = str(rng.choice(["24 h", "FACS", "n = 3", "QC", "\u00d710", "ROI", "fit"]))
                R.text(lab, ((a[0] + a[2]) / 2 + (b[0] + b[2]) / 2) / 2, min(a[1], b[1]) + bh * 0.12, fs * 0.8,
                       ha="c", va="b")
        else:
            _arrow(R, (a[0] + a[2]) / 2, a[3] + fs * 0.2, (b[0] + b[2]) / 2, b[1] - fs * 0.2)
    if rng.random() < 0.3 and n >= 3:
        a, b = centres[-1], centres[0]
        _arrow(R, (a[0] + a[2]) / 2, a[1] - fs * 0.2 if rows == 1 else a[3] + fs * 0.2, (b[0] + b[2]) / 2,
               b[1] - fs * 0.2 if rows == 1 else b[3] + fs * 0.2,
               curve=0.25 if rows == 1 else -0.25, dash=(R.lw * 3, R.lw * 2))


def _sch_cell(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    fs = R.fs
    top = fs * 3.0
    cx0, cy0, cx1, cy1 = x0 + w * 0.02, y0 + top, x1 - w * 0.02, y1 - h * 0.02
    mem = skia.RRect.MakeRectXY(R_(cx0, cy0, cx1, cy1), w * 0.12, w * 0.12)
    memc = R.col(0)
    cv.drawRRect(mem, paint(_soft(memc, 0.85, R.bg)))
    cv.drawRRect(mem, paint(memc, sw=max(2.0, R.lw * 2)))
    inner = skia.RRect.MakeRectXY(R_(cx0 + R.lw * 3, cy0 + R.lw * 3, cx1 - R.lw * 3, cy1 - R.lw * 3), w * 0.11, w * 0.11)
    cv.drawRRect(inner, paint(memc, sw=max(1.0, R.lw * 0.8)))
    # nucleus
    nx0, ny0 = cx0 + (cx1 - cx0) * 0.55, cy0 + (cy1 - cy0) * 0.45
    nx1, ny1 = cx1 - (cx1 - cx0) * 0.08, cy1 - (cy1 - cy0) * 0.1
    cv.drawOval(R_(nx0, ny0, nx1, ny1), paint(_soft(R.col(1), 0.7, R.bg)))
    cv.drawOval(R_(nx0, ny0, nx1, ny1), paint(R.col(1), sw=max(1.0, R.lw)))
    xs = np.linspace(nx0 + (nx1 - nx0) * 0.2, nx1 - (nx1 - nx0) * 0.2, 60)
    for ph in (0, math.pi):
        yy = (ny0 + ny1) / 2 + np.sin(np.linspace(0, 4 * math.pi, 60) + ph) * (ny1 - ny0) * 0.12
        cv.drawPath(_polyline(xs, yy), paint(R.col(2), sw=max(1.0, R.lw)))
    R.text("Nucleus", (nx0 + nx1) / 2, ny1 - fs * 0.6, fs * 0.85, ha="c", va="b")
    # receptors + ligands
    nrc = int(rng.integers(2, 5))
    for i in range(nrc):
        rx = cx0 + (cx1 - cx0) * (0.2 + 0.6 * i / max(1, nrc - 1))
        c = R.col(3 + i % 2)
        sp = paint(c, sw=max(2.0, R.lw * 1.5), cap="round")
        cv.drawLine(rx, cy0 + fs * 0.8, rx, cy0 - fs * 0.4, sp)
        cv.drawLine(rx, cy0 - fs * 0.4, rx - fs * 0.5, cy0 - fs * 1.1, sp)
        cv.drawLine(rx, cy0 - fs * 0.4, rx + fs * 0.5, cy0 - fs * 1.1, sp)
        cv.drawCircle(rx, cy0 - fs * 1.6, fs * 0.35, paint(R.col(5)))
    R.text(str(rng.choice(["Ligand", "EGF", "Wnt", "TNF-\u03b1", "Antigen"])), x0 + w * 0.02, y0, fs * 0.9, va="t")
    # pathway nodes
    nodes = list(rng.choice(["RAS", "RAF", "MEK", "ERK", "PI3K", "AKT", "mTOR", "JAK", "STAT3", "NF-\u03baB", "\u03b2-cat"], 3, replace=False))
    px = cx0 + (cx1 - cx0) * 0.25
    prev = None
    for k, nm in enumerate(nodes):
        py = cy0 + (cy1 - cy0) * (0.2 + 0.25 * k)
        r = max(R.tw(nm, fs * 0.85) * 0.65, fs * 0.9)
        cv.drawOval(R_(px - r, py - fs * 0.8, px + r, py + fs * 0.8), paint(_soft(R.col(k + 2), 0.5, R.bg)))
        cv.drawOval(R_(px - r, py - fs * 0.8, px + r, py + fs * 0.8), paint(R.col(k + 2), sw=max(1.0, R.lw * 0.7)))
        R.text(nm, px, py, fs * 0.85, ha="c", va="m")
        if prev is not None:
            _arrow(R, px, prev + fs * 0.85, px, py - fs * 0.85)
        prev = py
    _arrow(R, px + fs * 1.2, prev, nx0 - fs * 0.2, (ny0 + ny1) / 2, curve=-0.2)


def _sch_setup(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    fs = R.fs
    ym = y0 + h * 0.45
    comps = ["Laser"] + list(rng.choice(["Lens", "BS", "Filter", "Mirror", "Objective", "Polarizer"], int(rng.integers(2, 4)), replace=False)) + ["Sample", "Detector"]
    n = len(comps)
    xs = np.linspace(x0 + w * 0.08, x1 - w * 0.08, n)
    beam = [(255, 0, 0), (0, 170, 0), (0, 90, 255), (150, 0, 200)][rng.integers(4)]
    cv.drawLine(float(xs[0]), ym, float(xs[-1]), ym, paint(beam, sw=max(2.0, R.lw * 1.6)))
    sz = min(h * 0.25, w / n * 0.5)
    lf = fs * 0.9
    while lf > 6 and max(R.tw(c_, lf) for c_ in comps) > 0.92 * w / n:
        lf *= 0.9
    for i, (x, nm) in enumerate(zip(xs, comps)):
        x = float(x)
        if nm == "Laser":
            cv.drawRect(R_(x0 + 1, ym - sz * 0.45, x + sz * 0.4, ym + sz * 0.45), paint((90, 90, 100)))
        elif nm in ("Lens", "Objective"):
            cv.drawOval(R_(x - sz * 0.15, ym - sz * 0.7, x + sz * 0.15, ym + sz * 0.7), paint((170, 210, 240)))
            cv.drawOval(R_(x - sz * 0.15, ym - sz * 0.7, x + sz * 0.15, ym + sz * 0.7), paint(R.fg, sw=1))
        elif nm in ("Mirror", "BS"):
            cv.save()
            cv.translate(x, ym)
            cv.rotate(45)
            cv.drawRect(R_(-sz * 0.7, -sz * 0.08, sz * 0.7, sz * 0.08), paint((150, 150, 160)))
            cv.restore()
        elif nm == "Detector":
            cv.drawRect(R_(x - sz * 0.3, ym - sz * 0.6, x1 - 1, ym + sz * 0.6), paint((60, 60, 70)))
        elif nm == "Sample":
            cv.drawRect(R_(x - sz * 0.1, ym - sz * 0.8, x + sz * 0.1, ym + sz * 0.8), paint(R.col(1)))
        else:
            cv.drawRect(R_(x - sz * 0.08, ym - sz * 0.6, x + sz * 0.08, ym + sz * 0.6), paint(R.col(2), 200))
        R.text(nm, x, ym + sz * 0.85 + R.gap(fs * 0.4), lf, ha="c", va="t" if i % 2 == 0 or lf > 7 else "t")
    if rng.random() < 0.6:
        tx = float(xs[n // 2])
        _arrow(R, tx, ym - sz * 0.9, tx, y0 + fs * 1.6, dash=(R.lw * 3, R.lw * 2))
        R.text(str(rng.choice(["Pump", "Probe", "Reference", "Camera"])), tx, y0, fs * 0.9, ha="c", va="t")


def _sch_network(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    fs = R.fs
    nl = int(rng.integers(3, 6))
    sizes = [int(rng.integers(2, 7)) for _ in range(nl)]
    top = fs * 1.6
    bottom = fs * 1.6
    xs = np.linspace(x0 + w * 0.08, x1 - w * 0.08, nl)
    r = min(fs * 0.8, (h - top - bottom) / (max(sizes) * 2.6), w / nl * 0.2)
    pos = []
    for i, n in enumerate(sizes):
        ys = np.linspace(y0 + top + r, y1 - bottom - r, n) if n > 1 else np.array([(y0 + y1) / 2])
        pos.append([(float(xs[i]), float(y)) for y in ys])
    lp = paint(mix(R.fg, R.bg, 0.6), sw=max(1.0, R.lw * 0.5))
    for a, b in zip(pos[:-1], pos[1:]):
        for pa in a:
            for pb in b:
                cv.drawLine(pa[0], pa[1], pb[0], pb[1], lp)
    for i, layer in enumerate(pos):
        c = R.col(i)
        for (x, y) in layer:
            cv.drawCircle(x, y, r, paint(_soft(c, 0.3, R.bg)))
            cv.drawCircle(x, y, r, paint(mix(c, R.fg, 0.3), sw=max(1.0, R.lw * 0.7)))
    names = ["Input"] + [f"Hidden {i}" for i in range(1, nl - 1)] + ["Output"]
    for i, nm in enumerate(names):
        R.text(nm, float(xs[i]), y1 - R.desc(fs * 0.9), fs * 0.9, ha="c", va="b")
    R.text(str(rng.choice(["Fully connected", "MLP", "Encoder", "Graph network"])), (x0 + x1) / 2, y0, fs, ha="c", va="t")


def _sch_timeline(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    fs = R.fs
    ym = y0 + h * 0.55
    n = int(rng.integers(3, 7))
    _arrow(R, x0 + fs * 0.2, ym, x1 - 1, ym, sw=max(2.0, R.lw * 1.5))
    xs = np.linspace(x0 + w * 0.06, x1 - w * 0.12, n)
    days = sorted(rng.choice(range(0, 60), n, replace=False))
    icon = min(h * 0.3, w / n * 0.5)
    for i, x in enumerate(xs):
        x = float(x)
        cv.drawLine(x, ym - fs * 0.5, x, ym + fs * 0.5, paint(R.fg, sw=max(1.0, R.lw)))
        R.text(f"Day {days[i]}", x, ym + fs * 0.9, fs * 0.85, ha="c", va="t")
        kind = rng.integers(3)
        c = R.col(i)
        iy = ym - fs * 1.2 - icon
        if kind == 0:
            cv.drawOval(R_(x - icon * 0.5, iy + icon * 0.35, x + icon * 0.5, iy + icon), paint(_soft(c, 0.4, R.bg)))
            cv.drawCircle(x + icon * 0.4, iy + icon * 0.4, icon * 0.15, paint(_soft(c, 0.4, R.bg)))
        elif kind == 1:
            cv.drawRect(R_(x - icon * 0.12, iy, x + icon * 0.12, iy + icon * 0.8), paint(c))
            cv.drawLine(x, iy + icon * 0.8, x, iy + icon, paint(R.fg, sw=max(1.0, R.lw * 0.7)))
        else:
            cv.drawCircle(x, iy + icon * 0.55, icon * 0.4, paint(_soft(c, 0.5, R.bg)))
            cv.drawCircle(x, iy + icon * 0.55, icon * 0.15, paint(c))
        if rng.random() < 0.5:
            lab = str(rng.choice(["Injection", "Imaging", "Harvest", "Behaviour", "Sampling", "Dose"]))
            hw = R.tw(lab, fs * 0.8) / 2
            R.text(lab, min(max(x, x0 + hw + 1), x1 - hw - 1), iy - R.gap(fs * 0.3), fs * 0.8, ha="c", va="b")


def _molecule(rng):
    """Abstract 2-D molecule in bond-length units: (bonds [(p, q, order)], atoms {idx: label}, coords)."""
    pts = []
    bonds = []
    labels = {}

    def ring(cx, cy, rot, aromatic, share=None):
        idx = []
        for k in range(6):
            a = rot + k * math.pi / 3
            p = (cx + math.cos(a), cy + math.sin(a))
            j = next((i for i, q in enumerate(pts) if abs(q[0] - p[0]) < 1e-6 and abs(q[1] - p[1]) < 1e-6), None)
            if j is None:
                pts.append(p)
                j = len(pts) - 1
            idx.append(j)
        for k in range(6):
            a, b = idx[k], idx[(k + 1) % 6]
            if any({a, b} == {p, q} for p, q, _ in bonds):
                continue
            bonds.append((a, b, 2 if aromatic and k % 2 == 0 else 1))
        return idx

    rot = math.pi / 6 if rng.random() < 0.5 else 0.0
    r1 = ring(0.0, 0.0, rot, rng.random() < 0.7)
    rings = [r1]
    if rng.random() < 0.45:
        # fused ring sharing an edge
        k = int(rng.integers(0, 6))
        a, b = pts[r1[k]], pts[r1[(k + 1) % 6]]
        mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
        d = math.hypot(mx, my)
        cx, cy = mx / d * 2 * d, my / d * 2 * d
        rings.append(ring(cx, cy, rot, rng.random() < 0.5))
    subs = ["OH", "NH_{2}", "O", "CH_{3}", "Cl", "F", "Br", "COOH", "OMe", "N", "CF_{3}", "NO_{2}"]
    ring_atoms = sorted(set(i for r in rings for i in r))
    ccx = np.mean([pts[i][0] for i in ring_atoms])
    ccy = np.mean([pts[i][1] for i in ring_atoms])
    cand = [i for i in ring_atoms if sum(1 for p, q, _ in bonds if i in (p, q)) == 2]
    rng.shuffle(cand)
    for i in cand[: int(rng.integers(1, 4))]:
        px, py = pts[i]
        dx, dy = px - ccx, py - ccy
        n = math.hypot(dx, dy) + 1e-9
        dx, dy = dx / n, dy / n
        chain = int(rng.integers(0, 3))
        prev = i
        cx, cy = px, py
        for c in range(chain + 1):
            ang = math.atan2(dy, dx) + (0.52 if c % 2 else -0.52) * (1 if c else 0)
            cx, cy = cx + math.cos(ang), cy + math.sin(ang)
            pts.append((cx, cy))
            j = len(pts) - 1
            bonds.append((prev, j, 2 if (c == chain and rng.random() < 0.25) else 1))
            prev = j
        labels[prev] = str(rng.choice(subs))
    if rng.random() < 0.4:
        # heteroatom in ring
        labels[int(rng.choice(r1))] = str(rng.choice(["N", "O", "S"]))
    return pts, bonds, labels


def _draw_molecule(R, mol, ox, oy, scale):
    cv = R.cv
    pts, bonds, labels = mol
    P = [(ox + x * scale, oy + y * scale) for x, y in pts]
    sw = max(1.0, scale * 0.05)
    bp = paint(R.fg, sw=sw, cap="round")
    cx = np.mean([p[0] for p in P])
    cy = np.mean([p[1] for p in P])
    for a, b, order in bonds:
        (xa, ya), (xb, yb) = P[a], P[b]
        ta = 0.32 if a in labels else 0.0
        tb = 0.32 if b in labels else 0.0
        xa2, ya2 = xa + (xb - xa) * ta, ya + (yb - ya) * ta
        xb2, yb2 = xb + (xa - xb) * tb, yb + (ya - yb) * tb
        cv.drawLine(xa2, ya2, xb2, yb2, bp)
        if order == 2:
            L = math.hypot(xb - xa, yb - ya) + 1e-9
            nx, ny = -(yb - ya) / L, (xb - xa) / L
            mx, my = (xa + xb) / 2, (ya + yb) / 2
            if (cx - mx) * nx + (cy - my) * ny < 0:
                nx, ny = -nx, -ny
            off = scale * 0.17
            s0, s1 = max(ta, 0.15), max(tb, 0.15)
            cv.drawLine(xa + (xb - xa) * s0 + nx * off, ya + (yb - ya) * s0 + ny * off,
                        xb + (xa - xb) * s1 + nx * off, yb + (ya - yb) * s1 + ny * off, bp)
    fs = scale * 0.5
    for i, lab in labels.items():
        R.text(lab, P[i][0], P[i][1], fs, ha="c", va="m")


def _mol_extent(mol):
    """Extent in bond units, including atom labels (label half-widths ~0.35-0.7)."""
    pts, bonds, labels = mol
    l = t = math.inf
    r = b = -math.inf
    for i, (x, y) in enumerate(pts):
        hw = (0.18 + 0.16 * len(re.sub(r"[_{}]", "", labels[i]))) if i in labels else 0.05
        hh = 0.3 if i in labels else 0.05
        l, r, t, b = min(l, x - hw), max(r, x + hw), min(t, y - hh), max(b, y + hh)
    return l, t, r, b


def r_chem(R, rect):
    rng = R.rng
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    nm = 2 if (w > 1.3 * h and rng.random() < 0.7) else 1
    mols = [_molecule(rng) for _ in range(nm)]
    ext = [_mol_extent(m) for m in mols]
    aw = 2.6 if nm == 2 else 0.0
    totw = sum(e[2] - e[0] for e in ext) + aw
    toth = max(e[3] - e[1] for e in ext)
    labh = 0.75
    scale = min(w / totw, h / (toth + labh)) * 0.98
    scale = min(scale, R.fs * 4)
    cx = x0 + (w - totw * scale) / 2
    ytop = y0 + (h - (toth + labh) * scale) / 2
    for k, (m, e) in enumerate(zip(mols, ext)):
        ox = cx - e[0] * scale
        oy = ytop + (toth - (e[3] - e[1])) / 2 * scale - e[1] * scale
        _draw_molecule(R, m, ox, oy, scale)
        lab = str(k + 1 + int(rng.integers(0, 3))) if rng.random() < 0.7 else str(rng.choice(["SM", "P", "L1", "cat."]))
        mol_bot = oy + e[3] * scale
        R.text(lab, cx + (e[2] - e[0]) * scale / 2, mol_bot + R.gap(scale * 0.3), scale * 0.5, w=1, ha="c", va="t")
        cx += (e[2] - e[0]) * scale
        if k == 0 and nm == 2:
            ym = ytop + toth * scale / 2
            ga = R.gap(scale * 0.3)
            _arrow(R, cx + ga, ym, cx + aw * scale - ga, ym, sw=max(1.0, scale * 0.05), head=scale * 0.3)
            R.text(str(rng.choice(["Pd(PPh_{3})_{4}", "hv, 12 h", "NaBH_{4}", "80 \u00b0C", "TFA, DCM", "Cu(I)"])),
                   cx + aw * scale / 2, ym - scale * 0.25, scale * 0.38, ha="c", va="b")
            R.text(str(rng.choice(["THF", "82%", "rt", "MeOH", "N_{2}", "2 h"])), cx + aw * scale / 2, ym + scale * 0.25,
                   scale * 0.38, ha="c", va="t")
            cx += aw * scale


def _deg(v, pos, neg):
    return f"{abs(int(round(v)))}\u00b0{pos if v >= 0 else neg}" if v != 0 else "0\u00b0"


def r_map(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    fs = R.fs * 0.9
    g = R.gap(fs * 0.3)
    lon0 = float(rng.integers(-170, 120))
    span = float(rng.choice([10, 20, 30, 40, 60]))
    lat0 = float(rng.integers(-60, 40))
    lspan = span * rng.uniform(0.5, 0.9)
    step = nice_step(span, 4)
    lsteps = nice_step(lspan, 4)
    xt = [v for v in np.arange(math.ceil(lon0 / step) * step, lon0 + span + 1e-9, step)]
    yt = [v for v in np.arange(math.ceil(lat0 / lsteps) * lsteps, lat0 + lspan + 1e-9, lsteps)]
    ytl = [_deg(v, "N", "S") for v in yt]
    xtl = [_deg(v, "E", "W") for v in xt]
    while len(xt) > 2 and sum(R.tw(t_, fs) for t_ in xtl) + fs * len(xtl) > (x1 - x0) * 0.75:
        xt, xtl = xt[::2], xtl[::2]
    while len(yt) > 2 and len(yt) * R.cap(fs) * 2.4 > (y1 - y0) * 0.8:
        yt, ytl = yt[::2], ytl[::2]
    tick = fs * 0.35
    field_on = rng.random() < 0.5
    cb_side = rng.choice(["right", "bottom"]) if field_on else None
    left = max(R.tw(s, fs) for s in ytl) + tick + g
    bottom = R.cap(fs) + tick + g
    right = R.tw(xtl[-1], fs) / 2 + 1 if xtl else 2
    if cb_side == "right":
        right = max(right, g * 2 + (x1 - x0) * 0.03 + R.tw("30", fs) + g + R.cap(fs) * 1.4)
    if cb_side == "bottom":
        bottom += g * 2 + R.cap(fs) * 2.4 + (y1 - y0) * 0.025
    fx0, fy0, fx1, fy1 = x0 + left, y0 + R.cap(fs) * 0.6, x1 - right, y1 - bottom
    fw, fh = fx1 - fx0, fy1 - fy0
    ocean = rng.choice([(198, 225, 242), (255, 255, 255), (220, 235, 245)])
    land = rng.choice([(236, 226, 200), (210, 210, 210), (200, 225, 190), (245, 245, 240)])
    cv.save()
    cv.clipRect(R_(fx0, fy0, fx1, fy1))
    cv.drawRect(R_(fx0, fy0, fx1, fy1), paint(ocean))
    name = str(rng.choice(["rdbu", "coolwarm", "viridis", "jet", "ylorrd"]))
    if field_on:
        fld = smooth_noise(rng, 40, int(40 * fw / max(fh, 1)) + 2, base=2, octaves=4)
        draw_image(cv, image_from_rgb(cmap(name, fld)), fx0, fy0, fx1, fy1)
    nland = int(rng.integers(1, 4))
    landpath = skia.Path()
    for _ in range(nland):
        cx, cy = fx0 + rng.uniform(0.1, 0.9) * fw, fy0 + rng.uniform(0.1, 0.9) * fh
        r0 = rng.uniform(0.2, 0.55) * min(fw, fh)
        th = np.linspace(0, 2 * np.pi, 240, endpoint=False)
        rr = np.ones_like(th)
        for k in range(2, 24):
            rr += rng.normal(0, 0.35 / k) * np.cos(k * th + rng.uniform(0, 6.3))
        rr = np.clip(rr, 0.25, None)
        px = cx + r0 * rr * np.cos(th) * rng.uniform(0.8, 1.6)
        py = cy + r0 * rr * np.sin(th)
        landpath.addPoly(_pts(px, py), True)
    cv.drawPath(landpath, paint(land))
    cv.drawPath(landpath, paint((70, 70, 70), sw=max(1.0, R.lw * 0.6), join="round"))
    if rng.random() < 0.5:
        gp = paint((120, 120, 120), sw=1, dash=(3, 3))
        for v in xt:
            xx = fx0 + (v - lon0) / span * fw
            cv.drawLine(xx, fy0, xx, fy1, gp)
        for v in yt:
            yy = fy1 - (v - lat0) / lspan * fh
            cv.drawLine(fx0, yy, fx1, yy, gp)
    ns = int(rng.integers(0, 25))
    if ns:
        sx = fx0 + rng.uniform(0.05, 0.95, ns) * fw
        sy = fy0 + rng.uniform(0.05, 0.95, ns) * fh
        mk = rng.choice(["^", "o", "s"])
        for a, b in zip(sx, sy):
            c = R.col(int(rng.integers(0, 3)))
            cv.drawPath(marker_path(mk, float(a), float(b), fs * 0.35), paint(c))
            cv.drawPath(marker_path(mk, float(a), float(b), fs * 0.35), paint(BLACK, sw=1))
    # scale bar + north arrow
    sbx, sby = fx0 + fw * 0.06, fy1 - fh * 0.08
    sbl = fw * 0.2
    cv.drawRect(R_(sbx, sby - fs * 0.2, sbx + sbl / 2, sby + fs * 0.2), paint(BLACK))
    cv.drawRect(R_(sbx + sbl / 2, sby - fs * 0.2, sbx + sbl, sby + fs * 0.2), paint(WHITE))
    cv.drawRect(R_(sbx, sby - fs * 0.2, sbx + sbl, sby + fs * 0.2), paint(BLACK, sw=1))
    R.text(f"{int(rng.choice([50, 100, 200, 500, 1000]))} km", sbx + sbl / 2, sby - fs * 0.45, fs * 0.85,
           color=BLACK, ha="c", va="b")
    if rng.random() < 0.6:
        nx, ny = fx1 - fw * 0.08, fy0 + fh * 0.1
        p = skia.Path()
        p.moveTo(nx, ny)
        p.lineTo(nx + fs * 0.45, ny + fs * 1.4)
        p.lineTo(nx, ny + fs * 1.1)
        p.lineTo(nx - fs * 0.45, ny + fs * 1.4)
        p.close()
        cv.drawPath(p, paint(BLACK))
        R.text("N", nx, ny + fs * 1.6, fs, color=BLACK, w=1, ha="c", va="t")
    cv.restore()
    cv.drawRect(R_(fx0, fy0, fx1, fy1), paint(R.fg, sw=max(1.0, R.alw)))
    tp = paint(R.fg, sw=max(1.0, R.alw * 0.8))
    for v, s in zip(xt, xtl):
        xx = fx0 + (v - lon0) / span * fw
        cv.drawLine(xx, fy1, xx, fy1 + tick, tp)
        R.text(s, xx, fy1 + tick + g, fs, ha="c", va="t")
    for v, s in zip(yt, ytl):
        yy = fy1 - (v - lat0) / lspan * fh
        cv.drawLine(fx0, yy, fx0 - tick, yy, tp)
        R.text(s, fx0 - tick - g, yy, fs, ha="r", va="m")
    if cb_side:
        lab = str(rng.choice(["SST (\u00b0C)", "Precipitation (mm)", "Elevation (m)", "Anomaly (\u00b0C)", "NDVI"]))
        grad = cmap(name, np.linspace(0, 1, 64))
        if cb_side == "right":
            bx0 = fx1 + g * 2
            bw = (x1 - x0) * 0.03
            draw_image(cv, image_from_rgb(grad[::-1, None, :]), bx0, fy0 + fh * 0.1, bx0 + bw, fy1 - fh * 0.1)
            cv.drawRect(R_(bx0, fy0 + fh * 0.1, bx0 + bw, fy1 - fh * 0.1), paint(R.fg, sw=1))
            for t, s in ((0, "0"), (0.5, "15"), (1, "30")):
                R.text(s, bx0 + bw + g, fy1 - fh * 0.1 - t * fh * 0.8, fs, ha="l", va="m")
            R.text(lab, x1 - R.desc(fs), (fy0 + fy1) / 2, fs, ha="c", va="b", rot=90)
        else:
            by0 = fy1 + tick + g + R.cap(fs) + g * 2
            bh = (y1 - y0) * 0.025
            draw_image(cv, image_from_rgb(grad[None, :, :]), fx0 + fw * 0.15, by0, fx1 - fw * 0.15, by0 + bh)
            cv.drawRect(R_(fx0 + fw * 0.15, by0, fx1 - fw * 0.15, by0 + bh), paint(R.fg, sw=1))
            R.text(R.st.minus + "2", fx0 + fw * 0.15, by0 + bh + g * 0.5, fs, ha="c", va="t")
            R.text("2", fx1 - fw * 0.15, by0 + bh + g * 0.5, fs, ha="c", va="t")
            R.text(lab, (fx0 + fx1) / 2, by0 + bh + g * 0.5, fs, ha="c", va="t")


TABLES = [
    (["Method", "Acc. (%)", "F1", "Params (M)"], ["Baseline", "ResNet-50", "ViT-B/16", "U-Net", "Ours", "Ours + TTA", "GCN", "LSTM"]),
    (["Sample", "T_{c} (K)", "a (\u00c5)", "\u03c1 (m\u03a9 cm)", "n (cm^{\u22123})"], ["S1", "S2", "S3", "x = 0.05", "x = 0.10", "x = 0.15", "Bulk", "Film"]),
    (["Site", "Lat.", "Lon.", "Depth (m)", "Age (ka)"], ["ODP 1090", "MD01-2444", "GeoB 3910", "KN-207", "Core A", "Core B", "U1385"]),
    (["Gene", "log_{2}FC", "P value", "FDR"], GENES),
    (["Parameter", "Value", "Unit", "Ref."], ["k_{on}", "k_{off}", "K_{d}", "D", "\u03c4", "V_{max}", "E_{a}"]),
]


def r_table(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    hdr, names = TABLES[int(rng.integers(len(TABLES)))]
    ncol = int(rng.integers(3, len(hdr) + 1))
    hdr = hdr[:ncol]
    nrow = int(rng.integers(3, 9))
    names = list(rng.choice(names, min(nrow, len(names)), replace=False))
    nrow = len(names)
    rows = []
    for nmx in names:
        row = [nmx]
        for c in range(1, ncol):
            v = rng.uniform(0, 100) if rng.random() < 0.5 else rng.uniform(0, 1)
            if rng.random() < 0.3:
                row.append(f"{v:.2f} \u00b1 {v * 0.05:.2f}")
            else:
                row.append(f"{v:.3g}")
        rows.append(row)
    fs = R.fs
    for _ in range(30):
        cws = [max(R.tw(r[c], fs, w=1 if i == 0 else 0) for i, r in enumerate([hdr] + rows)) for c in range(ncol)]
        pad = fs * 1.2
        tot = sum(cws) + pad * (ncol - 1)
        cap = R.cap(fs)
        pitch = cap + R.gap(cap * 0.9)
        toth = pitch * (nrow + 1) + R.gap(cap * 0.8) * 2
        if (tot <= (x1 - x0) and toth <= (y1 - y0)) or fs < 6:
            break
        if ncol > 3 and fs < R.fs * 0.7:
            ncol -= 1
            hdr = hdr[:ncol]
            rows = [r[:ncol] for r in rows]
            continue
        fs *= 0.9
    if not R.compact and R.max_gap == math.inf:
        pitch = min(max(pitch, (y1 - y0 - cap * 2) / (nrow + 1.5)), cap * 2.4)
    tx0 = x0 + max(0.0, ((x1 - x0) - tot) / 2) if rng.random() < 0.5 else x0
    tx1 = tx0 + tot
    heavy = paint(R.fg, sw=max(1.5, R.alw * 1.6))
    light = paint(R.fg, sw=max(1.0, R.alw * 0.8))
    y = y0 + heavy.getStrokeWidth() / 2
    cv.drawLine(tx0, y, tx1, y, heavy)
    y += R.gap(cap * 0.8)
    xs = [tx0]
    for c in range(1, ncol):
        xs.append(xs[-1] + cws[c - 1] + pad)
    for c in range(ncol):
        R.text(hdr[c], xs[c], y, fs, w=1, va="t")
    y += cap + R.gap(cap * 0.8)
    cv.drawLine(tx0, y, tx1, y, light)
    y += R.gap(cap * 0.8)
    best = int(rng.integers(0, nrow))
    for j, r in enumerate(rows):
        for c in range(ncol):
            R.text(r[c], xs[c], y, fs, w=1 if (j == best and c > 0 and rng.random() < 0.5) else 0, va="t")
        y += pitch
    y = y - pitch + cap + R.gap(cap * 0.8)
    cv.drawLine(tx0, y, tx1, y, heavy)


EQUATIONS = [
    "\u2202u/\u2202t = D\u2207^{2}u + f(u, v)",
    "E = \u0127\u03c9 (n + 1/2)",
    "H = \u2212J \u03a3 S_{i} \u00b7 S_{j} \u2212 h \u03a3 S_{i}^{z}",
    "\u03c3(\u03c9) = ne^{2}\u03c4 / m(1 \u2212 i\u03c9\u03c4)",
    "L = \u2212\u03a3 y_{i} log p_{i} + \u03bb\u2016\u03b8\u2016^{2}",
    "dN/dt = rN(1 \u2212 N/K)",
    "G(r) = \u27e8\u03c1(0)\u03c1(r)\u27e9 \u2212 \u27e8\u03c1\u27e9^{2}",
    "\u0394G = \u0394H \u2212 T\u0394S",
    "\u03c8(x, t) = A e^{i(kx \u2212 \u03c9t)}",
    "P(k) \u221d k^{\u2212\u03b3},  \u03b3 = 2.1 \u00b1 0.1",
]


def r_equation(R, rect):
    rng = R.rng
    x0, y0, x1, y1 = rect
    tk = TextKit("stix")
    n = int(rng.integers(2, 5))
    eqs = list(rng.choice(EQUATIONS, n, replace=False))
    fs = R.fs * 1.3
    while fs > 8 and max(tk.width(e, fs, 2) for e in eqs) + tk.width("(9)", fs) * 2 > (x1 - x0):
        fs *= 0.9
    cap = tk.cap(fs)
    pitch = cap * 1.3 + R.gap(cap * 0.9)
    y = y0 + cap * 0.4
    numbered = R.max_gap == math.inf
    for k, e in enumerate(eqs):
        if numbered:
            tk.draw(R.cv, e, x0 + (x1 - x0) * 0.05, y, fs, R.fg, w=2, va="t")
            tk.draw(R.cv, f"({k + 1})", x1 - 1, y, fs, R.fg, w=0, ha="r", va="t")
        else:
            tk.draw(R.cv, e, x0, y, fs, R.fg, w=2, va="t")
        y += pitch


# ----------------------------------------------------------------------------
# photo-like panels (full-bleed inside rect); each returns a tone: dark / mid / light
# ----------------------------------------------------------------------------

PLUS = skia.BlendMode.kPlus
CHANNELS = {"DAPI": (60, 110, 255), "GFP": (40, 255, 70), "mCherry": (255, 50, 60), "Cy5": (255, 40, 220),
            "Phalloidin": (255, 60, 200), "Tuj1": (40, 255, 70), "Ki-67": (255, 60, 60), "Hoechst": (70, 120, 255),
            "YFP": (250, 240, 40), "tdTomato": (255, 70, 70), "Sox2": (40, 250, 250)}


def _grain(R, rect, amp, mono=True, plus=True):
    """Sensor grain: additive (plus=True) or a faint grey noise veil mixed over the photo."""
    x0, y0, x1, y1 = rect
    w, h = int(max(2, (x1 - x0) / 2)), int(max(2, (y1 - y0) / 2))
    if plus:
        n = R.rng.integers(0, amp + 1, (h, w) if mono else (h, w, 3)).astype(np.uint8)
        draw_image(R.cv, image_from_rgb(n), x0, y0, x1, y1, smooth=True, blend=PLUS)
    else:
        n = R.rng.integers(0, 256, (h, w) if mono else (h, w, 3)).astype(np.uint8)
        draw_image(R.cv, image_from_rgb(n), x0, y0, x1, y1, smooth=True, alpha=max(4, min(60, amp)))


def _blob(rng, cx, cy, r, irregular=0.25, n=28):
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rr = np.ones(n)
    for k in range(2, 6):
        rr += rng.normal(0, irregular / k) * np.cos(k * th + rng.uniform(0, 6.3))
    rr = np.clip(rr, 0.4, 1.8) * r
    ex = rng.uniform(0.7, 1.3)
    rot = rng.uniform(0, np.pi)
    xs = rr * np.cos(th) * ex
    ys = rr * np.sin(th) / ex
    X = cx + xs * math.cos(rot) - ys * math.sin(rot)
    Y = cy + xs * math.sin(rot) + ys * math.cos(rot)
    return _smooth_path(np.r_[X, X[:1]], np.r_[Y, Y[:1]])


def p_fluor(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    cv.drawRect(R_(x0, y0, x1, y1), paint((0, 0, 0)))
    names = list(CHANNELS)
    ch = [CHANNELS[n] for n in rng.choice([n for n in names if n not in ("DAPI", "Hoechst")], 2, replace=False)]
    nuc = CHANNELS["DAPI"]
    single = rng.random() < 0.35
    if single:
        ch = [ch[0]]
        if rng.random() < 0.5:
            ch = [(230, 230, 230)]
    haze = smooth_noise(rng, 24, max(3, int(24 * w / max(h, 1))), base=2, octaves=3)
    hz = (haze[..., None] * np.array(ch[0]) * rng.uniform(0.05, 0.18)).astype(np.uint8)
    draw_image(cv, image_from_rgb(hz), x0, y0, x1, y1, blend=PLUS)
    style = rng.choice(["cells", "cells", "neurons", "tissue", "puncta"])
    mn = min(w, h)
    if style in ("cells", "puncta"):
        r = mn * rng.uniform(0.04, 0.11)
        n = int(np.clip(w * h / (r * r * rng.uniform(6, 25)), 3, 220))
        for _ in range(n):
            cx, cy = x0 + rng.uniform(-0.05, 1.05) * w, y0 + rng.uniform(-0.05, 1.05) * h
            c = ch[int(rng.integers(len(ch)))]
            cv.drawPath(_blob(rng, cx, cy, r, 0.35), paint(c, int(rng.integers(70, 200)), blur=r * 0.18, blend=PLUS))
            if not single or rng.random() < 0.5:
                cv.drawOval(R_(cx - r * 0.4, cy - r * 0.33, cx + r * 0.4, cy + r * 0.33),
                            paint(nuc, int(rng.integers(130, 240)), blur=r * 0.07, blend=PLUS))
            if style == "puncta":
                for _ in range(int(rng.integers(3, 12))):
                    px, py = cx + rng.normal(0, r * 0.5), cy + rng.normal(0, r * 0.5)
                    cv.drawCircle(px, py, max(1.0, r * 0.07), paint(ch[-1], 255, blur=max(0.5, r * 0.03), blend=PLUS))
    elif style == "neurons":
        c = ch[0]
        for _ in range(int(rng.integers(3, 10))):
            sx, sy = x0 + rng.uniform(0, 1) * w, y0 + rng.uniform(0, 1) * h
            cv.drawCircle(sx, sy, mn * 0.025, paint(c, 230, blur=mn * 0.006, blend=PLUS))
            for _ in range(int(rng.integers(3, 7))):
                xs_, ys_ = [sx], [sy]
                ang = rng.uniform(0, 2 * np.pi)
                for _ in range(int(rng.integers(6, 20))):
                    ang += rng.normal(0, 0.35)
                    xs_.append(xs_[-1] + math.cos(ang) * mn * 0.03)
                    ys_.append(ys_[-1] + math.sin(ang) * mn * 0.03)
                cv.drawPath(_smooth_path(np.array(xs_), np.array(ys_)),
                            paint(c, int(rng.integers(120, 230)), sw=max(1.0, mn * 0.004), blur=0.6, blend=PLUS))
            if not single:
                cv.drawCircle(sx, sy, mn * 0.014, paint(nuc, 220, blur=mn * 0.004, blend=PLUS))
    else:
        r = mn * rng.uniform(0.008, 0.02)
        n = int(np.clip(w * h / (r * r * rng.uniform(12, 40)), 50, 1500))
        sig = smooth_noise(rng, 32, max(3, int(32 * w / max(h, 1))), base=3, octaves=3)
        sig = (np.clip((sig - 0.45) * 2.5, 0, 1)[..., None] * np.array(ch[0]) * 0.8).astype(np.uint8)
        draw_image(cv, image_from_rgb(sig), x0, y0, x1, y1, blend=PLUS)
        pts = _pts(x0 + rng.uniform(0, 1, n) * w, y0 + rng.uniform(0, 1, n) * h)
        cv.drawPoints(skia.Canvas.kPoints_PointMode, pts, paint(nuc, 200, sw=r * 2, cap="round", blur=r * 0.3, blend=PLUS))
    _grain(R, rect, int(rng.integers(8, 30)))
    return "dark"


def p_histo(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    mn = min(w, h)
    ihc = rng.random() < 0.3
    light_c = (236, 214, 226) if not ihc else (232, 226, 214)
    deep_c = (205, 120, 170) if not ihc else (190, 160, 120)
    f = smooth_noise(rng, 48, max(3, int(48 * w / max(h, 1))), base=3, octaves=4)
    img = (np.array(light_c) * (1 - f[..., None]) + np.array(deep_c) * f[..., None]).astype(np.uint8)
    draw_image(cv, image_from_rgb(img), x0, y0, x1, y1)
    for _ in range(int(rng.integers(0, 5))):
        r = mn * rng.uniform(0.06, 0.18)
        cx, cy = x0 + rng.uniform(r * 1.3, w - r * 1.3 + 1e-3), y0 + rng.uniform(r * 1.3, h - r * 1.3 + 1e-3)
        cv.drawPath(_blob(rng, cx, cy, r, 0.3), paint((240, 228, 236), 230, blur=r * 0.05))
        for k in range(int(r * 0.5)):
            a = rng.uniform(0, 2 * np.pi)
            rr = r * rng.uniform(1.0, 1.25)
            cv.drawOval(R_(cx + rr * math.cos(a) - mn * 0.008, cy + rr * math.sin(a) - mn * 0.006,
                           cx + rr * math.cos(a) + mn * 0.008, cy + rr * math.sin(a) + mn * 0.006),
                        paint((85, 45, 125), 220, blur=0.6))
    n = int(np.clip(w * h / (mn * mn) * rng.uniform(150, 600), 80, 3000))
    r = mn * rng.uniform(0.005, 0.01)
    pts = _pts(x0 + rng.uniform(0, 1, n) * w, y0 + rng.uniform(0, 1, n) * h)
    cv.drawPoints(skia.Canvas.kPoints_PointMode, pts, paint((80, 40, 120) if not ihc else (70, 60, 140), 190,
                                                            sw=r * 2, cap="round", blur=r * 0.3))
    if ihc:
        m = int(n * 0.3)
        pts = _pts(x0 + rng.uniform(0, 1, m) * w, y0 + rng.uniform(0, 1, m) * h)
        cv.drawPoints(skia.Canvas.kPoints_PointMode, pts, paint((120, 70, 30), 200, sw=r * 3, cap="round", blur=r * 0.5))
    _grain(R, rect, 14, mono=False, plus=False)
    return "light"


def p_em(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    mn = min(w, h)
    f = smooth_noise(rng, 64, max(3, int(64 * w / max(h, 1))), base=4, octaves=4)
    base = rng.uniform(110, 170)
    img = np.clip(base - 30 + 60 * f, 0, 255).astype(np.uint8)
    draw_image(cv, image_from_rgb(img), x0, y0, x1, y1)
    for _ in range(int(rng.integers(3, 12))):
        r = mn * rng.uniform(0.04, 0.14)
        cx, cy = x0 + rng.uniform(0, 1) * w, y0 + rng.uniform(0, 1) * h
        path = _blob(rng, cx, cy, r, 0.3)
        cv.drawPath(path, paint((int(base * 0.8),) * 3, 200))
        cv.drawPath(path, paint((30, 30, 30), 230, sw=max(1.5, mn * 0.006), blur=0.7))
        if rng.random() < 0.5:
            for k in range(int(rng.integers(2, 6))):
                yy = cy - r * 0.6 + k * r * 0.3
                cv.drawLine(cx - r * 0.6, yy, cx + r * 0.6, yy + rng.normal(0, r * 0.1),
                            paint((40, 40, 40), 200, sw=max(1.0, mn * 0.004), blur=0.6))
    n = int(rng.integers(10, 80))
    for _ in range(n):
        r = mn * rng.uniform(0.005, 0.018)
        cx, cy = x0 + rng.uniform(0, 1) * w, y0 + rng.uniform(0, 1) * h
        cv.drawCircle(cx, cy, r, paint((35, 35, 35), 220, sw=max(1.0, r * 0.3), blur=0.5))
    _grain(R, rect, int(rng.integers(20, 45)), plus=True)
    return "mid"


def p_bright(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    mn = min(w, h)
    bg = int(rng.integers(196, 222))
    cv.drawRect(R_(x0, y0, x1, y1), paint((bg, bg, bg - int(rng.integers(0, 12)))))
    sh = skia.GradientShader.MakeRadial(skia.Point((x0 + x1) / 2, (y0 + y1) / 2), max(w, h) * 0.75,
                                        [C((0, 0, 0), 0), C((0, 0, 0), 70)])
    p = skia.Paint()
    p.setShader(sh)
    cv.drawRect(R_(x0, y0, x1, y1), p)
    r = mn * rng.uniform(0.03, 0.08)
    n = int(np.clip(w * h / (r * r * rng.uniform(8, 30)), 5, 300))
    for _ in range(n):
        cx, cy = x0 + rng.uniform(0, 1) * w, y0 + rng.uniform(0, 1) * h
        path = _blob(rng, cx, cy, r, 0.4)
        cv.drawPath(path, paint((bg - 40,) * 3, 120))
        cv.drawPath(path, paint((250, 250, 250), 140, sw=max(2.0, r * 0.18), blur=r * 0.08))
        cv.drawPath(path, paint((60, 60, 60), 200, sw=max(1.0, r * 0.06), blur=0.5))
        if rng.random() < 0.6:
            cv.drawCircle(cx, cy, r * 0.25, paint((90, 90, 90), 150, blur=r * 0.05))
    _grain(R, rect, 14, plus=False)
    return "light"


def p_gel(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    inv = rng.random() < 0.3
    bgv = int(rng.integers(15, 45)) if not inv else int(rng.integers(205, 228))
    cv.drawRect(R_(x0, y0, x1, y1), paint((bgv, bgv, bgv)))
    band = (235, 235, 235) if not inv else (20, 20, 20)
    if not inv and rng.random() < 0.3:
        band = (255, 190, 90)
    lanes = int(rng.integers(5, 15))
    pitch = w / (lanes + 0.5)
    for l in range(lanes):
        cx = x0 + (l + 0.75) * pitch
        bw = pitch * 0.7
        cv.drawRect(R_(cx - bw / 2, y0 + h * 0.04, cx + bw / 2, y0 + h * 0.07), paint(mix((bgv,) * 3, band, 0.25)))
        nb = 12 if l == 0 else int(rng.integers(1, 5))
        ys = np.sort(rng.uniform(0.12, 0.95, nb)) if l else np.linspace(0.12, 0.92, nb) ** 1.3
        for yy in ys:
            a = int(rng.integers(90, 255))
            hh = h * rng.uniform(0.012, 0.025)
            cv.drawRect(R_(cx - bw / 2, y0 + yy * h - hh, cx + bw / 2, y0 + yy * h + hh),
                        paint(band, a, blur=max(0.8, hh * 0.5)))
    _grain(R, rect, 12, plus=not inv)
    return "dark" if not inv else "light"


def p_field(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    name = str(rng.choice(["magma", "inferno", "viridis", "cividis", "greys", "jet"]))
    mode = rng.choice(["lattice", "topo", "diffraction"])
    gh = 160
    gw = max(3, int(gh * w / max(h, 1)))
    if mode == "lattice":
        a = rng.uniform(6, 14)
        yy, xx = np.mgrid[0:gh, 0:gw].astype(float)
        th = rng.uniform(0, np.pi)
        u = (xx * math.cos(th) + yy * math.sin(th)) / a
        v = (-xx * math.sin(th) + yy * math.cos(th)) / a
        f = (np.cos(2 * np.pi * u) + np.cos(2 * np.pi * (u / 2 + v * 0.866)) + np.cos(2 * np.pi * (u / 2 - v * 0.866)))
        f = (f - f.min()) / np.ptp(f)
        f = 0.7 * f + 0.3 * smooth_noise(rng, gh, gw, base=3, octaves=4)
    elif mode == "topo":
        f = smooth_noise(rng, gh, gw, base=2, octaves=5)
    else:
        f = np.zeros((gh, gw))
        yy, xx = np.mgrid[0:gh, 0:gw].astype(float)
        a = rng.uniform(10, 25)
        for i in range(-6, 7):
            for j in range(-6, 7):
                cx, cy = gw / 2 + i * a + j * a * 0.5, gh / 2 + j * a * 0.866
                if 0 <= cx < gw and 0 <= cy < gh:
                    f += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 3.0) * math.exp(-(i * i + j * j) / 30)
        f = np.clip(f / max(f.max(), 1e-9), 0, 1) ** 0.6
        name = str(rng.choice(["greys", "magma", "inferno"]))
        if name == "greys":
            f = 1 - f
    draw_image(cv, image_from_rgb(cmap(name, f)), x0, y0, x1, y1)
    if name == "greys":
        return "dark" if mode == "diffraction" else "mid"
    return "dark" if name in DARK_CMAPS else "mid"


def p_landscape(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    sky = skia.GradientShader.MakeLinear([skia.Point(x0, y0), skia.Point(x0, y0 + h * 0.6)],
                                         [C((95, 140, 200)), C((185, 205, 225))])
    p = skia.Paint()
    p.setShader(sky)
    cv.drawRect(R_(x0, y0, x1, y1), p)
    hor = y0 + h * rng.uniform(0.3, 0.6)
    xs = np.linspace(x0, x1, 80)
    for k, col in enumerate([(120, 130, 150), (95, 110, 95)]):
        prof = smooth_noise(rng, 2, 80, base=1, octaves=4)[0]
        ys = hor - (0.25 - 0.12 * k) * h * prof
        path = skia.Path()
        path.addPoly(_pts(np.r_[xs, x1, x0], np.r_[ys, y1, y1]), True)
        cv.drawPath(path, paint(col))
    f = smooth_noise(rng, 40, max(3, int(40 * w / max(h, 1))), base=4, octaves=4)
    img = (np.array((70, 95, 50)) * (1 - f[..., None]) + np.array((150, 130, 90)) * f[..., None]).astype(np.uint8)
    cv.save()
    cv.clipRect(R_(x0, hor + h * 0.05, x1, y1))
    draw_image(cv, image_from_rgb(img), x0, y0, x1, y1)
    cv.restore()
    _grain(R, rect, 18, mono=False, plus=False)
    return "mid"


def p_satellite(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    gh = 120
    gw = max(3, int(gh * w / max(h, 1)))
    f = smooth_noise(rng, gh, gw, base=3, octaves=5)
    g2 = smooth_noise(rng, gh, gw, base=6, octaves=3)
    img = np.zeros((gh, gw, 3))
    cls = [(f < 0.25), (f >= 0.25) & (g2 < 0.5), (f >= 0.25) & (g2 >= 0.5) & (f < 0.7), (f >= 0.7)]
    cols = [(28, 55, 90), (45, 85, 45), (145, 150, 85), (165, 135, 100)]
    for m, c in zip(cls, cols):
        img[m] = c
    img = np.clip(img + (g2[..., None] - 0.5) * 30, 0, 255).astype(np.uint8)
    draw_image(cv, image_from_rgb(img), x0, y0, x1, y1)
    for _ in range(int(rng.integers(1, 5))):
        pts_x = np.linspace(x0 - 5, x1 + 5, 5)
        pts_y = rng.uniform(y0, y1) + np.cumsum(rng.normal(0, (y1 - y0) * 0.06, 5))
        if rng.random() < 0.5:
            pts_x, pts_y = rng.uniform(x0, x1) + np.cumsum(rng.normal(0, (x1 - x0) * 0.06, 5)), np.linspace(y0 - 5, y1 + 5, 5)
        cv.drawPath(_smooth_path(pts_x, pts_y), paint((185, 180, 170), 220, sw=max(1.0, min(w, h) * 0.004)))
    _grain(R, rect, 16, mono=False, plus=False)
    return "mid"


PHOTOS = {"fluor": p_fluor, "histology": p_histo, "em": p_em, "brightfield": p_bright, "gel": p_gel,
          "field": p_field, "landscape": p_landscape, "satellite": p_satellite}
PHOTO_TONE = {"fluor": "dark", "gel": "dark", "field": "dark", "em": "mid", "landscape": "mid",
              "satellite": "mid", "histology": "light", "brightfield": "light"}
MICRO = ("fluor", "histology", "em", "brightfield", "field")


def scale_bar(R, rect, color, where="br", label=True):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    L = w * rng.uniform(0.12, 0.3)
    th = max(2.0, min(w, h) * rng.uniform(0.012, 0.025))
    m = min(w, h) * 0.06
    bx = x1 - m - L if where == "br" else x0 + m
    by = y1 - m - th
    cv.drawRect(R_(round(bx), round(by), round(bx + L), round(by + th)), paint(color, aa=False))
    if label:
        fs = float(np.clip(min(w, h) * 0.07, 9, R.fs * 1.1))
        lab = str(rng.choice(["10 \u00b5m", "50 \u00b5m", "100 \u00b5m", "20 \u00b5m", "5 \u00b5m", "200 nm", "2 nm", "1 mm", "500 nm"]))
        R.text(lab, bx + L / 2, by - th * 0.6, fs, color=color, ha="c", va="b")


def draw_photo(R, kind, rect, overlays=True, avoid=None):
    tone = PHOTOS[kind](R, rect)
    rng = R.rng
    if not overlays:
        return tone
    oc = WHITE if tone != "light" else BLACK
    x0, y0, x1, y1 = rect
    if kind in MICRO and rng.random() < 0.7:
        where = "br" if rng.random() < 0.8 else "bl"
        if where == avoid:
            where = "bl" if where == "br" else "br"
        scale_bar(R, rect, oc, where=where, label=rng.random() < 0.55)
    if kind == "fluor" and rng.random() < 0.4:
        fs = float(np.clip(min(x1 - x0, y1 - y0) * 0.07, 9, R.fs * 1.1))
        names = list(rng.choice(list(CHANNELS), int(rng.integers(1, 3)), replace=False))
        yy = y0 + fs * 0.5
        right = avoid != "tr"
        for nm in names:
            R.text(nm, x1 - fs * 0.5 if right else x0 + fs * 0.5, yy, fs, color=CHANNELS[nm], ha="r" if right else "l", va="t")
            yy += fs * 1.25
    if kind in MICRO and rng.random() < 0.25:
        for _ in range(int(rng.integers(1, 4))):
            ax_, ay_ = x0 + rng.uniform(0.2, 0.8) * (x1 - x0), y0 + rng.uniform(0.2, 0.8) * (y1 - y0)
            s = min(x1 - x0, y1 - y0) * 0.05
            p = skia.Path()
            p.moveTo(ax_, ay_)
            p.lineTo(ax_ + s, ay_ - s * 0.4)
            p.lineTo(ax_ + s * 0.4, ay_ - s)
            p.close()
            R.cv.drawPath(p, paint((255, 255, 0) if tone != "light" else BLACK))
    if kind in MICRO and rng.random() < 0.15:
        bw = (x1 - x0) * rng.uniform(0.15, 0.3)
        bx, by = x0 + rng.uniform(0.1, 0.6) * (x1 - x0), y0 + rng.uniform(0.1, 0.6) * (y1 - y0)
        R.cv.drawRect(R_(bx, by, bx + bw, by + bw), paint(oc, sw=max(1.0, R.lw * 0.8), dash=(4, 3)))
    return tone


# ----------------------------------------------------------------------------
# content dispatch
# ----------------------------------------------------------------------------

CONTENT = {
    "line": r_line, "scatter": r_scatter, "bar": r_bar, "dist": r_dist, "hist": r_hist,
    "heatmap": r_heatmap, "spectrum": r_spectrum, "umap": r_umap, "blot": r_blot,
    "schematic": r_schematic, "chem": r_chem, "map": r_map, "table": r_table, "equation": r_equation,
}
PLAIN_KINDS = {"line": 14, "bar": 14, "scatter": 8, "dist": 8, "hist": 4, "heatmap": 8, "spectrum": 4,
               "umap": 4, "blot": 5, "schematic": 8, "chem": 3, "map": 4, "table": 3, "equation": 1}
TINT_KINDS = {"line": 14, "bar": 12, "scatter": 8, "dist": 6, "heatmap": 6, "spectrum": 3, "umap": 3,
              "schematic": 10, "chem": 3, "map": 4, "table": 4, "hist": 3}
DARK_KINDS = {"line": 10, "bar": 10, "scatter": 6, "schematic": 10, "umap": 5, "hist": 3, "dist": 4}
PHOTO_KINDS = {"fluor": 30, "histology": 12, "em": 10, "brightfield": 10, "gel": 8, "field": 10,
               "landscape": 5, "satellite": 5}
DARK_PHOTOS = {"fluor": 40, "gel": 10, "field": 15}
DARKMID_PHOTOS = {"fluor": 30, "gel": 8, "field": 12, "em": 10, "satellite": 5, "landscape": 4}
LIGHT_PHOTOS = {"histology": 10, "brightfield": 10}
DARK_FILLS = [(18, 38, 88), (12, 30, 66), (140, 20, 32), (110, 0, 20), (0, 105, 110), (0, 80, 90),
              (0, 0, 0), (25, 25, 28), (70, 30, 100), (20, 80, 50), (190, 60, 0), (0, 70, 140), (120, 0, 90)]
PASTEL_FILLS = [(222, 235, 247), (253, 224, 221), (229, 245, 224), (255, 245, 204), (236, 231, 242),
                (240, 240, 240), (225, 240, 240), (250, 232, 210), (230, 230, 245)]


def wpick(rng, table):
    keys = list(table)
    p = np.array([table[k] for k in keys], float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def draw_content(R, kind, rect):
    x0, y0, x1, y1 = rect
    if x1 - x0 < 24 or y1 - y0 < 24:
        return
    CONTENT[kind](R, rect)


# ----------------------------------------------------------------------------
# layout tree
# ----------------------------------------------------------------------------

class Leaf:
    def __init__(self, aspect):
        self.aspect = float(aspect)


class Grid:
    def __init__(self, rows, cols, children, hg=0, vg=0, colw=None):
        assert len(children) == rows * cols
        self.rows, self.cols, self.children = rows, cols, children
        self.hg = list(hg) if isinstance(hg, (list, tuple)) else [int(hg)] * (cols - 1)
        self.vg = list(vg) if isinstance(vg, (list, tuple)) else [int(vg)] * (rows - 1)
        self.hg = [int(v) for v in self.hg]
        self.vg = [int(v) for v in self.vg]
        self.colw = colw or [1.0] * cols


def split_int(total, weights):
    w = np.asarray(weights, float)
    w = w / w.sum()
    raw = w * total
    fl = np.floor(raw).astype(int)
    rem = int(total - fl.sum())
    order = np.argsort(-(raw - fl))
    fl[order[:rem]] += 1
    return [int(v) for v in fl]


def natural_h(node, width):
    if isinstance(node, Leaf):
        return width * node.aspect
    cws = split_int(width - sum(node.hg), node.colw)
    tot = 0.0
    for r in range(node.rows):
        tot += float(np.mean([natural_h(node.children[r * node.cols + c], cws[c]) for c in range(node.cols)]))
    return tot + sum(node.vg)


def assign(node, x0, y0, x1, y1, out):
    if isinstance(node, Leaf):
        out.append((int(x0), int(y0), int(x1), int(y1)))
        return
    cws = split_int(x1 - x0 - sum(node.hg), node.colw)
    nat = [max(1e-3, float(np.mean([natural_h(node.children[r * node.cols + c], cws[c]) for c in range(node.cols)])))
           for r in range(node.rows)]
    rhs = split_int(y1 - y0 - sum(node.vg), nat)
    y = y0
    for r in range(node.rows):
        x = x0
        for c in range(node.cols):
            assign(node.children[r * node.cols + c], x, y, x + cws[c], y + rhs[r], out)
            x += cws[c] + (node.hg[c] if c < node.cols - 1 else 0)
        y += rhs[r] + (node.vg[r] if r < node.rows - 1 else 0)


def simple_grid(node):
    return isinstance(node, Grid) and all(isinstance(c, Leaf) for c in node.children)


# ----------------------------------------------------------------------------
# figure specification
# ----------------------------------------------------------------------------

@dataclass
class PanelSpec:
    cell: tuple
    surface: str                    # plain / tint / fill / photo / framed / ruled
    kind: str
    seed: int
    fill: tuple = None
    frame: tuple = None             # (colour, width)
    letter: str = None
    lpos: str = "tl"
    max_gap: float = math.inf
    phrase: str = ""
    title: str = None
    rect: tuple = None              # panel rectangle (cell minus outside-letter band)
    lout: tuple = None              # outside letter anchor (x, y, ha, va)
    box: tuple = None
    tone: str = None
    pad: float = None
    lout_size: float = 0.0
    custom: Callable = None


@dataclass
class FigSpec:
    family: str
    W: int
    H: int
    st: Style
    panels: list
    bg: tuple = WHITE
    pre: list = field(default_factory=list)       # (rect, colour) drawn before the panels
    texts: list = field(default_factory=list)     # (s, x, y, size, colour, ha, va, rot, bold)
    fmt: str = "png"
    quality: int = 90
    subsampling: int = 0
    post: tuple = None
    has_letters: bool = True
    caption: str = ""
    subs: list = None
    min_gutter: int = 0


TITLES = {
    "line": ["Cell viability", "Growth kinetics", "Time course", "Dose response", "Relaxation", "Transport"],
    "scatter": ["Correlation", "Validation", "Calibration", "Agreement"],
    "bar": ["Quantification", "Expression", "Efficiency", "Uptake", "Survival"],
    "dist": ["Distribution", "Per-cell signal", "Variability"],
    "hist": ["Size distribution", "Histogram"],
    "heatmap": ["Gene expression", "Correlation matrix", "Activity"],
    "spectrum": ["Raman spectra", "PL spectra", "XRD", "Absorption"],
    "umap": ["Cell atlas", "Embedding", "Clusters"],
    "blot": ["Immunoblot", "Western blot"],
    "schematic": ["Workflow", "Model", "Experimental design", "Set-up", "Pipeline"],
    "chem": ["Synthesis", "Structures", "Reaction"],
    "map": ["Study area", "Site map", "Sampling sites"],
    "table": ["Summary", "Benchmark", "Parameters"],
    "equation": ["Model", "Theory"],
}


def panel_title(rng, kind):
    return str(rng.choice(TITLES.get(kind, ["Overview"])))


def letter_metrics(st, letter, ls):
    s = letter_text(st.letter_fmt, letter)
    w = 1 if st.letter_bold else 0
    tk = st.ltxt
    cap = tk.cap(ls, w)
    paren = "(" in s or ")" in s
    up = 0.12 * ls if paren else 0.0
    down = 0.22 * ls if paren else 0.0
    return s, w, tk.width(s, ls, w), cap, up, down


def letter_size_for(st, w, h):
    fs = float(np.clip(min(st.fs, min(w, h) / 15.0), 8.0, 60.0))
    return float(max(10.0, min(st.letter_size, min(w, h) / 7.0, fs * 2.3)))


def ink_bounds(tk, s, size, w=0):
    """Exact ink bounds (l, t, r, b) of plain text s relative to its baseline origin."""
    f = tk.font(size, w, s)
    glyphs = f.textToGlyphs(s)
    xs = f.getXPos(glyphs)
    l = t = math.inf
    r = b = -math.inf
    for x, p in zip(xs, f.getPaths(glyphs)):
        if p is None:
            continue
        bb = p.computeTightBounds()
        if bb.isEmpty():
            continue
        l, t = min(l, x + bb.left()), min(t, bb.top())
        r, b = max(r, x + bb.right()), max(b, bb.bottom())
    if l == math.inf:
        return 0.0, -tk.cap(size, w), f.measureText(s), 0.0
    return l, t, r, b


def _plain_letter_parts(R, ps, cw, ch):
    st = R.st
    ls = letter_size_for(st, cw, ch)
    parts = []
    if ps.letter is not None:
        s = letter_text(st.letter_fmt, ps.letter)
        lw = 1 if st.letter_bold else 0
        parts.append((st.ltxt, s, ls, lw, ink_bounds(st.ltxt, s, ls, lw)))
    if ps.lpos == "title" and ps.title:
        tfs = min(R.fs * 1.2, ls * 0.9)
        tw_ = 1 if (ps.seed % 2) else 0
        parts.append((R.tk, ps.title, tfs, tw_, ink_bounds(R.tk, ps.title, tfs, tw_)))
    return ls, parts


def reserve_plain(R, ps, rect):
    """Content rect of a plain panel: the cell minus the band its letter (drawn later) needs."""
    x0, y0, x1, y1 = rect
    if ps.letter is None and not (ps.lpos == "title" and ps.title):
        return rect
    ls, parts = _plain_letter_parts(R, ps, x1 - x0, y1 - y0)
    hgt = max(b - t for (_, _, _, _, (l, t, r, b)) in parts)
    wid = sum(r - l for (_, _, _, _, (l, t, r, b)) in parts) + (0.5 * ls if len(parts) > 1 else 0)
    g = R.gap(0.4 * hgt)
    pos = ps.lpos or "tl"
    if pos == "tlb":
        return (x0 + math.ceil(wid + g) + 1, y0, x1, y1)
    if pos in ("bl", "br"):
        return (x0, y0, x1, y1 - math.ceil(hgt + g) - 1)
    return (x0, y0 + math.ceil(hgt + g) + 1, x1, y1)


def place_plain_letter(R, ps, cbb, rect):
    """Draw the letter (and title) of a plain panel hugging the content's ink box cbb."""
    x0, y0, x1, y1 = rect
    if ps.letter is None and not (ps.lpos == "title" and ps.title):
        return
    ls, parts = _plain_letter_parts(R, ps, x1 - x0, y1 - y0)
    hgt = max(b - t for (_, _, _, _, (l, t, r, b)) in parts)
    g = R.gap(0.4 * hgt)
    pos = ps.lpos or "tl"
    cx0, cy0, cx1, cy1 = cbb
    tops = [t for (_, _, _, _, (l, t, r, b)) in parts]
    bots = [b for (_, _, _, _, (l, t, r, b)) in parts]
    if pos in ("tl", "title", "tr"):
        base = max(cy0 - g - max(bots), y0 - min(tops))
    elif pos in ("bl", "br"):
        base = min(cy1 + g - min(tops), y1 - max(bots))
    else:
        base = cy0 - min(tops)
    if pos == "tlb":
        l, t, r, b = parts[0][4]
        x = max(x0 - l, cx0 - g - r)
    elif pos in ("tr", "br"):
        l, t, r, b = parts[0][4]
        x = min(x1 - r, cx1 - r)
    else:
        x = max(x0 - parts[0][4][0], cx0 - parts[0][4][0])
    for k, (tk, s, size, w, (l, t, r, b)) in enumerate(parts):
        tk.draw(R.cv, s, x, base, size, R.fg, w, "l", "b")
        x += r + 0.5 * ls


def place_inside(R, ps, rect, plain, color):
    """Draw letter (and title) inside rect.  Returns the remaining content rect."""
    st = R.st
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    cv = R.cv
    pos = ps.lpos
    if ps.letter is None and not ps.title:
        return rect
    ls = letter_size_for(st, w, h)
    if ps.letter is not None:
        s, lw, tw, cap, up, down = letter_metrics(st, ps.letter, ls)
    else:
        s, lw, tw, cap, up, down = "", 0, 0.0, st.ltxt.cap(ls), 0.0, 0.0
    pad = 0.0 if plain else (ps.pad if ps.pad is not None else max(3.0, 0.45 * cap))
    g = R.gap(0.4 * cap) if plain else max(2.0, 0.5 * cap)
    tk = st.ltxt
    if pos in ("tl", "tlb", "title") or pos is None:
        if s:
            tk.draw(cv, s, x0 + pad, y0 + pad + up, ls, color, lw, "l", "t")
        if pos == "title" and ps.title:
            tfs = min(R.fs * 1.2, ls * 0.9)
            tx = x0 + pad + (tw + ls * 0.55 if s else 0)
            base = y0 + pad + up + cap
            R.text(ps.title, tx, base, tfs, color=color, w=1 if rng_bool(R.rng, 0.5) else 0, va="b")
            return (x0, y0 + pad + up + cap + down + g + (0 if plain else pad * 0.3), x1, y1)
        if pos == "tlb" and plain:
            return (x0 + tw + g, y0, x1, y1)
        return (x0, y0 + pad + up + cap + down + g, x1, y1)
    if pos == "tr":
        tk.draw(cv, s, x1 - pad, y0 + pad + up, ls, color, lw, "r", "t")
        return (x0, y0 + pad + up + cap + down + g, x1, y1)
    if pos == "bl":
        tk.draw(cv, s, x0 + pad, y1 - pad - down, ls, color, lw, "l", "b")
        return (x0, y0, x1, y1 - pad - down - cap - up - g)
    if pos == "br":
        tk.draw(cv, s, x1 - pad, y1 - pad - down, ls, color, lw, "r", "b")
        return (x0, y0, x1, y1 - pad - down - cap - up - g)
    return rect


def ink_mask(arr):
    a = arr[..., 3].astype(np.int16)
    m = arr[..., :3].min(axis=2).astype(np.int16)
    return (a - m) >= INK_THRESHOLD


def bbox_of(mask):
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def longest_false_run(v):
    if v.all():
        return 0
    x = np.r_[True, v, True].astype(np.int8)
    d = np.diff(x)
    starts = np.flatnonzero(d == -1)
    ends = np.flatnonzero(d == 1)
    return int((ends - starts).max()) if len(starts) else 0


def max_band(mask, bb):
    x0, y0, x1, y1 = bb
    sub = mask[y0:y1, x0:x1]
    return max(longest_false_run(sub.any(axis=1)), longest_false_run(sub.any(axis=0)))


FALLBACKS = ("bar", "line", "heatmap", "dist")
STATS = {"plain_retries": 0, "plain_failures": 0}


def draw_plain(cv, spec, ps):
    x0, y0, x1, y1 = ps.cell
    cw, ch = x1 - x0, y1 - y0
    chosen = None
    for attempt in range(8):
        layer = new_surface(cw, ch)
        lc = layer.getCanvas()
        lc.clear(skia.ColorTRANSPARENT)
        rng = np.random.default_rng([ps.seed, attempt])
        R = RC(lc, rng, spec.st, max_gap=ps.max_gap, compact=attempt >= 2, size=(cw, ch))
        kind = ps.kind if attempt < 4 else FALLBACKS[attempt - 4]
        lc.save()
        lc.clipRect(R_(0, 0, cw, ch))
        crect = reserve_plain(R, ps, (0, 0, cw, ch))
        if kind == "_custom":
            ps.custom(R, crect)
        else:
            draw_content(R, kind, crect)
        cbb = bbox_of(ink_mask(surface_rgba(layer)))
        if cbb is None:
            lc.restore()
            continue
        place_plain_letter(R, ps, cbb, (0, 0, cw, ch))
        lc.restore()
        arr = surface_rgba(layer)
        mask = ink_mask(arr)
        bb = bbox_of(mask)
        band = max_band(mask, bb)
        bw_, bh_ = bb[2] - bb[0], bb[3] - bb[1]
        ok = band <= ps.max_gap and bw_ >= 0.25 * cw and bh_ >= 0.25 * ch and bw_ * bh_ >= 0.15 * cw * ch
        chosen = (layer, bb, kind)
        if ok or ps.max_gap == math.inf and bb is not None:
            break
        STATS["plain_retries"] += 1
        STATS.setdefault("why", []).append((kind, band, round(ps.max_gap, 1), bb[2] - bb[0], cw, bb[3] - bb[1], ch))
    else:
        STATS["plain_failures"] += 1
    layer, bb, kind = chosen
    ps.kind = kind
    cv.drawImage(layer.makeImageSnapshot(), x0, y0)
    ps.box = (x0 + bb[0], y0 + bb[1], x0 + bb[2], y0 + bb[3])


def draw_surface_panel(cv, spec, ps):
    st = spec.st
    x0, y0, x1, y1 = ps.rect
    w, h = x1 - x0, y1 - y0
    rng = np.random.default_rng([ps.seed, 0])
    rect = (x0, y0, x1, y1)
    cv.save()
    cv.clipRect(R_(x0, y0, x1, y1))
    if ps.surface == "photo":
        R = RC(cv, rng, st, fg=WHITE, dark=True, size=(w, h))
        ps.tone = draw_photo(R, ps.kind, rect, avoid=ps.lpos if (ps.letter is not None and ps.lout is None) else None)
        lcol = BLACK if ps.tone == "light" else WHITE
        if ps.letter is not None and ps.lout is None:
            if ps.lpos not in ("tl", "tr", "bl", "br"):
                ps.lpos = "tl"
            if ps.tone == "light" and rng.random() < 0.3:
                ls = letter_size_for(st, w, h)
                s, lw, tw, cap, up, down = letter_metrics(st, ps.letter, ls)
                pad = ps.pad if ps.pad is not None else max(3.0, 0.45 * cap)
                bx = x0 if ps.lpos in ("tl", "bl") else x1 - tw - 2 * pad
                by = y0 if ps.lpos in ("tl", "tr") else y1 - cap - up - down - 2 * pad
                cv.drawRect(R_(bx, by, bx + tw + 2 * pad, by + cap + up + down + 2 * pad), paint(WHITE, aa=False))
            place_inside(R, ps, rect, False, lcol)
    else:
        if ps.surface in ("tint", "fill"):
            cv.drawRect(R_(x0, y0, x1, y1), paint(ps.fill, aa=False))
            bg = ps.fill
        else:
            bg = WHITE
            cv.drawRect(R_(x0, y0, x1, y1), paint(WHITE, aa=False))
        dark = lum(bg) < 120
        fg = (255, 255, 255) if dark else st.ink
        R = RC(cv, rng, st, fg=fg, bg=bg, dark=dark, size=(w, h))
        fw = ps.frame[1] if ps.frame else 0
        pad = max(4.0, 0.035 * min(w, h)) + fw
        ps.pad = pad
        inner = (x0 + pad, y0 + pad, x1 - pad, y1 - pad)
        lcol = fg
        if ps.letter is not None and ps.lout is None:
            crect = place_inside(R, ps, (x0, y0, x1, y1), False, lcol)
            crect = (max(crect[0], inner[0]), max(crect[1], inner[1]), min(crect[2], inner[2]), min(crect[3], inner[3]))
        else:
            if ps.title and ps.lpos == "title":
                crect = place_inside(R, ps, (x0, y0, x1, y1), False, lcol)
                crect = (max(crect[0], inner[0]), max(crect[1], inner[1]), inner[2], inner[3])
            else:
                crect = inner
        cv.save()
        cv.clipRect(R_(inner[0] - pad * 0.5, inner[1] - pad * 0.5, inner[2] + pad * 0.5, inner[3] + pad * 0.5))
        draw_content(R, ps.kind, crect)
        cv.restore()
        if ps.frame:
            fc, fw = ps.frame
            fp = paint(fc, aa=False)
            cv.drawRect(R_(x0, y0, x1, y0 + fw), fp)
            cv.drawRect(R_(x0, y1 - fw, x1, y1), fp)
            cv.drawRect(R_(x0, y0, x0 + fw, y1), fp)
            cv.drawRect(R_(x1 - fw, y0, x1, y1), fp)
    cv.restore()
    if ps.letter is not None and ps.lout is not None:
        lx, ly, ha, va = ps.lout
        ls = ps.lout_size
        s, lw, tw, cap, up, down = letter_metrics(st, ps.letter, ls)
        st.ltxt.draw(cv, s, lx, ly + (up if va == "t" else 0), ls, st.ink, lw, ha, va)
    ps.box = (x0, y0, x1, y1)


def render(spec):
    surf = new_surface(spec.W, spec.H)
    cv = surf.getCanvas()
    cv.clear(C(spec.bg))
    for rect, col in spec.pre:
        cv.drawRect(R_(*rect), paint(col, aa=False))
    for ps in spec.panels:
        if ps.surface == "plain":
            draw_plain(cv, spec, ps)
        else:
            draw_surface_panel(cv, spec, ps)
    for (s, x, y, size, col, ha, va, rot, bold) in spec.texts:
        spec.st.txt.draw(cv, s, x, y, size, col, 1 if bold else 0, ha, va, rot)
    if spec.post:
        kind, amount = spec.post
        img = surf.makeImageSnapshot()
        out = new_surface(spec.W, spec.H)
        oc = out.getCanvas()
        oc.clear(C(spec.bg))
        if kind == "blur":
            p = skia.Paint()
            p.setImageFilter(skia.ImageFilters.Blur(amount, amount, skia.TileMode.kClamp, None))
            oc.drawImage(img, 0, 0, LINEAR, p)
        else:
            sw, sh = max(2, int(spec.W * amount)), max(2, int(spec.H * amount))
            small = new_surface(sw, sh)
            small.getCanvas().drawImageRect(img, R_(0, 0, spec.W, spec.H), R_(0, 0, sw, sh),
                                            skia.SamplingOptions(skia.FilterMode.kLinear, skia.MipmapMode.kLinear))
            oc.drawImageRect(small.makeImageSnapshot(), R_(0, 0, sw, sh), R_(0, 0, spec.W, spec.H), LINEAR)
        surf = out
    arr = surface_rgba(surf)[..., :3]
    return np.ascontiguousarray(arr)


# ----------------------------------------------------------------------------
# captions
# ----------------------------------------------------------------------------

CELLS = ["HeLa cells", "HEK293T cells", "MCF-7 cells", "primary hepatocytes", "iPSC-derived neurons",
         "CD8^+ T cells", "intestinal organoids", "zebrafish embryos", "Drosophila wing discs", "mouse cortex",
         "A549 cells", "bone-marrow macrophages"]
QUANT = ["cell viability", "relative mRNA expression", "fluorescence intensity", "tumour volume",
         "conductance", "photoluminescence", "tensile strain", "sea-surface temperature",
         "precipitation anomaly", "resistivity", "binding affinity", "growth rate", "phosphorylation",
         "classification accuracy", "Seebeck coefficient", "spike rate"]
SUBJ = ["Loss of {g}", "Strain engineering", "Seasonal variability", "A self-supervised model",
        "Interfacial charge transfer", "Mitochondrial fission", "Ocean heat uptake", "Topological edge transport",
        "A pooled CRISPR screen", "Microglial activation", "Grain-boundary diffusion", "A soft robotic actuator",
        "Single-atom catalysis", "Aerosol-cloud coupling", "Phase separation of {g}"]
VERB = ["drives", "reveals", "controls", "is required for", "enhances", "limits", "predicts", "shapes", "underlies"]
OBJ = ["tumour growth in vivo", "the phase diagram of layered nickelates", "regional precipitation extremes",
       "synaptic plasticity", "efficient photocatalysis", "immune evasion", "robust segmentation of microscopy images",
       "glacier retreat", "the metabolic switch of activated T cells", "charge order at low temperature",
       "stem-cell maintenance", "fatigue resistance"]

PHRASES = {
    "line": ["Time course of {q} in {c}.", "{Q} as a function of time for the indicated conditions.",
             "{Q} measured at increasing dose; lines are guides to the eye.", "Evolution of {q} during training."],
    "scatter": ["Correlation between predicted and measured {q}.", "{Q} versus {q2} for individual samples.",
                "Per-sample comparison of {q}; dashed line, linear fit."],
    "bar": ["Quantification of {q} in {c}; mean \u00b1 s.e.m., n = {n} biological replicates.",
            "{Q} across conditions. *P < 0.05, **P < 0.01, two-tailed t-test.",
            "Summary of {q}; bars show mean \u00b1 s.d."],
    "dist": ["Distribution of {q} per cell (n = {n} cells).", "Violin plots of {q} across groups; n.s., not significant.",
             "Box plots of {q}; whiskers, 1.5\u00d7 IQR."],
    "hist": ["Histogram of {q} (n = {n}).", "Size distribution of particles."],
    "heatmap": ["Heat map of z-scored expression of selected genes.", "Pairwise correlation of {q} across samples.",
                "Hierarchical clustering of {q} profiles."],
    "spectrum": ["Raman spectra recorded at the indicated temperatures.", "Photoluminescence spectra of the films.",
                 "X-ray diffraction patterns of the as-grown samples."],
    "umap": ["UMAP embedding of {n} single-cell transcriptomes coloured by cluster.",
             "t-SNE projection of sorted {c}."],
    "blot": ["Immunoblot of lysates from {c} treated as indicated.", "Western blot analysis of {p} levels."],
    "schematic": ["Schematic of the experimental workflow.", "Overview of the proposed model.",
                  "Schematic of the optical set-up.", "Timeline of treatment and sampling."],
    "chem": ["Synthetic route to compound {n}.", "Chemical structures of the ligands used."],
    "map": ["Map of the study region with sampling sites.", "Spatial pattern of {q} over the study period."],
    "table": ["Summary of benchmark results.", "Fitted parameters for each sample."],
    "equation": ["Governing equations of the model."],
    "fluor": ["Representative confocal images of {c} stained for {m} (green) and DAPI (blue). Scale bar, {s} \u00b5m.",
              "Immunofluorescence of {m} in {c}.", "Live imaging of {c} expressing {m}-GFP."],
    "histology": ["Haematoxylin and eosin staining of tissue sections. Scale bar, {s} \u00b5m.",
                  "Immunohistochemistry for {m} in tumour sections."],
    "em": ["Transmission electron micrographs of {c}.", "Cryo-EM micrograph of purified complexes."],
    "brightfield": ["Bright-field images of {c} after {n} days in culture.", "Phase-contrast images of {c}."],
    "gel": ["Agarose gel electrophoresis of PCR products.", "Native PAGE of the assembled constructs."],
    "field": ["STM topograph of the cleaved surface.", "Electron diffraction pattern along the [001] zone axis.",
              "AFM height map of the film."],
    "landscape": ["Field photograph of the outcrop.", "Photograph of the sampling site."],
    "satellite": ["Satellite image of the catchment.", "Optical satellite scene of the delta."],
}


def make_phrase(rng, kind):
    t = str(rng.choice(PHRASES.get(kind, ["Additional data."])))
    q = str(rng.choice(QUANT))
    return t.format(q=q, Q=q[0].upper() + q[1:], q2=str(rng.choice(QUANT)), c=str(rng.choice(CELLS)),
                    n=int(rng.integers(3, 400)), m=str(rng.choice(["tubulin", "actin", "Ki-67", "E-cadherin", "NeuN",
                                                                   "GFAP", "LC3", "\u03b3H2AX", "p53"])),
                    s=int(rng.choice([5, 10, 20, 50, 100])), p=str(rng.choice(PROTEINS))).replace("^+", "+")


def make_title(rng):
    s = str(rng.choice(SUBJ)).format(g=str(rng.choice(GENES)))
    return f"{s} {rng.choice(VERB)} {rng.choice(OBJ)}."


def _marker(rng, style, L):
    n = len(L)
    if style == "paren":
        if n == 1:
            return f"({L[0]})"
        if n == 2:
            return f"({L[0]},{L[1]})" if rng.random() < 0.5 else f"({L[0]}) and ({L[1]})"
        return f"({L[0]}\u2013{L[-1]})"
    if style == "comma":
        if n == 1:
            return f"{L[0]},"
        if n == 2:
            return f"{L[0]},{L[1]},"
        return f"{L[0]}\u2013{L[-1]},"
    if style == "bar":
        if n == 1:
            return f"{L[0]} |"
        return f"{L[0]},{L[1]} |" if n == 2 else f"{L[0]}\u2013{L[-1]} |"
    if n == 1:
        return f"{L[0]}."
    return f"{L[0]},{L[1]}." if n == 2 else f"{L[0]}\u2013{L[-1]}."


def make_caption(rng, letters, phrases, upper, has_markers):
    """letters: panel letters in letter order (lower case) or None; returns caption and per-panel subs."""
    title = make_title(rng)
    n = len(phrases)
    if not has_markers or letters is None:
        body = " ".join(dict.fromkeys(phrases))
        return f"{title} {body}".strip(), [None] * n
    # partition into consecutive groups
    groups = []
    i = 0
    while i < n:
        k = 1
        if rng.random() < 0.22 and i + 1 < n:
            k = 2 if rng.random() < 0.7 or i + 2 >= n else 3
        groups.append(list(range(i, min(n, i + k))))
        i += k
    style = str(rng.choice(["paren", "comma", "bar", "dot"], p=[0.4, 0.3, 0.15, 0.15]))
    cap_upper = upper if rng.random() < 0.85 else not upper
    lab = [chr(ord("a") + j) for j in range(n + 2)]
    mismatch = rng.random() < 0.1
    mm_kind = str(rng.choice(["extra", "fewer", "skip"])) if mismatch else None
    seq = list(range(n))
    if mm_kind == "skip" and n >= 2:
        s0 = int(rng.integers(1, n))
        seq = [j if j < s0 else j + 1 for j in range(n)]
    segs = []
    for gidx in groups:
        L = [lab[seq[j]] for j in gidx]
        if cap_upper:
            L = [x.upper() for x in L]
        text = " ".join(dict.fromkeys(phrases[j] for j in gidx))
        if len(gidx) > 1 and rng.random() < 0.5:
            text = text.rstrip(".") + ", respectively." if len(set(phrases[j] for j in gidx)) > 1 else text
        segs.append((_marker(rng, style, L), text, gidx))
    if mm_kind == "extra":
        L = [lab[seq[-1] + 1]]
        if cap_upper:
            L = [x.upper() for x in L]
        segs.append((_marker(rng, style, L), make_phrase(rng, "line"), []))
    elif mm_kind == "fewer" and len(segs) > 1:
        segs = segs[:-1]
    elif mm_kind == "fewer":
        mm_kind = "extra"
        segs.append((_marker(rng, style, [lab[n].upper() if cap_upper else lab[n]]), make_phrase(rng, "bar"), []))
    if mm_kind == "skip" and n < 2:
        mm_kind = None
        mismatch = False
    cap = title + " " + " ".join(f"{m} {t}" for m, t, _ in segs)
    subs = [None] * n
    if not mismatch:
        for m, t, gidx in segs:
            for j in gidx:
                subs[j] = t.strip()
    return cap, subs


# ----------------------------------------------------------------------------
# figure builder helpers
# ----------------------------------------------------------------------------

def tree_gutters(node, acc=None):
    acc = [] if acc is None else acc
    if isinstance(node, Grid):
        acc.extend(node.hg)
        acc.extend(node.vg)
        for c in node.children:
            tree_gutters(c, acc)
    return acc


class FB:
    """Figure builder: width / style / margins, layout with constraints, panels, letters, caption."""

    def __init__(self, rng, family, min_w=600, mm=None, dpi=None):
        self.rng = rng
        self.family = family
        dpi = dpi or int(rng.choice([150, 300, 600], p=[0.3, 0.5, 0.2]))
        mm = mm or float(rng.choice([85, 89, 110, 120, 136, 160, 174, 183]))
        W = mm / 25.4 * dpi
        if W > 2400:
            W = rng.uniform(1700, 2400)
        if W < max(600, min_w):
            W = rng.uniform(max(600, min_w), max(600, min_w) * 1.25)
        W = min(W, 2400)
        self.W = int(W)
        self.st = make_style(rng, W, W / (mm / 25.4))
        fr = [0.0 if rng.random() < 0.25 else rng.uniform(0.0, 0.05) for _ in range(4)]
        self.mfrac = fr
        self.panels = []
        self.pre = []
        self.texts = []
        self.bg = WHITE
        self.extra_margin = [0, 0, 0, 0]

    def margins(self, W, H):
        l, r, t, b = self.mfrac
        em = self.extra_margin
        return int(l * W) + em[0], int(r * W) + em[1], int(t * H) + em[2], int(b * H) + em[3]

    def layout(self, build, plain=True, g_fn=None, min_side=200, tries=14):
        """build(W, g, k) -> tree.  g = gutter in px; k scales the leaf aspect ratios."""
        k = 1.0
        g_fn = g_fn or (lambda gmin: gmin)
        for t in range(tries):
            W = self.W
            gmin = max(12, int(math.ceil(0.015 * W)))
            for _ in range(4):
                g = int(g_fn(gmin))
                tree = build(W, g, k)
                ml, mr, _, _ = self.margins(W, W)
                inner_w = W - ml - mr
                hin = natural_h(tree, inner_w)
                _, _, mt, mb = self.margins(W, hin)
                H = int(round(hin)) + mt + mb
                need = max(12, int(math.ceil(0.015 * max(W, H))))
                if need <= gmin:
                    break
                gmin = need
            cells = []
            ml, mr, mt, mb = self.margins(W, H)
            assign(tree, ml, mt, W - mr, H - mb, cells)
            mw = min(c[2] - c[0] for c in cells)
            mh = min(c[3] - c[1] for c in cells)
            if mw < min_side and W < 2400:
                self.W = min(2400, int(W * 1.18) + 1)
                continue
            if mh < min_side and H < 3400:
                k *= 1.2
                continue
            if H > 3.0 * W or H > 3600:
                k *= 0.85
                continue
            break
        self.H, self.g, self.gmin, self.tree = H, g, gmin, tree
        gs = tree_gutters(tree)
        self.min_gutter = min(gs) if gs else 0
        return cells

    # -- panels -------------------------------------------------------------
    def panel(self, cell, surface, kind=None, **kw):
        rng = self.rng
        if kind is None:
            kind = {"plain": lambda: wpick(rng, PLAIN_KINDS), "ruled": lambda: wpick(rng, TINT_KINDS),
                    "tint": lambda: wpick(rng, TINT_KINDS), "framed": lambda: wpick(rng, TINT_KINDS),
                    "fill": lambda: wpick(rng, DARK_KINDS), "photo": lambda: wpick(rng, PHOTO_KINDS)}[surface]()
        ps = PanelSpec(cell=tuple(int(v) for v in cell), surface=surface, kind=kind,
                       seed=int(rng.integers(0, 2 ** 31 - 1)), **kw)
        ps.rect = ps.cell
        if surface == "plain":
            ps.max_gap = (self.min_gutter / 2.0) if self.min_gutter > 0 else math.inf
        if surface == "tint" and ps.fill is None:
            d = int(rng.integers(10, 26))
            hue = rng.choice(["grey", "blue", "warm", "green", "violet"])
            off = {"grey": (0, 0, 0), "blue": (4, 1, -3), "warm": (-3, 0, 4), "green": (3, -2, 3), "violet": (1, 4, -2)}[hue]
            ps.fill = tuple(int(np.clip(255 - d - o, 229, 247)) for o in off)
        if surface == "fill" and ps.fill is None:
            ps.fill = DARK_FILLS[int(rng.integers(len(DARK_FILLS)))]
        if surface == "framed" and ps.frame is None:
            ps.frame = self.frame_style
        ps.phrase = make_phrase(rng, kind)
        ps.title = panel_title(rng, kind) if kind in TITLES else None
        self.panels.append(ps)
        return ps

    @property
    def frame_style(self):
        if not hasattr(self, "_frame"):
            rng = self.rng
            c = [(0, 0, 0), (0, 0, 0), (90, 90, 90), (150, 150, 150), (0, 114, 178), (200, 50, 40), (0, 120, 90)][rng.integers(7)]
            self._frame = (c, int(rng.integers(1, 4)))
        return self._frame

    def letters(self, p_none=0.1, positions=None, colmajor_ok=True, force=False):
        rng = self.rng
        n = len(self.panels)
        self.has_letters = force or (n > 1 and rng.random() >= p_none)
        order = list(range(n))
        if self.has_letters and colmajor_ok and simple_grid(self.tree) and self.tree.rows > 1 and self.tree.cols > 1 \
                and rng.random() < 0.1 and not any(p.surface == "plain" and False for p in self.panels):
            t = self.tree
            order = [r * t.cols + c for c in range(t.cols) for r in range(t.rows)]
        self.order = order
        if positions is None:
            positions = {"tl": 55, "title": 12, "tr": 10, "bl": 8, "tlb": 15}
        pos = wpick(rng, positions)
        for rank, idx in enumerate(order):
            ps = self.panels[idx]
            if self.has_letters:
                ps.letter = chr(ord("a") + rank)
                ps.lpos = pos
                if pos == "tlb" and ps.surface != "plain":
                    ps.lpos = "tl"
                if ps.surface == "photo" and pos in ("title", "tlb"):
                    ps.lpos = "tl"
            else:
                ps.letter = None
                ps.lpos = "title" if (ps.title and rng.random() < 0.15 and ps.surface != "photo") else None
            if ps.lpos != "title":
                ps.title = None
        return order

    def letters_outside(self, mode):
        """Shrink each panel rect so the letter sits in the gutter above-left or left of the panel."""
        st = self.st
        for ps in self.panels:
            if ps.letter is None:
                continue
            x0, y0, x1, y1 = ps.cell
            ls = letter_size_for(st, x1 - x0, y1 - y0) * 0.95
            s, lw, tw, cap, up, down = letter_metrics(st, ps.letter, ls)
            gap = max(2, int(round(0.3 * cap)))
            if mode == "above":
                band = int(math.ceil(up + cap + down)) + gap
                ps.rect = (x0, y0 + band, x1, y1)
                ps.lout = (x0 + (0 if self.rng.random() < 0.6 else -0), y0, "l", "t")
            else:
                band = int(math.ceil(tw)) + gap
                ps.rect = (x0 + band, y0, x1, y1)
                ps.lout = (x0 + band - gap, y0, "r", "t")
            ps.lout_size = ls

    def spec(self, fmt=None):
        rng = self.rng
        st = self.st
        order = getattr(self, "order", list(range(len(self.panels))))
        panels = [self.panels[i] for i in order]
        has = getattr(self, "has_letters", False)
        upper = st.letter_fmt in ("A", "A)", "(A)")
        letters = [p.letter for p in panels] if has else None
        has_markers = has and rng.random() >= 0.08
        caption, subs = make_caption(rng, letters, [p.phrase for p in panels], upper, has_markers)
        spec = FigSpec(family=self.family, W=self.W, H=self.H, st=st, panels=panels, bg=self.bg, pre=self.pre,
                       texts=self.texts, has_letters=has, caption=caption, subs=subs, min_gutter=self.min_gutter)
        if fmt is None:
            fmt = "jpg" if rng.random() < 0.15 else "png"
        spec.fmt = fmt
        spec.quality = int(rng.integers(75, 96))
        spec.subsampling = int(rng.choice([0, 2]))
        return spec


def _mixed_policy(rng):
    return str(rng.choice(["plain", "plain_photo", "tint", "photo", "framed"], p=[0.45, 0.3, 0.1, 0.1, 0.05]))


def _surfaces_for(rng, policy, n, photo_frac=0.4):
    if policy == "plain":
        return ["plain"] * n
    if policy == "plain_photo":
        s = ["photo" if rng.random() < photo_frac else "plain" for _ in range(n)]
        if all(x == "plain" for x in s):
            s[int(rng.integers(n))] = "photo"
        return s
    return [policy] * n


def _gfn_for(rng, surfaces, small=(4, 16)):
    """Gutter choice: plain / tint / framed need >= gmin; all-photo / fill figures may be tight."""
    u = rng.uniform(0, 1)
    if any(s in ("plain", "tint", "framed", "ruled") for s in surfaces):
        top = rng.uniform(1.2, 2.6)
        return lambda gmin: gmin * (1 + u * (top - 1))
    lo, hi = small
    return lambda gmin: lo + u * (hi - lo)


def _aspect_for(rng, surface):
    if surface == "photo":
        return float(rng.choice([1.0, 1.0, 0.75, 1.33, 0.8]))
    return float(rng.uniform(0.6, 1.05))


# ----------------------------------------------------------------------------
# families
# ----------------------------------------------------------------------------

def _grid_tree(r, c, a, g, k, colw=None):
    return Grid(r, c, [Leaf(a * k) for _ in range(r * c)], hg=g, vg=g, colw=colw)


def _fam_tinted_grid(rng, fam):
    fb = FB(rng, fam)
    a = rng.uniform(0.62, 1.0)
    u = int(rng.integers(18, 41))
    cells = fb.layout(lambda W, g, k: _grid_tree(2, 2, a, g, k), g_fn=lambda gmin: u)
    same = rng.random() < 0.6
    tint = None
    for c in cells:
        ps = fb.panel(c, "tint", fill=tint if same else None)
        if same and tint is None:
            tint = ps.fill
    fb.letters(p_none=0.2)
    spec = fb.spec(fmt="jpg")
    spec.quality = int(rng.integers(80, 96))
    return spec


GRID_SHAPES = [(2, 2), (1, 3), (2, 3), (1, 2), (3, 3), (2, 4), (3, 2), (1, 4)]


def _random_tree_fn(rng, aspect_fn, n_max=9):
    """A random grid / nested tree; returns build(W, g, k)."""
    kind = rng.choice(["grid", "grid", "grid", "uneven", "rowgrid"])
    if kind == "grid":
        r, c = GRID_SHAPES[int(rng.integers(len(GRID_SHAPES)))]
        a = aspect_fn()
        return lambda W, g, k: _grid_tree(r, c, a, g, k)
    if kind == "uneven":
        m = int(rng.integers(2, 4))
        a = aspect_fn()
        wl = rng.uniform(0.9, 1.5)
        left = rng.random() < 0.5

        def b(W, g, k):
            stack = Grid(m, 1, [Leaf(a * k) for _ in range(m)], vg=g)
            tall_h = natural_h(stack, 1000)
            tall = Leaf(tall_h / (1000 * wl))
            ch = [tall, stack] if left else [stack, tall]
            return Grid(1, 2, ch, hg=g, colw=[wl, 1.0] if left else [1.0, wl])
        return b
    m = int(rng.integers(1, 4))
    r2, c2 = (2, 2) if rng.random() < 0.6 else (2, 3)
    a1, a2 = aspect_fn(), aspect_fn()
    return lambda W, g, k: Grid(2, 1, [_grid_tree(1, m, a1 * 0.8, g, k), _grid_tree(r2, c2, a2, g, k)], vg=g)


def _fam_saturated(rng, fam):
    fb = FB(rng, fam)
    if rng.random() < 0.4:
        v = int(rng.integers(228, 246))
        fb.bg = (v, v, v)
    a_ph = float(rng.choice([1.0, 0.75, 0.8]))
    build = _random_tree_fn(rng, lambda: a_ph)
    small = (3, 8) if rng.random() < 0.3 else (8, 30)
    u = rng.uniform(*small)
    cells = fb.layout(build, g_fn=lambda gmin: u)
    photo_p = rng.uniform(0.3, 0.9)
    for c in cells:
        if rng.random() < photo_p:
            fb.panel(c, "photo", kind=wpick(rng, DARK_PHOTOS))
        else:
            fb.panel(c, "fill")
    fb.letters(p_none=0.1, positions={"tl": 70, "tr": 15, "bl": 10, "br": 5, "title": 6})
    return fb.spec()


def _fam_framed(rng, fam):
    fb = FB(rng, fam)
    build = _random_tree_fn(rng, lambda: rng.uniform(0.6, 1.0))
    u = rng.uniform(0, 1)
    cells = fb.layout(build, g_fn=lambda gmin: max(10, 0.6 * gmin) + u * 0.03 * fb.W)
    for c in cells:
        fb.panel(c, "framed")
    fb.letters(p_none=0.1, positions={"tl": 60, "title": 20, "tr": 12, "bl": 8})
    return fb.spec()


def _ruled_region(fb, cells, border):
    x0 = min(c[0] for c in cells) - border
    y0 = min(c[1] for c in cells) - border
    x1 = max(c[2] for c in cells) + border
    y1 = max(c[3] for c in cells) + border
    return (x0, y0, x1, y1)


def _fam_dark_lines(rng, fam):
    fb = FB(rng, fam)
    shape = [(2, 2), (1, 3)][int(rng.integers(2))]
    L = int(rng.integers(1, 5))
    variant = "ruled" if rng.random() < 0.45 else "fill"
    border = L if (variant == "ruled" or rng.random() < 0.5) else 0
    fb.extra_margin = [border] * 4
    lc = [(0, 0, 0), (40, 40, 40), (20, 30, 70), (70, 70, 70), (0, 0, 0)][int(rng.integers(5))]
    a = rng.uniform(0.6, 1.0) if variant == "ruled" else float(rng.choice([1.0, 0.75, rng.uniform(0.6, 1.0)]))
    cells = fb.layout(lambda W, g, k: _grid_tree(shape[0], shape[1], a, g, k), g_fn=lambda gmin: L)
    fb.pre.append((_ruled_region(fb, cells, border), lc))
    for c in cells:
        if variant == "ruled":
            fb.panel(c, "ruled")
        else:
            r = rng.random()
            if r < 0.35:
                fb.panel(c, "photo", kind=wpick(rng, LIGHT_PHOTOS))
            elif r < 0.7:
                fb.panel(c, "fill", kind=wpick(rng, TINT_KINDS), fill=PASTEL_FILLS[int(rng.integers(len(PASTEL_FILLS)))])
            else:
                fb.panel(c, "tint", kind=wpick(rng, TINT_KINDS))
    fb.letters(p_none=0.2, positions={"tl": 65, "tr": 15, "bl": 10, "title": 10})
    return fb.spec()


def _fam_light_lines(rng, fam):
    fb = FB(rng, fam)
    shape = [(2, 2), (1, 3), (2, 3), (1, 2), (3, 3), (1, 4), (3, 2)][int(rng.integers(7))]
    L = int(rng.integers(1, 5))
    grey = rng.random() < 0.4
    lc = WHITE if not grey else (int(rng.integers(215, 241)),) * 3
    border = L if (grey and rng.random() < 0.5) else 0
    fb.extra_margin = [border] * 4
    a = float(rng.choice([1.0, 0.75, 1.33, rng.uniform(0.6, 1.0)]))
    cells = fb.layout(lambda W, g, k: _grid_tree(shape[0], shape[1], a, g, k), g_fn=lambda gmin: L)
    if grey:
        fb.pre.append((_ruled_region(fb, cells, border), lc))
    pp = rng.uniform(0.4, 1.0)
    for c in cells:
        if rng.random() < pp:
            fb.panel(c, "photo", kind=wpick(rng, DARKMID_PHOTOS))
        else:
            fb.panel(c, "fill")
    fb.letters(p_none=0.2, positions={"tl": 70, "tr": 15, "bl": 10, "br": 5})
    return fb.spec()


def _fam_gutter_range(rng, fam):
    fb = FB(rng, fam)
    r, c = [(2, 2), (2, 3), (3, 3), (1, 4), (2, 4), (3, 2), (1, 3)][int(rng.integers(7))]
    filled = rng.random() < 0.6
    fh = rng.uniform(0, 1, max(0, c - 1))
    fv = rng.uniform(0, 1, max(0, r - 1))
    if len(fh) + len(fv) >= 2:
        allf = np.r_[fh, fv]
        allf[int(np.argmin(allf))] = 0.0
        allf[int(np.argmax(allf))] = 1.0
        fh, fv = allf[:len(fh)], allf[len(fh):]
    a = float(rng.choice([1.0, 0.8, rng.uniform(0.6, 1.0)]))
    if filled:
        def gap(W, f, g):
            return int(round(math.exp(math.log(2) + f * (math.log(0.1 * W) - math.log(2)))))
    else:
        def gap(W, f, g):
            return int(round(g + f * max(0.0, 0.1 * W - g)))

    def build(W, g, k):
        return Grid(r, c, [Leaf(a * k) for _ in range(r * c)], hg=[gap(W, f, g) for f in fh], vg=[gap(W, f, g) for f in fv])
    cells = fb.layout(build)
    if filled:
        for cc in cells:
            if rng.random() < 0.7:
                fb.panel(cc, "photo", kind=wpick(rng, DARKMID_PHOTOS))
            else:
                fb.panel(cc, "fill")
    else:
        pol = str(rng.choice(["plain", "plain_photo"]))
        for cc, s in zip(cells, _surfaces_for(rng, pol, len(cells))):
            fb.panel(cc, s)
    fb.letters(p_none=0.1)
    return fb.spec()


COL_HEADERS = [["DAPI", "GFP", "Merge"], ["Ctrl", "Drug", "Washout"], ["0 h", "6 h", "24 h", "48 h", "72 h"],
               ["WT", "KO", "Rescue"], ["Actin", "Tubulin", "DAPI", "Merge"], ["Day 1", "Day 3", "Day 7", "Day 14", "Day 21"]]
ROW_HEADERS = [["WT", "KO", "Rescue", "Het", "dKO"], ["Vehicle", "Drug", "Combo", "Low", "High"], ["Young", "Aged", "Mid", "Old", "Fetal"]]


def _fam_big_grid(rng, fam):
    r, c = [(3, 3), (3, 4), (4, 4), (2, 5), (5, 2)][int(rng.integers(5))]
    fb = FB(rng, fam, min_w=c * 175 + 60)
    photos = rng.random() < 0.6
    if photos:
        kind_mode = rng.choice(["one", "per_row", "mixed"])
        base = wpick(rng, PHOTO_KINDS)
        light = PHOTO_TONE[base] == "light"
        u = rng.uniform(*(4, 12) if light else (2, 10))
        a = float(rng.choice([1.0, 1.0, 0.75, 1.33]))
        headers = rng.random() < 0.35
        rowh = rng.random() < 0.25
        hf = fb.st.fs * 1.05
        if headers:
            fb.extra_margin[2] = int(hf * 1.7)
        if rowh:
            fb.extra_margin[0] = int(hf * 1.9)
        cells = fb.layout(lambda W, g, k: _grid_tree(r, c, a, g, k), g_fn=lambda gmin: u)
        for i, cc in enumerate(cells):
            if kind_mode == "one":
                kd = base
            elif kind_mode == "per_row":
                kd = base if (i // c) % 2 == 0 else ("fluor" if not light else "histology")
            else:
                kd = wpick(rng, DARKMID_PHOTOS if not light else LIGHT_PHOTOS)
            fb.panel(cc, "photo", kind=kd)
        hfs = min(hf, (cells[0][2] - cells[0][0]) / 6)
        if headers:
            names = COL_HEADERS[int(rng.integers(len(COL_HEADERS)))]
            for j in range(c):
                x0, y0, x1, y1 = cells[j]
                fb.texts.append((names[j % len(names)] if j < len(names) else f"{names[-1]} {j}", (x0 + x1) / 2,
                                 y0 - max(3, hf * 0.35), hfs, fb.st.ink, "c", "b", 0, rng.random() < 0.4))
        if rowh:
            names = ROW_HEADERS[int(rng.integers(len(ROW_HEADERS)))]
            for i in range(r):
                x0, y0, x1, y1 = cells[i * c]
                fb.texts.append((names[i % len(names)], x0 - max(3, hf * 0.35) - fb.st.txt.desc(hfs), (y0 + y1) / 2, hfs,
                                 fb.st.ink, "c", "b", -90, False))
        fb.letters(p_none=0.3, positions={"tl": 75, "tr": 15, "bl": 10})
    else:
        a = rng.uniform(0.65, 1.0)
        pol = str(rng.choice(["plain", "plain", "tint"]))
        same_kind = rng.random() < 0.6
        kd = wpick(rng, {"line": 10, "bar": 8, "scatter": 6, "heatmap": 4, "dist": 4, "hist": 3, "spectrum": 3, "map": 2, "umap": 2})
        cells = fb.layout(lambda W, g, k: _grid_tree(r, c, a, g, k), g_fn=_gfn_for(rng, [pol]))
        for cc in cells:
            fb.panel(cc, pol, kind=kd if same_kind else None)
        fb.letters(p_none=0.2)
    return fb.spec()


def _fam_uneven(rng, fam):
    fb = FB(rng, fam)
    pol = _mixed_policy(rng)
    variant = rng.choice(["tall_left", "tall_right", "wide_top", "wide_bottom"])
    m = int(rng.integers(2, 4))
    a = rng.uniform(0.55, 0.9)
    surfaces_probe = _surfaces_for(rng, pol, m + 1)
    if variant.startswith("tall"):
        wl = rng.uniform(0.9, 1.6)
        left = variant == "tall_left"

        def build(W, g, k):
            stack = Grid(m, 1, [Leaf(a * k) for _ in range(m)], vg=g)
            th = natural_h(stack, 1000)
            tall = Leaf(th / (1000 * wl))
            return Grid(1, 2, [tall, stack] if left else [stack, tall], hg=g, colw=[wl, 1.0] if left else [1.0, wl])
    else:
        aw = rng.uniform(0.3, 0.55)
        top = variant == "wide_top"

        def build(W, g, k):
            row = Grid(1, m, [Leaf(a * 1.1 * k) for _ in range(m)], hg=g)
            wide = Leaf(aw * k)
            return Grid(2, 1, [wide, row] if top else [row, wide], vg=g)
    cells = fb.layout(build, g_fn=_gfn_for(rng, surfaces_probe))
    for cc, s in zip(cells, surfaces_probe):
        fb.panel(cc, s)
    fb.letters(p_none=0.1)
    return fb.spec()


def _fam_nested(rng, fam):
    fb = FB(rng, fam, min_w=900)
    pol = _mixed_policy(rng)
    variant = rng.choice(["row_over_grid", "grid_beside_tall", "col_beside_row", "uneven_row_over_grid"])
    a = rng.uniform(0.6, 0.95)
    if variant == "row_over_grid":
        m = int(rng.integers(1, 4))
        r2, c2 = (2, 2) if rng.random() < 0.5 else (2, 3)
        a1 = rng.uniform(0.35, 0.6) if m == 1 else a
        n = m + r2 * c2
        build = lambda W, g, k: Grid(2, 1, [_grid_tree(1, m, a1, g, k), _grid_tree(r2, c2, a, g, k)], vg=g)
    elif variant == "grid_beside_tall":
        left = rng.random() < 0.5
        wl = rng.uniform(0.5, 0.9)
        n = 5

        def build(W, g, k):
            gr = _grid_tree(2, 2, a, g, k)
            th = natural_h(gr, 1000)
            tall = Leaf(th / (1000 * wl))
            return Grid(1, 2, [gr, tall] if not left else [tall, gr], hg=g, colw=[1.0, wl] if not left else [wl, 1.0])
    elif variant == "col_beside_row":
        kc = int(rng.integers(2, 4))
        m = int(rng.integers(2, 4))
        n = kc + m
        wl = rng.uniform(0.5, 0.9)

        def build(W, g, k):
            col = Grid(kc, 1, [Leaf(a * 0.8 * k) for _ in range(kc)], vg=g)
            ch = natural_h(col, 1000 * wl)
            row = Grid(1, m, [Leaf(ch / (1000 / m)) for _ in range(m)], hg=g)
            return Grid(1, 2, [col, row], hg=g, colw=[wl, 1.0])
    else:
        n = 2 + 6
        wr = rng.uniform(1.4, 2.4)
        build = lambda W, g, k: Grid(2, 1, [Grid(1, 2, [Leaf(0.55 * k), Leaf(0.55 * wr * k)], hg=g, colw=[wr, 1.0]),
                                            _grid_tree(2, 3, a, g, k)], vg=g)
    surfaces = _surfaces_for(rng, pol, n)
    cells = fb.layout(build, g_fn=_gfn_for(rng, surfaces))
    for cc, s in zip(cells, surfaces):
        fb.panel(cc, s)
    fb.letters(p_none=0.1)
    return fb.spec()


def _fam_column(rng, fam):
    fb = FB(rng, fam, mm=float(rng.choice([85, 89, 100, 120])))
    n = int(rng.integers(2, 6))
    pol = _mixed_policy(rng)
    surfaces = _surfaces_for(rng, pol, n, photo_frac=0.3)
    asp = [rng.uniform(0.3, 0.65) if s != "photo" else rng.uniform(0.45, 0.8) for s in surfaces]
    cells = fb.layout(lambda W, g, k: Grid(n, 1, [Leaf(x * k) for x in asp], vg=g), g_fn=_gfn_for(rng, surfaces))
    for cc, s in zip(cells, surfaces):
        fb.panel(cc, s)
    fb.letters(p_none=0.1)
    return fb.spec()


def _fam_row(rng, fam):
    n = int(rng.integers(2, 6))
    fb = FB(rng, fam, min_w=n * 180 + 80)
    pol = str(rng.choice(["plain", "plain_photo", "tint", "framed", "plain"]))
    surfaces = _surfaces_for(rng, pol, n)
    a = rng.uniform(0.7, 1.3)
    cells = fb.layout(lambda W, g, k: _grid_tree(1, n, a, g, k), g_fn=_gfn_for(rng, surfaces))
    for cc, s in zip(cells, surfaces):
        fb.panel(cc, s)
    fb.letters(p_none=0.1)
    return fb.spec()


def _fam_letters_outside(rng, fam):
    fb = FB(rng, fam)
    pol = str(rng.choice(["fill", "pastel", "framed", "photo", "mixed"]))
    aspect = lambda: rng.uniform(0.6, 1.0) if pol != "photo" else float(rng.choice([1.0, 0.75]))
    build = _random_tree_fn(rng, aspect)
    mode = str(rng.choice(["above", "left", "inside"], p=[0.4, 0.3, 0.3]))
    u = rng.uniform(0, 1)
    cells = fb.layout(build, g_fn=lambda gmin: (10 if pol in ("framed", "pastel", "mixed") else 6) + u * 0.03 * fb.W)
    for cc in cells:
        p = pol if pol != "mixed" else str(rng.choice(["fill", "framed", "photo"]))
        if p == "pastel":
            fb.panel(cc, "fill", kind=wpick(rng, TINT_KINDS), fill=PASTEL_FILLS[int(rng.integers(len(PASTEL_FILLS)))])
        elif p == "photo":
            fb.panel(cc, "photo")
        else:
            fb.panel(cc, p)
    if mode == "inside":
        corner = str(rng.choice(["tl", "tr", "bl", "br"]))
        fb.letters(force=True, positions={corner: 1})
    else:
        fb.letters(force=True, positions={"tl": 1})
        fb.letters_outside(mode)
    return fb.spec()


def _fam_single(rng, fam):
    fb = FB(rng, fam)
    s = wpick(rng, {"plain": 60, "photo": 25, "framed": 8, "tint": 7})
    a = _aspect_for(rng, s)
    cells = fb.layout(lambda W, g, k: Leaf(a * k), min_side=300)
    fb.panel(cells[0], s)
    fb.letters(p_none=1.0)
    return fb.spec()


def _ws_two_groups(R, rect):
    rng = R.rng
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    horiz = w >= h * 0.8
    f1, f2 = rng.uniform(0.28, 0.4), rng.uniform(0.28, 0.4)
    kinds = ["flow", "cell", "network", "setup", "chem"]
    k1, k2 = rng.choice(kinds, 2)
    if horiz:
        a, b = (x0, y0, x0 + w * f1, y1), (x1 - w * f2, y0, x1, y1)
    else:
        a, b = (x0, y0, x1, y0 + h * f1), (x0, y1 - h * f2, x1, y1)
    for rr, kk in ((a, k1), (b, k2)):
        if kk == "chem":
            r_chem(R, rr)
        else:
            r_schematic(R, rr, template=str(kk))


def _ws_title_far(R, rect):
    rng = R.rng
    x0, y0, x1, y1 = rect
    h = y1 - y0
    fs = R.fs * rng.uniform(1.3, 2.0)
    title = str(rng.choice(["Summary of results", "Overview", "Model performance", "Seasonal cycle", "Response to treatment"]))
    if rng.random() < 0.5:
        R.text(title, (x0 + x1) / 2, y0, fs, w=1, ha="c", va="t")
    else:
        R.text(title, x0, y0, fs, w=1, va="t")
    gapf = rng.uniform(0.15, 0.3)
    body = (x0, y0 + R.cap(fs) + h * gapf, x1, y1)
    (r_line if rng.random() < 0.5 else r_bar)(R, body)


def _ws_legend_far(R, rect):
    rng = R.rng
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    n = int(rng.integers(3, 7))
    items = [(s, R.col(i), str(rng.choice(["o", "s", "^"]))) for i, s in enumerate(rng.choice(SERIES, n, replace=False))]
    lw_, lh, _, _ = legend_size(R, [i[0] for i in items])
    if rng.random() < 0.5 and h > lh * 3:
        plot = (x0, y0, x1, y0 + h * rng.uniform(0.5, 0.62))
        draw_legend(R, x0 + rng.uniform(0.1, 0.6) * max(1, w - lw_), y1 - lh, items, style=str(rng.choice(["line", "marker", "patch"])))
    else:
        plot = (x0, y0, x0 + w * rng.uniform(0.5, 0.62), y1)
        draw_legend(R, x1 - lw_, y0 + rng.uniform(0.1, 0.5) * max(1, h - lh), items, style=str(rng.choice(["line", "marker", "patch"])))
    (r_line if rng.random() < 0.6 else r_scatter)(R, plot)


def _ws_scalebar_far(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    fw, fh = rng.uniform(0.5, 0.68), rng.uniform(0.5, 0.7)
    pr = (x0, y0, x0 + int(w * fw), y0 + int(h * fh))
    cv.save()
    cv.clipRect(R_(*pr))
    draw_photo(R, wpick(rng, DARKMID_PHOTOS | {"fluor": 30}), pr, overlays=False)
    cv.restore()
    L = w * rng.uniform(0.1, 0.2)
    th = max(2.0, h * 0.012)
    bx, by = x1 - L, y1 - th
    cv.drawRect(R_(round(bx), round(by), round(bx + L), round(by + th)), paint(BLACK, aa=False))
    R.text(str(rng.choice(["10 \u00b5m", "50 \u00b5m", "1 mm", "200 nm"])), bx + L / 2, by - th, R.fs * 1.1, ha="c", va="b")


def _ws_colorbar_far(R, rect):
    rng, cv = R.rng, R.cv
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    name = str(rng.choice(["viridis", "magma", "rdbu", "jet", "inferno"]))
    f = smooth_noise(rng, 60, 60, base=3, octaves=4)
    hx1 = x0 + w * rng.uniform(0.5, 0.65)
    draw_image(cv, image_from_rgb(cmap(name, f)), x0, y0, hx1, y1)
    bw = max(8.0, w * 0.035)
    lw_ = R.tw("1.0") + R.fs * 0.5
    bx0 = x1 - lw_ - bw
    by0, by1 = y0 + h * 0.2, y1 - h * 0.2
    draw_image(cv, image_from_rgb(cmap(name, np.linspace(1, 0, 64))[:, None, :]), bx0, by0, bx0 + bw, by1)
    cv.drawRect(R_(bx0, by0, bx0 + bw, by1), paint(R.fg, sw=1))
    for t, s in ((0, "0"), (0.5, "0.5"), (1, "1.0")):
        R.text(s, bx0 + bw + R.fs * 0.4, by1 - t * (by1 - by0), ha="l", va="m")


WHITESPACE = {"two_groups": (_ws_two_groups, "schematic"), "title_far": (_ws_title_far, "line"),
              "legend_far": (_ws_legend_far, "line"), "scalebar_far": (_ws_scalebar_far, "fluor"),
              "colorbar_far": (_ws_colorbar_far, "heatmap")}


def _fam_single_whitespace(rng, fam):
    fb = FB(rng, fam)
    key = str(rng.choice(list(WHITESPACE)))
    fn, pk = WHITESPACE[key]
    a = rng.uniform(0.55, 0.95) if key != "two_groups" else rng.uniform(0.4, 0.7)
    cells = fb.layout(lambda W, g, k: Leaf(a * k), min_side=300)
    ps = fb.panel(cells[0], "plain", kind="_custom")
    ps.custom = fn
    ps.phrase = make_phrase(rng, pk)
    ps.title = None
    fb.letters(p_none=1.0)
    return fb.spec()


def _fam_jpeg_noise(rng, fam):
    opts = [_fam_tinted_grid, _fam_saturated, _fam_framed, _fam_dark_lines, _fam_light_lines, _fam_big_grid,
            _fam_uneven, _fam_nested, _fam_column, _fam_row, _fam_letters_outside, _fam_gutter_range, _fam_single]
    w = np.array([1, 1, 1, 1, 1, 1.2, 1, 1, 1, 1.2, 1, 0.8, 0.5])
    b = opts[int(rng.choice(len(opts), p=w / w.sum()))]
    spec = b(rng, fam)
    spec.family = fam
    spec.fmt = "jpg"
    spec.quality = int(rng.integers(30, 71))
    spec.subsampling = 2
    r = rng.random()
    thin = b in (_fam_dark_lines, _fam_light_lines, _fam_gutter_range, _fam_saturated, _fam_big_grid)
    if r < 0.3:
        spec.post = ("blur", float(rng.uniform(0.5, 0.75 if thin else 1.1)))
    elif r < 0.55:
        spec.post = ("resample", float(rng.uniform(0.6 if thin else 0.5, 0.85)))
    return spec


BUILDERS: dict[str, Callable] = {
    "tinted_grid": _fam_tinted_grid, "saturated": _fam_saturated, "framed": _fam_framed,
    "dark_lines": _fam_dark_lines, "light_lines": _fam_light_lines, "jpeg_noise": _fam_jpeg_noise,
    "gutter_range": _fam_gutter_range, "big_grid": _fam_big_grid, "uneven": _fam_uneven, "nested": _fam_nested,
    "column": _fam_column, "row": _fam_row, "letters_outside": _fam_letters_outside, "single": _fam_single,
    "single_whitespace": _fam_single_whitespace,
}


# ----------------------------------------------------------------------------
# generation, checks, COCO output
# ----------------------------------------------------------------------------

def _self_check(spec):
    boxes = [p.box for p in spec.panels]
    for b in boxes:
        assert 0 <= b[0] < b[2] <= spec.W and 0 <= b[1] < b[3] <= spec.H, (spec.family, b, spec.W, spec.H)
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1]), (spec.family, a, b)


def build_figure(family, seed, index):
    rng = np.random.default_rng([int(seed), FAMILIES.index(family), int(index)])
    spec = BUILDERS[family](rng, family)
    arr = render(spec)
    _self_check(spec)
    return spec, arr


def _encode(arr, path, spec):
    im = Image.fromarray(arr, "RGB")
    if spec.fmt == "jpg":
        im.save(path, "JPEG", quality=int(spec.quality), subsampling=int(spec.subsampling), optimize=False)
    else:
        im.save(path, "PNG", compress_level=1)


def _job(args):
    family, seed, index, img_dir = args
    spec, arr = build_figure(family, seed, index)
    ext = "jpg" if spec.fmt == "jpg" else "png"
    name = f"{family}_{index:03d}.{ext}"
    _encode(arr, os.path.join(img_dir, name), spec)
    panels = []
    for p, sub in zip(spec.panels, spec.subs):
        x0, y0, x1, y1 = p.box
        panels.append({"bbox": [int(x0), int(y0), int(x1 - x0), int(y1 - y0)], "letter": p.letter, "sub_caption": sub,
                       "meta": {"surface": p.surface, "content": p.kind if p.kind != "_custom" else "whitespace",
                                "fill": list(p.fill) if p.fill else None,
                                "frame": [list(p.frame[0]), p.frame[1]] if p.frame else None,
                                "letter_pos": (("outside_" + ("above" if p.lout[3] == "t" and p.lout[2] == "l" else "left"))
                                               if p.lout else p.lpos) if p.letter else None, "tone": p.tone}})
    return {"file_name": name, "width": spec.W, "height": spec.H, "layout": spec.family, "caption": spec.caption,
            "letters_in_image": bool(spec.has_letters), "panels": panels,
            "meta": {"format": spec.fmt, "quality": spec.quality if spec.fmt == "jpg" else None,
                     "post": list(spec.post) if spec.post else None, "page": list(spec.bg),
                     "min_gutter": int(spec.min_gutter), "font": spec.st.txt.family}}


def generate(out_dir, per_family: int = 10, seed: int = 0, families=None) -> pathlib.Path:
    """Write out_dir/images/<file_name> and out_dir/annotations.json (COCO); return the JSON path.
    Deterministic for a seed (each figure depends only on (seed, family, index))."""
    out = pathlib.Path(out_dir)
    img_dir = out / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    fams = list(FAMILIES) if families is None else [f for f in FAMILIES if f in set(families)]
    unknown = set(families or []) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown families: {sorted(unknown)}")
    jobs = [(f, seed, i, str(img_dir)) for f in fams for i in range(int(per_family))]
    workers = int(os.environ.get("SKIA_SHEETS_WORKERS", "0") or 0)
    if workers <= 0:
        workers = min(2, os.cpu_count() or 1)
    results = None
    if workers > 1 and len(jobs) > 4:
        try:
            import multiprocessing as mp
            ctx = mp.get_context("fork") if sys.platform.startswith("linux") else mp.get_context("spawn")
            with ctx.Pool(workers) as pool:
                results = pool.map(_job, jobs, chunksize=2)
        except (OSError, RuntimeError, ImportError):
            results = None
    if results is None:
        results = [_job(j) for j in jobs]
    images, anns, meta = [], [], {"images": {}, "annotations": {}}
    for iid, r in enumerate(results, start=1):
        meta["images"][r["file_name"]] = r["meta"]
        images.append({"id": iid, "file_name": r["file_name"], "width": r["width"], "height": r["height"],
                       "layout": r["layout"], "caption": r["caption"], "letters_in_image": r["letters_in_image"]})
        for p in r["panels"]:
            x, y, w, h = p["bbox"]
            anns.append({"id": len(anns) + 1, "image_id": iid, "category_id": 1, "bbox": [x, y, w, h], "area": w * h,
                         "iscrowd": 0, "letter": p["letter"], "sub_caption": p["sub_caption"]})
            meta["annotations"][str(len(anns))] = p["meta"]
    doc = {"info": {"description": "skia_sheets: journal-like multi-panel figures with exact panel boxes",
                    "seed": int(seed), "per_family": int(per_family), "families": fams,
                    "ink_threshold": INK_THRESHOLD},
           "images": images, "annotations": anns, "categories": [{"id": 1, "name": "panel"}]}
    jp = out / "annotations.json"
    jp.write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    # side-car with generator metadata (surface / content type per annotation id, format per image)
    (out / "skia_sheets_meta.json").write_text(json.dumps(meta, indent=1))
    return jp


SINGLES = ("single", "single_whitespace")


def validate(json_path, families=None) -> dict:
    """Structural checks of a generated set; returns a summary dict with 'ok' and 'errors'."""
    jp = pathlib.Path(json_path)
    doc = json.loads(jp.read_text())
    errors = []
    img_dir = jp.parent / "images"
    if doc.get("categories") != [{"id": 1, "name": "panel"}]:
        errors.append("categories must be [{'id': 1, 'name': 'panel'}]")
    images = doc.get("images", [])
    anns = doc.get("annotations", [])
    ids = [im["id"] for im in images]
    if len(set(ids)) != len(ids):
        errors.append("duplicate image ids")
    aids = [a["id"] for a in anns]
    if len(set(aids)) != len(aids):
        errors.append("duplicate annotation ids")
    by_img = {i: [] for i in ids}
    for a in anns:
        if a.get("image_id") not in by_img:
            errors.append(f"annotation {a.get('id')} refers to unknown image {a.get('image_id')}")
            continue
        by_img[a["image_id"]].append(a)
    per_family = {}
    names = set()
    for im in images:
        fn = im["file_name"]
        tag = f"{fn}:"
        if fn in names:
            errors.append(f"{tag} duplicate file name")
        names.add(fn)
        lay = im.get("layout")
        if lay not in FAMILIES:
            errors.append(f"{tag} unknown layout {lay!r}")
        per_family[lay] = per_family.get(lay, 0) + 1
        W, H = im["width"], im["height"]
        p = img_dir / fn
        if not p.exists():
            errors.append(f"{tag} missing image file")
        else:
            with Image.open(p) as pim:
                if pim.size != (W, H):
                    errors.append(f"{tag} size {pim.size} != ({W}, {H})")
        if not (600 <= W <= 2400):
            errors.append(f"{tag} width {W} outside 600-2400")
        cap = im.get("caption")
        if not isinstance(cap, str) or not cap:
            errors.append(f"{tag} empty caption")
            cap = ""
        A = by_img.get(im["id"], [])
        if not A:
            errors.append(f"{tag} no annotations")
        boxes = []
        for a in A:
            b = a.get("bbox")
            if not (isinstance(b, list) and len(b) == 4 and all(isinstance(v, int) for v in b)):
                errors.append(f"{tag} bbox not 4 ints: {b}")
                continue
            x, y, w, h = b
            if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > W or y + h > H:
                errors.append(f"{tag} bbox {b} outside image {W}x{H}")
            if a.get("area") != w * h:
                errors.append(f"{tag} area {a.get('area')} != w*h")
            if a.get("category_id") != 1 or a.get("iscrowd") != 0:
                errors.append(f"{tag} category/iscrowd wrong")
            boxes.append((x, y, x + w, y + h))
            sc = a.get("sub_caption")
            if sc is not None and (not isinstance(sc, str) or not sc.strip() or sc not in cap):
                errors.append(f"{tag} sub_caption not found in caption: {sc!r}")
            if sc is not None and sc != sc.strip():
                errors.append(f"{tag} sub_caption not trimmed")
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a_, b_ = boxes[i], boxes[j]
                if min(a_[2], b_[2]) > max(a_[0], b_[0]) and min(a_[3], b_[3]) > max(a_[1], b_[1]):
                    errors.append(f"{tag} boxes overlap {a_} {b_}")
        letters = [a.get("letter") for a in A]
        if im.get("letters_in_image"):
            if any(l is None for l in letters):
                errors.append(f"{tag} letters_in_image but a panel has no letter")
            else:
                exp = [chr(ord("a") + k) for k in range(len(letters))]
                if sorted(letters) != exp:
                    errors.append(f"{tag} letters {letters} are not a..{exp[-1]}")
            if len(A) < 2:
                errors.append(f"{tag} letters on a single-panel figure")
        else:
            if any(l is not None for l in letters):
                errors.append(f"{tag} letters present but letters_in_image is false")
            if any(a.get("sub_caption") is not None for a in A):
                errors.append(f"{tag} sub_caption without letters")
        if lay in SINGLES:
            if len(A) != 1:
                errors.append(f"{tag} single-panel family with {len(A)} boxes")
        elif lay != "jpeg_noise" and len(A) < 2:
            errors.append(f"{tag} multi-panel family with {len(A)} box")
    want = list(FAMILIES) if families is None else list(families)
    for f in want:
        if per_family.get(f, 0) == 0:
            errors.append(f"family {f} missing")
    counts = list(per_family.values())
    if counts and len(set(counts)) > 1:
        errors.append(f"families unevenly represented: {per_family}")
    return {"ok": not errors, "n_errors": len(errors), "errors": errors[:100], "images": len(images),
            "annotations": len(anns), "per_family": per_family,
            "lettered": sum(1 for im in images if im.get("letters_in_image")),
            "jpeg": sum(1 for im in images if im["file_name"].endswith(".jpg"))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--per-family", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--families", default=None, help="comma-separated subset of: " + ",".join(FAMILIES))
    a = ap.parse_args(argv)
    fams = [f.strip() for f in a.families.split(",") if f.strip()] if a.families else None
    t0 = time.time()
    jp = generate(a.out_dir, per_family=a.per_family, seed=a.seed, families=fams)
    rep = validate(jp, families=fams)
    rep["seconds"] = round(time.time() - t0, 2)
    rep["json"] = str(jp)
    print(json.dumps(rep, indent=1))
    return 0 if rep["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

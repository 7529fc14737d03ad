"""Panel letters drawn in a figure: which letters, and where.

They serve twice. The model-free splitter takes them as evidence: a
whitespace gutter between irregular content (two diagrams side by side) is a
panel boundary only if each side carries its own letter, while the same gap
inside one schematic is not. And sub-captions are attached by them: a panel
showing "c" gets the caption's "(c)" text, whatever the reading order.

Candidates are small, high-contrast glyphs of either polarity (black on
white, white on a micrograph) that stand alone apart from their own
punctuation ("(a)", "a.") on a plain ground. The bundled PP-OCR recogniser
reads each one; a panel letter reads as one Latin letter. The letters kept
share one font size, line up with each other and lie at least a panel
apart: tick labels (digits, close together), words (glyphs touching
neighbours) and marks inside charts fail one of these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from sciir_dist.split.geometry import MIN_SIDE, Box


@dataclass(frozen=True)
class LetterOptions:
    #: a glyph differs from the paper around it by at least this much (0-255)
    contrast: int = 60
    #: glyph height bounds as a fraction of the figure's longer side (with pixel floors)
    min_height: float = 0.005
    max_height: float = 0.07
    #: two panel letters are at least this far apart (Chebyshev, px): a panel lies between
    min_separation: int = int(0.75 * MIN_SIDE)
    #: the recogniser's confidence that a candidate is the letter it read
    min_confidence: float = 0.5
    #: candidates read per figure at most (the most letter-like first)
    max_read: int = 24


@dataclass(frozen=True)
class Letter:
    box: Box
    char: str  # lowercase a-z ("" for a glyph not read yet)
    dark: bool = True  # dark ink on light ground (else light on dark)
    #: how much it looks like type (crisp, contrasted, on a plain ground), for ranking
    score: float = 0.0
    #: the glyph's look at 6x6 (ink 1, paper 0), to tell repeated marks from letters
    shape: tuple[float, ...] = ()

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class _Glyph:
    x: int
    y: int
    w: int
    h: int
    area: int

    @property
    def box(self) -> Box:
        return (self.x, self.y, self.x + self.w, self.y + self.h)


_PUNCT = re.compile(r"[\s()\[\]{}.,:;|'`\"]")


def find_letters(rgb: np.ndarray, opts: LetterOptions = LetterOptions()) -> list[Letter]:
    """The figure's panel letters, in no order; empty when fewer than two
    consistent letters are found."""
    import cv2

    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    found = candidates(gray, opts)
    if len(found) < 2:
        return []
    return _consistent(read(gray, found, opts), opts.min_separation)


def candidates(gray: np.ndarray, opts: LetterOptions = LetterOptions()) -> list[Letter]:
    """Glyphs that could be panel letters (not read yet), the most letter-like
    first; a lone glyph with none of its size to line up with is none."""
    import cv2

    side = max(gray.shape)
    hmin = max(6, int(opts.min_height * side))
    hmax = max(30, int(opts.max_height * side))
    # ink differs from the paper near it: from the lightest (dark ink) or the
    # darkest (light ink) level within reach of a glyph's strokes, and from the
    # mean level around it (a grey sky beside a white page is not ink)
    size = hmax // 2 | 1
    kernel = np.ones((size, size), np.uint8)
    g = gray.astype(np.int16)
    mean = cv2.blur(gray, (size, size)).astype(np.int16)
    found: list[Letter] = []
    for dark in (True, False):
        paper = (cv2.dilate if dark else cv2.erode)(gray, kernel).astype(np.int16)
        if dark:
            mask = (g < paper - opts.contrast) & (g < mean - opts.contrast // 2)
        else:
            mask = (g > paper + opts.contrast) & (g > mean + opts.contrast // 2)
        found += [replace(c, dark=dark) for c in _glyphs(mask.astype(np.uint8), gray, hmin, hmax)]
    # markers of a chart come in identical copies; a figure's letters differ in shape
    unique = [c for c, twins in zip(found, _twins(found)) if twins < 2]
    lined_up = [c for c in unique if any(o is not c and _same_font(c, o) and _aligned(c, o, _tolerance(c)) for o in unique)]
    return sorted(lined_up, key=lambda c: -c.score)[: opts.max_read]


def read(gray: np.ndarray, found: list[Letter], opts: LetterOptions = LetterOptions()) -> list[Letter]:
    """The candidates the recogniser reads as one Latin letter."""
    from sciir_dist.backends.ocr import recognise

    crops = []
    for c in found:
        x0, y0, x1, y1 = c.box
        pad = max(2, (y1 - y0) // 4)
        crop = gray[max(0, y0 - pad): y1 + pad, max(0, x0 - pad): x1 + pad]
        crop = crop if c.dark else 255 - crop  # the recogniser reads dark ink best
        crops.append(np.repeat(crop[:, :, None], 3, axis=2))
    letters = []
    for c, (text, conf) in zip(found, recognise(crops)):
        t = _PUNCT.sub("", text)
        if len(t) == 1 and t.isascii() and t.isalpha() and conf >= opts.min_confidence:
            letters.append(replace(c, char=t.lower()))
    return letters


def _glyphs(mask: np.ndarray, gray: np.ndarray, hmin: int, hmax: int) -> list[Letter]:
    """Letter-shaped components of one polarity's mask that stand alone (no
    glyph-sized neighbours but their own punctuation: words and tick labels
    have them) on a plain ground (not among the marks of a chart or a
    micrograph). Larger shapes nearby (a frame, a plot, a dark block) do not
    disqualify a letter drawn beside them."""
    import cv2

    # straight runs longer than any glyph are frames, axes and separators:
    # strip them so a letter drawn against a frame is a component of its own
    k = hmax + 2
    lines = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((1, k), np.uint8)) | cv2.morphologyEx(
        mask, cv2.MORPH_OPEN, np.ones((k, 1), np.uint8))
    mask = mask & (1 - lines)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    x, y, w, h, area = (stats[:, k] for k in range(5))
    big = (h > 2 * hmax) | (w > 3 * hmax)
    big[0] = False
    fill = area / np.maximum(1, w * h)
    shaped = ((h >= hmin) & (h <= hmax) & (w >= 0.2 * h) & (w <= 1.4 * h)
              & (((fill >= 0.12) & (fill <= 0.9)) | ((fill > 0.9) & (h >= 2.5 * w))))
    shaped[0] = False
    skip = None  # lines and large shapes, what the ground test looks past (built when first needed)
    out: list[Letter] = []
    for i in np.flatnonzero(shaped).tolist():
        c = _Glyph(int(x[i]), int(y[i]), int(w[i]), int(h[i]), int(area[i]))
        px, py = max(3, int(0.55 * c.h)), max(2, int(0.3 * c.h))  # a word space is ~0.3 of a capital
        win = labels[max(0, c.y - py): c.y + c.h + py, max(0, c.x - px): c.x + c.w + px]
        # specks of a few pixels (what stripping a frame leaves at its corners) do not count
        others = [_Glyph(int(x[j]), int(y[j]), int(w[j]), int(h[j]), int(area[j])) for j in np.unique(win).tolist()
                  if j not in (0, i) and area[j] > 4 and not big[j] and h[j] <= 2 * c.h and w[j] <= 3 * c.h]
        if not all(_punctuation(c, o) for o in others):
            continue
        crisp, contrast = _crispness(gray, labels, i, c)
        if crisp < 0.7:
            continue
        x0 = min([c.x] + [o.x for o in others])
        y0 = min([c.y] + [o.y for o in others])
        x1 = max([c.x + c.w] + [o.x + o.w for o in others])
        y1 = max([c.y + c.h] + [o.y + o.h for o in others])
        if skip is None:
            skip = (lines > 0) | big[labels]
        plain = _plain_ground(gray, labels, skip, (x0, y0, x1, y1), max(3, int(0.35 * c.h)))
        look = cv2.resize((labels[c.y: c.y + c.h, c.x: c.x + c.w] == i).astype(np.float32), (6, 6), interpolation=cv2.INTER_AREA)
        out.append(Letter((x0, y0, x1, y1), "", score=crisp * contrast / 255 * (1.0 if plain else 0.6),
                          shape=tuple(look.ravel().round(3).tolist())))
    return out


def _crispness(gray: np.ndarray, labels: np.ndarray, i: int, c: _Glyph) -> tuple[float, float]:
    """(share of the ground around the strokes at the paper level, ink-paper
    contrast). Type has sharp edges: the paper level comes at once; a
    blurred blob in a micrograph fades out through a halo."""
    pad = max(2, c.h // 5)
    ys, xs = slice(max(0, c.y - pad), c.y + c.h + pad), slice(max(0, c.x - pad), c.x + c.w + pad)
    win = gray[ys, xs].astype(np.float32)
    own = labels[ys, xs] == i
    ring = np.ones(own.shape, bool)
    ring[pad: pad + c.h, pad: pad + c.w] = False
    ring &= labels[ys, xs] == 0
    if not own.any() or not ring.any():
        return 0.0, 0.0
    ink, paper = float(np.median(win[own])), float(np.median(win[ring]))
    if abs(paper - ink) < 1:
        return 0.0, 0.0
    t = (win[~own] - ink) / (paper - ink)
    return float(np.mean(t > 0.75)), abs(paper - ink)


def _plain_ground(gray: np.ndarray, labels: np.ndarray, skip: np.ndarray, box: Box, pad: int) -> bool:
    """Are the pixels around a glyph (glyphs, lines and large shapes aside)
    nearly all one grey level?"""
    x0, y0, x1, y1 = box
    ys, xs = slice(max(0, y0 - pad), y1 + pad), slice(max(0, x0 - pad), x1 + pad)
    own = (labels[ys, xs] > 0) | (skip[ys, xs] > 0)
    vals = gray[ys, xs][~own].astype(np.int16)
    return len(vals) > 0 and float(np.mean(np.abs(vals - np.median(vals)) <= 35)) >= 0.85


def _punctuation(letter: _Glyph, o: _Glyph) -> bool:
    """A parenthesis, bracket, period or colon belonging to ``letter``."""
    beside = o.x + o.w <= letter.x + 1 or o.x >= letter.x + letter.w - 1
    if not beside or max(letter.x - (o.x + o.w), o.x - (letter.x + letter.w)) > 0.6 * letter.h:
        return False
    overlap = min(o.y + o.h, letter.y + letter.h) - max(o.y, letter.y)
    # a parenthesis spans the letter (round "a" or "c" are half its height)
    paren = o.h >= 0.8 * letter.h and o.w <= 0.55 * o.h and overlap >= 0.8 * letter.h and o.h <= 3.0 * letter.h
    small = max(3, 0.45 * letter.h)
    dot = o.h <= small and o.w <= small and o.y >= letter.y + 0.3 * letter.h
    return paren or dot


def _near(a: Letter, b: Letter, min_sep: int) -> bool:
    """A similar glyph of the same ink close by: a label or a word, not a panel letter."""
    return (a.dark == b.dark and max(abs(a.box[0] - b.box[0]), abs(a.box[1] - b.box[1])) < min_sep
            and 0.6 <= a.height / b.height <= 1.6)


def _twins(glyphs: list[Letter]) -> np.ndarray:
    """How many copies of each glyph there are: marks of the same ink, size
    and look ("b" and "d" are mirror images, not copies)."""
    if not glyphs:
        return np.zeros(0, int)
    w = np.array([g.box[2] - g.box[0] for g in glyphs])
    h = np.array([g.height for g in glyphs])
    dark = np.array([g.dark for g in glyphs])
    look = np.array([g.shape for g in glyphs], np.float32)
    same = ((np.abs(w[:, None] - w[None]) <= 1) & (np.abs(h[:, None] - h[None]) <= 1) & (dark[:, None] == dark[None]))
    rows, cols = np.nonzero(same)
    close = np.abs(look[rows] - look[cols]).mean(axis=1) < 0.08
    counts = np.bincount(rows[close], minlength=len(glyphs))
    return counts - 1  # each glyph is its own copy


def _same_font(a: Letter, b: Letter) -> bool:
    """Heights of one font size: lowercase letters without ascenders ("a", "c")
    are ~0.7 of "b", "d"."""
    lo, hi = sorted((a.height, b.height))
    return lo >= 0.62 * hi - 1


def _tolerance(ref: Letter) -> int:
    return max(6, int(1.2 * ref.height))


def _consistent(letters: list[Letter], min_sep: int) -> list[Letter]:
    """The largest set of letters of one font size that line up, lie a panel
    apart and name distinct panels; the tallest such set on ties."""
    lone = [g for g in letters if not any(o is not g and _near(g, o, min_sep) for o in letters)]
    best: list[Letter] = []
    best_key = (1, 0)
    for ref in lone:
        group = [g for g in lone if 0.62 * ref.height - 1 <= g.height <= ref.height + max(1, 0.05 * ref.height)]
        tol = _tolerance(ref)
        group = [g for g in group if any(o is not g and _aligned(g, o, tol) for o in group)]
        group = _sequence(_distinct(group, tol))
        if (len(group), ref.height) > best_key:
            best, best_key = group, (len(group), ref.height)
    return best


def _distinct(group: list[Letter], tol: int) -> list[Letter]:
    """One letter per name: of two "a"s, the one lined up with more others."""
    by_char: dict[str, Letter] = {}
    for g in sorted(group, key=lambda g: -sum(_aligned(g, o, tol) for o in group if o is not g)):
        by_char.setdefault(g.char, g)
    kept = [g for g in group if by_char[g.char] is g]
    return kept if len(kept) >= 2 else []


def _sequence(group: list[Letter]) -> list[Letter]:
    """Letters that can name a figure's panels: a run from near "a" with few
    gaps ("b" and "p" read inside two words are not). The letter farthest from
    the others goes first."""
    group = list(group)
    while len(group) >= 2:
        idx = sorted(ord(g.char) - 97 for g in group)
        if idx[0] <= len(group) and idx[-1] - idx[0] + 1 <= 2 * len(group):
            return group
        mid = float(np.median(idx))
        group.remove(max(group, key=lambda g: abs(ord(g.char) - 97 - mid)))
    return []


def _aligned(a: Letter, b: Letter, tol: int) -> bool:
    ax0, ay0, ax1, ay1 = a.box
    bx0, by0, bx1, by1 = b.box
    return abs(ax0 - bx0) <= tol or abs(ay0 - by0) <= tol or abs(ay1 - by1) <= tol or abs(ax1 - bx1) <= tol


def letters_of(boxes: list[Box], letters: list[Letter]) -> list[str | None]:
    """The letter drawn on each panel: the one inside its box or, for a
    letter standing outside every box, the nearest box right of or below it
    (a letter heads its panel). None where no letter is found."""
    out: list[str | None] = [None] * len(boxes)
    for lt in letters:
        cx, cy = (lt.box[0] + lt.box[2]) / 2, (lt.box[1] + lt.box[3]) / 2
        inside = [i for i, b in enumerate(boxes) if b[0] <= cx < b[2] and b[1] <= cy < b[3]]
        if inside:
            i = inside[0]
        elif boxes:
            i = min(range(len(boxes)), key=lambda i: _gap(lt.box, boxes[i]) * (1.0 if boxes[i][0] >= lt.box[0] - 4 and boxes[i][1] >= lt.box[1] - 4 else 2.0))
            if _gap(lt.box, boxes[i]) > 3 * lt.height:
                continue
        else:
            continue
        out[i] = lt.char if out[i] is None else out[i]
    return out


def _gap(a: Box, b: Box) -> float:
    dx = max(0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0, max(a[1], b[1]) - min(a[3], b[3]))
    return float(np.hypot(dx, dy))

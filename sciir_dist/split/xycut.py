"""The model-free panel splitter: recursive XY-cut over clean lines.

A *clean line* is a row (or column) of a region whose pixels, all but a few,
share one colour. Consecutive clean lines of one colour form a run, and a run
between two pieces of content is a cut candidate:

- *strong* when the lines just beyond it, on both sides, differ from its
  colour along the whole content: a gutter between tinted, framed or
  photographic panels, or a separator line of any colour between touching
  panels. Strong cuts are taken.
- *weak* when it is background between irregular content, as between two
  diagrams. Whitespace inside one schematic looks the same, so a weak cut
  needs support: a panel letter on each side, panel markers in the caption,
  a regular row of three or more equal pieces, or a plot's axes (or grid) on
  each side.

A line of text across the top of the figure that spans panels standing side
by side is the figure's title, and belongs to none of them.

Nothing is tuned to one drawing style: the background is estimated per
figure and per region, the tolerance follows the figure's noise level, and
each line's tolerance also follows its contrast with its neighbours (a 2 px
gutter blurred by JPEG is still a line). Panel letters are erased before the
analysis, so a letter standing in a gutter does not break it, and are given
back to the boxes of panels drawn straight on the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from sciir_dist.split import Hints
from sciir_dist.split.geometry import Box
from sciir_dist.split.letters import LetterOptions, find_letters


@dataclass(frozen=True)
class XYCutOptions:
    #: no cut leaves a piece shorter than this many pixels ...
    min_piece: int = 96
    #: ... or than this fraction of the figure's longer side
    min_fraction: float = 0.05
    #: an edge is straight when this share of the columns with content near it
    #: start right at the run ...
    straight: float = 0.75
    #: ... and those columns cover this share of the region's content columns
    coverage: float = 0.5
    #: separator lines are at most this fraction of the longer side thick (>= 6 px)
    line_fraction: float = 0.006
    #: a piece split off by a weak cut has content on at least this share of the lines
    #: of the fullest piece (a title or a legend strip has few)
    ink_balance: float = 0.08
    #: a piece thinner than this fraction of a neighbour is part of it (a colour bar)
    sliver: float = 0.15
    #: pieces of a regular row agree in length within this fraction
    regular: float = 0.08
    max_depth: int = 12
    letters: LetterOptions = field(default_factory=LetterOptions)


@dataclass
class _Cut:
    s: int
    e: int
    strong: bool
    colour: np.ndarray
    #: a drawn line (its colour is no background's)
    line: bool = False
    #: the middle of the run that made the cut (it may have been widened)
    at: float = 0.0
    #: what the run is: 1 the page (or a gutter colour around the region), 2 the
    #: region's own tint, 0 neither (a drawn line or band)
    ground: int = 1


@dataclass(frozen=True)
class _Leaf:
    box: Box  # the panel's content
    piece: Box  # the part of the figure the cuts gave it (content, margins, letters)
    container: bool  # a filled or framed rectangle


class XYCutSplitter:
    name = "xycut"

    def __init__(self, opts: XYCutOptions = XYCutOptions()) -> None:
        self.opts = opts

    def __call__(self, rgb: np.ndarray, hints: Hints = Hints()) -> list[Box]:
        found = hints.letters if hints.letters is not None else find_letters(rgb, self.opts.letters)
        letters = [lt.box for lt in found]
        expected = hints.expected
        fig = _Figure(rgb, letters, self.opts, letters_complete=_contiguous([lt.char for lt in found]))
        boxes = fig.boxes()
        if expected is not None and expected >= 2 and len(letters) < 2 and len(boxes) != expected:
            # no letters in the image, but the caption names panels: let its
            # count back weak cuts, if that brings the split closer to it
            fig.caption_backs_weak_cuts = True
            alt = fig.boxes()
            if abs(len(alt) - expected) < abs(len(boxes) - expected):
                boxes = alt
        return boxes


def _mode_colour(pixels: np.ndarray) -> tuple[np.ndarray, float]:
    """Most common colour of an (n, 3) pixel list (8-level bins) and its share."""
    q = (pixels // 8).astype(np.int32)
    keys = q[:, 0] << 10 | q[:, 1] << 5 | q[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    k = values[np.argmax(counts)]
    sel = pixels[keys == k]
    return np.median(sel, axis=0).astype(np.int16), float(counts.max()) / len(pixels)


def _ring(img: np.ndarray, box: Box, width: int = 2) -> np.ndarray:
    x0, y0, x1, y1 = box
    sub = img[y0:y1, x0:x1]
    return np.concatenate([sub[:width].reshape(-1, 3), sub[-width:].reshape(-1, 3),
                           sub[:, :width].reshape(-1, 3), sub[:, -width:].reshape(-1, 3)])


def _deviation(sub: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Largest channel difference of every pixel from one colour, or from a
    per-line colour of shape (n, 1, 3)."""
    sub = sub.astype(np.int16, copy=False)
    colour = np.asarray(colour, np.int16)
    dev = np.abs(sub[..., 0] - colour[..., 0])
    for c in (1, 2):
        np.maximum(dev, np.abs(sub[..., c] - colour[..., c]), out=dev)
    return dev


class _Figure:
    """One figure under analysis: pixels with letters erased, background,
    noise tolerance, letters, and the recursive split."""

    def __init__(self, rgb: np.ndarray, letters: list[Box], opts: XYCutOptions, letters_complete: bool = True) -> None:
        self.opts, self.letters = opts, letters
        #: every letter from "a" to the last one read was found: a piece without one has none
        self.letters_complete = letters_complete
        self.caption_backs_weak_cuts = False
        #: the cuts taken so far, as (axis, start, end) in figure pixels: a weak cut
        #: in line with one of them continues a grid's gutter (a row whose letter
        #: went unread still splits where the rows beside it did)
        self.taken: list[tuple[int, int, int]] = []
        #: the figure as drawn (letters kept: they say where pieces end) and
        #: with its letters erased (what gutters and outlines are read from)
        self.drawn = np.ascontiguousarray(rgb, dtype=np.uint8)
        self.img = self.drawn.copy()
        self.h, self.w = rgb.shape[:2]
        side = max(self.h, self.w)
        self.min_len = max(opts.min_piece, int(opts.min_fraction * side))
        self.max_line = max(6, int(opts.line_fraction * side))
        #: an outline is straight over at least this many columns (a quarter of the smallest panel)
        self.min_segment = max(12, self.min_len // 4)
        self.bg, _ = _mode_colour(_ring(self.img, (0, 0, self.w, self.h)))
        self.tol = self._tolerance(rgb)
        for box in letters:
            self._erase(box)
        #: the erased figure column-major, so column scans read contiguous memory
        self.img_t = np.ascontiguousarray(self.img.transpose(1, 0, 2))
        import cv2

        self.gray = cv2.cvtColor(self.img, cv2.COLOR_RGB2GRAY)
        self.gray_t = np.ascontiguousarray(self.gray.T)
        self._masks: dict[tuple, np.ndarray] = {}
        self._cands: dict[tuple, list[_Cut]] = {}
        self.bg = self._page()

    def _page(self) -> np.ndarray:
        """The page colour: that of the gutters when there are gutters between
        outlined panels (strong runs across the whole figure, the widest kind
        first), else the commonest colour of the figure's outline. Panels that
        run to the figure's edges make the outline their colour, not the
        page's. A drawn line counts only when it runs from edge to edge
        (between panels that fill the figure, where no page shows): a line
        stopping at a margin is drawn on the page."""
        width: dict[tuple, int] = {}
        best = self.bg
        for axis in (0, 1):
            img = self.img if axis == 0 else self.img_t
            for c in self._candidates((0, 0, self.w, self.h), axis, (self.bg,), None):
                if c.line:  # does the line itself run to both edges (its ends in its colour)?
                    ends = img[int(c.at), [0, 1, -2, -1]]
                    edge_to_edge = bool((_deviation(ends, c.colour) <= self.tol).all())
                if c.strong and (not c.line or edge_to_edge):
                    key = tuple(int(v) // 8 for v in c.colour)
                    width[key] = width.get(key, 0) + c.e - c.s
                    if width[key] == max(width.values()):
                        best = c.colour
        return best

    # -- image statistics -----------------------------------------------------
    def _tolerance(self, rgb: np.ndarray) -> float:
        """How far a pixel may stray from its line's colour: a few noise
        standard deviations. Noise is measured as the spread (MAD) of the
        differences between neighbouring pixels on flat ground, edges and
        texture excluded, along the figure's rows."""
        import cv2

        gray = cv2.cvtColor(np.ascontiguousarray(rgb[:: max(1, self.h // 400)]), cv2.COLOR_RGB2GRAY).astype(np.int16)
        d = np.abs(np.diff(gray, axis=1)).ravel()
        flat = d[d < 24]
        sigma = 1.4826 * _median_int(flat) / np.sqrt(2) if len(flat) else 0.0
        return max(6.0, 3.5 * sigma + 2.0)

    def _erase(self, box: Box) -> None:
        """Paint a letter with the colour around it."""
        x0, y0, x1, y1 = box
        pad = 2
        x0, y0, x1, y1 = max(0, x0 - pad), max(0, y0 - pad), min(self.w, x1 + pad), min(self.h, y1 + pad)
        ring = _ring(self.img, (max(0, x0 - 2), max(0, y0 - 2), min(self.w, x1 + 2), min(self.h, y1 + 2)))
        self.img[y0:y1, x0:x1] = _mode_colour(ring)[0]

    def _own_background(self, box: Box, inherited: tuple[np.ndarray, ...]) -> np.ndarray | None:
        """The region's own background (a panel tint) when one colour other
        than the inherited ones dominates just inside its outline."""
        x0, y0, x1, y1 = box
        d = self.max_line + 1  # inside a frame, if the region has one
        if x1 - x0 > 2 * d + 4 and y1 - y0 > 2 * d + 4:
            box = (x0 + d, y0 + d, x1 - d, y1 - d)
        colour, share = _mode_colour(_ring(self.img, box))
        if share >= 0.5 and all(np.abs(colour - c).max() > self.tol for c in inherited):
            return colour
        return None

    def _mask(self, backgrounds: tuple[np.ndarray, ...], drawn: bool = False) -> np.ndarray:
        """Content of the whole figure: pixels unlike every background colour
        (cached: most regions share their backgrounds)."""
        key = (drawn,) + tuple(sorted(tuple(int(v) for v in c) for c in backgrounds))
        if key not in self._masks:
            import cv2

            image = self.drawn if drawn else self.img
            mask = None
            for c in backgrounds:
                d = cv2.absdiff(image, (int(c[0]), int(c[1]), int(c[2]), 0))
                m = np.maximum(np.maximum(d[..., 0], d[..., 1]), d[..., 2]) > self.tol
                mask = m if mask is None else mask & m
            self._masks[key] = mask
        return self._masks[key]

    def _distinct(self, colours: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        out: list[np.ndarray] = []
        for c in colours:
            if all(np.abs(c - o).max() > self.tol for o in out):
                out.append(c)
        return tuple(out)

    def _trim(self, box: Box, backgrounds: tuple[np.ndarray, ...], drawn: bool) -> Box | None:
        """The box shrunk to its content."""
        x0, y0, x1, y1 = box
        mask = self._mask(backgrounds, drawn)[y0:y1, x0:x1]
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if len(rows) == 0:
            return None
        return (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)

    # -- recursion ----------------------------------------------------------------
    def boxes(self) -> list[Box]:
        title = self._title()
        if title is not None:
            # a figure title across the panels' columns belongs to none of them
            stretches, start = title
            below = self._leaves((0, start, self.w, self.h))
            if any(_side_by_side([leaf.box for leaf in below if s < leaf.box[2] and leaf.box[0] < e]) for s, e in stretches):
                return self.give_back_letters(below)
        leaves = self._leaves((0, 0, self.w, self.h))
        return self.give_back_letters(leaves) if leaves else [(0, 0, self.w, self.h)]

    def _leaves(self, box: Box) -> list[_Leaf]:
        self.taken = []
        leaves: list[_Leaf] = []
        self.split(box, (self.bg,), 0, leaves)
        return leaves

    def _title(self) -> tuple[list[tuple[int, int]], int] | None:
        """A line or two of text at the top of the figure, clear of what is
        below it: its stretches across (words closer than 2 % of the width
        joined) and where the rest begins. None if there is no such strip."""
        mask = self._mask((self.bg,))
        rows = np.flatnonzero(mask.any(axis=1))
        if len(rows) == 0:
            return None
        gaps = np.flatnonzero(np.diff(rows) > 3)
        if len(gaps) == 0:
            return None
        top, end, below = rows[0], rows[gaps[0]] + 1, rows[gaps[0] + 1]
        if end - top > self.min_len // 2 or rows[-1] - below < self.min_len:
            return None
        cols = np.flatnonzero(mask[top:end].any(axis=0))
        breaks = np.flatnonzero(np.diff(cols) > max(4, 0.02 * self.w))
        starts, ends = np.r_[cols[0], cols[breaks + 1]], np.r_[cols[breaks], cols[-1]] + 1
        return list(zip(starts.tolist(), ends.tolist())), int(end + below) // 2

    def split(self, box: Box, backgrounds: tuple[np.ndarray, ...], depth: int, out: list[_Leaf]) -> None:
        """Cut ``box`` along its best axis and recurse; ``backgrounds``: the
        colours around it (the page, and the gutters that cut it out)."""
        # the piece keeps its letters; its panel is what is drawn besides them
        piece = self._trim(box, backgrounds, drawn=True)
        box = self._trim(piece, backgrounds, drawn=False) if piece is not None else None
        if box is None:
            return
        own = self._own_background(box, backgrounds)
        options = []
        if depth < self.opts.max_depth:
            found = [self._candidates(box, axis, backgrounds, own) for axis in (0, 1)]
            if any(self._lattice(c) for c in found):
                # cell borders of a heat map or table, not panel separators
                found = [[c for c in cs if not (c.strong and c.e - c.s <= self.max_line)] for cs in found]
            for axis in (0, 1):
                cands = found[axis]
                cuts = self._select(box, piece, axis, cands, backgrounds)
                while cuts:
                    flat = self._flat_piece(box, axis, cuts)
                    if flat is None:
                        break
                    kind, i = flat
                    if kind == "tiles":  # the cuts were cell borders: no thin line is a separator here
                        keep = [c for c in cands if not (c.strong and c.e - c.s <= self.max_line)]
                    else:  # a blank block is a shape of the panel around it, not a panel
                        near = [(c.s, c.e) for c in cuts[max(0, i - 1): i + 1]]
                        keep = [c for c in cands if not any(c.s < e and s < c.e for s, e in near)]
                    if len(keep) == len(cands):
                        cuts = []
                        break
                    cands = keep
                    cuts = self._select(box, piece, axis, cands, backgrounds)
                if cuts:
                    options.append((any(c.strong for c in cuts), max(c.e - c.s for c in cuts), axis, cuts))
            if not options and depth == 0:
                options = self._cross(box, found, backgrounds)
        if not options:
            out.append(_Leaf(box, piece, self._container(box, backgrounds)))
            return
        _, _, axis, cuts = max(options, key=lambda o: o[:2])
        x0, y0, x1, y1 = box
        lo = y0 if axis == 0 else x0
        self.taken += [(axis, lo + c.s, lo + c.e) for c in cuts]
        # pieces reach out to the piece's own ends (letters beyond the content stay in them)
        px0, py0, px1, py1 = piece
        edges = [py0 if axis == 0 else px0] + [lo + v for c in cuts for v in (c.s, c.e)] + [py1 if axis == 0 else px1]
        # children inherit the colours around them, and the colour of the gutters that cut them out
        colours = self._distinct(backgrounds + tuple(c.colour for c in cuts if not c.line))
        children = [(px0, edges[i], px1, edges[i + 1]) if axis == 0 else (edges[i], py0, edges[i + 1], py1)
                    for i in range(0, len(edges), 2)]
        if len(self.letters) < 2:  # (letters say where a lettered figure's panels are)
            self.taken += self._shared_gaps(children, 1 - axis, colours)
        for child in children:
            self.split(child, colours, depth + 1, out)

    # -- cut candidates ---------------------------------------------------------
    def _candidates(self, box: Box, axis: int, backgrounds: tuple[np.ndarray, ...], own: np.ndarray | None) -> list[_Cut]:
        """Cut candidates along one axis (0: rows, 1: columns). Inside a
        region with its own background (a tinted panel), runs of that colour
        are whitespace within the panel: weak at most. Remembered: a region
        is looked at again when its siblings are compared, and when the
        caption's count is tried."""
        key = (box, axis, tuple(tuple(int(v) for v in c) for c in backgrounds),
               None if own is None else tuple(int(v) for v in own))
        if key not in self._cands:
            self._cands[key] = self._find_candidates(box, axis, backgrounds, own)
        return self._cands[key]

    def _find_candidates(self, box: Box, axis: int, backgrounds: tuple[np.ndarray, ...], own: np.ndarray | None) -> list[_Cut]:
        x0, y0, x1, y1 = box
        sub = self.img[y0:y1, x0:x1] if axis == 0 else self.img_t[x0:x1, y0:y1]
        n, length = sub.shape[:2]
        if n < 2 * self.min_len:
            return []
        slack = self._end_slack(length)
        gray = self.gray[y0:y1, x0:x1] if axis == 0 else self.gray_t[x0:x1, y0:y1]
        # how much each line differs from the lines up to a JPEG block away (in grey): a
        # line's tolerance grows with the contrast beside it, so a 2 px gutter blurred by
        # JPEG, or a gutter ringing from the photograph's edge next to it, is one colour
        import cv2

        level = cv2.reduce(gray[:, slack: length - slack], 1, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel()
        k = np.arange(n)
        up, down = np.zeros(n, np.float32), np.zeros(n, np.float32)
        for j in range(3, 9):
            np.maximum(up, np.abs(level - level[np.maximum(k - j, 0)]), out=up)
            np.maximum(down, np.abs(level - level[np.minimum(k + j, n - 1)]), out=down)
        tol = np.maximum(self.tol, np.maximum(0.2 * np.minimum(up, down), 0.15 * np.maximum(up, down)))
        means = np.zeros((n, 3))  # the colour of each clean line, filled in below
        # a few pixels may stray from the line's colour (JPEG specks), none far
        # (a frame's side, a crossing line); lines whose range already shows a
        # far pixel are not looked at closer
        far = 2.5 * tol + 60
        mid = gray[:, slack: length - slack]
        clean = (mid.max(axis=1).astype(np.int16) - mid.min(axis=1)) <= 2 * far  # a cheap first look, in grey
        idx = np.flatnonzero(clean)
        short = np.zeros(n, bool)
        if len(idx):
            means[idx] = _line_means(np.ascontiguousarray(sub[idx, slack: length - slack]))
            clean[idx], short[idx] = self._clean(sub[idx], means[idx], tol[idx], far[idx], backgrounds)
            clean |= short
        ridge = self._ridges(gray) & ~clean
        if ridge.any():
            means[ridge] = _line_means(np.ascontiguousarray(sub[ridge, slack: length - slack]))
            clean |= ridge
        jump = np.zeros(n, bool)
        jump[1:] = np.abs(np.diff(means, axis=0)).max(axis=1) > np.minimum(tol[1:], tol[:-1])
        mask = self._mask(backgrounds)[y0:y1, x0:x1]
        content_cols = max(1, int(mask.any(axis=axis).sum()))
        runs: list[tuple[int, int]] = []
        y = 0
        while y < n:
            if not clean[y]:
                y += 1
                continue
            s = y
            y += 1
            while y < n and clean[y] and not jump[y]:
                y += 1
            # a band that only passes as a line stopping short must be as thin as a line
            if s > 0 and y < n and not (short[s:y].any() and y - s > self.max_line):
                runs.append((s, y))
        groups: list[list[tuple[int, int]]] = []
        for r in runs:
            if groups and groups[-1][-1][1] == r[0]:
                groups[-1].append(r)
            else:
                groups.append([r])
        cuts = []
        heading = self._letters_head(axis)
        for group in groups:
            cut = self._gap(sub, group, means, tol, backgrounds, own, content_cols)
            if cut is not None:
                cuts.append(self._clear_of_letters(cut, box, axis, heading))
        return cuts

    def _letter_spans(self, box: Box, axis: int) -> list[tuple[int, int]]:
        """Where the letters across ``box`` lie along the axis, from its start."""
        x0, y0, x1, y1 = box
        if axis == 0:
            return [(b[1] - y0, b[3] - y0) for b in self.letters if b[2] > x0 and b[0] < x1]
        return [(b[0] - x0, b[2] - x0) for b in self.letters if b[3] > y0 and b[1] < y1]

    def _letters_head(self, axis: int) -> bool:
        """Do the figure's letters head their panels along this axis? One
        figure keeps one convention."""
        return _heading(self._letter_spans((0, 0, self.w, self.h), axis), self.h if axis == 0 else self.w)

    def _clear_of_letters(self, cut: _Cut, box: Box, axis: int, heading: bool) -> _Cut:
        """A cut stops at a letter in it: the letter belongs to a panel, not to
        the gap. Beside a line it belongs to the panel on its side of the line;
        in a gutter, to the panel after it when the figure's letters head
        their panels, else to the one before."""
        s, e = cut.s, cut.e
        for a0, a1 in self._letter_spans(box, axis):
            if not s <= (a0 + a1) / 2 < e:
                continue
            if (a0 >= cut.at) if cut.line else heading:
                e = min(e, a0)
            else:
                s = max(s, a1)
        return replace(cut, s=s, e=max(e, s + 1))

    def _ridges(self, gray: np.ndarray) -> np.ndarray:
        """Thin lines that stand out from the lines 2-3 px away on both sides
        all along their length, whatever their own colour does: through JPEG a
        1 px separator takes its neighbours' hue and is never one colour.
        Read in grey on every third pixel, over the whole length (the axis
        line of a plot stops short of its tick labels)."""
        n = gray.shape[0]
        pix = gray[:, ::3].astype(np.int16)
        contrast = max(40.0, 5 * self.tol)
        out = np.zeros(n, bool)
        for k in (2, 3):
            if n <= 2 * k or pix.shape[1] == 0:
                continue
            mid = pix[k:-k]
            low = np.minimum(np.abs(mid - pix[: -2 * k]), np.abs(mid - pix[2 * k:]))
            out[k:-k] |= np.count_nonzero(low >= contrast, axis=1) >= 0.97 * pix.shape[1]
        return out

    def _end_slack(self, length: int) -> int:
        """Pixels at each end of a line that may differ: separator lines often
        stop a little short of the figure's edges."""
        return int(0.025 * length)

    def _clean(self, lines: np.ndarray, means: np.ndarray, tol: np.ndarray, far: np.ndarray,
               backgrounds: tuple[np.ndarray, ...]) -> np.ndarray:
        """Which lines are one colour (``means``, of their middle stretch): a
        few pixels may stray (JPEG specks), none far (a frame's side, a
        crossing arrow). A drawn line (not of a background colour) may also
        stop a little short of either end; a gutter may not. Returns (clean,
        clean only as a line stopping short)."""
        length = lines.shape[1]
        slack = self._end_slack(length)
        colour = np.rint(means).astype(np.int16)[:, None, :]
        dev = _deviation(lines, colour)
        allowed = max(2, int(0.004 * length))

        def one_colour(d: np.ndarray) -> np.ndarray:
            return (np.count_nonzero(d > tol[:, None], axis=1) <= allowed) & (d.max(axis=1) <= far)

        ok = one_colour(dev)
        short = np.zeros_like(ok)
        drawn = (np.abs(colour[:, 0, None, :] - np.array(backgrounds, np.int16)[None]).max(axis=2) > self.tol).all(axis=1)
        if slack and (drawn & ~ok).any():
            short = one_colour(dev[:, slack: length - slack])
            # at each end, one stretch off the line's colour: the line stops short of the
            # edge, or of a frame of its own colour (content crossing it leaves several)
            for end in (dev[:, :slack], dev[:, length - slack:][:, ::-1]):
                off = end > tol[:, None]
                stretches = off[:, 0].astype(np.int32) + np.count_nonzero(off[:, 1:] & ~off[:, :-1], axis=1)
                short &= stretches <= 1
            short &= drawn & ~ok
        return ok, short

    def _gap(self, sub: np.ndarray, group: list[tuple[int, int]], means: np.ndarray, tol: np.ndarray,
             backgrounds: tuple[np.ndarray, ...], own: np.ndarray | None, content_cols: int) -> _Cut | None:
        """The cut a group of touching runs makes: its strongest run (a strong
        gutter before a line beside it, which is a frame's edge), widened over
        the runs of the same ground around it (page whitespace, or the
        region's own tint) and over a separator line with that ground beyond.
        A tinted margin beside a page-white gutter stays with its panel."""
        runs = []
        for s, e in group:
            c = np.rint(means[s:e].mean(axis=0)).astype(np.int16)
            # 1: the page (or a gutter colour around the region), 2: the region's own tint
            ground = 2 if own is not None and np.abs(c - own).max() <= self.tol else (
                1 if any(np.abs(c - b).max() <= self.tol for b in backgrounds) else 0)
            # a hairline of page is a gutter only with panels right against it: one
            # clean line beside the boxes of a flowchart is the gap next to an arrow
            reach = 2 if ground == 1 and e - s <= 2 else None
            # content beyond the run strays further than the noise (a pale tint's edge
            # does), or, next to a photograph's edge, further than its JPEG ringing
            strong = ground != 2 and any(
                self._straight(sub, s - 1, -1, c, content_cols, t, reach) and self._straight(sub, e, 1, c, content_cols, t, reach)
                for t in sorted({self.tol, float(tol[s:e].max())}))
            runs.append((s, e, c, ground, strong, e - s <= self.max_line))
        eligible = [i for i, r in enumerate(runs) if r[4] or (r[3] and r[1] - r[0] >= 2)]
        if not eligible:
            return None
        b = max(eligible, key=lambda i: (runs[i][4], runs[i][3] == 1, runs[i][3] > 0, runs[i][1] - runs[i][0]))
        s, e, c, ground, strong, thin = runs[b]
        line = strong and thin and not ground
        # a gutter takes the runs of its ground and lines with that ground beyond;
        # a drawn line takes its anti-aliased fringe and the whitespace beside it
        wanted = (lambda r: r[3] == 1 or (not r[3] and r[5])) if line else (lambda r: r[3] == ground)
        lo = hi = b
        if ground or line:
            while lo > 0 and (wanted(runs[lo - 1]) or (runs[lo - 1][5] and lo >= 2 and wanted(runs[lo - 2]))):
                lo -= 1
            while hi < len(runs) - 1 and (wanted(runs[hi + 1]) or (runs[hi + 1][5] and hi + 2 < len(runs) and wanted(runs[hi + 2]))):
                hi += 1
        s, e = runs[lo][0], runs[hi][1]
        if line:  # anti-aliasing and JPEG leave a faint fringe (that crossing lines keep from being clean)
            s, e = max(1, s - 2), min(len(sub) - 1, e + 2)
        return _Cut(s, e, strong, c, line=line, at=(runs[b][0] + runs[b][1]) / 2, ground=ground)

    def _straight(self, sub: np.ndarray, start: int, step: int, colour: np.ndarray, content_cols: int,
                  tol: float, reach: int | None = None) -> bool:
        """Does the content beyond a run start along straight edges (the
        outlines of panels, maybe at different depths, or within ``reach``),
        not as the ragged fringe of drawings and text? Content is what strays
        further than ``tol`` from the run's colour."""
        depth = 48 if reach is None else reach + 1
        if step < 0:
            band = sub[max(0, start - depth + 1): start + 1][::-1]
        else:
            band = sub[start: start + depth]
        if len(band) == 0:
            return False
        diff = _deviation(band, colour) > tol
        occupied = diff.any(axis=0)
        n_occ = int(occupied.sum())
        # a hairline gutter runs between panels that fill the whole span beside it
        if n_occ < (self.opts.coverage if reach is None else 0.9) * content_cols:
            return False
        dist = np.where(occupied, diff.argmax(axis=0), -10)
        # straight segments: neighbouring columns whose content starts at one depth (±1 for
        # noise). A gentle curve chains too, so only the columns at the chain's usual depth
        # count (a rounded corner at the end of a straight outline costs a few columns only)
        same = (np.abs(np.diff(dist)) <= 1) & occupied[1:] & occupied[:-1]
        straight = 0
        for s, e in _true_runs(same):
            seg = dist[s: e + 1]
            level = int(np.count_nonzero(np.abs(seg - np.median(seg)) <= 1))
            if level >= self.min_segment:
                straight += level
        return straight >= self.opts.straight * n_occ

    # -- choosing cuts ----------------------------------------------------------
    def _select(self, box: Box, piece: Box, axis: int, cuts: list[_Cut], backgrounds: tuple[np.ndarray, ...]) -> list[_Cut]:
        """The cuts along one axis of ``box`` (the content of ``piece``): the
        strong ones, and weak ones where letters, the caption or a regular row
        back them, such that every piece stays panel-sized."""
        if not cuts:
            return []
        x0, y0, x1, y1 = box
        lo, n = (y0, y1 - y0) if axis == 0 else (x0, x1 - x0)
        # how much of each line holds content: a sparse scatter plot spans its
        # extent as much as a flowchart of filled boxes does
        profile = self._mask(backgrounds)[y0:y1, x0:x1].any(axis=1 - axis)
        cum = np.concatenate([[0], np.cumsum(profile)])
        px0, py0, px1, py1 = piece
        letters = [b for b in self.letters if px0 <= (b[0] + b[2]) / 2 < px1 and py0 <= (b[1] + b[3]) / 2 < py1]
        spans = [(b[1] - lo, b[3] - lo) if axis == 0 else (b[0] - lo, b[2] - lo) for b in letters]
        strong = self._fit([c for c in cuts if c.strong], n, cum, balance=False)
        if letters and len(self.letters) >= 2 and self.letters_complete:
            strong = self._lettered_lines(strong, spans, n, cum)
        elif not letters and not self.caption_backs_weak_cuts:
            # the facets of one chart stand apart as plots do, but share their tick labels
            facets = [w for w, _, facet in self._plot_gaps(box, axis, strong, backgrounds) if facet]
            strong = [c for c in strong if c not in facets]
        weak = [c for c in cuts if not c.strong]
        if not weak:
            return strong
        grid = self._grid(strong, weak, n, cum)
        # a row of equal cells, lettered or not (a letter may go unread), unless it is a faceted chart
        if grid and (letters or not any(facet for *_, facet in self._plot_gaps(box, axis, grid, backgrounds))):
            return grid
        both = self._fit(sorted(strong + weak, key=lambda c: c.s), n, cum, balance=True)
        if len(letters) >= 2:
            return self._fit(sorted(strong + self._by_letters(strong, weak, spans, n), key=lambda c: c.s), n, cum,
                             balance=False)
        if self.caption_backs_weak_cuts:
            return both
        aligned = [c for c in weak if self._in_line(axis, lo + c.s, lo + c.e)]
        backed = aligned + [c for c in self._between_plots(box, axis, strong, weak, backgrounds) if c not in aligned]
        return self._fit(sorted(strong + backed, key=lambda c: c.s), n, cum, balance=True) if backed else strong

    @property
    def _gutter_width(self) -> int:
        """The narrowest whitespace that is a gutter, not the space between words or strips."""
        return max(8, int(0.012 * max(self.w, self.h)))

    def _between_plots(self, box: Box, axis: int, strong: list[_Cut], weak: list[_Cut],
                       backgrounds: tuple[np.ndarray, ...]) -> list[_Cut]:
        """Weak cuts that separate plots: between two pieces that each hold
        a plot's axes or grid, the widest gap, if it is gutter-wide and not
        between facets (:meth:`_plot_gaps`). Whitespace inside one plot
        (before its legend, under its title) has a plot on one side only."""
        return [widest for widest, between, facet in self._plot_gaps(box, axis, strong + weak, backgrounds)
                if not facet and not any(c.strong for c in between) and widest.e - widest.s >= self._gutter_width]

    def _plot_gaps(self, box: Box, axis: int, cuts: list[_Cut], backgrounds: tuple[np.ndarray, ...]):
        """For every two consecutive pieces between ``cuts`` that hold a
        plot: the widest cut between them, the cuts between them, and whether
        they are facets of one chart (:func:`_facets`; only whitespace a
        gutter wide stands between facets, never a drawn line)."""
        x0, y0, x1, y1 = box
        cuts = sorted(cuts, key=lambda c: c.s)
        b = [0] + [v for c in cuts for v in (c.s, c.e)] + [(y1 - y0) if axis == 0 else (x1 - x0)]
        last, before = None, None
        for i in range(0, len(b), 2):
            s, e = b[i], b[i + 1]
            piece = self._trim((x0, y0 + s, x1, y0 + e) if axis == 0 else (x0 + s, y0, x0 + e, y1), backgrounds, drawn=False)
            corners = self._plot_corners(piece, axis) if piece is not None else []
            if not corners:
                continue
            between = cuts[last: i // 2] if last is not None else []
            if between:
                widest = max(between, key=lambda c: c.e - c.s)
                gap = (y0 + widest.s, y0 + widest.e) if axis == 0 else (x0 + widest.s, x0 + widest.e)
                gutter = not widest.line and widest.e - widest.s >= self._gutter_width
                yield widest, between, gutter and _facets(before, (piece, corners), axis, gap)
            last, before = i // 2, (piece, corners)

    def _plot_corners(self, box: Box, axis: int) -> list[_Corner]:
        """Where the content in ``box``, a piece between cuts along
        ``axis``, has a plot's axes or grid: each meeting of an unbroken thin
        horizontal and vertical line (the edges of bars stop and start; the
        outlines of a diagram's boxes have rounded corners), each as long as
        a panel's minimum side (a diagram's boxes are smaller), and across
        40 % of the piece's width between the cuts (along them a piece may
        hold several plots)."""
        x0, y0, x1, y1 = box
        across, down = self._rules
        tall = max(self.min_len, 0.4 * (y1 - y0) if axis == 0 else 0.0)
        wide = max(self.min_len, 0.4 * (x1 - x0) if axis == 1 else 0.0)
        rows = _long_runs(across[y0:y1, x0:x1], wide)  # (row, start, end)
        cols = _long_runs(down[y0:y1, x0:x1].T, tall)  # (column, start, end)
        near = 6  # a line's ridge stops a few pixels short of the line it meets
        return [_Corner(x0 + c, y0 + r, (x0 + hs, x0 + he), (y0 + vs, y0 + ve)) for r, hs, he in rows for c, vs, ve in cols
                if hs - near <= c <= he + near and vs - near <= r <= ve + near]

    @cached_property
    def _rules(self) -> tuple[np.ndarray, np.ndarray]:
        """Thin straight lines of the figure, horizontal and vertical, at
        least a quarter of a panel's minimum side long: pixels lighter or
        darker than both neighbours 2-3 px away across the line, in runs
        along it."""
        import cv2

        contrast = 3 * self.tol
        length = max(20, self.min_len // 4)
        out = []
        for gray in (self.gray, self.gray_t):
            g = gray.astype(np.int16)
            ridge = np.zeros(g.shape, bool)
            for k in (2, 3):
                mid, before, after = g[k:-k], g[: -2 * k], g[2 * k:]
                a, b = mid - before, mid - after
                ridge[k:-k] |= ((a > contrast) & (b > contrast)) | ((a < -contrast) & (b < -contrast))
            # bridged where lines cross (no ridge there), then kept where long
            ridge = cv2.morphologyEx(ridge.view(np.uint8), cv2.MORPH_CLOSE, np.ones((1, 5), np.uint8))
            out.append(cv2.morphologyEx(ridge, cv2.MORPH_OPEN, np.ones((1, length), np.uint8)).astype(bool))
        return out[0], np.ascontiguousarray(out[1].T)

    def _cross(self, box: Box, found: list[list[_Cut]], backgrounds: tuple[np.ndarray, ...]) -> list:
        """Two weak gaps crossing the whole figure, one each way, with
        content in all four quarters: the gutters of a 2 x 2 grid (whitespace
        inside one drawing seldom runs clear both ways; inside a panel it
        often does, so this is for the figure as a whole). Returns the wider
        as the figure's option and remembers the other for the pieces."""
        x0, y0, x1, y1 = box
        mask = self._mask(backgrounds)[y0:y1, x0:x1]
        size = (y1 - y0, x1 - x0)

        def fits(axis: int, c: _Cut) -> bool:
            parts = (c.s, size[axis] - c.e)
            return min(parts) >= self.min_len and min(parts) >= self.opts.sliver * max(parts)

        wide = self._gutter_width
        rows = sorted((c for c in found[0] if not c.strong and c.e - c.s >= wide and fits(0, c)), key=lambda c: c.s - c.e)[:3]
        cols = sorted((c for c in found[1] if not c.strong and c.e - c.s >= wide and fits(1, c)), key=lambda c: c.s - c.e)[:3]
        best = None
        for r in rows:
            for c in cols:
                quarters = [(q, ys, xs) for ys, band in (((0, r.s), mask[: r.s]), ((r.e, size[0]), mask[r.e:]))
                            for xs, q in (((0, c.s), band[:, : c.s]), ((c.e, size[1]), band[:, c.e:]))]
                ink = [int(np.count_nonzero(q)) for q, _, _ in quarters]
                if min(ink) < self.opts.ink_balance * max(ink):
                    continue
                # the four panels of a grid line up: their contents end where their neighbours' do
                ext = [_extent(q, ys, xs) for q, ys, xs in quarters]
                if not (_aligned(ext[0], ext[2], 0) and _aligned(ext[1], ext[3], 0)
                        and _aligned(ext[0], ext[1], 1) and _aligned(ext[2], ext[3], 1)):
                    continue
                if best is None or min(r.e - r.s, c.e - c.s) > best[0]:
                    best = (min(r.e - r.s, c.e - c.s), r, c)
        if best is None:
            return []
        _, r, c = best
        (axis, cut), (other, rest) = sorted([(0, r), (1, c)], key=lambda o: o[1].s - o[1].e)
        lo = (y0, x0)[other]
        self.taken.append((other, lo + rest.s, lo + rest.e))
        return [(False, cut.e - cut.s, axis, [cut])]

    def _shared_gaps(self, children: list[Box], axis: int, backgrounds: tuple[np.ndarray, ...]) -> list[tuple[int, int, int]]:
        """Gutter-wide weak gaps across ``axis`` that every one of two or more
        sibling pieces has at the same place: the columns of a grid whose rows
        were cut first (whitespace inside separate panels seldom lines up in
        all of them). Returns them as taken cuts, in figure pixels."""
        if len(children) < 2:
            return []
        wide = self._gutter_width
        common: list[tuple[int, int]] | None = None
        for child in children:
            piece = self._trim(child, backgrounds, drawn=True)
            box = self._trim(piece, backgrounds, drawn=False) if piece is not None else None
            if box is None:
                return []
            lo = box[1] if axis == 0 else box[0]
            gaps = [(lo + c.s, lo + c.e) for c in self._candidates(box, axis, backgrounds, self._own_background(box, backgrounds))
                    if not c.strong and c.e - c.s >= wide]
            if common is None:
                common = gaps
                continue
            common = [(max(s, gs), min(e, ge)) for s, e in common for gs, ge in gaps
                      if min(e, ge) - max(s, gs) >= 0.5 * min(e - s, ge - gs)]
            if not common:
                return []
        return [(axis, s, e) for s, e in common or []]

    def _in_line(self, axis: int, s: int, e: int) -> bool:
        """Does a gap overlap, by half the narrower, a cut already taken along the same axis?"""
        return any(a == axis and min(e, te) - max(s, ts) >= 0.5 * min(e - s, te - ts) for a, ts, te in self.taken)

    def _lettered_lines(self, cuts: list[_Cut], spans: list[tuple[int, int]], n: int, cum: np.ndarray) -> list[_Cut]:
        """In a lettered figure, a drawn line or band (neither page nor tint)
        leaving a piece without a letter beside it is part of a panel (a table
        rule, a colour band, the gap before a colour bar), not a separator."""
        cuts = list(cuts)
        while True:
            # a piece reaches back over the gutter before it (a letter standing in a
            # gutter heads the piece after it); the end pieces reach past the content
            # (letters beyond it were erased from it)
            reach = zip([-np.inf] + [c.s for c in cuts], [c.s for c in cuts] + [np.inf])
            lettered = [any(s <= (a + e) / 2 < t for a, e in spans) for s, t in reach]
            bad = [j for j, c in enumerate(cuts) if not c.ground and not (lettered[j] and lettered[j + 1])]
            if not bad:
                return self._fit(cuts, n, cum, balance=False)
            cuts.pop(bad[0])

    def _fit(self, cuts: list[_Cut], n: int, cum: np.ndarray, *, balance: bool) -> list[_Cut]:
        """Drop cuts until every piece is panel-sized and no sliver lies
        beside a much bigger piece (and, with ``balance``, no piece beside a
        weak cut is nearly empty): weak before strong, narrower first."""
        cuts = list(cuts)
        while cuts:
            b = [0] + [v for c in cuts for v in (c.s, c.e)] + [n]
            ps = [(b[i], b[i + 1]) for i in range(0, len(b), 2)]
            size = [e - s for s, e in ps]
            # a sliver beside a piece many times its size is that panel's colour bar or legend
            bad = [i for i, v in enumerate(size) if v < self.min_len
                   or v < self.opts.sliver * max(size[max(0, i - 1): i + 2])]
            if not bad and balance:
                ink = [int(cum[e] - cum[s]) for s, e in ps]
                bad = [i for i, v in enumerate(ink) if v < self.opts.ink_balance * max(ink)
                       and any(0 <= j < len(cuts) and not cuts[j].strong for j in (i - 1, i))]
            if not bad:
                break
            near = [j for j in (bad[0] - 1, bad[0]) if 0 <= j < len(cuts)]
            cuts.pop(min(near, key=lambda j: (cuts[j].strong, cuts[j].e - cuts[j].s)))
        return cuts

    @staticmethod
    def _by_letters(strong: list[_Cut], weak: list[_Cut], spans: list[tuple[int, int]], n: int) -> list[_Cut]:
        """Weak cuts that put each band of letters (letters side by side
        along the cut direction) in a piece of its own. Letters head their
        panels (top or left corners) or trail them (bottom or right): heading
        letters take the last gap before them, trailing ones the first after.
        Content before the first heading letter (after the last trailing one)
        is a panel whose letter went unread, if it is panel-sized."""
        bands: list[list[int]] = []
        for s, e in sorted(spans):
            if bands and s < bands[-1][1]:
                bands[-1][1] = max(bands[-1][1], e)
            else:
                bands.append([s, e])
        heading = _heading(spans, n)
        bands = [[0, 0]] + bands if heading else bands + [[n, n]]
        chosen = []
        for (_, end), (start, _) in zip(bands, bands[1:]):
            if any(c.s < start and c.e > end for c in strong):
                continue
            # a gap may run on through an (erased) letter standing in it: it ends at the letters
            between = [replace(c, s=max(c.s, end), e=min(c.e, start)) for c in weak if c.s < start and c.e > end]
            if between:
                chosen.append(max(between, key=lambda c: c.e) if heading else min(between, key=lambda c: c.s))
        return chosen

    def _flat_piece(self, box: Box, axis: int, cuts: list[_Cut]) -> tuple[str, int] | None:
        """A piece the cuts leave that cannot be a panel: a band of flat tiles
        (a heat map's column: every line across it one colour, the colour
        changing along it) or a blank block (one flat colour throughout).
        Returns (kind, piece index) or None."""
        x0, y0, x1, y1 = box
        lo = y0 if axis == 0 else x0
        edges = [lo] + [lo + v for c in cuts for v in (c.s, c.e)] + [y1 if axis == 0 else x1]
        for i in range(0, len(edges), 2):
            s, e = edges[i], edges[i + 1]
            # lines across the band run perpendicular to the cuts
            band = self.img_t[x0:x1, s:e] if axis == 0 else self.img[y0:y1, s:e]
            if band.size == 0:
                continue
            means = _line_means(band)
            flat = _deviation(band, np.rint(means).astype(np.int16)[:, None, :]).max(axis=1) <= 2 * self.tol
            levels = np.unique(np.rint(means[flat].mean(axis=1) / (2 * self.tol))) if flat.any() else []
            if flat.mean() >= 0.9 and len(levels) >= 3:
                return "tiles", i // 2
            if flat.mean() >= 0.98:
                return "blank", i // 2
        return None

    def _lattice(self, cuts: list[_Cut]) -> bool:
        """Four or more thin lines evenly spaced closer than a panel can be:
        the cell borders of a heat map or a table."""
        pos = np.array([(c.s + c.e) / 2 for c in cuts if c.strong and c.e - c.s <= self.max_line])
        if len(pos) < 4:
            return False
        steps = np.diff(pos)
        cell = (steps < self.min_len) & (steps > self.max_line + 2)
        # three cell-sized steps in a row, each within 15 % of the one before
        even = cell[1:] & cell[:-1] & (np.abs(np.diff(steps)) <= 0.15 * np.minimum(steps[1:], steps[:-1]))
        return any(e - s >= 2 for s, e in _true_runs(even))

    def _grid(self, strong: list[_Cut], weak: list[_Cut], n: int, cum: np.ndarray) -> list[_Cut]:
        """The most cuts that make a regular row (the widest weak gaps first:
        whitespace inside a cell is narrower than the gutters), or []."""
        widest = sorted(weak, key=lambda c: c.s - c.e)
        for k in range(len(widest), 1, -1):
            cuts = self._fit(sorted(strong + widest[:k], key=lambda c: c.s), n, cum, balance=True)
            if self._regular(cuts, n):
                return cuts
        return []

    def _regular(self, cuts: list[_Cut], n: int) -> bool:
        """Three or more pieces of one length with gutters of one width."""
        if len(cuts) < 2:
            return False
        b = [0] + [v for c in cuts for v in (c.s, c.e)] + [n]
        lengths = np.array([b[i + 1] - b[i] for i in range(0, len(b), 2)], float)
        gaps = np.array([c.e - c.s for c in cuts], float)
        return bool(np.ptp(lengths) <= self.opts.regular * lengths.mean() and np.ptp(gaps) <= max(3.0, 0.25 * gaps.mean()))

    # -- leaves -------------------------------------------------------------------
    def _container(self, box: Box, backgrounds: tuple[np.ndarray, ...]) -> bool:
        """Is the panel a filled or framed rectangle (its outline all content)?"""
        x0, y0, x1, y1 = box
        m = self._mask(backgrounds)[y0:y1, x0:x1]
        return all(e.any(axis=0).mean() >= 0.9 for e in (m[:2], m[-2:], m[:, :2].T, m[:, -2:].T))

    def give_back_letters(self, leaves: list[_Leaf]) -> list[Box]:
        """A letter belongs to the panel whose piece holds it (or the nearest
        one). A panel drawn straight on the page takes its letter into its box;
        a panel with its own tint or frame ends at its outline (a letter outside
        that is outside the panel). Never so that two boxes would overlap."""
        boxes = [list(leaf.box) for leaf in leaves]
        for lb in self.letters:
            cx, cy = (lb[0] + lb[2]) / 2, (lb[1] + lb[3]) / 2
            holders = [i for i, leaf in enumerate(leaves) if leaf.piece[0] <= cx < leaf.piece[2] and leaf.piece[1] <= cy < leaf.piece[3]]
            if holders:
                i = holders[0]
            else:
                # a letter heads its panel: prefer panels right of or below it
                dist = [_box_distance(lb, leaf.box) * (1.0 if leaf.box[0] >= lb[0] - 4 and leaf.box[1] >= lb[1] - 4 else 2.0)
                        for leaf in leaves]
                i = int(np.argmin(dist))
                if dist[i] > 0.15 * max(self.w, self.h):
                    continue
            if leaves[i].container and _box_distance(lb, tuple(boxes[i])) > 0:
                continue
            grown = [min(boxes[i][0], lb[0]), min(boxes[i][1], lb[1]), max(boxes[i][2], lb[2]), max(boxes[i][3], lb[3])]
            if not any(j != i and _box_distance(tuple(grown), tuple(b)) == 0 for j, b in enumerate(boxes)):
                boxes[i] = grown
        return [tuple(b) for b in boxes]  # type: ignore[misc]


def _heading(spans: list[tuple[int, int]], n: int) -> bool:
    """Letters head their panels (top or left corner) unless the last one
    ends right at the end of the span and the first stands well clear of its
    start (letters set under their panels); a first letter gone unread does
    not make the rest trail."""
    if not spans:
        return True
    before, after = min(s for s, _ in spans), n - max(e for _, e in spans)
    return not (after < 0.5 * before and after < 0.1 * n)


def _side_by_side(boxes: list[Box]) -> bool:
    """Do two of the boxes stand side by side (one ends before another begins, across)?"""
    return bool(boxes) and max(b[0] for b in boxes) >= min(b[2] for b in boxes)


def _extent(mask: np.ndarray, ys: tuple[int, int], xs: tuple[int, int]) -> Box:
    """The content's box within a quarter at (xs, ys) of its region."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (xs[0] + int(cols[0]), ys[0] + int(rows[0]), xs[0] + int(cols[-1]) + 1, ys[0] + int(rows[-1]) + 1)


def _aligned(a: Box, b: Box, axis: int, tolerance: float = 0.08) -> bool:
    """Do two boxes, one above the other (axis 0) or side by side (axis 1),
    span the same columns (rows) within ``tolerance`` of their size?"""
    i = 0 if axis == 0 else 1
    size = max(a[i + 2] - a[i], b[i + 2] - b[i])
    return abs(a[i] - b[i]) <= tolerance * size and abs(a[i + 2] - b[i + 2]) <= tolerance * size


def _contiguous(chars: list[str]) -> bool:
    """Are the letters read "a", "b", ... with none missing?"""
    read = sorted({c for c in chars if c})
    return len(read) == len(chars) and read == [chr(ord("a") + i) for i in range(len(read))]


def _line_means(sub8: np.ndarray) -> np.ndarray:
    """Mean colour of every row of an (n, length, 3) byte image, as (n, 3) floats."""
    import cv2

    if sub8.shape[0] == 0 or sub8.shape[1] == 0:
        return np.zeros((sub8.shape[0], 3))
    return cv2.reduce(sub8, 1, cv2.REDUCE_AVG, dtype=cv2.CV_32F).reshape(-1, 3).astype(np.float64)


def _median_int(values: np.ndarray) -> float:
    """Median of small non-negative integers, by counting."""
    cum = np.cumsum(np.bincount(values.astype(np.int64).ravel()))
    return float(np.searchsorted(cum, (cum[-1] + 1) // 2))


#: a plot whose axis lies this close (px) to the gap before it has no tick labels there: a facet
FACET_MARGIN = 12
#: how much of their common extent two facets' shared axes overlap (a curve
#: that starts on an axis breaks its line a little)
FACET_ALIGN = 0.85


@dataclass(frozen=True)
class _Corner:
    """Where a horizontal and a vertical line of a plot meet, and their extents."""
    x: int
    y: int
    across: tuple[int, int]  # the horizontal line's first and last column
    down: tuple[int, int]  # the vertical line's first and last row


def _facets(first: tuple[Box, list[_Corner]], second: tuple[Box, list[_Corner]], axis: int,
            gap: tuple[int, int]) -> bool:
    """Are two consecutive plots (piece, corners), side by side (``axis``
    1) or stacked (0) with ``gap`` (first, last + 1) between them, facets of
    one chart? The later of two side-by-side facets has no tick labels
    between the gap and its vertical axis, which spans the same rows as its
    neighbour's, while its horizontal axis has labels under it; the upper of
    two stacked facets none between its horizontal axis and the gap, which
    spans the same columns as the lower one's, while its vertical axis has
    labels beside it. A framed panel has labels on no side; a photograph
    above a plot shares no axis with it."""
    ((fx0, _, _, _), one), ((_, _, _, sy1), two) = first, second
    if axis == 1:
        facing = _axis_line(two, vertical=True, last=False)
        bare, labelled = facing[0] - gap[1], sy1 - max(c.y for c in two)
        shared = _axis_line(one, vertical=True, last=False)
    else:
        facing = _axis_line(one, vertical=False, last=True)
        bare, labelled = gap[0] - facing[0], min(c.x for c in one) - fx0
        shared = _axis_line(two, vertical=False, last=True)
    overlap = min(facing[2], shared[2]) - max(facing[1], shared[1])
    aligned = overlap >= FACET_ALIGN * (max(facing[2], shared[2]) - min(facing[1], shared[1]))
    return bare <= FACET_MARGIN < labelled and aligned


def _axis_line(corners: list[_Corner], *, vertical: bool, last: bool) -> tuple[int, int, int]:
    """(position, first, last pixel) of a plot's outermost vertical (or
    horizontal) axis: the first (or ``last``) one, its extent the union of
    the runs found along it (a curve crossing an axis breaks its ridge)."""
    pos = [c.x if vertical else c.y for c in corners]
    at = max(pos) if last else min(pos)
    runs = [c.down if vertical else c.across for c, p in zip(corners, pos) if abs(p - at) <= 2]
    return at, min(r[0] for r in runs), max(r[1] for r in runs)


def _long_runs(lines: np.ndarray, length: float) -> list[tuple[int, int, int]]:
    """(row, start, end) of every run of at least ``length`` Trues in the rows of a boolean image."""
    return [(int(row), s, e) for row in np.flatnonzero(np.count_nonzero(lines, axis=1) >= length)
            for s, e in _true_runs(lines[row]) if e - s >= length]


def _true_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of True."""
    d = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))



def _box_distance(a: Box, b: Box) -> float:
    dx = max(0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0, max(a[1], b[1]) - min(a[3], b[3]))
    return float(np.hypot(dx, dy))

"""Panel boxes: the paper's geometric filters (SPEC §3), reading order and IoU.

Every splitter returns boxes as ``(x0, y0, x1, y1)`` in source pixels with
exclusive ends; these rules apply to all of them alike.
"""

from __future__ import annotations

Box = tuple[int, int, int, int]

MIN_SIDE = 128
ASPECT_RANGE = (0.33, 3.0)
AREA_BAND = (0.75, 0.90)


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


def clip(box: Box, width: int, height: int) -> Box | None:
    """The box inside the image, or None when nothing of it is."""
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

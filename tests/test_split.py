"""Panel splitting: quality against the synth manifest (through the real
Spark ingest), plus the geometric rules and reading order."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sciir_dist.split import Hints
from sciir_dist.split.geometry import geometric_reason, reading_order
from sciir_dist.split.xycut import XYCutSplitter
from sciir_dist.synth.score import letter_agreement, panel_detection


def detected_boxes(wh) -> dict[str, list[list[int]]]:
    """Boxes the splitter found: kept panels plus panels dropped by the
    geometric filters (whose bbox the reject detail records)."""
    det: dict[str, list[list[int]]] = {}
    for p in wh.read("panels", ["figure_id", "bbox"]).to_pylist():
        det.setdefault(p["figure_id"], []).append(p["bbox"])
    for r in wh.read("rejects", ["item", "reason", "detail"]).to_pylist():
        if r["reason"] in ("too_small", "aspect", "area_ratio"):
            box = json.loads(re.search(r"bbox (\[[^\]]*\])", r["detail"]).group(1))
            det.setdefault(r["item"].rsplit(".p", 1)[0], []).append(box)
    return det


def test_panel_detection_f1_per_layout(spark_warehouse, manifest):
    wh, _ = spark_warehouse
    scores = panel_detection(manifest, detected_boxes(wh), thr=0.9)
    report = {k: round(v.f1, 3) for k, v in scores.items()}
    print("panel F1 @ IoU 0.9:", report)
    for layout in ("grid", "thin", "lines", "uneven", "single"):
        assert layout in scores, f"corpus has no {layout} figures"
        assert scores[layout].f1 >= 0.95, (layout, scores[layout])
    assert scores["all"].f1 >= 0.95


def test_subcaption_letters_match_manifest(spark_warehouse, manifest):
    wh, _ = spark_warehouse
    ok, total = letter_agreement(manifest, wh.read("panels", ["panel_id", "panel_letter", "sub_caption"]).to_pylist())
    assert total > 50
    assert ok / total >= 0.95, (ok, total)


def test_reading_order_rows_then_columns():
    # tall panel left, two stacked right: a, b, c
    boxes = [(450, 320, 800, 600), (10, 10, 400, 600), (450, 10, 800, 300)]
    assert reading_order(boxes) == [(10, 10, 400, 600), (450, 10, 800, 300), (450, 320, 800, 600)]
    grid = [(300, 300, 500, 500), (0, 0, 200, 200), (0, 300, 200, 500), (300, 0, 500, 200)]
    assert reading_order(grid) == [(0, 0, 200, 200), (300, 0, 500, 200), (0, 300, 200, 500), (300, 300, 500, 500)]


@pytest.mark.parametrize(
    "box,reason",
    [
        ((0, 0, 127, 400), "too_small"),
        ((0, 0, 400, 120), "too_small"),
        ((0, 0, 900, 200), "aspect"),
        ((0, 0, 150, 500), "aspect"),
        ((0, 0, 800, 800), "area_ratio"),  # 64 % of 1000x1000? no: see below
    ],
)
def test_geometric_filters(box, reason):
    fig = (1000, 1000) if reason != "area_ratio" else (900, 890)  # 800*800/(900*890) = 0.799
    assert geometric_reason(box, *fig, single=False) == reason


def test_area_band_is_exclusive_and_whole_figure_is_kept():
    assert geometric_reason((0, 0, 750, 1000), 1000, 1000, single=False) is None  # exactly 75 %
    assert geometric_reason((0, 0, 900, 1000), 1000, 1000, single=False) is None  # exactly 90 %
    assert geometric_reason((0, 0, 1000, 1000), 1000, 1000, single=True) is None


def _panels_with_separator_lines() -> np.ndarray:
    img = Image.new("RGB", (820, 420), "white")
    d = ImageDraw.Draw(img)
    for i, x0 in enumerate((0, 411)):
        d.rectangle((x0 + 1, 1, x0 + 407, 417), fill=(210, 225, 245))  # content touching the line
        d.text((x0 + 8, 6), "ab"[i], fill="black", font_size=22)
        d.ellipse((x0 + 120, 120, x0 + 260, 300), fill=(200, 60, 60), outline="black")
    d.line((409, 0, 409, 419), fill=(20, 20, 20), width=2)
    return np.asarray(img)


def test_panels_separated_only_by_a_line():
    boxes = reading_order(XYCutSplitter()(_panels_with_separator_lines(), Hints(expected=2)))
    assert len(boxes) == 2
    assert boxes[0][2] <= 409 and boxes[1][0] >= 410


def test_no_letters_and_no_caption_markers_keeps_one_panel():
    # two outline drawings on the page with a wide gap: one schematic unless the caption names two panels
    img = Image.new("RGB", (760, 500), "white")
    d = ImageDraw.Draw(img)
    for x0 in (40, 440):
        d.ellipse((x0, 60, x0 + 200, 200), outline="black", width=3)
        d.polygon([(x0 + 30, 440), (x0 + 150, 260), (x0 + 270, 440)], outline=(40, 90, 200), width=3)
        d.line((x0 + 100, 200, x0 + 150, 260), fill="black", width=2)
    arr = np.asarray(img)
    assert len(XYCutSplitter()(arr, Hints(expected=0))) == 1
    assert len(XYCutSplitter()(arr, Hints(expected=2))) == 2  # the caption names two panels: the gutter counts


def _rendered(fig) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _open_plot(ax, k: int) -> None:
    """A plot with only its left and bottom axes (no frame to cut along), a title and labels."""
    x = np.linspace(0, 10, 60)
    ax.plot(x, np.sin(x * (k + 1) / 3), x, np.cos(x / (k + 1)))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, color="0.85")
    ax.set(xlabel="Time (s)", ylabel="Signal (mV)", title=["Control", "Treated", "Recovery"][k % 3])


def test_unlettered_plots_side_by_side_split_at_their_gutters_and_a_set_apart_legend_stays():
    """No letters and no caption markers: whitespace between two plots (an
    axes frame on each side) is a gutter; whitespace between a plot and its
    legend is not."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.4), dpi=100)
    axes = fig.subplots(1, 3, gridspec_kw={"wspace": 0.45, "width_ratios": (1.5, 1, 0.8)})  # no regular row
    for k, ax in enumerate(axes):
        _open_plot(ax, k)
    rgb = _rendered(fig)
    boxes = reading_order(XYCutSplitter()(rgb, Hints(expected=0)))
    inside = [ax.get_window_extent() for ax in axes]  # display coordinates: y from the bottom
    assert len(boxes) == 3, boxes
    for box, ext in zip(boxes, inside):
        h = rgb.shape[0]
        assert box[0] <= ext.x0 + 1 and box[2] >= ext.x1 - 1 and box[1] <= h - ext.y1 + 1 and box[3] >= h - ext.y0 - 1

    fig = Figure(figsize=(8, 3.4), dpi=100)
    ax = fig.add_axes((0.1, 0.15, 0.5, 0.75))
    _open_plot(ax, 0)
    ax.legend(["sin", "cos"], loc="center left", bbox_to_anchor=(1.25, 0.5), frameon=False)
    assert len(XYCutSplitter()(_rendered(fig), Hints(expected=0))) == 1


def test_facets_of_one_chart_stay_one_panel_unless_the_caption_names_them():
    """Small multiples sharing an axis (its tick labels on the outer plot
    only) are one chart, however wide the whitespace between them; the same
    plots with their own tick labels are separate plots."""
    from matplotlib.figure import Figure

    def facets(shared: bool, rows: int) -> np.ndarray:
        size, grid = ((12, 3.4), {"wspace": 0.45}) if rows == 1 else ((5, 9), {"hspace": 0.5})
        fig = Figure(figsize=size, dpi=100)
        axes = fig.subplots(rows, 4 - rows, sharey=shared and rows == 1, sharex=shared and rows > 1,
                            gridspec_kw=grid)
        for k, ax in enumerate(axes):
            _open_plot(ax, k)
            if shared and rows == 1 and k:
                ax.set_ylabel("")
            if shared and rows > 1 and k < rows - 1:
                ax.set_xlabel("")
        return _rendered(fig)

    for rows in (1, 3):  # side by side, stacked
        shared = facets(True, rows)
        assert len(XYCutSplitter()(shared, Hints(expected=0))) == 1, rows
        assert len(XYCutSplitter()(shared, Hints(expected=3))) == 3, rows  # the caption names three panels
        assert len(XYCutSplitter()(facets(False, rows), Hints(expected=0))) == 3, rows


def test_unknown_splitter_is_refused():
    from sciir_dist.split import make_splitter

    with pytest.raises(ValueError):
        make_splitter("nope")

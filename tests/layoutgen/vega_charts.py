"""Vega-Lite multi-panel chart figures with exact panel boxes (independent generator).

Every chart panel is rendered ALONE with ``vl_convert`` (transparent background), cropped
to its ink and pasted by this module into a numpy canvas, so the position of every inked
pixel is known exactly.  Non-chart panels ("micrographs") are drawn with numpy/PIL;
schematic panels use Vega rect/rule/text marks.

Ground-truth rules
------------------
* A pixel is *ink* of a panel when, composited on the colour it is pasted over (page
  background), it differs from that colour by >= 6 levels in some RGB channel.  Pixels of a
  rendering outside the tight box of its ink are discarded, so every stored box
  ``[x, y, w, h]`` is the exact tight bounding box of the panel's ink in the saved image
  (before JPEG compression for ``jpeg_noise``; JPEG only perturbs pixels, boxes unchanged).
* A panel = plot area + tick labels + axis titles + chart title + its legend / colour bar
  (also when far outside the plot) + its attached letter + (tinted_grid / saturated /
  framed) its tile or frame.  Figure titles, page background/margins and separator lines
  (dark_lines / light_lines, outer borders) belong to no panel and never touch a box.
* Letters: in every family except ``letters_outside`` a lettered panel carries its letter
  ATTACHED at its top-left corner: inside the tile (tinted/saturated/framed) or drawn on the
  micrograph, or else next to the chart's top-left corner with a gap of 0-3 px (left of it,
  top-aligned, or above it, left-aligned); the letter is part of the box.  In ``letters_outside`` the letter is DETACHED: placed in the gutter/margin left of or
  above the panel's top-left corner with >= 6 px of background between letter ink and panel
  ink; it is NEVER part of the box.  Some figures (~15 %, never letters_outside) have none.
* Boxes of one figure never overlap (asserted).  ``single_whitespace`` panels (facets with
  wide spacing, legends far from the plot) are ONE panel.

Contract
--------
``generate(out_dir, per_family=8, seed=0, families=None)`` writes
``out_dir/images/<family>_<i:03d>.png|.jpg`` and ``out_dir/annotations.json`` (COCO:
info{description, seed, per_family}, images{id, file_name, width, height, layout,
caption}, annotations{id, image_id, category_id=1, bbox, area, iscrowd=0, letter,
sub_caption}, categories[{id:1, name:"panel"}]).  Deterministic per seed; every figure is
seeded from (seed, family, index) so a family filter does not change other figures.
CLI: ``python -m tests.layoutgen.vega_charts OUT --per-family 8 --seed 7
[--families a,b] [--check N]`` (``--check`` draws boxes on N images/family into OUT/check/).
"""
from __future__ import annotations

import colorsys
import io
import json
import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import vl_convert as vlc

FAMILIES = [
    "row", "column", "big_grid", "tinted_grid", "saturated", "framed", "dark_lines",
    "light_lines", "gutter_range", "jpeg_noise", "letters_outside", "uneven", "nested",
    "single", "single_whitespace",
]
INK_T = 6
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"

# ----------------------------------------------------------------------------- fonts
_FONT_DIRS = [
    "/usr/share/fonts/truetype/dejavu",
    os.path.join(os.path.dirname(np.__file__), "..", "matplotlib", "mpl-data", "fonts", "ttf"),
]
_font_cache: dict = {}


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    key = (name, size)
    if key not in _font_cache:
        for d in _FONT_DIRS:
            p = os.path.join(d, name)
            if os.path.exists(p):
                _font_cache[key] = ImageFont.truetype(p, size)
                break
        else:
            _font_cache[key] = ImageFont.load_default()
    return _font_cache[key]


# ----------------------------------------------------------------------------- pixel helpers
def ink_bbox(rgba: np.ndarray, bg) -> tuple | None:
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    bgv = np.asarray(bg, np.float32)[:3]
    comp = rgba[..., :3].astype(np.float32) * a + bgv * (1 - a)
    m = np.abs(comp - bgv).max(-1) >= INK_T
    ys, xs = np.nonzero(m)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def crop_ink(rgba, bg):
    b = ink_bbox(rgba, bg)
    if b is None:
        return rgba[:1, :1].copy()
    return rgba[b[1]:b[3], b[0]:b[2]].copy()


def paste(dst: np.ndarray, src: np.ndarray, x: int, y: int):
    """Alpha-composite RGBA src onto dst (RGB or RGBA, uint8) at x, y (in place)."""
    h, w = src.shape[:2]
    region = dst[y:y + h, x:x + w]
    a = src[..., 3:4].astype(np.float32) / 255.0
    if dst.shape[2] == 4:
        ra = region[..., 3:4].astype(np.float32) / 255.0
        oa = a + ra * (1 - a)
        rgb = (src[..., :3] * a + region[..., :3] * ra * (1 - a)) / np.maximum(oa, 1e-6)
        region[..., :3] = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
        region[..., 3:4] = np.clip(oa * 255 + 0.5, 0, 255).astype(np.uint8)
    else:
        region[...] = np.clip(src[..., :3] * a + region * (1 - a) + 0.5, 0, 255).astype(np.uint8)


def text_rgba(text, fontname, size, color):
    f = _font(fontname, size)
    l, t, r, b = f.getbbox(text)
    im = Image.new("L", (r - l + 4, b - t + 4), 0)
    ImageDraw.Draw(im).text((2 - l, 2 - t), text, font=f, fill=255)
    m = np.array(im)
    out = np.zeros(m.shape + (4,), np.uint8)
    out[..., :3] = color[:3]
    out[..., 3] = m
    ys, xs = np.nonzero(m >= 40)
    return out[ys.min():ys.max() + 1, xs.min():xs.max() + 1].copy()


def render(spec, scale):
    png = vlc.vegalite_to_png(spec, scale=scale)
    return np.array(Image.open(io.BytesIO(png)).convert("RGBA"))


def hexc(c):
    return "#%02x%02x%02x" % tuple(int(v) for v in c[:3])


# ----------------------------------------------------------------------------- vocab
XQ = [("Time", "s"), ("Temperature", "K"), ("Wavelength", "nm"), ("Voltage", "V"),
      ("Frequency", "Hz"), ("Distance", "µm"), ("Concentration", "mM"), ("Strain", "%"),
      ("Days post infection", None), ("Pressure", "kPa"), ("Field", "mT"), ("Dose", "Gy")]
YQ = [("Intensity", "a.u."), ("Current", "mA"), ("Absorbance", None), ("Signal", "mV"),
      ("Yield", "%"), ("Relative expression", None), ("Resistance", "Ω"), ("Counts", None),
      ("Efficiency", "%"), ("Stress", "MPa"), ("Survival", "%"), ("Conductance", "nS")]
GROUPS = ["Control", "Treated", "WT", "KO", "Sample A", "Sample B", "Sample C", "Model",
          "Experiment", "300 K", "77 K", "Low dose", "High dose", "Vehicle", "Drug"]
CATS = [["Ctrl", "A", "B", "C", "D", "E", "F"], ["WT", "Het", "KO", "Rescue"],
        ["Day 1", "Day 2", "Day 3", "Day 5", "Day 7", "Day 14"],
        ["Si", "Ge", "GaAs", "InP", "GaN", "SiC"], ["Liver", "Lung", "Heart", "Brain", "Kidney"]]
TOPICS = ["Thermal response of the device", "Characterization of the hybrid electrode",
          "Phenotypic analysis of knockout mice", "Optical properties of the nanocrystal films",
          "Performance of the proposed model", "Dose-dependent effects of the compound",
          "Transport measurements in the heterostructure", "Seasonal dynamics of the community",
          "Mechanical behaviour of the printed lattices", "Single-cell imaging and quantification"]
SCHEMES_CAT = ["tableau10", "category10", "set1", "set2", "dark2", "paired", "accent", "tableau20"]
SCHEMES_SEQ = ["viridis", "magma", "inferno", "plasma", "blues", "greens", "reds", "purples",
               "redblue", "blueorange", "greys", "cividis", "turbo", "yelloworangered"]


def qlabel(q):
    return q[0] if q[1] is None else f"{q[0]} ({q[1]})"


# ----------------------------------------------------------------------------- theme
def make_theme(rng, dark=False, fg=None):
    # (vl_convert cannot resolve "DejaVu Sans Condensed"/"Light": text would vanish)
    font = rng.choice(["DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono", "DejaVu Sans"])
    fs = rng.choice([8, 9, 10, 10, 11, 12, 13])
    if fg is None:
        fg = "#e8e8e8" if dark else rng.choice(["#000000", "#222222", "#333333", "#444444"])
    grid = rng.random() < 0.45
    gridc = "#555555" if dark else rng.choice(["#dddddd", "#e6e6e6", "#cccccc"])
    cfg = {
        "font": font,
        "axis": {"labelFontSize": fs, "titleFontSize": fs + rng.choice([0, 1, 2]),
                 "grid": grid, "gridColor": gridc, "domain": rng.random() < 0.85,
                 "domainColor": fg, "tickColor": fg, "labelColor": fg, "titleColor": fg,
                 "tickSize": rng.choice([3, 4, 5, 6]), "labelFont": font, "titleFont": font,
                 "titleFontWeight": rng.choice(["normal", "normal", "bold"]),
                 "domainWidth": rng.choice([0.5, 1, 1, 1.5])},
        "legend": {"labelFontSize": fs, "titleFontSize": fs, "labelColor": fg,
                   "titleColor": fg, "labelFont": font, "titleFont": font},
        "title": {"fontSize": fs + rng.choice([1, 2, 3]), "font": font, "color": fg,
                  "anchor": rng.choice(["middle", "start"]),
                  "fontWeight": rng.choice(["bold", "normal"])},
        "view": {"stroke": rng.choice([None, None, "#888888", fg])},
        "header": {"labelColor": fg, "titleColor": fg, "labelFontSize": fs, "labelFont": font},
        "text": {"color": fg, "font": font},
    }
    return {"config": cfg, "fs": fs, "fg": fg, "dark": dark,
            "cat": rng.choice(SCHEMES_CAT), "seq": rng.choice(SCHEMES_SEQ),
            "angle": rng.choice([0, 0, -45, -90, 45]), "font": font}


# ----------------------------------------------------------------------------- chart builders
def _legend(rng, allow_none=True):
    opts = ["right", "right", "top-right", "top-left", "bottom-right", "bottom", "top"]
    if allow_none:
        opts.append("none")
    o = rng.choice(opts)
    return None if o == "none" else {"orient": o}


def _title(rng, text):
    return text if rng.random() < 0.35 else None


def _shape(nr, xs, kind):
    xs = (xs - xs.min()) / (np.ptp(xs) + 1e-9)
    if kind == 0:
        return np.exp(-xs * nr.uniform(2, 6))
    if kind == 1:
        return 1 / (1 + np.exp(-(xs - nr.uniform(0.3, 0.7)) * nr.uniform(8, 20)))
    if kind == 2:
        c = nr.uniform(0.2, 0.8, 2)
        return np.exp(-((xs - c[0]) / 0.06) ** 2) + 0.6 * np.exp(-((xs - c[1]) / 0.1) ** 2)
    if kind == 3:
        return 0.5 + 0.4 * np.sin(xs * nr.uniform(4, 14))
    return xs * nr.uniform(0.5, 2)


def ch_line(rng, nr, th, w, h, annotate=False):
    X, Y = rng.choice(XQ), rng.choice(YQ)
    k = rng.choice([1, 1, 2, 3, 4])
    groups = rng.sample(GROUPS, k)
    n = rng.randint(20, 70)
    xs = np.linspace(0, rng.choice([1, 10, 100, 500]), n)
    sk = rng.randrange(5)
    amp = rng.choice([1, 5, 100, 1000])
    rows = []
    for gi, g in enumerate(groups):
        ys = amp * (_shape(nr, xs, sk) * (1 + 0.3 * gi) + nr.normal(0, 0.03, n))
        rows += [{"x": round(float(a), 4), "y": round(float(b), 4), "g": g} for a, b in zip(xs, ys)]
    enc = {"x": {"field": "x", "type": "quantitative", "title": qlabel(X)},
           "y": {"field": "y", "type": "quantitative", "title": qlabel(Y)}}
    if k > 1:
        enc["color"] = {"field": "g", "type": "nominal", "title": None,
                        "scale": {"scheme": th["cat"]}, "legend": _legend(rng)}
    else:
        enc["color"] = {"value": rng.choice(["#1f77b4", "#d62728", "#2ca02c", "#444444", "#ff7f0e"])}
    mark = {"type": "line", "strokeWidth": rng.choice([1, 1.5, 2, 2.5]),
            "point": rng.random() < 0.25}
    spec = {"data": {"values": rows}, "width": w, "height": h, "mark": mark, "encoding": enc}
    desc = f"{Y[0]} as a function of {X[0].lower()}" + (f" for {', '.join(groups[:-1])} and {groups[-1]}" if k > 1 else "")
    if annotate:
        i = int(np.argmax([r["y"] for r in rows[:n]]))
        ann = [{"x": rows[i]["x"], "y": rows[i]["y"], "t": rng.choice(["peak", "T\u2099", "onset", "max", "P1"])}]
        spec = {"data": {"values": rows}, "width": w, "height": h, "layer": [
            {"mark": mark, "encoding": enc},
            {"data": {"values": ann}, "mark": {"type": "text", "dy": -10, "fontSize": th["fs"],
                                              "fontStyle": "italic"},
             "encoding": {"x": {"field": "x", "type": "quantitative"},
                          "y": {"field": "y", "type": "quantitative"}, "text": {"field": "t"}}},
            {"data": {"values": ann}, "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#888"},
             "encoding": {"x": {"field": "x", "type": "quantitative"}}},
        ]}
        desc += ", with the characteristic feature annotated"
    spec["title"] = _title(rng, Y[0])
    return spec, desc


def ch_scatter(rng, nr, th, w, h):
    X, Y = rng.choice(XQ), rng.choice(YQ)
    k = rng.choice([1, 2, 3])
    groups = rng.sample(GROUPS, k)
    rows = []
    for gi, g in enumerate(groups):
        n = rng.randint(15, 80)
        xs = nr.normal(gi * 2, 1, n)
        ys = xs * nr.uniform(0.5, 2) + nr.normal(0, 1, n)
        rows += [{"x": round(float(a), 3), "y": round(float(b), 3), "g": g} for a, b in zip(xs, ys)]
    enc = {"x": {"field": "x", "type": "quantitative", "title": qlabel(X)},
           "y": {"field": "y", "type": "quantitative", "title": qlabel(Y)}}
    if k > 1:
        enc["color"] = {"field": "g", "type": "nominal", "title": rng.choice([None, "Group"]),
                        "scale": {"scheme": th["cat"]}, "legend": _legend(rng)}
    mark = {"type": rng.choice(["point", "circle", "square"]), "size": rng.choice([15, 30, 50]),
            "filled": rng.random() < 0.6, "opacity": rng.choice([0.6, 0.8, 1.0])}
    spec = {"data": {"values": rows}, "width": w, "height": h}
    if rng.random() < 0.4:
        spec["layer"] = [{"mark": mark, "encoding": enc},
                         {"mark": {"type": "line", "color": th["fg"], "strokeDash": [5, 3]},
                          "transform": [{"regression": "y", "on": "x"}],
                          "encoding": {"x": {"field": "x", "type": "quantitative"},
                                       "y": {"field": "y", "type": "quantitative"}}}]
    else:
        spec["mark"] = mark
        spec["encoding"] = enc
    spec["title"] = _title(rng, f"{Y[0]} vs {X[0].lower()}")
    return spec, f"Correlation between {Y[0].lower()} and {X[0].lower()}"


def ch_bar(rng, nr, th, w, h):
    cats = rng.choice(CATS)[: rng.randint(3, 6)]
    Y = rng.choice(YQ)
    k = rng.choice([1, 1, 2, 3])
    groups = rng.sample(GROUPS, k)
    rows = []
    for c in cats:
        for g in groups:
            m = float(nr.uniform(1, 10))
            e = float(nr.uniform(0.2, 1.5))
            rows.append({"c": c, "g": g, "y": round(m, 3), "lo": round(m - e, 3), "hi": round(m + e, 3)})
    horiz = rng.random() < 0.2
    ca, va = ("y", "x") if horiz else ("x", "y")
    enc = {ca: {"field": "c", "type": "nominal", "title": None, "sort": None,
                "axis": {"labelAngle": 0 if horiz else th["angle"]}},
           va: {"field": "y", "type": "quantitative", "title": qlabel(Y)}}
    if k > 1:
        enc["color"] = {"field": "g", "type": "nominal", "title": None,
                        "scale": {"scheme": th["cat"]}, "legend": _legend(rng, False)}
        enc[ca + "Offset"] = {"field": "g"}
    else:
        enc["color"] = {"value": rng.choice(["#4c78a8", "#888888", "#e45756", "#54a24b", "#333333"])}
    layers = [{"mark": {"type": "bar", "stroke": rng.choice([None, "black"]), "strokeWidth": 0.7},
               "encoding": enc}]
    if rng.random() < 0.6:
        eenc = {ca: enc[ca], va: {"field": "lo", "type": "quantitative"}, va + "2": {"field": "hi"}}
        if k > 1:
            eenc[ca + "Offset"] = {"field": "g"}
        layers.append({"mark": {"type": "rule", "color": th["fg"]}, "encoding": eenc})
    spec = {"data": {"values": rows}, "width": w, "height": h, "layer": layers,
            "title": _title(rng, Y[0])}
    return spec, f"{Y[0]} across {len(cats)} conditions (mean ± s.d.)"


def ch_heatmap(rng, nr, th, w, h):
    n, m = rng.randint(5, 16), rng.randint(4, 12)
    base = nr.normal(0, 1, (n, m)).cumsum(0) * 0.3 + nr.normal(0, 1, (1, m))
    xl = [f"S{j + 1}" for j in range(m)]
    yl = rng.choice([[f"G{i + 1}" for i in range(n)], [f"gene{i + 1}" for i in range(n)],
                     [str(10 * (i + 1)) for i in range(n)]])
    rows = [{"x": xl[j], "y": yl[i], "v": round(float(base[i, j]), 3)} for i in range(n) for j in range(m)]
    lo = rng.choice(["right", "right", "bottom", "left", "top"])
    spec = {"data": {"values": rows}, "width": w, "height": h,
            "layer": [{"mark": "rect", "encoding": {
                "x": {"field": "x", "type": "ordinal", "sort": None, "title": rng.choice([None, "Sample"]),
                      "axis": {"labelAngle": th["angle"]}},
                "y": {"field": "y", "type": "ordinal", "sort": None, "title": rng.choice([None, "Feature"])},
                "color": {"field": "v", "type": "quantitative", "scale": {"scheme": th["seq"]},
                          "title": rng.choice(["z-score", "log2 FC", "value", None]),
                          "legend": {"orient": lo, "gradientLength": rng.choice([60, 100, 140])}}}}],
            "title": _title(rng, "Expression")}
    if n <= 8 and m <= 8 and rng.random() < 0.5:
        spec["layer"].append({"mark": {"type": "text", "fontSize": max(7, th["fs"] - 2)},
                              "encoding": {"x": {"field": "x", "type": "ordinal", "sort": None},
                                           "y": {"field": "y", "type": "ordinal", "sort": None},
                                           "text": {"field": "v", "format": ".1f"},
                                           "color": {"value": "black"}}})
    return spec, f"Heat map of normalized values across {m} samples"


def ch_hist(rng, nr, th, w, h):
    X = rng.choice(XQ)
    k = rng.choice([1, 1, 2])
    groups = rng.sample(GROUPS, k)
    rows = []
    for gi, g in enumerate(groups):
        v = np.concatenate([nr.normal(gi * 1.5, 1, rng.randint(100, 300)),
                            nr.normal(3 + gi, 0.5, rng.randint(0, 100))])
        rows += [{"v": round(float(a), 3), "g": g} for a in v]
    enc = {"x": {"field": "v", "type": "quantitative", "bin": {"maxbins": rng.choice([15, 25, 40])},
                 "title": qlabel(X)},
           "y": {"aggregate": "count", "type": "quantitative", "title": rng.choice(["Count", "Frequency", "Events"]),
                 "stack": None}}
    if k > 1:
        enc["color"] = {"field": "g", "type": "nominal", "title": None, "scale": {"scheme": th["cat"]},
                        "legend": _legend(rng, False)}
    else:
        enc["color"] = {"value": rng.choice(["#4c78a8", "#999999", "#f58518"])}
    spec = {"data": {"values": rows}, "width": w, "height": h,
            "mark": {"type": "bar", "opacity": 0.65 if k > 1 else 1.0, "binSpacing": rng.choice([0, 1])},
            "encoding": enc, "title": _title(rng, "Distribution")}
    return spec, f"Distribution of {X[0].lower()}"


def ch_area(rng, nr, th, w, h):
    X, Y = rng.choice(XQ), rng.choice(YQ)
    k = rng.randint(2, 4)
    groups = rng.sample(GROUPS, k)
    n = rng.randint(15, 40)
    rows = []
    for gi, g in enumerate(groups):
        ys = np.abs(_shape(nr, np.arange(n, dtype=float), rng.randrange(5)) + nr.normal(0.3, 0.05, n))
        rows += [{"x": i, "y": round(float(v), 3), "g": g} for i, v in enumerate(ys)]
    spec = {"data": {"values": rows}, "width": w, "height": h,
            "mark": {"type": "area", "opacity": rng.choice([0.7, 0.85, 1.0]), "line": rng.random() < 0.4},
            "encoding": {"x": {"field": "x", "type": "quantitative", "title": qlabel(X)},
                         "y": {"field": "y", "type": "quantitative", "title": qlabel(Y),
                               "stack": rng.choice(["zero", "normalize"])},
                         "color": {"field": "g", "type": "nominal", "title": None,
                                   "scale": {"scheme": th["cat"]}, "legend": _legend(rng, False)}},
            "title": _title(rng, "Composition")}
    return spec, f"Cumulative {Y[0].lower()} over {X[0].lower()}"


def ch_box(rng, nr, th, w, h):
    cats = rng.choice(CATS)[: rng.randint(3, 6)]
    Y = rng.choice(YQ)
    rows = []
    for ci, c in enumerate(cats):
        rows += [{"c": c, "y": round(float(v), 3)} for v in nr.normal(ci * 0.5 + nr.uniform(0, 2), nr.uniform(0.3, 1.5), 40)]
    spec = {"data": {"values": rows}, "width": w, "height": h,
            "mark": {"type": "boxplot", "extent": 1.5, "size": rng.choice([10, 20, 30])},
            "encoding": {"x": {"field": "c", "type": "nominal", "title": None, "sort": None,
                               "axis": {"labelAngle": th["angle"]}},
                         "y": {"field": "y", "type": "quantitative", "title": qlabel(Y)},
                         "color": {"field": "c", "type": "nominal", "legend": None, "sort": None,
                                   "scale": {"scheme": th["cat"]}}},
            "title": _title(rng, Y[0])}
    return spec, f"{Y[0]} per group (boxes: quartiles; whiskers: 1.5 IQR)"


def ch_errorbar(rng, nr, th, w, h):
    X, Y = rng.choice(XQ), rng.choice(YQ)
    k = rng.choice([1, 2])
    groups = rng.sample(GROUPS, k)
    rows = []
    for gi, g in enumerate(groups):
        for i in range(rng.randint(5, 10)):
            m = float(np.sin(i / 3 + gi) * 3 + 5 + gi)
            e = float(nr.uniform(0.2, 1.0))
            rows.append({"x": i * 5, "y": round(m, 3), "lo": round(m - e, 3), "hi": round(m + e, 3), "g": g})
    col = ({"field": "g", "type": "nominal", "title": None, "scale": {"scheme": th["cat"]},
            "legend": _legend(rng)} if k > 1 else {"value": th["fg"]})
    xe = {"field": "x", "type": "quantitative", "title": qlabel(X)}
    spec = {"data": {"values": rows}, "width": w, "height": h, "layer": [
        {"mark": {"type": "line", "strokeWidth": 1}, "encoding": {"x": xe, "y": {"field": "y", "type": "quantitative", "title": qlabel(Y)}, "color": col}},
        {"mark": {"type": "point", "filled": True, "size": 40}, "encoding": {"x": xe, "y": {"field": "y", "type": "quantitative"}, "color": col}},
        {"mark": {"type": "rule"}, "encoding": {"x": xe, "y": {"field": "lo", "type": "quantitative"}, "y2": {"field": "hi"}, "color": col}},
    ], "title": _title(rng, Y[0])}
    return spec, f"Mean {Y[0].lower()} versus {X[0].lower()} (error bars, s.e.m.)"


def ch_schematic(rng, nr, th, w, h):
    n = rng.randint(3, 5)
    labels = rng.sample(["Source", "Filter", "Sample", "Detector", "Amplifier", "Laser", "Lens",
                         "Input", "Encoder", "Decoder", "Output", "Reservoir", "Pump"], n)
    fills = [hexc(tuple(int(255 * c) for c in colorsys.hsv_to_rgb(rng.random(), 0.25, 0.95))) for _ in range(n)]
    boxes, arrows = [], []
    for i in range(n):
        x0 = i * 10 + 1
        yoff = rng.choice([0, 0, 1.5, -1.5])
        boxes.append({"x": x0, "x2": x0 + 7, "y": 3 + yoff, "y2": 7 + yoff, "t": labels[i], "cx": x0 + 3.5,
                      "cy": 5 + yoff, "f": fills[i]})
        if i:
            arrows.append({"x": x0 - 3, "x2": x0, "y": 5 + yoff, "y2": 5 + yoff})
    sx = {"type": "linear", "domain": [0, n * 10 - 1], "nice": False}
    sy = {"type": "linear", "domain": [-0.5, 10.5], "nice": False}
    spec = {"width": w, "height": h, "layer": [
        {"data": {"values": boxes}, "mark": {"type": "rect", "stroke": th["fg"], "strokeWidth": 1.2, "cornerRadius": rng.choice([0, 4])},
         "encoding": {"x": {"field": "x", "type": "quantitative", "scale": sx, "axis": None}, "x2": {"field": "x2"},
                      "y": {"field": "y", "type": "quantitative", "scale": sy, "axis": None}, "y2": {"field": "y2"},
                      "fill": {"field": "f", "type": "nominal", "scale": None}}},
        {"data": {"values": boxes}, "mark": {"type": "text", "fontSize": th["fs"]},
         "encoding": {"x": {"field": "cx", "type": "quantitative", "scale": sx, "axis": None},
                      "y": {"field": "cy", "type": "quantitative", "scale": sy, "axis": None}, "text": {"field": "t"},
                      "color": {"value": "#111111"}}},
        {"data": {"values": arrows}, "mark": {"type": "rule", "strokeWidth": 1.5, "color": th["fg"]},
         "encoding": {"x": {"field": "x", "type": "quantitative", "scale": sx, "axis": None}, "x2": {"field": "x2"},
                      "y": {"field": "y", "type": "quantitative", "scale": sy, "axis": None}, "y2": {"field": "y2"}}},
        {"data": {"values": arrows}, "mark": {"type": "point", "shape": "triangle-right", "filled": True, "size": 60,
                                             "color": th["fg"]},
         "encoding": {"x": {"field": "x2", "type": "quantitative", "scale": sx, "axis": None},
                      "y": {"field": "y", "type": "quantitative", "scale": sy, "axis": None}}},
    ], "view": {"stroke": None}}
    return spec, f"Schematic of the experimental set-up ({' → '.join(labels)})"


def ch_facet(rng, nr, th, w, h):
    """Faceted small multiple or far-away legend -- ONE panel with internal whitespace."""
    X, Y = rng.choice(XQ), rng.choice(YQ)
    k = rng.randint(2, 4)
    groups = rng.sample(GROUPS, k)
    rows = []
    for gi, g in enumerate(groups):
        xs = np.linspace(0, 10, 30)
        ys = _shape(nr, xs, rng.randrange(5)) + nr.normal(0, 0.05, 30)
        rows += [{"x": float(a), "y": round(float(b), 3), "g": g, "s": rng.choice(["r1", "r2"])} for a, b in zip(xs, ys)]
    if rng.random() < 0.5:
        spec = {"data": {"values": rows}, "mark": {"type": "line", "point": rng.random() < 0.3},
                "encoding": {"x": {"field": "x", "type": "quantitative", "title": qlabel(X)},
                             "y": {"field": "y", "type": "quantitative", "title": qlabel(Y)},
                             "color": {"field": "g", "type": "nominal", "legend": None,
                                       "scale": {"scheme": th["cat"]}},
                             "column": {"field": "g", "type": "nominal", "title": None}},
                "width": max(60, w // k), "height": h,
                "spacing": rng.randint(30, 90), "resolve": {"scale": {"y": rng.choice(["shared", "independent"])}}}
        return spec, f"{Y[0]} versus {X[0].lower()} shown separately for each condition"
    spec = {"data": {"values": rows}, "width": w, "height": h, "mark": "line",
            "encoding": {"x": {"field": "x", "type": "quantitative", "title": qlabel(X)},
                         "y": {"field": "y", "type": "quantitative", "title": qlabel(Y)},
                         "color": {"field": "g", "type": "nominal", "title": "Condition", "scale": {"scheme": th["cat"]},
                                   "legend": {"orient": rng.choice(["right", "bottom"]), "offset": rng.randint(50, 140)}}}}
    return spec, f"{Y[0]} versus {X[0].lower()} for all conditions"


CHARTS = {"line": ch_line, "scatter": ch_scatter, "bar": ch_bar, "heatmap": ch_heatmap,
          "hist": ch_hist, "area": ch_area, "box": ch_box, "errorbar": ch_errorbar,
          "annot": lambda *a: ch_line(*a, annotate=True), "schematic": ch_schematic, "facet": ch_facet}
KIND_W = [("line", 5), ("scatter", 4), ("bar", 4), ("heatmap", 2), ("hist", 2), ("area", 2),
          ("box", 2), ("errorbar", 2), ("annot", 1), ("schematic", 0.6), ("micro", 1.2)]


def micrograph(rng, nr, pw, ph, dark_page=False):
    style = rng.choice(["fluo", "em", "histo"])
    h, w = ph, pw
    if style == "fluo":
        img = np.zeros((h, w, 3), np.float32)
        chans = rng.sample([0, 1, 2], rng.randint(1, 2))
        for ch in chans:
            yy, xx = np.mgrid[0:h, 0:w]
            for _ in range(rng.randint(8, 30)):
                cy, cx, r = nr.uniform(0, h), nr.uniform(0, w), nr.uniform(3, max(4, min(h, w) / 12))
                img[..., ch] += 255 * nr.uniform(0.4, 1) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        img += nr.normal(0, 6, img.shape)
        img[..., :] = np.clip(img, 0, 255)
        img[img.max(-1) < 10] = [10, 10, 14]
        bar = (255, 255, 255)
    elif style == "em":
        noise = nr.normal(0, 1, (h // 4 + 1, w // 4 + 1)).astype(np.float32)
        noise = np.array(Image.fromarray(((noise - noise.min()) / np.ptp(noise) * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC), np.float32)
        g = 90 + 0.35 * noise + nr.normal(0, 10, (h, w))
        img = np.repeat(np.clip(g, 20, 200)[..., None], 3, -1)
        bar = (255, 255, 255)
    else:
        img = np.zeros((h, w, 3), np.float32) + np.array([235, 190, 215], np.float32)
        yy, xx = np.mgrid[0:h, 0:w]
        for _ in range(rng.randint(20, 60)):
            cy, cx, r = nr.uniform(0, h), nr.uniform(0, w), nr.uniform(2, 6)
            m = ((yy - cy) ** 2 + (xx - cx) ** 2) < r * r
            img[m] = [110, 60, 150]
        img += nr.normal(0, 5, img.shape)
        bar = (0, 0, 0)
    out = np.zeros((h, w, 4), np.uint8)
    out[..., :3] = np.clip(img, 0, 255)
    out[..., 3] = 255
    bl = max(12, w // 6)
    bh = max(2, h // 60)
    out[h - 10 - bh:h - 10, w - 10 - bl:w - 10, :3] = bar
    if rng.random() < 0.6:
        t = text_rgba(rng.choice(["10 µm", "50 µm", "200 nm", "1 mm"]), "DejaVuSans.ttf", max(9, h // 18), bar)
        ty = h - 14 - bh - t.shape[0]
        tx = w - 10 - bl // 2 - t.shape[1] // 2
        if ty > 0 and tx > 0:
            paste(out, t, tx, ty)
    return out, rng.choice(["Representative fluorescence image", "Electron micrograph of the sample",
                            "Histological section", "Confocal image of the region of interest"])


# ----------------------------------------------------------------------------- figure machinery
class Panel:
    def __init__(self, img, desc, tile=None):
        self.img, self.desc, self.tile = img, desc, tile
        self.letter = None  # lowercase letter or None
        self.letter_img = None
        self.box = None

    def natural(self):
        h, w = self.img.shape[:2]
        if self.tile is None:
            return w, h
        t = self.tile
        return w + 2 * t["pad"] + 2 * t["ft"], h + 2 * t["pad"] + 2 * t["ft"] + t["top"]


def leaf(tw, th, kind=None):
    return {"t": "leaf", "tw": int(tw), "th": int(th), "kind": kind}


def grid(rows, cols, children, hg, vg):
    hg = hg if isinstance(hg, list) else [hg] * (cols - 1)
    vg = vg if isinstance(vg, list) else [vg] * (rows - 1)
    return {"t": "grid", "r": rows, "c": cols, "ch": children, "hg": hg, "vg": vg}


def leaves(node):
    if node["t"] == "leaf":
        return [node]
    return [l for c in node["ch"] for l in leaves(c)]


def measure(node):
    if node["t"] == "leaf":
        return node["panel"].natural()
    sz = [measure(c) for c in node["ch"]]
    colw = [max(sz[r * node["c"] + j][0] for r in range(node["r"])) for j in range(node["c"])]
    rowh = [max(sz[r * node["c"] + j][1] for j in range(node["c"])) for r in range(node["r"])]
    node["colw"], node["rowh"] = colw, rowh
    return sum(colw) + sum(node["hg"]), sum(rowh) + sum(node["vg"])


def place(node, x, y, cw, ch, align, out):
    if node["t"] == "leaf":
        p = node["panel"]
        if p.tile is not None:
            out.append((p, x, y, cw, ch))
        else:
            w, h = p.natural()
            dx = (cw - w) // 2 if align == "center" else 0
            dy = (ch - h) // 2 if align == "center" else 0
            out.append((p, x + dx, y + dy, w, h))
        return
    w, h = measure(node)
    colw, rowh = list(node["colw"]), list(node["rowh"])
    ex, ey = max(0, cw - w), max(0, ch - h)
    for j in range(node["c"]):
        colw[j] += ex // node["c"] + (ex % node["c"] if j == node["c"] - 1 else 0)
    for r in range(node["r"]):
        rowh[r] += ey // node["r"] + (ey % node["r"] if r == node["r"] - 1 else 0)
    node["cx"], node["cy"] = [], []
    yy = y
    for r in range(node["r"]):
        xx = x
        for j in range(node["c"]):
            place(node["ch"][r * node["c"] + j], xx, yy, colw[j], rowh[r], align, out)
            if r == 0:
                node["cx"].append((xx, xx + colw[j]))
            xx += colw[j] + (node["hg"][j] if j < node["c"] - 1 else 0)
        node["cy"].append((yy, yy + rowh[r]))
        yy += rowh[r] + (node["vg"][r] if r < node["r"] - 1 else 0)


def letter_text(style, ch):
    up = ch.upper()
    return {"a": ch, "A": up, "(a)": f"({ch})", "a)": f"{ch})", "A.": f"{up}.", "(A)": f"({up})", "a.": f"{ch}."}[style]


class Fig:
    def __init__(self, fam, rng, nr):
        self.fam, self.rng, self.nr = fam, rng, nr
        r = rng
        self.page = (255, 255, 255) if r.random() < 0.7 else tuple(r.randint(243, 252) for _ in range(3))
        self.dark = False
        self.tile_mode = None
        if fam == "saturated":
            if r.random() < 0.4:
                v = r.randint(8, 40)
                self.page = (v, v, v + r.randint(0, 12))
                self.dark = True
            else:
                self.tile_mode = "sat"
        elif fam == "tinted_grid":
            self.tile_mode = "tint"
        elif fam == "framed":
            self.tile_mode = "frame"
        elif fam == "jpeg_noise" and r.random() < 0.3:
            self.tile_mode = r.choice(["tint", "frame"])
        self.sat_dark = r.random() < 0.6
        fg = None
        if self.tile_mode == "sat":
            hue = r.random()
            if self.sat_dark:
                self.tile_col = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(hue, r.uniform(0.6, 1), r.uniform(0.25, 0.5)))
                fg = "#f0f0f0"
            else:
                self.tile_col = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(hue, r.uniform(0.5, 0.9), r.uniform(0.8, 1.0)))
                fg = "#000000"
            self.per_tile_hue = r.random() < 0.3
        self.theme = make_theme(r, dark=self.dark or (self.tile_mode == "sat" and self.sat_dark), fg=fg)
        if self.tile_mode == "tint":
            base = np.array(self.page, float)
            self.tints = []
            for _ in range(4):
                d = r.randint(8, 30)
                hue = r.random()
                c = np.array(colorsys.hsv_to_rgb(hue, 1, 1)) * 255
                col = base - d * (1 - (c / 255) * r.uniform(0, 0.7))
                col = np.clip(col, 0, 255).astype(int)
                if np.abs(col - base).max() < 8:
                    col = np.clip(base - 8, 0, 255).astype(int)
                self.tints.append(tuple(int(v) for v in col))
            self.tint_same = r.random() < 0.6
        if self.tile_mode == "frame":
            self.frame_col = r.choice([(0, 0, 0), (90, 90, 90), (150, 150, 150), (30, 60, 160), (180, 40, 40)])
            self.frame_ft = r.randint(1, 4)
            self.frame_fill = r.choice([self.page, self.page, (255, 255, 255)])
        self.lettered = fam == "letters_outside" or (not fam.startswith("single") and r.random() < 0.85) or (fam.startswith("single") and r.random() < 0.15)
        self.lstyle = r.choice(["a", "A", "(a)", "a)", "A.", "(A)", "a"])
        self.lbold = r.random() < 0.75
        self.lfont = r.choice(["DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf"] if self.lbold else ["DejaVuSans.ttf", "DejaVuSerif.ttf"])
        self.attach = r.choice(["left", "above", "left"])
        self.scale = r.choice([1.0, 1.25, 1.5, 2.0, 2.5])
        self.lfac = r.uniform(1.3, 2.1)
        self.lsize = max(14, min(44, int(self.lfac * self.theme["fs"] * self.scale)))
        self.align = r.choice(["tl", "center", "tl"])
        self.kinds_pool = None

    # -------------------------------------------------------------------- panels
    def choose_kind(self):
        ks, ws = zip(*KIND_W)
        return self.rng.choices(ks, ws)[0]

    def make_panel(self, lf):
        r = self.rng
        kind = lf["kind"] or self.choose_kind()
        tw, th = lf["tw"], lf["th"]
        tile = None
        bgc = self.page
        if self.tile_mode:
            pad = r.randint(3, 14)
            ft = self.frame_ft if self.tile_mode == "frame" else 0
            if self.tile_mode == "tint":
                fill = self.tints[0] if self.tint_same else r.choice(self.tints)
            elif self.tile_mode == "sat":
                fill = self.tile_col
                if self.per_tile_hue:
                    hh, ss, vv = colorsys.rgb_to_hsv(*[c / 255 for c in fill])
                    fill = tuple(int(255 * c) for c in colorsys.hsv_to_rgb((hh + r.uniform(-0.15, 0.15)) % 1, ss, vv))
            else:
                fill = self.frame_fill
            tile = {"pad": pad, "ft": ft, "fill": fill, "top": 0}
            bgc = fill
            tw -= 2 * (pad + ft)
            th -= 2 * (pad + ft)
        if kind == "micro":
            img, desc = micrograph(r, self.nr, max(60, int(tw * 0.9)), max(50, int(th * 0.9)))
        else:
            s = self.scale
            legend_room = 90 if kind in ("line", "scatter", "bar", "heatmap", "area", "hist", "errorbar", "facet") else 0
            w = max(50, int(tw / s - 70 - legend_room * 0.6))
            h = max(40, int(th / s - 55))
            spec, desc = CHARTS[kind](r, self.nr, self.theme, w, h)
            spec = {k: v for k, v in spec.items() if v is not None}
            spec["$schema"] = SCHEMA
            spec["config"] = self.theme["config"]
            spec["background"] = None
            spec["padding"] = 2
            img = crop_ink(render(spec, s), bgc)
        p = Panel(img, desc, tile)
        p.kind = kind
        p.bgc = bgc
        return p

    def attach_letter(self, p, ch):
        p.letter = ch
        lightbg = np.mean(p.bgc) > 110
        col = (0, 0, 0) if lightbg else (245, 245, 245)
        if p.kind == "micro" and p.tile is None:
            col = (255, 255, 255) if p.img[..., :3].mean() < 128 else (0, 0, 0)
        limg = text_rgba(letter_text(self.lstyle, ch), self.lfont, self.lsize, col)
        if self.fam == "letters_outside":
            p.letter_img = limg
            return
        if p.tile is not None:
            # letter inside the tile, top-left; reserve room above the chart
            p.tile["top"] = limg.shape[0] + 4
            p.letter_img = limg
            return
        if p.kind == "micro":
            m = max(3, p.img.shape[0] // 30)
            paste(p.img, limg, m, m)
            return
        gap = self.rng.randint(0, 3)
        ih, iw = p.img.shape[:2]
        lh, lw = limg.shape[:2]
        if self.attach == "left":
            W, H = iw + lw + gap, max(ih, lh)
            can = np.zeros((H, W, 4), np.uint8)
            paste(can, limg, 0, 0)
            paste(can, p.img, lw + gap, 0)
        else:
            W, H = max(iw, lw), ih + lh + gap
            can = np.zeros((H, W, 4), np.uint8)
            paste(can, limg, 0, 0)
            paste(can, p.img, 0, lh + gap)
        p.img = crop_ink(can, p.bgc)

    def tile_image(self, p, cw, ch):
        t = p.tile
        out = np.zeros((ch, cw, 4), np.uint8)
        out[..., :3] = t["fill"]
        out[..., 3] = 255
        ft = t["ft"]
        if ft:
            out[:ft, :, :3] = self.frame_col
            out[-ft:, :, :3] = self.frame_col
            out[:, :ft, :3] = self.frame_col
            out[:, -ft:, :3] = self.frame_col
        ih, iw = p.img.shape[:2]
        inner_w = cw - 2 * ft
        inner_h = ch - 2 * ft - t["top"]
        x = ft + (inner_w - iw) // 2
        y = ft + t["top"] + (inner_h - ih) // 2
        paste(out, p.img, x, y)
        if p.letter_img is not None and self.fam != "letters_outside":
            paste(out, p.letter_img, ft + 3, ft + 3)
        return out


# ----------------------------------------------------------------------------- layouts
def build_tree(fig):
    r, fam = fig.rng, fig.fam
    W = r.randint(600, 2400)
    g = lambda lo=6, hi=30: r.randint(lo, hi)
    if fam in ("single", "single_whitespace"):
        W = r.randint(680, 1400)
        kind = "facet" if fam == "single_whitespace" else None
        return leaf(W, W * r.uniform(0.55, 0.8), kind)
    if fam == "row":
        n = r.randint(2, 5)
        W = max(W, 350 * n)
        gap = g()
        tw = (W - gap * (n - 1)) / n
        return grid(1, n, [leaf(tw, tw * r.uniform(0.7, 1.0)) for _ in range(n)], gap, 0)
    if fam == "column":
        n = r.randint(2, 4)
        W = r.randint(600, 1400)
        return grid(n, 1, [leaf(W, W * r.uniform(0.3, 0.5)) for _ in range(n)], 0, g())
    if fam == "big_grid":
        rr, cc = r.randint(3, 4), r.randint(3, 4)
        W = r.randint(max(1100, 300 * cc), 2400)
        gap = g()
        tw = (W - gap * (cc - 1)) / cc
        return grid(rr, cc, [leaf(tw, tw * r.uniform(0.65, 0.9)) for _ in range(rr * cc)], gap, g())
    if fam == "uneven":
        mode = r.randrange(3)
        W = r.randint(900, 2000)
        gap = g()
        if mode == 0:
            k = r.randint(2, 3)
            sw = W * r.uniform(0.35, 0.45)
            sh = sw * 0.65
            stack = grid(k, 1, [leaf(sw, sh) for _ in range(k)], 0, gap)
            return grid(1, 2, [leaf(W - sw - gap, k * sh + (k - 1) * gap), stack], gap, 0)
        if mode == 1:
            k = r.randint(2, 3)
            tw = (W - gap * (k - 1)) / k
            return grid(2, 1, [leaf(W, W * 0.35), grid(1, k, [leaf(tw, tw * 0.8) for _ in range(k)], gap, 0)], 0, gap)
        ws = [r.uniform(1, 2.2) for _ in range(r.randint(2, 3))]
        tot = sum(ws)
        h = W / len(ws) * 0.75
        return grid(1, len(ws), [leaf(W * x / tot - gap, h) for x in ws], gap, 0)
    if fam == "nested":
        mode = r.randrange(3)
        W = r.randint(1100, 2400)
        gap, sg = g(14, 36), g(4, 14)
        if mode == 0:
            k = r.randint(2, 3)
            tw = (W - gap * (k - 1)) / k
            cc = r.randint(2, 4)
            tw2 = (W - sg * (cc - 1)) / cc
            return grid(2, 1, [grid(1, k, [leaf(tw, tw * 0.7) for _ in range(k)], gap, 0),
                               grid(2, cc, [leaf(tw2, tw2 * 0.7) for _ in range(2 * cc)], sg, sg)], 0, gap)
        if mode == 1:
            tw = (W - gap) / 2
            sub = grid(2, 2, [leaf((tw - sg) / 2, (tw - sg) / 2 * 0.75) for _ in range(4)], sg, sg)
            kids = [leaf(tw, tw * 0.75) for _ in range(4)]
            kids[r.randrange(4)] = sub
            return grid(2, 2, kids, gap, gap)
        tw = W * 0.45
        sub = grid(2, 2, [leaf((W - tw - gap - sg) / 2, (W - tw - gap - sg) / 2 * 0.75) for _ in range(4)], sg, sg)
        return grid(1, 2, [leaf(tw, tw * 0.9), sub], gap, 0)
    # generic grid families
    n_opts = [(1, 2), (1, 3), (2, 2), (2, 3), (1, 4), (3, 2), (2, 4), (3, 3)]
    rr, cc = r.choice(n_opts)
    W = max(W, 320 * cc)
    if fam in ("dark_lines", "light_lines"):
        t = r.randint(1, 4)
        pads = [r.randint(0, 3) for _ in range(2)]
        fig.line_t, fig.line_pad = t, pads
        gap = t + pads[0] + pads[1]
        hg = vg = gap
    elif fam == "gutter_range":
        mode = r.randrange(3)
        mx = max(3, int(0.10 * W))
        if mode == 0:
            hg = [r.randint(2, 6)] * (cc - 1)
            vg = [r.randint(2, 6)] * (rr - 1)
        elif mode == 1:
            hg = [r.randint(mx // 2, mx)] * (cc - 1)
            vg = [r.randint(mx // 2, mx)] * (rr - 1)
        else:
            hg = [r.randint(2, mx) for _ in range(cc - 1)]
            vg = [r.randint(2, mx) for _ in range(rr - 1)]
    elif fam == "letters_outside":
        need = fig.lsize * 2 + 14
        hg = vg = r.randint(need, need + 30)
    else:
        hg, vg = g(), g()
    hsum = sum(hg) if isinstance(hg, list) else hg * (cc - 1)
    tw = (W - hsum) / cc
    return grid(rr, cc, [leaf(tw, tw * r.uniform(0.65, 0.9)) for _ in range(rr * cc)], hg, vg)


# ----------------------------------------------------------------------------- captions
def marker(letters, upper):
    L = [c.upper() if upper else c for c in letters]
    if len(L) == 1:
        return f"({L[0]})"
    if len(L) == 2:
        return f"({L[0]},{L[1]})" if L[0] != "x" else f"({L[0]} and {L[1]})"
    return f"({L[0]}\u2013{L[-1]})"


def build_caption(fig, panels, topic):
    r = fig.rng
    if not fig.lettered:
        if len(panels) == 1:
            body = panels[0].desc + "."
            for p in panels:
                p.sub = body
            return f"{topic}. {body}"
        for p in panels:
            p.sub = None
        return f"{topic}. " + r.choice(["Panels show measurements for all conditions described in the Methods.",
                                       "Data are mean ± s.d. of three independent experiments.",
                                       "From left to right: " + "; ".join(p.desc.lower() for p in panels[:3]) + "."])
    upper = fig.lstyle in ("A", "A.", "(A)")
    parts = [f"{topic}."]
    i = 0
    while i < len(panels):
        run = 1
        while i + run < len(panels) and panels[i + run].kind == panels[i].kind:
            run += 1
        k = min(run, r.choice([run, run, 1, 2, 3]))
        grp = panels[i:i + k]
        text = grp[0].desc
        if k > 1:
            text += r.choice([" for the different samples", " under increasing load", ", repeated for each condition",
                              " (replicates)"])
        m = marker([p.letter for p in grp], upper)
        if k == 2 and r.random() < 0.3:
            L = [p.letter.upper() if upper else p.letter for p in grp]
            m = f"({L[0]} and {L[1]})"
        parts.append(f"{m} {text}.")
        for p in grp:
            p.sub = text + "."
        i += k
    if r.random() < 0.4:
        parts.append("Scale bars and error bars are defined in the Methods.")
    return " ".join(parts)


# ----------------------------------------------------------------------------- figure
def boxes_overlap(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def make_figure(fam, rng, nr):
    fig = Fig(fam, rng, nr)
    tree = build_tree(fig)
    lvs = leaves(tree)
    # keep plot areas readable: vega units per panel >= ~260
    min_tw = min(min(lf["tw"], lf["th"] * 1.3) for lf in lvs)
    fig.scale = round(max(0.8, min(fig.scale, min_tw / 260)), 2)
    fig.lsize = max(14, min(44, int(fig.lfac * fig.theme["fs"] * fig.scale)))
    prev = None
    for lf in lvs:  # runs of identical chart kinds (e.g. "(b-d) spectra of ...")
        if lf["kind"] is None:
            lf["kind"] = prev if (prev and prev != "micro" and rng.random() < 0.3) else fig.choose_kind()
        prev = lf["kind"]
    panels = []
    for i, lf in enumerate(lvs):
        p = fig.make_panel(lf)
        lf["panel"] = p
        panels.append(p)
    if fig.lettered:
        for i, p in enumerate(panels):
            fig.attach_letter(p, "abcdefghijklmnopqrstuvwxyz"[i])
    if fam == "letters_outside":  # gutters wide enough for detached letters (+>=6 px gaps)
        need = max(max(p.letter_img.shape[:2]) for p in panels) + 16
        tree["hg"] = [max(v, need) for v in tree["hg"]]
        tree["vg"] = [max(v, need) for v in tree["vg"]]
    fw, fh = measure(tree)
    r = rng
    ml, mr, mt, mb = (r.randint(0, 40) for _ in range(4))
    if fam in ("dark_lines", "light_lines"):
        fig.border = r.random() < 0.4
        if fig.border:
            m = fig.line_t + fig.line_pad[0] + 1
            ml, mr, mt, mb = max(ml, m), max(mr, m), max(mt, m), max(mb, m)
    if fam == "letters_outside":
        lw = max(p.letter_img.shape[1] for p in panels) + 12
        lh = max(p.letter_img.shape[0] for p in panels) + 12
        fig.attach = r.choice(["left", "above"])
        if fig.attach == "left":
            ml = max(ml, lw)
        else:
            mt = max(mt, lh)
    title = None
    if r.random() < 0.25 and fam not in ("single_whitespace",):
        title = text_rgba(r.choice(TOPICS), r.choice(["DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSans.ttf"]),
                          max(14, int(fig.theme["fs"] * fig.scale * 1.5)), (0, 0, 0) if not fig.dark else (240, 240, 240))
        if title.shape[1] > fw + ml + mr:
            title = None
    ty = 0
    if title is not None:
        ty = r.randint(4, 16)
        mt += ty + title.shape[0] + r.randint(8, 24)
    H, W = mt + fh + mb, ml + fw + mr
    canvas = np.zeros((H, W, 3), np.uint8)
    canvas[...] = fig.page
    placed = []
    place(tree, ml, mt, fw, fh, fig.align, placed)
    for p, x, y, cw, ch in placed:
        im = fig.tile_image(p, cw, ch) if p.tile is not None else p.img
        paste(canvas, im, x, y)
        p.box = [x, y, im.shape[1], im.shape[0]]
    fig_boxes = [p.box for p in panels]
    for i in range(len(fig_boxes)):
        for j in range(i + 1, len(fig_boxes)):
            assert not boxes_overlap(fig_boxes[i], fig_boxes[j]), (fam, fig_boxes[i], fig_boxes[j])
    if title is not None:
        paste(canvas, title, (W - title.shape[1]) // 2, ty)
    if fam in ("dark_lines", "light_lines"):
        t, (p0, _) = fig.line_t, fig.line_pad
        col = (r.choice([(0, 0, 0), (40, 40, 40), (20, 20, 60)]) if fam == "dark_lines" else
               r.choice([(200, 200, 200), (215, 215, 215), (170, 200, 230), (230, 190, 190), (180, 180, 180)]))
        x0, y0, x1, y1 = ml, mt, ml + fw, mt + fh
        for (a, b) in tree["cx"][:-1]:
            canvas[y0:y1, b + p0:b + p0 + t] = col
        for (a, b) in tree["cy"][:-1]:
            canvas[b + p0:b + p0 + t, x0:x1] = col
        if fig.border:
            o = fig.line_pad[0] + t
            canvas[y0 - o:y0 - o + t, x0 - o:x1 + o] = col
            canvas[y1 + o - t:y1 + o, x0 - o:x1 + o] = col
            canvas[y0 - o:y1 + o, x0 - o:x0 - o + t] = col
            canvas[y0 - o:y1 + o, x1 + o - t:x1 + o] = col
    if fam == "letters_outside":
        for p in panels:
            li = p.letter_img
            gap = r.randint(6, 10)
            x, y, w, h = p.box
            if fig.attach == "left":
                lx, ly = x - gap - li.shape[1], y
            else:
                lx, ly = x, y - gap - li.shape[0]
            lb = [lx, ly, li.shape[1], li.shape[0]]
            assert lx >= 0 and ly >= 0
            for b in fig_boxes:
                assert not boxes_overlap(lb, b), ("letter overlaps", fam)
            paste(canvas, li, lx, ly)
    topic = r.choice(TOPICS)
    caption = build_caption(fig, panels, topic)
    return canvas, panels, caption, fig


def generate(out_dir, per_family=8, seed=0, families=None):
    fams = FAMILIES if families is None else [f for f in FAMILIES if f in set(families)]
    unknown = set(families or []) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown families: {sorted(unknown)}")
    img_dir = os.path.join(out_dir, "images")
    os.makedirs(img_dir, exist_ok=True)
    coco = {"info": {"description": "Vega-Lite multi-panel chart figures (vega_charts generator)",
                     "seed": int(seed), "per_family": int(per_family)},
            "images": [], "annotations": [], "categories": [{"id": 1, "name": "panel"}]}
    aid = 1
    for fam in fams:
        for i in range(per_family):
            rng = random.Random(f"vega-{seed}-{fam}-{i}")
            nr = np.random.default_rng(rng.randrange(2 ** 32))
            canvas, panels, caption, fig = make_figure(fam, rng, nr)
            H, W = canvas.shape[:2]
            if fam == "jpeg_noise":
                fn = f"{fam}_{i:03d}.jpg"
                if rng.random() < 0.5:
                    canvas = np.clip(canvas.astype(np.float32) + nr.normal(0, rng.uniform(1.5, 6), canvas.shape), 0, 255).astype(np.uint8)
                Image.fromarray(canvas).save(os.path.join(img_dir, fn), quality=rng.randint(40, 85), subsampling=2)
            else:
                fn = f"{fam}_{i:03d}.png"
                Image.fromarray(canvas).save(os.path.join(img_dir, fn))
            iid = len(coco["images"]) + 1
            coco["images"].append({"id": iid, "file_name": fn, "width": int(W), "height": int(H),
                                   "layout": fam, "caption": caption})
            for p in panels:
                x, y, w, h = (int(v) for v in p.box)
                coco["annotations"].append({"id": aid, "image_id": iid, "category_id": 1, "bbox": [x, y, w, h],
                                            "area": w * h, "iscrowd": 0, "letter": p.letter,
                                            "sub_caption": p.sub})
                aid += 1
    with open(os.path.join(out_dir, "annotations.json"), "w") as f:
        json.dump(coco, f, indent=1, ensure_ascii=False)
    return coco


def draw_checks(out_dir, n):
    with open(os.path.join(out_dir, "annotations.json")) as f:
        coco = json.load(f)
    cdir = os.path.join(out_dir, "check")
    os.makedirs(cdir, exist_ok=True)
    by = {}
    for a in coco["annotations"]:
        by.setdefault(a["image_id"], []).append(a)
    count = {}
    cols = [(255, 0, 0), (0, 170, 0), (0, 0, 255), (255, 0, 255), (0, 170, 170), (255, 140, 0)]
    for im in coco["images"]:
        if count.get(im["layout"], 0) >= n:
            continue
        count[im["layout"]] = count.get(im["layout"], 0) + 1
        img = Image.open(os.path.join(out_dir, "images", im["file_name"])).convert("RGB")
        d = ImageDraw.Draw(img)
        for k, a in enumerate(by.get(im["id"], [])):
            x, y, w, h = a["bbox"]
            d.rectangle([x - 1, y - 1, x + w, y + h], outline=cols[k % len(cols)])
        img.save(os.path.join(cdir, os.path.splitext(im["file_name"])[0] + ".png"))


def main(argv=None):
    from tests.layoutgen.cli import run

    run(__doc__, generate, draw_checks, argv)


if __name__ == "__main__":
    main()

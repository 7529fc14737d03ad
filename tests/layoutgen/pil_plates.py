"""Independent synthetic multi-panel ("plate") figure generator with exact truth.

Written from scratch with Pillow + numpy only (matplotlib is used solely to
*locate* the TrueType fonts it ships; nothing is drawn with it).  It produces
journal-like composite figures together with COCO-style panel annotations, for
grading a model-free panel splitter.

Usage::

    from tests.layoutgen.pil_plates import generate, validate, FAMILIES
    json_path = generate("/tmp/plates", per_family=10, seed=0)
    validate(json_path)

    python -m tests.layoutgen.pil_plates OUT_DIR --per-family N --seed S [--families F ...]

Figure k of a family depends only on (seed, family, k): the same figure comes
out whether or not other families are generated.  ~12 s for all 15 families at
per_family=10 on one core.

Output
------
``OUT_DIR/images/<family>_<k>.png|jpg`` and ``OUT_DIR/annotations.json``::

    images:      {id, file_name, width, height, layout, caption, letters_in_image}
    annotations: {id, image_id, category_id=1, bbox=[x, y, w, h], area, iscrowd=0,
                  letter, sub_caption}
    categories:  [{id: 1, name: "panel"}]

Ground-truth conventions
------------------------
* ``bbox`` is integer pixels, ``x1 = x + w`` and ``y1 = y + h`` are exclusive,
  ``area = w * h``.  Truth is computed from what was drawn, before any JPEG
  compression or blur (blurred ``jpeg_noise`` images may show a <=1-2 px halo
  beyond a plain panel's box).
* Filled panels - pale tint, saturated/dark fill, photo/micrograph, framed or a
  cell of a line-separated grid - have the *rectangle* they occupy as box: the
  tint/fill/photo rectangle, or the outer edge of the frame (frame pixels
  included).  Separating lines (``dark_lines``/``light_lines``) and gutters belong
  to no panel.
* "plain" panels (drawn straight on the white page, no tint/frame) have the
  tight bounding box of every pixel drawn for that panel that differs from
  the page colour (computed per panel from its own drawing layer), *including*
  its letter when the letter was drawn inside the panel's cell.  To keep such
  figures unambiguous the white gutter between plain cells is >= max(12 px,
  1.5 % of the figure side), and no plain panel has an internal full-height or
  full-width empty band wider than ~0.6x the gutter (generation retries).
* A letter drawn OUTSIDE its panel (``letters_outside`` family: in the gutter
  above-left of or left of a tinted / framed / photo panel) is not part of the box.
* Single-panel figures (``single``, ``single_whitespace``) have exactly one box:
  the tight extent of the content, or the photo/tint/frame rectangle (which is
  the whole image for full-bleed photos).  ``single_whitespace`` content has big
  internal empty bands on purpose; it is still one panel.
* Boxes never overlap.  ``dark_lines`` white cells are enclosed by the grid
  lines (outer frame included), so their box is the cell interior.
* Drawn letters outside panels are black, in a strip of the gutter reserved
  for them (never touching the panel); letters inside panels sit in a corner
  (tl mostly; tr/bl/br in ``letters_outside`` and sometimes elsewhere).
* ``letter`` is the lowercase form of the letter actually drawn on the panel
  ("(B)" -> "b"), or null when no letter is drawn.  Either every panel of a
  figure is lettered or none is (``letters_in_image``).  Letters normally run in
  reading order (rows top to bottom, left to right; for irregular layouts the
  layout-tree order, e.g. tall left panel first); ~22 % of lettered 2-D grids
  (about 10 % of all lettered figures) run column-major.  Annotations of an
  image are listed in reading order, whatever the lettering order.
* Captions: a title sentence plus per-panel text with mixed real-world marker
  styles: "(a) text. (b) text.", "a, text; b, text", "A | text", ranges
  "(A–C) shared", lists "(a,b) shared", "a–c, shared"; ~12 % carry no markers,
  and ~10 % of marked captions deliberately do not match the figure (a panel
  missing, a letter skipped, or an extra letter).  Caption letter case follows
  the drawn letters.
* ``sub_caption`` = the caption text following the panel's marker up to the
  next marker, whitespace-trimmed, without the marker and without a trailing
  ";" separator (a sentence-final "." is kept).  Text of a range/list marker
  goes to every panel it names.  It is null when the caption has no markers,
  when the markers do not match the panels, and for single-panel figures.  If
  the figure has no drawn letters but the caption has markers, markers are
  assigned to panels in reading order (a careful reader's assumption).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import pathlib
import sys
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

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

WHITE = (255, 255, 255)

# --------------------------------------------------------------------------- fonts


@lru_cache(maxsize=1)
def _font_dir() -> pathlib.Path:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.origin:
        raise RuntimeError("matplotlib must be installed (its bundled fonts are used)")
    return pathlib.Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"


_FONT_FILES = {
    "sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    "serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    "stix": ("STIXGeneral.ttf", "STIXGeneralBol.ttf"),
}


@lru_cache(maxsize=None)
def _font(family: str, bold: bool, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_dir() / _FONT_FILES[family][int(bool(bold))]), max(6, int(size)))


# --------------------------------------------------------------------------- rng helpers


def _u(rng, a, b):
    return float(rng.uniform(a, b))


def _ri(rng, a, b):
    """Integer in [a, b] inclusive."""
    a, b = int(a), int(b)
    return a if b <= a else int(rng.integers(a, b + 1))


def _ch(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _p(rng, prob):
    return bool(rng.random() < prob)


def _wch(rng, items):
    """Weighted choice from [(item, weight), ...]."""
    w = np.array([x[1] for x in items], float)
    return items[int(rng.choice(len(items), p=w / w.sum()))][0]


def _sample(rng, seq, k):
    k = min(k, len(seq))
    return [seq[i] for i in rng.choice(len(seq), size=k, replace=False)]


# --------------------------------------------------------------------------- colours

PALETTES = [
    [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)],
    [(0, 114, 178), (230, 159, 0), (0, 158, 115), (204, 121, 167), (86, 180, 233), (213, 94, 0)],
    [(76, 114, 176), (221, 132, 82), (85, 168, 104), (196, 78, 82), (129, 114, 179), (147, 120, 96)],
    [(60, 84, 136), (230, 75, 53), (77, 187, 213), (0, 160, 135), (243, 155, 127), (132, 145, 180)],
    [(55, 126, 184), (228, 26, 28), (77, 175, 74), (152, 78, 163), (255, 127, 0), (166, 86, 40)],
    [(0, 0, 0), (200, 30, 30), (30, 80, 200), (0, 150, 80), (120, 120, 120), (230, 140, 0)],
    [(27, 158, 119), (217, 95, 2), (117, 112, 179), (231, 41, 138), (102, 166, 30), (230, 171, 2)],
]
BRIGHT = [(255, 230, 0), (0, 230, 255), (255, 90, 200), (140, 255, 120), (255, 160, 60), (255, 255, 255)]
DARK_FILLS = [
    (0, 0, 0), (12, 12, 18), (15, 30, 70), (20, 50, 120), (0, 70, 170), (130, 20, 30),
    (0, 70, 45), (70, 20, 110), (0, 105, 115), (40, 40, 40), (160, 0, 90), (210, 100, 0),
    (25, 25, 60), (0, 90, 160),
]
CMAPS = {
    "viridis": [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)],
    "magma": [(0, 0, 4), (81, 18, 124), (183, 55, 121), (252, 137, 97), (252, 253, 191)],
    "coolwarm": [(59, 76, 192), (141, 176, 254), (221, 221, 221), (244, 154, 123), (180, 4, 38)],
    "rdbu": [(5, 48, 97), (67, 147, 195), (247, 247, 247), (214, 96, 77), (103, 0, 31)],
    "hot": [(10, 0, 0), (200, 0, 0), (255, 140, 0), (255, 230, 60), (255, 255, 230)],
    "blues": [(240, 246, 252), (158, 202, 225), (66, 146, 198), (8, 81, 156), (8, 38, 90)],
    "gray": [(0, 0, 0), (255, 255, 255)],
    "afmhot": [(0, 0, 0), (128, 20, 0), (230, 120, 20), (255, 215, 110), (255, 245, 220)],
    "cividis": [(0, 34, 78), (65, 77, 108), (124, 123, 120), (188, 175, 111), (254, 232, 56)],
}


def _cmap(vals, name):
    anchors = np.array(CMAPS[name], np.float32)
    pos = np.linspace(0.0, 1.0, len(anchors))
    v = np.clip(vals, 0.0, 1.0)
    out = np.stack([np.interp(v, pos, anchors[:, c]) for c in range(3)], axis=-1)
    return out.astype(np.float32)


def _mix(c, bg, t):
    """t=0 -> c, t=1 -> bg."""
    return tuple(int(round(a * (1 - t) + b * t)) for a, b in zip(c, bg))


def _lum(c):
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _pale_tint(rng, dmin=10, dmax=25):
    d = _ri(rng, dmin, dmax)
    off = _ch(rng, [(0, 0, 0), (0, 0, 0), (-4, -1, 5), (5, 1, -6), (-3, 3, 0), (3, -2, 1), (-5, 0, 5), (4, 3, -7)])
    off = np.array(off) - np.mean(off)
    return tuple(int(np.clip(255 - d + o, 0, 255)) for o in off)


def _pastel_tint(rng, dmin=18, dmax=45):
    base = _ch(rng, [(220, 232, 245), (255, 240, 210), (226, 240, 218), (238, 230, 245), (235, 235, 235),
                     (250, 228, 228), (224, 242, 242), (242, 242, 226)])
    lum = _lum(base)
    target = 255 - _ri(rng, dmin, dmax)
    return tuple(int(np.clip(c + (target - lum), 0, 250)) for c in base)


# --------------------------------------------------------------------------- vocabulary

XQ = ["Time (s)", "Time (h)", "Time (min)", "Wavelength (nm)", "Temperature (K)", "Voltage (V)",
      "Frequency (Hz)", "Distance (µm)", "Concentration (µM)", "Strain (%)", "Energy (eV)",
      "Days post infection", "Epoch", "Position (mm)", "Magnetic field (T)", "Dose (mg/kg)",
      "Pressure (kPa)", "Angle (deg)", "Cycle number", "Depth (m)", "Current density (mA/cm²)",
      "Gate voltage (V)", "Age (weeks)", "Radius (nm)", "Power (mW)", "Iteration"]
YQ = ["Intensity (a.u.)", "Normalized response", "Current (mA)", "Absorbance", "Fluorescence (a.u.)",
      "Survival (%)", "Loss", "Accuracy (%)", "Resistance (Ω)", "Expression level", "Velocity (m/s)",
      "Counts", "Efficiency (%)", "Stress (MPa)", "Capacity (mAh/g)", "Transmission", "Relative abundance",
      "Signal (mV)", "Growth rate (1/h)", "PL intensity (a.u.)", "Conductance (nS)", "Spike rate (Hz)",
      "Fold change", "Displacement (nm)", "Yield (%)", "Reflectance"]
SERIES = ["WT", "KO", "Control", "Treated", "Sample A", "Sample B", "Model", "Experiment", "Simulation",
          "Theory", "x = 0.1", "x = 0.2", "x = 0.5", "300 K", "77 K", "Day 1", "Day 7", "Vehicle", "Drug",
          "Baseline", "Ours", "Previous", "Mutant", "Fit", "Device 1", "Device 2", "Low dose", "High dose"]
CATS = ["Ctrl", "siRNA", "Mock", "Inf.", "WT", "Mut", "A", "B", "C", "D", "0 h", "6 h", "24 h", "48 h",
        "Low", "Mid", "High", "KO", "Veh", "Rx", "S1", "S2", "S3"]
NODE_WORDS = ["Input", "Encoder", "Decoder", "Laser", "Sample", "Detector", "Filter", "Lens", "Pump",
              "Reservoir", "Cell", "Nucleus", "Receptor", "Ligand", "Kinase", "Output", "Sensor", "Amplifier",
              "Camera", "Mirror", "Source", "Drain", "Gate", "Buffer", "Mixer", "Chip", "Valve", "Data",
              "Model", "Loss", "Features", "Attention", "Pooling", "Classifier", "Tissue", "Scaffold",
              "Electrode", "Membrane", "Protein", "DNA", "mRNA", "Ribosome", "Synapse", "Neuron", "Stage 1",
              "Stage 2", "Readout", "Training", "Inference", "Label", "Dataset", "Culture", "Imaging",
              "Analysis", "Lysis", "Sorting", "PCR", "Sequencing", "Reactor", "Catalyst"]
LAYER_WORDS = ["Au", "Ag", "ITO", "Glass", "Si", "SiO₂", "Perovskite", "PEDOT:PSS", "TiO₂", "hBN",
               "Graphene", "Substrate", "Electrolyte", "Cathode", "Anode", "Polymer", "Al₂O₃", "MoS₂"]
TABLE_HEAD = ["Sample", "T (K)", "τ (ns)", "Yield (%)", "n", "R²", "Gap (eV)", "k (s⁻¹)", "Size (nm)",
              "Mean", "s.d.", "P value", "Area (µm²)", "Ratio"]
SCALE_LABELS = ["10 µm", "20 µm", "50 µm", "100 µm", "5 µm", "1 µm", "200 nm", "500 nm", "1 mm", "2 µm",
                "100 nm", "25 µm"]
CHANNELS = ["DAPI", "GFP", "Merge", "mCherry", "Actin", "Tubulin", "Ki67", "CD31", "Hoechst", "Phalloidin"]
TOPICS = ["Characterization of", "Structural analysis of", "Optical properties of", "Performance of",
          "Functional analysis of", "Spatial organization of", "Temporal dynamics in", "Mechanical response of",
          "Electronic structure of", "Expression profiling in", "Thermal stability of", "Transport in",
          "Design and validation of", "Comparison of methods for", "Imaging of", "Quantitative analysis of"]
SYSTEMS = ["the graphene heterostructure", "HeLa cells", "the proposed network", "mouse hippocampal neurons",
           "the microfluidic device", "zebrafish embryos", "the catalyst surface", "the metasurface",
           "perovskite thin films", "the soil microbiome", "the quantum dot array", "primary T cells",
           "the coupled oscillator model", "Arabidopsis roots", "the lithium-ion cathode", "tumour spheroids",
           "the soft robotic gripper", "cortical organoids", "the superconducting qubit", "bacterial biofilms"]
SAMPLES = ["HeLa cells", "primary neurons", "wild-type mice", "MCF-7 cells", "bacterial cultures",
           "zebrafish larvae", "organoids", "graphene devices", "thin films", "nanoparticles", "yeast strains",
           "tumour sections", "root tips", "the fabricated chip", "control samples", "liver sections",
           "fibroblasts", "nanowires"]
CONDITIONS = ["after 24 h of treatment", "under illumination", "at room temperature", "in the presence of the inhibitor",
              "at 4 K", "after annealing", "under hypoxia", "following stimulation", "at increasing doses",
              "in vivo", "in the steady state", "at the indicated time points"]
EXTRAS = ["Error bars denote s.d. (n = 3).", "Solid lines are fits to the model.", "Data are mean ± s.e.m.",
          "Dashed line indicates the detection threshold.", "Values are normalized to the control.",
          "Shaded regions show the 95% confidence interval.", "Each dot represents one biological replicate."]


def _qname(label: str) -> str:
    s = label.split(" (")[0].strip()
    if len(s) > 1 and s[1].islower() and not s.startswith("Raman"):
        s = s[0].lower() + s[1:]
    return s


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _join_and(items):
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------- drawing context


@dataclass
class Ctx:
    rng: np.random.Generator
    ffam: str
    fs: int
    lw: int
    alw: int
    palette: list
    bright: list
    fg: tuple
    minus: str
    tick_scale: float
    lfam: str
    lbold: bool
    lupper: bool
    lfmt: str
    lfs: int

    def font(self, size, bold=False):
        return _font(self.ffam, bold, max(7, int(round(size))))

    def t(self, s):
        """Replace characters the chosen label font lacks (STIX has no sub-/superscript minus, 2, 3)."""
        if self.ffam == "stix":
            for a, b in (("⁻¹", "-1"), ("⁻", "-"), ("₂", "2"), ("₃", "3")):
                s = s.replace(a, b)
        return s

    @property
    def lfont(self):
        return _font(self.lfam, self.lbold, self.lfs)

    def letter(self, idx):
        c = chr(97 + idx)
        return self.lfmt.format(c.upper() if self.lupper else c)


def _make_ctx(rng, W):
    fs = int(np.clip(round(W * _u(rng, 0.0105, 0.0165)), 10, 32))
    lfs = int(np.clip(round(fs * _u(rng, 1.15, 1.8)), 11, 54))
    pal = list(_ch(rng, PALETTES))
    k = _ri(rng, 0, len(pal) - 1)
    pal = pal[k:] + pal[:k] if _p(rng, 0.3) else pal
    return Ctx(
        rng=rng,
        ffam=_wch(rng, [("sans", 0.65), ("serif", 0.15), ("stix", 0.2)]),
        fs=fs,
        lw=max(1, int(round(W / 1000 * _u(rng, 1.0, 2.6)))),
        alw=max(1, int(round(W / 1000 * _u(rng, 0.7, 1.7)))),
        palette=pal,
        bright=list(BRIGHT),
        fg=_ch(rng, [(0, 0, 0), (0, 0, 0), (30, 30, 30), (55, 55, 60)]),
        minus=_ch(rng, ["-", "−"]),
        tick_scale=_u(rng, 0.78, 0.95),
        lfam=_wch(rng, [("sans", 0.7), ("serif", 0.2), ("stix", 0.1)]),
        lbold=_p(rng, 0.75),
        lupper=_p(rng, 0.35),
        lfmt=_wch(rng, [("{}", 0.58), ("({})", 0.24), ("{}.", 0.12), ("{})", 0.06)]),
        lfs=lfs,
    )


# --------------------------------------------------------------------------- primitives


def _rect(d, box, fill=None, outline=None, width=1):
    x0, y0, x1, y1 = box
    if x1 < x0:
        x0, x1 = x1, x0
    if y1 < y0:
        y0, y1 = y1, y0
    d.rectangle([x0, y0, x1, y1], fill=fill, outline=outline, width=width)


def _ellipse(d, box, fill=None, outline=None, width=1):
    x0, y0, x1, y1 = box
    if x1 - x0 < 1 or y1 - y0 < 1:
        return
    d.ellipse([x0, y0, x1, y1], fill=fill, outline=outline, width=width)


def _arrow(d, p0, p1, col, w, head=None):
    (ax, ay), (bx, by) = p0, p1
    L = math.hypot(bx - ax, by - ay)
    if L < 2:
        return
    hl = min(head or max(6.0, 3.2 * w + 4), L * 0.6)
    hw = hl * 0.5
    ux, uy = (bx - ax) / L, (by - ay) / L
    cx, cy = bx - ux * hl, by - uy * hl
    d.line([(ax, ay), (cx + ux, cy + uy)], fill=col, width=w)
    d.polygon([(bx, by), (cx - uy * hw, cy + ux * hw), (cx + uy * hw, cy - ux * hw)], fill=col)


def _dashed(d, pts, col, w, dash, gapl):
    P = np.asarray(pts, float)
    if len(P) < 2:
        return
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(P, axis=0).T))])
    t = 0.0
    while t < s[-1]:
        a, b = t, min(t + dash, s[-1])
        inner = P[(s > a) & (s < b)]
        q = [(float(np.interp(a, s, P[:, 0])), float(np.interp(a, s, P[:, 1])))]
        q += [tuple(v) for v in inner.tolist()]
        q.append((float(np.interp(b, s, P[:, 0])), float(np.interp(b, s, P[:, 1]))))
        d.line(q, fill=col, width=w)
        t += dash + gapl


def _vtext(img, cx, cy, text, font, fill):
    """Text rotated by 90 deg (reads bottom-to-top), centred on (cx, cy)."""
    l, t, r, b = font.getbbox(text)
    w, h = r - l + 2, b - t + 2
    m = Image.new("L", (max(1, w), max(1, h)), 0)
    ImageDraw.Draw(m).text((1 - l, 1 - t), text, font=font, fill=255)
    m = m.transpose(Image.Transpose.ROTATE_90)
    x = int(round(cx - m.width / 2))
    y = int(round(cy - m.height / 2))
    img.paste(fill, (x, y, x + m.width, y + m.height), m)


def _ink(font, text):
    l, t, r, b = font.getbbox(text)
    return l, t, r - l, b - t


def _fit_font(ctx, text, maxw, maxh, start, bold=False):
    s = int(start)
    while s >= 7:
        f = ctx.font(s, bold)
        l, t, w, h = _ink(f, text)
        if w <= maxw and h <= maxh:
            return f
        s -= 1
    return None


def _box_exit(hw, hh, ux, uy):
    a = hw / abs(ux) if abs(ux) > 1e-6 else 1e9
    b = hh / abs(uy) if abs(uy) > 1e-6 else 1e9
    return min(a, b)


def _connect(d, A, B, col, w, head=None, arrow=True):
    """Arrow/line between two node boxes (x0,y0,x1,y1), from border to border."""
    ax, ay = (A[0] + A[2]) / 2, (A[1] + A[3]) / 2
    bx, by = (B[0] + B[2]) / 2, (B[1] + B[3]) / 2
    L = math.hypot(bx - ax, by - ay)
    if L < 1:
        return
    ux, uy = (bx - ax) / L, (by - ay) / L
    ea = _box_exit((A[2] - A[0]) / 2, (A[3] - A[1]) / 2, ux, uy) + 2
    eb = _box_exit((B[2] - B[0]) / 2, (B[3] - B[1]) / 2, ux, uy) + 2
    if ea + eb >= L - 3:
        return
    p0 = (ax + ux * ea, ay + uy * ea)
    p1 = (bx - ux * eb, by - uy * eb)
    if arrow:
        _arrow(d, p0, p1, col, w, head)
    else:
        d.line([p0, p1], fill=col, width=w)


def _node(ctx, d, box, shape, fill, outline, lw, label, fs, tcol):
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w < 4 or h < 4:
        return
    if shape == "rect":
        _rect(d, box, fill=fill, outline=outline, width=lw)
    elif shape == "round":
        d.rounded_rectangle([x0, y0, x1, y1], radius=max(2, int(min(w, h) * 0.22)), fill=fill, outline=outline, width=lw)
    elif shape == "ellipse":
        _ellipse(d, box, fill=fill, outline=outline, width=lw)
    elif shape == "diamond":
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        d.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=fill, outline=outline, width=lw)
    elif shape == "hex":
        cy = (y0 + y1) / 2
        q = w * 0.2
        d.polygon([(x0 + q, y0), (x1 - q, y0), (x1, cy), (x1 - q, y1), (x0 + q, y1), (x0, cy)],
                  fill=fill, outline=outline, width=lw)
    if label:
        inset = 0.72 if shape in ("ellipse", "diamond", "hex") else 0.88
        f = _fit_font(ctx, label, w * inset, h * 0.8, fs)
        if f is not None:
            d.text(((x0 + x1) / 2, (y0 + y1) / 2), label, font=f, fill=tcol, anchor="mm")


# --------------------------------------------------------------------------- plots


def _nice_step(span, n):
    raw = span / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw - 1e-12:
            return m * mag
    return 10 * mag


def _ticks(lo, hi, n):
    if not np.isfinite(lo) or not np.isfinite(hi):
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-9:
        hi = lo + max(1.0, abs(lo) * 0.1)
    st = _nice_step(hi - lo, n)
    a = math.floor(lo / st + 1e-9) * st
    b = math.ceil(hi / st - 1e-9) * st
    k = int(round((b - a) / st))
    return a, b, [a + i * st for i in range(k + 1)], st


def _fmt(v, st, minus):
    if abs(v) < st * 1e-6:
        v = 0.0
    if st >= 1 and abs(st - round(st)) < 1e-9:
        s = str(int(round(v)))
    else:
        dec = max(0, -int(math.floor(math.log10(st) + 1e-9)))
        while dec < 5 and abs(st * 10 ** dec - round(st * 10 ** dec)) > 1e-6:
            dec += 1
        s = f"{v:.{dec}f}"
    return s.replace("-", minus)


def _curve(rng, fam, x, s):
    p = _u(rng, 0.6, 1.6)
    if fam == "decay":
        y = np.exp(-x * 4 * p) + 0.05 * s
    elif fam == "rise":
        y = 1 - np.exp(-x * 5 * p)
    elif fam == "sigmoid":
        y = 1 / (1 + np.exp(-(x - _u(rng, 0.25, 0.75)) * _u(rng, 8, 25)))
    elif fam == "peaks":
        y = np.full_like(x, _u(rng, 0.0, 0.15))
        for _ in range(_ri(rng, 1, 4)):
            y += _u(rng, 0.3, 1.0) * np.exp(-((x - _u(rng, 0.1, 0.9)) / _u(rng, 0.02, 0.12)) ** 2)
    elif fam == "osc":
        y = np.sin(2 * np.pi * _u(rng, 1, 4) * x + _u(rng, 0, 6)) * np.exp(-x * _u(rng, 0, 3))
    elif fam == "linear":
        y = _u(rng, -1, 1.5) * x + _u(rng, 0, 1)
    else:
        y = x ** _u(rng, 0.3, 3)
    sd = 0.0 if _p(rng, 0.35) else _u(rng, 0.0, 0.018)
    y = y * _u(rng, 0.7, 1.3) + rng.normal(0, sd, size=x.shape)
    return y


def _draw_plot(ctx, rng, img, d, area, fg, bg, dark, legend=True, kind=None):
    x0, y0, x1, y1 = [int(round(v)) for v in area]
    W, H = x1 - x0, y1 - y0
    pal = list(ctx.bright if dark else ctx.palette)
    kind = kind or _wch(rng, [("line", 3), ("scatter", 1.2), ("bar", 1.6), ("errorbar", 1), ("spectrum", 1),
                              ("hist", 0.7), ("area", 0.6)])
    xlab = _ch(rng, XQ)
    ylab = _ch(rng, YQ)
    if kind == "hist":
        ylab = _ch(rng, ["Counts", "Frequency", "Probability density", "Number of cells"])
    if kind == "bar":
        xlab = _ch(rng, ["Condition", "Group", "Genotype", "Treatment", "Time point", "Strain"])
    if kind == "spectrum":
        xlab = _ch(rng, ["Wavelength (nm)", "Energy (eV)", "Raman shift (cm⁻¹)", "Frequency (GHz)", "m/z"])
    xlab, ylab = ctx.t(xlab), ctx.t(ylab)
    nser = _ri(rng, 1, 4)
    names = _sample(rng, SERIES, nser)
    series = []
    cats = None
    xs = _ch(rng, [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 24, 60, 300])
    xo = 0.0 if (_p(rng, 0.8) or xs < 50) else float(_ch(rng, [100, 300, 400, 1000]))
    ysc = _ch(rng, [1, 10, 100, 0.1, 5, 50, 1000, 2, 0.5])
    if kind in ("line", "area", "spectrum"):
        n = _ri(rng, 60, 220)
        xu = np.linspace(0, 1, n)
        fam = "peaks" if kind == "spectrum" else _ch(rng, ["decay", "rise", "sigmoid", "peaks", "osc", "linear", "power"])
        off = _u(rng, 0.3, 1.0) if (kind == "spectrum" and _p(rng, 0.4)) else 0.0
        for s in range(nser):
            y = _curve(rng, fam, xu, s) + s * off
            series.append(dict(t="line", x=xu * xs + xo, y=y * ysc, fill=(kind == "area" and s == 0),
                               dash=(names[s] in ("Fit", "Model", "Theory") and _p(rng, 0.6)),
                               mark=_p(rng, 0.2)))
    elif kind == "scatter":
        nser = min(nser, 3)
        names = names[:nser]
        a, b = _u(rng, -1, 1.5), _u(rng, 0, 1)
        for s in range(nser):
            n = _ri(rng, 15, 120)
            xx = rng.uniform(0, 1, n) if _p(rng, 0.6) else np.clip(rng.normal(_u(rng, 0.2, 0.8), 0.15, n), 0, 1)
            yy = a * xx + b + s * _u(rng, -0.3, 0.3) + rng.normal(0, _u(rng, 0.03, 0.2), n)
            series.append(dict(t="scatter", x=xx * xs + xo, y=yy * ysc, open=_p(rng, 0.25)))
        if _p(rng, 0.35):
            xu = np.linspace(0, 1, 20)
            series.append(dict(t="line", x=xu * xs + xo, y=(a * xu + b) * ysc, fill=False, dash=_p(rng, 0.5),
                               mark=False, nolegend=True))
    elif kind == "errorbar":
        n = _ri(rng, 4, 10)
        xu = np.linspace(0, 1, n)
        fam = _ch(rng, ["decay", "rise", "sigmoid", "linear", "power"])
        for s in range(nser):
            y = _curve(rng, fam, xu, s)
            e = np.abs(rng.normal(0.05, 0.03, n)) + 0.01
            series.append(dict(t="err", x=xu * xs + xo, y=y * ysc, e=e * abs(ysc), join=_p(rng, 0.7)))
    elif kind == "bar":
        ncat = _ri(rng, 2, 6)
        nser = min(nser, 3) if ncat > 3 else nser
        names = names[:nser]
        cats = _sample(rng, CATS, ncat)
        vals = rng.uniform(0.2, 1.0, (nser, ncat)) * ysc
        errs = vals * rng.uniform(0.04, 0.2, (nser, ncat))
        series.append(dict(t="bar", v=vals, e=errs, dots=_p(rng, 0.3), sig=_p(rng, 0.4) and ncat >= 2))
    else:  # hist
        nser = min(nser, 2)
        names = names[:nser]
        for s in range(nser):
            smp = rng.normal(_u(rng, 0.3, 0.7), _u(rng, 0.08, 0.2), _ri(rng, 200, 2000))
            cnt, edges = np.histogram(np.clip(smp, 0, 1), bins=_ri(rng, 10, 30), range=(0, 1))
            series.append(dict(t="hist", c=cnt.astype(float), e=edges * xs + xo, step=(s > 0)))

    # ----- data ranges
    if kind == "bar":
        v, e = series[0]["v"], series[0]["e"]
        ymin, ymax = 0.0, float((v + e).max()) * (1.25 if series[0]["sig"] else 1.05)
        xlo, xhi = 0.0, float(len(cats))
    else:
        ys, xv = [], []
        for s in series:
            if s["t"] == "hist":
                ys += [0.0, float(s["c"].max()) * 1.08]
                xv += [float(s["e"][0]), float(s["e"][-1])]
            elif s["t"] == "err":
                ys += [float((s["y"] - s["e"]).min()), float((s["y"] + s["e"]).max())]
                xv += [float(s["x"].min()), float(s["x"].max())]
            else:
                ys += [float(s["y"].min()), float(s["y"].max())]
                xv += [float(s["x"].min()), float(s["x"].max())]
        ymin, ymax = min(ys), max(ys)
        pad = (ymax - ymin) * 0.05
        ymin, ymax = ymin - pad, ymax + pad
        if kind == "hist":
            ymin = 0.0
        xlo, xhi = min(xv), max(xv)
    nyt = _ri(rng, 3, 6)
    ylo, yhi, yt, yst = _ticks(ymin, ymax, nyt)
    if kind != "bar":
        xlo, xhi, xt, xst = _ticks(xlo, xhi, _ri(rng, 3, 6))
    has_ylab = _p(rng, 0.93)
    has_xlab = _p(rng, 0.95) if kind != "bar" else _p(rng, 0.5)
    title = _ch(rng, SERIES + ["n = 12", "T = 10 K", "Control", "In vivo", "Day 3"]) if _p(rng, 0.18) else None
    tick_out = _p(rng, 0.7)
    boxed = _p(rng, 0.35)
    grid = _p(rng, 0.12)
    fs = int(max(7, min(ctx.fs, min(W, H) / 9)))

    layout = None
    for _ in range(5):
        ft = ctx.font(max(7, fs * ctx.tick_scale))
        fl = ctx.font(fs)
        ylabels = [_fmt(v, yst, ctx.minus) for v in yt]
        if kind == "bar":
            xlabels = list(cats)
        else:
            xlabels = [_fmt(v, xst, ctx.minus) for v in xt]
        ta, tdn = ft.getmetrics()
        la, ldn = fl.getmetrics()
        tl = max(2, round(fs * 0.35))
        gap = max(2, round(fs * 0.22))
        ytw = max(ft.getlength(s) for s in ylabels)
        ylab_w = _ink(fl, ylab)[3] if has_ylab else 0
        # ink heights (labels are placed with 'mt' = top of ink)
        xt_h = max(_ink(ft, s)[3] for s in xlabels)
        xl_h = _ink(fl, xlab)[3] if has_xlab else 0
        ti_h = _ink(fl, title)[3] if title else 0
        gap2 = max(3, round(fs * _u(rng, 0.3, 0.5)))
        left = x0 + (ylab_w + gap if has_ylab else 0) + ytw + gap + (tl if tick_out else 0) + 1
        bottom = y1 - ((tl if tick_out else 0) + gap + xt_h + ((gap2 + xl_h) if has_xlab else 0)) - 1
        top = y0 + (ta + tdn) // 2 + 1 + ((ti_h + gap2) if title else 0)
        right = x1 - 2
        if kind != "bar":
            right = x1 - int(math.ceil(ft.getlength(xlabels[-1]) / 2)) - 2
        ok = (right - left) >= 50 and (bottom - top) >= 40
        if ok:
            # thin x ticks if labels collide
            span = right - left
            if kind == "bar":
                slot = span / len(cats)
                if max(ft.getlength(c) for c in cats) > slot * 0.95:
                    ok = False
            else:
                while len(xt) > 2:
                    need = sum(ft.getlength(s) for s in xlabels) + gap * 2 * len(xlabels)
                    if need <= span:
                        break
                    xt = xt[::2]
                    xlabels = xlabels[::2]
        if ok:
            layout = (ft, fl, ylabels, xlabels, ta, tdn, la, ldn, tl, gap, ylab_w, left, bottom, top, right, xt_h, gap2)
            break
        fs = max(7, int(fs * 0.82))
        if fs == 7 and _ == 3:
            has_ylab = False
            title = None
    if layout is None:
        # too small for a real plot: a few bars
        n = _ri(rng, 3, 5)
        bw = W / (2 * n)
        for i in range(n):
            h = H * _u(rng, 0.2, 0.9)
            _rect(d, (x0 + i * 2 * bw + bw / 2, y1 - h, x0 + i * 2 * bw + 1.5 * bw, y1 - 1), fill=pal[i % len(pal)])
        d.line([(x0, y1 - 1), (x1 - 1, y1 - 1)], fill=fg, width=ctx.alw)
        return dict(kind="plot", ptype="bar", xlabel=xlab, ylabel=ylab, series=names, cats=[])
    (ft, fl, ylabels, xlabels, ta, tdn, la, ldn, tl, gap, ylab_w, left, bottom, top, right, xt_h, gap2) = layout

    def px(v):
        return left + (v - xlo) / (xhi - xlo) * (right - left)

    def py(v):
        return bottom - (v - ylo) / (yhi - ylo) * (bottom - top)

    lw = max(1, ctx.lw if W > 250 else min(ctx.lw, 2))
    alw = ctx.alw
    grey = _mix(fg, bg, 0.85)
    if grid:
        for v in yt:
            d.line([(left, py(v)), (right, py(v))], fill=grey, width=1)
    legend_entries = []
    for si, s in enumerate(series):
        col = pal[si % len(pal)]
        if s["t"] == "line":
            pts = list(zip(px(s["x"]).tolist(), py(s["y"]).tolist()))
            if s["fill"]:
                poly = pts + [(pts[-1][0], py(max(ylo, 0.0) if ylo < 0 < yhi else ylo)), (pts[0][0], py(max(ylo, 0.0) if ylo < 0 < yhi else ylo))]
                d.polygon(poly, fill=_mix(col, bg, 0.65))
            if s["dash"]:
                _dashed(d, pts, col, lw, max(4.0, 3.0 * lw + 3), max(3.0, 2.0 * lw + 2))
            else:
                d.line(pts, fill=col, width=lw, joint="curve")
            if s["mark"]:
                r = max(2, lw + 1)
                for (a, b) in pts[:: max(1, len(pts) // 12)]:
                    _ellipse(d, (a - r, b - r, a + r, b + r), fill=col)
            if not s.get("nolegend"):
                legend_entries.append((names[si % len(names)], col, "line"))
        elif s["t"] == "scatter":
            r = max(2, int(round(min(W, H) / _u(rng, 70, 140))))
            for a, b in zip(px(s["x"]), py(s["y"])):
                if s["open"]:
                    _ellipse(d, (a - r, b - r, a + r, b + r), outline=col, width=max(1, lw // 2 + 1))
                else:
                    _ellipse(d, (a - r, b - r, a + r, b + r), fill=col)
            legend_entries.append((names[si % len(names)], col, "dot"))
        elif s["t"] == "err":
            r = max(2, lw + 1)
            xs_, ys_ = px(s["x"]), py(s["y"])
            if s["join"]:
                d.line(list(zip(xs_.tolist(), ys_.tolist())), fill=col, width=max(1, lw - 1))
            cap = max(2, r + 1)
            for a, b, e, yv in zip(xs_, ys_, s["e"], s["y"]):
                ya, yb = py(yv + e), py(yv - e)
                d.line([(a, ya), (a, yb)], fill=col, width=max(1, lw - 1))
                d.line([(a - cap, ya), (a + cap, ya)], fill=col, width=max(1, lw - 1))
                d.line([(a - cap, yb), (a + cap, yb)], fill=col, width=max(1, lw - 1))
                _ellipse(d, (a - r, b - r, a + r, b + r), fill=col)
            legend_entries.append((names[si % len(names)], col, "dot"))
        elif s["t"] == "bar":
            v, e = s["v"], s["e"]
            ns, nc = v.shape
            slot = (right - left) / nc
            bw = slot * _u(rng, 0.55, 0.8) / ns
            outline = fg if _p(rng, 0.35) else None
            tops = []
            for c in range(nc):
                cx = left + slot * (c + 0.5)
                for k in range(ns):
                    bx0 = cx - bw * ns / 2 + k * bw
                    colk = pal[k % len(pal)] if ns > 1 else pal[c % len(pal)] if _p(rng, 0.0) else pal[0]
                    _rect(d, (bx0 + 1, py(v[k, c]), bx0 + bw - 1, bottom), fill=colk, outline=outline, width=1)
                    xm = bx0 + bw / 2
                    ya = py(v[k, c] + e[k, c])
                    d.line([(xm, ya), (xm, py(v[k, c]))], fill=fg, width=max(1, alw))
                    d.line([(xm - bw * 0.2, ya), (xm + bw * 0.2, ya)], fill=fg, width=max(1, alw))
                    if s["dots"]:
                        rr = max(1, int(bw / 10))
                        for _k in range(_ri(rng, 3, 6)):
                            yy = py(v[k, c] + rng.normal(0, e[k, c]))
                            xx = xm + _u(rng, -bw * 0.25, bw * 0.25)
                            _ellipse(d, (xx - rr, yy - rr, xx + rr, yy + rr), fill=_mix(fg, colk, 0.3))
                    tops.append((xm, ya))
            if s["sig"] and len(tops) >= 2:
                i, j = 0, min(len(tops) - 1, _ri(rng, 1, len(tops) - 1))
                yb = min(tops[i][1], tops[j][1]) - max(4, fs * 0.5)
                if yb > top + fs:
                    d.line([(tops[i][0], yb + 4), (tops[i][0], yb), (tops[j][0], yb), (tops[j][0], yb + 4)], fill=fg, width=max(1, alw))
                    d.text(((tops[i][0] + tops[j][0]) / 2, yb - 1), _ch(rng, ["*", "**", "***", "n.s.", "P < 0.01"]),
                           font=ft, fill=fg, anchor="md")
            for k in range(ns if ns > 1 else 0):
                legend_entries.append((names[k], pal[k % len(pal)], "box"))
        elif s["t"] == "hist":
            c, ed = s["c"], s["e"]
            for k in range(len(c)):
                if c[k] <= 0:
                    continue
                bx0, bx1 = px(ed[k]), px(ed[k + 1])
                if s["step"]:
                    _rect(d, (bx0, py(c[k]), bx1, bottom), outline=col, width=max(1, lw - 1))
                else:
                    _rect(d, (bx0, py(c[k]), bx1, bottom), fill=_mix(col, bg, 0.35), outline=_mix(col, fg, 0.3), width=1)
            legend_entries.append((names[si % len(names)], col, "box"))

    # ----- axes
    d.line([(left, top), (left, bottom)], fill=fg, width=alw)
    d.line([(left, bottom), (right, bottom)], fill=fg, width=alw)
    if boxed:
        d.line([(left, top), (right, top)], fill=fg, width=alw)
        d.line([(right, top), (right, bottom)], fill=fg, width=alw)
    sgn = 1 if tick_out else -1
    for v, s in zip(yt, ylabels):
        yy = py(v)
        d.line([(left - sgn * tl if tick_out else left, yy), (left if tick_out else left + tl, yy)], fill=fg, width=alw)
        d.text((left - (tl if tick_out else 0) - gap, yy), s, font=ft, fill=fg, anchor="rm")
    if kind == "bar":
        slot = (right - left) / len(cats)
        xpos = [left + slot * (i + 0.5) for i in range(len(cats))]
    else:
        xpos = [px(v) for v in xt]
    for xx, s in zip(xpos, xlabels):
        d.line([(xx, bottom), (xx, bottom + tl if tick_out else bottom - tl)], fill=fg, width=alw)
        d.text((xx, bottom + (tl if tick_out else 0) + gap), s, font=ft, fill=fg, anchor="mt")
    if has_xlab:
        d.text(((left + right) / 2, bottom + (tl if tick_out else 0) + gap + xt_h + gap2), xlab, font=fl, fill=fg, anchor="mt")
    if has_ylab:
        _vtext(img, x0 + ylab_w / 2 + 1, (top + bottom) / 2, ylab, fl, fg)
    if title:
        d.text(((left + right) / 2, y0), title, font=fl, fill=fg, anchor="mt")

    # ----- legend
    if legend and len(legend_entries) >= 2 and _p(rng, 0.85):
        lf = ctx.font(max(7, fs * 0.8))
        eh = int(round(lf.size * 1.35))
        sw = int(round(fs * 1.5))
        lwid = sw + gap + max(lf.getlength(e[0]) for e in legend_entries) + 2 * gap
        lhei = eh * len(legend_entries) + 2 * gap
        if lwid < (right - left) * 0.6 and lhei < (bottom - top) * 0.7:
            inl = left + gap + alw + (0 if tick_out else tl)
            cands = [(right - lwid - gap, top + gap), (inl, top + gap), (right - lwid - gap, bottom - lhei - gap - alw),
                     (inl, bottom - lhei - gap - alw)]
            bga = np.array(bg, np.int16)
            scores = []
            for (cx_, cy_) in cands:
                reg = np.asarray(img.crop((int(cx_), int(cy_), int(cx_ + lwid), int(cy_ + lhei))), np.int16)
                scores.append(float((np.abs(reg - bga).sum(axis=2) > 30).mean()) if reg.size else 1.0)
            best = int(np.argmin(np.array(scores) + rng.uniform(0, 0.01, len(scores))))
            lx, ly = cands[best]
            if _p(rng, 0.3):
                _rect(d, (lx, ly, lx + lwid, ly + lhei), fill=bg, outline=_mix(fg, bg, 0.5), width=1)
            for k, (nm, col, st) in enumerate(legend_entries):
                cy = ly + gap + eh * k + eh / 2
                sx = lx + gap
                if st == "line":
                    d.line([(sx, cy), (sx + sw, cy)], fill=col, width=lw)
                elif st == "dot":
                    r = max(2, eh // 4)
                    _ellipse(d, (sx + sw / 2 - r, cy - r, sx + sw / 2 + r, cy + r), fill=col)
                else:
                    _rect(d, (sx, cy - eh * 0.3, sx + sw, cy + eh * 0.3), fill=col)
                d.text((sx + sw + gap, cy), nm, font=lf, fill=fg, anchor="lm")
    return dict(kind="plot", ptype=kind, xlabel=xlab, ylabel=ylab, series=[e[0] for e in legend_entries] or names,
                cats=cats or [], legend_entries=legend_entries, fs=fs)


# --------------------------------------------------------------------------- heatmap / table


def _draw_heatmap(ctx, rng, img, d, area, fg, bg, dark):
    x0, y0, x1, y1 = [int(round(v)) for v in area]
    W, H = x1 - x0, y1 - y0
    fs = int(max(7, min(ctx.fs * 0.9, min(W, H) / 10)))
    ft = ctx.font(fs)
    ta, tdn = ft.getmetrics()
    nr, nc = _ri(rng, 4, 24), _ri(rng, 4, 24)
    cm = _ch(rng, ["viridis", "magma", "coolwarm", "rdbu", "hot", "blues", "cividis"])
    rowlab = _p(rng, 0.55) and nr <= 14
    collab = _p(rng, 0.5) and nc <= 12
    rl = [_ch(rng, ["G", "P", "R", "C"]) + str(i + 1) for i in range(nr)]
    cl = [str(i + 1) for i in range(nc)]
    gap = max(2, round(fs * 0.35))
    rw = (max(ft.getlength(s) for s in rl) + gap) if rowlab else 0
    vmin, vmax = (-1.0, 1.0) if cm in ("coolwarm", "rdbu") else (0.0, float(_ch(rng, [1, 10, 100, 5])))
    cst = _nice_step(vmax - vmin, 4)
    cticks = [vmin + i * cst for i in range(int(round((vmax - vmin) / cst)) + 1)]
    clabels = [_fmt(v, cst, ctx.minus) for v in cticks]
    cbw = max(6, int(W * _u(rng, 0.03, 0.05)))
    cbt = max(ft.getlength(s) for s in clabels) + gap + 2
    has_cb = _p(rng, 0.9)
    hx0 = x0 + rw
    hx1 = x1 - ((gap + cbw + gap + cbt) if has_cb else 0)
    hy0 = y0 + (ta + tdn) // 2
    hy1 = y1 - ((gap + ta + tdn) if collab else 0) - (ta + tdn) // 2
    hx0, hx1, hy0, hy1 = int(math.ceil(hx0)), int(hx1), int(math.ceil(hy0)), int(hy1)
    if hx1 - hx0 < 30 or hy1 - hy0 < 30:
        has_cb, rowlab, collab = False, False, False
        hx0, hx1, hy0, hy1 = x0, x1, y0, y1
    if _p(rng, 0.5) and nr == nc:
        a = rng.normal(0, 1, (nr, 4))
        m = np.corrcoef(a)
        m = (m - vmin) / (vmax - vmin)
    else:
        base = rng.normal(0, 1, (max(2, nr // 3 + 1), max(2, nc // 3 + 1))).astype(np.float32)
        sm = np.asarray(Image.fromarray(base).resize((nc, nr), Image.BICUBIC))
        m = sm + rng.normal(0, 0.35, (nr, nc))
        m = (m - m.min()) / (np.ptp(m) + 1e-6)
    rgb = _cmap(m, cm).astype(np.uint8)
    hm = Image.fromarray(rgb).resize((max(1, hx1 - hx0), max(1, hy1 - hy0)), Image.NEAREST)
    img.paste(hm, (hx0, hy0))
    if _p(rng, 0.3) and (hx1 - hx0) / nc > 6 and (hy1 - hy0) / nr > 6:
        for i in range(1, nc):
            xx = hx0 + (hx1 - hx0) * i / nc
            d.line([(xx, hy0), (xx, hy1 - 1)], fill=bg, width=1)
        for i in range(1, nr):
            yy = hy0 + (hy1 - hy0) * i / nr
            d.line([(hx0, yy), (hx1 - 1, yy)], fill=bg, width=1)
    if rowlab:
        for i, s in enumerate(rl):
            d.text((hx0 - gap, hy0 + (hy1 - hy0) * (i + 0.5) / nr), s, font=ft, fill=fg, anchor="rm")
    if collab:
        for i, s in enumerate(cl):
            d.text((hx0 + (hx1 - hx0) * (i + 0.5) / nc, hy1 + gap), s, font=ft, fill=fg, anchor="ma")
    if has_cb:
        cx0 = hx1 + gap
        cx1 = cx0 + cbw
        n = max(2, hy1 - hy0)
        grad = _cmap(np.linspace(1, 0, n)[:, None].repeat(cbw, 1), cm).astype(np.uint8)
        img.paste(Image.fromarray(grad), (cx0, hy0))
        if _p(rng, 0.6):
            _rect(d, (cx0, hy0, cx1 - 1, hy0 + n - 1), outline=fg, width=1)
        for v, s in zip(cticks, clabels):
            yy = hy0 + (1 - (v - vmin) / (vmax - vmin)) * (n - 1)
            d.line([(cx1, yy), (cx1 + max(2, gap // 2), yy)], fill=fg, width=1)
            d.text((cx1 + gap, yy), s, font=ft, fill=fg, anchor="lm")
    return dict(kind="heatmap", cmap=cm, n=(nr, nc))


def _draw_table(ctx, rng, img, d, area, fg, bg, dark):
    x0, y0, x1, y1 = [int(round(v)) for v in area]
    W, H = x1 - x0, y1 - y0
    ncol = _ri(rng, 3, 5)
    nrow = _ri(rng, 3, 9)
    head = ["Sample"] + [ctx.t(x) for x in _sample(rng, TABLE_HEAD[1:], ncol - 1)]
    rows = []
    for i in range(nrow):
        r = [_ch(rng, ["S", "#", "Run ", "Dev. "]) + str(i + 1) if _p(rng, 0.5) else _ch(rng, SERIES)]
        for _ in range(ncol - 1):
            v = rng.lognormal(1.0, 1.2)
            r.append(_ch(rng, [f"{v:.2f}", f"{v:.1f} ± {v * 0.08:.1f}", f"{int(v * 10)}", f"{v / 10:.3f}"]))
        rows.append(r)
    fs = int(max(7, min(ctx.fs * 0.95, H / ((nrow + 1) * 1.5))))
    style = _ch(rng, ["booktabs", "grid", "zebra"])
    for _ in range(10):
        f = ctx.font(fs)
        fb = ctx.font(fs, bold=True)
        cpad = max(3, fs * 0.6)
        cw = [max([fb.getlength(head[c])] + [f.getlength(r[c]) for r in rows]) + 2 * cpad for c in range(ncol)]
        rh = fs * 1.55
        if sum(cw) <= W and rh * (nrow + 1) <= H:
            break
        if fs <= 7:
            nrow = max(2, nrow - 1)
            rows = rows[:nrow]
            if ncol > 2 and sum(cw) > W:
                ncol -= 1
                head = head[:ncol]
                rows = [r[:ncol] for r in rows]
        fs = max(7, fs - 1)
    grow = min(W / max(1, sum(cw)), H / max(1.0, rh * (nrow + 1))) * _u(rng, 0.55, 0.95)
    if grow > 1.15 and fs < ctx.fs * 1.3:
        fs = int(min(ctx.fs * 1.3, fs * grow))
        f = ctx.font(fs)
        fb = ctx.font(fs, bold=True)
        cpad = max(3, fs * 0.6)
        cw = [max([fb.getlength(head[c])] + [f.getlength(r[c]) for r in rows]) + 2 * cpad for c in range(ncol)]
        rh = fs * 1.55
    scale = max(1.0, min(W / max(1, sum(cw)), _u(rng, 1.0, 1.5)))
    cw = [c * scale for c in cw]
    tw = sum(cw)
    tx0 = x0 + max(0.0, W - tw) * _ch(rng, [0.0, 0.5])
    ty0 = y0
    rh = min(H / (nrow + 1), rh * _u(rng, 1.0, 1.35))
    xs = [tx0 + sum(cw[:c]) for c in range(ncol + 1)]
    if style == "zebra":
        for i in range(nrow + 1):
            if i % 2 == 0:
                _rect(d, (xs[0], ty0 + i * rh, xs[-1] - 1, ty0 + (i + 1) * rh - 1), fill=_mix(fg, bg, 0.9))
    for i, r in enumerate([head] + rows):
        cy = ty0 + (i + 0.5) * rh
        for c, s in enumerate(r):
            ff = fb if i == 0 else f
            if c == 0:
                d.text((xs[c] + cpad * scale, cy), s, font=ff, fill=fg, anchor="lm")
            else:
                d.text(((xs[c] + xs[c + 1]) / 2, cy), s, font=ff, fill=fg, anchor="mm")
    yb = ty0 + (nrow + 1) * rh
    lw = max(1, ctx.alw)
    if style == "booktabs":
        d.line([(xs[0], ty0), (xs[-1] - 1, ty0)], fill=fg, width=lw + 1)
        d.line([(xs[0], ty0 + rh), (xs[-1] - 1, ty0 + rh)], fill=fg, width=lw)
        d.line([(xs[0], yb - 1), (xs[-1] - 1, yb - 1)], fill=fg, width=lw + 1)
    elif style == "grid":
        for i in range(nrow + 2):
            yy = min(yb - 1, ty0 + i * rh)
            d.line([(xs[0], yy), (xs[-1] - 1, yy)], fill=fg, width=1)
        for c in range(ncol + 1):
            xx = min(xs[-1] - 1, xs[c])
            d.line([(xx, ty0), (xx, yb - 1)], fill=fg, width=1)
    else:
        d.line([(xs[0], ty0 + rh), (xs[-1] - 1, ty0 + rh)], fill=fg, width=lw)
    return dict(kind="table", cols=head)


# --------------------------------------------------------------------------- diagrams


def _dg_flow(ctx, rng, d, a, fs, lw, fg, fills, shapes):
    x0, y0, x1, y1 = a
    W, H = x1 - x0, y1 - y0
    rows = 2 if (H > W * 0.45 and _p(rng, 0.7)) or _p(rng, 0.25) else 1
    kmax = max(2, min(5, int(W // max(1, fs * 5.5))))
    k = _ri(rng, 2, kmax)
    arr = max(fs * 1.4, W * _u(rng, 0.05, 0.13))
    nw = (W - (k - 1) * arr) / k
    if nw < fs * 3:
        k = 2
        nw = (W - arr) / 2
    long_arrow = None
    if rows == 1:
        nh = max(fs * 2.2, min(H * _u(rng, 0.35, 0.75), nw * _u(rng, 0.5, 1.1)))
        nh = min(nh, H)
        f = ctx.font(fs)
        lab_h = _ink(f, "Time")[3]
        need = nh + fs * 0.9 + lw * 6 + lab_h + 4
        if _p(rng, 0.45) and need < H:
            ytops = [y0 + (H - need) * _u(rng, 0.0, 1.0)]
            long_arrow = (ytops[0] + nh + fs * 0.9, _ch(rng, ["Time", "Increasing concentration", "Processing",
                                                              "Differentiation", "Temperature", "Depth"]), f)
        else:
            ytops = [y0 + (H - nh) * _u(rng, 0.0, 1.0)]
    else:
        nh = max(fs * 2.0, min(H * _u(rng, 0.28, 0.4), nw * _u(rng, 0.5, 1.0)))
        vg = H - 2 * nh
        ytops = [y0, y0 + nh + vg]
    words = _sample(rng, NODE_WORDS, k * rows)
    boxes = []
    for r, yt in enumerate(ytops):
        rowb = []
        for i in range(k):
            bx = x0 + i * (nw + arr)
            rowb.append((bx, yt, bx + nw, yt + nh))
        boxes.append(rowb)
    shape = _ch(rng, shapes)
    for r, rowb in enumerate(boxes):
        for i, b in enumerate(rowb):
            fill = fills[(r * k + i) % len(fills)] if _p(rng, 0.8) else None
            _node(ctx, d, b, shape if _p(rng, 0.8) else _ch(rng, shapes), fill, fg, lw, words[r * k + i], fs, fg)
        for i in range(k - 1):
            _connect(d, rowb[i], rowb[i + 1], fg, lw)
    if rows == 2:
        cols = [j for j in range(k) if _p(rng, 0.4)] or [_ri(rng, 0, k - 1)]
        for j in cols:
            _connect(d, boxes[0][j], boxes[1][j], fg, lw)
    if long_arrow is not None:
        ya, lab, f = long_arrow
        aw = max(2, lw * 2)
        _arrow(d, (x0 + 1, ya), (x1 - 1, ya), fg, aw, head=max(8, aw * 4))
        if f.getlength(lab) < W * 0.9:
            d.text(((x0 + x1) / 2, ya + aw * 2 + 2), lab, font=f, fill=fg, anchor="mt")
    return "flow"


def _dg_grid(ctx, rng, d, a, fs, lw, fg, fills, shapes):
    x0, y0, x1, y1 = a
    W, H = x1 - x0, y1 - y0
    r, c = _ch(rng, [(2, 2), (2, 3), (3, 2), (3, 3), (2, 4)])
    while c > 1 and W / c < fs * 4.5:
        c -= 1
    while r > 1 and H / r < fs * 2.8:
        r -= 1
    cw, ch = W / c, H / r
    nw, nh = cw * _u(rng, 0.55, 0.78), ch * _u(rng, 0.45, 0.7)
    words = _sample(rng, NODE_WORDS, r * c)
    shape = _ch(rng, shapes)
    B = [[(x0 + cw * j + (cw - nw) / 2, y0 + ch * i + (ch - nh) / 2, x0 + cw * j + (cw + nw) / 2,
           y0 + ch * i + (ch + nh) / 2) for j in range(c)] for i in range(r)]
    for i in range(r):
        for j in range(c):
            _node(ctx, d, B[i][j], shape, fills[(i + j) % len(fills)] if _p(rng, 0.75) else None, fg, lw,
                  words[i * c + j], fs, fg)
    for i in range(r):
        must = _ri(rng, 0, c - 2) if c > 1 else -1
        for j in range(c - 1):
            if j == must or _p(rng, 0.6):
                _connect(d, B[i][j], B[i][j + 1], fg, lw)
    for i in range(r - 1):
        must = _ri(rng, 0, c - 1)
        for j in range(c):
            if j == must or _p(rng, 0.25):
                _connect(d, B[i][j], B[i + 1][j], fg, lw)
    if r > 1 and c > 1 and _p(rng, 0.3):
        _connect(d, B[0][0], B[1][1], fg, lw)
    return "grid"


def _dg_hub(ctx, rng, d, a, fs, lw, fg, fills, shapes):
    x0, y0, x1, y1 = a
    W, H = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    k = _ri(rng, 3, 7)
    sw, sh = min(W * 0.24, fs * 7), max(fs * 1.8, min(H * 0.18, fs * 3.2))
    cwid, chei = min(W * 0.3, fs * 9), max(fs * 2.2, H * 0.22)
    rx, ry = (W - sw) / 2, (H - sh) / 2
    ph = _u(rng, 0, 2 * np.pi)
    C = (cx - cwid / 2, cy - chei / 2, cx + cwid / 2, cy + chei / 2)
    sats = []
    for i in range(k):
        t = ph + 2 * np.pi * i / k
        sx, sy = cx + rx * math.cos(t), cy + ry * math.sin(t)
        sats.append((sx - sw / 2, sy - sh / 2, sx + sw / 2, sy + sh / 2))
    words = _sample(rng, NODE_WORDS, k + 1)
    inward = _p(rng, 0.4)
    for s in sats:
        if inward:
            _connect(d, s, C, fg, lw)
        else:
            _connect(d, C, s, fg, lw, arrow=_p(rng, 0.7))
    shape = _ch(rng, shapes)
    _node(ctx, d, C, _ch(rng, ["ellipse", "round", "rect"]), fills[0], fg, lw + 1, words[0], fs * 1.1, fg)
    for i, s in enumerate(sats):
        _node(ctx, d, s, shape, fills[(i + 1) % len(fills)] if _p(rng, 0.7) else None, fg, lw, words[i + 1], fs, fg)
    return "hub"


def _dg_cycle(ctx, rng, d, a, fs, lw, fg, fills, shapes):
    x0, y0, x1, y1 = a
    W, H = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    k = _ri(rng, 3, 5)
    nw, nh = min(W * 0.3, fs * 7.5), max(fs * 2, min(H * 0.2, fs * 3.5))
    rx, ry = (W - nw) / 2, (H - nh) / 2
    ph = -np.pi / 2
    cen = [(cx + rx * math.cos(ph + 2 * np.pi * i / k), cy + ry * math.sin(ph + 2 * np.pi * i / k)) for i in range(k)]
    B = [(px - nw / 2, py - nh / 2, px + nw / 2, py + nh / 2) for px, py in cen]
    words = _sample(rng, NODE_WORDS, k + 1)
    dt = 2 * np.pi / k
    for i in range(k):
        t0 = ph + dt * i + dt * 0.28
        t1 = ph + dt * (i + 1) - dt * 0.28
        ts = np.linspace(t0, t1, 30)
        pts = [(cx + rx * math.cos(t), cy + ry * math.sin(t)) for t in ts]
        d.line(pts[:-3], fill=fg, width=lw)
        _arrow(d, pts[-4], pts[-1], fg, lw)
    shape = _ch(rng, shapes)
    for i, b in enumerate(B):
        _node(ctx, d, b, shape, fills[i % len(fills)], fg, lw, words[i], fs, fg)
    if _p(rng, 0.5):
        f = _fit_font(ctx, words[-1], rx * 0.9, ry * 0.5, fs * 1.1)
        if f:
            d.text((cx, cy), words[-1], font=f, fill=fg, anchor="mm")
    return "cycle"


def _dg_setup(ctx, rng, d, a, fs, lw, fg, fills, shapes):
    x0, y0, x1, y1 = a
    W, H = x1 - x0, y1 - y0
    f = ctx.font(fs)
    ta, tdn = f.getmetrics()
    lab_h = ta + tdn + 3
    by = y0 + (H - lab_h) * _u(rng, 0.4, 0.6)
    ch = min(H - lab_h - 2, max(fs * 3, (H - lab_h) * _u(rng, 0.45, 0.8)))
    ctop, cbot = max(y0, by - ch / 2), min(y1 - lab_h, by + ch / 2)
    by = (ctop + cbot) / 2
    names = ["Laser"] + _sample(rng, ["Lens", "Filter", "Sample", "Mirror", "Polarizer", "Objective", "Cuvette"], _ri(rng, 2, 4)) + ["Detector"]
    n = len(names)
    beam = _ch(rng, [(220, 30, 30), (30, 170, 60), (40, 90, 230), (240, 140, 0)])
    slot = W / n
    xs = [x0 + slot * (i + 0.5) for i in range(n)]
    d.line([(xs[0], by), (xs[-1], by)], fill=beam, width=max(2, lw * 2))
    for i, (nm, xc) in enumerate(zip(names, xs)):
        if nm in ("Laser", "Detector"):
            w = min(slot * 0.85, max(fs * 4, slot * 0.6))
            h = (cbot - ctop) * 0.6
            box = (max(x0, xc - w / 2), by - h / 2, min(x1 - 1, xc + w / 2), by + h / 2)
            _rect(d, box, fill=_mix(fg, (255, 255, 255), 0.35) if nm == "Laser" else fills[1 % len(fills)], outline=fg, width=lw)
        elif nm in ("Lens", "Objective"):
            w = max(6, slot * 0.18)
            box = (xc - w / 2, ctop, xc + w / 2, cbot)
            _ellipse(d, box, fill=(180, 215, 245), outline=fg, width=lw)
        elif nm == "Mirror":
            w = max(5, slot * 0.08)
            d.polygon([(xc - w, cbot), (xc + w, ctop), (xc + 2 * w, ctop + w), (xc, cbot + w * 0.2)], fill=(170, 170, 180), outline=fg)
            box = (xc - w, ctop, xc + 2 * w, cbot)
        else:
            w = max(5, slot * _u(rng, 0.08, 0.25))
            h = (cbot - ctop) * _u(rng, 0.6, 1.0)
            box = (xc - w / 2, by - h / 2, xc + w / 2, by + h / 2)
            _rect(d, box, fill=fills[(i + 2) % len(fills)], outline=fg, width=lw)
        ff = _fit_font(ctx, nm, slot * 0.95, lab_h, fs)
        if ff is not None:
            d.text((xc, box[3] + 2), nm, font=ff, fill=fg, anchor="ma")
    return "setup"


def _dg_network(ctx, rng, d, a, fs, lw, fg, fills, shapes):
    x0, y0, x1, y1 = a
    W, H = x1 - x0, y1 - y0
    L = _ri(rng, 3, 5)
    sizes = [_ri(rng, 2, 6) for _ in range(L)]
    f = ctx.font(fs * 0.9)
    labels = _p(rng, 0.6)
    lab_h = (sum(f.getmetrics()) + 3) if labels else 0
    hh = H - lab_h
    r = max(3, min(W / (L * 4.5), hh / (max(sizes) * 2.6)))
    xs = [x0 + r + 1 + (W - 2 * r - 2) * i / (L - 1) for i in range(L)]
    pos = []
    for i, n in enumerate(sizes):
        ys = [y0 + r + 1 + (hh - 2 * r - 2) * (j + 0.5) / n for j in range(n)]
        pos.append([(xs[i], y) for y in ys])
    lc = _mix(fg, (255, 255, 255), 0.55)
    for i in range(L - 1):
        for p in pos[i]:
            for q in pos[i + 1]:
                d.line([p, q], fill=lc, width=1)
    for i in range(L):
        col = fills[i % len(fills)]
        for (px_, py_) in pos[i]:
            _ellipse(d, (px_ - r, py_ - r, px_ + r, py_ + r), fill=col, outline=fg, width=max(1, lw))
    if labels:
        names = ["Input"] + [_ch(rng, ["Hidden", "Conv", "Dense", "Latent"]) for _ in range(L - 2)] + ["Output"]
        for i, nm in enumerate(names):
            ff = _fit_font(ctx, nm, W / L * 0.95, lab_h, fs * 0.9)
            if ff is not None:
                xx = min(max(xs[i], x0 + ff.getlength(nm) / 2 + 1), x1 - ff.getlength(nm) / 2 - 1)
                d.text((xx, y0 + hh + 2), nm, font=ff, fill=fg, anchor="ma")
    return "network"


def _dg_stack(ctx, rng, d, a, fs, lw, fg, fills, shapes):
    x0, y0, x1, y1 = a
    W, H = x1 - x0, y1 - y0
    n = _ri(rng, 3, 6)
    names = [ctx.t(x) for x in _sample(rng, LAYER_WORDS, n)]
    f = ctx.font(fs)
    labw = max(f.getlength(s) for s in names) + fs * 1.5
    sw = min(W - labw, W * _u(rng, 0.5, 0.75))
    if sw < fs * 4:
        sw = W * 0.55
        f = _fit_font(ctx, max(names, key=len), W * 0.4, fs * 2, fs) or ctx.font(7)
    top = y0 + (H * _u(rng, 0.05, 0.15) if _p(rng, 0.6) else 0)
    hs = rng.uniform(0.5, 1.5, n)
    hs = hs / hs.sum() * (y1 - top)
    cols = _sample(rng, [(230, 190, 60), (170, 170, 185), (120, 160, 210), (200, 120, 90), (140, 200, 150),
                         (190, 160, 210), (90, 90, 100), (230, 230, 200), (110, 190, 200)], n)
    yy = top
    for i in range(n):
        _rect(d, (x0, yy, x0 + sw, min(y1 - 1, yy + hs[i])), fill=cols[i], outline=fg, width=1)
        cy = yy + hs[i] / 2
        d.line([(x0 + sw, cy), (x0 + sw + fs * 0.8, cy)], fill=fg, width=1)
        d.text((x0 + sw + fs, cy), names[i], font=f, fill=fg, anchor="lm")
        yy += hs[i]
    if top > y0 + 4:
        ew = sw * 0.18
        for ex in (x0 + sw * 0.15, x0 + sw * 0.67):
            _rect(d, (ex, top - (top - y0) * 0.6, ex + ew, top), fill=(230, 190, 60), outline=fg, width=1)
        d.line([(x0 + sw * 0.15 + ew / 2, top - (top - y0) * 0.6), (x0 + sw * 0.15 + ew / 2, y0),
                (x0 + sw * 0.67 + ew / 2, y0), (x0 + sw * 0.67 + ew / 2, top - (top - y0) * 0.6)], fill=fg, width=max(1, lw))
    return "stack"


def _dg_cell(ctx, rng, d, a, fs, lw, fg, fills, shapes):
    x0, y0, x1, y1 = a
    W, H = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    rx, ry = W / 2 - 2, H / 2 - 2
    mem = _mix(_ch(rng, ctx.palette), (255, 255, 255), 0.2)
    _ellipse(d, (cx - rx, cy - ry, cx + rx, cy + ry), fill=_mix(mem, (255, 255, 255), 0.85), outline=mem, width=max(2, lw * 2))
    nx, ny = cx + rx * _u(rng, -0.3, 0.3), cy + ry * _u(rng, -0.25, 0.25)
    nr = min(rx, ry) * _u(rng, 0.25, 0.4)
    _ellipse(d, (nx - nr * 1.2, ny - nr, nx + nr * 1.2, ny + nr), fill=(200, 180, 230), outline=(110, 80, 160), width=max(1, lw))
    for _ in range(_ri(rng, 3, 8)):
        t = _u(rng, 0, 2 * np.pi)
        rr = _u(rng, 0.45, 0.8)
        ox, oy = cx + rx * rr * math.cos(t), cy + ry * rr * math.sin(t)
        s = min(rx, ry) * _u(rng, 0.05, 0.12)
        _ellipse(d, (ox - s * 1.6, oy - s, ox + s * 1.6, oy + s), fill=_ch(rng, fills), outline=fg, width=1)
    for _ in range(_ri(rng, 3, 8)):
        t = _u(rng, 0, 2 * np.pi)
        mx, my = cx + rx * math.cos(t), cy + ry * math.sin(t)
        ix, iy = cx + rx * 0.88 * math.cos(t), cy + ry * 0.88 * math.sin(t)
        d.line([(mx, my), (ix, iy)], fill=fg, width=max(1, lw))
        ux, uy = math.cos(t), math.sin(t)
        for sgn in (-1, 1):
            d.line([(ix, iy), (ix - ux * 3 + sgn * uy * 4, iy - uy * 3 - sgn * ux * 4)], fill=fg, width=1)
    t = _u(rng, 0, 2 * np.pi)
    _arrow(d, (cx + rx * 0.8 * math.cos(t), cy + ry * 0.8 * math.sin(t)), (nx + nr * 1.3 * math.cos(t), ny + nr * 1.1 * math.sin(t)),
           fg, max(1, lw))
    lab = _ch(rng, ["Nucleus", "Cytoplasm", "ER", "Golgi"])
    f = _fit_font(ctx, lab, nr * 2.2, nr, fs)
    if f:
        d.text((nx, ny), lab, font=f, fill=fg, anchor="mm")
    return "cell"


_DIAGRAMS = {"flow": _dg_flow, "grid": _dg_grid, "hub": _dg_hub, "cycle": _dg_cycle, "setup": _dg_setup,
             "network": _dg_network, "stack": _dg_stack, "cell": _dg_cell}


def _draw_diagram(ctx, rng, img, d, area, fg, bg, dark, mode=None):
    x0, y0, x1, y1 = [float(v) for v in area]
    W, H = x1 - x0, y1 - y0
    fs = int(max(7, min(ctx.fs * 0.9, min(W, H) / 8)))
    lw = max(1, ctx.alw)
    pal = ctx.bright if dark else ctx.palette
    fills = [_mix(c, bg, 0.45 if dark else 0.6) for c in pal]
    shapes = _sample(rng, ["rect", "round", "round", "ellipse", "hex", "diamond", "rect"], 2)
    mode = mode or _wch(rng, [("flow", 2.5), ("grid", 1.5), ("hub", 1), ("cycle", 1), ("setup", 1), ("network", 1.2),
                              ("stack", 0.8), ("cell", 0.8)])
    if dark and mode == "cell":
        mode = "network"
    _DIAGRAMS[mode](ctx, rng, d, (x0, y0, x1 - 1, y1 - 1), fs, lw, fg, fills, shapes)
    return dict(kind="diagram", mode=mode)


# --------------------------------------------------------------------------- textures


def _smooth(rng, h, w, scale):
    scale = max(1.5, float(scale))
    gh, gw = int(math.ceil(h / scale)) + 2, int(math.ceil(w / scale)) + 2
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    return np.asarray(Image.fromarray(g).resize((w, h), Image.BICUBIC), dtype=np.float32)


def _norm(a):
    a = a - a.mean()
    return a / (a.std() + 1e-6)


def _fbm(rng, h, w, scale, octaves=4, pers=0.5):
    out = np.zeros((h, w), np.float32)
    amp, s = 1.0, float(scale)
    for _ in range(octaves):
        out += amp * _norm(_smooth(rng, h, w, s))
        amp *= pers
        s /= 2
        if s < 1.5:
            break
    return _norm(out)


def _blob_poly(rng, cx, cy, a, b, th, wob=0.15, n=28):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    k = _ri(rng, 2, 5)
    r = 1 + wob * np.sin(k * t + _u(rng, 0, 6)) + wob * 0.5 * np.sin((k + 2) * t + _u(rng, 0, 6))
    xs = a * r * np.cos(t)
    ys = b * r * np.sin(t)
    c, s = math.cos(th), math.sin(th)
    return list(zip((cx + c * xs - s * ys).tolist(), (cy + s * xs + c * ys).tolist()))


def _tex_fluo(rng, h, w):
    m = min(h, w)
    out = np.zeros((h, w, 3), np.float32)
    cs = m * _u(rng, 0.05, 0.16)
    ncell = int(np.clip(h * w / (cs * cs) * _u(rng, 0.12, 0.5), 3, 150))
    combos = [[(0.1, 1.0, 0.2), (0.2, 0.4, 1.0)], [(1.0, 0.1, 0.2), (0.2, 0.4, 1.0)], [(0.1, 1.0, 0.2)],
              [(1.0, 0.0, 1.0), (0.1, 1.0, 0.3)], [(1.0, 0.15, 0.1)], [(0.0, 1.0, 1.0), (1.0, 0.0, 0.8)],
              [(0.1, 1.0, 0.2), (1.0, 0.1, 0.2), (0.2, 0.4, 1.0)], [(0.9, 0.9, 0.9)]]
    cols = _ch(rng, combos)
    cyto = Image.new("L", (w, h), 0)
    nuc = Image.new("L", (w, h), 0)
    dc, dn = ImageDraw.Draw(cyto), ImageDraw.Draw(nuc)
    cen = rng.uniform((0, 0), (w, h), size=(ncell, 2))
    for cx, cy in cen:
        a = cs * _u(rng, 0.5, 1.2)
        b = a * _u(rng, 0.5, 1.0)
        th = _u(rng, 0, np.pi)
        dc.polygon(_blob_poly(rng, cx, cy, a, b, th, 0.2), fill=_ri(rng, 70, 255))
        dn.polygon(_blob_poly(rng, cx, cy, a * 0.35, b * 0.4, th, 0.08, 16), fill=_ri(rng, 110, 255))
    cyto = cyto.filter(ImageFilter.GaussianBlur(max(0.8, cs * 0.08)))
    nuc = nuc.filter(ImageFilter.GaussianBlur(max(0.6, cs * 0.04)))
    tex = np.clip(0.65 + 0.35 * _fbm(rng, h, w, cs * 0.4, 3), 0.1, 1.4)
    c = np.asarray(cyto, np.float32) / 255 * tex
    n = np.asarray(nuc, np.float32) / 255
    layers = [c, n] if len(cols) >= 2 else [c if _p(rng, 0.6) else n]
    if len(cols) >= 3:
        pun = Image.new("L", (w, h), 0)
        dp = ImageDraw.Draw(pun)
        for _ in range(int(ncell * _u(rng, 3, 10))):
            px_, py_ = _u(rng, 0, w), _u(rng, 0, h)
            r = _u(rng, 0.8, 2.2)
            dp.ellipse((px_ - r, py_ - r, px_ + r, py_ + r), fill=_ri(rng, 120, 255))
        layers.append(np.asarray(pun.filter(ImageFilter.GaussianBlur(0.8)), np.float32) / 255 * (c > 0.05))
    for lay, col in zip(layers, cols):
        out += lay[..., None] * np.array(col, np.float32)[None, None, :]
    out = out * _u(rng, 200, 255) + np.abs(rng.normal(0, _u(rng, 2, 7), (h, w, 1))).astype(np.float32)
    return out


def _tex_em(rng, h, w):
    m = min(h, w)
    base = 0.55 + 0.10 * _fbm(rng, h, w, m / 5) + 0.05 * _norm(_smooth(rng, h, w, 3))
    mem = Image.new("L", (w, h), 0)
    inn = Image.new("L", (w, h), 0)
    dm, di = ImageDraw.Draw(mem), ImageDraw.Draw(inn)
    for _ in range(_ri(rng, 3, 14)):
        cx, cy = _u(rng, 0, w), _u(rng, 0, h)
        r = m * _u(rng, 0.04, 0.22)
        poly = _blob_poly(rng, cx, cy, r, r * _u(rng, 0.5, 1), _u(rng, 0, 3), 0.15, 40)
        di.polygon(poly, fill=_ri(rng, 60, 200))
        dm.line(poly + [poly[0]], fill=255, width=_ri(rng, 2, 4))
    mem = np.asarray(mem.filter(ImageFilter.GaussianBlur(1.0)), np.float32) / 255
    inn = np.asarray(inn.filter(ImageFilter.GaussianBlur(2.0)), np.float32) / 255
    base = base - 0.35 * mem + 0.08 * inn + rng.normal(0, 0.04, (h, w)).astype(np.float32)
    g = np.clip(base, 0.03, 0.92) * 255
    tint = np.array(_ch(rng, [(1, 1, 1), (1, 1, 1), (1.0, 0.96, 0.88)]), np.float32)
    return g[..., None] * tint[None, None, :]


def _tex_histo(rng, h, w):
    m = min(h, w)
    t = np.clip(0.5 + 0.25 * _fbm(rng, h, w, m / 6) + 0.15 * _norm(_smooth(rng, h, w, m / 25)), 0, 1)
    pink = np.array((235, 160, 195), np.float32) + rng.uniform(-12, 12, 3).astype(np.float32)
    purple = np.array((150, 80, 160), np.float32) + rng.uniform(-12, 12, 3).astype(np.float32)
    img = pink * (1 - t[..., None]) + purple * t[..., None]
    lum = _fbm(rng, h, w, m / 4, 3)
    lm = 1 / (1 + np.exp(-(lum - 1.3) * 6))
    img = img * (1 - lm[..., None]) + np.array((240, 222, 232), np.float32) * lm[..., None]
    nuc = Image.new("L", (w, h), 0)
    dn = ImageDraw.Draw(nuc)
    rr = m * _u(rng, 0.006, 0.015)
    for _ in range(int(min(4000, h * w / (rr * rr) * 0.02))):
        x, y = _u(rng, 0, w), _u(rng, 0, h)
        r = rr * _u(rng, 0.6, 1.4)
        dn.ellipse((x - r, y - r * 0.8, x + r, y + r * 0.8), fill=_ri(rng, 150, 255))
    n = np.asarray(nuc.filter(ImageFilter.GaussianBlur(0.7)), np.float32)[..., None] / 255 * (1 - lm[..., None])
    img = img * (1 - n) + np.array((75, 35, 115), np.float32) * n
    return img + rng.normal(0, 4, (h, w, 1)).astype(np.float32)


def _tex_bright(rng, h, w):
    m = min(h, w)
    bgv = _u(rng, 170, 212)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    vig = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2)
    g = bgv + 7 * _fbm(rng, h, w, m / 3, 3) - 45 * vig
    ring = Image.new("L", (w, h), 0)
    fillm = Image.new("L", (w, h), 0)
    dr, dfm = ImageDraw.Draw(ring), ImageDraw.Draw(fillm)
    cs = m * _u(rng, 0.04, 0.12)
    for _ in range(int(np.clip(h * w / (cs * cs) * _u(rng, 0.08, 0.3), 3, 120))):
        cx, cy = _u(rng, 0, w), _u(rng, 0, h)
        poly = _blob_poly(rng, cx, cy, cs * _u(rng, 0.5, 1.2), cs * _u(rng, 0.4, 0.9), _u(rng, 0, 3), 0.12, 28)
        dfm.polygon(poly, fill=_ri(rng, 60, 160))
        dr.line(poly + [poly[0]], fill=255, width=2)
    r = np.asarray(ring.filter(ImageFilter.GaussianBlur(1.0)), np.float32) / 255
    f = np.asarray(fillm.filter(ImageFilter.GaussianBlur(1.5)), np.float32) / 255
    g = g - 70 * r + 18 * f + rng.normal(0, 3, (h, w)).astype(np.float32)
    tint = np.array(_ch(rng, [(1, 1, 1), (1.0, 0.98, 0.92), (0.95, 0.98, 1.0)]), np.float32)
    return np.clip(g, 0, 228)[..., None] * tint[None, None, :]


def _tex_afm(rng, h, w):
    m = min(h, w)
    v = _fbm(rng, h, w, m / _u(rng, 2.5, 9), 5, _u(rng, 0.4, 0.65))
    if _p(rng, 0.3):
        v = np.floor(v * _u(rng, 1.5, 3)) / 2 + 0.25 * v
    t = (v - v.min()) / (np.ptp(v) + 1e-6)
    t = t ** _u(rng, 0.8, 1.6)
    return np.minimum(_cmap(t, _ch(rng, ["afmhot", "afmhot", "viridis", "magma", "gray", "cividis"])), 240)


def _tex_astro(rng, h, w):
    m = min(h, w)
    neb = np.clip(_fbm(rng, h, w, m / 3, 5) * 0.6 + 0.2, 0, None)
    col = np.array(_ch(rng, [(60, 30, 90), (20, 40, 90), (90, 30, 30), (30, 60, 60)]), np.float32)
    img = neb[..., None] * col[None, None, :] * _u(rng, 0.3, 0.9)
    star = np.zeros((h, w), np.float32)
    n = int(h * w / _u(rng, 300, 1500))
    ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
    np.add.at(star, (ys, xs), (rng.pareto(2.0, n) * 120 + 40).astype(np.float32))
    s = np.asarray(Image.fromarray(np.clip(star, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.9)), np.float32) * 2.5
    return img + s[..., None]


def _tex_gel(rng, h, w, dark=False):
    bgv = _u(rng, 205, 232)
    g = np.full((h, w), bgv, np.float32) + 3 * _norm(_smooth(rng, h, w, min(h, w) / 4))
    k = _ri(rng, 4, 12)
    lane = w / (k + 1)
    band = Image.new("L", (w, h), 0)
    db = ImageDraw.Draw(band)
    ypos = sorted(rng.uniform(0.1, 0.9, _ri(rng, 1, 5)))
    bh = max(2, h * _u(rng, 0.025, 0.06))
    for j in range(k):
        cx = lane * (j + 1)
        for yp in ypos:
            it = _ri(rng, 0, 255) if _p(rng, 0.85) else 0
            db.rectangle((cx - lane * 0.38, yp * h - bh / 2, cx + lane * 0.38, yp * h + bh / 2), fill=it)
    b = np.asarray(band.filter(ImageFilter.GaussianBlur(max(1.0, bh * 0.3))), np.float32) / 255
    if dark:
        g = 15 + 200 * b + rng.normal(0, 3, (h, w)).astype(np.float32)
    else:
        g = g * (1 - 0.8 * b) + rng.normal(0, 2, (h, w)).astype(np.float32)
    return np.repeat(np.clip(g, 0, 235)[..., None], 3, axis=2)


def _tex_photo(rng, h, w):
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    top = np.array(_ch(rng, [(90, 140, 205), (120, 160, 210), (70, 110, 170), (160, 170, 190)]), np.float32)
    bot = np.minimum(top + 40, 235)
    sky = top[None, None, :] * (1 - yy[..., None]) + bot[None, None, :] * yy[..., None]
    sky = np.broadcast_to(sky, (h, w, 3)).copy()
    hz = h * _u(rng, 0.35, 0.7) + h * 0.08 * _norm(_smooth(rng, 1, w, w / 6))[0]
    ground_col = np.array(_ch(rng, [(70, 110, 50), (120, 100, 70), (90, 90, 80), (60, 80, 60)]), np.float32)
    gtex = 1 + 0.15 * _fbm(rng, h, w, min(h, w) / 8)
    mask = (np.arange(h, dtype=np.float32)[:, None] > hz[None, :]).astype(np.uint8) * 255
    mask = np.asarray(Image.fromarray(mask).filter(ImageFilter.GaussianBlur(1.0)), np.float32) / 255
    img = sky * (1 - mask[..., None]) + (ground_col * gtex[..., None]) * mask[..., None]
    return np.minimum(img, 236)


_TEX = {"fluo": _tex_fluo, "em": _tex_em, "histo": _tex_histo, "bright": _tex_bright, "afm": _tex_afm,
        "astro": _tex_astro, "gel": _tex_gel, "photo": _tex_photo, "blot": lambda r, h, w: _tex_gel(r, h, w, True)}
DARK_PTYPES = ["fluo", "fluo", "fluo", "astro", "afm", "blot"]
LIGHT_PTYPES = ["em", "histo", "bright", "gel", "photo", "afm"]
ALL_PTYPES = DARK_PTYPES + LIGHT_PTYPES
MODALITY = {"fluo": ["confocal", "fluorescence", "immunofluorescence", "two-photon", "light-sheet"],
            "em": ["SEM", "TEM", "cryo-EM"], "histo": ["H&E-stained", "histological"],
            "bright": ["bright-field", "phase-contrast", "DIC"], "afm": ["AFM", "STM", "height-profile"],
            "astro": ["dark-field", "wide-field"], "gel": ["western blot", "immunoblot"],
            "blot": ["chemiluminescent western blot", "western blot"], "photo": ["photographic", "field"]}


PHOTO_SUBJECTS = {
    "fluo": ["HeLa cells", "primary neurons", "MCF-7 cells", "fibroblasts", "organoids", "zebrafish larvae",
             "liver sections", "root tips", "T cells", "cardiomyocytes"],
    "em": ["the nanowire array", "mitochondria in HeLa cells", "the porous scaffold", "synaptic vesicles",
           "the catalyst particles", "bacterial cell walls", "the fracture surface"],
    "histo": ["liver sections", "tumour sections", "kidney tissue", "lung tissue", "skin biopsies", "colon sections"],
    "bright": ["HeLa cells", "yeast cultures", "fibroblasts", "bacterial colonies", "spheroids", "algae"],
    "afm": ["the graphene surface", "the polymer film", "MoS₂ flakes", "the annealed thin film", "lipid bilayers",
            "the patterned substrate"],
    "astro": ["gold nanoparticles", "silver nanorods", "single quantum dots", "the scattering particles"],
    "gel": ["HeLa cells", "tumour lysates", "transfected cells", "liver extracts"],
    "blot": ["HeLa cells", "tumour lysates", "transfected cells", "liver extracts"],
    "photo": ["the field site", "the fabricated device", "the experimental enclosure", "the sampling location"],
}


def _texture(rng, ptype, h, w):
    s = 2 if h * w > 250_000 else 1
    hh, ww = max(8, h // s), max(8, w // s)
    arr = _TEX[ptype](rng, hh, ww)
    im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if im.size != (w, h):
        im = im.resize((w, h), Image.BILINEAR)
    return im


def _photo_overlays(ctx, rng, img, d, ptype, avoid):
    w, h = img.size
    lum = float(np.asarray(img.resize((16, 16)), np.float32).mean())
    col = (255, 255, 255) if lum < 140 else (0, 0, 0)
    info = {}
    corners = [c for c in ("br", "bl", "tr") if c != avoid]
    if ptype not in ("gel", "blot", "photo") and _p(rng, 0.7) and min(w, h) > 60:
        c = corners[0] if _p(rng, 0.75) else _ch(rng, corners)
        bl = w * _u(rng, 0.12, 0.25)
        bt = max(2, int(round(h * _u(rng, 0.008, 0.018))))
        mg = max(4, int(min(w, h) * 0.05))
        bx = w - mg - bl if c in ("br", "tr") else mg
        by = h - mg - bt if c in ("br", "bl") else mg
        _rect(d, (bx, by, bx + bl, by + bt - 1), fill=col)
        if _p(rng, 0.55):
            lab = _ch(rng, SCALE_LABELS)
            f = ctx.font(max(7, min(ctx.fs, h / 12)))
            if c in ("br", "bl"):
                d.text((bx + bl / 2, by - 2), lab, font=f, fill=col, anchor="md")
            else:
                d.text((bx + bl / 2, by + bt + 2), lab, font=f, fill=col, anchor="ma")
            info["scale"] = lab
        corners = [k for k in corners if k != c]
    if ptype in ("fluo", "em", "bright", "histo", "afm") and _p(rng, 0.3) and corners:
        c = _ch(rng, corners)
        lab = _ch(rng, CHANNELS) if ptype == "fluo" else _ch(rng, ["Control", "Treated", "WT", "KO", "Day 7", "0 h"])
        f = ctx.font(max(7, min(ctx.fs, h / 10)))
        mg = max(3, int(min(w, h) * 0.04))
        lc = col if ptype != "fluo" else _ch(rng, [(255, 255, 255), (0, 255, 0), (255, 60, 60), (90, 140, 255)])
        anchor = {"tr": "ra", "bl": "ld", "br": "rd"}[c]
        xy = (w - mg if c in ("tr", "br") else mg, mg if c == "tr" else h - mg)
        d.text(xy, lab, font=f, fill=lc, anchor=anchor)
        info["label"] = lab
    return info


# --------------------------------------------------------------------------- panel drawing


def _draw_strip(ctx, rng, img, d, area, fg, bg, dark):
    x0, y0, x1, y1 = [int(round(v)) for v in area]
    W, H = x1 - x0, y1 - y0
    k = _ri(rng, 2, 4)
    g = _ri(rng, 2, 5)
    ptype = _ch(rng, ALL_PTYPES)
    labs = _ch(rng, [["0 h", "12 h", "24 h", "48 h"], ["DAPI", "GFP", "Merge", "Phase"], ["WT", "KO", "Rescue", "Mock"],
                     ["Day 1", "Day 3", "Day 7", "Day 14"], ["Pre", "Post", "Wash", "Recovery"]])
    fs = int(max(7, min(ctx.fs * 0.9, H / 9)))
    f = ctx.font(fs)
    has_lab = _p(rng, 0.8)
    lh = (sum(f.getmetrics()) + 2) if has_lab else 0
    pw = (W - (k - 1) * g) / k
    ph = int(min(H - lh, pw * _u(rng, 0.75, 1.15)))
    big = _texture(rng, ptype, max(4, ph), max(4, x1 - x0))  # one texture, cut up: shared look
    for i in range(k):
        px0 = int(round(x0 + i * (pw + g)))
        px1 = int(round(x0 + i * (pw + g) + pw))
        img.paste(big.crop((px0 - x0, 0, px1 - x0, ph)), (px0, y0 + lh))
        if has_lab:
            d.text(((px0 + px1) / 2, y0), labs[i], font=f, fill=fg, anchor="ma")
    return dict(kind="strip", ptype=ptype, labels=labs[:k])


def _draw_photo_inset(ctx, rng, img, d, area, fg, bg, dark, ptype=None):
    x0, y0, x1, y1 = [int(round(v)) for v in area]
    ptype = ptype or _ch(rng, ALL_PTYPES)
    tex = _texture(rng, ptype, max(4, y1 - y0), max(4, x1 - x0))
    sub = tex.crop((0, 0, x1 - x0, y1 - y0))
    info = _photo_overlays(ctx, rng, sub, ImageDraw.Draw(sub), ptype, None)
    img.paste(sub, (x0, y0))
    return dict(kind="photo", ptype=ptype, **info)


_CONTENT = {"plot": _draw_plot, "diagram": _draw_diagram, "heatmap": _draw_heatmap, "table": _draw_table,
            "strip": _draw_strip, "photo": _draw_photo_inset}


def _choose_kind(rng, style):
    if style == "plain":
        return _wch(rng, [("plot", 55), ("diagram", 22), ("heatmap", 12), ("table", 4), ("strip", 7)])
    if style == "tint":
        return _wch(rng, [("plot", 50), ("diagram", 30), ("heatmap", 12), ("table", 8)])
    if style == "dark":
        return _wch(rng, [("plot", 50), ("diagram", 45), ("table", 5)])
    return _wch(rng, [("plot", 45), ("diagram", 25), ("heatmap", 13), ("table", 5), ("photo", 12)])


def _panel_image(ctx, rng, st, w, h, page, fill, letter, corner, kind, ptype, frame):
    """Draw one panel on its own layer.  Returns (PIL image w x h, info)."""
    lf = ctx.lfont
    if st == "photo":
        img = _texture(rng, ptype, h, w)
        d = ImageDraw.Draw(img)
        info = dict(kind="photo", ptype=ptype)
        info.update(_photo_overlays(ctx, rng, img, d, ptype, corner if letter else None))
        if letter:
            lp = max(3, int(round(min(w, h) * _u(rng, 0.02, 0.045))))
            l, t, iw, ih = _ink(lf, letter)
            ox = lp if corner in ("tl", "bl") else w - lp - iw
            oy = lp if corner in ("tl", "tr") else h - lp - ih
            reg = np.asarray(img.crop((ox, oy, ox + iw, oy + ih)), np.float32)
            lum = float(reg.mean()) if reg.size else 0.0
            lcol = (255, 255, 255) if lum < 150 else (0, 0, 0)
            if _p(rng, 0.15):
                bp = max(2, ih // 5)
                _rect(d, (ox - bp, oy - bp, ox + iw + bp, oy + ih + bp), fill=(255, 255, 255) if lcol == (0, 0, 0) else (0, 0, 0))
            d.text((ox - l, oy - t), letter, font=lf, fill=lcol)
        return img, info
    bg = page if st == "plain" else (WHITE if st in ("frame", "cell") else fill)
    dark = _lum(bg) < 120 or (st == "dark" and _lum(bg) < 150)
    fg = (255, 255, 255) if dark else ctx.fg
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    fw = frame[0] if st == "frame" else 0
    if st == "plain":
        pad, lp = 0, 0
    else:
        pad = fw + max(3, int(round(min(w, h) * _u(rng, 0.035, 0.075))))
        lp = fw + max(2, int(round(min(w, h) * _u(rng, 0.015, 0.035))))
    ax0, ay0, ax1, ay1 = pad, pad, w - pad, h - pad
    if letter:
        l, t, iw, ih = _ink(lf, letter)
        ox = lp if corner in ("tl", "bl") else w - lp - iw
        oy = lp if corner in ("tl", "tr") else h - lp - ih
        lcol = (255, 255, 255) if dark else (0, 0, 0)
        d.text((ox - l, oy - t), letter, font=lf, fill=lcol)
        gap = max(2, int(round(ctx.fs * _u(rng, 0.2, 0.45))))
        if _p(rng, 0.5):
            if corner in ("tl", "bl"):
                ax0 = max(ax0, ox + iw + gap)
            else:
                ax1 = min(ax1, ox - gap)
            if st == "plain" and corner in ("tl", "tr"):
                ay0 = max(ay0, oy + int(ih * _u(rng, 0.0, 0.5)))
        else:
            if corner in ("tl", "tr"):
                ay0 = max(ay0, oy + ih + gap)
            else:
                ay1 = min(ay1, oy - gap)
    kind = kind or _choose_kind(rng, st)
    if kind == "photo" and st in ("plain", "tint", "dark"):
        kind = "plot"
    if ax1 - ax0 < 40 or ay1 - ay0 < 30:
        kind = "diagram"
    info = _CONTENT[kind](ctx, rng, img, d, (ax0, ay0, ax1, ay1), fg, bg, dark)
    if st == "frame":
        d.rectangle([0, 0, w - 1, h - 1], outline=frame[1], width=fw)
    return img, info


def _plain_check(img, page):
    a = np.asarray(img)
    m = (a != np.array(page, np.uint8)[None, None, :]).any(axis=2)
    rows = np.flatnonzero(m.any(axis=1))
    cols = np.flatnonzero(m.any(axis=0))
    if len(rows) == 0:
        return None, 10**9, 10**9
    rg = int(np.max(np.diff(rows)) - 1) if len(rows) > 1 else 0
    cg = int(np.max(np.diff(cols)) - 1) if len(cols) > 1 else 0
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1), rg, cg


# --------------------------------------------------------------------------- layout trees


def Lf(a):
    return ("leaf", float(a))


def Rw(children, weights=None):
    return ("row", list(children), list(weights or [1.0] * len(children)))


def Cl(children):
    return ("col", list(children), [1.0] * len(children))


def _grid(rng, r, c, a, colw=None, rowa=None):
    colw = colw or [1.0] * c
    rowa = rowa or [a] * r
    return Cl([Rw([Lf(rowa[i]) for _ in range(c)], colw) for i in range(r)])


def _nleaves(node):
    return 1 if node[0] == "leaf" else sum(_nleaves(k) for k in node[1])


def _nat_h(node, w, gx, gy, ex):
    if node[0] == "leaf":
        return max(1.0, (w - ex[1]) * node[1] + ex[0])
    kids, wts = node[1], node[2]
    if node[0] == "row":
        avail = w - gx * (len(kids) - 1)
        return float(np.mean([_nat_h(k, avail * wt / sum(wts), gx, gy, ex) for k, wt in zip(kids, wts)]))
    return sum(_nat_h(k, w, gx, gy, ex) for k in kids) + gy * (len(kids) - 1)


def _split(total, weights):
    w = np.asarray(weights, float)
    e = np.round(np.concatenate([[0.0], np.cumsum(w)]) / w.sum() * total).astype(int)
    return [(int(e[i]), int(e[i + 1])) for i in range(len(w))]


def _layout(node, rect, gx, gy, ex, out):
    x0, y0, x1, y1 = rect
    if node[0] == "leaf":
        out.append((x0, y0, x1, y1))
        return
    kids, wts = node[1], node[2]
    n = len(kids)
    if node[0] == "row":
        for i, (a, b) in enumerate(_split(x1 - x0 - gx * (n - 1), wts)):
            _layout(kids[i], (x0 + a + i * gx, y0, x0 + b + i * gx, y1), gx, gy, ex, out)
    else:
        hs = [_nat_h(k, x1 - x0, gx, gy, ex) for k in kids]
        for i, (a, b) in enumerate(_split(y1 - y0 - gy * (n - 1), hs)):
            _layout(kids[i], (x0, y0 + a + i * gy, x1, y0 + b + i * gy), gx, gy, ex, out)


# --------------------------------------------------------------------------- rendering a spec


def _spec(**kw):
    s = dict(tree=None, grid=None, W=1000, margins=(0, 0, 0, 0), gx=10, gy=10, styles=None, fills=None,
             page=WHITE, lettered=True, letter_mode="inside", corners=None, line=None, save=("png",),
             colmajor_ok=False, kinds=None, ptypes=None, min_side=150, frame=None)
    s.update(kw)
    return s


def _render(spec, rng):
    tree = spec["tree"]
    n = _nleaves(tree)
    W = int(spec["W"])
    ml, mt, mr, mb = spec["margins"]
    gx, gy = int(spec["gx"]), int(spec["gy"])
    styles = spec["styles"]
    page = spec["page"]
    plain_any = "plain" in styles
    ctx = _make_ctx(rng, W)
    lettered = bool(spec["lettered"])
    mode = spec["letter_mode"] if lettered else "inside"
    texts = [ctx.letter(i) for i in range(n)]
    strip = 0
    lp = max(2, int(round(ctx.lfs * 0.25)))
    if lettered and mode != "inside":
        iw = max(_ink(ctx.lfont, t)[2] for t in texts)
        ih = max(_ink(ctx.lfont, t)[3] for t in texts)
        strip = (ih + 2 * lp) if mode == "above" else (iw + 2 * lp)
    ex = (strip, 0) if mode == "above" else ((0, strip) if mode == "left" else (0, 0))
    cells = prect = None
    H = 0
    for _ in range(10):
        if plain_any:
            gx = max(gx, int(math.ceil(0.015 * W)), 12)
            gy = max(gy, int(math.ceil(0.015 * max(W, H))), 12)
        H = int(round(_nat_h(tree, W - ml - mr, gx, gy, ex))) + mt + mb
        if plain_any and gy < math.ceil(0.015 * H):
            continue
        cells = []
        _layout(tree, (ml, mt, W - mr, H - mb), gx, gy, ex, cells)
        if mode == "above":
            prect = [(c[0], c[1] + strip, c[2], c[3]) for c in cells]
        elif mode == "left":
            prect = [(c[0] + strip, c[1], c[2], c[3]) for c in cells]
        else:
            prect = list(cells)
        ms = min(min(r[2] - r[0], r[3] - r[1]) for r in prect)
        if H > 3000 and ms * 2900 / H >= spec["min_side"]:
            W = int(W * 2900 / H)
            continue
        if ms >= spec["min_side"] or W >= 2400:
            break
        W = min(2400, int(W * spec["min_side"] / max(ms, 1)) + 8)
    ms = min(min(r[2] - r[0], r[3] - r[1]) for r in prect)
    ctx.fs = int(max(8, min(ctx.fs, ms / 10)))
    ctx.lw = max(1, min(ctx.lw, int(ms / 60) + 1))

    order = list(range(n))
    grid = spec["grid"]
    if lettered and spec["colmajor_ok"] and grid and grid[0] >= 2 and grid[1] >= 2 and _p(rng, 0.22):
        order = sorted(range(n), key=lambda i: (cells[i][0], cells[i][1]))
    pos = {leaf: k for k, leaf in enumerate(order)}

    canvas = Image.new("RGB", (W, H), page)
    cd = ImageDraw.Draw(canvas)
    if spec["line"]:
        col, ow = spec["line"]
        bx0 = min(c[0] for c in cells) - ow
        by0 = min(c[1] for c in cells) - ow
        bx1 = max(c[2] for c in cells) + ow
        by1 = max(c[3] for c in cells) + ow
        cd.rectangle([bx0, by0, bx1 - 1, by1 - 1], fill=col)

    # per-figure fills
    fig_tint = _pale_tint(rng, 10, 25) if _p(rng, 0.5) else _pastel_tint(rng, 12, 40)
    fig_dark = _ch(rng, DARK_FILLS)
    fig_ptype = _ch(rng, spec["ptypes"] or ALL_PTYPES)
    same_fill = _p(rng, 0.7)
    fills = spec["fills"] or [None] * n
    corners = spec["corners"] or ["tl"] * n
    kinds = spec["kinds"] or [None] * n

    gthr_x = 0.6 * gx
    gthr_y = 0.6 * gy
    boxes, infos = [], []
    for i in range(n):
        st = styles[i]
        x0, y0, x1, y1 = prect[i]
        w, h = x1 - x0, y1 - y0
        fill = fills[i]
        if fill is None:
            if st == "tint":
                fill = fig_tint if same_fill else (_pale_tint(rng, 10, 25) if _p(rng, 0.5) else _pastel_tint(rng, 12, 40))
            elif st == "dark":
                fill = fig_dark if same_fill else _ch(rng, DARK_FILLS)
        ptype = fig_ptype if (spec.get("same_ptype", True) and _p(rng, 0.75)) else _ch(rng, spec["ptypes"] or ALL_PTYPES)
        letter = texts[pos[i]] if (lettered and mode == "inside") else None
        corner = corners[i]
        if st != "plain":
            img, info = _panel_image(ctx, rng, st, w, h, page, fill, letter, corner, kinds[i], ptype, spec["frame"])
            canvas.paste(img, (x0, y0))
            boxes.append((x0, y0, x1, y1))
            infos.append(info)
            continue
        best = None
        for attempt in range(7):
            kind = kinds[i] if attempt < 2 else None
            if attempt >= 4:
                kind = "plot"
            img, info = _panel_image(ctx, rng, st, w, h, page, fill, letter, corner, kind, ptype, spec["frame"])
            bb, rg, cg = _plain_check(img, page)
            if bb is None:
                continue
            bw, bh = bb[2] - bb[0], bb[3] - bb[1]
            size_bad = max(0.0, 1 - min(bw, bh) / min(0.6 * min(w, h), spec["min_side"] * 0.9))
            score = max(rg / gthr_y, cg / gthr_x, 0) + 3 * size_bad
            if best is None or score < best[0]:
                best = (score, img, info, bb)
            if rg < gthr_y and cg < gthr_x and size_bad == 0:
                break
        _, img, info, bb = best
        info = dict(info, check=round(best[0], 3))
        canvas.paste(img, (x0, y0))
        boxes.append((x0 + bb[0], y0 + bb[1], x0 + bb[2], y0 + bb[3]))
        infos.append(info)

    if lettered and mode != "inside":
        lf = ctx.lfont
        for i in range(n):
            c = cells[i]
            t = texts[pos[i]]
            l, tt, iw, ih = _ink(lf, t)
            if mode == "above":
                ox, oy = c[0] + _ri(rng, 0, lp), c[1] + lp
            else:
                ox, oy = c[0] + lp, c[1] + _ri(rng, 0, lp)
            cd.text((ox - l, oy - tt), t, font=lf, fill=(0, 0, 0))

    letters = [texts[pos[i]] if lettered else None for i in range(n)]
    return dict(image=canvas, boxes=boxes, infos=infos, letters=letters, order=order, lettered=lettered,
                upper=ctx.lupper, ctx=ctx)


# --------------------------------------------------------------------------- captions


def _title(rng):
    return f"{_ch(rng, TOPICS)} {_ch(rng, SYSTEMS)}."


def _desc(rng, info, gsize, semi):
    k = info.get("kind", "plot")
    if k == "plot":
        X, Y = _qname(info.get("xlabel", "time")), _qname(info.get("ylabel", "signal"))
        ser = [s for s in info.get("series", []) if s][:3]
        pt = info.get("ptype")
        if pt == "bar":
            opts = [f"quantification of {Y} across conditions", f"mean {Y} for each group (n = {_ri(rng, 3, 12)})",
                    f"{Y} in {_join_and(info.get('cats', [])[:3]) or 'all groups'}"]
        elif pt == "hist":
            opts = [f"distribution of {X}", f"histogram of {X} for {_join_and(ser) or 'all samples'}"]
        elif pt == "scatter":
            opts = [f"correlation between {X} and {Y}", f"{Y} plotted against {X} for individual samples"]
        else:
            opts = [f"{Y} as a function of {X}", f"dependence of {Y} on {X}", f"measured {Y} versus {X}"]
            if len(ser) >= 2:
                opts.append(f"{Y} versus {X} for {_join_and(ser)}")
        if gsize > 1:
            opts = [f"{Y} as a function of {X} for the conditions indicated",
                    f"{Y} measured {_ch(rng, CONDITIONS)}", f"comparison of {Y} between {_ch(rng, SAMPLES)} and controls"]
        s = _ch(rng, opts)
    elif k in ("photo", "strip"):
        pt = info.get("ptype", "fluo")
        mod = _ch(rng, MODALITY.get(pt, ["microscopy"]))
        smp = _ch(rng, PHOTO_SUBJECTS.get(pt, SAMPLES))
        cond = _ch(rng, CONDITIONS)
        if k == "strip":
            opts = [f"time-lapse {mod} images of {smp}", f"{mod} images of {smp} {cond}"]
            if pt == "fluo":
                opts.append(f"{mod} images of {smp} in individual channels and merged")
        elif pt in ("gel", "blot"):
            prot = _ch(rng, ["p53", "GAPDH", "phospho-ERK", "LC3-II", "β-actin", "the fusion protein", "cleaved caspase-3"])
            opts = [f"{mod} of {prot} in {smp}", f"immunoblot showing {prot} levels {cond}"]
        elif pt == "photo":
            opts = [f"photograph of {smp}", f"field view of {smp}"]
        elif gsize > 1:
            opts = [f"representative {mod} images of {smp} {cond}", f"{mod} images of {smp} and controls"]
        else:
            opts = [f"representative {mod} image of {smp}", f"{mod} image of {smp} {cond}"]
            if pt in ("em", "histo", "bright", "fluo"):
                opts.append(f"{mod} micrograph of {smp}")
            if pt == "afm":
                opts = [f"{mod} topography of {smp}", f"{mod} map of {smp} {cond}"]
        s = _ch(rng, opts)
    elif k == "diagram":
        mode = info.get("mode")
        opts = {"flow": ["schematic of the analysis workflow", "overview of the proposed pipeline", "workflow of the sample preparation"],
                "setup": ["schematic of the experimental setup", "optical layout of the measurement system"],
                "network": ["architecture of the neural network", "structure of the model used for prediction"],
                "stack": ["device structure and layer sequence", "cross-sectional schematic of the device"],
                "cell": ["proposed model of the signalling pathway", "schematic of the cellular mechanism"],
                }.get(mode, ["illustration of the proposed mechanism", "conceptual diagram of the process",
                             "schematic of the interactions between components"])
        s = _ch(rng, opts)
    elif k == "heatmap":
        s = _ch(rng, ["heat map of expression across samples", "correlation matrix of the measured features",
                      f"map of {_qname(_ch(rng, YQ))} across conditions"])
    else:
        s = _ch(rng, ["summary of fitted parameters for each sample", "parameters used in the simulations",
                      "statistics of the measured quantities"])
    s = s if semi else _cap(s)
    if semi:
        return s
    s += "."
    if k == "photo" and info.get("scale") and _p(rng, 0.6):
        s += f" Scale bar, {info['scale']}."
    elif k == "plot" and _p(rng, 0.3):
        s += " " + _ch(rng, EXTRAS)
    return s


def _groups(rng, n):
    out, i = [], 0
    if n >= 3 and _p(rng, 0.05):
        return [(list(range(n)), "range")]
    while i < n:
        r = rng.random()
        if n - i >= 3 and r < 0.08:
            out.append((list(range(i, i + 3)), "range"))
            i += 3
        elif n - i >= 2 and r < 0.2:
            out.append((list(range(i, i + 2)), "list" if _p(rng, 0.93) else "range"))
            i += 2
        else:
            out.append(([i], "single"))
            i += 1
    return out


def _marker(letters, form, style, rng):
    dash = "–" if _p(rng, 0.9) else "-"
    if form == "single":
        m = letters[0]
    elif form == "range":
        m = f"{letters[0]}{dash}{letters[-1]}"
    else:
        m = ("," if style != "paren" or _p(rng, 0.6) else ", ").join(letters)
    return m


def _caption(rng, infos, upper, allow_markers=True):
    """infos in label order.  Returns (caption, [sub_caption per panel in label order])."""
    n = len(infos)
    title = _title(rng)
    if n == 1 or not allow_markers or _p(rng, 0.12):
        k = min(n, _ri(rng, 1, 3))
        body = " ".join(_desc(rng, infos[i], 1, False) for i in range(k))
        return f"{title} {body}", [None] * n
    idx = list(range(n))
    mismatch = _p(rng, 0.10)
    if mismatch:
        mm = _ch(rng, ["drop", "skip", "extra"])
        if mm == "drop":
            idx = list(range(n - 1))
        elif mm == "skip":
            j = _ri(rng, 1, n - 1)
            idx = [i for i in range(n + 1) if i != j]
        else:
            idx = list(range(n + 1))
    style = _wch(rng, [("paren", 0.45), ("comma", 0.35), ("bar", 0.2)])
    semi = _p(rng, 0.35 if style == "comma" else 0.1)
    groups = _groups(rng, len(idx))
    segs, subs = [], [None] * n
    for gi, (members, form) in enumerate(groups):
        lidx = [idx[k] for k in members]
        letters = [chr(97 + j) for j in lidx]
        letters = [c.upper() for c in letters] if upper else letters
        m = _marker(letters, form, style, rng)
        info = infos[min(lidx[0], n - 1)]
        text = _desc(rng, info, len(lidx), semi)
        if semi and gi == len(groups) - 1:
            text_sub = text + "."
        else:
            text_sub = text
        if style == "paren":
            seg = f"({m}) {text}"
        elif style == "comma":
            seg = f"{m}, {text}"
        else:
            seg = f"{m} | {text}"
        segs.append(seg)
        if not mismatch:
            for j in lidx:
                subs[j] = text_sub
    body = ("; ".join(segs) + ".") if semi else " ".join(segs)
    return f"{title} {body}", subs


# --------------------------------------------------------------------------- families


def _margins(rng, lo=0, hi=24):
    if _p(rng, 0.5):
        m = _ri(rng, lo, hi)
        return (m, m, m, m)
    return tuple(_ri(rng, lo, hi) for _ in range(4))


def _save_default(rng):
    return ("jpeg", _ri(rng, 70, 95), -1, 0.0) if _p(rng, 0.12) else ("png",)


def _colw(rng, c, uneq=0.2):
    if _p(rng, uneq):
        return [float(_u(rng, 0.7, 1.4)) for _ in range(c)]
    return [1.0] * c


def _rowa(rng, r, a, uneq=0.2):
    if _p(rng, uneq):
        return [a * _u(rng, 0.7, 1.35) for _ in range(r)]
    return [a] * r


def _fam_tinted_grid(rng):
    a = _u(rng, 0.6, 1.05)
    g = _ri(rng, 18, 40)
    tree = _grid(rng, 2, 2, a, _colw(rng, 2, 0.15), _rowa(rng, 2, a, 0.15))
    tint = _pale_tint(rng, 10, 25)
    fills = [tint] * 4 if _p(rng, 0.7) else [_pale_tint(rng, 10, 25) for _ in range(4)]
    corner = _wch(rng, [("tl", 0.85), ("tr", 0.15)])
    return _spec(tree=tree, grid=(2, 2), W=_ri(rng, 600, 2000), margins=_margins(rng, 0, 24), gx=g,
                 gy=g if _p(rng, 0.6) else _ri(rng, 18, 40), styles=["tint"] * 4, fills=fills, lettered=_p(rng, 0.8),
                 corners=[corner] * 4, colmajor_ok=True, save=("jpeg", _ri(rng, 80, 95), -1, 0.0))


def _random_shape(rng, shapes):
    return _ch(rng, shapes)


def _fam_saturated(rng):
    r, c = _random_shape(rng, [(1, 2), (1, 3), (2, 2), (2, 3), (2, 2), (3, 2), (1, 4)])
    a = _u(rng, 0.65, 1.1)
    if _p(rng, 0.2):
        tree = Rw([Lf(a * 2), Cl([Lf(a), Lf(a)])], [1.0, 1.0])
        r, c, n, grid = 2, 2, 3, None
    else:
        tree = _grid(rng, r, c, a, _colw(rng, c, 0.1))
        n, grid = r * c, (r, c)
    mix = _wch(rng, [("photo", 0.5), ("dark", 0.25), ("mixed", 0.25)])
    styles = ["photo" if (mix == "photo" or (mix == "mixed" and _p(rng, 0.5))) else "dark" for _ in range(n)]
    page = WHITE if _p(rng, 0.75) else (lambda v: (v, v, v))(_ri(rng, 222, 245))
    W = _ri(rng, 500, 2200) if c <= 2 else _ri(rng, 800, 2400)
    return _spec(tree=tree, grid=grid, W=W, margins=_margins(rng, 0, 20), gx=_ri(rng, 3, 30), gy=_ri(rng, 3, 30),
                 styles=styles, page=page, lettered=_p(rng, 0.85), ptypes=DARK_PTYPES,
                 corners=[_wch(rng, [("tl", 0.85), ("tr", 0.1), ("bl", 0.05)])] * n, colmajor_ok=True,
                 save=_save_default(rng))


def _fam_framed(rng):
    r, c = _random_shape(rng, [(1, 2), (1, 3), (2, 2), (2, 3), (3, 2), (2, 2)])
    a = _u(rng, 0.6, 1.0)
    tree = _grid(rng, r, c, a, _colw(rng, c), _rowa(rng, r, a))
    n = r * c
    fw = _ri(rng, 1, 3)
    fcol = _ch(rng, [(0, 0, 0), (30, 30, 30), (100, 100, 100), (150, 150, 150), (180, 180, 180), (60, 60, 60)])
    W = _ri(rng, 600, 2000) if c <= 2 else _ri(rng, 900, 2400)
    return _spec(tree=tree, grid=(r, c), W=W, margins=_margins(rng, 0, 24), gx=_ri(rng, 8, 40), gy=_ri(rng, 8, 40),
                 styles=["frame"] * n, frame=(fw, fcol), lettered=_p(rng, 0.85),
                 corners=[_wch(rng, [("tl", 0.8), ("tr", 0.2)])] * n, colmajor_ok=True, save=_save_default(rng))


def _fam_dark_lines(rng):
    r, c = (2, 2) if _p(rng, 0.55) else (1, 3)
    a = _u(rng, 0.6, 1.0)
    tree = _grid(rng, r, c, a, _colw(rng, c, 0.1))
    n = r * c
    lw = _ri(rng, 1, 4)
    lcol = (lambda v: (v, v, v))(_ri(rng, 0, 60))
    W = _ri(rng, 600, 1800) if c == 2 else _ri(rng, 900, 2200)
    if _p(rng, 0.5):
        styles = ["cell"] * n
        outer = lw
        m = _ri(rng, 0, 20)
    else:
        # filled panels must contrast with the dark separating lines: pale tints, light photos,
        # or strong mid-luminance colour fills (no black-on-black).
        kind = _ch(rng, ["tint", "photo", "photo", "dark", "mixed"])
        styles = [kind if kind != "mixed" else _ch(rng, ["tint", "photo", "dark"]) for _ in range(n)]
        outer = lw if _p(rng, 0.4) else 0
        m = 0 if _p(rng, 0.5) else _ri(rng, 4, 24)
        strong = [(230, 120, 0), (0, 150, 200), (225, 60, 90), (40, 160, 100), (235, 190, 30), (120, 140, 220)]
        col0 = _ch(rng, strong)
        fills = [None if st != "dark" else (col0 if _p(rng, 0.7) else _ch(rng, strong)) for st in styles]
        return _spec(tree=tree, grid=(r, c), W=W, margins=(m + outer,) * 4, gx=lw, gy=lw, styles=styles,
                     fills=fills, line=(lcol, outer), lettered=_p(rng, 0.8), corners=["tl"] * n, colmajor_ok=True,
                     save=_save_default(rng), ptypes=LIGHT_PTYPES)
    return _spec(tree=tree, grid=(r, c), W=W, margins=(m + outer,) * 4, gx=lw, gy=lw, styles=styles,
                 line=(lcol, outer), lettered=_p(rng, 0.8), corners=["tl"] * n, colmajor_ok=True,
                 save=_save_default(rng))


def _fam_light_lines(rng):
    r, c = _random_shape(rng, [(2, 2), (1, 3), (2, 3), (3, 3), (1, 2), (3, 2), (2, 4)])
    a = _u(rng, 0.6, 1.1)
    tree = _grid(rng, r, c, a, _colw(rng, c, 0.1))
    n = r * c
    lw = _ri(rng, 1, 4)
    white_line = _p(rng, 0.6)
    lcol = WHITE if white_line else (lambda v: (v, v, v))(_ri(rng, 200, 235))
    kind = _wch(rng, [("photo", 0.45), ("dark", 0.2), ("tint", 0.15), ("mixed", 0.2)])
    if kind == "tint" and not white_line:
        kind = "dark"
    styles = [kind if kind != "mixed" else _ch(rng, ["photo", "dark"]) for _ in range(n)]
    fills = [_pastel_tint(rng, 18, 45) for _ in range(n)] if kind == "tint" else None
    m = 0 if _p(rng, 0.6) else _ri(rng, 5, 30)
    W = _ri(rng, 600, 2000) if c <= 2 else _ri(rng, 900, 2400)
    return _spec(tree=tree, grid=(r, c), W=W, margins=(m,) * 4, gx=lw, gy=lw, styles=styles, fills=fills,
                 line=(lcol, 0), lettered=_p(rng, 0.85), corners=[_wch(rng, [("tl", 0.85), ("tr", 0.15)])] * n,
                 colmajor_ok=True, save=_save_default(rng),
                 ptypes=(DARK_PTYPES if (kind == "dark" or not white_line) else ALL_PTYPES))


def _style_set(rng, n, allow_plain=True, allow_photo=True):
    """One figure-wide style, or a realistic mix."""
    opts = [("tint", 1.0), ("frame", 0.8), ("dark", 0.4)]
    if allow_plain:
        opts.append(("plain", 2.0))
    if allow_photo:
        opts.append(("photo", 1.2))
    if n > 1:
        opts.append(("mix", 1.0))
    base = _wch(rng, opts)
    if base != "mix":
        return [base] * n
    a, b = _sample(rng, [s for s, _ in opts if s not in ("mix",)], 2)
    return [a if _p(rng, 0.6) else b for _ in range(n)]


def _gutters_for(rng, styles, W, lo=None, hi=None):
    if "plain" in styles:
        g0 = max(12, int(math.ceil(0.015 * W)))
        return _ri(rng, g0, max(g0, int(hi or max(g0 + 10, 0.05 * W))))
    if "frame" in styles:
        return _ri(rng, lo or 6, hi or 36)
    return _ri(rng, lo or 3, hi or 30)


def _fam_gutter_range(rng):
    r, c = _random_shape(rng, [(2, 2), (2, 3), (1, 3), (3, 2), (1, 2), (3, 3)])
    a = _u(rng, 0.6, 1.05)
    tree = _grid(rng, r, c, a, _colw(rng, c, 0.15))
    n = r * c
    cls = _wch(rng, [("filled", 0.45), ("plain", 0.35), ("frame", 0.2)])
    if cls == "filled":
        k = _ch(rng, ["tint", "photo", "dark", "mixed"])
        styles = [k if k != "mixed" else _ch(rng, ["tint", "photo", "dark"]) for _ in range(n)]
        fills = [_pastel_tint(rng, 15, 40) for _ in range(n)] if k == "tint" else None
    else:
        styles = [cls] * n
        fills = None
    W = _ri(rng, 700, 2200)
    gmax = 0.10 * W
    gmin = {"filled": 2, "frame": 4, "plain": max(12, 0.015 * W)}[cls]
    gx = int(round(math.exp(_u(rng, math.log(gmin), math.log(gmax)))))
    gy = gx if _p(rng, 0.6) else int(round(math.exp(_u(rng, math.log(gmin), math.log(gmax * 0.8)))))
    return _spec(tree=tree, grid=(r, c), W=W, margins=_margins(rng, 0, 30), gx=gx, gy=gy, styles=styles,
                 fills=fills, frame=(_ri(rng, 1, 3), _ch(rng, [(0, 0, 0), (120, 120, 120)])),
                 lettered=_p(rng, 0.85), colmajor_ok=True, save=_save_default(rng))


def _fam_big_grid(rng):
    r, c = _random_shape(rng, [(3, 3), (3, 4), (4, 4), (2, 4), (4, 2)])
    a = _u(rng, 0.65, 1.1)
    tree = _grid(rng, r, c, a)
    n = r * c
    cls = _wch(rng, [("photo", 0.4), ("tint", 0.15), ("plain", 0.25), ("frame", 0.1), ("dark", 0.1)])
    styles = [cls] * n
    W = int(np.clip(c * _ri(rng, 170, 520), 500, 2400))
    if cls == "plain":
        g = _ri(rng, max(12, int(0.015 * W) + 1), max(14, int(0.04 * W)))
    elif cls == "frame":
        g = _ri(rng, 6, 30)
    else:
        g = _ri(rng, 2, 20)
    return _spec(tree=tree, grid=(r, c), W=W, margins=_margins(rng, 0, 20), gx=g, gy=g if _p(rng, 0.7) else max(2, g + _ri(rng, -2, 8)),
                 styles=styles, lettered=_p(rng, 0.8), colmajor_ok=True, save=_save_default(rng),
                 frame=(_ri(rng, 1, 2), (90, 90, 90)), same_ptype=True, min_side=180 if cls == "plain" else 150)


def _fam_uneven(rng):
    v = _ch(rng, ["tall_left", "tall_right", "wide_top", "wide_top", "tall_left"])
    a = _u(rng, 0.55, 0.95)
    k = _ri(rng, 2, 3)
    if v in ("tall_left", "tall_right"):
        tall = Lf(a * k * _u(rng, 0.9, 1.2))
        stack = Cl([Lf(a) for _ in range(k)])
        kids = [tall, stack] if v == "tall_left" else [stack, tall]
        tree = Rw(kids, [1.0, _u(rng, 0.7, 1.3)])
        n = k + 1
        W = _ri(rng, 700, 2000)
    else:
        kb = _ri(rng, 2, 3)
        tree = Cl([Lf(a / kb * _u(rng, 0.8, 1.4)), Rw([Lf(a) for _ in range(kb)])])
        n = kb + 1
        W = _ri(rng, 700, 2000)
    styles = _style_set(rng, n)
    return _spec(tree=tree, W=W, margins=_margins(rng, 0, 24), gx=_gutters_for(rng, styles, W),
                 gy=_gutters_for(rng, styles, W), styles=styles, lettered=_p(rng, 0.85), save=_save_default(rng),
                 frame=(_ri(rng, 1, 3), _ch(rng, [(0, 0, 0), (140, 140, 140)])))


def _fam_nested(rng):
    v = _ch(rng, ["row_over_grid", "row_over_grid", "grid_beside_tall", "rows_uneven"])
    a = _u(rng, 0.6, 1.0)
    if v == "row_over_grid":
        k = _ri(rng, 1, 3)
        gr, gc = _ch(rng, [(2, 2), (2, 3)])
        top = Rw([Lf(a * k / gc * _u(rng, 0.8, 1.5)) for _ in range(k)], _colw(rng, k, 0.3))
        tree = Cl([top, _grid(rng, gr, gc, a)])
        n = k + gr * gc
        W = _ri(rng, 900, 2400)
    elif v == "grid_beside_tall":
        gr, gc = 2, 2
        tall = Lf(a * 2 * _u(rng, 0.9, 1.2))
        g = _grid(rng, gr, gc, a)
        tree = Rw([tall, g] if _p(rng, 0.5) else [g, tall], [1.0, 1.6] if _p(rng, 0.5) else [1.0, 1.0])
        n = 1 + gr * gc
        W = _ri(rng, 1000, 2400)
    else:
        k1, k2 = _ch(rng, [(2, 3), (3, 2), (1, 3), (2, 4), (3, 4)])
        km = max(k1, k2)
        tree = Cl([Rw([Lf(a * k1 / km * _u(rng, 0.8, 1.3)) for _ in range(k1)], _colw(rng, k1, 0.3)),
                   Rw([Lf(a * k2 / km * _u(rng, 0.8, 1.3)) for _ in range(k2)], _colw(rng, k2, 0.2))])
        n = k1 + k2
        W = _ri(rng, 900, 2400)
    styles = _style_set(rng, n)
    return _spec(tree=tree, W=W, margins=_margins(rng, 0, 24), gx=_gutters_for(rng, styles, W),
                 gy=_gutters_for(rng, styles, W), styles=styles, lettered=_p(rng, 0.85), save=_save_default(rng),
                 frame=(_ri(rng, 1, 3), _ch(rng, [(0, 0, 0), (140, 140, 140)])))


def _fam_column(rng):
    k = _wch(rng, [(3, 0.5), (2, 0.3), (4, 0.2)])
    W = _ri(rng, 500, 1200)
    tree = Cl([Lf(_u(rng, 0.35, 0.75)) for _ in range(k)])
    styles = _style_set(rng, k)
    return _spec(tree=tree, W=W, margins=_margins(rng, 0, 24), gx=12, gy=_gutters_for(rng, styles, W),
                 styles=styles, lettered=_p(rng, 0.85), save=_save_default(rng),
                 frame=(_ri(rng, 1, 3), _ch(rng, [(0, 0, 0), (140, 140, 140)])))


def _fam_row(rng):
    k = _wch(rng, [(3, 0.5), (2, 0.3), (4, 0.2)])
    W = _ri(rng, 900, 2400) if k > 2 else _ri(rng, 700, 2000)
    a = _u(rng, 0.65, 1.3)
    tree = Rw([Lf(a) for _ in range(k)], _colw(rng, k, 0.25))
    styles = _style_set(rng, k)
    gmin = 6 if "frame" in styles else 4
    gx = _gutters_for(rng, styles, W, lo=max(gmin, 8), hi=50)
    return _spec(tree=tree, W=W, margins=_margins(rng, 0, 24), gx=gx, gy=12, styles=styles,
                 lettered=_p(rng, 0.85), save=_save_default(rng),
                 frame=(_ri(rng, 1, 3), _ch(rng, [(0, 0, 0), (140, 140, 140)])))


def _fam_letters_outside(rng):
    shape = _ch(rng, ["grid", "grid", "row", "tree"])
    a = _u(rng, 0.6, 1.0)
    if shape == "grid":
        r, c = _ch(rng, [(2, 2), (2, 3), (3, 2), (2, 2)])
        tree, grid = _grid(rng, r, c, a), (r, c)
        n = r * c
    elif shape == "row":
        n = _ri(rng, 2, 4)
        tree, grid = Rw([Lf(a) for _ in range(n)]), (1, n)
    else:
        tree = Rw([Lf(a * 2), Cl([Lf(a), Lf(a)])])
        grid, n = None, 3
    W = _ri(rng, 700, 2200)
    cls = _ch(rng, ["tint", "frame", "photo", "mixed"])
    styles = [cls if cls != "mixed" else _ch(rng, ["tint", "frame", "photo"]) for _ in range(n)]
    if _p(rng, 0.6):
        mode = _ch(rng, ["above", "above", "left"])
        corners = ["tl"] * n
    else:
        mode = "inside"
        if _p(rng, 0.7):
            corners = [_ch(rng, ["tl", "tr", "bl", "br"])] * n
        else:
            corners = [_ch(rng, ["tl", "tr", "bl", "br"]) for _ in range(n)]
    return _spec(tree=tree, grid=grid, W=W, margins=_margins(rng, 0, 20), gx=_ri(rng, 6, 36), gy=_ri(rng, 6, 36),
                 styles=styles, lettered=True, letter_mode=mode, corners=corners, colmajor_ok=True,
                 save=_save_default(rng), frame=(_ri(rng, 1, 3), _ch(rng, [(0, 0, 0), (128, 128, 128)])))


def _fam_jpeg_noise(rng):
    base = _ch(rng, [_fam_tinted_grid, _fam_saturated, _fam_framed, _fam_dark_lines, _fam_light_lines, _fam_row,
                     _fam_big_grid, _fam_uneven, _fam_gutter_range, _fam_nested])
    s = base(rng)
    blur = _u(rng, 0.4, 1.0) if _p(rng, 0.35) else 0.0
    s["save"] = ("jpeg", _ri(rng, 35, 75), 2, blur)
    return s


def _fam_single(rng):
    v = _ch(rng, ["plot", "plot", "photo_full", "photo_margin", "framed", "tint", "diagram", "heatmap"])
    a = _u(rng, 0.5, 1.0)
    W = _ri(rng, 500, 1800)
    tree = Lf(a)
    style = {"plot": "plain", "diagram": "plain", "heatmap": "plain", "photo_full": "photo", "photo_margin": "photo",
             "framed": "frame", "tint": "tint"}[v]
    kind = {"plot": "plot", "diagram": "diagram", "heatmap": "heatmap"}.get(v)
    m = (0, 0, 0, 0) if v == "photo_full" else _margins(rng, 0, 40)
    return _spec(tree=tree, W=W, margins=m, styles=[style], kinds=[kind], lettered=False,
                 frame=(_ri(rng, 1, 3), _ch(rng, [(0, 0, 0), (128, 128, 128)])), save=_save_default(rng))


def _make_single_ws(rng):
    W = _ri(rng, 600, 1800)
    H = int(W * _u(rng, 0.45, 0.8))
    ctx = _make_ctx(rng, W)
    ctx.fs = int(max(9, min(ctx.fs, H / 18)))
    page = WHITE
    canvas = Image.new("RGB", (W, H), page)
    m = _ri(rng, 5, 40)
    v = _ch(rng, ["two_groups", "title_gap", "legend_below", "legend_side"])
    fg = ctx.fg

    def sub(area, fn, **kw):
        x0, y0, x1, y1 = [int(round(t)) for t in area]
        im = Image.new("RGB", (x1 - x0, y1 - y0), page)
        dd = ImageDraw.Draw(im)
        info = fn(ctx, rng, im, dd, (0, 0, x1 - x0, y1 - y0), fg, page, False, **kw)
        canvas.paste(im, (x0, y0))
        return info

    if v == "two_groups":
        band = W * _u(rng, 0.12, 0.25)
        cx = W * _u(rng, 0.42, 0.58)
        info = sub((m, m, cx - band / 2, H - m), _draw_diagram)
        sub((cx + band / 2, m, W - m, H - m), _ch(rng, [_draw_diagram, _draw_plot]))
    elif v == "title_gap":
        ft = ctx.font(ctx.fs * _u(rng, 1.2, 1.6), bold=_p(rng, 0.7))
        title = _ch(rng, ["Experimental workflow", "Overview of the approach", "Model architecture",
                          "Sample preparation", "Proposed mechanism"])
        d = ImageDraw.Draw(canvas)
        ta, tdn = ft.getmetrics()
        if _p(rng, 0.5):
            d.text((W / 2, m), title, font=ft, fill=fg, anchor="ma")
        else:
            d.text((m, m), title, font=ft, fill=fg, anchor="la")
        gap = H * _u(rng, 0.1, 0.2)
        info = sub((m, m + ta + tdn + gap, W - m, H - m), _ch(rng, [_draw_diagram, _draw_plot]))
    else:
        lf = ctx.font(ctx.fs)
        if v == "legend_below":
            gap = H * _u(rng, 0.1, 0.18)
            lh = int(sum(lf.getmetrics()) * 1.3)
            info = sub((m, m, W - m, H - m - lh - gap), _draw_plot, legend=False, kind=_ch(rng, ["line", "scatter", "errorbar"]))
        else:
            gap = W * _u(rng, 0.1, 0.16)
            info = sub((m, m, W * 0.62, H - m), _draw_plot, legend=False, kind=_ch(rng, ["line", "scatter", "errorbar"]))
        ents = info.get("legend_entries") or [(nm, ctx.palette[i % len(ctx.palette)], "line") for i, nm in enumerate(info["series"])]
        d = ImageDraw.Draw(canvas)
        sw = int(ctx.fs * 1.6)
        if v == "legend_below":
            tot = sum(sw + 6 + lf.getlength(e[0]) + ctx.fs * 1.5 for e in ents)
            x = max(m, (W - tot) / 2)
            y = H - m - lh / 2
            for nm, col, _st in ents:
                d.line([(x, y), (x + sw, y)], fill=col, width=max(2, ctx.lw))
                d.text((x + sw + 6, y), nm, font=lf, fill=fg, anchor="lm")
                x += sw + 6 + lf.getlength(nm) + ctx.fs * 1.5
        else:
            x = W * 0.62 + gap
            eh = int(sum(lf.getmetrics()) * 1.4)
            y = H / 2 - eh * len(ents) / 2
            for nm, col, _st in ents:
                d.line([(x, y + eh / 2), (x + sw, y + eh / 2)], fill=col, width=max(2, ctx.lw))
                d.text((x + sw + 6, y + eh / 2), nm, font=lf, fill=fg, anchor="lm")
                y += eh
    bb, _, _ = _plain_check(canvas, page)
    cap_info = info if isinstance(info, dict) else {"kind": "diagram"}
    return dict(image=canvas, boxes=[bb], infos=[cap_info], letters=[None], order=[0], lettered=False,
                upper=False, variant=v)


_BUILDERS = {
    "tinted_grid": _fam_tinted_grid, "saturated": _fam_saturated, "framed": _fam_framed,
    "dark_lines": _fam_dark_lines, "light_lines": _fam_light_lines, "jpeg_noise": _fam_jpeg_noise,
    "gutter_range": _fam_gutter_range, "big_grid": _fam_big_grid, "uneven": _fam_uneven, "nested": _fam_nested,
    "column": _fam_column, "row": _fam_row, "letters_outside": _fam_letters_outside, "single": _fam_single,
}


def _make_figure(family, rng):
    if family == "single_whitespace":
        fig = _make_single_ws(rng)
        save = ("png",)
    else:
        spec = _BUILDERS[family](rng)
        fig = _render(spec, rng)
        save = spec["save"]
    n = len(fig["boxes"])
    order = fig["order"]  # leaf indices in label order
    if fig["lettered"]:
        infos = [fig["infos"][leaf] for leaf in order]
        cap, subs = _caption(rng, infos, fig["upper"], allow_markers=(n > 1))
        sub_of = {leaf: subs[k] for k, leaf in enumerate(order)}
    else:
        allow = n > 1 and family not in ("single", "single_whitespace") and _p(rng, 0.5)
        cap, subs = _caption(rng, fig["infos"], _p(rng, 0.3), allow_markers=allow)
        sub_of = {leaf: subs[leaf] for leaf in range(n)}
    panels = []
    for i, b in enumerate(fig["boxes"]):
        letter = fig["letters"][i]
        lc = None
        if letter:
            lc = "".join(ch for ch in letter if ch.isalpha()).lower() or None
        panels.append(dict(box=b, letter=lc, sub_caption=sub_of.get(i)))
    return dict(image=fig["image"], panels=panels, caption=cap, lettered=fig["lettered"], save=save)


def _save(img, path, save):
    if save[0] == "png":
        img.save(path, "PNG", compress_level=2)
        return
    _, q, sub, blur = save
    if blur and blur > 0:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    kw = dict(quality=int(q))
    if sub is not None and sub >= 0:
        kw["subsampling"] = int(sub)
    img.save(path, "JPEG", **kw)


# --------------------------------------------------------------------------- public API


def generate(out_dir, per_family: int = 10, seed: int = 0, families=None) -> pathlib.Path:
    """Write out_dir/images/<file_name> and out_dir/annotations.json (COCO); return the JSON path.

    Deterministic for a seed: figure k of a family depends only on (seed, family, k)."""
    out = pathlib.Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    fams = tuple(FAMILIES if families is None else families)
    bad = [f for f in fams if f not in FAMILIES]
    if bad:
        raise ValueError(f"unknown families: {bad}")
    images, anns = [], []
    iid, aid = 0, 0
    for fam in fams:
        fi = FAMILIES.index(fam)
        for k in range(int(per_family)):
            rng = np.random.default_rng([int(seed), fi, k, 7919])
            fig = _make_figure(fam, rng)
            ext = "png" if fig["save"][0] == "png" else "jpg"
            fname = f"{fam}_{k:03d}.{ext}"
            _save(fig["image"], out / "images" / fname, fig["save"])
            iid += 1
            W, H = fig["image"].size
            images.append(dict(id=iid, file_name=fname, width=W, height=H, layout=fam, caption=fig["caption"],
                               letters_in_image=bool(fig["lettered"])))
            for p in fig["panels"]:
                x0, y0, x1, y1 = [int(v) for v in p["box"]]
                aid += 1
                anns.append(dict(id=aid, image_id=iid, category_id=1, bbox=[x0, y0, x1 - x0, y1 - y0],
                                 area=(x1 - x0) * (y1 - y0), iscrowd=0, letter=p["letter"],
                                 sub_caption=p["sub_caption"]))
    doc = dict(info=dict(description="pil_plates synthetic multi-panel figures", seed=int(seed),
                         per_family=int(per_family), families=list(fams)),
               images=images, annotations=anns, categories=[dict(id=1, name="panel")])
    path = out / "annotations.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
    return path


def validate(json_path, families=None) -> dict:
    """Self-check an annotations.json written by generate(); raises AssertionError on problems."""
    json_path = pathlib.Path(json_path)
    doc = json.loads(json_path.read_text())
    problems = []
    assert doc.get("categories") == [{"id": 1, "name": "panel"}], "bad categories"
    by_img = {}
    for a in doc["annotations"]:
        by_img.setdefault(a["image_id"], []).append(a)
    fam_count = {}
    img_dir = json_path.parent / "images"
    for im in doc["images"]:
        fam_count[im["layout"]] = fam_count.get(im["layout"], 0) + 1
        anns = by_img.get(im["id"], [])
        tag = im["file_name"]
        p = img_dir / im["file_name"]
        if not p.exists():
            problems.append(f"{tag}: file missing")
        else:
            with Image.open(p) as f:
                if f.size != (im["width"], im["height"]):
                    problems.append(f"{tag}: size mismatch")
        if not anns:
            problems.append(f"{tag}: no annotations")
        if im["layout"] in ("single", "single_whitespace") and len(anns) != 1:
            problems.append(f"{tag}: single family with {len(anns)} boxes")
        rects = []
        for a in anns:
            x, y, w, h = a["bbox"]
            if not all(isinstance(v, int) for v in (x, y, w, h)):
                problems.append(f"{tag}: non-integer bbox")
            if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > im["width"] or y + h > im["height"]:
                problems.append(f"{tag}: bbox outside image {a['bbox']}")
            if a["area"] != w * h:
                problems.append(f"{tag}: area mismatch")
            if a["category_id"] != 1 or a["iscrowd"] != 0:
                problems.append(f"{tag}: bad category/iscrowd")
            if a["sub_caption"] is not None and a["sub_caption"] not in im["caption"]:
                problems.append(f"{tag}: sub_caption not in caption")
            rects.append((x, y, x + w, y + h))
        for i in range(len(rects)):
            for j in range(i + 1, len(rects)):
                a, b = rects[i], rects[j]
                if min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1]):
                    problems.append(f"{tag}: boxes {i} and {j} overlap")
        letters = [a["letter"] for a in anns]
        if im["letters_in_image"]:
            if any(L is None for L in letters):
                problems.append(f"{tag}: lettered figure with unlettered panel")
            elif sorted(letters) != [chr(97 + k) for k in range(len(letters))]:
                problems.append(f"{tag}: letters not a..: {letters}")
        elif any(L is not None for L in letters):
            problems.append(f"{tag}: letters present but letters_in_image false")
    want = FAMILIES if families is None else tuple(families)
    if families is None and doc.get("info", {}).get("families"):
        want = tuple(doc["info"]["families"])
    for f in want:
        if fam_count.get(f, 0) == 0:
            problems.append(f"family {f} missing")
    if problems:
        raise AssertionError(f"{len(problems)} problems:\n" + "\n".join(problems[:50]))
    return dict(images=len(doc["images"]), annotations=len(doc["annotations"]), families=fam_count)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--per-family", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--families", nargs="*", default=None)
    ap.add_argument("--no-validate", action="store_true")
    a = ap.parse_args(argv)
    t = time.time()
    path = generate(a.out_dir, a.per_family, a.seed, a.families)
    print(f"wrote {path} in {time.time() - t:.1f}s")
    if not a.no_validate:
        print(validate(path, a.families))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Held-out, model-free test data for a multi-panel figure splitter.

Draws journal-like multi-panel scientific figures (plots, schematics, block
diagrams, heat maps, gels / blots, tables, micrograph / EM / SEM / histology /
photo / map textures) with OpenCV primitives and numpy only, and writes them
with exact ground truth as a COCO detection set::

    out_dir/images/<family>_<k>.png|jpg
    out_dir/annotations.json          COCO: images / annotations / categories

    python -m tests.layoutgen.cv_montage OUT_DIR --per-family N --seed S \
        [--families F ...] [--validate] [--draw-truth DIR]

Determinism: figure ``k`` of family ``F`` is drawn from
``numpy.random.default_rng([seed, FAMILIES.index(F), k])`` (plus a retry
index if that draw cannot satisfy the size rules), so it is byte-identical
whatever other families or counts are requested.

Ground-truth conventions
------------------------
* One annotation per panel, ``category_id`` 1 ("panel"); ``bbox`` is
  ``[x, y, w, h]`` in integer pixels, ``x + w`` / ``y + h`` exclusive,
  ``area = w * h``.  Boxes never overlap and always lie inside the image.
  Boxes are computed from what was drawn (panel rectangles, or a per-panel
  ink mask), never estimated from the final pixels.
* Filled panels (``panel_style`` ``tint`` / ``dark`` / ``vivid`` /
  ``image``; pale tints differ from white by 10-25 levels, >= 14 in
  ``jpeg_noise``): the box is exactly the filled rectangle.
* Framed panels (``frame``: a 1-3 px frame, white inside): the box is the
  frame's OUTER edge, i.e. the stroke is part of the panel.
* Panels touching along divider lines (``cell`` in ``dark_lines``; filled
  panels in ``light_lines``): the 1-4 px dividers, and any outer border drawn
  round the whole montage, belong to NO panel; the box is the area enclosed
  by the lines, so neighbours' boxes are exactly one line width apart.
* Plain panels (``plain``: drawn straight on the page, no tint or frame):
  the box is the tight bounding box of every pixel drawn for that panel
  (its letter included) that differs from the page colour by more than 16
  levels in some channel, measured on the clean render before blur / noise /
  JPEG.  Invisible anti-aliasing fringes may lie ~1 px outside; JPEG / blur
  can smear ink 1-2 px beyond the box.
* NOT part of any box: letters placed outside a filled / framed panel (in
  the gutter above-left or to the left, family ``letters_outside``); row /
  column labels written in the margins of image grids (``big_grid``, e.g.
  "DAPI", "GFP", "Merge" over the columns, conditions left of the rows);
  divider lines and outer borders.
* Part of the box: everything inside the panel rectangle -- letters drawn
  inside (any corner), scale bars, channel labels, arrowheads, zoom insets
  with their own 1-2 px frames and dashed ROI boxes, colour bars, legends,
  axis labels, dendrograms, table rules, map graticules (always dashed).
* Single-panel figures (``single``, ``single_whitespace``) have exactly one
  box: the content extent by the rules above.  ``single_whitespace`` panels
  are plain and contain large empty bands (two diagrams separated by a
  10-22 % wide full-height gap, a title 12-22 % of the height above a plot,
  a legend block far below a plot) and are still ONE panel, with no letters
  and no caption markers.
* Gutters: between panels of which any is plain, white and at least
  max(12 px, 1.7 % of the larger figure side).  Gutters of 2-6 px, or
  1-4 px divider lines, only between filled panels whose edges contrast
  with the gutter / line colour (dark-edged textures, mid-tone tints, dark /
  vivid fills next to white or light-grey lines; white cells, pale tints or
  light histology next to dark lines).  Inside a lettered plain panel there
  may be a strip of 2-4 sub-images separated by 2-4 px (``content`` =
  ``strip``), used only when the figure's gutters are >= 20 px; it is one
  panel.  Internal white lines (heat-map cell borders) never reach a panel
  edge with a thin gutter.

Image fields: ``id``, ``file_name``, ``width``, ``height``, ``layout``
(family tag), ``caption``, ``letters_in_image``.
Annotation fields: the COCO ones plus ``letter``, ``sub_caption`` and two
informational extras, ``panel_style`` (plain / tint / frame / image / dark /
vivid / cell) and ``content`` (line, scatter, bar, box, spectrum, heatmap,
schematic, block, gel, table, strip, imglab, fluo, he, em, sem, photo, map,
heat, whitespace:<variant>).

Letters: either on every panel of a figure or on none (~20 % none in
tinted / line / grid families, ~8 % in other multi-panel ones, ~55 % of
image-array ``big_grid`` figures).  ``letter`` is the drawn letter,
lower-cased, without brackets or dots ("(B)" -> "b"), or null.  Letters run
a, b, c ... (up to p for 4x4) in reading order as given by the layout tree
(rows top to bottom, left to right; a tall left panel is ``a`` and the stack
beside it ``b``, ``c``...; a 2x2 grid beside a tall panel is a-d then e), or
column-major for ~10 % of grid figures.  Styles: a / A / (a) / a. / a),
Hershey faces, bold via thickness, ~8 % italic; white on dark panels.

Captions: "Figure 3. " / "Fig. 3 | " / ... title sentence, sometimes a
general sentence, then per-panel text with markers "(a) ...", "a, ...",
"A | ...", ranges "(A-C) ...", "a-c, ...", lists "(a,b) ...", "a,b, ..."
(en dash mostly); ~15 % have no markers.  ~12 % use the other letter case
than the image.  ``sub_caption`` = the caption text after that panel's
marker up to the next marker (or the end of the caption), stripped, without
the marker; text shared by a range / list goes to every panel in it; a
trailing sentence after the last marker ("Scale bars, 50 um.") belongs to
the last marker's panel(s).  Caption letter i maps to the panel whose drawn
letter is i; without drawn letters, to the i-th panel in reading order.
``sub_caption`` is null for every panel when the caption has no markers,
when its markers do not match the panels (~10 % of marked captions: last
marker dropped, an extra marker, or a skipped letter), and for single-panel
figures.

Formats: PNG, except ``tinted_grid`` (JPEG q 80-95), ``jpeg_noise`` (JPEG q
35-75, 4:2:0 / 4:2:2 / 4:1:1 / 4:4:4 sampling, Gaussian blur sigma 0.4-1.0,
noise sigma <= 3) and ~12 % of other figures (JPEG q 70-95).
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
import time
from dataclasses import dataclass, field as dc_field

import cv2
import numpy as np

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

AA = cv2.LINE_AA
MASK_THR = 16  # plain-panel ink threshold (levels from the page colour)
MIN_SIDE = 150


# ============================================================== randomness
class Rng:
    def __init__(self, *key: int):
        self.g = np.random.default_rng([int(k) for k in key])

    def u(self, a, b):
        return float(self.g.uniform(a, b))

    def i(self, a, b):
        return int(self.g.integers(int(a), int(b) + 1))

    def p(self, q):
        return bool(self.g.random() < q)

    def c(self, seq, w=None):
        seq = list(seq)
        if w is not None:
            w = np.asarray(w, float)
            return seq[int(self.g.choice(len(seq), p=w / w.sum()))]
        return seq[int(self.g.integers(len(seq)))]

    def logu(self, a, b):
        return float(math.exp(self.g.uniform(math.log(a), math.log(b))))

    def sample(self, seq, k):
        seq = list(seq)
        idx = self.g.permutation(len(seq))[: max(0, min(k, len(seq)))]
        return [seq[int(j)] for j in idx]

    def sub(self) -> "Rng":
        r = Rng(0)
        r.g = np.random.default_rng(self.g.integers(0, 2**62))
        return r


# ================================================================= colours
def hexbgr(h: str) -> tuple:
    h = h.lstrip("#")
    return (int(h[4:6], 16), int(h[2:4], 16), int(h[0:2], 16))


def mix(c1, c2, t):
    return tuple(int(round(a * (1 - t) + b * t)) for a, b in zip(c1, c2))


def lum(c):
    b, g, r = c[:3]
    return 0.299 * r + 0.587 * g + 0.114 * b


def cdiff(c1, c2):
    return max(abs(int(a) - int(b)) for a, b in zip(c1, c2))


PALETTES = [
    [hexbgr(x) for x in "1f77b4 ff7f0e 2ca02c d62728 9467bd 8c564b e377c2 7f7f7f".split()],
    [hexbgr(x) for x in "E69F00 56B4E9 009E73 0072B2 D55E00 CC79A7 000000".split()],
    [hexbgr(x) for x in "E64B35 4DBBD5 00A087 3C5488 F39B7F 8491B4 DC0000 7E6148".split()],
    [hexbgr(x) for x in "4C72B0 DD8452 55A868 C44E52 8172B3 937860 DA8BC3".split()],
    [hexbgr(x) for x in "000000 555555 8C8C8C B0B0B0".split()],
    [hexbgr(x) for x in "00468B ED0000 42B540 0099B4 925E9F AD002A".split()],
    [hexbgr(x) for x in "1B9E77 D95F02 7570B3 E7298A 66A61E E6AB02".split()],
    [hexbgr(x) for x in "0000FF FF0000 008000 000000 FF00FF 00A0A0".split()],
]
BRIGHT = [hexbgr(x) for x in "FFFF00 00FFFF FF66FF 7CFC00 FFA500 FFFFFF FF6060".split()]
PASTELS = [hexbgr(x) for x in "FBB4AE B3CDE3 CCEBC5 DECBE4 FED9A6 FFFFCC E5D8BD FDDAEC E8E8E8 C6DBEF".split()]
FLUO = [hexbgr(x) for x in "00FF00 FF00FF FF2020 3060FF 00FFFF FFFF00 FF8000".split()]
DARK_BG = [hexbgr(x) for x in "000000 05070A 0B1A3A 101828 1A1A1A 2B2B2B 0A2A1A 1C0F2E 002B36".split()]
VIVID_BG = [hexbgr(x) for x in "C0392B 1F5FA8 1E8449 D35400 7D3C98 B03A2E 117A65 2E4053 A93226 1A5276".split()]
TINT_DIRS = [(1, 1, 1), (1, 0.55, 0.25), (0.25, 0.55, 1), (0.3, 1, 0.45), (0.4, 0.25, 1), (1, 0.35, 0.6),
             (0.2, 0.8, 1), (0.7, 1, 0.2), (1, 0.9, 0.5)]
CMAPS = [cv2.COLORMAP_VIRIDIS, cv2.COLORMAP_INFERNO, cv2.COLORMAP_MAGMA, cv2.COLORMAP_PLASMA,
         cv2.COLORMAP_JET, cv2.COLORMAP_TURBO, cv2.COLORMAP_HOT, cv2.COLORMAP_PARULA,
         cv2.COLORMAP_CIVIDIS, cv2.COLORMAP_OCEAN, cv2.COLORMAP_BONE, "RdBu", "YlGnBu", "terrain"]


def _ramp(stops):
    xs = np.linspace(0, 1, len(stops))
    t = np.linspace(0, 1, 256)
    cols = np.array([hexbgr(s) for s in stops], float)
    return np.stack([np.interp(t, xs, cols[:, k]) for k in range(3)], 1).astype(np.uint8)


_CUSTOM_LUTS = {
    "RdBu": _ramp(["2166AC", "67A9CF", "D1E5F0", "F7F7F7", "FDDBC7", "EF8A62", "B2182B"]),
    "YlGnBu": _ramp(["FFFFD9", "C7E9B4", "41B6C4", "225EA8", "081D58"]),
    "terrain": _ramp(["1A6B2F", "5DAA3C", "C8D77B", "D9C27A", "A07850", "FFFFFF"]),
}


def lut_for(cmap) -> np.ndarray:
    if isinstance(cmap, str):
        return _CUSTOM_LUTS[cmap]
    return cv2.applyColorMap(np.arange(256, dtype=np.uint8).reshape(256, 1), cmap).reshape(256, 3)


def colorize(field01: np.ndarray, lut: np.ndarray) -> np.ndarray:
    idx = np.clip(field01 * 255.0, 0, 255).astype(np.uint8)
    return lut[idx]


def pale_tint(r: Rng, lo=10, hi=25):
    d = r.u(lo, hi)
    v = r.c(TINT_DIRS)
    m = max(v)
    return tuple(int(round(255 - d * c / m)) for c in v)


def mid_tint(r: Rng):
    d = r.u(50, 110)
    v = r.c(TINT_DIRS)
    return tuple(int(round(255 - d * c / max(v))) for c in v)


# =================================================================== fonts
LABEL_FACES = [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN,
               cv2.FONT_HERSHEY_COMPLEX_SMALL, cv2.FONT_HERSHEY_COMPLEX]
LETTER_FACES = [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
                cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_PLAIN]


class Font:
    def __init__(self, face: int, px: float, thick: int = 1):
        self.face = face
        self.thick = max(1, int(thick))
        base = cv2.getTextSize("H", face & 15, 1.0, self.thick)[0][1]
        self.scale = max(0.2, px / base)
        self.px = int(round(px))

    def size(self, text):
        (w, h), b = cv2.getTextSize(text, self.face, self.scale, self.thick)
        return w, h, b

    def draw(self, img, text, x, y, color):
        """Draw with (x, y) = top-left of the cap box; returns (w, h, baseline)."""
        w, h, b = self.size(text)
        cv2.putText(img, text, (int(round(x)), int(round(y + h))), self.face, self.scale,
                    tuple(int(c) for c in color), self.thick, AA)
        return w, h, b

    def smaller(self, f=0.85):
        return Font(self.face, max(6, self.px * f), self.thick)

    def fit(self, text, maxw, minpx=6):
        f = self
        while f.size(text)[0] > maxw and f.px > minpx:
            f = f.smaller()
        return f if f.size(text)[0] <= maxw else None


def blend_mask(img, mask, x, y, color):
    H, W = img.shape[:2]
    mh, mw = mask.shape[:2]
    x, y = int(x), int(y)
    ax0, ay0, ax1, ay1 = max(0, x), max(0, y), min(W, x + mw), min(H, y + mh)
    if ax1 <= ax0 or ay1 <= ay0:
        return
    m = mask[ay0 - y: ay1 - y, ax0 - x: ax1 - x].astype(np.float32)[..., None] / 255.0
    reg = img[ay0:ay1, ax0:ax1].astype(np.float32)
    col = np.array(color, np.float32)
    img[ay0:ay1, ax0:ax1] = (reg * (1 - m) + col * m + 0.5).astype(np.uint8)


def text_vertical(img, text, font: Font, x, y, color):
    """Text rotated 90 deg counter-clockwise; (x, y) top-left; returns (w, h)."""
    w, h, b = font.size(text)
    tmp = np.zeros((h + b + 4, w + 4), np.uint8)
    cv2.putText(tmp, text, (2, h + 2), font.face, font.scale, 255, font.thick, AA)
    rot = np.ascontiguousarray(np.rot90(tmp))
    blend_mask(img, rot, x, y, color)
    return rot.shape[1], rot.shape[0]


def vsize(text, font: Font):
    """(height, width) of text_vertical's output."""
    w, h, b = font.size(text)
    return w + 4, h + b + 4


# ============================================================= vocabulary
WORDS = ("cell tissue signal protein complex domain receptor binding pathway sample region layer "
         "network model input output feature encoder decoder module sensor laser lens detector "
         "filter source stage flow channel membrane nucleus vesicle kinase ligand substrate product "
         "catalyst electrode anode cathode surface interface grain particle film crystal lattice "
         "phase field wave pulse mode spectrum basin river ridge fault slab mantle crust ocean "
         "ice shelf aquifer station array node edge graph weight loss update").split()
CATS = ["WT", "KO", "Ctrl", "Veh", "Drug", "siNT", "siA", "siB", "Day 0", "Day 3", "Day 7", "Mock",
        "Low", "Mid", "High", "Pre", "Post", "Base", "Ours", "CNN", "SVM", "RF", "A", "B", "C", "D",
        "HFD", "Chow", "+", "-", "10 nM", "100 nM", "Sham", "Naive"]
XLABELS = ["Time (s)", "Time (min)", "Time (h)", "Frequency (Hz)", "Temperature (K)", "Voltage (V)",
           "Distance (um)", "Wavelength (nm)", "Energy (eV)", "Depth (m)", "Concentration (mM)",
           "Days", "Epoch", "SNR (dB)", "Dose (Gy)", "Field (T)", "2 theta (deg)", "Pressure (GPa)",
           "Latitude", "Year", "Position (mm)", "Strain (%)", "log10 [drug] (M)", "Iterations"]
YLABELS = ["Intensity (a.u.)", "Fold change", "Current (nA)", "Accuracy (%)", "Survival (%)",
           "Normalized signal", "Counts", "Resistance (Ohm)", "dF/F", "Absorbance", "Loss",
           "Velocity (m/s)", "Relative expression", "Stress (MPa)", "Yield (%)", "Density",
           "Anomaly (K)", "Rate (s-1)", "Power (dBm)", "Cells per field", "Area (um2)"]
SERIES = ["Control", "Treated", "WT", "Mutant", "Model", "Data", "Fit", "Exp.", "Theory", "Sim.",
          "300 K", "77 K", "4 K", "n = 1", "n = 2", "Baseline", "Ours", "Adam", "SGD", "Site A",
          "Site B", "CMIP6", "Obs.", "pH 7", "pH 5", "Sample 1", "Sample 2"]
GENES = ["MYC", "TP53", "KRAS", "EGFR", "GAPDH", "ACTB", "SOX2", "PAX6", "CD8A", "IL6", "TNF",
         "FOXP3", "NANOG", "VIM", "CDH1", "MKI67", "HIF1A", "STAT3", "JUN", "FOS", "BRCA1", "PTEN",
         "AKT1", "MTOR", "GFAP", "NEUN", "OLIG2", "CD4", "CD19", "LYZ"]
PROTEINS = ["p-ERK", "ERK", "p-AKT", "AKT", "GAPDH", "b-actin", "Tubulin", "LC3-II", "Cas3",
            "PARP", "H3", "Flag", "HA", "GFP", "p53", "Vinculin", "Lamin B1"]
CHANNELS = ["DAPI", "GFP", "Merge", "mCherry", "Phalloidin", "Ki67", "CD31", "Hoechst", "Tom20",
            "MAP2", "Iba1", "BF"]
NODE_WORDS = ["Input", "Encoder", "Decoder", "Output", "Laser", "Lens", "Sample", "Detector",
              "CCD", "DNA", "RNA", "Cas9", "Ras", "MEK", "ERK", "PI3K", "AKT", "mTOR", "Nucleus",
              "ATP", "ADP", "Pump", "Filter", "ADC", "DSP", "Buffer", "Attention", "MLP", "Conv",
              "Pool", "Sensor", "Host", "Ligand", "Receptor", "Stage", "Mirror", "Beam", "Cell",
              "Soil", "Ocean", "Ice", "Mantle", "Crust", "Source", "Sink", "Reactor", "H2O", "CO2"]

FIELDS = ["bio", "phys", "chem", "geo", "eng"]
FIELD_W = [0.42, 0.16, 0.14, 0.12, 0.16]
TOPIC = {
    "bio": dict(subj=["SOX2", "STAT3", "HIF1A", "mTORC1", "Notch signalling", "the RNA helicase DDX3",
                      "Microglial TREM2", "Piezo1", "the cohesin complex", "YAP"],
                verb=["regulates", "controls", "is required for", "promotes", "restrains", "couples"],
                obj=["stem-cell maintenance", "axon regeneration", "tumour growth", "T cell exhaustion",
                     "mitochondrial fission", "epithelial polarity", "synaptic pruning", "lipid storage"],
                where=["in the mouse cortex", "in human organoids", "in vivo", "in zebrafish larvae",
                       "during development", "in colorectal cancer"]),
    "phys": dict(subj=["Strain", "Magnetic field", "Disorder", "Interlayer twist", "Photon pairs",
                       "Spin-orbit coupling", "Pressure"],
                 verb=["drives", "tunes", "reveals", "suppresses", "enhances", "stabilizes"],
                 obj=["superconductivity", "a topological phase", "charge density waves",
                      "quantum interference", "exciton condensation", "anomalous transport"],
                 where=["in twisted bilayer graphene", "in a cold-atom lattice", "in MnBi2Te4",
                        "at low temperature", "in a photonic chip", "in thin films"]),
    "chem": dict(subj=["A single-atom Pt catalyst", "Ligand design", "A porous framework",
                       "Electrolyte additives", "Photoredox catalysis", "A chiral auxiliary"],
                 verb=["enables", "accelerates", "controls", "improves", "directs"],
                 obj=["CO2 reduction", "selective C-H activation", "lithium-metal cycling",
                      "water splitting", "asymmetric hydrogenation", "polymer upcycling"],
                 where=["at room temperature", "in aqueous media", "under visible light",
                        "at high current density", "in flow"]),
    "geo": dict(subj=["Ocean warming", "Groundwater depletion", "Glacier retreat", "Wildfire smoke",
                      "Subduction geometry", "Monsoon variability"],
                verb=["controls", "amplifies", "modulates", "explains", "tracks"],
                obj=["coastal sea-level rise", "crop yields", "seismic coupling", "carbon export",
                     "river discharge", "ice-shelf thinning"],
                where=["across the Tibetan Plateau", "in the Southern Ocean", "over North America",
                       "since 1980", "in the Andes", "along the Cascadia margin"]),
    "eng": dict(subj=["A sparse transformer", "The proposed controller", "An adaptive beamformer",
                      "A graph neural network", "The hybrid precoder", "Event-based sensing"],
                verb=["improves", "enables", "reduces", "accelerates", "achieves"],
                obj=["robust tracking", "energy-efficient inference", "low-latency decoding",
                     "fault detection", "spectral efficiency", "real-time segmentation"],
                where=["on embedded hardware", "under channel uncertainty", "at scale",
                       "in urban scenes", "with limited labels"]),
}
DESC = {
    "line": ["Time course of {q} after {t}", "{Q} as a function of {p}", "Temperature dependence of {q}",
             "Representative traces of {q}", "Training curves for the compared methods",
             "Evolution of {q} over the simulation period"],
    "scatter": ["Correlation between {q} and {q2}", "{Q} versus {q2} for individual samples",
                "Embedding of single cells coloured by cluster", "Measured versus predicted {q}"],
    "bar": ["Quantification of {q} (n = {n} per group)", "Relative {q} in the indicated conditions",
            "{Q} across groups; mean and s.e.m.", "Comparison of {q} between methods"],
    "box": ["Distribution of {q} across conditions", "{Q} per animal (n = {n})"],
    "spectrum": ["{M} spectra of the {c} samples", "{M} patterns recorded at increasing {p}",
                 "Normalized {M} spectra"],
    "heatmap": ["Heat map of {q} across samples", "Expression of marker genes in each cluster",
                "Confusion matrix on the test set", "Pairwise correlation of {q}"],
    "schematic": ["Schematic of the experimental setup", "Proposed model of {proc}",
                  "Overview of the workflow", "Schematic of the device geometry"],
    "block": ["Block diagram of the proposed system", "Architecture of the network",
              "Signal-processing chain used for {q}"],
    "gel": ["Immunoblot of {g} in the indicated lines", "Agarose gel of PCR products",
            "Western blot analysis of {g} after {t}"],
    "table": ["Summary of fitted parameters", "Performance of the compared methods"],
    "micro": ["Representative {mod} images of {tis} stained for {g}", "{Mod} images of {tis} at day {n}",
              "Live imaging of {tis}", "Images of {tis} expressing {g}"],
    "map": ["Map of {q} over {reg}", "Spatial pattern of {q} in {reg}", "Study area and station locations"],
    "photo": ["Photograph of the device", "Field photograph of the outcrop", "Optical image of the sample"],
    "strip": ["{Mod} images of {tis}; individual channels and merge", "Co-staining of {g} and {g2}"],
}
FILL = dict(
    q=["signal intensity", "expression", "current", "conductance", "yield", "accuracy", "temperature",
       "velocity", "strain", "cell number", "fluorescence", "discharge", "precipitation", "latency"],
    t=["treatment", "stimulation", "injury", "illumination", "quench", "drug addition"],
    p=["temperature", "magnetic field", "time", "dose", "bias voltage", "depth", "frequency"],
    M=["Raman", "XRD", "UV-vis", "FTIR", "Photoluminescence", "XPS", "NMR"],
    c=["as-synthesized", "annealed", "doped", "pristine"],
    proc=["activation", "transport", "assembly", "coupling", "feedback"],
    g=GENES, mod=["confocal", "fluorescence", "brightfield", "electron micrograph", "two-photon"],
    tis=["cultured neurons", "tumour sections", "organoids", "liver sections", "HeLa cells", "embryos",
         "retina", "intestinal crypts"],
    reg=["the study region", "the basin", "the continental margin", "the Arctic", "the catchment"],
    n=["3", "4", "5", "6", "8", "10", "12"],
)
TRAILERS = ["Scale bars, 50 um.", "Scale bars, 10 um.", "Data are mean +/- s.e.m.",
            "Error bars denote s.d.", "*P < 0.05, **P < 0.01; two-sided t-test.",
            "Shaded areas show 95% confidence intervals."]
INTRO = ["Experiments were repeated three times with similar results.",
         "All measurements were taken at room temperature.",
         "Source data are provided with this paper."]


# ================================================================ contexts
@dataclass
class Ctx:
    r: Rng
    ink: tuple
    bg: tuple
    dark: bool
    font: Font
    small: Font
    palette: list
    lw: int
    field: str = "bio"
    allow_strip: bool = False


def _ctx_for(r: Rng, fig, bg, dark: bool) -> Ctx:
    if dark:
        ink = r.c([(255, 255, 255), (235, 235, 235), (200, 200, 200), hexbgr("FFFF80"), hexbgr("A0FFFF")],
                  [5, 2, 1, 1, 1])
        pal = r.sample(BRIGHT, 6)
    else:
        ink = fig.ink
        pal = list(fig.palette)
    return Ctx(r=r, ink=ink, bg=bg, dark=dark, font=fig.font, small=fig.small, palette=pal,
               lw=fig.lw, field=fig.field, allow_strip=fig.allow_strip)


def _pts(a):
    return np.round(np.asarray(a)).astype(np.int32).reshape(-1, 1, 2)


def _nice_ticks(r: Rng, kind="num"):
    n = r.i(3, 6)
    step = r.c([0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000])
    lo = 0.0 if r.p(0.7) else -step * r.i(1, 2)
    vals = [lo + k * step for k in range(n)]
    if step >= 1:
        labels = [str(int(round(v))) for v in vals]
    else:
        dec = 2 if step in (0.25,) else 1
        labels = [f"{v:.{dec}f}" for v in vals]
    if r.p(0.1) and step >= 1 and vals[-1] >= 1000:
        labels = [f"{v / 1000:g}k" for v in vals]
    return labels


def _series_data(r: Rng, n: int, k: int):
    x = np.linspace(0, 1, n)
    kind = r.c(["walk", "sin", "exp", "sig", "peak", "lin", "sat"])
    out = []
    for j in range(k):
        if kind == "walk":
            y = np.cumsum(r.g.normal(0, 1, n))
            y = np.convolve(y, np.ones(5) / 5, mode="same")
        elif kind == "sin":
            y = np.sin(2 * np.pi * (x * r.u(0.5, 3) + r.u(0, 1))) * r.u(0.5, 1) + r.g.normal(0, 0.05, n)
        elif kind == "exp":
            y = np.exp(-x * r.u(1, 6)) + r.g.normal(0, 0.02, n) + j * r.u(0, 0.2)
        elif kind == "sig":
            y = 1 / (1 + np.exp(-(x - r.u(0.25, 0.75)) * r.u(6, 25))) + r.g.normal(0, 0.02, n)
        elif kind == "peak":
            y = np.exp(-((x - r.u(0.2, 0.8)) ** 2) / r.u(0.003, 0.05)) + r.g.normal(0, 0.02, n)
        elif kind == "sat":
            y = 1 - np.exp(-x * r.u(2, 10)) + r.g.normal(0, 0.015, n)
        else:
            y = x * r.u(-1, 1) + r.g.normal(0, 0.05, n)
        out.append(y)
    allv = np.concatenate(out)
    lo, hi = allv.min(), allv.max()
    span = (hi - lo) or 1.0
    top = r.u(0.75, 0.95)
    return x, [0.05 + (y - lo) / span * (top - 0.05) for y in out]


def _marker(img, x, y, kind, size, col, fill=True):
    x, y = int(round(x)), int(round(y))
    t = -1 if fill else 1
    if kind == "o":
        cv2.circle(img, (x, y), size, col, t, AA)
    elif kind == "s":
        cv2.rectangle(img, (x - size, y - size), (x + size, y + size), col, t, AA)
    elif kind == "^":
        p = _pts([(x, y - size), (x - size, y + size), (x + size, y + size)])
        if fill:
            cv2.fillPoly(img, [p], col, AA)
        else:
            cv2.polylines(img, [p], True, col, 1, AA)
    else:
        cv2.line(img, (x - size, y), (x + size, y), col, 1, AA)
        cv2.line(img, (x, y - size), (x, y + size), col, 1, AA)


def _dashed(img, p, q, col, lw, dash=6, gap=4):
    p = np.array(p, float)
    q = np.array(q, float)
    d = q - p
    L = float(np.hypot(*d))
    if L < 1:
        return
    u = d / L
    s = 0.0
    while s < L:
        e = min(L, s + dash)
        a, b = p + u * s, p + u * e
        cv2.line(img, (int(round(a[0])), int(round(a[1]))), (int(round(b[0])), int(round(b[1]))), col, lw, AA)
        s = e + gap


def _legend(img, entries, x, y, ctx: Ctx, framed, kind="line", maxw=None):
    f = ctx.small
    if not entries:
        return 0, 0
    sw = max(10, int(f.px * 1.8))
    rowh = int(f.px * 1.7) + 2
    tw = max(f.size(lab)[0] for lab, _ in entries)
    W = sw + 6 + tw + 10
    H = rowh * len(entries) + 6
    if maxw is not None and W > maxw:
        return 0, 0
    if framed:
        cv2.rectangle(img, (x, y), (x + W, y + H), ctx.bg, -1)
        cv2.rectangle(img, (x, y), (x + W, y + H), mix(ctx.ink, ctx.bg, 0.4), 1)
    for k, (lab, col) in enumerate(entries):
        cy = y + 4 + k * rowh + rowh // 2
        if kind == "line":
            cv2.line(img, (x + 4, cy), (x + 4 + sw, cy), col, max(1, ctx.lw), AA)
        elif kind == "scatter":
            cv2.circle(img, (x + 4 + sw // 2, cy), max(2, f.px // 3), col, -1, AA)
        else:
            cv2.rectangle(img, (x + 4, cy - f.px // 2), (x + 4 + sw, cy + f.px // 2), col, -1)
        f.draw(img, lab, x + sw + 10, cy - f.px // 2, ctx.ink)
    return W, H


def draw_plot(img, rect, ctx: Ctx, kind="line"):
    """Axes with ticks, tick labels, axis labels, data and often a legend."""
    r = ctx.r
    f, s = ctx.font, ctx.small
    ink = ctx.ink
    lw = ctx.lw
    x0, y0, x1, y1 = rect
    W, H = x1 - x0, y1 - y0
    if W < 60 or H < 50:
        return
    cats = None
    if kind in ("bar", "box"):
        cats = r.sample(CATS, r.i(2, 6 if W > 320 else 4))
    ylab = _nice_ticks(r)
    show_yt = not (kind == "spectrum" and r.p(0.6))
    xlab = None if cats else _nice_ticks(r)
    ylabel = r.c(YLABELS) if r.p(0.8) else None
    xlabel = r.c(XLABELS) if (r.p(0.85) and not cats) else (r.c(["", "Condition", "Genotype"]) or None)
    title = r.c(SERIES + GENES) if r.p(0.2) else None
    tick = r.i(3, 7)
    inward = r.p(0.25)
    boxed = r.p(0.35)
    ylw = max(s.size(t)[0] for t in ylab) if show_yt else 0
    left = ylw + (0 if inward else tick) + 5 + 3
    if ylabel:
        left += vsize(ylabel, f)[1] + 6
    bottom = (0 if inward else tick) + 5 + s.px + 4 + 4
    if cats:
        catw = max(s.size(c)[0] for c in cats)
    if xlabel:
        bottom += f.px + 8
    top = r.i(6, 14) + (f.px + 8 if title else 0)
    right = r.i(6, 16)
    if xlab:
        right = max(right, s.size(xlab[-1])[0] // 2 + 3)
    ax0, ay0, ax1, ay1 = x0 + left, y0 + top, x1 - right, y1 - bottom
    if ax1 - ax0 < 50 or ay1 - ay0 < 35:
        ylabel = xlabel = title = None
        left, bottom = ylw + tick + 6, tick + s.px + 10
        ax0, ay0, ax1, ay1 = x0 + left, y0 + 6, x1 - 6, y1 - bottom
        if ax1 - ax0 < 30 or ay1 - ay0 < 25:
            return
    aw, ah = ax1 - ax0, ay1 - ay0
    if cats and catw > aw / len(cats) - 2:
        cats = [c[:3] for c in cats]
    grid = r.p(0.25)
    gcol = mix(ctx.bg, ink, 0.18)

    def X(v):
        return ax0 + v * aw

    def Y(v):
        return ay1 - v * ah

    # ticks + grid
    ny = len(ylab)
    for k, t in enumerate(ylab):
        yy = int(round(Y(k / (ny - 1))))
        if grid and 0 < k < ny - 1:
            cv2.line(img, (ax0, yy), (ax1, yy), gcol, 1)
        cv2.line(img, (ax0, yy), (ax0 + (tick if inward else -tick), yy), ink, max(1, lw - 1))
        if show_yt:
            tw = s.size(t)[0]
            s.draw(img, t, ax0 - (0 if inward else tick) - 4 - tw, yy - s.px // 2, ink)
    if xlab:
        nx = len(xlab)
        for k, t in enumerate(xlab):
            xx = int(round(X(k / (nx - 1))))
            if grid and 0 < k < nx - 1:
                cv2.line(img, (xx, ay0), (xx, ay1), gcol, 1)
            cv2.line(img, (xx, ay1), (xx, ay1 - (tick if inward else -tick)), ink, max(1, lw - 1))
            tw = s.size(t)[0]
            s.draw(img, t, xx - tw // 2, ay1 + (0 if inward else tick) + 4, ink)
    # data
    legend_entries = []
    cols = ctx.palette
    if kind in ("line", "spectrum"):
        k = r.i(1, 4) if kind == "line" else r.i(1, 5)
        n = r.i(30, 200) if kind == "line" else r.i(300, 600)
        if kind == "spectrum":
            x = np.linspace(0, 1, n)
            ys = []
            for j in range(k):
                y = np.full(n, 0.03) + r.g.normal(0, 0.006, n)
                for _ in range(r.i(2, 8)):
                    c0, wd, a = r.u(0.05, 0.95), r.u(0.003, 0.03), r.u(0.2, 1)
                    y += a / (1 + ((x - c0) / wd) ** 2)
                y = y / y.max() * (0.9 / k) * r.u(0.6, 1) + j * (0.92 / k)
                ys.append(y)
        else:
            x, ys = _series_data(r, n, k)
        band = kind == "line" and r.p(0.25)
        mk = r.c(["o", "s", "^", None, None]) if kind == "line" and n < 80 else None
        names = r.sample(SERIES, k)
        for j, y in enumerate(ys):
            col = cols[j % len(cols)]
            P = np.stack([X(x), Y(np.clip(y, 0, 1))], 1)
            if band:
                e = r.u(0.02, 0.06)
                poly = np.concatenate([np.stack([X(x), Y(np.clip(y + e, 0, 1))], 1),
                                       np.stack([X(x), Y(np.clip(y - e, 0, 1))], 1)[::-1]])
                sub = img[ay0:ay1 + 1, ax0:ax1 + 1]
                ov = sub.copy()
                cv2.fillPoly(ov, [_pts(poly - [ax0, ay0])], col, AA)
                img[ay0:ay1 + 1, ax0:ax1 + 1] = cv2.addWeighted(ov, 0.25, sub, 0.75, 0)
            cv2.polylines(img, [_pts(P)], False, col, max(1, lw), AA)
            if mk:
                step = max(1, n // r.i(8, 20))
                for px_, py_ in P[::step]:
                    _marker(img, px_, py_, mk, max(2, lw + 1), col, r.p(0.7))
            if kind == "spectrum" and k > 1 and r.p(0.6):
                lab = names[j]
                lf = s.fit(lab, aw // 3)
                if lf:
                    lf.draw(img, lab, ax1 - lf.size(lab)[0] - 4, Y(min(0.97, y[-20:].mean() + 0.03)) - lf.px, col)
            else:
                legend_entries.append((names[j], col))
    elif kind == "scatter":
        ncl = r.i(1, 4)
        names = r.sample(SERIES, ncl)
        rad = r.i(2, 5)
        hollow = r.p(0.25)
        for j in range(ncl):
            c = (r.u(0.2, 0.8), r.u(0.2, 0.8))
            m = r.i(15, 120)
            pts = np.clip(r.g.normal(c, r.u(0.04, 0.15), (m, 2)), 0.03, 0.97)
            col = cols[j % len(cols)]
            for px_, py_ in pts:
                cv2.circle(img, (int(X(px_)), int(Y(py_))), rad, col, 1 if hollow else -1, AA)
            legend_entries.append((names[j], col))
        if r.p(0.4):
            a, b = r.u(0.1, 0.4), r.u(0.2, 0.8)
            cv2.line(img, (int(X(0.02)), int(Y(a))), (int(X(0.98)), int(Y(min(0.97, a + b)))), ink, 1, AA)
    elif kind in ("bar", "box"):
        g = 1 if kind == "box" else r.c([1, 1, 2, 3])
        nc = len(cats)
        slot = aw / nc
        bw = slot * r.u(0.5, 0.8) / g
        edge = r.p(0.5)
        dots = r.p(0.4)
        names = r.sample(SERIES, g)
        tops = []
        for ci, cname in enumerate(cats):
            for gi in range(g):
                col = cols[(gi if g > 1 else ci) % len(cols)]
                cx = X((ci + 0.5) / nc) + (gi - (g - 1) / 2) * bw
                v = r.u(0.15, 0.8)
                if kind == "bar":
                    cv2.rectangle(img, (int(cx - bw / 2 + 1), int(Y(v))), (int(cx + bw / 2 - 1), ay1 - 1),
                                  col, -1)
                    if edge:
                        cv2.rectangle(img, (int(cx - bw / 2 + 1), int(Y(v))), (int(cx + bw / 2 - 1), ay1 - 1),
                                      ink, 1)
                    e = r.u(0.02, 0.08)
                    cv2.line(img, (int(cx), int(Y(v))), (int(cx), int(Y(v + e))), ink, 1, AA)
                    cv2.line(img, (int(cx - bw / 5), int(Y(v + e))), (int(cx + bw / 5), int(Y(v + e))), ink, 1, AA)
                    tops.append((cx, v + e))
                else:
                    q1, q3 = v - r.u(0.05, 0.12), v + r.u(0.05, 0.12)
                    lo, hi = max(0.02, q1 - r.u(0.05, 0.15)), min(0.9, q3 + r.u(0.05, 0.15))
                    cv2.line(img, (int(cx), int(Y(lo))), (int(cx), int(Y(hi))), ink, 1, AA)
                    cv2.rectangle(img, (int(cx - bw / 2), int(Y(q3))), (int(cx + bw / 2), int(Y(q1))), col, -1)
                    cv2.rectangle(img, (int(cx - bw / 2), int(Y(q3))), (int(cx + bw / 2), int(Y(q1))), ink, 1)
                    cv2.line(img, (int(cx - bw / 2), int(Y(v))), (int(cx + bw / 2), int(Y(v))), ink, 2)
                    tops.append((cx, hi))
                if dots:
                    for _ in range(r.i(3, 10)):
                        dv = min(0.95, max(0.01, v + r.g.normal(0, 0.05)))
                        cv2.circle(img, (int(cx + r.u(-bw / 4, bw / 4)), int(Y(dv))), 2,
                                   ink if kind == "bar" else col, -1, AA)
            tw = s.size(cname)[0]
            s.draw(img, cname, X((ci + 0.5) / nc) - tw / 2, ay1 + tick + 4, ink)
        if g > 1:
            legend_entries = [(names[j], cols[j % len(cols)]) for j in range(g)]
        if len(tops) >= 2 and r.p(0.5):
            a, b = sorted(r.sample(range(len(tops)), 2))
            yb = min(0.97, max(tops[a][1], tops[b][1]) + 0.06)
            ya = int(Y(yb))
            cv2.line(img, (int(tops[a][0]), ya), (int(tops[b][0]), ya), ink, 1, AA)
            cv2.line(img, (int(tops[a][0]), ya), (int(tops[a][0]), ya + 5), ink, 1, AA)
            cv2.line(img, (int(tops[b][0]), ya), (int(tops[b][0]), ya + 5), ink, 1, AA)
            star = r.c(["*", "**", "***", "ns", "P = 0.03"])
            tw = s.size(star)[0]
            s.draw(img, star, (tops[a][0] + tops[b][0]) / 2 - tw / 2, ya - s.px - 4, ink)
    # spines
    cv2.line(img, (ax0, ay0), (ax0, ay1), ink, lw)
    cv2.line(img, (ax0, ay1), (ax1, ay1), ink, lw)
    if boxed:
        cv2.line(img, (ax0, ay0), (ax1, ay0), ink, lw)
        cv2.line(img, (ax1, ay0), (ax1, ay1), ink, lw)
    # labels
    if ylabel:
        vh, vw = vsize(ylabel, f)
        if vh <= ah + 4:
            text_vertical(img, ylabel, f, x0 + 2, ay0 + (ah - vh) // 2, ink)
    if xlabel:
        tw = f.size(xlabel)[0]
        f.draw(img, xlabel, ax0 + (aw - tw) // 2, y1 - f.px - f.size("g")[2] - 3, ink)
    if title:
        tw = f.size(title)[0]
        f.draw(img, title, ax0 + (aw - tw) // 2, y0 + 4, ink)
    if legend_entries and (len(legend_entries) > 1 or r.p(0.3)):
        lk = "scatter" if kind == "scatter" else ("line" if kind in ("line", "spectrum") else "bar")
        framed = r.p(0.4)
        wl, hl = _legend(np.zeros((1, 1, 3), np.uint8), legend_entries, 0, 0, ctx, False, lk)
        if wl and wl < aw - 10 and hl < ah * 0.6:
            lx = ax1 - wl - 6 if r.p(0.7) else ax0 + 8
            _legend(img, legend_entries, lx, ay0 + 4, ctx, framed, lk)


def _matrix(r: Rng, nr, nc):
    kind = r.c(["blocks", "smooth", "diag", "random"])
    if kind == "smooth":
        m = _noise_field(r, nr, nc, max(2.0, min(nr, nc) / r.u(1.5, 4)), 2)
    elif kind == "diag":
        ii, jj = np.mgrid[0:nr, 0:nc]
        m = np.exp(-((ii / max(1, nr - 1) - jj / max(1, nc - 1)) ** 2) / r.u(0.01, 0.08))
        m = m + r.g.random((nr, nc)) * 0.25
    elif kind == "blocks":
        kb = r.i(2, 5)
        rb = np.sort(r.g.integers(0, kb, nr))
        cb = np.sort(r.g.integers(0, kb, nc))
        m = (rb[:, None] == cb[None, :]).astype(float) * r.u(0.5, 1) + r.g.random((nr, nc)) * 0.45
    else:
        m = r.g.random((nr, nc))
    m = m - m.min()
    return m / (m.max() or 1)


def draw_heatmap(img, rect, ctx: Ctx):
    r, s, ink = ctx.r, ctx.small, ctx.ink
    x0, y0, x1, y1 = rect
    W, H = x1 - x0, y1 - y0
    nr = r.i(4, max(5, min(30, H // 12)))
    nc = r.i(4, max(5, min(30, W // 14)))
    m = _matrix(r, nr, nc)
    lut = lut_for(r.c(CMAPS))
    rows = [r.c(GENES) for _ in range(nr)] if (r.p(0.7) and H / nr >= s.px + 2) else None
    rl = max(s.size(t)[0] for t in rows) + 6 if rows else 0
    col_labels = r.p(0.5) and W / nc >= s.px + 3
    cl = max(vsize(t, s)[0] for t in CATS[:nc]) + 4 if col_labels else 0
    cbar = r.p(0.75)
    cbw = (r.i(10, 18) + 6 + s.size("0.0")[0] + 8) if cbar else 0
    dendro = r.p(0.25)
    dh = r.i(15, 35) if dendro else 0
    hx0, hy0 = x0 + rl, y0 + dh + 2
    hx1, hy1 = x1 - cbw - 2, y1 - cl - 2
    if hx1 - hx0 < 30 or hy1 - hy0 < 30:
        hx0, hy0, hx1, hy1 = x0, y0, x1, y1
        rows = None
        col_labels = cbar = dendro = False
    hw, hh = hx1 - hx0, hy1 - hy0
    tile = cv2.resize(colorize(m, lut), (hw, hh), interpolation=cv2.INTER_NEAREST)
    img[hy0:hy1, hx0:hx1] = tile
    if r.p(0.3) and hw / nc > 6 and hh / nr > 6:
        gc = ctx.bg
        for k in range(1, nc):
            xx = hx0 + int(round(k * hw / nc))
            cv2.line(img, (xx, hy0), (xx, hy1 - 1), gc, 1)
        for k in range(1, nr):
            yy = hy0 + int(round(k * hh / nr))
            cv2.line(img, (hx0, yy), (hx1 - 1, yy), gc, 1)
    if rows:
        for k, t in enumerate(rows):
            yy = hy0 + (k + 0.5) * hh / nr
            s.draw(img, t, hx0 - 4 - s.size(t)[0], yy - s.px / 2, ink)
    if col_labels:
        for k in range(nc):
            t = CATS[k % len(CATS)]
            vh, vw = vsize(t, s)
            text_vertical(img, t, s, hx0 + (k + 0.5) * hw / nc - vw / 2, hy1 + 3, ink)
    if cbar:
        bx0 = hx1 + 6
        bw = cbw - 6 - s.size("0.0")[0] - 8
        by0, by1 = hy0 + hh // 6, hy1 - hh // 6
        grad = np.linspace(1, 0, max(2, by1 - by0))[:, None].repeat(bw, 1)
        img[by0:by1, bx0:bx0 + bw] = colorize(grad, lut)
        cv2.rectangle(img, (bx0, by0), (bx0 + bw - 1, by1 - 1), ink, 1)
        for t, yy in (("1.0", by0), ("0.0", by1 - s.px)):
            s.draw(img, t, bx0 + bw + 4, yy, ink)
    if dendro:
        leaves = np.linspace(hx0 + hw / nc / 2, hx1 - hw / nc / 2, nc)
        level = [(float(x), float(hy0 - 2)) for x in leaves]
        while len(level) > 1:
            nxt = []
            for a in range(0, len(level) - 1, 2):
                (xa, ya), (xb, yb) = level[a], level[a + 1]
                yt = min(ya, yb) - r.u(2, dh / 3)
                yt = max(y0, yt)
                cv2.line(img, (int(xa), int(ya)), (int(xa), int(yt)), ink, 1)
                cv2.line(img, (int(xb), int(yb)), (int(xb), int(yt)), ink, 1)
                cv2.line(img, (int(xa), int(yt)), (int(xb), int(yt)), ink, 1)
                nxt.append(((xa + xb) / 2, yt))
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt


def _boundary(c, half, shape, d):
    dx, dy = d
    a, b = half
    if shape in ("circle", "ellipse"):
        t = 1.0 / math.sqrt((dx / a) ** 2 + (dy / b) ** 2 + 1e-12)
    else:
        t = min(a / (abs(dx) + 1e-9), b / (abs(dy) + 1e-9))
    return (c[0] + dx * t, c[1] + dy * t)


def _node(img, c, half, shape, fill, ink, lw, label, font):
    cx, cy = int(c[0]), int(c[1])
    a, b = int(half[0]), int(half[1])
    if shape == "rect":
        if fill is not None:
            cv2.rectangle(img, (cx - a, cy - b), (cx + a, cy + b), fill, -1)
        cv2.rectangle(img, (cx - a, cy - b), (cx + a, cy + b), ink, lw, AA)
    elif shape == "round":
        rr = max(3, min(a, b) // 3)
        pts = []
        for (qx, qy, ang) in ((cx + a - rr, cy - b + rr, -90), (cx + a - rr, cy + b - rr, 0),
                              (cx - a + rr, cy + b - rr, 90), (cx - a + rr, cy - b + rr, 180)):
            pts.extend(cv2.ellipse2Poly((qx, qy), (rr, rr), 0, ang, ang + 90, 15))
        p = _pts(pts)
        if fill is not None:
            cv2.fillPoly(img, [p], fill, AA)
        cv2.polylines(img, [p], True, ink, lw, AA)
    elif shape in ("circle", "ellipse"):
        ax = (min(a, b), min(a, b)) if shape == "circle" else (a, b)
        if fill is not None:
            cv2.ellipse(img, (cx, cy), ax, 0, 0, 360, fill, -1, AA)
        cv2.ellipse(img, (cx, cy), ax, 0, 0, 360, ink, lw, AA)
    else:  # polygon
        k = {"hex": 6, "tri": 3, "diamond": 4, "pent": 5}[shape]
        off = -math.pi / 2 if shape != "hex" else 0
        p = _pts([(cx + a * math.cos(off + 2 * math.pi * j / k), cy + b * math.sin(off + 2 * math.pi * j / k))
                  for j in range(k)])
        if fill is not None:
            cv2.fillPoly(img, [p], fill, AA)
        cv2.polylines(img, [p], True, ink, lw, AA)
    if label and font is not None:
        lf = font.fit(label, 2 * a * (0.8 if shape in ("rect", "round") else 0.62))
        if lf is not None and lf.px <= 2 * b * 0.7:
            w, h, _ = lf.size(label)
            tc = ink
            if fill is not None and abs(lum(fill) - lum(ink)) < 90:
                tc = (0, 0, 0) if lum(fill) > 128 else (255, 255, 255)
            lf.draw(img, label, cx - w / 2, cy - h / 2, tc)


def draw_schematic(img, rect, ctx: Ctx):
    r, ink, lw = ctx.r, ctx.ink, ctx.lw
    x0, y0, x1, y1 = rect
    W, H = x1 - x0, y1 - y0
    cols = max(1, min(5, int(round(W / r.u(130, 230)))))
    rows = max(1, min(4, int(round(H / r.u(110, 200)))))
    if cols * rows < 3:
        if W >= H:
            cols = max(cols, 3 if W > 200 else 2)
        else:
            rows = max(rows, 3 if H > 200 else 2)
    cw, ch = W / cols, H / rows
    cells = [(i, j) for j in range(rows) for i in range(cols)]
    keep = [c for c in cells if r.p(0.85)]
    if len(keep) < min(3, len(cells)):
        keep = cells
    nodes = []
    shapes = r.sample(["rect", "round", "circle", "ellipse", "hex", "diamond", "tri", "rect", "round"], 3)
    fills = ctx.palette if ctx.dark else PASTELS
    no_fill = r.p(0.25)
    font = ctx.font
    membrane = r.p(0.2) and rows >= 2
    for (i, j) in keep:
        cx = x0 + (i + 0.5) * cw + r.u(-0.08, 0.08) * cw
        cy = y0 + (j + 0.5) * ch + r.u(-0.08, 0.08) * ch
        a = cw * r.u(0.25, 0.38)
        b = min(ch * r.u(0.2, 0.36), a * r.u(0.45, 1.0))
        shape = r.c(shapes)
        if shape in ("circle", "hex", "pent", "diamond", "tri"):
            a = b = min(a, ch * 0.36)
        cx = min(max(cx, x0 + a + 3), x1 - a - 4)
        cy = min(max(cy, y0 + b + 3), y1 - b - 4)
        fill = None if no_fill else r.c(fills)
        nodes.append(((cx, cy), (a, b), shape, fill))
    if membrane:
        my = y0 + ch * rows * r.u(0.35, 0.65)
        my = int(round(y0 + ch * round((my - y0) / ch)))
        band = max(6, int(ch * 0.08))
        mc = mix(r.c(PASTELS), ink, 0.3)
        cv2.rectangle(img, (x0 + 2, my - band), (x1 - 3, my + band), mc, -1)
        step = max(6, band)
        for xx in range(x0 + 4, x1 - 4, step):
            cv2.circle(img, (xx, my - band), max(2, band // 2), ink, 1, AA)
            cv2.circle(img, (xx, my + band), max(2, band // 2), ink, 1, AA)
    order = list(range(len(nodes)))
    edges = [(order[k], order[k + 1]) for k in range(len(order) - 1)]
    for _ in range(r.i(0, 2)):
        if len(nodes) > 2:
            a, b = r.sample(range(len(nodes)), 2)
            edges.append((a, b))
    dashed = r.p(0.3)
    for (a, b) in edges:
        (ca, ha, sa, _), (cb, hb, sb, _) = nodes[a], nodes[b]
        d = np.array(cb) - np.array(ca)
        L = float(np.hypot(*d))
        if L < 10:
            continue
        u = d / L
        p = _boundary(ca, (ha[0] + 4, ha[1] + 4), sa, u)
        q = _boundary(cb, (hb[0] + 5, hb[1] + 5), sb, -u)
        if np.dot(np.array(q) - np.array(p), u) < 8:
            continue
        if dashed and r.p(0.4):
            _dashed(img, p, q, ink, 1)
        else:
            seg = float(np.hypot(q[0] - p[0], q[1] - p[1]))
            cv2.arrowedLine(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), ink, max(1, lw), AA,
                            tipLength=min(0.45, 10.0 / max(seg, 1)))
    for (c, h, shp, fill) in nodes:
        nf = Font(font.face, min(font.px * 1.5, max(font.px, h[1] * 0.45)), font.thick)
        _node(img, c, h, shp, fill, ink, max(1, lw), r.c(NODE_WORDS), nf)
    if r.p(0.3):
        t = r.c(NODE_WORDS + WORDS)
        ctx.small.draw(img, t, x0 + 3, y1 - ctx.small.px - 6, ink)


def draw_block(img, rect, ctx: Ctx):
    """IEEE-style block diagram with orthogonal connectors and a feedback loop."""
    r, ink, lw = ctx.r, ctx.ink, max(1, ctx.lw)
    x0, y0, x1, y1 = rect
    W, H = x1 - x0, y1 - y0
    n = max(2, min(6, int(W / r.u(90, 160))))
    rows = 2 if (H > 170 and r.p(0.55)) else 1
    bh = min(H / (rows * 2.4), max(r.u(28, 60), H * 0.2 / rows))
    font = ctx.font
    bw = W / (n * 1.6)
    fill = None if r.p(0.5) else r.c(PASTELS if not ctx.dark else ctx.palette)
    ys = [y0 + H * (j + 1) / (rows + 1) - (H * 0.08 if rows == 1 else 0) for j in range(rows)]
    prev = None
    for j, yc in enumerate(ys):
        xs = [x0 + W * (k + 0.5) / n for k in range(n)]
        if j == 1:
            xs = xs[::-1]
        for k, xc in enumerate(xs):
            lab = r.c(NODE_WORDS)
            if r.p(0.15):
                cv2.circle(img, (int(xc), int(yc)), int(bh / 2.5), ink, lw, AA)
                ctx.small.draw(img, "+", xc - ctx.small.size("+")[0] / 2, yc - ctx.small.px / 2, ink)
                half = (bh / 2.5, bh / 2.5)
            else:
                _node(img, (xc, yc), (bw / 2, bh / 2), "rect", fill, ink, lw, lab, font)
                half = (bw / 2, bh / 2)
            if prev is not None:
                (px_, py_), ph = prev
                if abs(py_ - yc) < 1:
                    sgn = 1 if xc > px_ else -1
                    p = (px_ + sgn * ph[0], yc)
                    q = (xc - sgn * half[0], yc)
                    seg = abs(q[0] - p[0])
                    cv2.arrowedLine(img, (int(p[0]), int(yc)), (int(q[0]), int(yc)), ink, lw, AA,
                                    tipLength=min(0.4, 9.0 / max(seg, 1)))
                    if r.p(0.3):
                        t = r.c(["x(t)", "y[n]", "u", "e", "z", "h", "s(t)"])
                        ctx.small.draw(img, t, (p[0] + q[0]) / 2 - ctx.small.size(t)[0] / 2,
                                       yc - ctx.small.px - 6, ink)
                else:
                    xm = px_ + ph[0] + 12
                    pts = _pts([(px_ + ph[0], py_), (xm, py_), (xm, yc)])
                    cv2.polylines(img, [pts], False, ink, lw, AA)
                    cv2.arrowedLine(img, (int(xm), int(yc)), (int(xc + half[0] + 1), int(yc)), ink, lw, AA,
                                    tipLength=min(0.4, 9.0 / max(abs(xm - xc - half[0]), 1)))
            prev = ((xc, yc), half)
    # feedback loop below the first row
    if rows == 1 and n >= 3 and r.p(0.6):
        a, b = sorted(r.sample(range(n), 2))
        xa, xb = x0 + W * (a + 0.5) / n, x0 + W * (b + 0.5) / n
        yb = ys[0] + bh / 2 + min(H * 0.25, 40)
        if yb < y1 - 4:
            cv2.polylines(img, [_pts([(xb, ys[0] + bh / 2), (xb, yb), (xa, yb)])], False, ink, lw, AA)
            cv2.arrowedLine(img, (int(xa), int(yb)), (int(xa), int(ys[0] + bh / 2 + 1)), ink, lw, AA,
                            tipLength=0.3)
    # in / out terminals
    cv2.arrowedLine(img, (x0 + 2, int(ys[0])), (int(x0 + W * 0.5 / n - bw / 2), int(ys[0])), ink, lw, AA,
                    tipLength=0.3)


def _bands_gel(r: Rng, h, w, lanes, dark_bg, light_base=235):
    g = np.zeros((h, w), np.float32)
    lw_ = w / lanes
    ladder = r.p(0.6)
    for k in range(lanes):
        lx0, lx1 = int(k * lw_ + lw_ * 0.15), int((k + 1) * lw_ - lw_ * 0.15)
        nb = r.i(8, 12) if (ladder and k == 0) else r.i(1, 4)
        for _ in range(nb):
            yy = int(r.u(0.08, 0.92) * h)
            th = max(2, int(h * r.u(0.012, 0.03)))
            g[yy:yy + th, lx0:lx1] += r.u(0.3, 1.0)
        if r.p(0.3):
            g[int(h * 0.04):, lx0:lx1] += r.u(0.02, 0.08)
    g = cv2.GaussianBlur(g, (0, 0), max(0.8, h / 120))
    g = np.clip(g + r.g.normal(0, 0.02, g.shape).astype(np.float32), 0, 1)
    if dark_bg:
        v = 20 + g * 225
    else:
        v = light_base - g * (light_base - 35)
    v = np.clip(v, 0, 255).astype(np.uint8)
    return cv2.cvtColor(v, cv2.COLOR_GRAY2BGR)


def draw_gel(img, rect, ctx: Ctx):
    r, s, ink = ctx.r, ctx.small, ctx.ink
    x0, y0, x1, y1 = rect
    W, H = x1 - x0, y1 - y0
    if r.p(0.5):  # DNA gel, dark, with lane labels and a size column
        lanes = r.i(4, 12)
        top = s.px + 8
        left = s.size("1000")[0] + 8 if r.p(0.7) else 0
        gx0, gy0, gx1, gy1 = x0 + left, y0 + top, x1 - 2, y1 - 2
        if gx1 - gx0 < 40 or gy1 - gy0 < 40:
            gx0, gy0 = x0, y0
            left = top = 0
        img[gy0:gy1, gx0:gx1] = _bands_gel(r, gy1 - gy0, gx1 - gx0, lanes, True)
        lwid = (gx1 - gx0) / lanes
        labs = [str(k + 1) for k in range(lanes)] if r.p(0.5) else [r.c(["M", "+", "-"]) for _ in range(lanes)]
        if top:
            for k, t in enumerate(labs):
                tw = s.size(t)[0]
                if tw < lwid:
                    s.draw(img, t, gx0 + (k + 0.5) * lwid - tw / 2, y0 + 2, ink)
        if left:
            for t in ["1000", "500", "200"][: max(1, int((gy1 - gy0) / (s.px * 3)))]:
                yy = gy0 + (gy1 - gy0) * {"1000": 0.2, "500": 0.45, "200": 0.75}[t]
                s.draw(img, t, gx0 - 5 - s.size(t)[0], yy - s.px / 2, ink)
    else:  # western blot strips with protein names on the right
        nstrip = max(1, min(r.i(2, 6), int(H / 40)))
        names = r.sample(PROTEINS, nstrip)
        right = max(s.size(t)[0] for t in names) + 8
        top = s.px + 8 if r.p(0.7) else 0
        lanes = r.i(3, 10)
        gx0, gx1 = x0 + 2, x1 - right
        if gx1 - gx0 < 40:
            gx1 = x1 - 2
            names = None
        gap = r.i(3, 8)
        sh = (y1 - y0 - top - gap * (nstrip - 1) - 2) / nstrip
        sh = min(sh, r.u(35, 90))
        yy = y0 + top
        if top:
            lwid = (gx1 - gx0) / lanes
            for k in range(lanes):
                t = r.c(["+", "-"])
                s.draw(img, t, gx0 + (k + 0.5) * lwid - s.size(t)[0] / 2, y0 + 2, ink)
        for k in range(nstrip):
            h_ = max(10, int(sh))
            if yy + h_ > y1:
                break
            strip = _bands_gel(r, h_, gx1 - gx0, lanes, False)
            img[int(yy):int(yy) + h_, gx0:gx1] = strip[: h_]
            cv2.rectangle(img, (gx0, int(yy)), (gx1 - 1, int(yy) + h_ - 1), mix(ink, ctx.bg, 0.5), 1)
            if names:
                s.draw(img, names[k], gx1 + 5, yy + h_ / 2 - s.px / 2, ink)
            yy += h_ + gap


def draw_table(img, rect, ctx: Ctx):
    r, s, ink = ctx.r, ctx.small, ctx.ink
    x0, y0, x1, y1 = rect
    W, H = x1 - x0, y1 - y0
    ncol = r.i(3, 5)
    nrow = r.i(4, 12)
    rowh = H * r.u(0.6, 0.95) / (nrow + 1)
    s = Font(s.face, min(max(s.px, rowh / 2.2), s.px * 2.2), s.thick)
    rowh = int(max(s.px * 1.6, min(rowh, s.px * 2.6)))
    nrow = max(2, min(nrow, (H - 10) // rowh - 1))
    hdr = ["Method", "Params", "Acc.", "F1", "Time (s)", "R2", "RMSE", "T (K)", "Ea (eV)"]
    cols = [hdr[0]] + r.sample(hdr[1:], ncol - 1)
    cw = (W - 8) / ncol
    y = y0 + 4
    thick = r.p(0.6)
    cv2.line(img, (x0 + 2, y), (x1 - 3, y), ink, 2 if thick else 1)
    bold = Font(s.face, s.px, 2 if s.px >= 12 else 1)
    for k, t in enumerate(cols):
        f = bold.fit(t, cw - 6)
        if f:
            f.draw(img, t, x0 + 4 + k * cw, y + (rowh - s.px) / 2, ink)
    y += rowh
    cv2.line(img, (x0 + 2, y), (x1 - 3, y), ink, 1)
    for j in range(nrow):
        for k in range(ncol):
            t = r.c(SERIES + CATS) if k == 0 else f"{r.u(0, 99):.{r.i(1, 2)}f}"
            f = s.fit(t, cw - 6)
            if f:
                f.draw(img, t, x0 + 4 + k * cw, y + (rowh - s.px) / 2, ink)
        y += rowh
        if r.p(0.15) and j < nrow - 1:
            cv2.line(img, (x0 + 2, y), (x1 - 3, y), mix(ink, ctx.bg, 0.6), 1)
    cv2.line(img, (x0 + 2, y), (x1 - 3, y), ink, 2 if thick else 1)


# ================================================================ textures
def _noise_field(r: Rng, h, w, cell, octaves=3):
    h, w = max(1, int(h)), max(1, int(w))
    acc = np.zeros((h, w), np.float32)
    amp, tot = 1.0, 0.0
    for _ in range(octaves):
        gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
        n = r.g.random((gh, gw), dtype=np.float32)
        acc += amp * cv2.resize(n, (w, h), interpolation=cv2.INTER_CUBIC)
        tot += amp
        amp *= 0.5
        cell = max(1.5, cell / 2)
    acc -= acc.min()
    m = float(acc.max())
    return acc / m if m > 0 else acc


def _work_size(h, w):
    f = 1
    while (h // f) * (w // f) > 220_000:
        f += 1
    return f, -(-h // f), -(-w // f)


def _finish(out, h, w):
    out = np.clip(out, 0, 255).astype(np.uint8)
    if out.shape[0] != h or out.shape[1] != w:
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(out)


def tex_fluo(r: Rng, h, w, **_):
    f, hh, ww = _work_size(h, w)
    out = np.zeros((hh, ww, 3), np.float32) + r.u(0, 12)
    mode = r.c(["cells", "tissue", "puncta", "neurons", "cells"])
    chans = r.sample(FLUO[:6], r.i(1, 3))
    rad = max(2.0, r.u(5, 24) / f)
    n = int(min(450, hh * ww / (rad * rad * r.u(6, 25))))
    cent = r.g.random((n, 2)) * [ww, hh]
    for ci, col in enumerate(chans):
        layer = np.zeros((hh, ww), np.uint8)
        if mode == "tissue":
            fld = _noise_field(r, hh, ww, r.u(20, 90) / f, 3)
            layer = (np.clip((fld - r.u(0.3, 0.6)) * 3, 0, 1) * 255).astype(np.uint8)
        elif mode == "neurons":
            for _ in range(r.i(4, 15)):
                p = r.g.random(2) * [ww, hh]
                pts = [p.copy()]
                ang = r.u(0, 6.3)
                for _ in range(r.i(10, 40)):
                    ang += r.g.normal(0, 0.35)
                    p = p + 6 / f * np.array([math.cos(ang), math.sin(ang)]) * 3
                    pts.append(p.copy())
                cv2.polylines(layer, [_pts(pts)], False, r.i(120, 255), max(1, int(2 / f)), AA)
                cv2.circle(layer, (int(pts[0][0]), int(pts[0][1])), max(2, int(rad)), 255, -1, AA)
        else:
            for (cx, cy) in cent:
                if not r.p(0.75):
                    continue
                if mode == "puncta":
                    cv2.circle(layer, (int(cx), int(cy)), max(2, int(rad / 3)), r.i(140, 255), -1, AA)
                else:
                    ax_ = (max(1, int(rad * r.u(0.6, 1.3))), max(1, int(rad * r.u(0.4, 1.0))))
                    cv2.ellipse(layer, (int(cx), int(cy)), ax_, r.u(0, 180), 0, 360, r.i(60, 255), -1, AA)
        layer = cv2.GaussianBlur(layer, (0, 0), r.u(0.8, 2.5))
        tex = 0.45 + 0.55 * _noise_field(r, hh, ww, max(2.0, rad), 2)
        out += (layer.astype(np.float32) * tex)[..., None] * (np.array(col, np.float32) / 255.0)
    if r.p(0.5) and mode != "tissue":
        layer = np.zeros((hh, ww), np.uint8)
        for (cx, cy) in cent[: n // 2]:
            cv2.ellipse(layer, (int(cx), int(cy)), (max(1, int(rad * 0.45)), max(1, int(rad * 0.35))),
                        r.u(0, 180), 0, 360, r.i(90, 230), -1, AA)
        layer = cv2.GaussianBlur(layer, (0, 0), 1.2)
        out += layer.astype(np.float32)[..., None] * (np.array(hexbgr("3050FF"), np.float32) / 255.0)
    out += r.g.normal(0, r.u(1.5, 7), (hh, ww, 1)).astype(np.float32)
    return _finish(out, h, w)


def tex_he(r: Rng, h, w, **_):
    f, hh, ww = _work_size(h, w)
    tis = _noise_field(r, hh, ww, r.u(60, 220) / f, 3)
    mask = tis > r.u(0.15, 0.35)
    pink = np.array(mix(hexbgr("E8A0C8"), hexbgr("D070A8"), r.u(0, 1)), np.float32)
    fine = _noise_field(r, hh, ww, max(2.0, 8 / f), 2)[..., None]
    out = np.where(mask[..., None], pink * (0.82 + 0.3 * fine), np.array(hexbgr(r.c(["EAD8E6", "E4D0E0", "EEDCEA"])), np.float32))
    out = out.astype(np.float32)
    nuc = np.zeros((hh, ww), np.uint8)
    k = int(min(1500, hh * ww / r.u(150, 500) * f * f / 4))
    pts = r.g.random((k, 2)) * [ww, hh]
    for (cx, cy) in pts:
        if mask[min(hh - 1, int(cy)), min(ww - 1, int(cx))]:
            cv2.ellipse(nuc, (int(cx), int(cy)), (max(1, int(r.u(2, 5) / f)), max(1, int(r.u(1.5, 4) / f))),
                        r.u(0, 180), 0, 360, 255, -1, AA)
    nuc = cv2.GaussianBlur(nuc, (0, 0), 0.8).astype(np.float32)[..., None] / 255.0
    dark = np.array(hexbgr("5A2A80"), np.float32)
    out = out * (1 - 0.85 * nuc) + dark * 0.85 * nuc
    out += r.g.normal(0, 3, (hh, ww, 1)).astype(np.float32)
    return _finish(out, h, w)


def tex_em(r: Rng, h, w, **_):
    f, hh, ww = _work_size(h, w)
    base = r.u(100, 165)
    out = base + (_noise_field(r, hh, ww, r.u(40, 160) / f, 3) - 0.5) * r.u(30, 70)
    out = out.astype(np.float32)
    layer = np.zeros((hh, ww), np.uint8)
    for _ in range(r.i(3, 25)):
        c = (int(r.u(0, ww)), int(r.u(0, hh)))
        ax_ = (int(r.u(8, 80) / f) + 1, int(r.u(5, 40) / f) + 1)
        cv2.ellipse(layer, c, ax_, r.u(0, 180), 0, 360, r.i(60, 140), max(1, int(r.u(1, 4) / f)), AA)
        if r.p(0.4):
            for _ in range(r.i(2, 5)):
                cv2.ellipse(layer, c, (max(1, ax_[0] - r.i(2, 6)), max(1, ax_[1] // 3)), r.u(0, 180), 0, 360,
                            r.i(40, 100), 1, AA)
    for _ in range(r.i(10, 80)):
        cv2.circle(layer, (int(r.u(0, ww)), int(r.u(0, hh))), max(1, int(r.u(2, 7) / f)), r.i(50, 120), 1, AA)
    layer = cv2.GaussianBlur(layer, (0, 0), 0.9).astype(np.float32)
    out = out - layer * 0.8
    out += r.g.normal(0, r.u(5, 14), (hh, ww)).astype(np.float32)
    out = cv2.GaussianBlur(out, (0, 0), 0.6)
    return _finish(np.repeat(out[..., None], 3, 2), h, w)


def tex_sem(r: Rng, h, w, **_):
    f, hh, ww = _work_size(h, w)
    out = np.zeros((hh, ww), np.float32) + r.u(25, 70)
    out += _noise_field(r, hh, ww, r.u(30, 100) / f, 2) * 30
    n = r.i(20, 250)
    rad = r.u(4, 30) / f
    for _ in range(n):
        cx, cy = r.u(0, ww), r.u(0, hh)
        rr = max(2, int(rad * r.u(0.5, 1.5)))
        cv2.circle(out, (int(cx), int(cy)), rr, r.u(110, 200), -1, AA)
        cv2.circle(out, (int(cx - rr / 3), int(cy - rr / 3)), max(1, rr // 3), r.u(200, 250), -1, AA)
    out = cv2.GaussianBlur(out, (0, 0), max(0.7, rad / 6))
    out += r.g.normal(0, r.u(4, 12), (hh, ww)).astype(np.float32)
    return _finish(np.repeat(out[..., None], 3, 2), h, w)


def tex_photo(r: Rng, h, w, **_):
    f, hh, ww = _work_size(h, w)
    if r.p(0.5):  # outdoor / field photo
        hz = int(hh * r.u(0.25, 0.6))
        top, mid = np.array(hexbgr(r.c(["6A9AD8", "8AB4E8", "B0C4D8", "7890A8"])), np.float32), \
            np.array(hexbgr("D8E0E8"), np.float32)
        t = np.linspace(0, 1, hz)[:, None, None]
        sky = np.broadcast_to(top * (1 - t) + mid * t, (hz, ww, 3))
        g0 = np.array(hexbgr(r.c(["6A7A40", "8A7050", "A08060", "5A6A48", "909090"])), np.float32)
        tex = _noise_field(r, hh - hz, ww, r.u(10, 60) / f, 4)[..., None]
        ground = g0 * (0.6 + 0.7 * tex)
        out = np.concatenate([sky, ground], 0).astype(np.float32)
        for _ in range(r.i(2, 12)):
            c = (int(r.u(0, ww)), int(hz + r.u(-0.05, 0.4) * hh))
            cv2.ellipse(out, c, (int(r.u(5, 60) / f) + 1, int(r.u(5, 40) / f) + 1), 0, 0, 360,
                        tuple(float(v) for v in g0 * r.u(0.3, 0.8)), -1, AA)
    else:  # bench photo of a device
        base = np.array(hexbgr(r.c(["3A3A3A", "5A5A60", "202428", "7A7060"])), np.float32)
        grad = np.linspace(0.7, 1.3, ww)[None, :, None]
        out = (base * grad * (0.85 + 0.3 * _noise_field(r, hh, ww, 80 / f, 2)[..., None])).astype(np.float32)
        out = np.ascontiguousarray(np.broadcast_to(out, (hh, ww, 3))).copy()
        for _ in range(r.i(1, 5)):
            x0, y0 = int(r.u(0, ww * 0.7)), int(r.u(0, hh * 0.7))
            x1, y1 = x0 + int(r.u(0.1, 0.4) * ww), y0 + int(r.u(0.1, 0.4) * hh)
            col = hexbgr(r.c(["C8A040", "B0B0B8", "306030", "D0D0D0", "A04020"]))
            cv2.rectangle(out, (x0, y0), (x1, y1), tuple(float(c) for c in col), -1)
            for k in range(r.i(0, 8)):
                yy = y0 + (k + 1) * (y1 - y0) / 9
                cv2.line(out, (x0, int(yy)), (x1, int(yy)), (40.0, 40.0, 40.0), 1, AA)
    out = cv2.GaussianBlur(out, (0, 0), 0.8)
    out += r.g.normal(0, 3, (hh, ww, 1)).astype(np.float32)
    return _finish(out, h, w)


def tex_map(r: Rng, h, w, **_):
    f, hh, ww = _work_size(h, w)
    fld = _noise_field(r, hh, ww, r.u(60, 260) / f, 4)
    lut = lut_for(r.c(["terrain", cv2.COLORMAP_VIRIDIS, cv2.COLORMAP_TURBO, cv2.COLORMAP_JET,
                       cv2.COLORMAP_INFERNO, cv2.COLORMAP_PARULA]))
    # keep edges away from white: stretch the field over the darker 85 % of the LUT
    out = colorize(0.08 + fld * 0.8, lut).astype(np.float32)
    if r.p(0.5):
        sea = fld < r.u(0.25, 0.5)
        shade = (0.8 + 0.2 * fld[..., None] / 0.5)
        out = np.where(sea[..., None], np.array(hexbgr("5E8FC8"), np.float32) * shade, out)
        m = (~sea).astype(np.uint8)
        cs, _ = cv2.findContours(m, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, cs, -1, (40.0, 40.0, 40.0), 1, AA)
    if r.p(0.5):
        for lev in np.linspace(0.2, 0.8, r.i(3, 6)):
            cs, _ = cv2.findContours((fld > lev).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(out, cs, -1, (60.0, 60.0, 60.0), 1, AA)
    if r.p(0.4):
        step = int(r.u(0.15, 0.3) * min(hh, ww)) + 1
        gc = (90.0, 90.0, 90.0) if r.p(0.6) else (230.0, 230.0, 230.0)
        for x in range(step, ww, step):  # dashed graticule (never a full-height solid line)
            _dashed(out, (x, 0), (x, hh - 1), gc, 1, 5, 5)
        for y in range(step, hh, step):
            _dashed(out, (0, y), (ww - 1, y), gc, 1, 5, 5)
    if r.p(0.4):
        for _ in range(r.i(3, 15)):
            cv2.circle(out, (int(r.u(0, ww)), int(r.u(0, hh))), max(2, int(4 / f)), (0.0, 0.0, 200.0), -1, AA)
    return _finish(out, h, w)


def tex_heat(r: Rng, h, w, **_):
    f, hh, ww = _work_size(h, w)
    if r.p(0.5):  # spectrogram-like
        fld = _noise_field(r, hh, ww, r.u(20, 80) / f, 3) * 0.5
        yy = np.linspace(0, 1, hh)[:, None]
        for _ in range(r.i(1, 4)):
            c = r.u(0.2, 0.9) + 0.1 * np.sin(np.linspace(0, r.u(2, 12), ww))[None, :]
            fld += np.exp(-((yy - c) ** 2) / r.u(0.0005, 0.01)) * r.u(0.3, 0.7)
        fld = fld / fld.max()
    else:
        fld = cv2.resize(_matrix(r, r.i(6, 40), r.i(6, 40)).astype(np.float32), (ww, hh),
                         interpolation=cv2.INTER_NEAREST)
    cmap = r.c([cv2.COLORMAP_VIRIDIS, cv2.COLORMAP_INFERNO, cv2.COLORMAP_MAGMA, cv2.COLORMAP_PLASMA,
                cv2.COLORMAP_JET, cv2.COLORMAP_TURBO, cv2.COLORMAP_PARULA, cv2.COLORMAP_CIVIDIS])
    out = colorize(fld * 0.96, lut_for(cmap)).astype(np.float32)
    return _finish(out, h, w)


def tex_gel(r: Rng, h, w, **_):
    # a full-panel light blot is kept visibly darker than a white page
    return _bands_gel(r, h, w, r.i(4, 14), r.p(0.7), light_base=r.i(195, 215))


TEXTURES = {"fluo": tex_fluo, "he": tex_he, "em": tex_em, "sem": tex_sem, "photo": tex_photo,
            "map": tex_map, "heat": tex_heat, "gel": tex_gel}
DARK_EDGE_TEX = ["fluo", "em", "sem", "map", "heat", "fluo"]  # safe next to 1-6 px white lines


def _corner_lum(img, corner, size):
    h, w = img.shape[:2]
    s = max(4, int(size))
    ys = slice(0, s) if corner[0] == "t" else slice(max(0, h - s), h)
    xs = slice(0, s) if corner[1] == "l" else slice(max(0, w - s), w)
    reg = img[ys, xs].reshape(-1, 3).astype(np.float32).mean(0)
    return lum(reg)


def image_overlays(img, r: Rng, kind, fig, busy: set):
    """Scale bar, channel label, arrowheads, inset, time stamp, drawn over an image panel."""
    h, w = img.shape[:2]
    light = _corner_lum(img, "br", min(h, w) / 3) < 128
    col = (255, 255, 255) if light else (0, 0, 0)
    m = r.i(6, 18)
    s = fig.small
    if kind in ("fluo", "em", "sem", "he", "photo") and r.p(0.65):
        corner = r.c(["br", "bl"])
        if corner not in busy:
            busy.add(corner)
            L = int(w * r.u(0.08, 0.22))
            t = r.i(2, 8)
            x0 = w - m - L if corner == "br" else m
            y1 = h - m
            cv2.rectangle(img, (x0, y1 - t), (x0 + L, y1), col, -1)
            if r.p(0.4):
                lab = r.c(["10 um", "50 um", "100 nm", "1 mm", "200 nm", "5 um"])
                tw = s.size(lab)[0]
                s.draw(img, lab, x0 + (L - tw) / 2, y1 - t - s.px - 5, col)
    if kind == "fluo" and r.p(0.35) and "tr" not in busy:
        busy.add("tr")
        lab = r.c(CHANNELS)
        c2 = r.c([(255, 255, 255), hexbgr("00FF00"), hexbgr("FF40FF"), hexbgr("40A0FF"), hexbgr("FF4040")])
        tw = s.size(lab)[0]
        s.draw(img, lab, w - m - tw, m, c2)
    if kind in ("fluo", "em", "he", "sem") and r.p(0.25):
        ac = r.c([(255, 255, 255), hexbgr("FFFF00"), (0, 0, 0)]) if light else (0, 0, 0)
        for _ in range(r.i(1, 3)):
            x, y = r.u(0.2, 0.8) * w, r.u(0.25, 0.75) * h
            a = r.u(0, 2 * math.pi)
            L = max(8, min(h, w) * 0.05)
            tip = np.array([x, y])
            d = np.array([math.cos(a), math.sin(a)])
            nrm = np.array([-d[1], d[0]])
            base = tip + d * L
            cv2.fillPoly(img, [_pts([tip, base + nrm * L * 0.45, base - nrm * L * 0.45])], ac, AA)
    if kind in ("fluo", "em", "he", "sem", "photo", "map") and r.p(0.15) and min(h, w) > 220:
        corner = r.c(["tr", "br", "bl"])
        if corner not in busy:
            busy.add(corner)
            S = int(min(h, w) * r.u(0.25, 0.35))
            cs = S // 2
            sx, sy = int(r.u(0.2, 0.6) * w), int(r.u(0.3, 0.6) * h)
            crop = img[sy:sy + cs, sx:sx + cs].copy()
            if crop.shape[0] == cs and crop.shape[1] == cs:
                zoom = cv2.resize(crop, (S, S), interpolation=cv2.INTER_LINEAR)
                fc = (255, 255, 255) if light else (0, 0, 0)
                _dashed(img, (sx, sy), (sx + cs, sy), fc, 1)
                _dashed(img, (sx + cs, sy), (sx + cs, sy + cs), fc, 1)
                _dashed(img, (sx + cs, sy + cs), (sx, sy + cs), fc, 1)
                _dashed(img, (sx, sy + cs), (sx, sy), fc, 1)
                ix = w - S - 3 if corner[1] == "r" else 3
                iy = 3 if corner[0] == "t" else h - S - 3
                img[iy:iy + S, ix:ix + S] = zoom
                cv2.rectangle(img, (ix, iy), (ix + S - 1, iy + S - 1), fc, 2)
    if r.p(0.1) and "tr" not in busy and kind in ("fluo", "he", "photo", "em"):
        busy.add("tr")
        lab = r.c(["0 min", "t = 12 h", "Day 3", "30 s", "E14.5"])
        tw = s.size(lab)[0]
        s.draw(img, lab, w - m - tw, m, col)


def draw_strip(img, rect, ctx: Ctx, fig):
    """2-4 micrographs in a row with 2-4 px gaps and channel names above (one panel)."""
    r, s = ctx.r, ctx.small
    x0, y0, x1, y1 = rect
    k = r.i(2, 4)
    gap = r.i(2, 4)
    top = s.px + 8
    iw = (x1 - x0 - gap * (k - 1)) // k
    ih = min(y1 - y0 - top, int(iw * r.u(0.8, 1.2)))
    if iw < 40 or ih < 40:
        return draw_plot(img, rect, ctx, "line")
    names = r.sample(CHANNELS[:3] + CHANNELS[3:], k)
    cols = r.sample(FLUO[:4], k)
    for j in range(k):
        xx = x0 + j * (iw + gap)
        sub = tex_fluo(r, ih, iw)
        if j < k - 1 or not r.p(0.6):
            g = sub.max(2)
            sub = (g[..., None].astype(np.float32) * np.array(cols[j], np.float32) / 255).astype(np.uint8)
        img[y0 + top:y0 + top + ih, xx:xx + iw] = sub
        f = s.fit(names[j], iw - 4)
        if f:
            f.draw(img, names[j], xx + (iw - f.size(names[j])[0]) / 2, y0 + 2, ctx.ink)
    L = int(iw * 0.25)
    cv2.rectangle(img, (x0 + (k - 1) * (iw + gap) + iw - 8 - L, y0 + top + ih - 10),
                  (x0 + (k - 1) * (iw + gap) + iw - 8, y0 + top + ih - 7), (255, 255, 255), -1)


def draw_imglab(img, rect, ctx: Ctx, fig):
    """An image with a title above and (for maps) lon/lat tick labels outside it."""
    r, s, ink = ctx.r, ctx.small, ctx.ink
    x0, y0, x1, y1 = rect
    kind = r.c(["fluo", "map", "he", "em", "map", "photo"])
    title = r.c(CHANNELS + GENES + ["Observed", "Model", "Difference", "1990-2020", "Before", "After"])
    top = ctx.font.px + 8
    ticks = kind == "map"
    left = s.size("45N")[0] + 8 if ticks else 0
    bottom = s.px + 10 if ticks else 0
    ix0, iy0, ix1, iy1 = x0 + left, y0 + top, x1 - 2, y1 - bottom - 2
    if ix1 - ix0 < 50 or iy1 - iy0 < 50:
        ix0, iy0, ix1, iy1 = x0, y0, x1, y1
        top = left = bottom = 0
    sub = TEXTURES[kind](r, iy1 - iy0, ix1 - ix0)
    image_overlays(sub, r, kind, fig, {"tl"})
    img[iy0:iy1, ix0:ix1] = sub
    if top:
        f = ctx.font.fit(title, ix1 - ix0)
        if f:
            f.draw(img, title, ix0 + (ix1 - ix0 - f.size(title)[0]) / 2, y0 + 3, ink)
    if ticks and left:
        cv2.rectangle(img, (ix0, iy0), (ix1 - 1, iy1 - 1), ink, 1)
        for k, lab in enumerate(["40N", "45N", "50N"]):
            yy = iy1 - (k + 0.5) * (iy1 - iy0) / 3
            cv2.line(img, (ix0 - 4, int(yy)), (ix0, int(yy)), ink, 1)
            s.draw(img, lab, ix0 - 6 - s.size(lab)[0], yy - s.px / 2, ink)
        for k, lab in enumerate(["120W", "110W", "100W"]):
            xx = ix0 + (k + 0.5) * (ix1 - ix0) / 3
            cv2.line(img, (int(xx), iy1), (int(xx), iy1 + 4), ink, 1)
            s.draw(img, lab, xx - s.size(lab)[0] / 2, iy1 + 6, ink)


# ============================================================ panels/figs
CONTENT_W = {  # field -> weights for non-image content, image textures
    "bio": ({"line": 1, "scatter": 1, "bar": 3, "box": 1, "heatmap": 1.5, "schematic": 2, "gel": 1.5,
             "strip": 1.2, "imglab": 1, "table": 0.2, "spectrum": 0.2},
            {"fluo": 4, "he": 1.5, "em": 1, "photo": 0.4, "heat": 0.5, "gel": 0.8}),
    "phys": ({"line": 4, "scatter": 1.5, "spectrum": 1, "heatmap": 1, "schematic": 2, "bar": 0.5, "table": 0.3,
              "imglab": 0.5, "block": 0.3},
             {"sem": 1, "heat": 2, "photo": 1, "em": 0.5, "map": 0.3}),
    "chem": ({"spectrum": 3, "line": 2, "bar": 1, "schematic": 2, "scatter": 1, "table": 0.5, "heatmap": 0.4},
             {"sem": 2, "em": 1, "photo": 1, "heat": 0.5, "fluo": 0.5}),
    "geo": ({"line": 2, "scatter": 1, "bar": 1, "imglab": 2.5, "heatmap": 1, "schematic": 1, "table": 0.2},
            {"map": 4, "photo": 1.5, "heat": 1}),
    "eng": ({"line": 3, "bar": 2, "block": 2.5, "schematic": 1, "table": 1, "heatmap": 1, "scatter": 1},
            {"photo": 2, "heat": 1.5, "map": 0.3, "sem": 0.3}),
}
DARK_CONTENT = ["line", "scatter", "bar", "schematic", "block", "spectrum", "heatmap"]


@dataclass
class Panel:
    rect: tuple
    style: str = "plain"  # plain | tint | frame | image | dark | vivid | cell
    content: str = "line"
    bg: tuple = (255, 255, 255)
    frame: tuple | None = None  # (thickness, colour)
    slot: tuple | None = None
    letter: str | None = None
    letter_text: str | None = None
    letter_pos: str | None = None
    box: tuple | None = None

    @property
    def w(self):
        return self.rect[2] - self.rect[0]

    @property
    def h(self):
        return self.rect[3] - self.rect[1]


@dataclass
class LetterStyle:
    fmt: str
    upper: bool
    font: Font
    color: tuple
    pos: str
    pad: int
    boxed: bool

    def text(self, letter):
        return self.fmt.format(letter.upper() if self.upper else letter)


@dataclass
class Fig:
    tag: str
    W: int
    page: tuple = (255, 255, 255)
    ink: tuple = (0, 0, 0)
    palette: list = dc_field(default_factory=list)
    font: Font | None = None
    small: Font | None = None
    lw: int = 1
    field: str = "bio"
    allow_strip: bool = False
    H: int = 0
    panels: list = dc_field(default_factory=list)
    letter: LetterStyle | None = None
    divider: tuple | None = None  # (colour, border_px)
    extras: list = dc_field(default_factory=list)
    fmt: str = "png"
    quality: int = 95
    sampling: int | None = None
    blur: float = 0.0
    noise: float = 0.0
    colmajor: bool = False
    kinds: list = dc_field(default_factory=list)
    gh: int = 20
    gv: int = 20


def new_fig(r: Rng, tag: str, W: int) -> Fig:
    fig = Fig(tag=tag, W=int(W))
    fig.field = r.c(FIELDS, FIELD_W)
    face = r.c(LABEL_FACES, [4, 2, 1, 1.5, 1])
    px = min(28, max(10, W * r.u(0.009, 0.015)))
    fig.font = Font(face, px, 2 if (px > 17 and r.p(0.4)) else 1)
    fig.small = Font(face, max(8, px * r.u(0.75, 0.9)), 1)
    fig.lw = r.c([1, 1, 2, 2, 3]) if W > 1300 else r.c([1, 1, 2])
    fig.palette = list(r.c(PALETTES))
    fig.ink = r.c([(0, 0, 0), (30, 30, 30), (60, 60, 60), (40, 30, 20)], [6, 2, 1, 1])
    return fig


def make_letter_style(r: Rng, fig: Fig, pos="tl", min_panel=400) -> LetterStyle:
    fmt = r.c(["{}", "({})", "{}.", "{})"], [0.55, 0.25, 0.12, 0.08])
    upper = r.p(0.42)
    face = r.c(LETTER_FACES, [4, 2, 2, 1, 1])
    if r.p(0.08):
        face |= cv2.FONT_ITALIC
    px = min(40, max(12, fig.W * r.u(0.011, 0.02)), max(10, min_panel * 0.14))
    bold = r.p(0.65)
    thick = (2 if px < 22 else r.c([2, 3])) if bold else 1
    if (face & 15) == cv2.FONT_HERSHEY_PLAIN:
        thick += 1
    col = (0, 0, 0) if r.p(0.85) else r.c([(40, 40, 40), hexbgr("1F4E99"), hexbgr("8B0000")])
    return LetterStyle(fmt=fmt, upper=upper, font=Font(face, px, thick), color=col, pos=pos,
                       pad=r.i(2, 12), boxed=r.p(0.1))


# ---------------------------------------------------------------- layout
def L(a=1.0):
    return ("L", a)


def Rw(children, weights=None):
    return ("R", list(children), weights)


def Cl(children):
    return ("C", list(children), None)


def grid(rows, cols, aspect=1.0, row_aspects=None, col_w=None):
    rows_ = []
    for j in range(rows):
        a = row_aspects[j] if row_aspects else aspect
        rows_.append(Rw([L(a) for _ in range(cols)], col_w))
    return Cl(rows_) if rows > 1 else rows_[0]


def _split(total, weights, g):
    n = len(weights)
    avail = total - g * (n - 1)
    w = np.asarray(weights, float)
    w = w / w.sum()
    sizes = np.floor(avail * w).astype(int)
    rem = int(avail - sizes.sum())
    for k in range(rem):
        sizes[k % n] += 1
    return [int(s) for s in sizes]


class Layout:
    def __init__(self, gh, gv, bt=0, bl=0):
        self.gh, self.gv, self.bt, self.bl = int(gh), int(gv), int(bt), int(bl)

    def nat_h(self, node, w):
        t = node[0]
        if t == "L":
            return max(1.0, (w - self.bl) * node[1] + self.bt)
        ch = node[1]
        if t == "R":
            ws = _split(w, node[2] or [1] * len(ch), self.gh)
            return float(np.mean([self.nat_h(c, wi) for c, wi in zip(ch, ws)]))
        return sum(self.nat_h(c, w) for c in ch) + self.gv * (len(ch) - 1)

    def place(self, node, x0, y0, x1, y1, out):
        t = node[0]
        if t == "L":
            out.append((x0, y0, x1, y1))
            return out
        ch = node[1]
        if t == "R":
            ws = _split(x1 - x0, node[2] or [1] * len(ch), self.gh)
            x = x0
            for c, wi in zip(ch, ws):
                self.place(c, x, y0, x + wi, y1, out)
                x += wi + self.gh
        else:
            hs = [self.nat_h(c, x1 - x0) for c in ch]
            hs = _split(y1 - y0, hs, self.gv)
            y = y0
            for c, hi in zip(ch, hs):
                self.place(c, x0, y, x1, y + hi, out)
                y += hi + self.gv
        return out


def n_leaves(node):
    return 1 if node[0] == "L" else sum(n_leaves(c) for c in node[1])


def plain_min(W, H):
    return int(max(12, math.ceil(0.017 * max(W, H))))


def lay_out(fig: Fig, tree, margins, bt=0, bl=0, extra_top=0, extra_left=0):
    """Place the tree; sets fig.H and returns slots (panel rect + band)."""
    ml, mt, mr, mb = margins
    lay = Layout(fig.gh, fig.gv, bt, bl)
    iw = fig.W - ml - mr - extra_left
    ih = int(round(lay.nat_h(tree, iw)))
    fig.H = ih + mt + mb + extra_top
    return lay.place(tree, ml + extra_left, mt + extra_top, ml + extra_left + iw, mt + extra_top + ih, [])


def pick_content(r: Rng, fig: Fig, style: str, dark_edge=False) -> str:
    nonimg, img = CONTENT_W[fig.field]
    if style == "image":
        if dark_edge:
            keys = [k for k in img if k in DARK_EDGE_TEX] or ["fluo"]
            return r.c(keys, [img[k] for k in keys])
        return r.c(list(img), list(img.values()))
    if style in ("dark", "vivid"):
        keys = [k for k in nonimg if k in DARK_CONTENT] or ["line"]
        return r.c(keys, [nonimg[k] for k in keys])
    keys = [k for k in nonimg if (k != "strip" or fig.allow_strip)]
    if style != "plain":
        keys = [k for k in keys if k != "strip"]
    return r.c(keys, [nonimg[k] for k in keys])


def panel_bg(r: Rng, fig: Fig, style: str, shared=None):
    if style in ("plain", "frame", "cell"):
        return fig.page if style == "plain" else (255, 255, 255)
    if style == "tint":
        return shared or pale_tint(r)
    if style == "midtint":
        return shared or mid_tint(r)
    if style == "dark":
        return r.c(DARK_BG)
    if style == "vivid":
        return r.c(VIVID_BG)
    return (0, 0, 0)


class LayoutRetry(Exception):
    """The random layout could not meet the size rules; build_figure re-draws with a new key."""


def _need(slots):
    if not slots:
        raise LayoutRetry()
    return slots


def assign_panels(r: Rng, fig: Fig, slots, styles, bt=0, bl=0, dark_edge=False, tints=None,
                  frame=None, contents=None):
    _need(slots)
    fig.panels = []
    if frame is None and "frame" in styles:
        g = r.i(0, 140)
        frame = (r.c([1, 1, 2, 2, 3]), r.c([(0, 0, 0), (g, g, g), hexbgr("1F4E99")], [3, 3, 1]))
    for k, s in enumerate(slots):
        x0, y0, x1, y1 = s
        rect = (x0 + bl, y0 + bt, x1, y1)
        st = styles[k]
        bg = panel_bg(r, fig, st, tints[k] if tints else None)
        if st == "midtint":
            st = "tint"
        content = contents[k] if contents else pick_content(r, fig, st, dark_edge)
        fr = frame if st == "frame" else None
        fig.panels.append(Panel(rect=rect, style=st, content=content, bg=bg, frame=fr, slot=s))
    fig.kinds = [p.content for p in fig.panels]


def assign_letters(r: Rng, fig: Fig, present: bool, colmajor_p=0.0):
    if not present or fig.letter is None:
        fig.letter = None
        return
    order = list(range(len(fig.panels)))
    if colmajor_p and r.p(colmajor_p):
        fig.colmajor = True
        order = sorted(order, key=lambda k: (fig.panels[k].rect[0], fig.panels[k].rect[1]))
    for n, k in enumerate(order):
        p = fig.panels[k]
        p.letter = "abcdefghijklmnopqrstuvwxyz"[n]
        p.letter_text = fig.letter.text(p.letter)
        p.letter_pos = fig.letter.pos


def draw_content(img, rect, ctx: Ctx, kind, fig):
    x0, y0, x1, y1 = rect
    if x1 - x0 < 20 or y1 - y0 < 20:
        return
    if kind.startswith("whitespace:"):
        draw_whitespace(img, rect, ctx, kind.split(":", 1)[1], fig)
    elif kind in ("line", "scatter", "bar", "box", "spectrum"):
        draw_plot(img, rect, ctx, kind)
    elif kind == "heatmap":
        draw_heatmap(img, rect, ctx)
    elif kind == "schematic":
        draw_schematic(img, rect, ctx)
    elif kind == "block":
        draw_block(img, rect, ctx)
    elif kind == "gel":
        draw_gel(img, rect, ctx)
    elif kind == "table":
        draw_table(img, rect, ctx)
    elif kind == "strip":
        draw_strip(img, rect, ctx, fig)
    elif kind == "imglab":
        draw_imglab(img, rect, ctx, fig)
    else:
        raise ValueError(kind)


def _ink_box(local, page):
    """Tight box of pixels differing from the page colour by more than MASK_THR."""
    h, w = local.shape[:2]
    ref = np.empty_like(local)
    ref[:] = page
    d = cv2.absdiff(local, ref).max(2) > MASK_THR
    ys, xs = np.flatnonzero(d.any(1)), np.flatnonzero(d.any(0))
    if len(ys) == 0:
        return (0, 0, w, h)
    return (int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)


def _draw_letter(img, text, ls: LetterStyle, x, y, color, boxed=False):
    w, h, b = ls.font.size(text)
    if boxed:
        cv2.rectangle(img, (int(x) - 3, int(y) - 3), (int(x + w) + 3, int(y + h + b) + 2), (255, 255, 255), -1)
        color = (0, 0, 0)
    ls.font.draw(img, text, x, y, color)


def make_panel(p: Panel, fig: Fig, r: Rng):
    w, h = p.w, p.h
    ls = fig.letter if p.letter_text else None
    inside = ls is not None and p.letter_pos in ("tl", "tr", "bl", "br")
    busy = set()
    if p.style == "image":
        local = TEXTURES[p.content](r, h, w)
    else:
        local = np.empty((h, w, 3), np.uint8)
        local[:] = p.bg
    ft = p.frame[0] if p.frame else 0
    lrect = None
    if inside:
        tw, th, tb = ls.font.size(p.letter_text)
        pad = ls.pad + ft
        if p.style == "plain":
            pad = min(pad, 3)
        lx = pad if p.letter_pos[1] == "l" else w - pad - tw
        ly = pad if p.letter_pos[0] == "t" else h - pad - th - tb
        lrect = (lx, ly, lx + tw, ly + th + tb)
        busy.add(p.letter_pos)
    if p.style == "image":
        image_overlays(local, r, p.content, fig, busy)
    else:
        ctx = _ctx_for(r, fig, p.bg, p.style in ("dark", "vivid"))
        lo, hi = {"plain": (0, 5), "tint": (6, 18), "frame": (4, 14), "cell": (6, 16), "dark": (6, 18),
                  "vivid": (6, 18)}[p.style]
        cx0, cy0, cx1, cy1 = ft + r.i(lo, hi), ft + r.i(lo, hi), w - ft - r.i(lo, hi), h - ft - r.i(lo, hi)
        if lrect:
            gap = r.i(2, 8)
            if r.p(0.3) and (cx1 - cx0) > 3 * (lrect[2] - lrect[0]):
                if p.letter_pos[1] == "l":
                    cx0 = max(cx0, lrect[2] + gap)
                else:
                    cx1 = min(cx1, lrect[0] - gap)
            elif p.letter_pos[0] == "t":
                cy0 = max(cy0, lrect[3] + gap)
            else:
                cy1 = min(cy1, lrect[1] - gap)
        draw_content(local, (cx0, cy0, cx1, cy1), ctx, p.content, fig)
        if p.style == "plain" and not p.content.startswith("whitespace"):
            bx0, by0, bx1, by1 = _ink_box(local, fig.page)
            if bx1 - bx0 < min(120, 0.6 * w) or by1 - by0 < min(120, 0.6 * h):
                # content came out too small for a real panel: redraw it as a plot
                local[:] = p.bg
                p.content = r.c(["line", "bar", "scatter"])
                draw_content(local, (cx0, cy0, cx1, cy1), ctx, p.content, fig)
    if lrect:
        if p.style == "image":
            col = (255, 255, 255) if lum(local[lrect[1]:lrect[3], lrect[0]:lrect[2]].reshape(-1, 3).mean(0)) < 140 \
                else (0, 0, 0)
            _draw_letter(local, p.letter_text, ls, lrect[0], lrect[1], col, ls.boxed)
        elif p.style in ("dark", "vivid"):
            _draw_letter(local, p.letter_text, ls, lrect[0], lrect[1], (255, 255, 255))
        else:
            _draw_letter(local, p.letter_text, ls, lrect[0], lrect[1], ls.color)
    if p.frame:
        t, c = p.frame
        local[:t, :] = c
        local[-t:, :] = c
        local[:, :t] = c
        local[:, -t:] = c
    if p.style == "plain":
        box = _ink_box(local, fig.page)
    else:
        box = (0, 0, w, h)
    return local, box


def _rects_overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def render(fig: Fig, r: Rng) -> np.ndarray:
    img = np.empty((fig.H, fig.W, 3), np.uint8)
    img[:] = fig.page
    if fig.divider:
        col, border = fig.divider
        ux0 = min(p.rect[0] for p in fig.panels) - border
        uy0 = min(p.rect[1] for p in fig.panels) - border
        ux1 = max(p.rect[2] for p in fig.panels) + border
        uy1 = max(p.rect[3] for p in fig.panels) + border
        img[max(0, uy0):uy1, max(0, ux0):ux1] = col
    for p in fig.panels:
        local, (bx0, by0, bx1, by1) = make_panel(p, fig, r)
        x0, y0, x1, y1 = p.rect
        img[y0:y1, x0:x1] = local
        p.box = (x0 + bx0, y0 + by0, x0 + bx1, y0 + by1)
    boxes = [p.box for p in fig.panels]
    ls = fig.letter
    for p in fig.panels:
        if p.letter_text and p.letter_pos in ("out_top", "out_left"):
            tw, th, tb = ls.font.size(p.letter_text)
            if p.letter_pos == "out_top":
                x = p.rect[0] - min(r.i(0, 6), max(0, fig.gh // 3))
                y = p.rect[1] - th - tb - r.i(2, 5)
            else:
                x = p.slot[0] + r.i(0, 2)
                y = p.rect[1] + r.i(0, 4)
            lr = (x - 1, y - 1, x + tw + 1, y + th + tb + 1)
            assert not any(_rects_overlap(lr, b) for b in boxes), "outside letter hits a panel"
            _draw_letter(img, p.letter_text, ls, x, y, ls.color)
    for ex in fig.extras:
        kind, text, x, y, font, col = ex
        if kind == "h":
            w, h, b = font.size(text)
        else:
            h, w = vsize(text, font)
            b = 0
        er = (x - 1, y - 1, x + w + 1, y + h + b + 1)
        assert not any(_rects_overlap(er, bx) for bx in boxes), "margin label hits a panel"
        if kind == "h":
            font.draw(img, text, x, y, col)
        else:
            text_vertical(img, text, font, x, y, col)
    return img


# ================================================================ families
def _margins(r: Rng, lo=0, hi=40):
    return tuple(r.i(lo, hi) for _ in range(4))


def _gutters(fig: Fig, r: Rng, lo, hi, same_p=0.6):
    fig.gh = r.i(lo, hi)
    fig.gv = fig.gh if r.p(same_p) else r.i(lo, hi)


def fit_layout(fig: Fig, tree, margins, plain=False, bt=0, bl=0, extra_top=0, extra_left=0, hmax=3200):
    for _ in range(8):
        slots = lay_out(fig, tree, margins, bt, bl, extra_top, extra_left)
        if plain:
            pm = plain_min(fig.W, fig.H)
            if fig.gh < pm or fig.gv < pm:
                fig.gh, fig.gv = max(fig.gh, pm), max(fig.gv, pm)
                continue
        ms = min(min(s[2] - s[0] - bl, s[3] - s[1] - bt) for s in slots)
        if ms < MIN_SIDE:
            if fig.W >= 2400:
                return None
            fig.W = min(2400, int(math.ceil(fig.W * MIN_SIDE / max(ms, 40) * 1.04)))
            continue
        if fig.H > hmax or fig.H < MIN_SIDE:
            return None
        return slots
    return None


def _min_panel(slots, bt=0, bl=0):
    return min(min(s[2] - s[0] - bl, s[3] - s[1] - bt) for s in slots)


STYLE_SETS = {
    "mixed": (["plain", "image", "frame", "tint", "dark"], [0.45, 0.3, 0.08, 0.1, 0.07]),
    "plots": (["plain", "image"], [0.85, 0.15]),
    "images": (["image", "plain"], [0.85, 0.15]),
    "filled": (["image", "tint", "dark", "vivid"], [0.6, 0.2, 0.12, 0.08]),
    "thin": (["image", "midtint", "dark", "vivid"], [0.62, 0.18, 0.12, 0.08]),
}


def style_list(r: Rng, n, kind):
    names, w = STYLE_SETS[kind]
    if kind in ("mixed", "plots", "images") and r.p(0.35):
        # row-consistent look: one style for the whole figure
        s = r.c(names, w)
        return [s] * n
    return [r.c(names, w) for _ in range(n)]


def _finish_letters(r: Rng, fig: Fig, slots, present_p, colmajor_p=0.0, pos=None, bt=0, bl=0):
    if fig.letter is None:
        fig.letter = make_letter_style(r, fig, pos or r.c(["tl"] * 9 + ["tr"]), _min_panel(slots, bt, bl))
    assign_letters(r, fig, r.p(present_p), colmajor_p)


def _maybe_jpeg(r: Rng, fig: Fig, p=0.12):
    if r.p(p):
        fig.fmt, fig.quality = "jpg", r.i(70, 95)


def b_tinted_grid(r: Rng, idx, opts=None):
    for _ in range(20):
        fig = new_fig(r, "tinted_grid", r.i(700, 2000))
        _gutters(fig, r, 18, 40)
        slots = fit_layout(fig, grid(2, 2, r.u(0.65, 1.3)), _margins(r))
        if slots:
            break
    slots = _need(slots)
    lo = 14 if (opts or {}).get("jpeg") else 10
    shared = pale_tint(r, lo) if r.p(0.5) else None
    tints = [shared or pale_tint(r, lo) for _ in slots]
    assign_panels(r, fig, slots, ["tint"] * 4, tints=tints)
    _finish_letters(r, fig, slots, 0.8, 0.1, pos=r.c(["tl"] * 6 + ["tr", "bl"]))
    fig.fmt, fig.quality = "jpg", r.i(80, 95)
    return fig


def b_saturated(r: Rng, idx, opts=None):
    for _ in range(20):
        fig = new_fig(r, "saturated", r.i(700, 2200))
        _gutters(fig, r, 6, 30)
        rows, cols = r.c([(1, 2), (1, 3), (2, 2), (2, 3), (3, 2), (2, 4), (0, 0)])
        if rows == 0:
            tree = Rw([L(1.0), Cl([L(r.u(0.5, 0.9)) for _ in range(r.i(2, 3))])], [1, r.u(0.6, 1.4)])
        else:
            tree = grid(rows, cols, r.u(0.65, 1.3))
        slots = fit_layout(fig, tree, _margins(r))
        if slots:
            break
    slots = _need(slots)
    if r.p(0.3):
        fig.page = (g := r.i(225, 248), g, g)
    n = len(slots)
    theme = r.c(["fluo", "darkplot", "vivid", "mix"])
    styles, contents = [], []
    for _ in range(n):
        t = theme if theme != "mix" else r.c(["fluo", "darkplot", "vivid"])
        if t == "fluo":
            styles.append("image")
            contents.append(r.c(["fluo", "fluo", "fluo", "em", "sem", "heat"]))
        elif t == "darkplot":
            styles.append("dark")
            contents.append(r.c(DARK_CONTENT))
        else:
            styles.append("vivid")
            contents.append(r.c(["schematic", "block", "line", "bar"]))
    assign_panels(r, fig, slots, styles, contents=contents)
    _finish_letters(r, fig, slots, 0.8, 0.1)
    _maybe_jpeg(r, fig)
    return fig


def b_framed(r: Rng, idx, opts=None):
    for _ in range(20):
        fig = new_fig(r, "framed", r.i(600, 2200))
        _gutters(fig, r, 8, 40)
        shape = r.c([(1, 2), (1, 3), (2, 2), (2, 3), (3, 2), (3, 3), (0, 0)])
        if shape == (0, 0):
            tree = Cl([L(r.u(0.3, 0.6)), Rw([L(r.u(0.7, 1.2)) for _ in range(r.i(2, 3))])])
        else:
            tree = grid(*shape, aspect=r.u(0.6, 1.2))
        slots = fit_layout(fig, tree, _margins(r))
        if slots:
            break
    slots = _need(slots)
    t = r.c([1, 1, 2, 2, 3])
    col = r.c([(0, 0, 0), (g := r.i(40, 150), g, g), hexbgr("1F4E99"), hexbgr("2E7D32"), hexbgr("7F0000")],
              [4, 3, 1, 1, 1])
    frame = (t, col)
    styles = ["frame"] * len(slots)
    if r.p(0.15):
        styles[r.i(0, len(slots) - 1)] = "image"
    assign_panels(r, fig, slots, styles, frame=frame)
    _finish_letters(r, fig, slots, 0.9, 0.05, pos=r.c(["tl"] * 8 + ["tr", "bl"]))
    _maybe_jpeg(r, fig)
    return fig


def _lines_figure(r: Rng, tag, shapes, line_col, lw, styles_kind, dark_edge, border):
    for _ in range(20):
        fig = new_fig(r, tag, r.i(650, 2100))
        fig.gh = fig.gv = lw
        shape = r.c(shapes)
        if shape == (0, 0):
            tree = Rw([L(1.0), Cl([L(r.u(0.5, 0.9)) for _ in range(r.i(2, 3))])], [1, r.u(0.6, 1.4)])
        else:
            tree = grid(*shape, aspect=r.u(0.65, 1.2))
        m = tuple(max(lw + 1, v) for v in _margins(r))
        slots = fit_layout(fig, tree, m)
        if slots:
            break
    slots = _need(slots)
    fig.divider = (line_col, border)
    return fig, slots


def b_dark_lines(r: Rng, idx, opts=None):
    lw = r.i(max(1, (opts or {}).get("min_line", 1)), 4)
    g = r.i(0, 90)
    col = (g, g, g) if r.p(0.8) else r.c([hexbgr("1F2A44"), hexbgr("3A1F1F")])
    fig, slots = _lines_figure(r, "dark_lines", [(2, 2)] * 5 + [(1, 3)] * 4 + [(2, 3)], col, lw, None, False, lw)
    # panels must contrast with dark lines: white cells, pale tints, light-edged images
    styles, contents = [], []
    for _ in slots:
        s_ = r.c(["cell", "tint", "image", "gel"], [6, 1.5, 1, 0.6])
        styles.append("cell" if s_ == "gel" else s_)
        contents.append("gel" if s_ == "gel" else ("he" if s_ == "image" else None))
    if all(c is None for c in contents) and r.p(0.5):
        styles = ["cell"] * len(slots)
    tints = [pale_tint(r, 10, 20) for _ in slots]
    assign_panels(r, fig, slots, styles, tints=tints)
    for p, c in zip(fig.panels, contents):
        if c:
            p.content = c
    fig.kinds = [p.content for p in fig.panels]
    _finish_letters(r, fig, slots, 0.8, 0.1)
    _maybe_jpeg(r, fig)
    return fig


def b_light_lines(r: Rng, idx, opts=None):
    lw = r.i(max(1, (opts or {}).get("min_line", 1)), 4)
    if r.p(0.6):
        col, border = (255, 255, 255), 0
    else:
        g = r.i(205, 240)
        col, border = (g, g, g), (lw if r.p(0.5) else 0)
    fig, slots = _lines_figure(r, "light_lines", [(2, 2), (2, 3), (1, 3), (3, 3), (1, 2), (3, 2), (0, 0)],
                               col, lw, None, True, border)
    if border == 0:
        fig.divider = (col, 0)
    styles = style_list(r, len(slots), "thin")
    tints = []
    for s in styles:
        t = mid_tint(r)
        while cdiff(t, col) < 45:
            t = mix(t, (60, 60, 60), 0.3)
        tints.append(t)
    assign_panels(r, fig, slots, styles, dark_edge=True, tints=tints)
    _finish_letters(r, fig, slots, 0.8, 0.1)
    _maybe_jpeg(r, fig)
    return fig


def b_gutter_range(r: Rng, idx, opts=None):
    gmin = (opts or {}).get("min_gutter", 2)
    for _ in range(30):
        W = r.i(600, 2200)
        fig = new_fig(r, "gutter_range", W)
        shape = r.c([(1, 2), (1, 3), (2, 2), (2, 3), (3, 2), (3, 3)])
        g = int(round(r.logu(gmin, 0.10 * W)))
        fig.gh = g
        fig.gv = max(gmin, int(round(g * r.u(0.7, 1.3))))
        tree = grid(*shape, aspect=r.u(0.65, 1.25))
        slots = fit_layout(fig, tree, _margins(r), plain=False)
        if slots and max(fig.gh, fig.gv) <= 0.1 * fig.W + 1:
            break
    slots = _need(slots)
    thin = min(fig.gh, fig.gv) < plain_min(fig.W, fig.H)
    very = min(fig.gh, fig.gv) <= 6
    kind = "thin" if very else ("filled" if thin else "mixed")
    styles = style_list(r, len(slots), kind)
    tints = [mid_tint(r) if very else pale_tint(r) for _ in slots]
    assign_panels(r, fig, slots, styles, dark_edge=very, tints=tints)
    _finish_letters(r, fig, slots, 0.8, 0.1)
    _maybe_jpeg(r, fig)
    return fig


def b_big_grid(r: Rng, idx, opts=None):
    rows, cols = r.c([(3, 3), (3, 4), (4, 3), (4, 4), (2, 4), (4, 2), (3, 3), (4, 4)])
    mode = r.c(["images", "images", "plots", "mixed"])
    labels = mode == "images" and r.p(0.6)
    for _ in range(30):
        W = r.i(max(900, cols * 175), 2400)
        fig = new_fig(r, "big_grid", W)
        if mode == "images":
            _gutters(fig, r, max(3, (opts or {}).get("min_gutter", 3)), 16)
        else:
            _gutters(fig, r, 12, 34)
        et = el = 0
        if labels:
            et = int(fig.font.px * 1.6) + 8
            el = r.c([0, int(fig.font.px * 1.6) + 8, max(fig.font.size(t)[0] for t in CATS[:rows]) + 12])
        slots = fit_layout(fig, grid(rows, cols, r.u(0.7, 1.25)), _margins(r, 0, 30), plain=(mode != "images"),
                           extra_top=et, extra_left=el)
        if slots:
            break
    slots = _need(slots)
    if mode == "images":
        styles = ["image"] * len(slots)
        dark_edge = min(fig.gh, fig.gv) <= 6
        assign_panels(r, fig, slots, styles, dark_edge=dark_edge)
        if r.p(0.6):  # one modality per figure, as in real image arrays
            kind = fig.panels[0].content
            for p in fig.panels:
                p.content = kind
            fig.kinds = [kind] * len(fig.panels)
    else:
        assign_panels(r, fig, slots, style_list(r, len(slots), mode))
    if labels:
        top_row = fig.panels[:cols]
        names = r.sample(CHANNELS + GENES, cols)
        for p, t in zip(top_row, names):
            f = fig.font.fit(t, p.w - 4)
            if f:
                tw = f.size(t)[0]
                fig.extras.append(("h", t, p.rect[0] + (p.w - tw) // 2, p.rect[1] - f.px - 6 - f.size(t)[2],
                                   f, fig.ink))
        if el:
            rnames = r.sample(CATS, rows)
            for j in range(rows):
                p = fig.panels[j * cols]
                t = rnames[j]
                if el > fig.font.px * 2 + 8:
                    tw = fig.font.size(t)[0]
                    fig.extras.append(("h", t, p.rect[0] - tw - 8, p.rect[1] + p.h // 2 - fig.font.px // 2,
                                       fig.font, fig.ink))
                else:
                    vh, vw = vsize(t, fig.font)
                    if vh < p.h:
                        fig.extras.append(("v", t, p.rect[0] - vw - 4, p.rect[1] + (p.h - vh) // 2,
                                           fig.font, fig.ink))
    _finish_letters(r, fig, slots, 0.45 if mode == "images" else 0.8, 0.12)
    _maybe_jpeg(r, fig)
    return fig


def b_uneven(r: Rng, idx, opts=None):
    variant = r.c(["tall_left", "tall_right", "wide_top", "wide_bottom"])
    kind = r.c(["mixed", "mixed", "plots", "filled"])
    for _ in range(30):
        fig = new_fig(r, "uneven", r.i(700, 2200))
        if kind == "filled":
            _gutters(fig, r, max(4, (opts or {}).get("min_gutter", 4)), 30)
        else:
            _gutters(fig, r, 14, 45)
        k = r.i(2, 3)
        if variant.startswith("tall"):
            stack = Cl([L(r.u(0.45, 0.9)) for _ in range(k)])
            ch = [L(1.0), stack] if variant == "tall_left" else [stack, L(1.0)]
            wts = [1, r.u(0.7, 1.5)] if variant == "tall_left" else [r.u(0.7, 1.5), 1]
            tree = Rw(ch, wts)
        else:
            narrow = Rw([L(r.u(0.6, 1.1)) for _ in range(r.i(2, 3))], None)
            wide = L(r.u(0.25, 0.55))
            tree = Cl([wide, narrow] if variant == "wide_top" else [narrow, wide])
        slots = fit_layout(fig, tree, _margins(r), plain=(kind != "filled"))
        if slots:
            break
    slots = _need(slots)
    styles = style_list(r, len(slots), kind)
    fig.allow_strip = kind != "filled" and min(fig.gh, fig.gv) >= 20
    assign_panels(r, fig, slots, styles)
    _finish_letters(r, fig, slots, 0.92)
    _maybe_jpeg(r, fig)
    return fig


def b_nested(r: Rng, idx, opts=None):
    variant = r.c(["row_over_grid", "row_over_grid", "grid_beside_tall", "uneven_rows", "grid_over_row"])
    kind = r.c(["mixed", "mixed", "plots", "filled"])
    for _ in range(30):
        fig = new_fig(r, "nested", r.i(900, 2400))
        if kind == "filled":
            _gutters(fig, r, max(4, (opts or {}).get("min_gutter", 4)), 28)
        else:
            _gutters(fig, r, 14, 40)
        gr, gc = r.c([(2, 2), (2, 3)])
        if variant in ("row_over_grid", "grid_over_row"):
            k = r.i(1, 3)
            top = Rw([L(r.u(0.3, 0.7) * (k / 1.5)) for _ in range(k)],
                     [r.u(0.6, 1.6) for _ in range(k)] if k > 1 else None)
            g = grid(gr, gc, r.u(0.6, 1.1))
            tree = Cl([top, g] if variant == "row_over_grid" else [g, top])
        elif variant == "grid_beside_tall":
            g = grid(gr, gc, r.u(0.6, 1.1))
            tall = L(1.0)
            tree = Rw([g, tall], [gc, r.u(0.8, 1.6)]) if r.p(0.6) else Rw([tall, g], [r.u(0.8, 1.6), gc])
        else:
            rows_ = []
            for _ in range(r.i(2, 3)):
                k = r.i(1, 4)
                rows_.append(Rw([L(r.u(0.5, 1.2)) for _ in range(k)], [r.u(0.7, 1.5) for _ in range(k)]))
            tree = Cl(rows_)
        slots = fit_layout(fig, tree, _margins(r), plain=(kind != "filled"))
        if slots and len(slots) >= 3:
            break
    slots = _need(slots)
    styles = style_list(r, len(slots), kind)
    fig.allow_strip = kind != "filled" and min(fig.gh, fig.gv) >= 20
    assign_panels(r, fig, slots, styles)
    _finish_letters(r, fig, slots, 0.92)
    _maybe_jpeg(r, fig)
    return fig


def b_column(r: Rng, idx, opts=None):
    n = r.c([2, 3, 4])
    kind = r.c(["plots", "mixed", "filled"])
    for _ in range(30):
        fig = new_fig(r, "column", r.i(500, 1400))
        if kind == "filled":
            _gutters(fig, r, max(4, (opts or {}).get("min_gutter", 4)), 24)
        else:
            _gutters(fig, r, 14, 40)
        tree = Cl([L(r.u(0.3, 0.8)) for _ in range(n)])
        slots = fit_layout(fig, tree, _margins(r), plain=(kind != "filled"))
        if slots:
            break
    slots = _need(slots)
    styles = style_list(r, n, kind)
    assign_panels(r, fig, slots, styles)
    _finish_letters(r, fig, slots, 0.92)
    _maybe_jpeg(r, fig)
    return fig


def b_row(r: Rng, idx, opts=None):
    n = r.c([2, 3, 4])
    kind = r.c(["plots", "mixed", "mixed", "images"])
    for _ in range(30):
        fig = new_fig(r, "row", r.i(max(700, n * 230), 2400))
        _gutters(fig, r, max(10, int(fig.W * 0.012)), max(24, int(fig.W * 0.035)), same_p=1.0)
        wts = [r.u(0.8, 1.3) for _ in range(n)] if r.p(0.5) else None
        tree = Rw([L(r.u(0.6, 1.3)) for _ in range(n)], wts)
        slots = fit_layout(fig, tree, _margins(r), plain=True)
        if slots:
            break
    slots = _need(slots)
    styles = style_list(r, n, kind)
    fig.allow_strip = min(fig.gh, fig.gv) >= 20
    assign_panels(r, fig, slots, styles)
    _finish_letters(r, fig, slots, 0.92)
    _maybe_jpeg(r, fig)
    return fig


def b_letters_outside(r: Rng, idx, opts=None):
    outside = idx % 2 == 0
    corner = ["br", "tr", "bl", "tl"][(idx // 2) % 4]
    for _ in range(30):
        fig = new_fig(r, "letters_outside", r.i(700, 2200))
        shape = r.c([(1, 2), (1, 3), (2, 2), (2, 3), (3, 2), (0, 0)])
        if shape == (0, 0):
            tree = Rw([L(1.0), Cl([L(r.u(0.5, 0.9)) for _ in range(r.i(2, 3))])], [1, r.u(0.6, 1.4)])
        else:
            tree = grid(*shape, aspect=r.u(0.65, 1.2))
        if outside:
            pos = r.c(["out_top", "out_top", "out_left"])
            fig.letter = make_letter_style(r, fig, pos, 400)
            tw, th, tb = fig.letter.font.size(fig.letter.text("m"))
            if pos == "out_top":
                bt, bl = th + tb + r.i(4, 10), 0
            else:
                bt, bl = 0, tw + r.i(5, 12)
            _gutters(fig, r, 6, 30)
            styles = [r.c(["image", "frame", "tint", "dark"], [4, 2, 1.5, 1]) for _ in range(n_leaves(tree))]
            if r.p(0.4):
                styles = [styles[0]] * len(styles)
            plain = False
        else:
            bt = bl = 0
            fig.letter = None
            styles = style_list(r, n_leaves(tree), "mixed")
            plain = "plain" in styles
            _gutters(fig, r, 10, 36)
        slots = fit_layout(fig, tree, _margins(r), plain=plain, bt=bt, bl=bl)
        if slots:
            break
    slots = _need(slots)
    t = r.c([1, 2])
    frame = (t, r.c([(0, 0, 0), (90, 90, 90)]))
    assign_panels(r, fig, slots, styles, bt=bt, bl=bl, frame=frame)
    if not outside:
        fig.letter = make_letter_style(r, fig, corner, _min_panel(slots))
    assign_letters(r, fig, True, 0.1)
    _maybe_jpeg(r, fig)
    return fig


def b_single(r: Rng, idx, opts=None):
    for _ in range(30):
        fig = new_fig(r, "single", r.i(500, 2400))
        fig.gh = fig.gv = 0
        style = r.c(["plain", "image", "frame", "tint"], [0.45, 0.25, 0.15, 0.15])
        a = r.u(0.45, 1.15)
        slots = fit_layout(fig, L(a), _margins(r), hmax=2400)
        if slots:
            break
    slots = _need(slots)
    assign_panels(r, fig, slots, [style], frame=(r.c([1, 2, 3]), (0, 0, 0)))
    fig.letter = None
    _maybe_jpeg(r, fig, 0.2)
    return fig


def b_single_whitespace(r: Rng, idx, opts=None):
    for _ in range(30):
        fig = new_fig(r, "single_whitespace", r.i(700, 2400))
        fig.gh = fig.gv = 0
        slots = fit_layout(fig, L(r.u(0.45, 0.95)), _margins(r), hmax=2400)
        if slots:
            break
    slots = _need(slots)
    assign_panels(r, fig, slots, ["plain"], contents=["whitespace:" + r.c(["side", "title", "legend", "combo"])])
    fig.letter = None
    _maybe_jpeg(r, fig, 0.15)
    return fig


def draw_whitespace(img, rect, ctx: Ctx, variant, fig):
    r = ctx.r
    x0, y0, x1, y1 = rect
    W, H = x1 - x0, y1 - y0
    kinds = ["line", "bar", "scatter", "schematic", "heatmap", "spectrum", "block"]
    if variant in ("title", "combo"):
        title = r.c(["Overview", "Model comparison", "Experimental design", "Results summary",
                     "Temperature response", "Workflow", "Study region"])
        f = Font(fig.font.face, fig.font.px * r.u(1.2, 1.6), 2 if r.p(0.5) else 1)
        f = f.fit(title, W - 4) or fig.font
        tw, th, tb = f.size(title)
        f.draw(img, title, x0 + (W - tw) // 2, y0, ctx.ink)
        y0 = y0 + th + tb + int(H * r.u(0.12, 0.22))
    if variant == "legend":
        ents = [(n, c) for n, c in zip(r.sample(SERIES, r.i(2, 5)), ctx.palette)]
        s = ctx.small
        sw = int(s.px * 2)
        tot = sum(sw + 8 + s.size(n)[0] + 24 for n, _ in ents)
        lh = s.px + 10
        ly = y1 - lh
        x = x0 + max(0, (W - tot) // 2)
        for n, c in ents:
            cv2.rectangle(img, (x, ly + 2), (x + sw, ly + 2 + s.px), c, -1)
            s.draw(img, n, x + sw + 8, ly + 2, ctx.ink)
            x += sw + 8 + s.size(n)[0] + 24
        y1 = ly - int(H * r.u(0.12, 0.22))
        draw_content(img, (x0, y0, x1, y1), ctx, r.c(["line", "bar", "scatter"]), fig)
    elif variant in ("side", "combo"):
        gap = int(W * r.u(0.10, 0.22))
        wl = int((W - gap) * r.u(0.4, 0.6))
        draw_content(img, (x0, y0, x0 + wl, y1), ctx, r.c(kinds), fig)
        draw_content(img, (x0 + wl + gap, y0, x1, y1), ctx, r.c(kinds), fig)
    else:
        draw_content(img, (x0, y0, x1, y1), ctx, r.c(kinds[:6]), fig)


JPEG_SOURCES = ["tinted_grid", "saturated", "framed", "big_grid", "uneven", "nested", "column", "row",
                "letters_outside", "gutter_range", "light_lines", "dark_lines"]


def b_jpeg_noise(r: Rng, idx, opts=None):
    src = r.c(JPEG_SOURCES)
    fig = BUILDERS[src](r, idx, {"min_line": 2, "min_gutter": 4, "jpeg": True})
    fig.tag = "jpeg_noise"
    fig.fmt = "jpg"
    fig.quality = r.i(35, 75)
    fig.sampling = r.c([cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
                        cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444],
                       [6, 2, 1, 1])
    fig.blur = r.u(0.4, 1.0)
    fig.noise = r.u(0, 3)
    return fig


BUILDERS = {
    "tinted_grid": b_tinted_grid, "saturated": b_saturated, "framed": b_framed, "dark_lines": b_dark_lines,
    "light_lines": b_light_lines, "jpeg_noise": b_jpeg_noise, "gutter_range": b_gutter_range,
    "big_grid": b_big_grid, "uneven": b_uneven, "nested": b_nested, "column": b_column, "row": b_row,
    "letters_outside": b_letters_outside, "single": b_single, "single_whitespace": b_single_whitespace,
}


# ================================================================ captions
_CONTENT_DESC = {"line": "line", "scatter": "scatter", "bar": "bar", "box": "box", "spectrum": "spectrum",
                 "heatmap": "heatmap", "schematic": "schematic", "block": "block", "gel": "gel", "table": "table",
                 "strip": "strip", "imglab": "micro", "fluo": "micro", "he": "micro", "em": "micro",
                 "sem": "micro", "photo": "photo", "map": "map", "heat": "heatmap"}


def _fill(r: Rng, template: str) -> str:
    vals = {k: r.c(v) for k, v in FILL.items()}
    vals["q2"] = r.c([q for q in FILL["q"] if q != vals["q"]])
    vals["g2"] = r.c(GENES)
    vals["Q"] = vals["q"][0].upper() + vals["q"][1:]
    vals["Mod"] = vals["mod"][0].upper() + vals["mod"][1:]
    t = template.format(**vals)
    return t[0].upper() + t[1:]


def _desc(r: Rng, kind: str, fig: Fig) -> str:
    k = _CONTENT_DESC.get(kind, "line")
    if fig.field == "geo" and k == "micro":
        k = "map"
    return _fill(r, r.c(DESC[k])).rstrip(".") + "."


def _title(r: Rng, fieldname: str) -> str:
    t = TOPIC[fieldname]
    s = f"{r.c(t['subj'])} {r.c(t['verb'])} {r.c(t['obj'])} {r.c(t['where'])}."
    return s[0].upper() + s[1:]


def make_caption(r: Rng, fig: Fig):
    """Returns (caption, sub_captions by reading/letter index or None)."""
    n = len(fig.panels)
    num = r.i(1, 8)
    prefix = r.c([f"Figure {num}. ", f"Fig. {num} | ", f"Fig. {num}. ", f"FIGURE {num} ", ""], [3, 2, 2, 1, 2])
    head = prefix + _title(r, fig.field)
    if r.p(0.2):
        head += " " + r.c(INTRO)
    # panel order used by the caption letters
    if fig.letter is not None:
        order = sorted(range(n), key=lambda k: fig.panels[k].letter)
    else:
        order = list(range(n))
    kinds = [fig.panels[k].content for k in order]
    if n == 1 or fig.tag == "single_whitespace":
        body = " ".join(_desc(r, kinds[0], fig) for _ in range(r.i(0, 2)))
        tail = " " + r.c(TRAILERS) if r.p(0.3) else ""
        return (head + (" " + body if body else "") + tail).strip(), None
    style = r.c(["paren", "nature", "pipe", "none"], [0.4, 0.32, 0.13, 0.15])
    if style == "none":
        body = " ".join(_desc(r, k, fig).rstrip(".") + "." for k in kinds[: r.i(1, n)])
        return f"{head} {body}", None
    upper = (fig.letter.upper if fig.letter else r.p(0.4))
    if r.p(0.12):
        upper = not upper
    if style == "nature" and r.p(0.7):
        upper = False
    # units: (list of panel indices in caption order, text)
    units = []
    k = 0
    grouped = False
    while k < n:
        if not grouped and n >= 3 and k < n - 1 and r.p(0.3):
            m = r.i(2, min(3, n - k))
            units.append((list(range(k, k + m)), _fill(r, r.c(["Representative images of {tis}",
                                                                 "Quantification of {q} in the indicated groups",
                                                                 "{Mod} images of {tis} under {t}",
                                                                 "{Q} measured at three {p} values"])) + "."))
            grouped = True
            k += m
        else:
            units.append(([k], _desc(r, kinds[k], fig)))
            k += 1
    if r.p(0.25):
        last = units[-1]
        units[-1] = (last[0], last[1] + " " + r.c(TRAILERS))
    letters = "abcdefghijklmnopqrstuvwxyz"
    mismatch = None
    if r.p(0.10):
        mismatch = r.c(["drop", "extra", "skip"])
    lab_units = [([letters[i] for i in idx], text) for idx, text in units]
    if mismatch == "drop":
        if len(lab_units[-1][0]) > 1:
            lab_units[-1] = (lab_units[-1][0][:-1], lab_units[-1][1])
        else:
            lab_units = lab_units[:-1]
    elif mismatch == "extra":
        lab_units.append(([letters[n]], _desc(r, "line", fig)))
    elif mismatch == "skip":
        j = r.i(1, len(lab_units) - 1)
        lab_units = lab_units[:j] + [([letters[letters.index(c) + 1] for c in ls], t)
                                     for ls, t in lab_units[j:]]
    dash = "\u2013" if r.p(0.85) else "-"
    parts = []
    for ls, text in lab_units:
        ls_ = [c.upper() for c in ls] if upper else ls
        if len(ls_) == 1:
            core = ls_[0]
        elif len(ls_) == 2 and r.p(0.85):
            core = ",".join(ls_)
        else:
            core = ls_[0] + dash + ls_[-1]
        if style == "paren":
            mk = f"({core})"
        elif style == "nature":
            mk = f"{core},"
        else:
            mk = f"{core} |"
        parts.append(f"{mk} {text}")
    caption = f"{head} " + " ".join(parts)
    if mismatch:
        return caption, None
    subs = [None] * n
    for idx, text in units:
        for i in idx:
            subs[i] = text.strip()
    return caption, subs


# ================================================================== output
def _encode(img, fig: Fig) -> bytes:
    if fig.blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), fig.blur)
    if fig.noise > 0:
        rng = np.random.default_rng(img.shape[0] * 7919 + img.shape[1])
        img = np.clip(img.astype(np.float32) + rng.normal(0, fig.noise, img.shape[:2])[..., None], 0, 255)
        img = img.astype(np.uint8)
    if fig.fmt == "jpg":
        params = [cv2.IMWRITE_JPEG_QUALITY, int(fig.quality)]
        if fig.sampling is not None:
            params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, int(fig.sampling)]
        ok, buf = cv2.imencode(".jpg", img, params)
    else:
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    assert ok
    return buf.tobytes()


def build_figure(family: str, seed: int, k: int):
    """Return (fig, clean BGR image) for figure k of a family."""
    for attempt in range(8):
        key = (seed, FAMILIES.index(family), k) + ((attempt,) if attempt else ())
        r = Rng(*key)
        try:
            fig = BUILDERS[family](r, k)
            break
        except LayoutRetry:
            continue
    else:
        raise RuntimeError(f"no valid layout for {family} #{k} (seed {seed})")
    fig.tag = family
    img = render(fig, r)
    return fig, img, r


def generate(out_dir, per_family: int = 10, seed: int = 0, families=None) -> pathlib.Path:
    """Write out_dir/images/<file_name> and out_dir/annotations.json (COCO); return the JSON path.
    Deterministic for a seed."""
    out = pathlib.Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    fams = FAMILIES if families is None else tuple(families)
    for f in fams:
        if f not in FAMILIES:
            raise ValueError(f"unknown family {f!r}; known: {FAMILIES}")
    images, anns = [], []
    for fam in fams:
        for k in range(int(per_family)):
            fig, img, r = build_figure(fam, seed, k)
            caption, subs = make_caption(r, fig)
            name = f"{fam}_{k:03d}.{fig.fmt}"
            (out / "images" / name).write_bytes(_encode(img, fig))
            iid = len(images) + 1
            has_letters = fig.letter is not None
            images.append({"id": iid, "file_name": name, "width": int(fig.W), "height": int(fig.H),
                           "layout": fam, "caption": caption, "letters_in_image": has_letters})
            if has_letters:
                cap_index = {p.letter: i for i, p in enumerate(sorted(fig.panels, key=lambda q: q.letter))}
            for j, p in enumerate(fig.panels):
                x0, y0, x1, y1 = p.box
                ci = cap_index[p.letter] if has_letters else j
                anns.append({"id": len(anns) + 1, "image_id": iid, "category_id": 1,
                             "bbox": [int(x0), int(y0), int(x1 - x0), int(y1 - y0)],
                             "area": int((x1 - x0) * (y1 - y0)), "iscrowd": 0,
                             "letter": p.letter if has_letters else None,
                             "panel_style": p.style, "content": p.content,
                             "sub_caption": subs[ci] if subs else None})
    coco = {"info": {"description": "cv_montage held-out panel-splitting set", "seed": int(seed),
                     "per_family": int(per_family), "families": list(fams)},
            "images": images, "annotations": anns, "categories": [{"id": 1, "name": "panel"}]}
    path = out / "annotations.json"
    path.write_text(json.dumps(coco, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def _img_size(path: pathlib.Path):
    data = path.read_bytes()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    im = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    full = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE) if im is None else None
    if full is not None:
        return full.shape[1], full.shape[0]
    # reduced decode loses exact size; fall back to full decode
    full = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    return full.shape[1], full.shape[0]


def validate(json_path, families=None) -> dict:
    """Check a generated set; raises AssertionError listing every problem; returns a summary."""
    json_path = pathlib.Path(json_path)
    coco = json.loads(json_path.read_text(encoding="utf-8"))
    probs = []
    fams_expected = tuple(families) if families else tuple(coco.get("info", {}).get("families", FAMILIES))
    if coco.get("categories") != [{"id": 1, "name": "panel"}]:
        probs.append("categories must be [{id: 1, name: panel}]")
    by_img = {}
    for a in coco["annotations"]:
        by_img.setdefault(a["image_id"], []).append(a)
    ids = [a["id"] for a in coco["annotations"]]
    if len(set(ids)) != len(ids):
        probs.append("duplicate annotation ids")
    seen = {}
    for im in coco["images"]:
        name = im["file_name"]
        seen[im["layout"]] = seen.get(im["layout"], 0) + 1
        f = json_path.parent / "images" / name
        if not f.exists():
            probs.append(f"{name}: missing file")
        else:
            w, h = _img_size(f)
            if (w, h) != (im["width"], im["height"]):
                probs.append(f"{name}: size {(w, h)} != {(im['width'], im['height'])}")
        if not (500 <= im["width"] <= 2400):
            probs.append(f"{name}: width {im['width']} outside 500-2400")
        A = by_img.get(im["id"], [])
        if not A:
            probs.append(f"{name}: no annotations")
            continue
        if im["layout"] in ("single", "single_whitespace") and len(A) != 1:
            probs.append(f"{name}: single-panel family with {len(A)} boxes")
        boxes = []
        for a in A:
            x, y, w, h = a["bbox"]
            if not all(isinstance(v, int) for v in (x, y, w, h)):
                probs.append(f"{name}: non-integer bbox")
            if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > im["width"] or y + h > im["height"]:
                probs.append(f"{name}: bbox {a['bbox']} outside image")
            if a["area"] != w * h or a["category_id"] != 1 or a["iscrowd"] != 0:
                probs.append(f"{name}: bad area/category/iscrowd")
            boxes.append((x, y, x + w, y + h))
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                if _rects_overlap(boxes[i], boxes[j]):
                    probs.append(f"{name}: boxes {boxes[i]} and {boxes[j]} overlap")
        letters = [a["letter"] for a in A]
        if im["letters_in_image"]:
            if any(l is None for l in letters):
                probs.append(f"{name}: letters_in_image but a panel has no letter")
            elif sorted(letters) != list("abcdefghijklmnopqrstuvwxyz"[: len(letters)]):
                probs.append(f"{name}: letters {letters} are not a, b, c ... once each")
            elif any(l != l.lower() or len(l) != 1 for l in letters):
                probs.append(f"{name}: letters must be single lowercase characters")
        elif any(l is not None for l in letters):
            probs.append(f"{name}: letter set but letters_in_image is false")
        subs = [a["sub_caption"] for a in A]
        if any(s is not None for s in subs):
            if any(s is None or not s.strip() for s in subs):
                probs.append(f"{name}: sub_caption given for some panels only")
            if any(s not in im["caption"] for s in subs if s):
                probs.append(f"{name}: sub_caption not found in caption")
    for fam in fams_expected:
        if seen.get(fam, 0) == 0:
            probs.append(f"family {fam} missing")
    if probs:
        raise AssertionError(f"{len(probs)} problem(s):\n" + "\n".join(probs[:200]))
    return {"images": len(coco["images"]), "annotations": len(coco["annotations"]), "families": seen}


def draw_truth(json_path, out_dir):
    """Write copies of the images with the truth boxes (and letters) drawn, for eyeballing."""
    json_path = pathlib.Path(json_path)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    coco = json.loads(json_path.read_text(encoding="utf-8"))
    by_img = {}
    for a in coco["annotations"]:
        by_img.setdefault(a["image_id"], []).append(a)
    for im in coco["images"]:
        img = cv2.imread(str(json_path.parent / "images" / im["file_name"]))
        for a in by_img.get(im["id"], []):
            x, y, w, h = a["bbox"]
            cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), (0, 0, 255), 1)
            cv2.putText(img, str(a["letter"]), (x + w - 30, y + h - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.7,
                        (0, 0, 255), 2, AA)
        cv2.imwrite(str(out / (pathlib.Path(im["file_name"]).stem + ".png")), img)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.layoutgen.cv_montage", description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--per-family", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--families", nargs="*", default=None)
    ap.add_argument("--validate", action="store_true", help="validate after generating")
    ap.add_argument("--draw-truth", default=None, help="also write truth overlays to this folder")
    a = ap.parse_args(argv)
    t0 = time.time()
    path = generate(a.out_dir, a.per_family, a.seed, a.families)
    print(f"wrote {path} in {time.time() - t0:.1f}s")
    if a.validate:
        print(validate(path, a.families))
    if a.draw_truth:
        draw_truth(path, a.draw_truth)
    return 0


if __name__ == "__main__":
    sys.exit(main())

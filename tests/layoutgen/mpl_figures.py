"""Multi-panel scientific figures drawn with matplotlib, with COCO panel boxes.

Held-out layout generator: every figure is built the way journal figures are
made (a matplotlib ``Figure`` with axes, colorbars, legends, panel letters,
suptitles), rendered with Agg, and labelled with the true panel boxes.

Ground truth ("what a reader would cut out"):

* A panel is one sub-figure: its axes plus everything that belongs to it --
  tick labels, axis labels, axes title, colorbar, legend (also one placed
  outside the axes), insets, the panel letter when it sits in/at the panel
  corner, and the per-panel frame or tinted tile in the ``framed`` and
  ``tinted_grid`` families.  A suptitle, the figure background and the
  separator lines of ``dark_lines``/``light_lines`` belong to no panel.
* Layout is done with the renderer: axes are packed so that the union of
  ``get_tightbbox`` of a panel's axes (plus its letter / frame) fills its
  grid cell, with the requested gutter between cells.
* The stored box is the exact pixel extent of what the panel draws: the
  figure is re-rendered once per panel with every other artist hidden on a
  sentinel background, and the box is the bounding rectangle of the pixels
  that changed.  So it is the renderer's tight box shrunk to ink (text boxes
  lose their empty ascent/descent padding, an axis-off schematic is the union
  of its shapes, not its invisible axes rectangle) and is exact in the saved
  image's pixel grid (no dpi / y-flip conversion can go wrong).  Boxes of a
  figure never overlap (a figure whose boxes would overlap is redrawn with
  other random choices).

Output contract (shared with the other generators in this folder):
``generate(out_dir, per_family=8, seed=0)`` writes ``out_dir/images/*`` and
``out_dir/annotations.json`` (COCO + ``layout``/``caption`` per image,
``letter``/``sub_caption`` per box).

    python -m tests.layoutgen.mpl_figures OUT --per-family 8 --seed 7
    python -m tests.layoutgen.mpl_figures OUT --per-family 2 --check 2
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import cv2
import matplotlib
import numpy as np
from matplotlib import rc_context, rcParams
from matplotlib import style as mstyle
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Ellipse, FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.transforms import Bbox, IdentityTransform
from PIL import Image

FAMILIES = [
    "row", "column", "big_grid", "tinted_grid", "saturated", "framed",
    "dark_lines", "light_lines", "gutter_range", "jpeg_noise",
    "letters_outside", "uneven", "nested", "single", "single_whitespace",
]

DPIS = [72, 96, 100, 110, 120, 150, 200, 300]
STYLES = [
    "default", "default", "default", "classic", "ggplot", "bmh",
    "seaborn-v0_8-whitegrid", "seaborn-v0_8-ticks", "seaborn-v0_8-white",
    "seaborn-v0_8-paper", "seaborn-v0_8-colorblind", "seaborn-v0_8-darkgrid",
    "tableau-colorblind10", "grayscale", "fast", "petroff10",
]
LIGHT_BG_STYLES = [s for s in STYLES if s not in ("ggplot", "seaborn-v0_8-darkgrid", "bmh")]
FONTS = ["DejaVu Sans", "DejaVu Sans", "DejaVu Serif", "STIXGeneral"]

# rcParams given in points: scaled together with the font so that a figure
# keeps its look whatever its pixel width and dpi.
PT_KEYS = [
    "lines.linewidth", "lines.markersize", "lines.markeredgewidth", "axes.linewidth",
    "grid.linewidth", "patch.linewidth", "hatch.linewidth", "errorbar.capsize",
    "xtick.major.size", "xtick.minor.size", "xtick.major.width", "xtick.minor.width",
    "xtick.major.pad", "xtick.minor.pad", "ytick.major.size", "ytick.minor.size",
    "ytick.major.width", "ytick.minor.width", "ytick.major.pad", "ytick.minor.pad",
    "axes.labelpad", "axes.titlepad", "axes.titlesize", "axes.labelsize",
    "xtick.labelsize", "ytick.labelsize", "legend.fontsize", "legend.title_fontsize",
    "figure.titlesize", "boxplot.flierprops.markersize", "boxplot.flierprops.linewidth",
    "boxplot.boxprops.linewidth", "boxplot.whiskerprops.linewidth",
    "boxplot.capprops.linewidth", "boxplot.medianprops.linewidth",
    "boxplot.meanprops.linewidth", "boxplot.meanprops.markersize", "contour.linewidth",
]

XAX = [
    ("time", "Time (h)"), ("time", "Time (min)"), ("concentration", r"Concentration ($\mu$M)"),
    ("temperature", "Temperature (°C)"), ("wavelength", "Wavelength (nm)"),
    ("distance from the soma", r"Distance ($\mu$m)"), ("stimulus frequency", "Frequency (Hz)"),
    ("membrane voltage", "Voltage (mV)"), ("days post infection", "Days post infection"),
    ("dose", r"Dose (mg kg$^{-1}$)"), ("position", "Position (mm)"), ("applied strain", "Strain (%)"),
    ("photon energy", "Energy (eV)"), ("generation", "Generation"), ("age", "Age (weeks)"),
    ("pressure", "Pressure (GPa)"), ("epoch", "Training epoch"), ("field", "Magnetic field (T)"),
]
YAX = [
    ("fluorescence intensity", "Fluorescence (a.u.)"), ("relative expression", "Relative expression"),
    ("cell number", r"Cells (×10$^3$)"), ("firing rate", "Firing rate (Hz)"),
    ("optical density", r"OD$_{600}$"), ("peak current", "Current (pA)"),
    ("normalised response", "ΔF/F"), ("yield", "Yield (%)"), ("conductance", "Conductance (nS)"),
    ("relative abundance", "Relative abundance"), ("mean squared displacement", r"MSD ($\mu$m$^2$)"),
    ("velocity", r"Velocity (mm s$^{-1}$)"), ("binding", "Bound fraction"), ("body weight", "Weight (g)"),
    ("resistivity", r"$\rho$ (m$\Omega$ cm)"), ("accuracy", "Accuracy (%)"), ("loss", "Loss"),
    ("magnetisation", r"M ($\mu_B$/f.u.)"),
]
CONDS = [
    "control", "wild type", "knockout", "treated", "vehicle", "mutant", "siRNA", "DMSO",
    "drug A", "drug B", "hypoxia", "normoxia", "WT", "KO", "sham", "stimulated", "naive",
    "day 3", "day 7", "low dose", "high dose", "model", "baseline", "annealed", "as-grown",
]
GENES = [
    "ACTB", "GAPDH", "TP53", "MYC", "EGFR", "KRAS", "SOX2", "PAX6", "CD4", "CD8A", "IL6",
    "TNF", "VEGFA", "BRCA1", "NOTCH1", "HES1", "FOXP3", "GATA3", "MKI67", "CDH1", "VIM",
    "SNAI1", "STAT3", "AKT1", "MTOR", "NANOG", "OCT4", "KLF4", "LMNB1", "H3K27me3",
]
SAMPLES = ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "P1", "P2", "P3", "T1", "T2",
           "T3", "N1", "N2", "Ctrl", "Tx", "d0", "d2", "d4", "d8", "d16"]
STRUCTS = ["cortical neurons", "HeLa cells", "organoids", "liver sections", "root tips",
           "zebrafish larvae", "biofilms", "thin films", "nanowires", "tumour sections",
           "hippocampal slices", "yeast colonies", "cardiomyocytes", "retina", "kidney tubules"]
STAINS = ["DAPI", "phalloidin", "GFP", "mCherry", "anti-Ki67", "H&E", "anti-tubulin",
          "MitoTracker", "TUNEL", "SEM", "TEM", "bright-field"]
SCHEM = ["Input", "Encoder", "Decoder", "Laser", "Sample", "Detector", "Lens", "Pump",
         "Receptor", "Ligand", "Nucleus", "mRNA", "Protein", "DNA", "Filter", "Output",
         "Sensor", "Mixer", "Reactor", "Cell", "Virus", "Kinase", "Readout", "Model"]
TOPICS = [
    "Characterization of", "Dynamics of", "Loss of", "Structural basis of",
    "Quantification of", "Regulation of", "Mechanical response of", "Temporal profile of",
    "Spatial organization of", "Performance of", "Electronic structure of", "Imaging of",
]
OBJECTS = [
    "synaptic vesicle release", "tumour growth", "the ferroelectric phase", "stem-cell niches",
    "mitochondrial fission", "ion transport", "root development", "the immune response",
    "catalytic activity", "cortical oscillations", "protein aggregation", "strain relaxation",
    "viral replication", "gene expression", "network training",
]
ERRS = ["mean ± s.e.m.", "mean ± s.d.", "median and IQR", "95% confidence intervals"]
PASTELS = ["#cfe2f3", "#fce5cd", "#d9ead3", "#ead1dc", "#fff2cc", "#d0e0e3", "#e6e0f8", "#f4cccc"]
TINTS = ["#eef4fb", "#fdf3e7", "#eef8ee", "#f7eef8", "#fffbe8", "#eaf6f6", "#f3f3f3", "#fbeeee"]
SAT_CMAPS = ["jet", "turbo", "hsv", "nipy_spectral", "rainbow", "plasma", "inferno", "viridis",
             "gist_rainbow", "magma", "RdBu_r", "coolwarm", "Spectral_r", "hot", "cividis"]
MICRO_CMAPS = ["gray", "bone", "magma", "inferno", "viridis", "afmhot", "pink", "cividis"]
BRIGHT = ["#00e5ff", "#ffe600", "#ff4df0", "#5cff5c", "#ff8c1a", "#ffffff", "#8fb6ff"]


class LayoutError(Exception):
    """The drawn figure does not fit / panels overlap: redraw with other choices."""


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _pick_n(rng, seq, n):
    idx = rng.choice(len(seq), size=min(n, len(seq)), replace=False)
    return [seq[int(i)] for i in idx]


def _join(words):
    words = list(words)
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


# --------------------------------------------------------------------------- context

class Ctx:
    """One figure: pixel size, dpi, font scale, style (rcParams) and Figure."""

    def __init__(self, rng, W, H, dpi, fpx, style, font=None, facecolor=None, snap=False):
        self.W, self.H, self.dpi, self.fpx = int(W), int(H), int(dpi), float(fpx)
        self.fs = self.fpx * 72.0 / self.dpi          # base font size in points
        self.snap = snap
        self.style = style
        self.font = font or _pick(rng, FONTS)
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(rc_context())
        matplotlib.rcdefaults()
        mstyle.use(style)
        k = self.fs / float(rcParams["font.size"])
        upd = {}
        for key in PT_KEYS:
            v = rcParams.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                upd[key] = v * k
        upd["font.size"] = self.fs
        upd["font.family"] = [self.font]
        upd["mathtext.fontset"] = "stix" if self.font == "STIXGeneral" else "dejavusans"
        upd["axes.unicode_minus"] = True
        upd["figure.facecolor"] = facecolor or "white"
        upd["savefig.facecolor"] = upd["figure.facecolor"]
        upd["legend.framealpha"] = rcParams["legend.framealpha"] or 0.8
        rcParams.update(upd)
        # +1e-3 px: Agg truncates the canvas size to int.
        self.fig = Figure(figsize=((self.W + 1e-3) / dpi, (self.H + 1e-3) / dpi), dpi=dpi)
        FigureCanvasAgg(self.fig)
        self.fig.patch.set_alpha(1.0)

    def close(self):
        self._stack.close()

    def pt(self, x):
        """``x`` points of a 10-pt figure, scaled to this figure's font."""
        return x * self.fs / 10.0

    def px2pt(self, px):
        return px * 72.0 / self.dpi

    def renderer(self):
        return self.fig.canvas.get_renderer()

    def frac(self, rect):
        x0, y0, x1, y1 = rect
        W, H = self.fig.bbox.width, self.fig.bbox.height
        return [x0 / W, y0 / H, (x1 - x0) / W, (y1 - y0) / H]


def _font_px(rng, W, n_across, attempt, lo=7.0, hi=44.0):
    nominal_in = float(np.clip(1.7 + 1.8 * n_across + rng.normal(0, 0.5), 2.8, 8.5))
    base_pt = rng.uniform(6.5, 10.0)
    fpx = base_pt / 72.0 * W / nominal_in
    fpx *= 0.82 ** max(0, attempt - 1)
    return float(np.clip(fpx, lo * (0.85 ** max(0, attempt - 1)), hi))


# --------------------------------------------------------------------------- images

def _noise(rng, h, w, sigmas, weights=None):
    out = np.zeros((h, w), np.float32)
    weights = weights or [1.0] * len(sigmas)
    for s, wt in zip(sigmas, weights):
        n = rng.standard_normal((h, w)).astype(np.float32)
        b = cv2.GaussianBlur(n, (0, 0), float(s))
        out += wt * b / (b.std() + 1e-6)
    out -= out.min()
    return out / (out.max() + 1e-6)


def _blobs(rng, h, w, n, rmin, rmax, blur=None):
    img = np.zeros((h, w), np.float32)
    for _ in range(int(n)):
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        a, b = rng.uniform(rmin, rmax), rng.uniform(rmin, rmax)
        cv2.ellipse(img, (cx, cy), (max(1, int(a)), max(1, int(b))), float(rng.uniform(0, 180)),
                    0, 360, float(rng.uniform(0.4, 1.0)), -1)
    s = blur if blur is not None else max(0.8, rmin * 0.4)
    return cv2.GaussianBlur(img, (0, 0), float(s))


def micrograph(rng, h, w, mode):
    """Return (image, cmap or None) for a microscopy-like picture."""
    if mode == "fluor":
        cells = _blobs(rng, h, w, rng.integers(8, 40), w / 40, w / 14)
        tex = _noise(rng, h, w, [1.0, 4.0])
        img = np.clip(cells * (0.6 + 0.6 * tex) + 0.05 * rng.random((h, w)), 0, None)
        img = img / (img.max() + 1e-6)
        col = _pick(rng, ["#00ff40", "#ff2020", "#30a0ff", "#ff30ff", "#ffffff", "#00ffff"])
        return img, LinearSegmentedColormap.from_list("fl", ["black", col])
    if mode == "merge":
        chans = []
        for _ in range(3):
            c = _blobs(rng, h, w, rng.integers(6, 30), w / 50, w / 15)
            c = c * (0.5 + _noise(rng, h, w, [2.0]))
            chans.append(c / (c.max() + 1e-6))
        if rng.random() < 0.5:
            chans[2] *= 0.3
        return np.clip(np.dstack(chans), 0, 1), None
    if mode == "he":
        tex = _noise(rng, h, w, [1.0, 3.0, 12.0], [0.5, 1.0, 0.8])
        nuc = _blobs(rng, h, w, rng.integers(30, 120), w / 90, w / 45)
        nuc = nuc / (nuc.max() + 1e-6)
        pink = np.array([0.93, 0.62, 0.78]); purple = np.array([0.35, 0.2, 0.55]); white = np.ones(3)
        base = white[None, None] * (1 - tex[..., None] * 0.9) + pink[None, None] * tex[..., None] * 0.9
        img = base * (1 - nuc[..., None]) + purple[None, None] * nuc[..., None]
        return np.clip(img, 0, 1), None
    if mode == "em":
        tex = _noise(rng, h, w, [0.7, 2.0, 8.0], [0.6, 1.0, 0.7])
        mem = np.abs(_noise(rng, h, w, [6.0]) - 0.5) < 0.03
        img = 0.55 + 0.35 * (tex - 0.5) - 0.4 * cv2.GaussianBlur(mem.astype(np.float32), (0, 0), 0.8)
        return np.clip(img, 0, 1), "gray"
    # grey-scale / colormapped texture
    img = _noise(rng, h, w, [1.0, 3.0, 9.0], [0.3, 1.0, 0.8])
    if rng.random() < 0.5:
        img = np.clip(img - 0.6 * _blobs(rng, h, w, rng.integers(5, 25), w / 30, w / 10), 0, 1)
    return img, _pick(rng, MICRO_CMAPS)


def _scalebar(ax, rng, ctx, w, h, color="white"):
    L = w * rng.uniform(0.15, 0.3)
    x1 = w * 0.95
    y = h * 0.92
    ax.add_patch(Rectangle((x1 - L, y - h * 0.015), L, h * 0.03, color=color, lw=0))
    if rng.random() < 0.5:
        ax.text(x1 - L / 2, y - h * 0.04, f"{_pick(rng, [5, 10, 20, 50, 100, 200])} µm",
                color=color, ha="center", va="bottom", fontsize=ctx.fs * 0.8)


# --------------------------------------------------------------------------- content

def _strip(ax):
    ax.set_xticks([]); ax.set_yticks([])
    ax.set_xlabel(""); ax.set_ylabel(""); ax.set_title("")
    for s in ax.spines.values():
        s.set_visible(False)


def _despine(ax, rng):
    if rng.random() < 0.4:
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)


def _dark_axes(ax, rng):
    ax.set_facecolor(_pick(rng, ["#000000", "#0b0b12", "#101820", "#141414"]))
    for s in ax.spines.values():
        s.set_visible(False)


def _legend(ax, rng, ctx, deco, n):
    if n < 2 or rng.random() < 0.3:
        return
    if deco and rng.random() < 0.18:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=rng.random() < 0.5)
    else:
        ax.legend(loc=_pick(rng, ["upper left", "upper right", "lower right", "lower left", "center right"]),
                  frameon=rng.random() < 0.6)


def c_line(ax, rng, ctx, deco=True, dark=False):
    (xn, xl), (yn, yl) = _pick(rng, XAX), _pick(rng, YAX)
    ns = int(rng.integers(1, 5))
    conds = _pick_n(rng, CONDS, ns)
    x = np.linspace(0, float(_pick(rng, [5, 10, 24, 48, 60, 100, 1])), int(rng.integers(6, 30)))
    shape = _pick(rng, ["sig", "exp", "sin", "lin", "sat", "peak"])
    mode = _pick(rng, ["errorbar", "errorbar", "band", "line", "marker"])
    t = (x - x.min()) / (np.ptp(x) + 1e-9)
    colors = BRIGHT if dark else [None] * 8
    for i in range(ns):
        a, b = rng.uniform(0.5, 2.0), rng.uniform(0.2, 1.0)
        y = {"sig": a / (1 + np.exp(-(t - b) * 10)), "exp": a * np.exp(-3 * b * t),
             "sin": a * np.sin(2 * np.pi * (1 + 2 * b) * t) + 2, "lin": a * t + b,
             "sat": a * t / (b * 0.5 + t + 1e-3), "peak": a * np.exp(-((t - b) / 0.15) ** 2) + 0.2}[shape]
        y = y + rng.normal(0, 0.04 * a, len(x))
        err = np.abs(rng.normal(0.05 * a, 0.03 * a, len(x)))
        c = colors[i % len(colors)]
        mk = _pick(rng, ["o", "s", "^", "D", "v", None])
        if mode == "errorbar":
            ax.errorbar(x, y, yerr=err, marker=mk or "o", ms=rcParams["lines.markersize"] * 0.7,
                        capsize=ctx.pt(2), label=conds[i], color=c)
        elif mode == "band":
            ln, = ax.plot(x, y, label=conds[i], color=c)
            ax.fill_between(x, y - err, y + err, alpha=0.25, color=ln.get_color(), lw=0)
        elif mode == "marker":
            ax.plot(x, y, marker=mk or "o", ls="none", label=conds[i], color=c)
        else:
            ax.plot(x, y, label=conds[i], color=c)
    if rng.random() < 0.15:
        ax.axhline(float(np.mean(ax.get_ylim())), ls="--", color="0.5", lw=rcParams["lines.linewidth"] * 0.6)
    if deco:
        ax.set_xlabel(xl); ax.set_ylabel(yl)
        if rng.random() < 0.2:
            ax.set_title(f"{_pick(rng, STRUCTS).capitalize()}")
        _despine(ax, rng)
    if rng.random() < 0.1:
        ax.set_yscale("log")
    _legend(ax, rng, ctx, deco, ns)
    err_txt = _pick(rng, ERRS)
    return None, (f"{yn.capitalize()} as a function of {xn} for {_join(conds)} "
                  f"({err_txt}, n = {int(rng.integers(3, 30))}).")


def c_scatter(ax, rng, ctx, deco=True, dark=False):
    mode = _pick(rng, ["clusters", "corr", "cmap"])
    s = (ctx.pt(3.5)) ** 2 * rng.uniform(0.4, 1.5)
    mappable = None
    if mode == "clusters":
        k = int(rng.integers(2, 7))
        names = _pick_n(rng, GENES + CONDS, k)
        for i in range(k):
            c = rng.normal(0, 4, 2)
            pts = c + rng.normal(0, rng.uniform(0.5, 1.5), (int(rng.integers(30, 150)), 2))
            ax.scatter(pts[:, 0], pts[:, 1], s=s, alpha=0.7, label=names[i], lw=0,
                       color=BRIGHT[i % len(BRIGHT)] if dark else None)
        xl, yl = _pick(rng, [("UMAP 1", "UMAP 2"), ("PC1", "PC2"), ("t-SNE 1", "t-SNE 2")])
        sub = f"{xl.split()[0]} embedding of single cells coloured by {_pick(rng, ['cluster', 'condition', 'cell type'])}."
        if deco:
            ax.set_xlabel(xl); ax.set_ylabel(yl)
        _legend(ax, rng, ctx, deco, k)
    else:
        (xn, xlab), (yn, ylab) = _pick(rng, XAX), _pick(rng, YAX)
        n = int(rng.integers(20, 300))
        x = rng.normal(0, 1, n)
        y = rng.uniform(-1, 1) * x + rng.normal(0, rng.uniform(0.2, 1.0), n)
        if mode == "cmap":
            mappable = ax.scatter(x, y, c=x * y + rng.normal(0, 0.3, n), s=s,
                                  cmap=_pick(rng, ["viridis", "plasma", "coolwarm", "RdYlBu", "magma"]))
        else:
            ax.scatter(x, y, s=s, alpha=0.7, color="#ffe600" if dark else None, edgecolors="none")
            xs = np.linspace(x.min(), x.max(), 10)
            p = np.polyfit(x, y, 1)
            ax.plot(xs, np.polyval(p, xs), color="w" if dark else "k", lw=rcParams["lines.linewidth"])
            r = np.corrcoef(x, y)[0, 1]
            ax.text(0.95, 0.05, f"r = {r:.2f}", transform=ax.transAxes, ha="right", va="bottom",
                    color="w" if dark else "k")
        if deco:
            ax.set_xlabel(xlab); ax.set_ylabel(ylab)
            _despine(ax, rng)
        sub = f"Correlation between {xn} and {yn} across {n} {_pick(rng, STRUCTS)}."
    return mappable, sub


def c_bar(ax, rng, ctx, deco=True, dark=False):
    g = int(rng.integers(2, 6)); sers = int(rng.integers(1, 4))
    groups = _pick_n(rng, CONDS if rng.random() < 0.5 else GENES, g)
    yn, yl = _pick(rng, YAX)
    width = 0.8 / sers
    sernames = _pick_n(rng, CONDS, sers)
    for j in range(sers):
        h = rng.uniform(0.3, 1.0, g) * rng.uniform(1, 50)
        e = h * rng.uniform(0.05, 0.2, g)
        xs = np.arange(g) + (j - (sers - 1) / 2) * width
        ax.bar(xs, h, width * 0.9, yerr=e, capsize=ctx.pt(2), label=sernames[j],
               color=BRIGHT[j] if dark else None, edgecolor=_pick(rng, ["none", "k"]) if not dark else "none")
        if rng.random() < 0.4:
            for xi, hi in zip(xs, h):
                pts = hi + rng.normal(0, hi * 0.1, 4)
                ax.scatter(np.full(4, xi) + rng.normal(0, width * 0.1, 4), pts, s=ctx.pt(2) ** 2,
                           color="w" if dark else "k", zorder=3)
    top = ax.get_ylim()[1]
    ax.set_ylim(0, top * 1.15)
    if rng.random() < 0.5:
        i = int(rng.integers(0, max(1, g - 1)))
        ax.plot([i, i, i + 1, i + 1], [top * 1.0, top * 1.04, top * 1.04, top * 1.0], color="w" if dark else "k",
                lw=rcParams["lines.linewidth"] * 0.6)
        ax.text(i + 0.5, top * 1.04, _pick(rng, ["*", "**", "***", "n.s."]), ha="center", va="bottom",
                color="w" if dark else "k")
    if deco:
        ax.set_xticks(np.arange(g))
        rot = _pick(rng, [0, 0, 30, 45, 90])
        ax.set_xticklabels(groups, rotation=rot, ha="right" if rot not in (0, 90) else "center")
        ax.set_ylabel(yl)
        _despine(ax, rng)
    _legend(ax, rng, ctx, deco, sers)
    return None, (f"{yn.capitalize()} in {_join(groups)}"
                  f"{' under ' + _join(sernames) if sers > 1 else ''} ({_pick(rng, ERRS)}; *P < 0.05).")


def c_box(ax, rng, ctx, deco=True, dark=False):
    g = int(rng.integers(2, 7))
    groups = _pick_n(rng, CONDS, g)
    yn, yl = _pick(rng, YAX)
    data = [rng.normal(rng.uniform(1, 5), rng.uniform(0.3, 1.5), int(rng.integers(15, 80))) for _ in range(g)]
    if rng.random() < 0.5:
        bp = ax.boxplot(data, patch_artist=True, widths=0.6)
        for i, b in enumerate(bp["boxes"]):
            b.set_facecolor(PASTELS[i % len(PASTELS)] if not dark else BRIGHT[i % len(BRIGHT)])
        kind = "Box plots"
    else:
        vp = ax.violinplot(data, showmedians=True)
        for i, b in enumerate(vp["bodies"]):
            b.set_facecolor(PASTELS[i % len(PASTELS)] if not dark else BRIGHT[i % len(BRIGHT)])
            b.set_alpha(0.8)
        kind = "Violin plots"
    if rng.random() < 0.5:
        for i, d in enumerate(data):
            ax.scatter(i + 1 + rng.normal(0, 0.06, len(d)), d, s=ctx.pt(1.6) ** 2,
                       color="w" if dark else "k", alpha=0.6, zorder=3)
    if deco:
        ax.set_xticks(np.arange(1, g + 1))
        rot = _pick(rng, [0, 0, 45] if g <= 3 else [45, 90])
        ax.set_xticklabels(groups, rotation=rot, ha="right" if rot == 45 else "center")
        ax.set_ylabel(yl)
        _despine(ax, rng)
    else:
        ax.set_xticks([])
    return None, f"{kind} of {yn} in {_join(groups)} (boxes, IQR; whiskers, 1.5 × IQR)."


def c_hist(ax, rng, ctx, deco=True, dark=False):
    k = int(rng.integers(1, 4))
    names = _pick_n(rng, CONDS, k)
    xn, xl = _pick(rng, XAX)
    ht = _pick(rng, ["bar", "stepfilled", "step"])
    for i in range(k):
        d = rng.normal(rng.uniform(0, 4), rng.uniform(0.5, 1.5), int(rng.integers(100, 800)))
        ax.hist(d, bins=int(rng.integers(12, 40)), histtype=ht, alpha=0.6 if ht != "step" else 1.0,
                label=names[i], color=BRIGHT[i] if dark else None)
    if deco:
        ax.set_xlabel(xl); ax.set_ylabel(_pick(rng, ["Count", "Frequency", "Probability density", "Events"]))
        _despine(ax, rng)
    _legend(ax, rng, ctx, deco, k)
    return None, f"Distribution of {xn} in {_join(names)}."


def c_heatmap(ax, rng, ctx, deco=True, dark=False, cmap=None):
    nr, nc = int(rng.integers(5, 22)), int(rng.integers(4, 14))
    k = int(rng.integers(2, 4))
    rows = rng.integers(0, k, nr); cols = rng.integers(0, k, nc)
    means = rng.normal(0, 1.5, (k, k))
    M = means[np.sort(rows)][:, np.sort(cols)] + rng.normal(0, 0.5, (nr, nc))
    cmap = cmap or _pick(rng, ["RdBu_r", "viridis", "coolwarm", "magma", "YlGnBu", "bwr", "inferno", "PuOr_r"])
    im = ax.imshow(M, cmap=cmap, aspect="auto", interpolation="nearest")
    genes = _pick_n(rng, GENES, nr)
    samples = _pick_n(rng, SAMPLES, nc)
    if deco:
        if nr <= 14:
            ax.set_yticks(np.arange(nr)); ax.set_yticklabels(genes, fontsize=ctx.fs * 0.8)
        else:
            ax.set_yticks([]); ax.set_ylabel("Genes")
        ax.set_xticks(np.arange(nc))
        ax.set_xticklabels(samples, rotation=_pick(rng, [0, 45, 90]), fontsize=ctx.fs * 0.8)
        if rng.random() < 0.3:
            ax.xaxis.tick_top()
        for s in ax.spines.values():
            s.set_visible(rng.random() < 0.5)
    else:
        _strip(ax)
    return im, f"Heat map of z-scored expression of {nr} genes across {nc} samples."


def c_contour(ax, rng, ctx, deco=True, dark=False, cmap=None):
    n = 80
    X, Y = np.meshgrid(np.linspace(-3, 3, n), np.linspace(-3, 3, n))
    Z = np.zeros_like(X)
    for _ in range(int(rng.integers(2, 6))):
        cx, cy, s = rng.uniform(-2.5, 2.5), rng.uniform(-2.5, 2.5), rng.uniform(0.4, 1.5)
        Z += rng.uniform(-1, 1.5) * np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * s * s))
    cmap = cmap or _pick(rng, ["viridis", "plasma", "RdBu_r", "terrain", "cividis", "Spectral_r", "jet"])
    if rng.random() < 0.5:
        m = ax.contourf(X, Y, Z, levels=int(rng.integers(8, 20)), cmap=cmap)
        if rng.random() < 0.5:
            ax.contour(X, Y, Z, levels=8, colors="k", linewidths=rcParams["lines.linewidth"] * 0.4)
    else:
        m = ax.pcolormesh(X, Y, Z, cmap=cmap, shading="auto")
    (xn, xl), (yn, yl) = _pick(rng, XAX), _pick(rng, XAX)
    if deco:
        ax.set_xlabel(xl); ax.set_ylabel(yl)
    else:
        _strip(ax)
    return m, f"Map of {_pick(rng, YAX)[0]} versus {xn} and {yn}."


def c_micro(ax, rng, ctx, deco=True, dark=False, mode=None, cmap=None):
    h = int(rng.integers(80, 180)); w = int(h * rng.uniform(0.8, 1.5))
    mode = mode or _pick(rng, ["fluor", "merge", "he", "em", "tex", "fluor"])
    img, cm = micrograph(rng, h, w, mode)
    if cmap is not None and img.ndim == 2:
        cm = cmap
    im = ax.imshow(img, cmap=cm, aspect="auto", interpolation=_pick(rng, ["nearest", "bilinear", "antialiased"]))
    if cmap is None:
        ax._mplfig_tone = {"fluor": "dark", "merge": "dark", "he": "light", "em": "light"}.get(mode)
    if deco and rng.random() < 0.3:
        ax.set_xlabel("x (µm)"); ax.set_ylabel("y (µm)")
    else:
        ax.set_axis_off()
    if rng.random() < 0.6:
        _scalebar(ax, rng, ctx, w, h, color="white" if mode != "he" else "black")
    if rng.random() < 0.25:
        ax.text(0.97, 0.04 if rng.random() < 0.5 else 0.9, _pick(rng, STAINS), transform=ax.transAxes,
                ha="right", va="bottom", color="white" if mode != "he" else "black", fontsize=ctx.fs * 0.85)
    return (im if img.ndim == 2 else None), (f"Representative {_pick(rng, STAINS)} image of "
                                             f"{_pick(rng, STRUCTS)} ({_pick(rng, CONDS)}).")


def c_blot(ax, rng, ctx, deco=True, dark=False):
    nl, npr = int(rng.integers(3, 10)), int(rng.integers(2, 6))
    W, Hh = nl * 30, npr * 26
    img = np.zeros((Hh, W), np.float32)
    for r in range(npr):
        for l in range(nl):
            cv2.ellipse(img, (15 + 30 * l, 13 + 26 * r), (11, 3), 0, 0, 360, float(rng.uniform(0.1, 1.0)), -1)
    img = cv2.GaussianBlur(img, (0, 0), 1.6) + 0.05 * _noise(rng, Hh, W, [2.0])
    ax.imshow(1 - np.clip(img, 0, 1), cmap="gray", aspect="auto", vmin=0, vmax=1)
    ax._mplfig_tone = "light"
    prots = _pick_n(rng, GENES, npr)
    if deco:
        ax.set_yticks(13 + 26 * np.arange(npr)); ax.set_yticklabels(prots)
        ax.set_xticks(15 + 30 * np.arange(nl))
        ax.set_xticklabels([_pick(rng, ["+", "−"]) if rng.random() < 0.5 else _pick(rng, SAMPLES)
                            for _ in range(nl)])
        ax.xaxis.tick_top()
        ax.tick_params(length=0)
    else:
        _strip(ax)
    return None, f"Immunoblots of {_join(prots)} in {_pick(rng, STRUCTS)}; {_pick(rng, ['GAPDH', 'ACTB'])} loading control."


def c_spectrum(ax, rng, ctx, deco=True, dark=False):
    kind = _pick(rng, [("Raman shift (cm$^{-1}$)", 200, 3200, "Raman spectra"),
                       ("2θ (°)", 10, 80, "X-ray diffraction patterns"),
                       ("m/z", 100, 1500, "Mass spectra"),
                       ("Wavelength (nm)", 300, 800, "Absorption spectra")])
    x = np.linspace(kind[1], kind[2], 600)
    ns = int(rng.integers(1, 4))
    names = _pick_n(rng, CONDS, ns)
    for i in range(ns):
        y = 0.05 * rng.random(x.size)
        peaks = rng.uniform(kind[1], kind[2], int(rng.integers(3, 9)))
        for p in peaks:
            wdt = (kind[2] - kind[1]) * rng.uniform(0.003, 0.02)
            y += rng.uniform(0.2, 1.0) / (1 + ((x - p) / wdt) ** 2)
        ax.plot(x, y + i * 1.1, label=names[i], lw=rcParams["lines.linewidth"] * 0.8,
                color=BRIGHT[i] if dark else None)
        if i == ns - 1 and rng.random() < 0.6:
            for p in peaks[:3]:
                ax.text(p, float(np.interp(p, x, y + i * 1.1)) + 0.05, f"{p:.0f}", ha="center",
                        va="bottom", fontsize=ctx.fs * 0.7, color="w" if dark else "k")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.12)
    if deco:
        ax.set_xlabel(kind[0]); ax.set_ylabel("Intensity (a.u.)")
        if rng.random() < 0.5:
            ax.set_yticks([])
        _despine(ax, rng)
    _legend(ax, rng, ctx, deco, ns)
    return None, f"{kind[3]} of {_join(names)} samples."


def c_survival(ax, rng, ctx, deco=True, dark=False):
    k = int(rng.integers(2, 4)); names = _pick_n(rng, CONDS, k)
    for i in range(k):
        t = np.sort(rng.exponential(rng.uniform(10, 40), 40))
        s = 1 - np.arange(1, 41) / 41
        t = np.concatenate([[0], t]); s = np.concatenate([[1], s])
        ln, = ax.step(t, s * 100, where="post", label=names[i], color=BRIGHT[i] if dark else None)
        cens = rng.choice(len(t), 5)
        ax.plot(t[cens], s[cens] * 100, "|", color=ln.get_color(), ms=rcParams["lines.markersize"] * 1.2)
    ax.text(0.95, 0.9, f"P = {rng.uniform(0.0001, 0.04):.3f}", transform=ax.transAxes, ha="right",
            color="w" if dark else "k")
    if deco:
        ax.set_xlabel(_pick(rng, ["Time (months)", "Days", "Time (weeks)"])); ax.set_ylabel("Survival (%)")
        _despine(ax, rng)
    _legend(ax, rng, ctx, deco, k)
    return None, f"Kaplan–Meier survival of {_join(names)} cohorts (log-rank test)."


def c_schematic(ax, rng, ctx, deco=True, dark=False, spread=False):
    ax.set_xlim(0, 10); ax.set_ylim(0, 7); ax.set_axis_off()
    n = int(rng.integers(3, 6)) if not spread else int(rng.integers(2, 5))
    labels = _pick_n(rng, SCHEM, n)
    if spread:
        corners = [(1.3, 6.0), (8.7, 1.0), (8.7, 6.0), (1.3, 1.0), (5.0, 3.5)]
        order = rng.permutation(len(corners))
        pos = [corners[int(i)] for i in order[:n]]
    elif rng.random() < 0.6:
        xs = np.linspace(1.2, 8.8, n)
        pos = [(float(x), 3.5 + rng.uniform(-1.2, 1.2)) for x in xs]
    else:
        pos = [(1.5 + 7 * (i % 3) / 2, 5.2 if i < 3 else 1.8) for i in range(n)]
    ec = "w" if dark else _pick(rng, ["k", "#333333", "#1f4e79"])
    lw = rcParams["lines.linewidth"] * 0.8
    sizes = []
    for (x, y), lab in zip(pos, labels):
        shape = _pick(rng, ["round", "box", "circle", "ellipse"])
        fc = _pick(rng, PASTELS) if not dark else "#223344"
        bw, bh = rng.uniform(1.3, 2.0), rng.uniform(0.8, 1.3)
        if shape in ("round", "box"):
            ax.add_patch(FancyBboxPatch((x - bw / 2, y - bh / 2), bw, bh,
                                        boxstyle="round,pad=0.1" if shape == "round" else "square,pad=0.05",
                                        fc=fc, ec=ec, lw=lw))
        elif shape == "circle":
            ax.add_patch(Circle((x, y), bh * 0.6, fc=fc, ec=ec, lw=lw)); bw = bh * 1.2
        else:
            ax.add_patch(Ellipse((x, y), bw, bh, fc=fc, ec=ec, lw=lw))
        ax.text(x, y, lab, ha="center", va="center", fontsize=ctx.fs * 0.85, color="w" if dark else "k")
        sizes.append(bw)
    if not spread or rng.random() < 0.3:
        for i in range(len(pos) - 1):
            (x1, y1), (x2, y2) = pos[i], pos[i + 1]
            ax.add_patch(FancyArrowPatch((x1 + sizes[i] / 2 * 0.8 * np.sign(x2 - x1 + 1e-9), y1),
                                         (x2 - sizes[i + 1] / 2 * 0.8 * np.sign(x2 - x1 + 1e-9), y2),
                                         arrowstyle=_pick(rng, ["-|>", "->", "simple"]),
                                         mutation_scale=ctx.pt(12), color=ec, lw=lw,
                                         connectionstyle=_pick(rng, ["arc3", "arc3,rad=0.2"])))
    return None, f"Schematic of the {_pick(rng, ['experimental setup', 'proposed model', 'signalling pathway', 'workflow', 'device'])}."


CONTENT = {
    "line": c_line, "scatter": c_scatter, "bar": c_bar, "box": c_box, "hist": c_hist,
    "heatmap": c_heatmap, "contour": c_contour, "micro": c_micro, "blot": c_blot,
    "spectrum": c_spectrum, "survival": c_survival, "schematic": c_schematic,
}
PLOT_KINDS = ["line", "line", "scatter", "bar", "box", "hist", "spectrum", "survival"]
ALL_KINDS = PLOT_KINDS + ["heatmap", "contour", "micro", "micro", "blot", "schematic"]
IMAGE_KINDS = ["micro", "micro", "heatmap", "contour"]


# --------------------------------------------------------------------------- panel

class Panel:
    def __init__(self, ctx, kind, rng, deco=True, dark=False, cbar_p=0.55, cbar_pad=None, **kw):
        self.ctx, self.kind, self.deco = ctx, kind, deco
        self.ax = ctx.fig.add_axes([0.1, 0.1, 0.5, 0.5])
        self.axes = [self.ax]
        self.owned = []          # figure-level artists of this panel (frame, tile)
        self.letter_artist = None
        self.letter = None
        self.sub = None
        self.extra = 0.0         # px reserved around the tight box (frame / tile)
        self.cax = None
        self.dark = dark
        self.tone = None         # "dark" / "light" picture under an inside letter, None: unknown
        if dark:
            _dark_axes(self.ax, rng)
        mappable, self.sub = CONTENT[kind](self.ax, rng, ctx, deco=deco, dark=dark, **kw)
        if kind in ("micro", "heatmap", "blot"):
            self.ax.grid(False)
        self.tone = getattr(self.ax, "_mplfig_tone", None)
        if not deco and self.ax.axison:
            _strip(self.ax)     # no decorations: nothing may stick out of the axes
        if mappable is not None and rng.random() < cbar_p:
            self.cax = ctx.fig.add_axes([0.7, 0.1, 0.05, 0.5])
            cb = ctx.fig.colorbar(mappable, cax=self.cax)
            if deco and rng.random() < 0.5:
                cb.set_label(_pick(rng, ["z-score", "log$_2$ FC", "Intensity (a.u.)", "Counts", "ΔT (K)", "Phase (rad)"]))
            if dark:
                cb.ax.tick_params(colors="w")
            self.axes.append(self.cax)
            self.cbw = max(4.0, ctx.fpx * rng.uniform(0.6, 1.2))
            self.cbpad = cbar_pad if cbar_pad is not None else max(3.0, ctx.fpx * rng.uniform(0.3, 1.0))
            self.cbshrink = rng.uniform(0.0, 0.15) if rng.random() < 0.4 else 0.0
        if rng.random() < 0.07 and kind in ("line", "scatter", "hist") and deco:
            ins = self.ax.inset_axes([0.6, 0.6, 0.35, 0.35])
            xs = np.linspace(0, 1, 20)
            ins.plot(xs, xs ** rng.uniform(0.3, 3), lw=rcParams["lines.linewidth"] * 0.6)
            ins.tick_params(labelsize=ctx.fs * 0.6)
        self.content = None

    # -- geometry (display pixels, origin bottom-left) --
    def place(self, rect):
        x0, y0, x1, y1 = rect
        if self.ctx.snap:
            # inward rounding: a gutter of g px stays >= g px after snapping
            x0, y0 = float(np.ceil(x0 - 1e-6)), float(np.ceil(y0 - 1e-6))
            x1, y1 = float(np.floor(x1 + 1e-6)), float(np.floor(y1 + 1e-6))
        self.content = (x0, y0, x1, y1)
        if self.cax is not None:
            mx1 = x1 - self.cbw - self.cbpad
            if mx1 - x0 < 8:
                raise LayoutError("no room for colorbar")
            self.ax.set_position(self.ctx.frac((x0, y0, mx1, y1)))
            sh = (y1 - y0) * self.cbshrink
            cx0 = x1 - self.cbw
            if self.ctx.snap:
                cx0, sh = round(cx0), round(sh)
            self.cax.set_position(self.ctx.frac((cx0, y0 + sh, x1, y1 - sh)))
        else:
            self.ax.set_position(self.ctx.frac((x0, y0, x1, y1)))

    def deco_bbox(self, renderer):
        boxes = [a.get_tightbbox(renderer) for a in self.axes]
        return Bbox.union([b for b in boxes if b is not None])

    def renderer_box(self, renderer, owned=True):
        boxes = [self.deco_bbox(renderer)]
        if self.letter_artist is not None:
            boxes.append(self.letter_artist.get_window_extent(renderer))
        if owned:
            for a in self.owned:
                bb = a.get_window_extent(renderer)
                lw = a.get_linewidth() * self.ctx.dpi / 72.0 / 2 if hasattr(a, "get_linewidth") else 0
                boxes.append(bb.expanded(1, 1).padded(lw))
        return Bbox.union(boxes)

    def guess_pads(self):
        f = self.ctx.fpx
        if not self.deco or self.kind in ("schematic",):
            return [0.0, 0.0, 0.0, 0.0]
        return [3.5 * f, 3.0 * f, 1.0 * f, 0.5 * f]

    # -- letter --
    def add_letter(self, text, mode, props, on_image=False):
        ax = self.ax
        fp = dict(props)
        off = self.ctx.pt(fp.pop("offset", 4.0))
        if mode in ("in_tl", "in_tr"):
            boxed = fp.pop("boxed", False)
            img_color = fp.get("img_color", "white")
            if self.dark:
                fp["color"] = img_color if img_color != "black" else "white"
            elif on_image:
                if boxed or self.tone is None:
                    fp["bbox"] = dict(boxstyle="square,pad=0.2", fc="white", ec="none")
                    fp["color"] = "black"
                elif self.tone == "dark":
                    fp["color"] = img_color if img_color != "black" else "white"
                else:
                    fp["color"] = "black"
            fp.pop("boxed", None); fp.pop("img_color", None)
            xy = (0, 1) if mode == "in_tl" else (1, 1)
            t = ax.annotate(text, xy=xy, xycoords="axes fraction",
                            xytext=(off if mode == "in_tl" else -off, -off), textcoords="offset points",
                            ha="left" if mode == "in_tl" else "right", va="top", **fp)
        elif mode == "title_left":
            fp.pop("boxed", None); fp.pop("img_color", None)
            t = ax.set_title(text, loc="left", **fp)
            self.letter_artist = None
            self.letter = text
            return
        else:  # out_above / out_left: at the corner of the decorated panel box
            fp.pop("boxed", None); fp.pop("img_color", None)
            if mode == "out_above":
                t = ax.annotate(text, xy=(0, 1), xycoords=self.deco_bbox, xytext=(0, off * 0.5),
                                textcoords="offset points", ha="left", va="bottom", **fp)
            else:
                t = ax.annotate(text, xy=(0, 1), xycoords=self.deco_bbox, xytext=(-off * 0.5, 0),
                                textcoords="offset points", ha="right", va="top", **fp)
            t.set_in_layout(False)
        t.set_clip_on(False)
        self.letter_artist = t
        self.letter = text


# --------------------------------------------------------------------------- layout

def grid_cells(region, nrows, ncols, gx, gy, wr=None, hr=None):
    x0, y0, x1, y1 = region
    wr = np.ones(ncols) if wr is None else np.asarray(wr, float)
    hr = np.ones(nrows) if hr is None else np.asarray(hr, float)
    aw = (x1 - x0) - gx * (ncols - 1)
    ah = (y1 - y0) - gy * (nrows - 1)
    if aw <= 10 * ncols or ah <= 10 * nrows:
        raise LayoutError("region too small")
    cw = aw * wr / wr.sum(); ch = ah * hr / hr.sum()
    xs0 = x0 + np.concatenate([[0.0], np.cumsum(cw)[:-1]]) + gx * np.arange(ncols)
    xs1 = xs0 + cw
    ytop = y1 - np.concatenate([[0.0], np.cumsum(ch)[:-1]]) - gy * np.arange(nrows)
    ybot = ytop - ch

    def cell(r0, r1, c0, c1):
        return (float(xs0[c0]), float(ybot[r1 - 1]), float(xs1[c1 - 1]), float(ytop[r0]))
    return cell


def pack(ctx, items, iters=4, safety=1.0):
    """Place each panel so that its renderer tight box (+extra) fills its cell."""
    for p, cell in items:
        p.cell = cell
        p.pads = p.guess_pads()
    for it in range(iters):
        for p, cell in items:
            e = p.extra + (safety if it == iters - 1 else 0.0)
            x0 = cell[0] + e + p.pads[0]; y0 = cell[1] + e + p.pads[1]
            x1 = cell[2] - e - p.pads[2]; y1 = cell[3] - e - p.pads[3]
            cw, chh = cell[2] - cell[0], cell[3] - cell[1]
            if x1 - x0 < max(10.0, 0.18 * cw) or y1 - y0 < max(10.0, 0.18 * chh):
                raise LayoutError("decorations do not fit the cell")
            p.place((x0, y0, x1, y1))
        if it == iters - 1:
            break
        r = ctx.renderer()
        for p, cell in items:
            tb = p.renderer_box(r, owned=False)
            c = p.content
            p.pads = [max(0.0, c[0] - tb.x0), max(0.0, c[1] - tb.y0),
                      max(0.0, tb.x1 - c[2]), max(0.0, tb.y1 - c[3])]


# --------------------------------------------------------------------------- letters & captions

def letter_scheme(rng, n_panels, family, p_none=0.12):
    if rng.random() < p_none:
        return None
    fmt = _pick(rng, ["a", "a", "A", "A", "(a)", "(A)", "a)", "A."])
    cap = _pick(rng, ["paren", "comma", "paren"] if fmt.islower() or fmt.startswith("(") else ["paren", "comma", "colon"])
    weight = "bold" if rng.random() < 0.8 else "normal"
    font = _pick(rng, FONTS)
    size = rng.uniform(1.0, 1.7)
    if family == "letters_outside":
        mode = _pick(rng, ["out_above", "out_left", "out_left"])
    else:
        mode = _pick(rng, ["in_tl", "in_tl", "in_tl", "out_above", "out_left", "title_left", "in_tr"])
    return dict(fmt=fmt, cap=cap, mode=mode, weight=weight, font=font, size=size,
                boxed=rng.random() < 0.3, img_color=_pick(rng, ["white", "white", "yellow", "black"]),
                offset=rng.uniform(2.0, 7.0))


def fmt_letter(scheme, i):
    ch = chr(ord("a") + i)
    f = scheme["fmt"]
    if f[0].isupper() or f[-1].isupper() or (len(f) > 1 and f[1].isupper()):
        ch = ch.upper()
    return f.replace("a", ch).replace("A", ch)


def cap_marker(scheme, i):
    ch = chr(ord("a") + i)
    if any(c.isupper() for c in scheme["fmt"]):
        ch = ch.upper()
    return {"paren": f"({ch})", "comma": f"{ch},", "colon": f"{ch}:"}[scheme["cap"]]


def apply_letters(ctx, panels, scheme, mode=None):
    if scheme is None:
        return
    for i, p in enumerate(panels):
        m = mode or scheme["mode"]
        image_like = p.kind in ("micro", "heatmap", "contour", "blot")
        if not p.deco and m not in ("in_tl", "in_tr"):
            m = "in_tl"
        props = dict(fontsize=ctx.fs * scheme["size"], fontweight=scheme["weight"],
                     fontfamily=scheme["font"], offset=scheme["offset"])
        if m in ("in_tl", "in_tr"):
            props["boxed"] = scheme["boxed"]
            props["img_color"] = scheme["img_color"]
        p.add_letter(fmt_letter(scheme, i), m, props, on_image=image_like)


def make_caption(rng, fig_no, panels, scheme):
    title = f"{_pick(rng, TOPICS)} {_pick(rng, OBJECTS)}"
    if scheme is None:
        extra = _pick(rng, [f"Data from {_pick(rng, STRUCTS)}.", "See Methods for details.",
                            f"Representative of {int(rng.integers(2, 6))} independent experiments."])
        return f"Figure {fig_no}. {title}. {extra}"
    parts = [f"{cap_marker(scheme, i)} {p.sub}" for i, p in enumerate(panels)]
    return f"Figure {fig_no}. {title}. " + " ".join(parts)


# --------------------------------------------------------------------------- rendering & truth

def _render(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def finish(ctx, panels, family, fig_no, rng, scheme):
    fig = ctx.fig
    final = _render(fig)
    rgb = final[..., :3].astype(np.float32)
    a = final[..., 3:4].astype(np.float32) / 255.0
    img = (rgb * a + 255.0 * (1 - a)).round().astype(np.uint8)
    H, W = img.shape[:2]
    renderer = ctx.renderer()
    rboxes = []
    for p in panels:
        bb = p.renderer_box(renderer)
        rboxes.append((bb.x0, H - bb.y1, bb.x1, H - bb.y0))

    # isolate each panel on a sentinel background
    everything = list(fig.axes) + list(fig.texts) + list(fig.patches) + list(fig.lines) + \
        list(fig.artists) + list(fig.legends) + list(fig.images)
    vis = {id(x): x.get_visible() for x in everything}
    fc = fig.patch.get_facecolor()
    fig.patch.set_facecolor((0.05, 0.95, 0.35, 1.0))
    try:
        for x in everything:
            x.set_visible(False)
        empty = _render(fig)[..., :3]
        boxes = []
        for p in panels:
            own = {id(x) for x in p.axes + p.owned}
            for x in everything:
                x.set_visible(vis[id(x)] and id(x) in own)
            iso = _render(fig)[..., :3]
            mask = np.any(iso != empty, axis=2)
            ys = np.flatnonzero(mask.any(axis=1)); xs = np.flatnonzero(mask.any(axis=0))
            if len(xs) == 0:
                raise LayoutError("empty panel")
            boxes.append((int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1))
    finally:
        for x in everything:
            x.set_visible(vis[id(x)])
        fig.patch.set_facecolor(fc)

    for i in range(len(boxes)):
        bx = boxes[i]
        if (bx[2] - bx[0]) < 8 or (bx[3] - bx[1]) < 8:
            raise LayoutError("degenerate box")
        for j in range(i + 1, len(boxes)):
            by = boxes[j]
            if min(bx[2], by[2]) > max(bx[0], by[0]) and min(bx[3], by[3]) > max(bx[1], by[1]):
                raise LayoutError(f"panels {i} and {j} overlap")
    caption = make_caption(rng, fig_no, panels, scheme)
    anns = []
    for i, (p, b) in enumerate(zip(panels, boxes)):
        anns.append(dict(bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]],
                         letter=(chr(ord("a") + i) if scheme is not None else None),
                         sub_caption=(p.sub if scheme is not None else None)))
    return dict(image=img, family=family, caption=caption, anns=anns, rboxes=rboxes)


# --------------------------------------------------------------------------- families

def _suptitle(ctx, rng, top_margin):
    t = ctx.fig.text(0.5, 1 - top_margin / ctx.fig.bbox.height,
                     f"{_pick(rng, TOPICS)} {_pick(rng, OBJECTS)}", ha="center", va="top",
                     fontsize=ctx.fs * rng.uniform(1.15, 1.5), fontweight=_pick(rng, ["bold", "normal"]))
    bb = t.get_window_extent(ctx.renderer())
    return bb.y0


def _choose_kinds(rng, n, pool, same_p=0.25):
    if rng.random() < same_p:
        k = _pick(rng, pool)
        return [k] * n
    return [_pick(rng, pool) for _ in range(n)]


def _standard(rng, fig_no, family, attempt, nrows, ncols, kinds, spans=None, wr=None, hr=None,
              gutter=None, aspect=None, W=None, margin=None, suptitle_p=0.25, style=None,
              deco=True, dark=False, extra=0.0, letters=True, p_none=0.12, fig_color=None,
              bg_color=None, snap=False, cbar_p=0.55, share=False, post=None, kw=None):
    n_across = ncols
    W = W or int(rng.integers(500, 2001))
    dpi = int(_pick(rng, DPIS))
    fpx = _font_px(rng, W, n_across, attempt)
    g = gutter if gutter is not None else max(3.0, rng.uniform(0.012, 0.06) * W)
    gx = g; gy = g if gutter is not None else max(3.0, rng.uniform(0.012, 0.06) * W)
    m = margin if margin is not None else max(2.0, rng.uniform(0.005, 0.04) * W)
    sup = rng.random() < suptitle_p
    top_extra = fpx * 2.6 if sup else 0.0
    aspect = aspect if aspect is not None else rng.uniform(0.6, 1.05)
    hr_ = np.ones(nrows) if hr is None else np.asarray(hr, float)
    cw = (W - 2 * m - gx * (ncols - 1)) / ncols
    H = 2 * m + top_extra + gy * (nrows - 1) + cw * aspect * nrows * hr_.mean()
    if H > 2600:
        H = 2600
    H = int(max(H, 160))
    ctx = Ctx(rng, W, H, dpi, fpx, style or _pick(rng, STYLES), facecolor=fig_color, snap=snap)
    try:
        region_top = H - m
        if sup:
            region_top = _suptitle(ctx, rng, m) - max(2.0, fpx * 0.6)
        region = (m, m, W - m, region_top)
        if snap:
            region = tuple(float(round(v)) for v in region)
        if bg_color is not None:
            x0, y0, x1, y1 = region
            ctx.fig.add_artist(Rectangle((x0, y0), x1 - x0, y1 - y0, transform=IdentityTransform(),
                                         fc=bg_color, ec="none", lw=0, zorder=-5))
        spans = spans or [(r, r + 1, c, c + 1) for r in range(nrows) for c in range(ncols)]
        panels = [Panel(ctx, kinds[i], rng, deco=deco, dark=dark, cbar_p=cbar_p, **(kw(kinds[i], rng) if kw else {}))
                  for i in range(len(spans))]
        if share:
            _share(panels, spans, nrows)
        scheme = letter_scheme(rng, len(panels), family, p_none) if letters else None
        apply_letters(ctx, panels, scheme)
        for p in panels:
            p.extra = extra
        cell = grid_cells(region, nrows, ncols, gx, gy, wr, hr)
        pack(ctx, [(p, cell(*s)) for p, s in zip(panels, spans)], safety=0.0 if snap else 1.0)
        if post is not None:
            post(ctx, rng, panels)
        return finish(ctx, panels, family, fig_no, rng, scheme)
    finally:
        ctx.close()


def _share(panels, spans, nrows):
    ref = panels[0].ax
    if len({p.kind for p in panels}) != 1 or panels[0].kind not in ("line", "scatter", "hist", "spectrum", "survival"):
        return
    for p, (r0, r1, c0, c1) in zip(panels[1:], spans[1:]):
        p.ax.sharex(ref)
    for p, (r0, r1, c0, c1) in zip(panels, spans):
        if r1 < nrows:
            p.ax.tick_params(labelbottom=False)
            p.ax.set_xlabel("")


def fam_row(rng, fig_no, attempt):
    n = int(rng.integers(2, 5))
    return _standard(rng, fig_no, "row", attempt, 1, n, _choose_kinds(rng, n, ALL_KINDS),
                     aspect=rng.uniform(0.65, 1.1))


def fam_column(rng, fig_no, attempt):
    n = int(rng.integers(2, 5))
    W = int(rng.integers(500, 1300))
    return _standard(rng, fig_no, "column", attempt, n, 1, _choose_kinds(rng, n, ALL_KINDS, 0.4),
                     W=W, aspect=rng.uniform(0.3, 0.65) * (3.0 / n) ** 0.3, share=rng.random() < 0.4)


def fam_big_grid(rng, fig_no, attempt):
    nr = int(rng.integers(3, 5)); nc = int(rng.integers(3, 5))
    pool = _pick(rng, [ALL_KINDS, PLOT_KINDS, IMAGE_KINDS])
    return _standard(rng, fig_no, "big_grid", attempt, nr, nc, _choose_kinds(rng, nr * nc, pool, 0.45),
                     W=int(rng.integers(900, 2001)), aspect=rng.uniform(0.7, 1.0),
                     share=rng.random() < 0.4, cbar_p=0.35)


def _tiles(pad, edge=False, colors=None):
    def post(ctx, rng, panels):
        r = ctx.renderer()
        cols = colors or ([_pick(rng, TINTS)] * len(panels) if rng.random() < 0.4 else
                          [_pick(rng, TINTS) for _ in panels])
        for p, c in zip(panels, cols):
            bb = p.renderer_box(r, owned=False)
            e = p.extra
            if edge:
                lwpx = max(1.0, min(3.0, ctx.fpx * 0.12)) if rng.random() < 0.7 else 1.0
                lw = ctx.px2pt(lwpx)
                e2 = e - lwpx / 2 - 0.5
                style = "round,pad=0,rounding_size=%f" % (ctx.fpx * 0.6) if rng.random() < 0.25 else "square,pad=0"
                rect = FancyBboxPatch((bb.x0 - e2, bb.y0 - e2), bb.width + 2 * e2, bb.height + 2 * e2,
                                      boxstyle=style, transform=IdentityTransform(), fc="none",
                                      ec=_pick(rng, ["k", "k", "0.4", "#1f4e79", "#8b0000"]), lw=lw, zorder=5)
            else:
                rect = Rectangle((bb.x0 - e, bb.y0 - e), bb.width + 2 * e, bb.height + 2 * e,
                                 transform=IdentityTransform(), fc=c, ec="none", lw=0, zorder=-1)
                if rng.random() < 0.7:
                    p.ax.set_facecolor(c)
            ctx.fig.add_artist(rect)
            p.owned.append(rect)
    return post


def fam_tinted_grid(rng, fig_no, attempt):
    W = int(rng.integers(500, 2001))
    pad = max(3.0, W * rng.uniform(0.006, 0.02))
    return _standard(rng, fig_no, "tinted_grid", attempt, 2, 2, _choose_kinds(rng, 4, ALL_KINDS),
                     W=W, gutter=max(4.0, W * rng.uniform(0.008, 0.04)), extra=pad,
                     style=_pick(rng, LIGHT_BG_STYLES), post=_tiles(pad))


def fam_framed(rng, fig_no, attempt):
    W = int(rng.integers(500, 2001))
    nr, nc = _pick(rng, [(1, 2), (1, 3), (2, 2), (2, 3), (3, 2), (3, 3)])
    pad = max(3.0, W * rng.uniform(0.004, 0.02))
    return _standard(rng, fig_no, "framed", attempt, nr, nc, _choose_kinds(rng, nr * nc, ALL_KINDS),
                     W=W, gutter=max(5.0, W * rng.uniform(0.008, 0.04)), extra=pad,
                     post=_tiles(pad, edge=True))


def fam_saturated(rng, fig_no, attempt):
    nr, nc = _pick(rng, [(1, 2), (1, 3), (2, 2), (2, 3), (3, 3), (2, 4), (1, 4)])
    W = int(rng.integers(500, 2001))
    kinds = _choose_kinds(rng, nr * nc, ["micro", "micro", "heatmap", "contour"], 0.5)
    cmap = _pick(rng, SAT_CMAPS) if rng.random() < 0.6 else None

    def kw(kind, r):
        if kind == "micro":
            return {"mode": _pick(r, ["tex", "fluor", "em"]) if cmap else None, "cmap": cmap}
        return {"cmap": cmap}
    return _standard(rng, fig_no, "saturated", attempt, nr, nc, kinds, W=W,
                     gutter=max(2.0, W * rng.uniform(0.002, 0.03)), deco=rng.random() < 0.4,
                     cbar_p=0.5, style=_pick(rng, LIGHT_BG_STYLES), kw=kw)


def fam_dark_lines(rng, fig_no, attempt):
    nr, nc = _pick(rng, [(1, 2), (1, 3), (2, 2), (2, 3), (3, 3), (2, 4), (3, 2), (4, 4)])
    W = int(rng.integers(500, 2001))
    g = float(rng.integers(1, 5))
    kinds = _choose_kinds(rng, nr * nc, ["micro", "micro", "micro", "heatmap", "contour", "line", "scatter", "bar"], 0.5)
    line_c = _pick(rng, ["black", "#111111", "#333333", "#1a1a3a", "#3b2a1a", "#0b2e13"])
    margin = 0.0 if rng.random() < 0.5 else float(rng.integers(2, 20))
    fig_color = line_c if rng.random() < 0.4 else "white"
    return _standard(rng, fig_no, "dark_lines", attempt, nr, nc, kinds, W=W, gutter=g, margin=margin,
                     deco=False, cbar_p=0.0, suptitle_p=0.1 if fig_color == "white" else 0.0,
                     style=_pick(rng, LIGHT_BG_STYLES), fig_color=fig_color, bg_color=line_c, snap=True,
                     aspect=rng.uniform(0.6, 1.2))


def fam_light_lines(rng, fig_no, attempt):
    nr, nc = _pick(rng, [(1, 2), (1, 3), (2, 2), (2, 3), (3, 3), (2, 4), (3, 2), (3, 4)])
    W = int(rng.integers(500, 2001))
    g = float(rng.integers(1, 5))
    line_c = _pick(rng, ["white", "#f0f0f0", "#ffff66", "#66ffff", "#ffcc00", "#cccccc"])
    fig_color = _pick(rng, ["black", "#111111", "#202830", "#1b1b2f"])
    margin = 0.0 if rng.random() < 0.4 else float(rng.integers(2, 24))
    kinds = _choose_kinds(rng, nr * nc, ["micro", "micro", "micro", "line", "scatter", "hist"], 0.5)

    def kw(kind, r):
        return {"mode": _pick(r, ["fluor", "fluor", "merge"])} if kind == "micro" else {}
    return _standard(rng, fig_no, "light_lines", attempt, nr, nc, kinds, W=W, gutter=g, margin=margin,
                     deco=False, dark=True, cbar_p=0.0, suptitle_p=0.0, style="dark_background",
                     fig_color=fig_color, bg_color=line_c, snap=True, aspect=rng.uniform(0.6, 1.2), kw=kw)


def fam_gutter_range(rng, fig_no, attempt):
    nr, nc = _pick(rng, [(1, 2), (1, 3), (2, 2), (2, 3), (3, 3), (2, 1), (3, 2)])
    W = int(rng.integers(500, 2001))
    side = W / nc
    g = float(np.exp(rng.uniform(np.log(2.0), np.log(max(3.0, 0.1 * side)))))
    pool = _pick(rng, [ALL_KINDS, IMAGE_KINDS, PLOT_KINDS])
    deco = not (pool is IMAGE_KINDS and rng.random() < 0.6)
    return _standard(rng, fig_no, "gutter_range", attempt, nr, nc, _choose_kinds(rng, nr * nc, pool),
                     W=W, gutter=g, deco=deco, cbar_p=0.4 if deco else 0.0)


def fam_jpeg_noise(rng, fig_no, attempt):
    nr, nc = _pick(rng, [(1, 2), (1, 3), (2, 2), (2, 3), (3, 3), (2, 1)])
    out = _standard(rng, fig_no, "jpeg_noise", attempt, nr, nc, _choose_kinds(rng, nr * nc, ALL_KINDS))
    out["jpeg"] = dict(quality=int(rng.integers(50, 86)), subsampling=int(_pick(rng, [0, 1, 2, 2])),
                       noise=float(rng.uniform(1.0, 5.0)) if rng.random() < 0.5 else 0.0,
                       seed=int(rng.integers(1 << 30)))
    return out


def fam_letters_outside(rng, fig_no, attempt):
    nr, nc = _pick(rng, [(1, 2), (1, 3), (2, 2), (2, 3), (3, 2), (3, 3)])
    return _standard(rng, fig_no, "letters_outside", attempt, nr, nc,
                     _choose_kinds(rng, nr * nc, PLOT_KINDS + ["heatmap", "micro", "contour"]), p_none=0.0)


def fam_uneven(rng, fig_no, attempt):
    v = _pick(rng, ["tall_left", "tall_right", "wide_top", "wide_bottom", "L"])
    k = int(rng.integers(2, 4))
    if v in ("tall_left", "tall_right"):
        nr, nc = k, 2
        big = (0, k, 0, 1) if v == "tall_left" else (0, k, 1, 2)
        small_c = 1 if v == "tall_left" else 0
        spans = [big] + [(r, r + 1, small_c, small_c + 1) for r in range(k)]
        if v == "tall_right":
            spans = [(0, 1, 0, 1)] + [big] + [(r, r + 1, 0, 1) for r in range(1, k)]
        wr = [rng.uniform(1.0, 2.0), 1.0] if v == "tall_left" else [1.0, rng.uniform(1.0, 2.0)]
        hr = None
        aspect = rng.uniform(0.45, 0.8)
    elif v in ("wide_top", "wide_bottom"):
        nr, nc = 2, k
        if v == "wide_top":
            spans = [(0, 1, 0, k)] + [(1, 2, c, c + 1) for c in range(k)]
        else:
            spans = [(0, 1, c, c + 1) for c in range(k)] + [(1, 2, 0, k)]
        wr = None; hr = [rng.uniform(0.8, 1.5), 1.0] if v == "wide_top" else [1.0, rng.uniform(0.8, 1.5)]
        aspect = rng.uniform(0.6, 1.0)
    else:
        nr, nc = 3, 3
        spans = [(0, 2, 0, 2), (0, 1, 2, 3), (1, 2, 2, 3), (2, 3, 0, 1), (2, 3, 1, 2), (2, 3, 2, 3)]
        wr = hr = None
        aspect = rng.uniform(0.7, 1.0)
    kinds = _choose_kinds(rng, len(spans), ALL_KINDS, 0.0)
    if rng.random() < 0.5:
        kinds[0 if v != "tall_right" else 1] = _pick(rng, ["micro", "schematic", "heatmap"])
    return _standard(rng, fig_no, "uneven", attempt, nr, nc, kinds, spans=spans, wr=wr, hr=hr, aspect=aspect)


def fam_nested(rng, fig_no, attempt):
    W = int(rng.integers(800, 2001))
    dpi = int(_pick(rng, DPIS))
    fpx = _font_px(rng, W, 3, attempt)
    m = max(3.0, rng.uniform(0.01, 0.03) * W)
    g_out = max(6.0, rng.uniform(0.025, 0.06) * W)
    g_in = float(rng.integers(2, 7))
    n_top = int(rng.integers(2, 4))
    n_blocks = int(rng.integers(1, 3))
    inner = [_pick(rng, [(2, 2), (2, 3), (1, 3), (3, 3), (2, 2)]) for _ in range(n_blocks)]
    top_h = (W - 2 * m) / n_top * rng.uniform(0.55, 0.8)
    bw = (W - 2 * m - g_out * (n_blocks - 1)) / n_blocks
    bot_h = max(bw / c * r * rng.uniform(0.75, 1.0) for r, c in inner)
    sup = rng.random() < 0.2
    H = int(min(2600, 2 * m + top_h + g_out + bot_h + (fpx * 2.6 if sup else 0)))
    ctx = Ctx(rng, W, H, dpi, fpx, _pick(rng, LIGHT_BG_STYLES))
    try:
        top = H - m
        if sup:
            top = _suptitle(ctx, rng, m) - fpx * 0.6
        frac_top = top_h / (top_h + bot_h)
        outer = grid_cells((m, m, W - m, top), 2, 1, g_out, g_out, None, [frac_top, 1 - frac_top])
        top_region = outer(0, 1, 0, 1)
        bot_region = outer(1, 2, 0, 1)
        panels, items = [], []
        top_kinds = _choose_kinds(rng, n_top, PLOT_KINDS + ["heatmap", "schematic"], 0.2)
        tcell = grid_cells(top_region, 1, n_top, g_out, g_out)
        for c in range(n_top):
            p = Panel(ctx, top_kinds[c], rng, cbar_p=0.5)
            panels.append(p); items.append((p, tcell(0, 1, c, c + 1)))
        bcell = grid_cells(bot_region, 1, n_blocks, g_out, g_out)
        inner_panels = []
        for b, (r, c) in enumerate(inner):
            region = bcell(0, 1, b, b + 1)
            icell = grid_cells(region, r, c, g_in, g_in)
            ikind = _pick(rng, ["micro", "micro", "micro", "heatmap", "line", "scatter"])
            deco = ikind in ("line", "scatter") and rng.random() < 0.5
            mode = _pick(rng, ["fluor", "merge", "he", "em", "tex"])
            for rr in range(r):
                for cc in range(c):
                    kw = {"mode": mode} if ikind == "micro" else {}
                    p = Panel(ctx, ikind, rng, deco=deco if ikind != "micro" else False, cbar_p=0.0, **kw)
                    if deco:
                        if rr < r - 1:
                            p.ax.tick_params(labelbottom=False); p.ax.set_xlabel("")
                        if cc > 0:
                            p.ax.tick_params(labelleft=False); p.ax.set_ylabel("")
                    panels.append(p); items.append((p, icell(rr, rr + 1, cc, cc + 1)))
                    inner_panels.append(p)
        scheme = letter_scheme(rng, len(panels), "nested", 0.1)
        if scheme is not None:
            apply_letters(ctx, panels[:n_top], scheme)
            # inner panels: letter inside the corner
            small = dict(scheme, size=min(scheme["size"], 1.2))
            for i, p in enumerate(panels[n_top:], start=n_top):
                props = dict(fontsize=ctx.fs * small["size"], fontweight=small["weight"],
                             fontfamily=small["font"], offset=min(small["offset"], 3.0),
                             boxed=small["boxed"], img_color=small["img_color"])
                p.add_letter(fmt_letter(scheme, i), "in_tl", props, on_image=p.kind in ("micro", "heatmap"))
        pack(ctx, items)
        return finish(ctx, panels, "nested", fig_no, rng, scheme)
    finally:
        ctx.close()


def fam_single(rng, fig_no, attempt):
    W = int(rng.integers(500, 1600))
    return _standard(rng, fig_no, "single", attempt, 1, 1, [_pick(rng, ALL_KINDS)], W=W,
                     aspect=rng.uniform(0.55, 1.0), suptitle_p=0.0, p_none=0.8,
                     margin=max(2.0, rng.uniform(0.01, 0.08) * W))


def fam_single_whitespace(rng, fig_no, attempt):
    W = int(rng.integers(500, 1800))
    v = _pick(rng, ["legend_far", "schematic", "cbar_far", "note_far"])
    dpi = int(_pick(rng, DPIS))
    fpx = _font_px(rng, W, 1.5, attempt)
    m = max(2.0, rng.uniform(0.01, 0.06) * W)
    H = int(W * rng.uniform(0.5, 0.85))
    ctx = Ctx(rng, W, H, dpi, fpx, _pick(rng, LIGHT_BG_STYLES))
    try:
        if v == "schematic":
            p = Panel(ctx, "schematic", rng, spread=True)
        elif v == "cbar_far":
            p = Panel(ctx, _pick(rng, ["heatmap", "contour", "micro"]), rng, cbar_p=1.0,
                      cbar_pad=W * rng.uniform(0.15, 0.35))
            if p.cax is None:
                raise LayoutError("no colorbar")
        else:
            kind = _pick(rng, ["line", "scatter", "spectrum", "survival"])
            p = Panel(ctx, kind, rng)
            if v == "legend_far":
                handles, labels = p.ax.get_legend_handles_labels()
                if not handles:
                    p.ax.plot([], [], label=_pick(rng, CONDS))
                    p.ax.plot([], [], label=_pick(rng, CONDS))
                p.ax.legend(loc="center left", bbox_to_anchor=(rng.uniform(1.25, 1.9), rng.uniform(0.2, 0.8)),
                            frameon=rng.random() < 0.5)
            else:
                p.ax.text(rng.uniform(1.3, 1.9), rng.uniform(0.0, 1.0),
                          _pick(rng, ["n = 12 animals", "P < 0.001", "Model fit:\ny = ax + b", "Control\nTreated"]),
                          transform=p.ax.transAxes, ha="left", va="center", clip_on=False)
        scheme = letter_scheme(rng, 1, "single", 0.8)
        apply_letters(ctx, [p], scheme)
        pack(ctx, [(p, (m, m, W - m, H - m))])
        return finish(ctx, [p], "single_whitespace", fig_no, rng, scheme)
    finally:
        ctx.close()


FAMILY_FUNCS = {
    "row": fam_row, "column": fam_column, "big_grid": fam_big_grid, "tinted_grid": fam_tinted_grid,
    "saturated": fam_saturated, "framed": fam_framed, "dark_lines": fam_dark_lines,
    "light_lines": fam_light_lines, "gutter_range": fam_gutter_range, "jpeg_noise": fam_jpeg_noise,
    "letters_outside": fam_letters_outside, "uneven": fam_uneven, "nested": fam_nested,
    "single": fam_single, "single_whitespace": fam_single_whitespace,
}


# --------------------------------------------------------------------------- driver

def make_one(family, seed, index, max_attempts=12):
    fi = FAMILIES.index(family)
    last = None
    for attempt in range(max_attempts):
        rng = np.random.default_rng([int(seed), fi, int(index), attempt])
        fig_no = int(rng.integers(1, 9))
        try:
            return FAMILY_FUNCS[family](rng, fig_no, attempt)
        except LayoutError as e:
            last = e
    raise RuntimeError(f"{family} #{index}: no valid layout after {max_attempts} attempts ({last})")


def _save(out, path):
    img = out["image"]
    if "jpeg" in out:
        j = out["jpeg"]
        if j["noise"] > 0:
            nr = np.random.default_rng(j["seed"])
            img = np.clip(img.astype(np.float32) + nr.normal(0, j["noise"], img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(path, quality=j["quality"], subsampling=j["subsampling"])
    else:
        Image.fromarray(img).save(path, compress_level=3)


def generate(out_dir, per_family=8, seed=0, families=None):
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    ann_id = 1
    for family in (families or FAMILIES):
        for i in range(per_family):
            out = make_one(family, seed, i)
            ext = "jpg" if "jpeg" in out else "png"
            name = f"{family}_{i:03d}.{ext}"
            _save(out, out_dir / "images" / name)
            h, w = out["image"].shape[:2]
            img_id = len(images) + 1
            images.append(dict(id=img_id, file_name=name, width=int(w), height=int(h),
                               layout=family, caption=out["caption"]))
            for a in out["anns"]:
                x, y, bw, bh = a["bbox"]
                annotations.append(dict(id=ann_id, image_id=img_id, category_id=1,
                                        bbox=[int(x), int(y), int(bw), int(bh)], area=int(bw * bh),
                                        iscrowd=0, letter=a["letter"], sub_caption=a["sub_caption"]))
                ann_id += 1
    coco = dict(info=dict(description="matplotlib multi-panel figures (tests/layoutgen/mpl_figures.py)",
                          seed=int(seed), per_family=int(per_family)),
                images=images, annotations=annotations,
                categories=[dict(id=1, name="panel")])
    (out_dir / "annotations.json").write_text(json.dumps(coco, indent=1, ensure_ascii=False))
    return coco


def check(out_dir, per_family_shown=2):
    """Draw the boxes onto copies of the images (out_dir/check/) for eyeballing."""
    out_dir = Path(out_dir)
    coco = json.loads((out_dir / "annotations.json").read_text())
    (out_dir / "check").mkdir(exist_ok=True)
    by_img = {}
    for a in coco["annotations"]:
        by_img.setdefault(a["image_id"], []).append(a)
    shown = {}
    for im in coco["images"]:
        if shown.get(im["layout"], 0) >= per_family_shown:
            continue
        shown[im["layout"]] = shown.get(im["layout"], 0) + 1
        img = cv2.imread(str(out_dir / "images" / im["file_name"]))
        for a in by_img.get(im["id"], []):
            x, y, w, h = a["bbox"]
            cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), (0, 0, 255), 1)
            cv2.putText(img, str(a["letter"]), (x + 2, y + h - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 0, 255), 1)
        cv2.imwrite(str(out_dir / "check" / (Path(im["file_name"]).stem + ".png")), img)


def main(argv=None):
    from tests.layoutgen.cli import run

    run(__doc__, generate, check, argv)


if __name__ == "__main__":
    sys.exit(main())

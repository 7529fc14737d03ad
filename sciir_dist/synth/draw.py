"""Figure drawing for the synthetic corpus, with real plotting code
(matplotlib, Agg): schematic panels (entities, arrows, process flows, labels,
panel letters), data charts with axes, photo-like textures, and text-only
images. One matplotlib figure per image; each panel is an axes placed at its
cell in pixel coordinates.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Ellipse, FancyArrowPatch, FancyBboxPatch, Rectangle, RegularPolygon
from PIL import Image

Box = tuple[int, int, int, int]

ENTITY_WORDS = [
    "Receptor", "Kinase", "Nucleus", "Membrane", "Enzyme", "Ligand", "Photon", "Electron", "Anode", "Cathode",
    "Magma", "Aquifer", "Mantle", "Crust", "Vesicle", "Ribosome", "Catalyst", "Substrate", "Neuron", "Synapse",
    "Glacier", "Ocean", "Plasma", "Ion", "Proton", "Gene", "Protein", "Cell wall", "Reactor", "Turbine",
]
PALETTE = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD"]
SHAPES = ("circle", "box", "ellipse", "hexagon")
# Each entity keeps one look across the corpus (as a receptor or a neuron has a
# conventional depiction in real figures), so an image shows *what* it depicts
# beyond its small print labels: no two entities share a (shape, colour).
GLYPHS = {w: (SHAPES[i % len(SHAPES)], PALETTE[i // len(SHAPES)]) for i, w in enumerate(ENTITY_WORDS)}


@dataclass(frozen=True)
class PanelSpec:
    cell: Box  # x0, y0, x1, y1 in figure pixels
    kind: str  # schematic | chart | photo | text
    letter: str | None
    style: str  # open | framed | tinted


def render(width: int, height: int, panels: list[PanelSpec], rng: np.random.Generator,
           separators: list[Box] = ()) -> tuple[Image.Image, list[Box]]:
    """Draw a figure; returns the image and each panel's true box (the ink
    extent inside its cell, which is what a panel detector should find)."""
    fig = Figure(figsize=(width / 100, height / 100), dpi=100, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    for spec in panels:
        x0, y0, x1, y1 = spec.cell
        ax = fig.add_axes((x0 / width, 1 - y1 / height, (x1 - x0) / width, (y1 - y0) / height))
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        {"schematic": _schematic, "chart": _chart, "photo": _photo, "text": _text}[spec.kind](ax, spec, rng)
        if spec.letter:
            ax.text(0.01, 0.99, spec.letter, transform=ax.transAxes, ha="left", va="top",
                    fontsize=15, fontweight="bold", color="black")
    for (sx0, sy0, sx1, sy1) in separators:
        ax = fig.add_axes((sx0 / width, 1 - sy1 / height, (sx1 - sx0) / width, (sy1 - sy0) / height))
        ax.set_axis_off()
        ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, color="#333333", lw=0))
    canvas.draw()
    img = Image.fromarray(np.asarray(canvas.buffer_rgba())[:, :, :3].copy())
    arr = np.asarray(img).astype(np.int16)
    truth = []
    for spec in panels:
        x0, y0, x1, y1 = spec.cell
        ink = (np.abs(arr[y0:y1, x0:x1] - 255).max(axis=2) > 10)
        ys, xs = np.nonzero(ink)
        truth.append((x0 + int(xs.min()), y0 + int(ys.min()), x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1)
                     if len(xs) else spec.cell)
    return img, truth


def _labels(rng: np.random.Generator, n: int) -> list[str]:
    return [str(w) for w in rng.choice(ENTITY_WORDS, size=n, replace=False)]


def _schematic(ax, spec: PanelSpec, rng: np.random.Generator) -> None:
    if spec.style == "framed":
        ax.add_patch(Rectangle((0.005, 0.005), 0.99, 0.99, fill=False, lw=1.5, ec="#444444"))
    elif spec.style == "tinted":
        ax.add_patch(FancyBboxPatch((0.02, 0.02), 0.96, 0.96, boxstyle="round,pad=0,rounding_size=0.04",
                                    fc="#dde8f5", ec="none"))
    scale = rng.uniform(0.7, 1.2)
    centers, closed = _composition(rng)
    names = _labels(rng, len(centers))
    centers = [(x, y, n) for (x, y), n in zip(centers, names)]
    if rng.random() < 0.5:  # a background band or compartment, as many schematics have
        y0 = rng.uniform(0.1, 0.5)
        ax.add_patch(Rectangle((0.08, y0), 0.84, rng.uniform(0.1, 0.3), fc=PALETTE[int(rng.integers(len(PALETTE)))],
                               alpha=0.3, ec="none"))
    for i, (x, y, name) in enumerate(centers):
        shape, color = GLYPHS[name]
        if shape == "circle":
            ax.add_patch(Circle((x, y), 0.09 * scale, fc=color, ec="black", lw=1.2, alpha=0.9))
        elif shape == "box":
            ax.add_patch(FancyBboxPatch((x - 0.11 * scale, y - 0.07 * scale), 0.22 * scale, 0.14 * scale,
                                        boxstyle="round,pad=0.01", fc=color, ec="black", lw=1.2))
        elif shape == "ellipse":
            ax.add_patch(Ellipse((x, y), 0.24 * scale, 0.13 * scale, fc=color, ec="black", lw=1.2))
        else:
            ax.add_patch(RegularPolygon((x, y), 6, radius=0.09 * scale, fc=color, ec="black", lw=1.2))
        ax.text(x, y - 0.1 * scale - 0.03, name, ha="center", va="top", fontsize=8)
        if i or closed:
            px, py, _ = centers[i - 1]  # closed compositions (cycles) link the last back to the first
            ax.add_patch(FancyArrowPatch((px, py), (x, y), arrowstyle="-|>", mutation_scale=14, lw=1.6,
                                         color="#222222", shrinkA=22, shrinkB=22,
                                         connectionstyle=f"arc3,rad={0.3 if closed else 0.0}"))
    ax.text(0.5, 0.93, str(rng.choice(["Signal transduction", "Heat transfer", "Rock cycle", "Charge transport",
                                        "Gene regulation", "Energy flow", "Phase transition", "Nutrient cycle"])),
            ha="center", va="top", fontsize=10, style="italic")


def _composition(rng: np.random.Generator) -> tuple[list[tuple[float, float]], bool]:
    """Entity centres for one of several schematic compositions (a snaking
    process flow, a cycle, a vertical chain, a hub with spokes), jittered so
    no two panels share a layout. Returns (centres, closed)."""
    kind = int(rng.integers(4))
    jitter = lambda: rng.uniform(-0.05, 0.05)  # noqa: E731
    if kind == 0:
        cols, rows = int(rng.integers(2, 4)), int(rng.integers(1, 3))
        xs = np.linspace(0.2, 0.8, cols)
        ys = np.linspace(0.66, 0.28, rows) if rows > 1 else [rng.uniform(0.3, 0.6)]
        return [(xs[c] + jitter(), ys[r] + jitter()) for r in range(rows)
                for c in (range(cols) if r % 2 == 0 else reversed(range(cols)))], False
    if kind == 1:
        n = int(rng.integers(3, 6))
        start = rng.uniform(0, 2 * np.pi)
        return [(0.5 + 0.3 * np.cos(start + 2 * np.pi * i / n), 0.47 + 0.3 * np.sin(start + 2 * np.pi * i / n))
                for i in range(n)], True
    if kind == 2:
        n = int(rng.integers(2, 4))
        x = rng.uniform(0.3, 0.7)
        return [(x + jitter(), y) for y in np.linspace(0.75, 0.2, n)], False
    n = int(rng.integers(3, 5))
    start = rng.uniform(0, 2 * np.pi)
    hub = (0.5 + jitter(), 0.47 + jitter())
    spokes = [(hub[0] + 0.32 * np.cos(start + 2 * np.pi * i / n), hub[1] + 0.28 * np.sin(start + 2 * np.pi * i / n))
              for i in range(n)]
    return [spokes[0], hub] + spokes[1:], False


def _chart(ax, spec: PanelSpec, rng: np.random.Generator) -> None:
    ax.set_axis_on()
    ax.set_position(ax.get_position().shrunk(0.8, 0.8).translated(0.03 * ax.get_position().width, 0.05 * ax.get_position().height))
    x = np.linspace(0, 10, 40)
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(1, 4))):
            ax.plot(x, np.cumsum(rng.normal(size=x.size)), lw=1.5)
    else:
        ax.bar(range(6), rng.uniform(1, 10, 6), color=PALETTE[:6])
    ax.set_xlim(auto=True)
    ax.set_ylim(auto=True)
    ax.relim()
    ax.autoscale()
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Signal (a.u.)")


def _photo(ax, spec: PanelSpec, rng: np.random.Generator) -> None:
    h, w = 96, 96
    base = rng.uniform(0, 1, (h // 8, w // 8, 3))
    img = np.kron(base, np.ones((8, 8, 1)))
    img = np.clip(img * 0.6 + rng.normal(0, 0.12, (h, w, 3)) + 0.2, 0, 1)
    ax.imshow(img, extent=(0, 1, 0, 1), interpolation="bicubic", aspect="auto")


def _text(ax, spec: PanelSpec, rng: np.random.Generator) -> None:
    lines = [" ".join(_labels(rng, 4)) for _ in range(8)]
    for i, line in enumerate(lines):
        ax.text(0.05, 0.92 - i * 0.11, line, fontsize=11, ha="left", va="top", family="monospace")


def to_bytes(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(buf, format="JPEG", quality=92)
    else:
        img.save(buf, format=fmt)
    return buf.getvalue()

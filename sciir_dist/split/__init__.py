"""Multi-panel figure splitting (SPEC §3).

Splitters are callables ``(rgb, hints) -> boxes``: ``xycut`` (default,
model-free) and ``yolo`` (a user's Ultralytics checkpoint, the paper's
path). Whatever finds the boxes, the paper's geometric filters and reading
order from :mod:`sciir_dist.split.geometry` apply afterwards, in ingest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sciir_dist.split.geometry import Box
from sciir_dist.split.letters import Letter

SPLITTERS = ("xycut", "yolo")


@dataclass(frozen=True)
class Hints:
    """What is known besides the pixels. ``expected``: how many panels the
    caption's markers name (0 = none, None = unknown). ``letters``: the panel
    letters read in the image (None: let the splitter read them if it wants)."""

    expected: int | None = None
    letters: tuple[Letter, ...] | None = None


class Splitter(Protocol):
    name: str

    def __call__(self, rgb: np.ndarray, hints: Hints = Hints()) -> list[Box]:
        """Panel boxes, in any order."""
        ...


@dataclass(frozen=True)
class SplitterConfig:
    """Which splitter and its settings; hashable, so a worker builds each once.
    The YOLO defaults are the paper's (YOLO11 at 960 px, conf 0.15, NMS IoU
    0.6, class "Picture")."""

    name: str = "xycut"
    weights: str | None = None
    imgsz: int = 960
    conf: float = 0.15
    iou: float = 0.6
    classes: tuple[str, ...] = ("Picture",)
    device: str = "cpu"

    def params(self) -> dict:
        """What a `runs` row records."""
        if self.name != "yolo":
            return {"splitter": self.name}
        return {"splitter": self.name, "splitter_weights": self.weights, "yolo_imgsz": self.imgsz,
                "yolo_conf": self.conf, "yolo_iou": self.iou, "yolo_classes": list(self.classes)}


def make_splitter(cfg: SplitterConfig | str) -> Splitter:
    if isinstance(cfg, str):
        cfg = SplitterConfig(name=cfg)
    if cfg.name == "xycut":
        from sciir_dist.split.xycut import XYCutSplitter

        return XYCutSplitter()
    if cfg.name == "yolo":
        from sciir_dist.split.yolo import YoloSplitter

        if not cfg.weights:
            raise ValueError("--splitter yolo needs --splitter-weights PATH (an Ultralytics YOLO checkpoint)")
        return YoloSplitter(cfg.weights, imgsz=cfg.imgsz, conf=cfg.conf, iou=cfg.iou, classes=cfg.classes,
                            device=cfg.device)
    raise ValueError(f"unknown splitter {cfg.name!r}; choose from {list(SPLITTERS)}")

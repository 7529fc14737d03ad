"""A user's Ultralytics YOLO checkpoint as a splitter: the SciIR paper's
path (YOLO11 trained to find sub-figures, class "Picture").

Optional: ``pip install 'sciir-dist[yolo]'``. Nothing is downloaded: the
checkpoint comes from a path (any fsspec URI is copied to a local temp
file first, as Ultralytics reads local files only).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from sciir_dist.split import Hints
from sciir_dist.split.geometry import Box, clip


class YoloSplitter:
    name = "yolo"

    def __init__(self, weights: str, *, imgsz: int = 960, conf: float = 0.15, iou: float = 0.6,
                 classes: tuple[str, ...] = ("Picture",), device: str = "cpu") -> None:
        os.environ.setdefault("YOLO_OFFLINE", "1")  # never reach for hub assets or update checks
        try:
            from ultralytics import YOLO
        except ImportError:
            raise RuntimeError("--splitter yolo needs Ultralytics: pip install 'sciir-dist[yolo]'") from None
        self.model = YOLO(_local(weights), task="detect")
        names = {int(k): str(v) for k, v in self.model.names.items()}
        wanted = {c.lower() for c in classes}
        self.class_ids = sorted(i for i, n in names.items() if n.lower() in wanted)
        if not self.class_ids:
            raise ValueError(f"{weights}: the checkpoint's classes {sorted(names.values())} include none of {list(classes)}")
        self.settings = {"imgsz": imgsz, "conf": conf, "iou": iou, "device": device}

    def __call__(self, rgb: np.ndarray, hints: Hints = Hints()) -> list[Box]:
        h, w = rgb.shape[:2]
        # Ultralytics takes numpy images as BGR (OpenCV's order)
        result = self.model.predict(np.ascontiguousarray(rgb[:, :, ::-1]), classes=self.class_ids, verbose=False,
                                    **self.settings)[0]
        boxes = []
        for x0, y0, x1, y1 in result.boxes.xyxy.cpu().numpy().tolist():
            b = clip((int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))), w, h)
            if b is not None:
                boxes.append(b)
        return boxes or [(0, 0, w, h)]


def _local(uri: str) -> str:
    if Path(uri).exists():
        return uri
    import fsspec

    with fsspec.open(uri, "rb") as src:
        data = src.read()
    fd, path = tempfile.mkstemp(suffix=".pt", prefix="sciir-yolo-")
    with os.fdopen(fd, "wb") as dst:
        dst.write(data)
    return path

"""Standardization throughput per core: sciir-dist vs a plain PIL
implementation of the same SPEC §3 rule (decode, Lanczos resize over the full
image, pad, default PNG encode), on the same panel crops, one process.

Prints panels/s for both, the speed ratio, and the PSNR between outputs.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sciir_dist.ingest.images import decode  # noqa: E402
from sciir_dist.ingest.packages import discover, open_package  # noqa: E402
from sciir_dist.ingest.standardize import standardize  # noqa: E402
from sciir_dist.synth.corpus import generate  # noqa: E402


def plain_pil(data: bytes) -> bytes:
    """The rule written the obvious way with PIL."""
    img = Image.open(io.BytesIO(data))
    img = img.convert("RGB")
    w, h = img.size
    r = min(1024 / w, 1024 / h)
    nw, nh = int(w * r), int(h * r)
    a = np.asarray(img)
    if nw == 1024:
        edges = np.concatenate([a[0], a[-1]])
    elif nh == 1024:
        edges = np.concatenate([a[:, 0], a[:, -1]])
    else:
        edges = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    colours, counts = np.unique(edges, axis=0, return_counts=True)
    top = int(np.argmax(counts))
    fill = tuple(int(v) for v in colours[top]) if counts[top] >= 0.55 * len(edges) else tuple(
        int(v) for v in edges.astype(np.int64).sum(0) // len(edges))
    scaled = img.resize((nw, nh), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (1024, 1024), fill)
    canvas.paste(scaled, ((1024 - nw) // 2, (1024 - nh) // 2))
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()


def ours(data: bytes) -> bytes:
    return standardize(decode(data)).png


def crops(n: int) -> list[bytes]:
    """Panel-sized PNG crops of synthetic figures (what standardization sees)."""
    out: list[bytes] = []
    with tempfile.TemporaryDirectory() as d:
        generate(d, articles=max(8, n // 6), seed=11)
        for src in discover([d]):
            files = open_package(src.uri)
            for name in files.names():
                if not name.endswith((".png", ".jpg")):
                    continue
                try:
                    img = Image.open(io.BytesIO(files.read(name))).convert("RGB")
                except Exception:  # noqa: BLE001 - the corpus holds broken files on purpose
                    continue
                w, h = img.size
                for box in ((0, 0, w // 2, h // 2), (w // 2, h // 2, w, h), (0, 0, w, h)):
                    buf = io.BytesIO()
                    img.crop(box).save(buf, format="PNG")
                    out.append(buf.getvalue())
                if len(out) >= n:
                    return out[:n]
    return out


def psnr(a: bytes, b: bytes) -> float:
    x = np.asarray(Image.open(io.BytesIO(a)).convert("RGB"), np.float64)
    y = np.asarray(Image.open(io.BytesIO(b)).convert("RGB"), np.float64)
    mse = np.mean((x - y) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def timed(fn, items: list[bytes], repeat: int) -> tuple[float, list[bytes]]:
    best = float("inf")
    outs: list[bytes] = []
    for _ in range(repeat):
        t = time.perf_counter()
        outs = [fn(x) for x in items]
        best = min(best, time.perf_counter() - t)
    return best, outs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--panels", type=int, default=150)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    items = crops(args.panels)
    timed(ours, items[:5], 1)
    timed(plain_pil, items[:5], 1)  # warm both
    t_ours, o = timed(ours, items, args.repeat)
    t_pil, p = timed(plain_pil, items, args.repeat)
    q = [psnr(a, b) for a, b in zip(o, p)]
    finite = [v for v in q if v != float("inf")]
    print(f"panels: {len(items)} (1 process, best of {args.repeat})")
    print(f"sciir-dist standardize : {len(items) / t_ours:8.1f} panels/s per core")
    print(f"plain PIL (same rule)   : {len(items) / t_pil:8.1f} panels/s per core")
    print(f"speed ratio             : {t_pil / t_ours:8.2f}x")
    print(f"PSNR vs plain PIL       : min {min(q):.1f} dB, median {np.median(finite) if finite else float('inf'):.1f} dB "
          f"({len(q) - len(finite)} identical)")
    print(f"output bytes / panel    : ours {sum(map(len, o)) / len(o) / 1e3:.0f} kB, plain {sum(map(len, p)) / len(p) / 1e3:.0f} kB")


if __name__ == "__main__":
    main()

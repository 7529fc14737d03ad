"""Safe image decoding: any input bytes -> an RGB or RGBA PIL image, or a Reject.

Handles what real publication packages contain: truncated and zero-byte
files, formats we cannot rasterise (EPS/PDF/SVG), decompression bombs,
16-bit greyscale, CMYK with ICC profiles, palette images with transparency,
and animated GIF/PNG/WebP (first frame).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageCms, ImageOps

from sciir_dist.ingest.errors import Reject, describe

DEFAULT_MAX_PIXELS = 100_000_000

#: Formats that cannot be rasterised without a renderer we do not ship.
VECTOR_SIGNATURES = {
    b"%!PS": "eps",
    b"\xc5\xd0\xd3\xc6": "eps",
    b"%PDF": "pdf",
}

RASTER_FORMATS = {"PNG", "JPEG", "TIFF", "GIF", "BMP", "WEBP", "MPO"}


def sniff_vector(data: bytes) -> str | None:
    head = data[:512].lstrip()
    for sig, name in VECTOR_SIGNATURES.items():
        if head.startswith(sig):
            return name
    low = head.lower()
    if low.startswith(b"<?xml") or low.startswith(b"<svg") or b"<svg" in low:
        return "svg"
    return None


def decode(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode to an EXIF-upright RGB/RGBA image in sRGB. Raises Reject."""
    if not data:
        raise Reject("empty_file", "zero-byte image file")
    vector = sniff_vector(data)
    if vector:
        raise Reject(f"unsupported_format:{vector}", f"{vector.upper()} figures need a rasteriser; not ingested")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=None)
            fmt = img.format or "unknown"
            if fmt not in RASTER_FORMATS:
                raise Reject(f"unsupported_format:{fmt.lower()}", f"image format {fmt} is not supported")
            w, h = img.size
            if w * h > max_pixels:
                raise Reject("pixel_cap", f"{w}x{h} = {w * h} pixels exceeds the cap of {max_pixels}")
            if getattr(img, "is_animated", False):
                img.seek(0)  # animated: the first frame is the figure
            img.load()
    except Reject:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Reject("pixel_cap", str(exc)) from None
    except Image.UnidentifiedImageError:
        raise Reject("corrupt_image", "not a recognisable image file") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Reject("corrupt_image", describe(exc)) from None
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - a broken EXIF block should not lose the image
        pass
    return to_srgb(img)


def to_srgb(img: Image.Image) -> Image.Image:
    """Any PIL mode -> RGB, or RGBA when the image carries transparency."""
    icc = img.info.get("icc_profile")
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") else max(float(arr.max()), 1.0)
        img = Image.fromarray(np.clip(arr * 255.0 / hi + 0.5, 0, 255).astype(np.uint8), "L")
    elif mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        img = Image.fromarray(((arr - lo) / max(hi - lo, 1e-12) * 255.0 + 0.5).astype(np.uint8), "L")
    elif mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode == "1":
        img = img.convert("L")
    if icc and img.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out_mode = "RGBA" if img.mode == "RGBA" else "RGB"
            img = ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"), outputMode=out_mode)
        except Exception:  # noqa: BLE001 - unusable profile: plain conversion below
            pass
    if img.mode in ("LA", "PA", "RGBa", "La"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        if img.getextrema()[3][0] == 255:  # fully opaque: drop the alpha channel
            img = img.convert("RGB")
        return img
    if img.mode != "RGB":
        img = img.convert("RGB")
    return img

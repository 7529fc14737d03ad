"""open_clip image and text towers for embeddings (SPEC §4 step 2, §5).

``model`` is an open_clip architecture name (``ViT-B-32``...) or the path of
a model-config JSON; ``pretrained`` is a pretrained tag, a local checkpoint
path, or None for random weights (tests, and the start of training). fp16
on GPU. Nothing is downloaded unless a tag asks for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CONFIG_DIR = Path(__file__).parent / "clip_configs"  # project configs, e.g. sciir-tiny


def register_configs(model: str) -> str:
    """Make bundled and user config files known to open_clip; returns the
    architecture name to ask for."""
    import open_clip

    if CONFIG_DIR not in getattr(open_clip.factory, "_MODEL_CONFIG_PATHS", []):
        open_clip.add_model_config(CONFIG_DIR)
    if model.endswith(".json"):
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"open_clip model config {model} not found")
        open_clip.add_model_config(path)
        return path.stem
    if model not in open_clip.list_models():
        raise ValueError(f"unknown open_clip architecture {model!r} (a name from open_clip.list_models() "
                         f"or a config .json path)")
    return model


def resolve_pretrained(pretrained: str | None) -> str | None:
    """A pretrained tag passes through; a path must exist, and a training
    checkpoint directory means the ``model.pt`` inside it."""
    if not pretrained:
        return None
    path = Path(pretrained)
    if path.is_dir() and (path / "model.pt").is_file():
        return str(path / "model.pt")
    looks_like_path = "/" in pretrained or pretrained.endswith((".pt", ".pth", ".bin", ".safetensors"))
    if looks_like_path and not path.exists():
        raise FileNotFoundError(f"open_clip checkpoint {pretrained} not found")
    return pretrained


def model_name(model: str, pretrained: str | None) -> str:
    return f"open_clip:{Path(model).stem if model.endswith('.json') else model}:{pretrained or 'random'}"


class OpenClipEncoder:
    can_embed_text = True

    def __init__(self, model: str, pretrained: str | None = None, device: str | None = None) -> None:
        import open_clip
        import torch

        pretrained_file = resolve_pretrained(pretrained)
        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        arch = register_configs(model)
        precision = "fp16" if self.device.startswith("cuda") else "fp32"
        if pretrained is None:
            torch.manual_seed(0)  # random weights, but the same ones in every worker and at query time
        self.model, _, self.preprocess = open_clip.create_model_and_transforms(
            arch, pretrained=pretrained_file, precision=precision, device=self.device)
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(arch)
        self.name = model_name(model, pretrained)
        self.dim = int(self.model.text_projection.shape[1]) if getattr(self.model, "text_projection", None) is not None \
            else int(self.encode_texts(["x"]).shape[1])

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        torch = self.torch
        batch = torch.stack([self.preprocess(im.convert("RGB")) for im in images]).to(self.device)
        with torch.inference_mode(), torch.autocast(self.device.split(":")[0], enabled=self.device.startswith("cuda")):
            feats = self.model.encode_image(batch, normalize=True)
        return feats.float().cpu().numpy()

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        torch = self.torch
        tokens = self.tokenizer(list(texts)).to(self.device)
        with torch.inference_mode():
            feats = self.model.encode_text(tokens, normalize=True)
        return feats.float().cpu().numpy()

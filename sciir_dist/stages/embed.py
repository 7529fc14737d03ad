"""`embed`: image and caption vectors for dedup and vector search (SPEC §4
step 2).

Image tower: open_clip (any architecture, pretrained tag or checkpoint,
fp16 on GPU) when configured, else the bundled EfficientNet-Lite0 features
(``embed_backend=offline``). Caption tower: the bundled all-MiniLM-L6-v2 on
the panel's sub-caption, or the figure caption when there is none.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from PIL import Image
from pydantic import Field

from schemas.tables import TEXT_EMBEDDING_DIM, panel_embeddings_schema
from sciir_dist.backends import efficientnet, minilm
from sciir_dist.ingest.errors import describe
from sciir_dist.sql import eq
from sciir_dist.stages.base import Lookup, Resources, Stage, StageResult
from sciir_dist.stages.registry import StageOptions, register


@dataclass(frozen=True)
class ClipSettings:
    model: str  # architecture name or config .json path
    pretrained: str | None = None  # tag or checkpoint path; None = random weights
    device: str | None = None  # None: cuda when the worker has a GPU


def image_model_name(clip: ClipSettings | None) -> str:
    from sciir_dist.backends.openclip import model_name

    return model_name(clip.model, clip.pretrained) if clip else efficientnet.NAME


def image_dim(clip: ClipSettings | None) -> int:
    """Known without loading weights for the offline model; open_clip reads
    its config."""
    if clip is None:
        return efficientnet.DIM
    import open_clip

    from sciir_dist.backends.openclip import register_configs

    return int(open_clip.get_model_config(register_configs(clip.model))["embed_dim"])


def clip_settings_of(image_model: str) -> ClipSettings | None:
    """Inverse of ``image_model_name``: which tower wrote a table's vectors,
    so queries embed with the same one."""
    if not image_model.startswith("open_clip:"):
        return None
    _, arch, pretrained = image_model.split(":", 2)
    return ClipSettings(arch, None if pretrained == "random" else pretrained)


def load_image_encoder(clip: ClipSettings | None):
    if clip is None:
        import torch

        return efficientnet.EfficientNetLite0("cuda" if torch.cuda.is_available() else "cpu")
    from sciir_dist.backends.openclip import OpenClipEncoder

    return OpenClipEncoder(clip.model, clip.pretrained, clip.device)


@register
class EmbedStage(Stage):
    name = "embed"
    output_table = "panel_embeddings"
    inputs = ("panel_id", "figure_id", "sub_caption", "image")
    lookups = {"caption": Lookup("figures", "figure_id", "caption")}

    class Options(StageOptions):
        clip_model: str | None = Field(None, description=(
            "open_clip architecture (e.g. ViT-B-32) or config .json (default: offline EfficientNet-Lite0)."),
            json_schema_extra={"flag": "--clip-model", "envvar": "SCIIR_CLIP_MODEL"})
        clip_pretrained: str | None = Field(None, description=(
            "open_clip pretrained tag, local checkpoint or `sciir train clip` checkpoint directory "
            "(default: random weights)."),
            json_schema_extra={"flag": "--clip-pretrained", "aliases": ["--clip-checkpoint"],
                               "envvar": "SCIIR_CLIP_PRETRAINED"})
        gpus: float = Field(1.0, description="GPUs per embed actor when the cluster has GPUs.")

    @classmethod
    def build(cls, backends, options: Options) -> "EmbedStage":
        clip = ClipSettings(options.clip_model, options.clip_pretrained) if options.clip_model else None
        return cls(clip, options.gpus)

    def __init__(self, clip: ClipSettings | None = None, gpus: float = 1.0) -> None:
        self.clip = clip
        self.model = image_model_name(clip)
        # the engine drops num_gpus on clusters without GPUs: CPU actors then
        self.resources = Resources(num_cpus=1, num_gpus=gpus, batch_size=64 if clip else 32)
        self._image = self._text = None

    def output_schema(self) -> pa.Schema:
        return panel_embeddings_schema(image_dim(self.clip))

    def done_filter(self) -> str | None:
        return eq("image_model", self.model)

    def setup(self) -> None:
        self._image = load_image_encoder(self.clip)
        self._text = minilm.shared()

    def process(self, batch: pa.Table) -> StageResult:
        rows = batch.to_pylist()
        images, ok, rejects = [], [], []
        for r in rows:
            try:
                images.append(Image.open(io.BytesIO(r["image"])).convert("RGB"))
                ok.append(r)
            except Exception as exc:  # noqa: BLE001 - any undecodable image becomes a reject
                rejects.append((r["panel_id"], "bad_image", describe(exc)))
        schema = self.output_schema()
        if not ok:
            return StageResult(schema.empty_table(), rejects)
        vectors = self._image.encode_images(images)
        texts, sources = [], []
        for r in ok:
            text, source = (r["sub_caption"], "sub_caption") if r.get("sub_caption") else \
                (r.get("caption"), "caption") if r.get("caption") else ("", "none")
            texts.append(text)
            sources.append(source)
        text_vecs = self._text.encode([t or " " for t in texts])
        text_vecs[[s == "none" for s in sources]] = 0.0  # no caption: a zero vector matches nothing
        n = len(ok)
        out = pa.table({
            "panel_id": [r["panel_id"] for r in ok],
            "image_embedding": _vectors(vectors, schema.field("image_embedding").type.list_size),
            "image_model": [self.model] * n,
            "text_embedding": _vectors(text_vecs, TEXT_EMBEDDING_DIM),
            "text_model": [minilm.NAME] * n,
            "text_source": sources,
            "embed_backend": ["open_clip" if self.clip else "offline"] * n,
        }, schema=schema)
        return StageResult(out, rejects)


def _vectors(arr: np.ndarray, dim: int) -> pa.FixedSizeListArray:
    flat = pa.array(np.ascontiguousarray(arr, dtype=np.float32).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, dim)

"""Image generation backends of `sciir bench sweep` (SPEC §6). Each maps a
batch of (sample, seed) rows to images or error strings; the sweep records
both, so one bad request never stops a model's run.

- ``openai``: an OpenAI-compatible ``/images/generations`` endpoint (retries,
  budget and cache of the shared client);
- ``folder``: images generated elsewhere, ``<root>/<model>/<sample_id>``
  (i.e. ``<model>/<mode>/<group>/<image_filename>`` for the published set),
  or the reference's flat per-run folders (``layout = "flat"``);
- ``text-render``: a deterministic baseline that draws the text the prompt
  requires, nothing else (for demos, tests, and as a Text-only floor);
- ``diffusers``: a diffusers pipeline on a GPU actor (optional extra).
"""

from __future__ import annotations

import io
import random
import re
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from sciir_dist.bench.models_file import ModelSpec

TEXT_RENDER_SIZE = 1024
_QUOTED = re.compile(r"""['"‘“]([^'"‘’“”\n]{1,80})['"’”]""")


@dataclass
class Generated:
    image: bytes | None
    error: str | None = None


def required_text(prompt: str, listed: list[str] | None) -> list[str]:
    """The strings a prompt asks to be rendered: the listed strings that occur
    in it (a sample lists rendered_text for its Sci-RCoT and retained_text for
    its abstract prompt), else the quoted strings in it."""
    prompt = prompt or ""
    found = [t for t in (listed or []) if t and t.strip() and t in prompt]
    if not found:
        found = [m.group(1).strip() for m in _QUOTED.finditer(prompt)]
    return list(dict.fromkeys(t for t in found if t))


class TextRender:
    """Draws each required string once, in a seeded grid position."""

    def setup(self) -> None:
        self.font = _font(36)

    def generate(self, rows: list[dict]) -> list[Generated]:
        out = []
        for r in rows:
            texts = required_text(r["prompt"], (r.get("rendered_text") or []) + (r.get("retained_text") or []))
            rng = random.Random(f"{r['sample_id']}:{r['seed']}")
            img = Image.new("RGB", (TEXT_RENDER_SIZE, TEXT_RENDER_SIZE), "white")
            draw = ImageDraw.Draw(img)
            rows_n = max(1, len(texts))
            slot = TEXT_RENDER_SIZE // (rows_n + 1)
            for i, t in enumerate(texts):
                x = 40 + rng.randrange(0, 200)
                y = slot * (i + 1) - 18
                draw.text((x, y), t, fill="black", font=self.font)
            out.append(Generated(_png(img)))
        return out


class FolderImport:
    """Images generated elsewhere. ``layout = "nested"`` (default):
    ``<root>/<model>/<mode dir>/<group>/<image_filename>``. ``layout =
    "flat"``: the reference's per-run folders, ``<folder>/<image_filename>``
    for one (mode, group) run each (its evaluation.py reads
    ``IMAGE_FOLDER/001.png``), given as ``root`` + ``mode`` + ``group``, as
    ``runs = [{folder, mode, group}]``, or as a ``mapping`` file (see
    ``flat_runs``). A flat import only touches the samples of its runs."""

    def __init__(self, model: str, options: dict) -> None:
        from sciir_dist.bench.flat_runs import runs_of

        self.model = model
        self.layout = options.get("layout", "nested")
        if self.layout not in ("nested", "flat"):
            raise ValueError(f"model {model}: folder layout {self.layout!r} is not nested or flat")
        self.storage_options = options.get("storage_options") or {}
        self.runs = runs_of(model, options, self.storage_options) if self.layout == "flat" else {}
        if self.layout == "nested" and "root" not in options:
            raise ValueError(f"model {model}: the folder backend needs options.root")
        self.root = str(options.get("root", "")).rstrip("/")

    def sample_filter(self) -> str | None:
        """SQL on bench_samples for the samples this import covers (flat: its runs' mode x group)."""
        from sciir_dist.bench.flat_runs import runs_filter

        return runs_filter(self.runs) if self.layout == "flat" else None

    def setup(self) -> None:
        pass

    def location(self, sample_id: str) -> str | None:
        """The URI of a sample's image, None when no run covers the sample."""
        if self.layout == "nested":
            return f"{self.root}/{self.model}/{sample_id}"
        from sciir_dist.bench.samples import MODE_OF_DIR

        mode_dir, group, name = sample_id.split("/", 2)
        folder = self.runs.get((MODE_OF_DIR.get(mode_dir), group))
        return f"{folder}/{name}" if folder else None

    def generate(self, rows: list[dict]) -> list[Generated]:
        import fsspec

        out = []
        for r in rows:
            where = self.location(r["sample_id"])
            if where is None:
                out.append(Generated(None, f"missing_image: no flat run of {self.model} covers {r['sample_id']}"))
                continue
            try:
                fs, path = fsspec.core.url_to_fs(where, **self.storage_options)
                with fs.open(path, "rb") as f:
                    out.append(Generated(f.read()))
            except FileNotFoundError:
                out.append(Generated(None, f"missing_image: {where}"))
        return out


class OpenAIImages:
    def __init__(self, spec: ModelSpec, cache_uri: str | None) -> None:
        from sciir_dist.backends.openai import EndpointSettings

        o = spec.options
        if "url" not in o:
            raise ValueError(f"model {spec.name}: the openai backend needs options.url")
        self.size = o.get("size", "1024x1024")
        self.extra = o.get("extra") or {}
        self.settings = EndpointSettings(
            url=o["url"], model=o.get("model", spec.name), api_key_env=o.get("api_key_env", "SCIIR_IMAGE_API_KEY"),
            max_in_flight=int(o.get("max_in_flight", 16)), timeout_s=float(o.get("timeout_s", 300)),
            max_retries=int(o.get("max_retries", 4)), backoff_base_s=float(o.get("backoff_base_s", 0.5)),
            cache_uri=cache_uri)

    def setup(self) -> None:
        pass

    def generate(self, rows: list[dict]) -> list[Generated]:
        from sciir_dist.backends.openai import VLMError
        from sciir_dist.stages.vlm import run_each

        def job(r: dict):
            return lambda clients: clients["images"].generate_image(r["prompt"], self.size, int(r["seed"]), self.extra)

        done = run_each({"images": self.settings}, {str(i): job(r) for i, r in enumerate(rows)})
        return [Generated(None, f"generation_error:{d.kind}: {d.detail}") if isinstance(d, VLMError) else Generated(d)
                for d in (done[str(i)] for i in range(len(rows)))]


class Diffusers:
    """A diffusers text-to-image pipeline on the actor's GPU."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        if "pretrained" not in spec.options:
            raise ValueError(f"model {spec.name}: the diffusers backend needs options.pretrained (id or path)")

    def preflight(self, cluster_gpus: float) -> None:
        """Fail on the driver, before any actor starts, with what is missing."""
        import importlib.util

        if importlib.util.find_spec("diffusers") is None:
            raise ValueError(f"model {self.spec.name}: the diffusers backend needs `pip install diffusers` "
                             f"(driver and workers)")
        if cluster_gpus < 1:
            raise ValueError(f"model {self.spec.name}: the diffusers backend needs a GPU and the Ray cluster has none")

    def setup(self) -> None:
        try:
            import diffusers
            import torch
        except ImportError:
            raise RuntimeError("the diffusers backend needs `pip install diffusers` on the cluster's workers") from None
        if not torch.cuda.is_available():
            raise RuntimeError(f"model {self.spec.name}: the diffusers backend needs a GPU worker (none visible)")
        self.torch = torch
        self.pipe = diffusers.AutoPipelineForText2Image.from_pretrained(
            self.spec.options["pretrained"], torch_dtype=torch.float16).to("cuda")

    def generate(self, rows: list[dict]) -> list[Generated]:
        out = []
        for r in rows:
            g = self.torch.Generator("cuda").manual_seed(int(r["seed"]))
            img = self.pipe(r["prompt"], generator=g, **(self.spec.options.get("call") or {})).images[0]
            out.append(Generated(_png(img)))
        return out


def make_generator(spec: ModelSpec, cache_uri: str | None = None):
    if spec.backend == "text-render":
        return TextRender()
    if spec.backend == "folder":
        return FolderImport(spec.name, spec.options)
    if spec.backend == "openai":
        return OpenAIImages(spec, cache_uri)
    return Diffusers(spec)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans as bundled with matplotlib: the same glyphs on every machine."""
    import matplotlib

    return ImageFont.truetype(f"{matplotlib.get_data_path()}/fonts/ttf/DejaVuSans.ttf", size)

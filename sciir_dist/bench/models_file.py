"""The models file of `sciir bench sweep` (TOML or YAML):

    [[models]]
    name = "sd3-medium"
    backend = "openai"              # openai | folder | text-render | diffusers
    seeds = [0, 1]
    concurrency = 4                 # actors for this model
    [models.options]
    url = "http://imagegen:8000/v1"
    model = "stabilityai/stable-diffusion-3-medium"
    size = "1024x1024"

Secrets never go here: the openai backend reads its key from the env
variable named by ``options.api_key_env`` (default SCIIR_IMAGE_API_KEY).

The same file (or one of its own, ``--model-config``) holds the chat model
settings per role and per annotation call, each a
:class:`~sciir_dist.backends.openai.CallSettings`:

    [roles.judge]                   # vision | text | judge
    url = "http://vllm:8000/v1"
    model = "Qwen/Qwen2.5-VL-72B-Instruct"
    image_detail = "high"
    [calls.reasoning]               # reasoning | sci_rcot | abstract (annotate a, b, c)
    temperature = 0.1
    max_tokens = 4096

``--set SECTION.KEY=VALUE`` (e.g. ``--set calls.abstract.temperature=0.5``)
overrides the file. A call's settings lie over its role's
(``sciir_dist.prompts.annotate.CALL_ROLES``), which lie over the command's flags.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sciir_dist.backends.openai import CallSettings
from sciir_dist.toml_values import scalar

Role = Literal["vision", "text", "judge"]
Call = Literal["reasoning", "sci_rcot", "abstract"]


class ModelSpec(BaseModel):
    name: str
    backend: Literal["openai", "folder", "text-render", "diffusers"]
    seeds: list[int] = Field(default_factory=lambda: [0])
    concurrency: int = Field(default=2, ge=1)
    batch_size: int = Field(default=16, ge=1)
    options: dict = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", v):
            raise ValueError("model names are letters, digits, '.', '_' and '-' (they name folders and ids)")
        return v


class ModelsFile(BaseModel):
    models: list[ModelSpec]


class ModelSettings(BaseModel):
    """Chat model settings per role and per annotation call."""

    model_config = ConfigDict(extra="forbid")

    models: list = Field(default_factory=list)  # the sweep's, read by load_models
    roles: dict[Role, CallSettings] = Field(default_factory=dict)
    calls: dict[Call, CallSettings] = Field(default_factory=dict)

    def role(self, name: str) -> CallSettings:
        return self.roles.get(name, CallSettings())

    def call(self, name: str) -> CallSettings:
        return self.calls.get(name, CallSettings())

    def recorded(self) -> dict:
        """What a `runs` row keeps of them."""
        return {"roles": {k: v.set_fields() for k, v in self.roles.items()},
                "calls": {k: v.set_fields() for k, v in self.calls.items()}}


def _read(path: Path, what: str) -> dict:
    try:
        text = path.read_text()
        return (yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else tomllib.loads(text)) or {}
    except FileNotFoundError:
        raise ValueError(f"{what} {path} not found") from None
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{what} {path}: {exc}") from None


def load_model_settings(path: str | Path | None = None, overrides: list[str] | None = None) -> ModelSettings:
    """The file's ``roles``/``calls`` sections with ``--set`` overrides on top."""
    raw = _read(Path(path), "model config") if path else {}
    for item in overrides or []:
        key, sep, value = item.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 3 or parts[0] not in ("roles", "calls"):
            raise ValueError(f"--set expects roles.<role>.<key>=VALUE or calls.<call>.<key>=VALUE, got {item!r}")
        raw.setdefault(parts[0], {}).setdefault(parts[1], {})[parts[2]] = scalar(value.strip())
    try:
        return ModelSettings.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"model settings{f' in {path}' if path else ''}: {exc}") from None


def load_models(path: str | Path) -> list[ModelSpec]:
    path = Path(path)
    try:
        specs = ModelsFile.model_validate(_read(path, "models file")).models
    except ValidationError as exc:
        raise ValueError(f"models file {path}: {exc}") from None
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"models file {path}: duplicate model names {names}")
    return specs

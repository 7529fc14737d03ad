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
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator


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


def load_models(path: str | Path) -> list[ModelSpec]:
    path = Path(path)
    try:
        text = path.read_text()
        raw = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else tomllib.loads(text)
        specs = ModelsFile.model_validate(raw).models
    except FileNotFoundError:
        raise ValueError(f"models file {path} not found") from None
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"models file {path}: {exc}") from None
    except ValidationError as exc:
        raise ValueError(f"models file {path}: {exc}") from None
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"models file {path}: duplicate model names {names}")
    return specs

"""Pieces every `sciir` command shares: common options, the warehouse and
model-endpoint settings they build, and table printing."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from sciir_dist.split import SplitterConfig
from sciir_dist.warehouse import Warehouse

console = Console()

DataOpt = Annotated[str, typer.Option("--data", envvar="SCIIR_DATA", help="Warehouse root (directory or s3:// gs:// az:// URI).")]
StorageOpt = Annotated[
    Optional[list[str]],
    typer.Option("--storage-option", envvar="SCIIR_STORAGE_OPTIONS", help="KEY=VALUE Lance object-store option for the warehouse (repeatable)."),
]
InputOpt = Annotated[
    Optional[list[str]],
    typer.Option("--input-option", envvar="SCIIR_INPUT_OPTIONS", help="KEY=VALUE fsspec option for reading inputs, e.g. endpoint_url=... (repeatable)."),
]


#: the splitter settings' defaults (the paper's YOLO ones), stated once for every command
SPLIT_DEFAULTS = SplitterConfig()
SplitterOpt = Annotated[str, typer.Option("--splitter", envvar="SCIIR_SPLITTER",
                                          help="Panel splitter: xycut (model-free, default) or yolo (needs --splitter-weights).")]
WeightsOpt = Annotated[Optional[str], typer.Option("--splitter-weights", help="Ultralytics YOLO checkpoint (path or URI) for --splitter yolo.")]
YoloImgszOpt = Annotated[int, typer.Option("--yolo-imgsz", help="YOLO input size (the paper: 960).")]
YoloConfOpt = Annotated[float, typer.Option("--yolo-conf", help="YOLO confidence threshold (the paper: 0.15).")]
YoloIouOpt = Annotated[float, typer.Option("--yolo-iou", help="YOLO NMS IoU threshold (the paper: 0.6).")]
YoloClassOpt = Annotated[Optional[list[str]], typer.Option("--yolo-class", help="YOLO class name(s) that are panels (repeatable; the paper: Picture).")]
YoloDeviceOpt = Annotated[str, typer.Option("--yolo-device", help="Torch device for YOLO (cpu, cuda:0, ...).")]


def splitter_config(name: str, weights: str | None, imgsz: int, conf: float, iou: float, classes: list[str] | None,
                    device: str):
    """The splitter settings a command was given, checked before any work starts."""
    from sciir_dist.split import SPLITTERS

    if name not in SPLITTERS:
        raise typer.BadParameter(f"unknown splitter {name!r}; choose from {list(SPLITTERS)}")
    if name == "yolo" and not weights:
        raise typer.BadParameter("--splitter yolo needs --splitter-weights PATH (an Ultralytics YOLO checkpoint)")
    return SplitterConfig(name=name, weights=weights, imgsz=imgsz, conf=conf, iou=iou,
                          classes=tuple(classes or SPLIT_DEFAULTS.classes), device=device)


ProtocolOpt = Annotated[str, typer.Option(
    "--protocol", help="sciir (the paper's: judge sees categories, high detail, T=0; annotation with the article body and "
                       "the paper's temperatures) or strict-index (index-pinned judge answers, T=0 annotation).")]


def protocol_name(name: str) -> str:
    from sciir_dist.prompts.protocol import check

    try:
        return check(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


class Fmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def storage(options: list[str] | None) -> dict[str, str]:
    parsed = {}
    for item in options or []:
        for part in item.split(","):
            if part.strip():
                k, sep, v = part.partition("=")
                if not sep:
                    raise typer.BadParameter(f"--storage-option expects KEY=VALUE, got {part!r}")
                parsed[k.strip()] = v.strip()
    return parsed


def warehouse(data: str, storage_opts: list[str] | None = None) -> Warehouse:
    """The command's warehouse; from here on engine warnings go to its ``_logs/``."""
    from sciir_dist.logs import to_file

    wh = Warehouse(data, storage(storage_opts))
    to_file(wh.root)
    return wh


ModelConfigOpt = Annotated[Optional[str], typer.Option(
    "--model-config", envvar="SCIIR_MODEL_CONFIG",
    help="TOML/YAML with \\[roles.vision|text|judge] and \\[calls.reasoning|sci_rcot|abstract] model settings "
         "(url, model, temperature, max_tokens, image_detail, limits); see cluster/models.example.toml.")]
SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", help="Override one model setting: roles.<role>.<key>=VALUE or calls.<call>.<key>=VALUE (repeatable).")]


def model_settings(path: str | None, overrides: list[str] | None):
    from sciir_dist.bench.models_file import load_model_settings

    try:
        return load_model_settings(path, overrides)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def endpoint(wh: Warehouse, url: str | None, model: str | None, flag: str, role=None, **limits):
    """Settings for one model role; answers are cached in the warehouse.
    ``role`` (CallSettings from --model-config / --set) fills url and model
    where the flags are not given and overrides every other setting."""
    from sciir_dist.backends.openai import CallSettings, EndpointSettings

    role = role or CallSettings()
    url, model = url or role.url, model or role.model
    if not url:
        return None
    if not model:
        raise typer.BadParameter(f"--{flag}-url needs --{flag}-model")
    base = EndpointSettings(url=url, model=model, cache_uri=f"{wh.root}/_cache/vlm", cache_options=wh.storage_options,
                            **limits)
    return role.model_copy(update={"url": url, "model": model}).apply(base)


def print_table(table, fmt: Fmt = Fmt.table) -> None:
    from sciir_dist.query import to_text

    if fmt != Fmt.table:
        sys.stdout.write(to_text(table, fmt.value) + "\n")
        return
    t = Table(show_lines=False)
    for name in table.column_names:
        t.add_column(name, overflow="fold")
    for row in table.to_pylist():
        t.add_row(*(cell(row[c]) for c in table.column_names))
    console.print(t)
    console.print(f"{table.num_rows} row(s)")


def cell(v) -> str:
    if v is None:
        return "∅"
    s = json.dumps(v, default=str, ensure_ascii=False) if isinstance(v, (list, dict)) else str(v)
    return s if len(s) <= 200 else s[:197] + "..."


def with_stage_options(command):
    """Give ``command`` a ``--<stage>-<option>`` flag for every option of every
    registered stage, with the default and help its ``Options`` model declares
    (written once, in the stage's file); TOML configs set them as
    ``<stage>_<option>``. The command receives them as ``stage_options``
    ({stage: {option: value}}), beside its own parameters."""
    import functools
    import inspect
    import typing

    from sciir_dist.stages.registry import load_builtin, load_plugins, option_fields

    load_builtin()
    load_plugins()  # $SCIIR_PLUGINS: their options get flags too
    hints = typing.get_type_hints(command, include_extras=True)
    own = [p.replace(annotation=hints[p.name]) for p in inspect.signature(command).parameters.values()
           if p.name != "stage_options"]
    extra, origin = [], {}
    for stage, opt, f in option_fields():
        info = f.json_schema_extra or {}
        flags = [info.get("flag") or f"--{stage}-{opt.replace('_', '-')}", *info.get("aliases", [])]
        kind = f.annotation
        if type(None) in typing.get_args(kind):
            kind = Optional[next(a for a in typing.get_args(kind) if a is not type(None))]
        name = f"{stage}_{opt}"
        origin[name] = (stage, opt)
        extra.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=Annotated[
            kind, typer.Option(*flags, envvar=info.get("envvar"), help=f"{stage}: {f.description or ''}")]))

    @functools.wraps(command)
    def wrapper(**kwargs):
        options: dict[str, dict] = {}
        for name, (stage, opt) in origin.items():
            options.setdefault(stage, {})[opt] = kwargs.pop(name)
        return command(**kwargs, stage_options=options)

    params = own + extra
    wrapper.__signature__ = inspect.Signature([p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params])
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    del wrapper.__wrapped__  # typer must read the new signature, not the command's
    return wrapper

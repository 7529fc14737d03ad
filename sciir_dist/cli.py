"""`sciir` command line.

Settings come from flags, then ``SCIIR_*`` environment variables, then the
TOML file given with ``--config`` (a table per command, e.g. ``[ingest]``),
then defaults. Secrets are read from the environment only.
"""

from __future__ import annotations

import json
import re
import tomllib
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from sciir_dist.bench.cli import bench
from sciir_dist.cli_common import (SPLIT_DEFAULTS, DataOpt, Fmt, InputOpt, ModelConfigOpt, ProtocolOpt, SetOpt, SplitterOpt,
                                   StorageOpt, WeightsOpt, YoloClassOpt, YoloConfOpt, YoloDeviceOpt, YoloImgszOpt, YoloIouOpt,
                                   console as out, endpoint, model_settings, print_table, protocol_name, splitter_config,
                                   storage, warehouse, with_stage_options)
from sciir_dist.ingest.run import BATCH_SIZE, COMMIT_EVERY, run_ingest
from sciir_dist.split.cli import split

app = typer.Typer(
    name="sciir",
    help="sciir-dist: scientific-figure data on Spark, Ray and Lance (ingest, curate, benchmark).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(bench, name="bench")
app.add_typer(split, name="split")
train = typer.Typer(help="Train models on the curated data with Ray Train.", no_args_is_help=True)
app.add_typer(train, name="train")
warehouse_cmds = typer.Typer(help="Warehouse maintenance.", no_args_is_help=True)
app.add_typer(warehouse_cmds, name="warehouse")

class EngineName(str, Enum):
    spark = "spark"
    local = "local"
    ray = "ray"


class SourceFormat(str, Enum):
    auto = "auto"
    jats = "jats"
    sciir_json = "sciir-json"
    images = "images"


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[Optional[Path], typer.Option("--config", envvar="SCIIR_CONFIG", help="TOML file with defaults, one [table] per command.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", envvar="SCIIR_VERBOSE",
                                          help="Show Ray/Spark/Lance warnings here instead of in <warehouse>/_logs/.")] = False,
) -> None:
    from sciir_dist.logs import set_verbose

    set_verbose(verbose)
    if config:
        try:
            ctx.default_map = {k.replace("-", "_"): v for k, v in tomllib.loads(config.read_text()).items()}
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise typer.BadParameter(f"cannot read config {config}: {exc}") from None


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write packages and manifest.json into.")],
    articles: Annotated[int, typer.Option(help="Number of articles.")] = 12,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same corpus).")] = 0,
) -> None:
    """Write a synthetic corpus of JATS packages with a ground-truth manifest."""
    from sciir_dist.synth.corpus import generate

    m = generate(out_dir, articles=articles, seed=seed)
    out.print(
        f"wrote {len(m['articles'])} articles, {len(m['figures'])} figures "
        f"({sum(len(f['panels']) for f in m['figures'])} true panels) to {out_dir}; manifest: {out_dir / 'manifest.json'}"
    )


@app.command()
def ingest(
    data: DataOpt,
    inputs: Annotated[list[str], typer.Option("--input", "-i", help="Input URI (directory, archive or JSON file); repeatable.")],
    fmt: Annotated[SourceFormat, typer.Option("--format", help="Input format; auto detects JATS packages and SciIR JSON.")] = SourceFormat.auto,
    engine: Annotated[EngineName, typer.Option(envvar="SCIIR_ENGINE", help="spark (default), ray (Ray tasks) or local (in-process).")] = EngineName.spark,
    master: Annotated[Optional[str], typer.Option(envvar="SCIIR_SPARK_MASTER", help="Spark master URL or Ray address (default: a local one, or spark-submit's master).")] = None,
    license_: Annotated[Optional[str], typer.Option("--license", help="SPDX license of image-folder inputs.")] = None,
    allow_license: Annotated[Optional[list[str]], typer.Option(help="Allowed SPDX ids (repeatable); default CC-BY-4.0.")] = None,
    splitter: SplitterOpt = SPLIT_DEFAULTS.name,
    splitter_weights: WeightsOpt = None,
    yolo_imgsz: YoloImgszOpt = SPLIT_DEFAULTS.imgsz,
    yolo_conf: YoloConfOpt = SPLIT_DEFAULTS.conf,
    yolo_iou: YoloIouOpt = SPLIT_DEFAULTS.iou,
    yolo_class: YoloClassOpt = None,
    yolo_device: YoloDeviceOpt = SPLIT_DEFAULTS.device,
    max_pixels: Annotated[int, typer.Option(help="Decompression-bomb cap in pixels.")] = 100_000_000,
    third_party_phrase: Annotated[Optional[list[str]], typer.Option(
        help="Regular expression (case-insensitive) of a credit phrase that marks a figure as third-party material; "
             "repeatable, replaces the default list (README, 'Gates').")] = None,
    commit_every: Annotated[int, typer.Option(min=1, help="Commit every N sources (a checkpoint): a killed run loses at "
                                                          "most one checkpoint, and a re-run skips every committed source.")] = COMMIT_EVERY,
    batch_size: Annotated[int, typer.Option(min=1, help="Sources per worker call (a Spark task, a Ray actor call): each batch "
                                                        "writes one fragment per table, and a checkpoint spreads over at most "
                                                        "commit-every / batch-size cores.")] = BATCH_SIZE,
    storage_option: StorageOpt = None,
    input_option: InputOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Parse publication packages into the Lance warehouse (articles, figures, panels, rejects)."""
    from sciir_dist.engines.base import make_engine
    from sciir_dist.ingest.license import DEFAULT_ALLOW, THIRD_PARTY_PHRASES
    from sciir_dist.ingest.pipeline import IngestOptions

    split_cfg = splitter_config(splitter, splitter_weights, yolo_imgsz, yolo_conf, yolo_iou, yolo_class, yolo_device)
    for phrase in third_party_phrase or ():
        try:
            re.compile(phrase)
        except re.error as exc:
            raise typer.BadParameter(f"{phrase!r} is not a regular expression: {exc}", param_hint="--third-party-phrase") from None
    wh = warehouse(data, storage_option)
    opts = IngestOptions(
        allow_licenses=tuple(allow_license or DEFAULT_ALLOW),
        folder_license=license_,
        max_pixels=max_pixels,
        third_party_phrases=tuple(third_party_phrase or THIRD_PARTY_PHRASES),
        splitter=split_cfg,
        storage_options=storage(input_option),
    )
    eng = make_engine(engine.value, master=master)
    params = {"engine": engine.value, "master": master, **split_cfg.params(), "allow_license": list(opts.allow_licenses),
              "max_pixels": max_pixels, "third_party_phrases": list(opts.third_party_phrases),
              "storage_options": wh.storage_options, "input_options": opts.storage_options}
    summary = run_ingest(inputs, wh, eng, opts, fmt=fmt.value, params=params, commit_every=commit_every,
                         batch_size=batch_size, progress=progress)
    if json_out:
        print(json.dumps(summary.as_dict()))
    else:
        summary.render(out)


@app.command()
@with_stage_options
def curate(
    data: DataOpt,
    stages: Annotated[str, typer.Option(help="Comma-separated stages to run, in order: hash, embed, dedup, filter, "
                                             "discipline, classify, annotate (and plug-in stages).")] = "hash",
    plugin: Annotated[Optional[list[str]], typer.Option(
        help="A stage file or module to load (it registers its stages); also $SCIIR_PLUGINS.")] = None,
    option: Annotated[Optional[list[str]], typer.Option(
        help="A stage option, STAGE.OPTION=VALUE (repeatable; for plug-in stages loaded with --plugin).")] = None,
    address: Annotated[Optional[str], typer.Option(envvar="RAY_ADDRESS", help="Ray address or Spark master (default: a local one).")] = None,
    engine: Annotated[str, typer.Option(help="Where row stages run: ray (actor pools, GPUs), spark (tasks) or local "
                                             "(this process).")] = "ray",
    retry_rejects: Annotated[bool, typer.Option(help="Also re-run panels this stage rejected before.")] = False,
    commit_every: Annotated[int, typer.Option(help="Commit stage output every N panels (checkpoint).")] = 2000,
    batch_size: Annotated[Optional[int], typer.Option(help="Panels per worker call (default: the stage's own).")] = None,
    vlm_url: Annotated[Optional[str], typer.Option(envvar="SCIIR_VLM_URL", help="OpenAI-compatible base URL of the vision model (default: offline backends).")] = None,
    vlm_model: Annotated[Optional[str], typer.Option(envvar="SCIIR_VLM_MODEL", help="Vision model name at --vlm-url (filter, classify, annotate a/b).")] = None,
    text_url: Annotated[Optional[str], typer.Option(envvar="SCIIR_TEXT_URL", help="OpenAI-compatible base URL of the text model (default: --vlm-url).")] = None,
    text_model: Annotated[Optional[str], typer.Option(envvar="SCIIR_TEXT_MODEL", help="Text model name (discipline fallback, annotate c; default: --vlm-model).")] = None,
    vlm_max_in_flight: Annotated[int, typer.Option(help="Requests in flight per actor.")] = 64,
    vlm_budget: Annotated[Optional[int], typer.Option(help="Most HTTP requests per model role in this run, over all actors.")] = None,
    vlm_retries: Annotated[int, typer.Option(help="Retries per request on 429/5xx/timeouts/dropped connections.")] = 4,
    vlm_timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 120.0,
    protocol: ProtocolOpt = "sciir", model_config: ModelConfigOpt = None, set_: SetOpt = None,
    storage_option: StorageOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    stage_options: Optional[dict] = None,
) -> None:
    """Run curation stages over panels (on Ray by default); each stage does only the panels lacking its output.
    Every stage option has its own flag (--<stage>-<option>). The API key is read from SCIIR_VLM_API_KEY only."""
    from sciir_dist.curate.run import CurateConfig, run_curate
    from sciir_dist.stages.registry import load_plugins, parse_options

    wh = warehouse(data, storage_option)
    names = [s.strip() for s in stages.split(",") if s.strip()]
    try:
        load_plugins(plugin or [])
        given = parse_options(option)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    options = {s: {**(stage_options or {}).get(s, {}), **given.get(s, {})} for s in names}

    limits = dict(max_in_flight=vlm_max_in_flight, budget=vlm_budget, max_retries=vlm_retries, timeout_s=vlm_timeout)
    settings = model_settings(model_config, set_)
    vision = endpoint(wh, vlm_url, vlm_model, "vlm", role=settings.role("vision"), **limits)
    text = endpoint(wh, text_url or vlm_url, text_model or vlm_model, "text", role=settings.role("text"), **limits)
    cfg = CurateConfig(vision=vision, text=text, protocol=protocol_name(protocol), calls=dict(settings.calls),
                       options=options)
    try:
        summary = run_curate(wh, names, cfg=cfg, address=address, retry_rejects=retry_rejects,
                             commit_every=commit_every, batch_size=batch_size, engine=engine,
                             params={"address": address, "storage_options": wh.storage_options}, progress=progress)
    except (ValueError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc)) from None
    if json_out:
        print(json.dumps(summary.as_dict()))
    else:
        summary.render(out)


@train.command("clip")
def train_clip_cmd(
    data: DataOpt,
    run_name: Annotated[str, typer.Option(help="Run name; running again with the same name resumes from its newest checkpoint.")],
    storage_path: Annotated[str, typer.Option(help="Where runs and checkpoints go (local path or s3:// gs:// ...).")],
    model: Annotated[str, typer.Option(help="open_clip architecture or config .json (sciir-lite: the bundled "
                                            "EfficientNet-Lite0 and MiniLM towers; sciir-tiny: a small random model).")] = "sciir-lite",
    pretrained: Annotated[Optional[str], typer.Option(help="Start from a pretrained tag or checkpoint (default: sciir-lite's bundled towers; random for others).")] = None,
    epochs: Annotated[int, typer.Option()] = 5,
    batch_size: Annotated[int, typer.Option(help="Per-worker batch size.")] = 32,
    lr: Annotated[float, typer.Option(help="Peak AdamW learning rate.")] = 1e-4,
    warmup: Annotated[float, typer.Option(help="Share of the steps warming the learning rate up (cosine decay after).")] = 0.1,
    workers: Annotated[int, typer.Option(help="Ray Train workers.")] = 2,
    gpus_per_worker: Annotated[float, typer.Option()] = 0.0,
    strategy: Annotated[str, typer.Option(help="ddp or fsdp.")] = "ddp",
    max_failures: Annotated[int, typer.Option(help="Worker failures to recover from (FailureConfig).")] = 2,
    heldout_percent: Annotated[int, typer.Option(help="Share of the split held out for retrieval metrics.")] = 10,
    license: Annotated[Optional[list[str]], typer.Option(help="Allowed licenses (repeatable; default CC-BY-4.0).")] = None,
    address: Annotated[Optional[str], typer.Option(envvar="RAY_ADDRESS", help="Ray cluster address (default: local Ray).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    storage_option: StorageOpt = None,
) -> None:
    """Train or fine-tune an open_clip model on (panel, abstract prompt) pairs of the training split."""
    from sciir_dist.train.clip import TrainSettings, train_clip
    from sciir_dist.train.split import DEFAULT_LICENSES

    settings = TrainSettings(run_name=run_name, storage_path=storage_path, model=model, pretrained=pretrained,
                             epochs=epochs, batch_size=batch_size, lr=lr, warmup=warmup, workers=workers,
                             gpus_per_worker=gpus_per_worker, strategy=strategy, max_failures=max_failures,
                             heldout_percent=heldout_percent, licenses=tuple(license or DEFAULT_LICENSES))
    try:
        res = train_clip(warehouse(data, storage_option), settings, address)
    except (ValueError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc)) from None
    if json_out:
        print(json.dumps(res, default=str))
        return
    import pyarrow as pa

    cols = ("epoch", "step", "loss", "r1_i2t", "r5_i2t", "r1_t2i", "r5_t2i")
    print_table(pa.Table.from_pylist([{c: h.get(c) for c in cols} for h in res["history"]]))
    n = res["heldout_pairs"]
    out.print(f"{res['train_pairs']} training / {n} held-out pairs (chance: R@1 {1 / n:.3f}, R@5 {min(1.0, 5 / n):.3f}); "
              f"checkpoint {res['checkpoint']}")
    out.print(f"embed with it: sciir curate --stages embed --clip-model {model} --clip-checkpoint {res['checkpoint']}")


@warehouse_cmds.command("vacuum")
def vacuum_cmd(
    data: DataOpt,
    retention: Annotated[str, typer.Option(help="Keep table versions younger than this (7d, 12h, ...): the time travel "
                                                "window, and the longest a job may read a version it pinned.")] = "7d",
    orphans_older_than: Annotated[str, typer.Option(help="Remove data files no version references once older than this: "
                                                         "longer than any job holds a checkpoint's written, uncommitted files.")] = "1h",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report what would be removed.")] = False,
    fs_option: Annotated[Optional[list[str]], typer.Option(help="KEY=VALUE fsspec option for listing and removing "
                                                                "files of an object-store warehouse (repeatable).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    storage_option: StorageOpt = None,
) -> None:
    """Remove table versions older than the retention, and data files left by killed runs (never committed)."""
    from sciir_dist.vacuum import parse_duration, vacuum

    try:
        keep, grace = parse_duration(retention), parse_duration(orphans_older_than)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    report = vacuum(warehouse(data, storage_option), keep, grace, dry_run=dry_run, fs_options=storage(fs_option))
    if json_out:
        print(json.dumps({"dry_run": dry_run, "tables": [r.as_dict() for r in report]}))
        return
    verb = "would remove" if dry_run else "removed"
    t = Table(title=f"{verb}: versions older than {retention}, orphan files older than {orphans_older_than}")
    for col in ("table", "old versions", "their files", "bytes", "orphans", "orphan bytes", "young orphans kept"):
        t.add_column(col, justify="left" if col == "table" else "right")
    for r in report:
        t.add_row(r.table, str(r.old_versions), str(r.old_files), str(r.old_bytes), str(len(r.orphans)),
                  str(r.orphan_bytes), str(r.young_orphans))
    out.print(t)
    for r in report:
        for name in r.orphans:
            out.print(f"{verb}: {r.table}.lance/data/{name}", soft_wrap=True)


@app.command("export")
def export_cmd(
    data: DataOpt,
    out_uri: Annotated[str, typer.Option("--out", help="Output folder or URI (fsspec: local, s3://, gs://, ...).")],
    shard_size: Annotated[int, typer.Option(help="Rows per shard.")] = 1000,
    format: Annotated[Optional[list[str]], typer.Option(help="jsonl, webdataset, parquet (default: these three), "
                                                        "diffsynth, instruction-jsonl (the reference trainers'); repeatable.")] = None,
    license: Annotated[Optional[list[str]], typer.Option(help="Allowed licenses (repeatable; default CC-BY-4.0).")] = None,
    output_option: Annotated[Optional[list[str]], typer.Option(help="KEY=VALUE fsspec option for --out (repeatable).")] = None,
    storage_option: StorageOpt = None,
) -> None:
    """SFT files from the training split: planner chat JSONL, generator WebDataset shards and Parquet,
    or the reference trainers' DiffSynth-Studio dataset and instruction/input/output JSONL."""
    from sciir_dist.train.export import FORMATS, ExportSettings, export
    from sciir_dist.train.split import DEFAULT_LICENSES, SplitError

    settings = ExportSettings(out=out_uri, shard_size=shard_size, formats=tuple(format or FORMATS),
                              licenses=tuple(license or DEFAULT_LICENSES), storage_options=storage(output_option))
    try:
        manifest = export(warehouse(data, storage_option), settings)
    except (SplitError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    out.print(json.dumps(manifest, indent=1))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def submit(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="curate, bench or train-clip; the rest of the line goes to the job.")],
    address: Annotated[str, typer.Option(envvar="RAY_ADDRESS", help="The cluster's dashboard URL, e.g. http://head:8265.")],
    wait: Annotated[bool, typer.Option(help="Stream the job's logs and exit with its status.")] = False,
    python: Annotated[str, typer.Option(help="Python on the cluster's nodes.")] = "python",
    timeout: Annotated[Optional[float], typer.Option(help="With --wait: stop the job after this many seconds.")] = None,
) -> None:
    """Submit a job to a Ray cluster through the Jobs API, shipping this project."""
    from sciir_dist.submit import submit as run

    try:
        job_id, status = run(job, list(ctx.args), address, python=python, wait=wait, log=lambda m: print(m, flush=True),
                             timeout_s=timeout)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if status is not None:
        out.print(f"{job_id}: {status}")
        raise typer.Exit(0 if status == "SUCCEEDED" else 1)


@app.command("query")
def query_cmd(
    data: DataOpt,
    table: Annotated[str, typer.Argument(help="Table name, e.g. panels.")],
    where: Annotated[Optional[str], typer.Option(help="SQL filter, e.g. \"panel_letter = 'a'\".")] = None,
    columns: Annotated[Optional[str], typer.Option(help="Comma-separated columns (default: all but image bytes and vectors).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Maximum rows.")] = 20,
    near_text: Annotated[Optional[str], typer.Option(help="panels only: the panels closest to this text.")] = None,
    near_image: Annotated[Optional[Path], typer.Option(help="panels only: the panels closest to this image file.")] = None,
    fmt: Annotated[Fmt, typer.Option("--format", help="table, json (lines) or csv.")] = Fmt.table,
    storage_option: StorageOpt = None,
) -> None:
    """Show rows of a warehouse table, or (panels) the nearest panels to a text or an image."""
    from sciir_dist.query import near, query

    cols = [c.strip() for c in columns.split(",")] if columns else None
    wh = warehouse(data, storage_option)
    try:
        if near_text is not None or near_image is not None:
            if table != "panels":
                raise ValueError("--near-text / --near-image search panels")
            image = near_image.read_bytes() if near_image else None
            result = near(wh, text=near_text, image=image, where=where, columns=cols, limit=limit or 10)
        else:
            result = query(wh, table, where=where, columns=cols, limit=limit)
    except (ValueError, OSError) as exc:
        raise typer.BadParameter(str(exc)) from None
    print_table(result, fmt)


@app.command("sql")
def sql_cmd(
    data: DataOpt,
    statement: Annotated[str, typer.Argument(help="A SELECT over the warehouse tables (DuckDB SQL).")],
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
    storage_option: StorageOpt = None,
) -> None:
    """Run DuckDB SQL over the warehouse tables."""
    from sciir_dist.query import sql

    print_table(sql(warehouse(data, storage_option), statement), fmt)


@app.command()
def stats(data: DataOpt, json_out: Annotated[bool, typer.Option("--json")] = False, storage_option: StorageOpt = None) -> None:
    """Row counts per table and rejects by reason."""
    from sciir_dist.query import stats as get_stats

    s = get_stats(warehouse(data, storage_option))
    if json_out:
        print(json.dumps(s))
        return
    t = Table(title=f"warehouse {s['root']}")
    t.add_column("table")
    t.add_column("rows", justify="right")
    t.add_column("version", justify="right")
    for name, info in s["tables"].items():
        t.add_row(name, str(info["rows"]), str(info["version"]))
    out.print(t)
    if s["rejects_by_reason"]:
        r = Table(title="rejects by stage:reason")
        r.add_column("reason")
        r.add_column("rows", justify="right")
        for k, v in s["rejects_by_reason"].items():
            r.add_row(k, str(v))
        out.print(r)


@app.command()
def show(
    data: DataOpt,
    panel_id: Annotated[str, typer.Argument(help="panel_id to export.")],
    out_file: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    storage_option: StorageOpt = None,
) -> None:
    """Write a standardized panel image to a PNG file."""
    from sciir_dist.query import panel_png

    try:
        out_file.write_bytes(panel_png(warehouse(data, storage_option), panel_id))
    except KeyError as exc:
        raise typer.BadParameter(str(exc)) from None
    out.print(f"wrote {out_file}")


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option("--dir", help="Where the demo corpus and warehouse go.")] = Path("demo"),
    articles: Annotated[int, typer.Option(help="Synthetic articles to generate.")] = 12,
    engine: Annotated[EngineName, typer.Option()] = EngineName.spark,
) -> None:
    """The whole pipeline, offline: synth -> Spark ingest -> Ray curate -> queries -> bench build, checklist,
    sweep (text-render baseline), judge (OCR), score."""
    from sciir_dist.bench.build import build as build_bench
    from sciir_dist.bench.checklist import run_checklist
    from sciir_dist.bench.judge import JudgeSpec, run_judge
    from sciir_dist.bench.models_file import ModelSpec
    from sciir_dist.bench.report import markdown, write_report
    from sciir_dist.bench.score import ScoreOptions, score
    from sciir_dist.bench.sweep import run_sweep
    from sciir_dist.curate.run import STAGES, run_curate
    from sciir_dist.engines.base import make_engine
    from sciir_dist.query import near, query, sql, stats as get_stats
    from sciir_dist.synth.corpus import generate

    corpus, data = workdir / "corpus", workdir / "warehouse"
    out.rule("1. synth")
    m = generate(corpus, articles=articles, seed=0)
    out.print(f"{len(m['articles'])} articles, {len(m['figures'])} figures in {corpus}")
    out.rule("2. ingest (Spark)")
    wh = warehouse(str(data))
    run_ingest([str(corpus)], wh, make_engine(engine.value), params={"demo": True}).render(out)
    out.rule("3. curate (Ray, offline backends): " + ", ".join(STAGES))
    run_curate(wh, list(STAGES), params={"demo": True}).render(out)
    out.rule("4. stats")
    s = get_stats(wh)
    for name, info in s["tables"].items():
        out.print(f"  {name:18s} {info['rows']:6d} rows (version {info['version']})")
    for reason, n in s["rejects_by_reason"].items():
        out.print(f"  rejected {reason}: {n}")
    out.rule("5. filter decisions, duplicate clusters, disciplines")
    print_table(sql(wh, "SELECT filter_decision, filter_category, count(*) AS panels FROM panel_filter GROUP BY 1, 2 ORDER BY 3 DESC"),
           Fmt.table)
    print_table(query(wh, "panels", where="dup_of IS NOT NULL", columns=["panel_id", "dup_of", "dup_kind"], limit=8), Fmt.table)
    print_table(sql(wh, "SELECT discipline, discipline_source, count(*) AS articles FROM article_discipline GROUP BY 1, 2 ORDER BY 3 DESC"),
           Fmt.table)
    out.rule("6. semiotic labels (tau = 7) and an annotation")
    print_table(sql(wh, "SELECT array_to_string(labels, ' + ') AS labels, count(*) AS panels FROM panel_classify "
                   "GROUP BY 1 ORDER BY 2 DESC"), Fmt.table)
    print_table(query(wh, "panels", where="annotate_backend IS NOT NULL",
                 columns=["panel_id", "labels", "term_count", "abstract_prompt"], limit=3), Fmt.table)
    out.rule("7. vector query: panels nearest to a text")
    text = "the signal process"
    out.print(f"sciir query panels --near-text {text!r}")
    print_table(near(wh, text=text, limit=5, columns=["panel_id", "sub_caption", "labels"]), Fmt.table)
    out.rule("8. benchmark: build -> checklist -> sweep (text-render baseline) -> judge (OCR) -> score")
    built = build_bench(wh)
    out.print(f"selected {built['selected']} samples: {built['by_mode_group']}")
    if built["short"]:
        out.print(f"(a demo corpus is small: {len(built['short'])} mode/group splits have fewer than the release's "
                  f"100 candidates, and keep all they have)")
    if built["selected"]:
        run_checklist(wh, progress=False)
        run_sweep(wh, [ModelSpec(name="text-render", backend="text-render")], progress=False)
        run_judge(wh, JudgeSpec(), progress=False)
        results, meta = score(wh, ScoreOptions(bootstrap=200))
        out.print(markdown(results, meta, with_ci=True))
        paths = write_report(results, meta, f"{wh.root}/reports/demo")
        out.print(f"report: {paths['report.html']}")
    out.print(f"\nwarehouse: {data}\ntry: sciir query panels --data {data} --where \"filter_review\"")


if __name__ == "__main__":
    app()

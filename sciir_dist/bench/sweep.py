"""`sciir bench sweep`: every model x sample x seed through its generator
on Ray, into ``generations`` (one row per attempt outcome: an image, or an
``error`` saying why not). Resumable: a re-run generates only what has no
row yet (``retry_errors``: also what failed). One actor pool per model, of
the size its ``concurrency`` asks for."""

from __future__ import annotations

import functools
import hashlib
import io

import pyarrow as pa
from PIL import Image

from schemas.tables import GENERATIONS
from sciir_dist.bench.generators import make_generator
from sciir_dist.bench.models_file import ModelSpec
from sciir_dist.progress import Summary
from sciir_dist.runner import run_job
from sciir_dist.sql import eq
from sciir_dist.stages.base import Resources, Stage, StageResult
from sciir_dist.warehouse import Warehouse


def generation_id(model: str, sample_id: str, seed: int) -> str:
    return f"{model}|{sample_id}|{seed}"


class GenerateStage(Stage):
    name = "sweep"
    output_table = "generations"
    source_table = "bench_samples"
    key = "sample_id"
    output_key = "generation_id"
    inputs = ("sample_id", "prompt", "retained_text", "rendered_text")

    def __init__(self, spec: ModelSpec, cache_uri: str | None = None, where: str | None = None) -> None:
        self.spec = spec
        self.where = where
        self.generator = make_generator(spec, cache_uri)
        self.resources = Resources(num_cpus=1, num_gpus=1.0 if spec.backend == "diffusers" else 0.0,
                                   batch_size=spec.batch_size, concurrency=spec.concurrency)

    @property
    def label(self) -> str:
        return f"sweep {self.spec.name}"

    def plan(self, wh: Warehouse, retry_rejects: bool) -> tuple[int, list[dict]]:
        """Items {index, seed} still to generate for this model: no row yet,
        or (``retry_rejects``) a row with an error."""
        samples = wh.open("bench_samples")
        ids = samples.to_table(columns=["sample_id"]).column("sample_id").to_pylist()
        only = getattr(self.generator, "sample_filter", lambda: None)()  # e.g. a flat folder's mode x group
        where = " AND ".join(f"({w})" for w in (self.where, only) if w) or None
        wanted = set(ids) if where is None else set(
            samples.to_table(columns=["sample_id"], filter=where).column("sample_id").to_pylist())
        cond = eq("model", self.spec.name) + (" AND error IS NULL" if retry_rejects else "")
        have = set(wh.read("generations", ["generation_id"], where=cond).column("generation_id").to_pylist())
        items = [{"index": i, "seed": seed} for seed in self.spec.seeds for i, sid in enumerate(ids)
                 if sid in wanted and generation_id(self.spec.name, sid, seed) not in have]
        return samples.version, items

    def setup(self) -> None:
        self.generator.setup()

    def process(self, batch: pa.Table) -> StageResult:
        rows = batch.to_pylist()  # sample columns + the item's seed
        error = None
        try:
            made = self.generator.generate(rows)
        except Exception as exc:  # noqa: BLE001 - a broken backend fails its rows, not the sweep
            made = [None] * len(rows)
            error = f"generator_failed: {type(exc).__name__}: {exc}"
        out = []
        for r, g in zip(rows, made):
            image, err = (g.image, g.error) if g is not None else (None, error)
            width = height = None
            if image is not None and err is None:
                try:
                    with Image.open(io.BytesIO(image)) as im:
                        im.load()
                        width, height = im.size
                except Exception as exc:  # noqa: BLE001
                    image, err = None, f"bad_image: {type(exc).__name__}: {exc}"
            out.append({"generation_id": generation_id(self.spec.name, r["sample_id"], int(r["seed"])),
                        "model": self.spec.name, "sample_id": r["sample_id"], "seed": int(r["seed"]),
                        "backend": self.spec.backend, "error": err if image is None else None,
                        "sha256": hashlib.sha256(image).hexdigest() if image is not None else None,
                        "width": width, "height": height, "image": image if err is None else None})
        return StageResult(pa.Table.from_pylist(out, schema=GENERATIONS))


def run_sweep(wh: Warehouse, specs: list[ModelSpec], *, address: str | None = None, where: str | None = None,
              retry_errors: bool = False, commit_every: int = 200, progress: bool = True) -> Summary:
    if not wh.exists("bench_samples") or not wh.count("bench_samples"):
        raise ValueError(f"no bench_samples in {wh.root}: run `sciir bench load` or `sciir bench build` first")
    cache = f"{wh.root}/_cache/images"
    if any(s.backend == "diffusers" for s in specs):
        import ray

        from sciir_dist.engines.ray import init_ray

        init_ray(address)
        for spec in specs:
            if spec.backend == "diffusers":
                make_generator(spec).preflight(ray.cluster_resources().get("GPU", 0))

    def factories(run_id: str):
        return [functools.partial(GenerateStage, spec, cache, where) for spec in specs], []

    summary = run_job(wh, "bench-sweep", factories, address=address, retry_rejects=retry_errors,
                      commit_every=commit_every, params={"models": [s.model_dump() for s in specs], "where": where},
                      progress=progress, read_tables=("bench_samples",))
    for spec in specs:
        errors = wh.count("generations", f"{eq('model', spec.name)} AND error IS NOT NULL")
        if errors:
            summary.rejected[f"sweep:{spec.name}:errors"] = errors
    return summary

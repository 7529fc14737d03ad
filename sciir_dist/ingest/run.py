"""The ingest driver: plan -> per checkpoint of ``commit_every`` sources:
map a worker over batches of them on an engine (``engine.map_batches``,
local, Spark or Ray) -> settle duplicate articles across batches -> one
commit per table.

Each worker (``ingest.worker``) processes a batch of sources, drops the
duplicate articles it can see itself (claims on articles the warehouse
already holds, and claims of its own sources), writes every table's rows as
uncommitted fragments and returns its claims. So in the common case a source
is processed once. Only when a batch stored an article that a source of an
earlier batch of the same checkpoint also claims does the driver re-run that
batch, with the losing claims passed in; its first fragments are never
committed (``sciir warehouse vacuum`` removes such files).

Commit order is rejects, panels, figures, articles, and ``sources`` last: a
source listed in ``sources`` with its fingerprint is completely in every
table, so a re-run skips it; a source killed half-way is simply processed
again, and its rows replace (by article id) whatever part of it was committed.
A killed run therefore loses at most the checkpoint it was in.

Sources go through checkpoints sorted by URI, and each checkpoint resolves
duplicate articles against what earlier ones committed, so "the first
claimant by URI owns an article" holds whatever the checkpoint and batch
sizes. The driver never holds a whole table: planning matches keys in Arrow,
and workers look up only the rows of their own sources and articles.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc

from sciir_dist.engines.base import Engine
from sciir_dist.ingest.packages import Source, discover
from sciir_dist.ingest.pipeline import IngestOptions
from sciir_dist.ingest.worker import IngestJob, IngestWorker, Losers, SourceBatchOutcome, resolve_owners
from sciir_dist.progress import Bar, Summary, job_bar
from sciir_dist.runs import RunRecorder
from sciir_dist.sql import is_in
from sciir_dist.warehouse import Warehouse

log = logging.getLogger(__name__)

COMMIT_ORDER = ("rejects", "panels", "figures", "articles", "sources")
#: sources per checkpoint (``--commit-every``): what a killed run can lose
COMMIT_EVERY = 1000
#: sources per worker call (``--batch-size``): each batch writes one fragment
#: per table, and a checkpoint runs on at most this many cores at a time:
#: ``commit_every / batch_size`` batches
BATCH_SIZE = 16
#: input sources matched per pass over the committed ``sources`` keys
PLAN_CHUNK = 131_072


def run_ingest(
    inputs: list[str],
    wh: Warehouse,
    engine: Engine,
    opts: IngestOptions = IngestOptions(),
    fmt: str = "auto",
    params: dict | None = None,
    commit_every: int = COMMIT_EVERY,
    progress: bool = True,
    batch_size: int = BATCH_SIZE,
) -> Summary:
    """Ingest the sources under ``inputs`` that are new or changed, committing
    every ``commit_every`` of them; one `runs` row, one summary and one
    progress bar for the whole run."""
    if commit_every < 1 or batch_size < 1:
        raise ValueError(f"commit_every and batch_size must be at least 1, not {commit_every} and {batch_size}")
    t0 = time.monotonic()
    for t in COMMIT_ORDER:
        wh.ensure(t)
    versions_read = wh.versions(COMMIT_ORDER)
    run = RunRecorder(wh, "ingest", engine.name, dict(params or {}, inputs=inputs, format=fmt, commit_every=commit_every,
                                                     batch_size=batch_size, cluster=getattr(engine, "cluster", engine.name)))
    summary = Summary(job="ingest", run_id=run.run_id)
    try:
        sources = list(discover(inputs, fmt, opts.storage_options))  # sorted by URI
        todo = plan(wh, sources)
        summary.rows_in = len(sources)
        summary.skipped = len(sources) - len(todo)
        written = dict(versions_read)
        with job_bar("ingest sources", len(todo), enabled=progress and bool(todo)) as bar:
            for start in range(0, len(todo), commit_every):
                checkpoint = todo[start:start + commit_every]
                written.update(_checkpoint(checkpoint, wh, engine, opts, batch_size, summary, bar))
        summary.elapsed_s = time.monotonic() - t0
        run.finish(summary, versions_read, written)
        return summary
    except BaseException as exc:
        summary.elapsed_s = time.monotonic() - t0
        run.finish(summary, versions_read, wh.versions(COMMIT_ORDER), error=f"{type(exc).__name__}: {exc}")
        raise


def plan(wh: Warehouse, sources: list[Source]) -> list[Source]:
    """The sources to do, in their order: those without a committed
    ``sources`` row of the same fingerprint. Matched in Arrow, a chunk of
    inputs at a time; the driver holds two columns of ``sources``, never a
    dict of its rows (gigabytes at a million sources)."""
    committed = wh.open("sources").scanner(columns=["source_uri", "source_fingerprint"]).to_reader().read_all()
    uris, fingerprints = committed.column("source_uri"), committed.column("source_fingerprint")
    todo: list[Source] = []
    for start in range(0, len(sources), PLAN_CHUNK):
        chunk = sources[start:start + PLAN_CHUNK]
        done = _committed_positions(uris, fingerprints, chunk)
        todo.extend(s for i, s in enumerate(chunk) if i not in done)
    return todo


def _committed_positions(uris: pa.ChunkedArray, fingerprints: pa.ChunkedArray, chunk: list[Source]) -> set[int]:
    """Positions in ``chunk`` of the sources committed with the same
    fingerprint. The chunk is the value set and the committed rows probe it:
    a value set of the whole table would be hashed again for every chunk."""
    at = pc.index_in(uris, value_set=pa.array([s.uri for s in chunk], pa.string()))
    hit = pc.is_valid(at)
    at = at.filter(hit)
    same = pc.equal(fingerprints.filter(hit), pa.array([s.fingerprint for s in chunk], pa.string()).take(at))
    return set(at.filter(same).to_pylist())


def cut(sources: list[Source], size: int) -> list[list[Source]]:
    """Contiguous batches of at most ``size`` sources, as even as possible
    (a checkpoint's last batch is not a straggler)."""
    n = -(-len(sources) // size)
    return [sources[i * len(sources) // n:(i + 1) * len(sources) // n] for i in range(n)]


def _map(engine: Engine, job: IngestJob, batches: list[list[Source]], bar: Bar | None) -> list[SourceBatchOutcome]:
    """The outcomes of ``batches`` in batch order (engines may finish them
    in any order); each finished batch advances ``bar``."""
    outcomes: list[SourceBatchOutcome] = []
    for out in engine.map_batches(functools.partial(IngestWorker, job), batches):
        outcomes.append(out)
        if bar is not None:
            bar.advance(out.items)
    return sorted(outcomes, key=lambda o: next(iter(o.claims)))


def _settle(engine: Engine, job: IngestJob, batches: list[list[Source]],
            outcomes: list[SourceBatchOutcome]) -> tuple[list[SourceBatchOutcome], Losers]:
    """Resolve owners across the checkpoint's batches (the committed owner,
    else the first claimant by URI) and re-run the batches that kept a claim
    that loses, with the losers passed in. Returns the outcomes to commit
    and the losing claims."""
    claims = {uri: ids for o in outcomes for uri, ids in o.claims.items()}
    losers = resolve_owners(claims, {aid: uri for o in outcomes for aid, uri in o.owners.items()})
    redo = [i for i, o in enumerate(outcomes) if o.losers != {k: v for k, v in losers.items() if k[0] in o.claims}]
    if not redo:
        return outcomes, losers
    log.info("re-running %d of %d batches: they stored articles an earlier batch's source owns", len(redo), len(batches))
    uris = {uri for i in redo for uri in outcomes[i].claims}
    rerun = replace(job, losers={k: v for k, v in losers.items() if k[0] in uris})
    again = _map(engine, rerun, [batches[i] for i in redo], None)
    settled = list(outcomes)
    for i, out in zip(redo, again):
        settled[i] = out
    return settled, losers


def _checkpoint(todo: list[Source], wh: Warehouse, engine: Engine, opts: IngestOptions, batch_size: int,
                summary: Summary, bar: Bar) -> dict[str, int | None]:
    """Process, write and commit one checkpoint of sources; returns the
    versions it wrote."""
    todo_uris = [s.uri for s in todo]
    job = IngestJob(wh, opts, wh.versions(("sources", "articles")))
    batches = cut(todo, batch_size)
    outcomes, losers = _settle(engine, job, batches, _map(engine, job, batches, bar))
    stored = {aid for o in outcomes for uri, ids in o.claims.items() for aid in ids if (uri, aid) not in losers}
    # a re-ingested source replaces what it produced before, even ids it no longer has
    article_keys = sorted(stored | {aid for o in outcomes for aid in o.previous})
    fragments: dict[str, list[str]] = {t: [] for t in COMMIT_ORDER}
    reject_ids: list[str] = []
    for out in outcomes:
        for t, frags in out.fragments.items():
            fragments[t] += frags
        for t, n in out.rows.items():
            summary.rows_out[t] = summary.rows_out.get(t, 0) + n
        for reject_id, reason in out.rejected:
            summary.rejected[reason] = summary.rejected.get(reason, 0) + 1
            reject_ids.append(reject_id)
    keys = {
        "rejects": {"source_uri": todo_uris, "reject_id": reject_ids},
        "panels": {"article_id": article_keys},
        "figures": {"article_id": article_keys},
        "articles": {"article_id": article_keys},
        "sources": {"source_uri": todo_uris},
    }
    written = {t: wh.commit_upsert(t, fragments[t], replace_keys=keys[t]) for t in COMMIT_ORDER}
    # a concurrent ingest of the same new sources may have added the same keys
    in_sources = is_in("source_uri", todo_uris) if todo_uris else None
    in_articles = is_in("article_id", article_keys) if article_keys else None
    for t, where in (("rejects", in_sources), ("panels", in_articles), ("figures", in_articles),
                     ("articles", in_articles), ("sources", in_sources)):
        if where and wh.dedupe(t, where):
            written[t] = wh.version(t)
    return written

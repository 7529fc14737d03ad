"""The ingest driver: plan -> per checkpoint of ``commit_every`` sources:
process on an engine -> resolve duplicate articles -> write fragments on the
engine -> one commit per table.

Commit order is rejects, panels, figures, articles, and ``sources`` last: a
source listed in ``sources`` with its fingerprint is completely in every
table, so a re-run skips it; a source killed half-way is simply processed
again, and its rows replace (by article id) whatever part of it was committed.
A killed run therefore loses at most the checkpoint it was in.

Sources go through checkpoints sorted by URI, and each checkpoint resolves
duplicate articles against what earlier ones committed, so "the first
claimant by URI owns an article" holds whatever the checkpoint size. The
driver never holds a whole table: planning matches keys in Arrow, and each
checkpoint reads only the rows of its own sources and articles.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from schemas.tables import INGEST_TABLES, schema_of
from sciir_dist.engines.base import Engine
from sciir_dist.ingest.packages import Source, discover
from sciir_dist.ingest.pipeline import IngestOptions, SourceResult, process_source
from sciir_dist.progress import Bar, Summary, job_bar
from sciir_dist.runs import RunRecorder
from sciir_dist.sql import is_in
from sciir_dist.warehouse import Warehouse, write_fragments

COMMIT_ORDER = ("rejects", "panels", "figures", "articles", "sources")
#: sources per checkpoint (``--commit-every``): what a killed run can lose
COMMIT_EVERY = 1000
#: values per IN filter of a lookup, whatever a checkpoint holds
LOOKUP_CHUNK = 1000
#: input sources matched per pass over the committed ``sources`` keys
PLAN_CHUNK = 131_072


@dataclass(frozen=True)
class Processor:
    """Picklable per-source function shipped to the engine."""

    opts: IngestOptions

    def __call__(self, src: Source) -> SourceResult:
        return process_source(src, self.opts)


@dataclass(frozen=True)
class Claims:
    source_uri: str
    stored: tuple[str, ...]  # article ids this source would store


def claims_of(res: SourceResult) -> Claims:
    return Claims(res.source.uri, tuple(a["article_id"] for a in res.articles))


@dataclass(frozen=True)
class PartitionWriter:
    """Writes one partition's rows as uncommitted Lance fragments; rows of
    duplicate articles (``losers``) become a single reject instead."""

    wh: Warehouse
    losers: dict[tuple[str, str], str]  # (source_uri, article_id) -> owning source

    def __call__(self, results: Iterator[SourceResult]) -> list[tuple[str, str, str]]:
        """Returns ("fragment", table, json) and ("count", table-or-reason, reject_id) items."""
        rows: dict[str, list[dict]] = {t: [] for t in COMMIT_ORDER}
        for res in results:
            drop_duplicates(res, self.losers)
            for t in COMMIT_ORDER:
                rows[t].extend(res.rows(t))
        out: list[tuple[str, str, str]] = []
        for t, rs in rows.items():
            if rs:
                out.extend(("fragment", t, f) for f in write_fragments(self.wh, t, pa.Table.from_pylist(rs, schema=schema_of(t))))
        out.extend(("count", t, "") for t in INGEST_TABLES if t != "rejects" for _ in rows[t])
        out.extend(("reject", r["reason"], r["reject_id"]) for r in rows["rejects"])
        return out


def drop_duplicates(res: SourceResult, losers: dict[tuple[str, str], str]) -> None:
    dup = {aid: owner for (uri, aid), owner in losers.items() if uri == res.source.uri}
    if not dup:
        return
    for table in ("articles", "figures", "panels"):
        setattr(res, table, [r for r in getattr(res, table) if r["article_id"] not in dup])
    res.rejects = [r for r in res.rejects if r["article_id"] not in dup]
    for aid, owner in sorted(dup.items()):
        res.reject(f"{res.source.uri}#{aid}", "duplicate_article", f"article {aid} is already ingested from {owner}", aid)


def resolve_owners(claims: list[Claims], existing: dict[str, str]) -> dict[tuple[str, str], str]:
    """Each article id has one owning source: the one already in the
    warehouse, else the first claimant by URI. Returns the losing claims."""
    owner = dict(existing)
    losers: dict[tuple[str, str], str] = {}
    for c in sorted(claims, key=lambda c: c.source_uri):
        for aid in c.stored:
            owner.setdefault(aid, c.source_uri)
            if owner[aid] != c.source_uri:
                losers[(c.source_uri, aid)] = owner[aid]
    return losers


def run_ingest(
    inputs: list[str],
    wh: Warehouse,
    engine: Engine,
    opts: IngestOptions = IngestOptions(),
    fmt: str = "auto",
    params: dict | None = None,
    commit_every: int = COMMIT_EVERY,
    progress: bool = True,
) -> Summary:
    """Ingest the sources under ``inputs`` that are new or changed, committing
    every ``commit_every`` of them; one `runs` row, one summary and one
    progress bar for the whole run."""
    if commit_every < 1:
        raise ValueError(f"commit_every must be at least 1, not {commit_every}")
    t0 = time.monotonic()
    for t in COMMIT_ORDER:
        wh.ensure(t)
    versions_read = wh.versions(COMMIT_ORDER)
    run = RunRecorder(wh, "ingest", engine.name, dict(params or {}, inputs=inputs, format=fmt, commit_every=commit_every,
                                                     cluster=getattr(engine, "cluster", engine.name)))
    summary = Summary(job="ingest", run_id=run.run_id)
    try:
        sources = list(discover(inputs, fmt, opts.storage_options))  # sorted by URI
        todo = plan(wh, sources)
        summary.rows_in = len(sources)
        summary.skipped = len(sources) - len(todo)
        written = dict(versions_read)
        with job_bar("ingest sources", len(todo), enabled=progress and bool(todo)) as bar:
            for start in range(0, len(todo), commit_every):
                written.update(_checkpoint(todo[start:start + commit_every], wh, engine, opts, summary, bar))
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


def lookup(wh: Warehouse, table: str, columns: list[str], column: str, values: list[str]) -> pa.Table:
    """Rows of ``table`` whose ``column`` is one of ``values``, through IN
    filters of at most ``LOOKUP_CHUNK`` values (no values: no rows)."""
    chunks = [values[i:i + LOOKUP_CHUNK] for i in range(0, len(values), LOOKUP_CHUNK)] or [[]]
    return pa.concat_tables(wh.read(table, columns, where=is_in(column, c)) for c in chunks)


def committed_state(wh: Warehouse, uris: list[str], claims: list[Claims]) -> tuple[list[dict], dict[str, str]]:
    """What a checkpoint's duplicate resolution needs, read for its sources
    only: their committed ``sources`` rows (a changed package is re-ingested
    over what it stored before) and the committed owner of every article
    they claim or claimed (article id -> source URI)."""
    before = lookup(wh, "sources", ["source_uri", "article_ids"], "source_uri", uris).to_pylist()
    ids = {aid for c in claims for aid in c.stored} | {aid for r in before for aid in r["article_ids"] or []}
    owners = lookup(wh, "articles", ["article_id", "source_uri"], "article_id", sorted(ids))
    return before, dict(zip(owners.column("article_id").to_pylist(), owners.column("source_uri").to_pylist()))


def _checkpoint(todo: list[Source], wh: Warehouse, engine: Engine, opts: IngestOptions, summary: Summary,
                bar: Bar) -> dict[str, int | None]:
    """Process, write and commit one checkpoint of sources; returns the
    versions it wrote."""
    todo_uris = [s.uri for s in todo]
    computed = engine.parallelize(todo, Processor(opts), bar=bar)
    try:
        claims = computed.collect_each(claims_of)
        before, existing = committed_state(wh, todo_uris, claims)
        losers = resolve_owners(claims, existing)
        items = computed.collect_partitions(PartitionWriter(wh, losers))
    finally:
        computed.release()
    stored = {aid for c in claims for aid in c.stored if (c.source_uri, aid) not in losers}
    # a re-ingested source replaces what it produced before, even ids it no longer has
    previous = {aid for r in before for aid in r["article_ids"] or [] if existing.get(aid) == r["source_uri"]}
    article_keys = sorted(stored | previous)
    fragments: dict[str, list[str]] = {t: [] for t in COMMIT_ORDER}
    reject_ids: list[str] = []
    for kind, a, b in items:
        if kind == "fragment":
            fragments[a].append(b)
        elif kind == "count":
            summary.rows_out[a] = summary.rows_out.get(a, 0) + 1
        else:
            summary.rejected[a] = summary.rejected.get(a, 0) + 1
            reject_ids.append(b)
    replace = {
        "rejects": {"source_uri": todo_uris, "reject_id": reject_ids},
        "panels": {"article_id": article_keys},
        "figures": {"article_id": article_keys},
        "articles": {"article_id": article_keys},
        "sources": {"source_uri": todo_uris},
    }
    written = {t: wh.commit_upsert(t, fragments[t], replace_keys=replace[t]) for t in COMMIT_ORDER}
    # a concurrent ingest of the same new sources may have added the same keys
    in_sources = is_in("source_uri", todo_uris) if todo_uris else None
    in_articles = is_in("article_id", article_keys) if article_keys else None
    for t, where in (("rejects", in_sources), ("panels", in_articles), ("figures", in_articles),
                     ("articles", in_articles), ("sources", in_sources)):
        if where and wh.dedupe(t, where):
            written[t] = wh.version(t)
    return written

"""The ingest driver: plan -> process on an engine -> resolve duplicate
articles -> write fragments on the engine -> one commit per table.

Commit order is rejects, panels, figures, articles, and ``sources`` last: a
source listed in ``sources`` with its fingerprint is completely in every
table, so a re-run skips it; a source killed half-way is simply processed
again, and its rows replace (by article id) whatever part of it was committed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import pyarrow as pa

from schemas.tables import INGEST_TABLES, schema_of
from sciir_dist.engines.base import Engine
from sciir_dist.ingest.packages import Source, discover
from sciir_dist.ingest.pipeline import IngestOptions, SourceResult, process_source
from sciir_dist.progress import Summary
from sciir_dist.runs import RunRecorder
from sciir_dist.sql import is_in
from sciir_dist.warehouse import Warehouse, write_fragments

COMMIT_ORDER = ("rejects", "panels", "figures", "articles", "sources")


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
) -> Summary:
    t0 = time.monotonic()
    for t in COMMIT_ORDER:
        wh.ensure(t)
    versions_read = wh.versions(COMMIT_ORDER)
    run = RunRecorder(wh, "ingest", engine.name, dict(params or {}, inputs=inputs, format=fmt,
                                                     cluster=getattr(engine, "cluster", engine.name)))
    summary = Summary(job="ingest", run_id=run.run_id)
    try:
        sources = list(discover(inputs, fmt, opts.storage_options))
        done = {r["source_uri"]: r for r in wh.read("sources", ["source_uri", "source_fingerprint", "article_ids"]).to_pylist()}
        todo = [s for s in sources if done.get(s.uri, {}).get("source_fingerprint") != s.fingerprint]
        summary.rows_in = len(sources)
        summary.skipped = len(sources) - len(todo)
        written = dict(versions_read)
        if todo:
            written.update(_ingest(todo, done, wh, engine, opts, summary))
        summary.elapsed_s = time.monotonic() - t0
        run.finish(summary, versions_read, written)
        return summary
    except BaseException as exc:
        summary.elapsed_s = time.monotonic() - t0
        run.finish(summary, versions_read, wh.versions(COMMIT_ORDER), error=f"{type(exc).__name__}: {exc}")
        raise


def _ingest(todo: list[Source], done: dict, wh: Warehouse, engine: Engine, opts: IngestOptions,
            summary: Summary) -> dict[str, int | None]:
    computed = engine.parallelize(todo, Processor(opts), desc="ingest sources")
    try:
        claims = computed.collect_each(claims_of, desc="plan commit")
        existing = {r["article_id"]: r["source_uri"] for r in wh.read("articles", ["article_id", "source_uri"]).to_pylist()}
        losers = resolve_owners(claims, existing)
        items = computed.collect_partitions(PartitionWriter(wh, losers), desc="write fragments")
    finally:
        computed.release()
    todo_uris = sorted({s.uri for s in todo})
    stored = {aid for c in claims for aid in c.stored if (c.source_uri, aid) not in losers}
    # a re-ingested source replaces what it produced before, even ids it no longer has
    previous = {aid for uri in todo_uris for aid in (done.get(uri, {}).get("article_ids") or []) if existing.get(aid) == uri}
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

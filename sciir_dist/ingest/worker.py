"""The work of one batch of sources, the same on every engine (local, Spark,
Ray): process each source, drop the duplicate articles the batch can see
itself, write every table's rows as uncommitted Lance fragments, and report
what happened as a :class:`SourceBatchOutcome`.

A batch sees two kinds of duplicates: a claim on an article that the
warehouse already holds from another source (looked up by key at the
checkpoint's pinned version), and two of its own sources claiming the same
article (the first by URI owns it). Only a claim on an article that a source
of an *earlier batch of the same checkpoint* also claims is beyond it: the
driver (``ingest.run``) finds those from the outcomes' claims and re-runs
just the batches that stored such an article. The rule is the driver's
:func:`resolve_owners`, applied here to what the batch knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import pyarrow as pa

from schemas.tables import INGEST_TABLES, schema_of
from sciir_dist.ingest.packages import Source
from sciir_dist.ingest.pipeline import IngestOptions, SourceResult, process_source
from sciir_dist.warehouse import Warehouse, read_in, write_fragments

#: the tables a batch writes (``sources`` last, as they are committed)
OUTPUT_TABLES = (*INGEST_TABLES, "sources")

#: (source URI, article id) -> URI of the source that owns the article
Losers = dict[tuple[str, str], str]


@dataclass(frozen=True)
class IngestJob:
    """What a worker needs; picklable, so engines ship it as-is."""

    wh: Warehouse
    opts: IngestOptions
    #: ``sources`` and ``articles`` versions the checkpoint started from:
    #: every batch (and the driver) resolves duplicates against the same state
    versions: dict[str, int | None]
    #: a re-run: the driver's resolution over the whole checkpoint, which
    #: adds the losing claims the batch could not see
    losers: Losers = field(default_factory=dict)


@dataclass
class SourceBatchOutcome:
    """The typed events of one batch of sources: what the driver commits,
    and the claims it checks across batches."""

    items: int  # sources the batch held
    fragments: dict[str, list[str]] = field(default_factory=dict)  # table -> uncommitted fragment JSON
    rows: dict[str, int] = field(default_factory=dict)  # rows written per data table (rejects apart)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (reject_id, reason)
    #: source URI -> article ids it would store, in batch (URI) order; every source has an entry
    claims: dict[str, tuple[str, ...]] = field(default_factory=dict)
    losers: Losers = field(default_factory=dict)  # the claims this batch dropped
    owners: dict[str, str] = field(default_factory=dict)  # claimed article id -> committed owner
    #: article ids the batch's sources stored in an earlier run and still own:
    #: their rows are replaced even when the source no longer has them
    previous: list[str] = field(default_factory=list)


def resolve_owners(claims: Mapping[str, tuple[str, ...]], existing: Mapping[str, str]) -> Losers:
    """Each article id has one owning source: the one already in the
    warehouse, else the first claimant by URI. Returns the losing claims."""
    owner = dict(existing)
    losers: Losers = {}
    for uri in sorted(claims):
        for aid in claims[uri]:
            owner.setdefault(aid, uri)
            if owner[aid] != uri:
                losers[(uri, aid)] = owner[aid]
    return losers


def drop_duplicates(res: SourceResult, losers: Losers) -> None:
    """A losing claim's rows go; one ``duplicate_article`` reject says why."""
    dup = {aid: owner for (uri, aid), owner in losers.items() if uri == res.source.uri}
    if not dup:
        return
    for table in ("articles", "figures", "panels"):
        setattr(res, table, [r for r in getattr(res, table) if r["article_id"] not in dup])
    res.rejects = [r for r in res.rejects if r["article_id"] not in dup]
    for aid, owner in sorted(dup.items()):
        res.reject(f"{res.source.uri}#{aid}", "duplicate_article", f"article {aid} is already ingested from {owner}", aid)


class IngestWorker:
    """Built once per worker (process, Spark task, Ray actor): opens the
    pinned ``sources`` and ``articles`` versions it looks keys up in."""

    def __init__(self, job: IngestJob) -> None:
        self.job = job
        self.sources = job.wh.open("sources", job.versions["sources"])
        self.articles = job.wh.open("articles", job.versions["articles"])

    def __call__(self, batch: list[Source]) -> SourceBatchOutcome:
        results = [process_source(src, self.job.opts) for src in batch]
        out = SourceBatchOutcome(items=len(batch))
        out.claims = {r.source.uri: tuple(a["article_id"] for a in r.articles) for r in results}
        self._committed_state(out)
        out.losers = resolve_owners(out.claims, out.owners)
        out.losers.update((k, v) for k, v in self.job.losers.items() if k[0] in out.claims)
        for res in results:
            drop_duplicates(res, out.losers)
        for table in OUTPUT_TABLES:
            rows = [row for res in results for row in res.rows(table)]
            if rows:
                data = pa.Table.from_pylist(rows, schema=schema_of(table))
                out.fragments[table] = write_fragments(self.job.wh, table, data)
            if table == "rejects":
                out.rejected = [(r["reject_id"], r["reason"]) for r in rows]
            elif table != "sources" and rows:
                out.rows[table] = len(rows)
        return out

    def _committed_state(self, out: SourceBatchOutcome) -> None:
        """What resolving the batch's duplicates needs, read for its sources
        only: the committed owner of every article they claim, and the ids
        they stored before and still own (a changed package is re-ingested
        over what it stored before)."""
        before = read_in(self.sources, "source_uri", list(out.claims), ["source_uri", "article_ids"]).to_pylist()
        claimed = {aid for ids in out.claims.values() for aid in ids}
        ids = claimed | {aid for r in before for aid in r["article_ids"] or []}
        found = read_in(self.articles, "article_id", sorted(ids), ["article_id", "source_uri"])
        owners = dict(zip(found.column("article_id").to_pylist(), found.column("source_uri").to_pylist()))
        out.owners = {aid: uri for aid, uri in owners.items() if aid in claimed}
        out.previous = sorted({aid for r in before for aid in r["article_ids"] or []
                               if owners.get(aid) == r["source_uri"]})

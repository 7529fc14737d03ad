"""The warehouse: Lance tables under one root URI, and their distributed commit.

Workers (Spark tasks, Ray actors, or the local engine) call
:func:`write_fragments`, which writes data files but commits nothing and
returns JSON fragment metadata. The driver then calls
:meth:`Warehouse.commit_upsert` once per table per checkpoint: rows whose key
is being rewritten get deletion vectors and the new fragments are added, in a
single Lance transaction. A killed run therefore leaves at most orphan data
files, never half a table, and re-running replaces rows instead of adding
duplicates.

A commit costs what it changes, not what the table holds: the rows to replace
are found through BTREE scalar indexes on the key columns (created once a
table is big enough to need them, kept current with ``optimize_indices``) and
deleted by row address in the fragments that hold them (no scan). New
fragments are folded into the indexes as small delta segments, merged
tier by tier (a segment is merged only with newer ones of similar size), so
index upkeep costs what a commit adds, not what the table holds; a table
that has piled up many small fragments (one per actor batch) is compacted a
bounded slice per commit. Datasets are opened through one Lance session per
process, so a long-running driver keeps index pages and manifests cached
between its checkpoints.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.tables import TABLES, blob_columns, conform, key_of, schema_of
from sciir_dist.sql import is_in

log = logging.getLogger(__name__)

# Lance prints a WARN line for every fragment written to a table that does not
# exist yet; that is the normal first run here, not something to warn about.
os.environ.setdefault("LANCE_LOG", "error")

COMMIT_RETRIES = 8
#: below this many rows (and fragments) a key lookup scans the column; above, a BTREE index answers it
INDEX_MIN_ROWS = 20_000
INDEX_MIN_FRAGMENTS = 64
#: values per lookup filter: keeps every IN list bounded whatever a commit replaces
LOOKUP_CHUNK = 2_000
#: threads writing deletion files when a commit touches at least this many fragments
DELETE_THREADS = 8
#: compaction starts when a table holds this many small fragments (under ``SMALL_FRAGMENT_ROWS`` rows)
COMPACT_SMALL_FRAGMENTS = 128
SMALL_FRAGMENT_ROWS = 1024  # Lance's own measure of a small file (``num_small_files``)
COMPACT_TARGET_ROWS = 64 * 1024
COMPACT_MAX_BYTES = 512 * 1024 * 1024  # panels carry 1024 x 1024 PNGs: bound the file, not only the rows
#: most fragments (and rows) one maintenance pass rewrites: a table left with
#: thousands of small fragments is compacted over several commits, a bounded
#: slice each, never all in one
COMPACT_MAX_SOURCE_FRAGMENTS = COMPACT_SMALL_FRAGMENTS
COMPACT_MAX_SOURCE_ROWS = 16 * 1024
#: a fragment with this share of its rows deleted is rewritten without them
MATERIALIZE_DELETIONS = 0.1
#: index segments kept before the newest are merged regardless of size
INDEX_MAX_SEGMENTS = 24

#: caps of the process-wide Lance session's caches (Lance's own defaults are 6 GiB and 1 GiB)
SESSION_INDEX_CACHE_BYTES = 1024**3
SESSION_METADATA_CACHE_BYTES = 256 * 1024**2

_sessions: dict[int, object] = {}
_sessions_lock = threading.Lock()


def _session():
    """This process's Lance session (index and metadata caches shared by
    every dataset it opens; one per pid, as Lance state does not survive a
    fork)."""
    import lance

    with _sessions_lock:
        session = _sessions.get(os.getpid())
        if session is None:
            session = _sessions[os.getpid()] = lance.Session(index_cache_size_bytes=SESSION_INDEX_CACHE_BYTES,
                                                             metadata_cache_size_bytes=SESSION_METADATA_CACHE_BYTES)
        return session


@dataclass(frozen=True)
class Warehouse:
    """A warehouse root (local directory or object-store URI). Picklable, so
    engines ship it to workers as-is. ``storage_options`` are Lance's object
    store options (``aws_endpoint``, ``aws_region``, ...); credentials are best
    left to the environment."""

    root: str
    storage_options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        root = self.root.rstrip("/")
        if "://" not in root:
            root = os.path.abspath(os.path.expanduser(root))
        object.__setattr__(self, "root", root)

    # -- locations -------------------------------------------------------
    def uri(self, table: str) -> str:
        return f"{self.root}/{table}.lance"

    # -- reading ---------------------------------------------------------
    def exists(self, table: str) -> bool:
        try:
            self.open(table)
            return True
        except (FileNotFoundError, ValueError, OSError):
            return False

    def open(self, table: str, version: int | None = None):
        import lance

        return lance.dataset(self.uri(table), version=version, storage_options=self.storage_options or None,
                             session=_session())

    def version(self, table: str) -> int | None:
        try:
            return self.open(table).version
        except (FileNotFoundError, ValueError, OSError):
            return None

    def list_tables(self) -> list[str]:
        """Every Lance table under the root, declared or not (plug-in stages' tables)."""
        import fsspec

        fs, path = fsspec.core.url_to_fs(self.root, **self.storage_options)
        try:
            entries = fs.ls(path, detail=False)
        except FileNotFoundError:
            return []
        return sorted(e.rstrip("/").rsplit("/", 1)[-1][: -len(".lance")] for e in entries if e.rstrip("/").endswith(".lance"))

    def versions(self, tables: Iterable[str]) -> dict[str, int | None]:
        return {t: self.version(t) for t in tables}

    def count(self, table: str, where: str | None = None) -> int:
        if not self.exists(table):
            return 0
        return self.open(table).count_rows(filter=where)

    def read(self, table: str, columns: list[str] | None = None, where: str | None = None) -> pa.Table:
        """Scan a table without blob columns unless they are asked for."""
        schema = schema_of(table) if table in TABLES else None
        if not self.exists(table):
            return (schema or pa.schema([])).empty_table().select(columns or (schema.names if schema else []))
        ds = self.open(table)
        if columns is None:
            blobs = self.blob_columns(table)
            columns = [n for n in ds.schema.names if n not in blobs]
        return ds.to_table(columns=columns, filter=where)

    def blob_columns(self, table: str) -> set[str]:
        """Columns holding image bytes: declared blobs, and Lance blob types
        (whose field metadata Lance may not hand back)."""
        schema = self.open(table).schema
        declared = blob_columns(schema_of(table)) if table in TABLES else []
        return set(declared) | set(blob_columns(schema)) | {f.name for f in schema if "blob" in str(f.type)}

    def read_blob(self, table: str, column: str, where: str) -> list[bytes]:
        ds = self.open(table)
        ids = ds.to_table(columns=[], filter=where, with_row_id=True).column("_rowid").to_pylist()
        if not ids:
            return []
        return [b.read() for b in ds.take_blobs(column, ids=ids)]

    # -- writing ---------------------------------------------------------
    def ensure(self, table: str, schema: pa.Schema | None = None):
        """Open ``table``, creating it empty if missing. Creation uses Lance's
        ``create`` mode, which fails rather than overwrites when a concurrent
        job created it first; then we simply open theirs. A table written by
        an older release gets the declared columns it lacks (all null)."""
        import lance

        try:
            declared = schema or (schema_of(table) if table in TABLES else None)
            return self._evolve(self.open(table), declared)
        except (FileNotFoundError, ValueError, OSError):
            pass
        try:
            return lance.write_dataset(
                (schema or schema_of(table)).empty_table(), self.uri(table), mode="create",
                storage_options=self.storage_options or None, session=_session(),
            )
        except (OSError, ValueError) as exc:
            if self.exists(table):
                return self.open(table)
            raise exc

    @staticmethod
    def _evolve(ds, schema: pa.Schema | None):
        """Add the declared columns ``ds`` lacks: a schema-only commit (no
        data rewritten) that workers' fragments with the new columns need."""
        missing = [f for f in schema or [] if f.name not in ds.schema.names]
        if missing:
            ds.add_columns(pa.schema(missing))
        return ds

    def commit_upsert(
        self,
        table: str,
        fragments: list[str],
        *,
        replace_keys: dict[str, list[str]] | None = None,
        maintain: bool = True,
    ) -> int | None:
        """Commit worker-written fragments in one transaction (then
        :meth:`maintain` the table unless told not to).

        ``replace_keys`` maps a column to values whose existing rows are
        superseded by this commit (by default the table key of the new rows
        is not known here, so callers pass it). Conflicting concurrent commits
        are retried on the new version with deletions re-planned, so a
        concurrent append is never lost.
        """
        import lance
        from lance.fragment import FragmentMetadata

        frags = [FragmentMetadata.from_json(f) for f in fragments]
        replace_keys = {c: sorted(set(v)) for c, v in (replace_keys or {}).items() if v}
        if not frags and not replace_keys:
            return self.version(table)
        so = self.storage_options or None
        for attempt in range(COMMIT_RETRIES):
            try:
                ds = self.ensure(table)
                updated, removed = _plan_deletions(ds, replace_keys)
                if not updated and not removed:
                    if not frags:
                        return ds.version
                    op = lance.LanceOperation.Append(frags)
                else:
                    op = lance.LanceOperation.Update(
                        removed_fragment_ids=removed, updated_fragments=updated, new_fragments=frags
                    )
                # committing through the opened dataset keeps its session: maintenance reads warm caches
                ds = lance.LanceDataset.commit(ds, op, read_version=ds.version, storage_options=so)
                break
            except Exception as exc:  # noqa: BLE001 - lance raises several types for conflicts
                if not _is_conflict(exc) or attempt == COMMIT_RETRIES - 1:
                    raise
                delay = min(5.0, 0.1 * 2**attempt) * (0.5 + random.random())
                log.warning("commit conflict on %s (attempt %d), re-planning: %s", table, attempt + 1, exc)
                time.sleep(delay)
        return (self.maintain(table, list(replace_keys), ds=ds) if maintain else None) or ds.version

    def maintain(self, table: str, key_columns: Iterable[str] = (), *, ds=None) -> int | None:
        """Keep lookups and scans cheap as a table grows: BTREE indexes on the
        columns commits look rows up by (created past ``INDEX_MIN_ROWS``, then
        given the new fragments as delta segments), and compaction of a
        bounded slice of the small fragments once many accumulated. ``ds``: the
        dataset as just committed (saves an open). Best effort: a concurrent
        writer's commit wins, and the next commit tries again. Returns the new
        version, if any."""
        ds = ds if ds is not None else self.open(table)
        columns = {key_of(table)} if table in TABLES else set()
        columns |= set(key_columns)
        try:
            changed = _index_keys(ds, sorted(c for c in columns if c in ds.schema.names))
            if ds.stats.dataset_stats(SMALL_FRAGMENT_ROWS)["num_small_files"] >= COMPACT_SMALL_FRAGMENTS:
                changed = _compact_slice(ds) or changed
        except Exception as exc:  # noqa: BLE001
            if not _is_conflict(exc):
                raise
            log.info("maintenance of %s skipped (a concurrent commit won): %s", table, exc)
            return None
        return ds.version if changed else None  # the dataset object follows its own commits

    def dedupe(self, table: str, where: str | None = None) -> int:
        """Delete all but the newest row of every key that occurs more than
        once (rows matching ``where``). Two jobs that add the same *new* key
        at the same moment both succeed (neither had a row to replace); this
        repair runs after such commits. Returns the rows deleted."""
        if not self.exists(table):
            return 0
        key = key_of(table)
        ds = self.open(table)
        keys = ds.to_table(columns=[key], filter=where, with_row_address=True)
        if keys.num_rows == len(pc.unique(keys.column(key))):
            return 0
        newest = keys.group_by(key).aggregate([("_rowaddr", "max"), ("_rowaddr", "count")])
        dup_keys = newest.filter(pc.greater(newest["_rowaddr_count"], 1))
        keep = set(dup_keys["_rowaddr_max"].to_pylist())
        stale = [
            a for k, a in zip(keys.column(key).to_pylist(), keys.column("_rowaddr").to_pylist())
            if a not in keep and k in set(dup_keys[key].to_pylist())
        ]
        for i in range(0, len(stale), 5000):
            ds.delete("_rowaddr IN (" + ", ".join(str(a) for a in stale[i : i + 5000]) + ")")
        log.warning("removed %d duplicate rows from %s (concurrent writers added the same keys)", len(stale), table)
        return len(stale)

    def upsert(self, table: str, data: pa.Table) -> int | None:
        """Driver-side upsert of a small table (runs rows, tests)."""
        self.ensure(table)
        frags = write_fragments(self, table, data)
        return self.commit_upsert(table, frags, replace_keys={key_of(table): data.column(key_of(table)).to_pylist()})


def write_fragments(wh: Warehouse, table: str, data: pa.Table | Iterable[pa.RecordBatch],
                    schema: pa.Schema | None = None) -> list[str]:
    """Write data files for ``table`` without committing; returns fragment
    metadata as JSON strings (safe to send through Spark/Ray to the driver).
    ``schema`` overrides the declared one (tables whose vector width depends
    on the model)."""
    from lance.fragment import write_fragments as lance_write

    schema = schema or schema_of(table)
    if isinstance(data, pa.Table):
        data = conform(data, schema)
        if data.num_rows == 0:
            return []
        reader = data
    else:
        batches = (conform(pa.Table.from_batches([b]), schema).to_batches() for b in data)
        reader = pa.RecordBatchReader.from_batches(schema, (b for bs in batches for b in bs))
    frags = lance_write(
        reader,
        wh.uri(table),
        schema=schema,
        max_rows_per_file=COMPACT_TARGET_ROWS,
        storage_options=wh.storage_options or None,
    )
    return [json.dumps(f.to_json()) for f in frags]


def read_in(ds, column: str, values: list[str], columns: list[str], **scan) -> pa.Table:
    """Rows of the Lance dataset ``ds`` whose ``column`` is one of
    ``values``, through IN filters of at most ``LOOKUP_CHUNK`` values (no
    values: no rows)."""
    chunks = [values[i:i + LOOKUP_CHUNK] for i in range(0, len(values), LOOKUP_CHUNK)] or [[]]
    return pa.concat_tables(ds.to_table(columns=columns, filter=is_in(column, c), **scan) for c in chunks)


def _plan_deletions(ds, replace_keys: dict[str, list[str]]):
    """Deletion vectors for rows matching ``replace_keys``: their row
    addresses come from a filtered scan (index-backed on big tables), and only
    the fragments holding them are touched, by row offset (no predicate to
    evaluate over the fragment). A change spread over many fragments writes
    their deletion files side by side."""
    addresses = [read_in(ds, c, values, [], with_row_address=True).column("_rowaddr").to_numpy()
                 for c, values in replace_keys.items() if values]
    found = np.unique(np.concatenate(addresses)) if addresses else np.empty(0, np.uint64)  # sorted
    if not len(found):
        return [], []
    fragment_of, offset_of = found >> np.uint64(32), found & np.uint64(0xFFFFFFFF)  # fragment << 32 | offset
    starts = np.flatnonzero(np.diff(fragment_of)) + 1
    groups = list(zip(fragment_of[np.r_[0, starts]].tolist(), np.split(offset_of, starts)))

    def delete(group):
        fid, offsets = group
        return fid, ds.get_fragment(fid).delete_rows(offsets.tolist())

    if len(groups) < DELETE_THREADS:
        results = [delete(g) for g in groups]
    else:
        with ThreadPoolExecutor(DELETE_THREADS) as pool:  # each is a small file write: I/O, not CPU
            results = list(pool.map(delete, groups))
    return [meta for _, meta in results if meta is not None], [fid for fid, meta in results if meta is None]


def _compact_slice(ds) -> bool:
    """Compact the oldest small fragments (and fragments with many deleted
    rows), at most ``COMPACT_MAX_SOURCE_FRAGMENTS`` fragments and about
    ``COMPACT_MAX_SOURCE_ROWS`` rows: the rest are excluded from Lance's plan,
    whose own limits count whole tasks (one task can hold thousands of tiny
    fragments). Merged fragments are no longer small, so the next pass takes
    the next slice. True when a version was committed."""
    chosen, rows, excluded = 0, 0, []
    for frag in ds.get_fragments():
        meta = frag.metadata
        wanted = meta.physical_rows < SMALL_FRAGMENT_ROWS or meta.num_deletions > MATERIALIZE_DELETIONS * meta.physical_rows
        if wanted and chosen < COMPACT_MAX_SOURCE_FRAGMENTS and rows < COMPACT_MAX_SOURCE_ROWS:
            chosen += 1
            rows += meta.num_rows
        else:
            excluded.append(frag.fragment_id)
    if not chosen:
        return False
    before = ds.version
    ds.optimize.compact_files(target_rows_per_fragment=COMPACT_TARGET_ROWS, max_bytes_per_file=COMPACT_MAX_BYTES,
                              materialize_deletions=True, materialize_deletions_threshold=MATERIALIZE_DELETIONS,
                              excluded_fragment_ids=excluded)
    return ds.version != before


def _btree_indexes(ds) -> dict[str, str]:
    """column -> name of its BTREE index."""
    return {d.field_names[0]: d.name for d in ds.describe_indices() if "BTree" in d.type_url and len(d.field_names) == 1}


def _index_keys(ds, columns: list[str]) -> bool:
    """Create missing key indexes on a big table, and fold new fragments into
    the existing ones (:func:`_segments_to_merge`). True when a version was
    committed."""
    indexed = _btree_indexes(ds)
    changed = False
    if ds.count_rows() >= INDEX_MIN_ROWS or len(ds.get_fragments()) >= INDEX_MIN_FRAGMENTS:
        for col in (c for c in columns if c not in indexed):
            ds.create_scalar_index(col, "BTREE")
            changed = True
        indexed = _btree_indexes(ds) if changed else indexed
    for name in indexed.values():
        stats = ds.stats.index_stats(name)
        if stats["num_unindexed_fragments"]:
            merge = _segments_to_merge(stats["num_indexed_rows_per_delta"], stats["num_unindexed_rows"])
            ds.optimize.optimize_indices(index_names=[name], num_indices_to_merge=merge)
            changed = True
    return changed


def _segments_to_merge(segment_rows: list[int], new_rows: int) -> int:
    """How many of the newest index segments (``segment_rows``: oldest
    first) to rewrite together with ``new_rows`` unindexed rows. A segment is
    merged once the newer rows reach its size, so segments grow geometrically
    (at most about log2 of the table's commits) and every row is rewritten
    O(log n) times over the table's life: a commit pays for what it adds, not
    a rewrite of the whole index. 0: a new delta segment."""
    merged, take = new_rows, 0
    for rows in reversed(segment_rows):
        if merged < rows and len(segment_rows) - take < INDEX_MAX_SEGMENTS:
            break
        merged += rows
        take += 1
    return take


def _is_conflict(exc: Exception) -> bool:
    name = type(exc).__name__
    text = str(exc).lower()
    return "conflict" in name.lower() or "conflict" in text or "retryable" in text or "concurrent" in text

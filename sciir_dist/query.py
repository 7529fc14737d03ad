"""Reading the warehouse: table queries (Lance filter pushdown), SQL over
all tables (DuckDB), stats, and panel images."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from schemas.tables import STAGE_TABLES, TABLES
from sciir_dist.sql import is_in, literal
from sciir_dist.warehouse import Warehouse


def table_names(wh: Warehouse) -> list[str]:
    return [t for t in TABLES if wh.exists(t)]


def stage_tables(wh: Warehouse) -> list[str]:
    """Per-panel stage outputs in this warehouse: the declared ones, and any
    other table keyed by panel_id (a plug-in stage's, even when the plug-in is
    not loaded in this process)."""
    found = [t for t in STAGE_TABLES if wh.exists(t)]
    return found + [t for t in wh.list_tables()
                    if t not in TABLES and t not in found and "panel_id" in wh.open(t).schema.names]


def query(wh: Warehouse, table: str, where: str | None = None, columns: list[str] | None = None,
          limit: int | None = None) -> pa.Table:
    if table == "panels" and stage_tables(wh):
        return _panels_with_stages(wh, where, columns, limit)
    if not wh.exists(table):
        raise ValueError(f"no table {table!r} in {wh.root} (have: {', '.join(table_names(wh)) or 'none'})")
    ds = wh.open(table)
    blobs = wh.blob_columns(table)
    if columns:
        unknown = [c for c in columns if c not in ds.schema.names]
        if unknown:
            raise ValueError(f"unknown column(s) {unknown} in {table}; columns: {ds.schema.names}")
        asked_blobs = [c for c in columns if c in blobs]
        if asked_blobs:
            raise ValueError(f"{asked_blobs} hold image bytes; use `sciir show` to export an image")
    else:
        columns = [n for n in ds.schema.names if n not in blobs]
    return ds.to_table(columns=columns, filter=where, limit=limit)


VECTOR_COLUMNS = ("image_embedding", "text_embedding")


def _panels_with_stages(wh: Warehouse, where: str | None, columns: list[str] | None, limit: int | None,
                        extra: pa.Table | None = None, order_by: str | None = None) -> pa.Table:
    """`panels` with every curation stage's output joined on panel_id (and the
    article's discipline on article_id). Vectors only when asked for by name.
    ``extra`` (panel_id + columns) is inner-joined, e.g. search similarities."""
    import duckdb

    con = duckdb.connect()
    con.register("p", wh.read("panels"))
    select, joins = ["p.*"], []
    for i, t in enumerate(stage_tables(wh)):
        wanted = [c for c in wh.open(t).schema.names if c not in VECTOR_COLUMNS or c in (columns or ())]
        stage = wh.read(t, wanted)
        con.register(f"s{i}", stage)
        select += [f's{i}."{c}"' for c in stage.column_names if c not in ("panel_id", "sha256")]
        joins.append(f"LEFT JOIN s{i} USING (panel_id)")
    if wh.exists("article_discipline"):
        con.register("d", wh.read("article_discipline", ["article_id", "discipline", "discipline_source"]))
        select += ["d.discipline", "d.discipline_source"]
        joins.append("LEFT JOIN d USING (article_id)")
    if extra is not None:
        con.register("x", extra)
        select += [f'x."{c}"' for c in extra.column_names if c != "panel_id"]
        joins.append("JOIN x USING (panel_id)")
    view = f"SELECT {', '.join(select)} FROM p {' '.join(joins)}"
    cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    q = (f"SELECT {cols} FROM ({view}) AS panels" + (f" WHERE {where}" if where else "")
         + (f" ORDER BY {order_by}" if order_by else "") + (f" LIMIT {int(limit)}" if limit else ""))
    try:
        return con.sql(q).to_arrow_table()
    except duckdb.Error as exc:
        raise ValueError(f"bad query on panels: {exc}") from None


#: a --where narrower than this many panels is pushed into the vector search
PREFILTER_MAX = 100_000


def near(wh: Warehouse, *, text: str | None = None, image: bytes | None = None, where: str | None = None,
         columns: list[str] | None = None, limit: int = 10) -> pa.Table:
    """Panels closest to a text or an image, best first, with ``similarity``
    (cosine). Images are embedded with the tower that filled the table; text
    goes through open_clip's text tower when the table holds open_clip
    vectors, else it is matched against caption vectors (MiniLM)."""
    import io

    from PIL import Image

    from sciir_dist.stages.embed import clip_settings_of, load_image_encoder
    from sciir_dist.vectors import ensure_index, nearest

    if (text is None) == (image is None):
        raise ValueError("give exactly one of --near-text and --near-image")
    if not wh.exists("panel_embeddings") or not wh.count("panel_embeddings"):
        raise ValueError("no embeddings yet: run `sciir curate --stages embed` first")
    models = set(wh.read("panel_embeddings", ["image_model"])["image_model"].to_pylist())
    if len(models) > 1:
        raise ValueError(f"panel_embeddings mixes image models {sorted(models)}: re-run embed with one of them")
    clip = clip_settings_of(models.pop())
    if image is not None:
        column, vec = "image_embedding", load_image_encoder(clip).encode_images([Image.open(io.BytesIO(image))])[0]
    elif clip is not None:
        column, vec = "image_embedding", load_image_encoder(clip).encode_texts([text])[0]
    else:
        from sciir_dist.backends.minilm import shared

        column, vec = "text_embedding", shared().encode([text])[0]
    prefilter, k = None, limit
    if where:
        allowed = _panels_with_stages(wh, where, ["panel_id"], None)["panel_id"].to_pylist()
        if len(allowed) <= PREFILTER_MAX:
            prefilter = is_in("panel_id", allowed)
        else:
            k = limit * 20
    ensure_index(wh, "panel_embeddings", column)
    hits = nearest(wh, "panel_embeddings", column, vec, k, prefilter, ["panel_id"])
    scores = pa.table({"panel_id": hits["panel_id"],
                       "similarity": pc.subtract(1.0, hits["_distance"].cast(pa.float64())),
                       "matched_on": pa.array([column] * hits.num_rows)})
    return _panels_with_stages(wh, where, (["similarity", "matched_on", *columns] if columns else None), limit,
                               extra=scores, order_by="similarity DESC")


def sql(wh: Warehouse, statement: str) -> pa.Table:
    """DuckDB over the warehouse tables (image bytes are left out)."""
    import duckdb

    con = duckdb.connect()
    try:
        referenced = set(con.get_table_names(statement))
    except duckdb.Error:
        referenced = set(table_names(wh))
    for name in table_names(wh):
        if name in referenced:
            con.register(name, wh.read(name))
    return con.sql(statement).to_arrow_table()


def stats(wh: Warehouse) -> dict:
    out: dict = {"root": wh.root, "tables": {}, "rejects_by_reason": {}}
    for name in table_names(wh):
        ds = wh.open(name)
        out["tables"][name] = {"rows": ds.count_rows(), "version": ds.version}
    if wh.exists("rejects"):
        reasons = wh.read("rejects", ["stage", "reason"])
        if reasons.num_rows:
            counts = pc.value_counts(pc.binary_join_element_wise(reasons["stage"], reasons["reason"], ":"))
            out["rejects_by_reason"] = dict(
                sorted(((v["values"].as_py(), v["counts"].as_py()) for v in counts), key=lambda kv: -kv[1])
            )
    return out


def panel_png(wh: Warehouse, panel_id: str) -> bytes:
    blobs = wh.read_blob("panels", "image", f"panel_id = {literal(panel_id)}")
    if not blobs:
        raise KeyError(f"no panel {panel_id!r}")
    return blobs[0]


def to_text(table: pa.Table, fmt: str) -> str:
    """Render for the CLI: json (one object per line), csv, or a rich table."""
    if fmt == "json":
        return "\n".join(json.dumps(r, default=str, ensure_ascii=False) for r in table.to_pylist())
    if fmt == "csv":
        import io

        import pyarrow.csv as pacsv

        flat = pa.table({n: _flat(c) for n, c in zip(table.column_names, table.columns)})
        buf = io.BytesIO()
        pacsv.write_csv(flat, buf)
        return buf.getvalue().decode()
    raise ValueError(fmt)


def _flat(col: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    if pa.types.is_list(col.type) or pa.types.is_struct(col.type) or pa.types.is_large_list(col.type):
        return pa.array([None if v is None else json.dumps(v, default=str) for v in col.to_pylist()], pa.string())
    return col

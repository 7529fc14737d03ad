"""The training split (SPEC §7): dedup representatives that no benchmark
sample leaks into, labelled (not ``low_reasoning``), not selected for a
benchmark, with no text that near-duplicates a benchmark prompt
(``panel_contamination``, `sciir bench contamination`), and under an allowed
license. Each row carries what training and exports need: the text
(abstract prompt, else the sub-caption or caption), Sci-RCoT, license, DOI
and attribution. A stable hash of the panel id puts a share of the rows in
the held-out split."""

from __future__ import annotations

import hashlib

import pandas as pd

from sciir_dist.sql import is_in
from sciir_dist.warehouse import Warehouse

DEFAULT_LICENSES = ("CC-BY-4.0",)
NEEDS = {
    "panels": ("panel_id", "article_id", "figure_id", "sub_caption"),
    "panel_dedup": ("panel_id", "dup_of", "bench_leak"),
    "panel_classify": ("panel_id", "labels", "low_reasoning"),
    "articles": ("article_id", "doi", "title", "license", "license_url", "source_uri"),
    "figures": ("figure_id", "label", "caption"),
}


class SplitError(ValueError):
    """The warehouse cannot give a training split; the message names what is missing."""


def heldout(panel_id: str, percent: int) -> bool:
    return int(hashlib.sha256(panel_id.encode()).hexdigest()[:8], 16) % 100 < percent


def training_split(wh: Warehouse, licenses: tuple[str, ...] = DEFAULT_LICENSES, heldout_percent: int = 10) -> pd.DataFrame:
    import duckdb

    for table, cols in NEEDS.items():
        if not wh.exists(table):
            raise SplitError(f"the training split needs table {table!r}: run "
                             + ("`sciir ingest`" if table in ("panels", "articles", "figures")
                                else f"`sciir curate --stages {table.split('_')[1]}`") + " first")
        missing = [c for c in cols if c not in wh.open(table).schema.names]
        if missing:
            raise SplitError(f"table {table!r} lacks column(s) {missing} the training split needs")
    con = duckdb.connect()
    for table, cols in NEEDS.items():
        con.register(table, wh.read(table, list(cols)))
    ann_cols = ("panel_id", "abstract_prompt", "sci_rcot", "reasoning", "rendered_text", "retained_text")
    con.register("ann", wh.read("panel_annotations", list(ann_cols)))  # empty (typed) before annotate ran
    bench = wh.read("bench_samples", ["source"])  # empty (typed) when no benchmark exists
    con.register("bench", bench)
    con.register("contaminated", wh.read("panel_contamination", ["panel_id"], where="contaminated"))
    rows = con.sql(f"""
        SELECT p.panel_id, p.article_id, c.labels, a.doi, a.title AS article_title, a.license, a.license_url,
               a.source_uri, f.label AS figure_label,
               coalesce(n.abstract_prompt, p.sub_caption, f.caption) AS text,
               CASE WHEN n.abstract_prompt IS NOT NULL THEN 'abstract_prompt'
                    WHEN p.sub_caption IS NOT NULL THEN 'sub_caption' ELSE 'caption' END AS text_source,
               n.sci_rcot, n.abstract_prompt, n.reasoning, n.rendered_text, n.retained_text
        FROM panels p
        JOIN panel_dedup d USING (panel_id)
        JOIN panel_classify c USING (panel_id)
        JOIN articles a USING (article_id)
        JOIN figures f USING (figure_id)
        LEFT JOIN ann n USING (panel_id)
        WHERE d.dup_of IS NULL AND NOT coalesce(d.bench_leak, false) AND NOT c.low_reasoning
          AND {is_in("a.license", licenses)}
          AND p.panel_id NOT IN (SELECT source FROM bench WHERE source IS NOT NULL)
          AND p.panel_id NOT IN (SELECT panel_id FROM contaminated)
          AND coalesce(n.abstract_prompt, p.sub_caption, f.caption) IS NOT NULL
        ORDER BY p.panel_id""").df()
    rows["heldout"] = [heldout(p, heldout_percent) for p in rows["panel_id"]]
    return rows

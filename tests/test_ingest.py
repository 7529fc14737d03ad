"""End-to-end ingest on real Spark and Lance: manifest expectations, engine
equivalence, idempotent re-runs, updates by key, duplicate articles."""

from __future__ import annotations

import shutil

import pyarrow.compute as pc
import pytest

from schemas.tables import key_of
from sciir_dist.engines.local import LocalEngine
from sciir_dist.ingest.run import run_ingest
from sciir_dist.warehouse import Warehouse

DATA_TABLES = ("articles", "figures", "panels", "rejects", "sources")


def snapshot(wh: Warehouse) -> dict:
    out = {}
    for t in DATA_TABLES:
        table = wh.read(t)
        out[t] = table.sort_by(key_of(t)).to_pylist()
    return out


def test_expected_rejects_and_ingested_items(spark_warehouse, manifest):
    wh, summary = spark_warehouse
    rejects = {(r["item"], r["reason"]) for r in wh.read("rejects").to_pylist()}
    for e in manifest["expected_rejects"]:
        assert (e["item"], e["reason"]) in rejects, e
    figures = set(wh.read("figures", ["figure_id"]).column("figure_id").to_pylist())
    for f in manifest["figures"]:
        assert (f["figure_id"] in figures) == (f["expected"] == "ingest"), f["figure_id"]
    articles = set(wh.read("articles", ["article_id"]).column("article_id").to_pylist())
    for a in manifest["articles"]:
        assert (a["article_id"] in articles) == (a["license"] == "CC-BY-4.0"), a
    assert summary.rows_out["panels"] == wh.count("panels")


def test_ids_unique_and_panels_well_formed(spark_warehouse):
    wh, _ = spark_warehouse
    for t in DATA_TABLES:
        keys = wh.read(t, [key_of(t)]).column(key_of(t))
        assert pc.count_distinct(keys).as_py() == len(keys), t
    panels = wh.read("panels")
    figures = {r["figure_id"]: r for r in wh.read("figures").to_pylist()}
    for p in panels.to_pylist():
        x0, y0, x1, y1 = p["bbox"]
        f = figures[p["figure_id"]]
        assert 0 <= x0 < x1 <= f["width"] and 0 <= y0 < y1 <= f["height"]
        assert p["article_id"] == f["article_id"]
    png = wh.read_blob("panels", "image", f"panel_id = '{panels['panel_id'][0].as_py()}'")[0]
    import hashlib

    assert hashlib.sha256(png).hexdigest() == panels["sha256"][0].as_py()


def test_local_engine_gives_identical_tables(spark_warehouse, corpus, local_engine, tmp_path):
    wh_spark, _ = spark_warehouse
    wh_local = Warehouse(str(tmp_path / "wh-local"))
    run_ingest([str(corpus)], wh_local, local_engine)
    assert snapshot(wh_local) == snapshot(wh_spark)


def test_ray_engine_gives_identical_tables(spark_warehouse, corpus, ray_local, tmp_path):
    """Ingest is not tied to Spark: the same driver on Ray tasks (checkpoints
    of 10 sources) writes the same tables."""
    from sciir_dist.engines.base import make_engine

    wh_spark, _ = spark_warehouse
    wh_ray = Warehouse(str(tmp_path / "wh-ray"))
    summary = run_ingest([str(corpus)], wh_ray, make_engine("ray"), commit_every=10, progress=False)
    assert snapshot(wh_ray) == snapshot(wh_spark)
    assert wh_ray.read("runs").to_pylist()[-1]["engine"] == "ray" and summary.rows_in > 10


def test_second_run_changes_nothing(spark_warehouse, corpus, spark_engine):
    wh, _ = spark_warehouse
    before = wh.versions(DATA_TABLES)
    runs_before = wh.count("runs")
    summary = run_ingest([str(corpus)], wh, spark_engine)
    assert summary.skipped == summary.rows_in
    assert wh.versions(DATA_TABLES) == before  # no commit at all
    assert wh.count("runs") == runs_before + 1
    last = wh.read("runs", where="status = 'succeeded'").sort_by([("ended_at", "descending")]).to_pylist()[0]
    assert last["job"] == "ingest" and last["rows_in"] == summary.rows_in


def test_changed_package_updates_by_key(copy_corpus, manifest, local_engine, tmp_path):
    wh = Warehouse(str(tmp_path / "wh"))
    run_ingest([str(copy_corpus)], wh, local_engine)
    before = snapshot(wh)
    art = next(a for a in manifest["articles"] if a["license"] == "CC-BY-4.0" and not a["archive"])
    xml = next((copy_corpus / art["source"]).glob("*.nxml"))
    xml.write_text(xml.read_text().replace("<article-title>", "<article-title>Revised: "))
    summary = run_ingest([str(copy_corpus)], wh, local_engine)
    assert summary.rows_in - summary.skipped == 1
    after = snapshot(wh)
    for t in ("figures", "panels", "rejects"):
        assert after[t] == before[t], t  # same keys, same rows: replaced, not duplicated
    titles = {r["article_id"]: r["title"] for r in after["articles"]}
    assert titles[art["article_id"]].startswith("Revised: ")
    assert len(after["articles"]) == len(before["articles"])


@pytest.mark.parametrize("commit_every", [1000, 8], ids=["one-checkpoint", "twin-in-a-later-checkpoint"])
def test_same_doi_in_two_packages_is_ingested_once(commit_every, copy_corpus, manifest, local_engine, tmp_path):
    """The first claimant by URI owns an article, whether its twin is in the
    same checkpoint or a later one (``zz-mirror`` sorts last)."""
    art = next(a for a in manifest["articles"] if a["license"] == "CC-BY-4.0" and not a["archive"])
    twin = copy_corpus / "zz-mirror" / art["source"]
    shutil.copytree(copy_corpus / art["source"], twin)
    wh = Warehouse(str(tmp_path / "wh"))
    summary = run_ingest([str(copy_corpus)], wh, local_engine, commit_every=commit_every)
    arts = wh.read("articles", ["article_id", "source_uri"]).to_pylist()
    assert [a["source_uri"] for a in arts if a["article_id"] == art["article_id"]] == [str(copy_corpus / art["source"])]
    dup = wh.read("rejects", where="reason = 'duplicate_article'").to_pylist()
    assert len(dup) == 1 and dup[0]["source_uri"] == str(twin)
    assert summary.rejected["duplicate_article"] == 1
    ids = wh.read("panels", ["panel_id"]).column("panel_id")
    assert pc.count_distinct(ids).as_py() == len(ids)
    # the twin ingested alone later still loses to the committed owner
    summary2 = run_ingest([str(twin)], wh, local_engine)
    assert summary2.skipped == 1  # already processed (as a duplicate)
    assert len(wh.read("rejects", where="reason = 'duplicate_article'")) == 1


class RecordingEngine(LocalEngine):
    """The local engine, noting the source URIs of every batch it runs."""

    def __init__(self) -> None:
        self.calls: list[list[list[str]]] = []

    def map_batches(self, make_worker, batches, **resources):
        self.calls.append([[s.uri for s in b] for b in batches])
        return super().map_batches(make_worker, batches, **resources)


def test_duplicates_across_batches_rerun_only_the_batch_that_lost(copy_corpus, manifest, tmp_path):
    """One checkpoint, a source per batch: a twin of a new article in a later
    batch than its owner (only the driver sees both claims: that batch alone
    runs again), and a twin of an article committed by an earlier run (its
    batch drops it by itself: processed once). Owners, rejects and tables
    are those of one run where every claim meets in a single batch."""
    by_source = {a["source"]: a for a in manifest["articles"] if a["license"] == "CC-BY-4.0" and not a["archive"]}
    new, old = by_source["PMC903001"], by_source["PMC903000"]
    held = tmp_path / "held"
    shutil.move(copy_corpus / new["source"], held)
    wh = Warehouse(str(tmp_path / "wh"))
    run_ingest([str(copy_corpus)], wh, LocalEngine(), progress=False)
    shutil.move(held, copy_corpus / new["source"])
    for art in (new, old):
        shutil.copytree(copy_corpus / art["source"], copy_corpus / "zz-mirror" / art["source"])
    owner_new, twin_old, twin_new = (str(copy_corpus / p) for p in (new["source"], f"zz-mirror/{old['source']}",
                                                                    f"zz-mirror/{new['source']}"))
    engine = RecordingEngine()
    summary = run_ingest([str(copy_corpus)], wh, engine, batch_size=1, progress=False)
    assert engine.calls == [[[owner_new], [twin_old], [twin_new]], [[twin_new]]]
    owners = {r["article_id"]: r["source_uri"] for r in wh.read("articles", ["article_id", "source_uri"]).to_pylist()}
    assert owners[new["article_id"]] == owner_new and owners[old["article_id"]] == str(copy_corpus / old["source"])
    dup = {r["source_uri"]: r for r in wh.read("rejects", where="reason = 'duplicate_article'").to_pylist()}
    assert set(dup) == {twin_old, twin_new} and summary.rejected["duplicate_article"] == 2
    assert dup[twin_new]["detail"] == f"article {new['article_id']} is already ingested from {owner_new}"
    assert summary.rows_out["articles"] == 1  # the re-run batch is counted once, without the article it lost

    reference = Warehouse(str(tmp_path / "wh-one-batch"))
    single = RecordingEngine()
    run_ingest([str(copy_corpus)], reference, single, batch_size=1000, progress=False)
    assert len(single.calls) == 1  # every claim in one batch: nothing to re-run
    assert snapshot(wh) == snapshot(reference)

"""Issue 12 item 6: every value that reaches a filter goes through
sciir_dist.sql; quotes, backslashes and unicode in model names, sample ids
and paths neither break a query nor match the wrong rows (Lance on disk,
DuckDB, and the ingest and judge jobs end to end)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from schemas.tables import REJECTS
from sciir_dist.sql import eq, is_in, literal, literal_list
from sciir_dist.warehouse import Warehouse

NASTY = ["it's", "O''Brien", "back\\slash", "trail\\", "\\'", "naïve — ünïcødé 图", "a'; DELETE FROM x; --",
         "percent % and _under", 'double "quoted"', "it's"[:-2]]


def test_literal_types():
    assert literal("it's") == "'it''s'"
    assert literal(None) == "NULL" and literal(True) == "TRUE" and literal(3) == "3" and literal(0.5) == "0.5"
    assert is_in("c", []) == "false" and is_in("c", ["a", "b'"]) == "c IN ('a', 'b''')"
    with pytest.raises(TypeError):
        literal(["a"])
    with pytest.raises(ValueError, match="NUL"):
        literal("a\x00b")


def test_lance_filters_match_exactly_the_row_named(tmp_path):
    wh = Warehouse(str(tmp_path / "wh"))
    rows = [{"reject_id": f"r{i}", "item": v, "stage": v, "reason": "x", "detail": None, "article_id": None,
             "source_uri": f"/data/{v}/pkg.tar.gz"} for i, v in enumerate(NASTY)]
    wh.upsert("rejects", pa.Table.from_pylist(rows, schema=REJECTS))
    for i, v in enumerate(NASTY):
        got = wh.read("rejects", ["reject_id"], where=eq("item", v)).column("reject_id").to_pylist()
        assert got == [f"r{i}"], v
        assert wh.count("rejects", eq("source_uri", f"/data/{v}/pkg.tar.gz")) == 1
    assert wh.count("rejects", is_in("stage", NASTY[:4])) == 4
    wh.open("rejects").delete(is_in("item", ["trail\\", "\\'"]))
    assert sorted(wh.read("rejects", ["item"]).column("item").to_pylist()) == sorted(set(NASTY) - {"trail\\", "\\'"})


def test_duckdb_reads_the_literals_back_verbatim():
    got = duckdb.sql(f"SELECT unnest([{literal_list(NASTY)}]) AS v").fetchall()
    assert [r[0] for r in got] == NASTY


def test_ingest_of_a_package_whose_path_has_quotes_reruns_without_duplicates(tmp_path, local_engine):
    from tests.test_hostile_inputs import figure_png, jats, package

    from sciir_dist.ingest.pipeline import IngestOptions
    from sciir_dist.ingest.run import run_ingest

    root = tmp_path / "in" / "O'Brien \\ ünï"
    package(root, "pkg'1", jats("10.1/quote'doi", [("f1", "a'b.png")]), {"a'b.png": figure_png(2)})
    wh = Warehouse(str(tmp_path / "wh"))
    run_ingest([str(root)], wh, local_engine, IngestOptions())
    panels = wh.count("panels")
    assert panels >= 1 and wh.count("rejects") == 0
    again = run_ingest([str(root)], wh, local_engine, IngestOptions())
    assert again.skipped == 1 and wh.count("panels") == panels
    # a changed package is redone: its old rows are found by the quoted uri and article id and replaced
    (root / "pkg'1" / "a'b.png").write_bytes(figure_png(3))
    redone = run_ingest([str(root)], wh, local_engine, IngestOptions())
    assert redone.skipped == 0
    assert wh.count("panels") == panels and wh.count("sources") == 1 and wh.count("articles") == 1
    ids = wh.read("panels", ["panel_id"]).column("panel_id").to_pylist()
    assert len(ids) == len(set(ids))


def test_judge_with_a_quoted_unicode_model_name_is_resumable(generated_bench):
    from sciir_dist.backends.fake_openai import FakeConfig, FakeOpenAI
    from sciir_dist.backends.openai import EndpointSettings
    from sciir_dist.bench.judge import JudgeSpec, run_judge

    wh = generated_bench
    with FakeOpenAI(FakeConfig()) as server:
        spec = JudgeSpec(EndpointSettings(url=server.url, model="o'neil\\vlm-ü", max_retries=1, backoff_base_s=0.01))
        run_judge(wh, spec, progress=False)
        asked = len(server.log)
        run_judge(wh, spec, progress=False)
        assert len(server.log) == asked  # the done filter found every verdict under the quoted name
    assert spec.name == "vlm:o'neil\\vlm-ü"
    assert wh.count("verdicts", eq("judge", spec.name)) == wh.count("bench_questions")

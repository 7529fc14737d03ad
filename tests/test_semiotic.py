"""The model stages after the filter: embed (+ vector search), discipline,
classify and annotate, offline (bundled models) and through the fake
OpenAI-compatible server, on real local Ray and Lance."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from schemas.outputs import load
from schemas.tables import TRACKS
from sciir_dist.backends.fake_openai import FakeConfig, FakeOpenAI, Fault
from sciir_dist.backends.openai import EndpointSettings
from sciir_dist.curate.run import CurateConfig, run_curate
from sciir_dist.data.subject_categories import CATEGORIES, from_table
from sciir_dist.query import near, panel_png, query
from sciir_dist.stages.annotate import check_quoted, check_reasoning
from sciir_dist.stages.classify import TAU
from sciir_dist.stages.discipline import DisciplineStage
from sciir_dist.stages.embed import ClipSettings, EmbedStage


def _settings(url: str, **kw) -> EndpointSettings:
    return EndpointSettings(url=url, model="fake-vlm", max_retries=1, backoff_base_s=0.01, timeout_s=5.0,
                            max_reasks=1, **kw)


def _panel_rows(wh, n: int) -> pa.Table:
    rows = wh.read("panels", ["panel_id", "figure_id", "sub_caption"]).slice(0, n)
    images = [panel_png(wh, pid) for pid in rows["panel_id"].to_pylist()]
    return rows.append_column("image", pa.array(images, pa.large_binary()))


# -- embed + vector search --------------------------------------------------
def test_offline_embeddings_and_vector_queries(curated_warehouse):
    wh, _ = curated_warehouse
    emb = wh.read("panel_embeddings", ["panel_id", "image_embedding", "image_model", "embed_backend", "text_source"])
    assert emb.num_rows == wh.count("panels")
    assert pc.count_distinct(emb["panel_id"]).as_py() == emb.num_rows
    vecs = np.stack(emb["image_embedding"].to_numpy(zero_copy_only=False))
    assert vecs.shape[1] == 1280 and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)
    assert set(emb["image_model"].to_pylist()) == {"efficientnet-lite0"}
    assert set(emb["embed_backend"].to_pylist()) == {"offline"}

    pid = emb["panel_id"][0].as_py()
    hits = near(wh, image=panel_png(wh, pid), limit=3, columns=["panel_id", "dup_cluster"])
    assert hits["panel_id"][0].as_py() == pid and hits["similarity"][0].as_py() > 0.999
    assert hits["similarity"].to_pylist() == sorted(hits["similarity"].to_pylist(), reverse=True)

    sub = wh.read("panels", ["panel_id", "sub_caption"], where="sub_caption IS NOT NULL")[0:1].to_pylist()[0]
    by_text = near(wh, text=sub["sub_caption"], limit=5, columns=["panel_id", "sub_caption"])
    assert by_text["sub_caption"][0].as_py() == sub["sub_caption"]
    assert set(by_text["matched_on"].to_pylist()) == {"text_embedding"}

    kept = near(wh, image=panel_png(wh, pid), where="filter_decision = 'REJECT'", limit=50, columns=["filter_decision"])
    assert kept.num_rows == wh.count("panel_filter", "filter_decision = 'REJECT'") > 0
    assert set(kept["filter_decision"].to_pylist()) == {"REJECT"}
    with pytest.raises(ValueError, match="exactly one"):
        near(wh, limit=3)


def test_open_clip_tower_any_architecture_and_checkpoint(spark_warehouse, tmp_path):
    import torch

    from sciir_dist.backends.openclip import OpenClipEncoder

    wh, _ = spark_warehouse
    rows = _panel_rows(wh, 3)
    stage = EmbedStage(ClipSettings("sciir-tiny"))
    stage.setup()
    out = stage.process(rows).rows
    assert out.schema.field("image_embedding").type.list_size == 64
    assert set(out["image_model"].to_pylist()) == {"open_clip:sciir-tiny:random"}
    # a local checkpoint path loads into the same architecture
    enc = OpenClipEncoder("sciir-tiny")
    ckpt = tmp_path / "tiny.pt"
    torch.save({"state_dict": enc.model.state_dict()}, ckpt)
    stage2 = EmbedStage(ClipSettings("sciir-tiny", str(ckpt)))
    stage2.setup()
    out2 = stage2.process(rows).rows
    a = np.stack(out["image_embedding"].to_numpy(zero_copy_only=False))
    b = np.stack(out2["image_embedding"].to_numpy(zero_copy_only=False))
    assert np.allclose(a, b, atol=1e-5)
    assert out2["image_model"][0].as_py() == f"open_clip:sciir-tiny:{ckpt}"
    with pytest.raises(FileNotFoundError):
        OpenClipEncoder("sciir-tiny", str(tmp_path / "missing.pt"))


def test_clip_embed_refuses_a_table_of_another_width(curated_warehouse, tmp_path):
    import shutil

    from sciir_dist.warehouse import Warehouse

    shutil.copytree(curated_warehouse[0].root, tmp_path / "wh")
    wh = Warehouse(str(tmp_path / "wh"))
    with pytest.raises(ValueError, match="panel_embeddings.image_embedding holds"):
        run_curate(wh, ["embed"], cfg=CurateConfig(options={"embed": {"clip_model": "sciir-tiny"}}), progress=False)


# -- discipline ---------------------------------------------------------------
def test_subject_table_and_fallbacks(spark_warehouse):
    assert from_table(["Cellular neuroscience", "Optics", "Ecology", "Geology"])[0] == "Earth and environmental sciences"
    assert from_table(["Optics", "Immunology"])[0] == "Physical sciences"  # tie: the first term decides
    assert from_table(["Basket weaving"]) is None
    assert tuple(load("discipline")["properties"]["discipline"]["enum"]) == CATEGORIES

    batch = pa.table({"article_id": ["a", "b"], "title": ["Tidal heating of icy moons", "x"],
                      "subjects": [["Planetary ice shells"], ["Cardiology"]]})
    offline = DisciplineStage()
    offline.setup()
    rows = {r["article_id"]: r for r in offline.process(batch).rows.to_pylist()}
    assert rows["b"]["discipline"] == "Health sciences" and rows["b"]["discipline_source"] == "table"
    assert rows["a"]["discipline_source"] == "offline" and rows["a"]["discipline"] in CATEGORIES
    assert rows["a"]["discipline_backend"] == "offline"
    with FakeOpenAI() as server:
        rows = {r["article_id"]: r for r in DisciplineStage(_settings(server.url)).process(batch).rows.to_pylist()}
        assert len(server.log) == 1  # only the unmapped article asks the model
    assert rows["a"]["discipline_source"] == "llm" and rows["a"]["discipline_model"] == "fake-vlm"


def test_discipline_rows_for_every_article(curated_warehouse):
    wh, _ = curated_warehouse
    d = wh.read("article_discipline")
    assert d.num_rows == wh.count("articles")
    assert set(d["discipline"].to_pylist()) <= set(CATEGORIES)
    shown = query(wh, "panels", columns=["panel_id", "discipline"], limit=5)
    assert all(v in CATEGORIES for v in shown["discipline"].to_pylist())


# -- classify + annotate (offline) -------------------------------------------
def test_every_kept_panel_has_scores_and_labels(curated_warehouse):
    wh, _ = curated_warehouse
    kept = query(wh, "panels", where="filter_decision = 'KEEP' AND NOT filter_review AND dup_of IS NULL",
                 columns=["panel_id", "score_entity_structure", "score_scientific_process", "score_scientific_law",
                          "labels", "low_reasoning", "classify_backend"], limit=None)
    assert kept.num_rows > 0 and kept.num_rows == wh.count("panel_classify")
    for r in kept.to_pylist():
        scores = dict(zip(TRACKS, (r["score_entity_structure"], r["score_scientific_process"], r["score_scientific_law"])))
        assert all(1 <= s <= 10 for s in scores.values())
        assert r["labels"] == [t for t in TRACKS if scores[t] >= TAU]
        assert r["low_reasoning"] == (not r["labels"]) and r["classify_backend"] == "offline"
    assert 0 < wh.count("panel_classify", "low_reasoning") < kept.num_rows
    not_kept = wh.read("panel_filter", ["panel_id"], where="filter_decision = 'REJECT'")["panel_id"].to_pylist()
    assert not set(not_kept) & set(wh.read("panel_classify", ["panel_id"])["panel_id"].to_pylist())


def test_labelled_panels_are_annotated_and_valid(curated_warehouse):
    wh, _ = curated_warehouse
    rows = query(wh, "panels", where="labels IS NOT NULL AND NOT low_reasoning", limit=None,
                 columns=["panel_id", "labels", "reasoning", "sci_rcot", "rendered_text", "abstract_prompt",
                          "retained_text", "term_count", "sci_rcot_tokens", "annotate_backend"]).to_pylist()
    assert rows and wh.count("panel_annotations") == len(rows)
    for r in rows:
        reasoning = json.loads(r["reasoning"])
        jsonschema.validate(reasoning, load("reasoning"))
        assert check_reasoning(reasoning, r["labels"]) is None
        assert check_quoted(r["sci_rcot"], r["rendered_text"], "rendered") is None
        assert check_quoted(r["abstract_prompt"], r["retained_text"], "retained") is None
        assert r["term_count"] == sum(len(v["terms"]) for v in reasoning.values() if v) > 0
        assert r["sci_rcot_tokens"] > 0 and r["annotate_backend"] == "offline"


def test_classify_needs_the_filter_first(warehouse_copy, ray_local):
    with pytest.raises(ValueError, match="needs panel_filter"):
        run_curate(warehouse_copy, ["classify"], progress=False)


# -- the VLM chain through the fake server ----------------------------------
def test_full_chain_through_an_openai_compatible_endpoint(warehouse_copy, ray_local):
    """The paper's protocol by default (issue 13): each annotation call sees
    what the paper's does, at the paper's temperature unless its own settings
    say otherwise; strict-index on request."""
    from sciir_dist.backends.openai import CallSettings

    wh = warehouse_copy
    run_curate(wh, ["hash", "dedup"], progress=False)
    with FakeOpenAI(FakeConfig(seed=7, log_text=True)) as server:
        cfg = CurateConfig(vision=_settings(server.url), text=_settings(server.url, max_in_flight=8),
                           calls={"abstract": CallSettings(temperature=0.5, max_tokens=700)})
        s = run_curate(wh, ["filter", "classify", "annotate"], cfg=cfg, progress=False)
        log = list(server.log)
    assert not s.rejected
    labelled = wh.read("panel_classify", ["panel_id", "labels"], where="NOT low_reasoning").to_pylist()
    assert labelled and wh.count("panel_annotations") == len(labelled)
    ann = {r["panel_id"]: r for r in wh.read("panel_annotations").to_pylist()}
    for r in labelled:
        a = ann[r["panel_id"]]
        reasoning = json.loads(a["reasoning"])
        jsonschema.validate(reasoning, load("reasoning"))
        jsonschema.validate({"sci_rcot": a["sci_rcot"], "rendered_text": a["rendered_text"]}, load("sci_rcot"))
        jsonschema.validate({"abstract_prompt": a["abstract_prompt"], "retained_text": a["retained_text"]},
                            load("abstract_prompt"))
        assert check_reasoning(reasoning, r["labels"]) is None
        assert a["annotate_backend"] == "openai" and a["annotate_prompt_version"] == "annotate-v2:sciir"
        assert a["annotate_vision_model"] == a["annotate_text_model"] == "fake-vlm"
    assert set(wh.read("panel_classify", ["classify_backend"])["classify_backend"].to_pylist()) == {"openai"}

    by_call = {name: [e for e in log if e["schema_name"] == name] for name in ("reasoning", "sci_rcot", "abstract_prompt")}
    assert {(e["temperature"], e["max_tokens"]) for e in by_call["reasoning"]} == {(0.1, None)}
    assert {e["temperature"] for e in by_call["sci_rcot"]} == {0.3}
    assert {(e["temperature"], e["max_tokens"]) for e in by_call["abstract_prompt"]} == {(0.5, 700)}  # its own settings win
    assert all("Article body:" in e["text"] and "Body excerpt" not in e["text"] for e in by_call["reasoning"])
    assert all("Article title:" in e["text"] and "Figure caption:" in e["text"] for e in by_call["sci_rcot"])
    assert all("visualization" in e["text"] and "asks to render" in e["text"] for e in by_call["abstract_prompt"])
    run = [r for r in wh.read("runs").to_pylist() if r["job"] == "curate"][-1]
    assert '"protocol": "sciir"' in run["params"] and '"temperature": 0.5' in run["params"]

    wh.open("panel_annotations").delete("true")
    with FakeOpenAI(FakeConfig(seed=7, log_text=True)) as server:
        cfg = CurateConfig(vision=_settings(server.url), protocol="strict-index")
        run_curate(wh, ["annotate"], cfg=cfg, progress=False)
        log = list(server.log)
    assert {e["temperature"] for e in log} == {0.0}
    assert all("Body excerpt:" in e["text"] for e in log if e["schema_name"] == "reasoning")
    assert not any("Article title:" in e["text"] for e in log if e["schema_name"] == "sci_rcot")
    assert not any("visualization" in e["text"] for e in log if e["schema_name"] == "abstract_prompt")
    versions = set(wh.read("panel_annotations", ["annotate_prompt_version"]).column(0).to_pylist())
    assert versions == {"annotate-v2:strict-index"}


def test_body_context_whole_or_citing_sentences_first():
    from sciir_dist.stages.annotate import body_context, body_excerpt

    body = "Intro sentence one. " * 10 + "As Fig. 2 shows, the pump moves ions. " + "Filler text here. " * 10
    assert body_context(body, "Figure 2", limit=10_000) == body
    short = body_context(body, "Figure 2", limit=120)
    assert short.startswith("As Fig. 2 shows") and len(short) <= 120 and "Intro sentence one." in short
    assert body_excerpt(body, "Fig. 2") == "As Fig. 2 shows, the pump moves ions."
    assert body_context(None, "Fig. 1") is None


def test_annotation_rule_violations_are_reasked_then_rejected(warehouse_copy, ray_local):
    wh = warehouse_copy
    run_curate(wh, ["hash", "dedup"], progress=False)
    with FakeOpenAI() as server:
        cfg = CurateConfig(vision=_settings(server.url))
        run_curate(wh, ["filter", "classify"], cfg=cfg, progress=False)
    labelled = wh.count("panel_classify", "NOT low_reasoning")
    # every Sci-RCoT answer breaks the schema, every time
    bad = [Fault("schema_invalid", attempts=None, match="ONE coherent scene description")]
    with FakeOpenAI(FakeConfig(faults=bad)) as server:
        s = run_curate(wh, ["annotate"], cfg=CurateConfig(vision=_settings(server.url)), progress=False)
        sci_tries = [e for e in server.log if e["outcome"] == "schema_invalid"]
    assert s.rejected == {"annotate:annotation_invalid": labelled}
    assert len(sci_tries) == 2 * labelled  # first answer + one re-ask each
    assert wh.count("panel_annotations") == 0  # never a half-valid row
    rejects = wh.read("rejects", where="stage = 'annotate'")
    assert set(rejects["reason"].to_pylist()) == {"annotation_invalid"}


def test_request_budget_holds_across_actors(warehouse_copy, ray_local):
    wh = warehouse_copy
    with FakeOpenAI() as server:
        cfg = CurateConfig(vision=_settings(server.url, budget=7))
        s = run_curate(wh, ["filter"], cfg=cfg, progress=False, batch_size=4)
        sent = len(server.log)
    assert sent == 7 and wh.count("panel_filter") == 7
    assert s.rejected == {"filter:vlm_error:budget_exhausted": wh.count("panels") - 7}

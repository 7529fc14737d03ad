"""`sciir bench contamination`: training panels whose texts near-duplicate a
prompt of the published SciIR-Bench are marked, with the right sample, and
the training split leaves them out; distinct scientific texts are not.

The release is the real one (../shared/sciir-bench), cut to 40 samples so the
bundled MiniLM embeds it in seconds. Planted panels carry light edits of
specific benchmark texts (word swaps, truncation, a changed clause,
re-casing), one in each panel field; distinct panels carry real figure
captions from tests/data/jats and a SciIR-Bench prompt of a group that was
cut away (same style, another figure).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from schemas.tables import ARTICLES, BENCH_SAMPLES, FIGURES, PANEL_ANNOTATIONS, PANEL_CLASSIFY, PANEL_DEDUP, PANELS
from sciir_dist.bench.contamination import DEFAULT_THRESHOLD, check
from sciir_dist.bench.load import find_release, load_release
from sciir_dist.cli import app
from sciir_dist.sql import is_in
from sciir_dist.train.split import training_split
from sciir_dist.warehouse import Warehouse

runner = CliRunner()
JATS = json.loads((Path(__file__).parent / "data" / "jats" / "expected.json").read_text(encoding="utf-8"))
KEPT_GROUPS = ("All_Three", "EntityStructure_ScientificProcess")
KEPT_FILES = tuple(f"{i:03d}.png" for i in range(1, 11))
IF, IR = "instruction_following", "intrinsic_reasoning"
S1, S2 = f"{IR}/All_Three/003.png", f"{IF}/All_Three/005.png"
S3, S4 = f"{IR}/EntityStructure_ScientificProcess/002.png", f"{IF}/EntityStructure_ScientificProcess/007.png"
OUTSIDE = f"{IF}/ScientificLaw_ScientificProcess/050.png"  # its group is cut away
BUILT = "built/All_Three/a1.f3.p5"  # a sample built from panel a1.f3.p5
BUILT_PROMPT = ("Schematic of a layered perovskite solar cell, drawn as a flat stack: glass, FTO, TiO2, "
                "perovskite absorber, spiro-OMeTAD and a gold electrode, each layer labeled.")
#: panel -> (sample, panel field, sample field) it must be marked with; None: must not be marked
EXPECTED = {
    "a1.f3.p0": (S1, "abstract_prompt", "prompt"),
    "a1.f3.p1": (S2, "sci_rcot", "prompt"),
    "a1.f3.p2": (S3, "sub_caption", "prompt"),
    "a1.f2.p0": (S4, "caption", "abstract_prompt"),
    "a1.f1.p0": None, "a1.f3.p3": None, "a1.f3.p4": None, "a1.f3.p5": None,
}
PLANTED = {p: want[0] for p, want in EXPECTED.items() if want}


def swap_words(text: str, every: int = 7) -> str:
    """Swap each ``every``-th word with the next one."""
    w = text.split()
    for i in range(0, len(w) - 1, every):
        w[i], w[i + 1] = w[i + 1], w[i]
    return " ".join(w)


def first_half(text: str) -> str:
    s = re.split(r"(?<=[.;!?])\s+", text.strip())
    return " ".join(s[: (len(s) + 1) // 2])


def change_clause(text: str) -> str:
    s = re.split(r"(?<=[.;!?])\s+", text.strip())
    s[1] = "A small inset in the lower corner shows the same setup at a higher magnification."
    return " ".join(s)


def jats_caption(file: str, fig: str) -> str:
    return next(f["caption_text"] for f in JATS[file]["figures"] if f["id"] == fig)


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> Warehouse:
    """The cut release, a built sample, the training panels, checked once at the default threshold."""
    wh = Warehouse(str(tmp_path_factory.mktemp("contamination") / "wh"))
    load_release(wh, find_release())
    release = {s["sample_id"]: s for s in wh.read("bench_samples").to_pylist()}
    wh.open("bench_samples").delete(f"NOT ({is_in('`group`', KEPT_GROUPS)} AND {is_in('image_filename', KEPT_FILES)})")
    wh.upsert("bench_samples", pa.Table.from_pylist([{
        "sample_id": BUILT, "mode": "IF", "group": "All_Three", "prompt": BUILT_PROMPT, "sci_rcot": BUILT_PROMPT,
        "abstract_prompt": "A perovskite solar cell stack.", "source": "a1.f3.p5", "origin": "built"}],
        schema=BENCH_SAMPLES))
    figures = {  # every panel of a figure shares its caption
        "a1.f1": jats_caption("mdpi-2019-materials.xml", "materials-12-02293-sch001"),
        "a1.f2": release[S4]["abstract_prompt"].lower(),  # re-cased: a near-duplicate caption
        "a1.f3": jats_caption("elife-2012-tlr13.xml", "fig4"),
    }
    panels = [  # panel_id, sub_caption, annotation (sci_rcot, abstract_prompt)
        ("a1.f1.p0", None, None),
        ("a1.f2.p0", None, None),
        ("a1.f3.p0", None, (f"A diagram. {jats_caption('frontiers-2015-wolves.xml', 'F2')}",
                            swap_words(release[S1]["prompt"]))),
        ("a1.f3.p1", None, (first_half(release[S2]["prompt"]), "A schematic of bacterial 23S rRNA fragments.")),
        ("a1.f3.p2", change_clause(release[S3]["prompt"]), None),
        ("a1.f3.p3", jats_caption("ncomms-2014-wolbachia.xml", "f2"), None),
        ("a1.f3.p4", None, (release[OUTSIDE]["prompt"], None)),
        ("a1.f3.p5", None, (BUILT_PROMPT, None)),  # the built sample's own source panel
    ]
    write_training_tables(wh, figures, panels)
    check(wh, progress=False)
    return wh


def write_training_tables(wh: Warehouse, figures: dict[str, str], panels: list[tuple]) -> None:
    """Ingested, deduplicated, labelled and annotated panels, as the curation stages leave them."""
    def put(table: str, schema: pa.Schema, rows: list[dict]) -> None:
        wh.upsert(table, pa.Table.from_pylist(rows, schema=schema))

    ids = [p for p, *_ in panels]
    put("articles", ARTICLES, [{"article_id": "a1", "doi": "10.1/x", "title": "Figures", "license": "CC-BY-4.0"}])
    put("figures", FIGURES, [{"figure_id": f, "article_id": "a1", "label": f"Fig. {f[-1]}", "caption": c}
                             for f, c in figures.items()])
    put("panels", PANELS, [{"panel_id": p, "figure_id": p[:5], "article_id": "a1", "panel_index": int(p[-1]),
                            "sub_caption": sub} for p, sub, _ in panels])
    put("panel_dedup", PANEL_DEDUP, [{"panel_id": p, "dup_cluster": p, "dup_cluster_size": 1, "bench_leak": False}
                                     for p in ids])
    put("panel_classify", PANEL_CLASSIFY, [{"panel_id": p, "labels": ["EntityStructure"], "low_reasoning": False}
                                           for p in ids])
    put("panel_annotations", PANEL_ANNOTATIONS, [{"panel_id": p, "sci_rcot": a[0], "abstract_prompt": a[1]}
                                                 for p, _, a in panels if a])


def marks(wh: Warehouse) -> dict[str, dict]:
    return {r["panel_id"]: r for r in wh.read("panel_contamination").to_pylist()}


def test_planted_near_duplicates_are_marked_with_their_sample(checked):
    got = marks(checked)
    assert set(got) == set(EXPECTED)  # every panel with a text has its closest benchmark text
    for pid, want in EXPECTED.items():
        row = got[pid]
        if want is None:
            assert not row["contaminated"] and row["contamination_cosine"] < DEFAULT_THRESHOLD, row
        else:
            assert row["contaminated"], row
            assert (row["contamination_sample_id"], row["contamination_field"],
                    row["contamination_bench_field"]) == want
    assert got["a1.f3.p5"]["contamination_sample_id"] != BUILT  # never matched with the sample built from it


def test_training_split_leaves_marked_panels_out(checked):
    unmarked = {p for p, want in EXPECTED.items() if want is None}
    assert set(training_split(checked)["panel_id"]) == unmarked - {"a1.f3.p5"}  # p5: the built sample's source


def test_cli_reports_groups_and_pairs_reruns_idempotently_and_takes_a_threshold(checked, tmp_path):
    shutil.copytree(checked.root, tmp_path / "wh")
    wh = Warehouse(str(tmp_path / "wh"))
    before = (wh.version("panel_contamination"), wh.version("bench_text_embeddings"))
    res = runner.invoke(app, ["bench", "contamination", "--data", wh.root, "--limit", "4", "--format", "json",
                              "--no-progress"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    # unchanged warehouse: the same marks, nothing written, no duplicate ids
    assert out["rows_written"] == 0
    assert (wh.version("panel_contamination"), wh.version("bench_text_embeddings")) == before
    assert marks(wh) == marks(checked) and wh.count("panel_contamination") == len(EXPECTED)
    assert out["panels_marked"] == 4 and out["threshold"] == DEFAULT_THRESHOLD
    hit = {(g["mode"], g["group"]): (g["panels_marked"], g["samples_hit"]) for g in out["by_group"]}
    assert hit == {(m, g): (1, 1) for m in ("IF", "IR") for g in KEPT_GROUPS}
    assert {(c["panel_id"], c["sample_id"]) for c in out["closest"]} == set(PLANTED.items())
    first = out["closest"][0]
    assert first["panel_text"].endswith("…") and len(first["panel_text"]) <= 90 and first["bench_text"]
    # each run is recorded with the table versions it read
    runs = wh.read("runs", where="job = 'bench-contamination'").to_pylist()
    assert len(runs) == 2 and all(r["status"] == "succeeded" for r in runs)
    assert all(json.loads(r["versions_read"])["bench_samples"] == wh.version("bench_samples") for r in runs)

    # at 0.999 only the re-cased caption (MiniLM is uncased: cosine 1) stays marked; the others go back to training
    res = runner.invoke(app, ["bench", "contamination", "--data", wh.root, "--threshold", "0.999", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "1 of 8 panels" in res.output
    assert {p for p, r in marks(wh).items() if r["contaminated"]} == {"a1.f2.p0"}
    assert set(PLANTED) - {"a1.f2.p0"} <= set(training_split(wh)["panel_id"])
    res = runner.invoke(app, ["bench", "contamination", "--data", wh.root, "--threshold", "1.5"])
    assert res.exit_code != 0 and "cosine" in res.output

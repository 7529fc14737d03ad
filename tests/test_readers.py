"""Readers: JATS metadata and licenses, the SciIR crawler JSON, image
folders; license and third-party gates; sub-caption markers."""

from __future__ import annotations

import json

import pytest

from sciir_dist.ingest import jats, subcaptions
from sciir_dist.ingest import license as lic
from sciir_dist.ingest.errors import Reject
from sciir_dist.ingest.packages import PackageFiles
from sciir_dist.ingest.pipeline import IngestOptions
from sciir_dist.ingest.run import run_ingest
from sciir_dist.warehouse import Warehouse
from tests.test_hostile_inputs import figure_png

FULL = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.3 20210610//EN" "JATS-archivearticle1-3.dtd">
<article xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:ali="http://www.niso.org/schemas/ali/1.0/">
<front><article-meta>
<article-id pub-id-type="pmc">PMC1</article-id><article-id pub-id-type="doi">10.9999/ABC.1</article-id>
<article-categories><subj-group><subject>Cell biology</subject></subj-group></article-categories>
<title-group><article-title>Ion <italic>channels</italic> at work</article-title></title-group>
<permissions><license><ali:license_ref>http://creativecommons.org/licenses/by/4.0/</ali:license_ref></license></permissions>
<abstract><p>We show how <bold>ions</bold> move.</p></abstract>
<kwd-group><kwd>gating</kwd><kwd>Cell biology</kwd></kwd-group>
</article-meta></front>
<body><sec><p>Text.</p>
<fig id="F1"><label>Figure 1</label><caption><title>The channel.</title><p><bold>a</bold>, Closed state. <bold>b</bold>, Open state.</p></caption>
<graphic xlink:href="fig1"/></fig>
<fig id="F2"><label>Figure 2</label><caption><p>Two graphics.</p></caption><graphic xlink:href="f2a.png"/><graphic xlink:href="f2b.png"/></fig>
</sec></body></article>"""


def files(**named: bytes) -> PackageFiles:
    return PackageFiles(base="mem", _files=dict(named), _names=sorted(named))


def test_jats_metadata_figures_and_license():
    art = jats.read(files(**{"a.nxml": FULL.encode(), "fig1.tif": b"x"}), "mem")
    assert art.doi == "10.9999/ABC.1" and art.title == "Ion channels at work"
    assert art.abstract == "We show how ions move." and art.subjects == ["Cell biology", "gating"]
    assert art.license == "CC-BY-4.0" and art.license_url.startswith("http://creativecommons.org")
    assert [f.xml_id for f in art.figures] == ["F1", "F2-g1", "F2-g2"]
    f1 = art.figures[0]
    assert f1.label == "Figure 1" and f1.title == "The channel." and f1.href == "fig1"
    assert subcaptions.assign(f1.caption, 2) == [("a", "Closed state."), ("b", "Open state.")]
    pkg = files(**{"a.nxml": b"", "fig1.tif": b"", "fig1.eps": b"", "sub/f2a.png": b""})
    assert pkg.resolve("fig1") == "fig1.tif" and pkg.resolve("f2a.png") == "sub/f2a.png" and pkg.resolve("nope") is None


@pytest.mark.parametrize(
    "statements,spdx",
    [
        (["https://creativecommons.org/licenses/by/4.0/"], "CC-BY-4.0"),
        (["http://creativecommons.org/licenses/by-nc-nd/4.0/legalcode"], "CC-BY-NC-ND-4.0"),
        (["This is an open access article under the Creative Commons Attribution 4.0 International License."], "CC-BY-4.0"),
        (["Creative Commons Attribution-NonCommercial 4.0"], "CC-BY-NC-4.0"),
        (["https://creativecommons.org/publicdomain/zero/1.0/"], "CC0-1.0"),
        (["open-access", "CC BY 3.0"], "CC-BY-3.0"),
        (["open-access"], None),
    ],
)
def test_license_normalisation(statements, spdx):
    assert lic.normalize(*statements) == spdx
    assert lic.license_reason(spdx) == (None if spdx == "CC-BY-4.0" else f"license:{spdx or 'unknown'}")


@pytest.mark.parametrize(
    "text,third",
    [
        ("Reproduced from ref. 4 with permission.", True),
        ("Adapted with permission from Smith et al.", True),
        ("© 2019 Elsevier B.V.", True),
        ("Image courtesy of NASA.", True),
        ("Reprinted with permission from AAAS.", True),
        ("Schematic of the reactor (adapted from our earlier model).", False),
        ("Copyright issues aside, the cycle is shown.", False),
    ],
)
def test_third_party_markers(text, third):
    assert (lic.third_party_marker(text) is not None) == third


@pytest.mark.parametrize(
    "caption,n,expected",
    [
        ("(a) Alpha. (b) Beta; compare (a). (c) Gamma.", 3, [("a", "Alpha."), ("b", "Beta; compare (a)."), ("c", "Gamma.")]),
        ("a, One. b, Two. c–d, Shared.", 4, [("a", "One."), ("b", "Two."), ("c", "Shared."), ("d", "Shared.")]),
        ("Overview. (a,b) Both. (c) Last.", 3, [("a", "Both."), ("b", "Both."), ("c", "Last.")]),
        ("a | left text. b | right text", 2, [("a", "left text."), ("b", "right text")]),
        ("Two *** marks: ***p < 0.001.", 1, [(None, "Two *** marks: ***p < 0.001.")]),
        ("(a) Alpha. (b) Beta.", 3, [(None, "(a) Alpha. (b) Beta.")] * 3),  # markers do not match the panels
        ("Energy flows from a, to b and c.", 1, [(None, "Energy flows from a, to b and c.")]),
        # markers that close their descriptions (Frontiers, Hindawi)
        ("HPLC traces. Products with lipase PS (a), lipase AK (b), and Novozym 435 (c).", 3,
         [("a", "Products with lipase PS"), ("b", "lipase AK"), ("c", "Novozym 435")]),
        # ... but a list of markers heading one text is not that
        ("(a), (b) Cells before and after. (c) Counts.", 3,
         [("a", "Cells before and after."), ("b", "Cells before and after."), ("c", "Counts.")]),
        # a list opened by a bracket ends where the bracket closes
        ("Two demonstrations (a: paw; b: mouth) of opening the box, then the test.", 2,
         [("a", "paw"), ("b", "mouth")]),
    ],
)
def test_subcaption_alignment(caption, n, expected):
    assert subcaptions.assign(caption, n) == expected


def test_sciir_crawler_json(tmp_path, local_engine):
    src = tmp_path / "crawl"
    (src / "images").mkdir(parents=True)
    (src / "images" / "x1.png").write_bytes(figure_png(1))
    (src / "images" / "x2.png").write_bytes(figure_png(2))
    records = [
        {"image_id": "x1", "article_title": "Paper A", "article_abstract": "Abs", "article_body": "Body",
         "figure_title": "Fig 1", "figure_caption": "A cycle.", "subjects": ["Ecology"], "image_path": "images/x1.png",
         "doi": "10.5/a", "license": "CC BY 4.0"},
        {"image_id": "x2", "article_title": "Paper A", "article_abstract": "Abs", "article_body": "Body",
         "figure_title": "Fig 2", "figure_caption": "Another.", "subjects": ["Ecology"], "image_path": "images/x2.png",
         "doi": "10.5/a", "license": "CC BY 4.0"},
        {"image_id": "y1", "article_title": "Paper B", "figure_caption": "No license.", "image_path": "images/x1.png"},
    ]
    (src / "records.json").write_text(json.dumps(records))
    wh = Warehouse(str(tmp_path / "wh"))
    run_ingest([str(src)], wh, local_engine)
    arts = wh.read("articles").to_pylist()
    assert len(arts) == 1 and arts[0]["doi"] == "10.5/a" and arts[0]["source_format"] == "sciir-json"
    assert wh.count("figures") == 2 and wh.count("panels") == 2
    assert wh.read("rejects", where="reason = 'license:unknown'").num_rows == 1


def test_image_folder_needs_a_license_and_reads_captions(tmp_path, local_engine):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "one.png").write_bytes(figure_png(3))
    (folder / "two.jpg").write_bytes(figure_png(4, fmt="JPEG"))
    (folder / "captions.jsonl").write_text(json.dumps({"file": "one.png", "caption": "A pump."}) + "\n")
    wh = Warehouse(str(tmp_path / "wh"))
    run_ingest([str(folder)], wh, local_engine, fmt="images")
    assert wh.read("rejects", where="reason = 'license:unknown'").num_rows == 1
    wh2 = Warehouse(str(tmp_path / "wh2"))
    run_ingest([str(folder)], wh2, local_engine, IngestOptions(folder_license="CC-BY-4.0"), fmt="images")
    caps = {r["figure_xml_id"]: r["caption"] for r in wh2.read("figures").to_pylist()}
    assert caps == {"one": "A pump.", "two": ""}
    (folder / "captions.jsonl").write_bytes("caf\xe9".encode("latin-1"))
    wh3 = Warehouse(str(tmp_path / "wh3"))
    run_ingest([str(folder)], wh3, local_engine, IngestOptions(folder_license="CC-BY-4.0"), fmt="images")
    assert wh3.read("rejects", where="reason = 'encoding'").num_rows == 1


def test_xml_that_is_not_an_article():
    with pytest.raises(Reject) as e:
        jats.read(files(**{"a.xml": b"<html><body/></html>"}), "mem")
    assert e.value.reason == "not_jats"

"""Real publisher JATS (tests/data/jats: eLife, PLoS ONE/NTD/Biology, PeerJ, BMC,
TMH, RSP, Nature Communications, BMJ, MDPI, Frontiers; 2010-2025; provenance in its README) against an extraction written
independently of the reader (tests/data/jats/oracle.py -> expected.json):
DOI, title, main abstract, license and URL, every figure's caption title
and text, and the sub-caption of every lettered panel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sciir_dist.ingest import jats, subcaptions
from sciir_dist.ingest.packages import PackageFiles

ROOT = Path(__file__).parent / "data" / "jats"
EXPECTED = json.loads((ROOT / "expected.json").read_text())


def _read(name: str):
    return jats.read(PackageFiles(base="mem", _files={"a.xml": (ROOT / name).read_bytes()}, _names=["a.xml"]), name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_article_matches_the_independent_extraction(name):
    want, art = EXPECTED[name], _read(name)
    assert (art.doi, art.title, art.abstract, art.license_url) == (
        want["doi"], want["title"], want["abstract"], want["license_url"])
    assert (art.license or "unknown") == want["license_id"], art.license_evidence
    own = {}
    for ref in art.figures:
        if ref.sub_article is None:
            own.setdefault(ref.xml_id if ref.xml_id in {f["id"] for f in want["figures"]} else re.sub(r"-g\d+$", "", ref.xml_id), ref)
    assert sorted(own) == sorted(f["id"] for f in want["figures"])
    for fig in want["figures"]:
        ref = own[fig["id"]]
        assert (ref.title, ref.caption) == (fig["caption_title"] or None, fig["caption_text"]), fig["id"]
        panels = fig.get("panels") or {}
        if panels:
            got = dict(subcaptions.assign(ref.caption, len(panels), bold=ref.bold))
            assert {k: v.strip(" .;") for k, v in got.items()} == {k: v.strip(" .;") for k, v in panels.items()}, fig["id"]

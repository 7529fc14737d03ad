"""JATS as publishers write it: one text renderer per construct, the main
abstract, a license gate that never guesses a version, the third-party
gate, image choice among a figure's files, sub-articles, and bold panel
letters as sub-caption markers."""

from __future__ import annotations

import pytest

from sciir_dist.ingest import jats, subcaptions
from sciir_dist.ingest import license as lic
from sciir_dist.ingest.jats_text import render
from sciir_dist.ingest.packages import PackageFiles

NS = ('xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:mml="http://www.w3.org/1998/Math/MathML" '
      'xmlns:ali="http://www.niso.org/schemas/ali/1.0/"')
CC_BY_4 = '<permissions><license xlink:href="http://creativecommons.org/licenses/by/4.0/"/></permissions>'


def el(xml: str):
    return jats.parse_xml(f"<x {NS}>{xml}</x>".encode())


def files(**named: bytes) -> PackageFiles:
    return PackageFiles(base="mem", _files=dict(named), _names=sorted(named))


def article(meta: str = "", body: str = "", rest: str = "", permissions: str = CC_BY_4):
    xml = (f'<article {NS}><front><article-meta><article-id pub-id-type="doi">10.1/x</article-id>'
           f"<title-group><article-title>T</article-title></title-group>{permissions}{meta}</article-meta></front>"
           f"<body>{body}</body>{rest}</article>")
    return jats.read(files(**{"a.nxml": xml.encode()}), "mem")


# -- one renderer, a rule per construct --------------------------------------------------------
@pytest.mark.parametrize(
    "xml,text",
    [
        ("<p>a <bold>b</bold>c <italic>d</italic>, <sup>2</sup>H<sub>2</sub>O</p>", "a bc d, 2H2O"),
        ("<p><sc>Dna</sc>-binding, <monospace>code()</monospace> and <underline>u</underline></p>",
         "Dna-binding, code() and u"),
        ("<p>see <ext-link xlink:href='http://x.org'>x.org</ext-link> and <xref ref-type='bibr' rid='b1'>[1]</xref>.</p>",
         "see x.org and [1]."),
        ("<p><named-content content-type='gene'>BRCA1</named-content> was knocked out</p>", "BRCA1 was knocked out"),
        ("<p>***p &lt; 0.001, **p &lt; 0.01</p>", "***p < 0.001, **p < 0.01"),  # no character invented or lost
        ("<p>(<bold>A</bold>) DH2, <bold>B</bold>, right</p>", "(A) DH2, B, right"),
        ("<p>One.</p><p>Two.</p>", "One. Two."),
        ("<title>Head</title><p>Text</p>", "Head Text"),
        ("<list><list-item><p>first</p></list-item><list-item><p>second</p></list-item></list>", "first second"),
        ("<table><tr><th>Gene</th><th>Fold</th></tr><tr><td>A</td><td>2.1</td></tr></table>", "Gene Fold A 2.1"),
        ("<def-list><def-item><term>K</term><def><p>kelvin</p></def></def-item></def-list>", "K kelvin"),
        ("<p>He said</p><disp-quote><p>quoted</p></disp-quote><p>after</p>", "He said quoted after"),
        ("<p>line one<break/>line two</p>", "line one line two"),
        ("<object-id pub-id-type='doi'>10.7554/eLife.1.001</object-id><p>Abstract text.</p>", "Abstract text."),
        ("<p>Caption.</p><supplementary-material id='s1'><label>Figure 1—source data 1.</label>"
         "<caption><p>Raw data.</p></caption></supplementary-material>", "Caption."),
        ("<p>with <inline-formula><alternatives><tex-math>$x^2$</tex-math><mml:math><mml:msup><mml:mi>x</mml:mi>"
         "<mml:mn>2</mml:mn></mml:msup></mml:math></alternatives></inline-formula> inside</p>", "with x2 inside"),
        ("<p><inline-formula><alternatives><tex-math>\\alpha</tex-math><textual-form>alpha</textual-form>"
         "</alternatives></inline-formula></p>", "alpha"),
        ("<p>a</p><disp-formula><alternatives><mml:math><mml:semantics><mml:mi>E</mml:mi><mml:annotation "
         "encoding='application/x-tex'>E</mml:annotation></mml:semantics></mml:math><tex-math>E</tex-math>"
         "</alternatives></disp-formula><p>b</p>", "a E b"),
        ("<p>tex only: <inline-formula><tex-math>\\beta</tex-math></inline-formula></p>", "tex only: \\beta"),
        ("<p>  spaced\n\t out  </p>", "spaced out"),
    ],
)
def test_render_constructs(xml, text):
    assert render(el(xml)).text == text


def test_bold_runs_are_reported_beside_the_text():
    got = render(el("<p>(<bold>A</bold>) one. <bold>B–F</bold>, rest <bold> </bold>end</p>"))
    assert got.text == "(A) one. B–F, rest end"
    assert [got.text[s:e] for s, e in got.bold] == ["A", "B–F"]


# -- abstracts -----------------------------------------------------------------------------------
def test_main_abstract_is_chosen_by_type_and_others_are_kept():
    art = article(meta=(
        '<abstract abstract-type="teaser"><p>Short teaser.</p></abstract>'
        '<abstract><object-id pub-id-type="doi">10.7554/eLife.00001.001</object-id><title>Abstract</title>'
        "<p>Main one.</p><p>Second paragraph.</p></abstract>"
        '<abstract abstract-type="executive-summary"><title>eLife digest</title><p>Digest.</p></abstract>'
        '<trans-abstract xml:lang="de"><p>Deutsch.</p></trans-abstract>'))
    assert art.abstract == "Main one. Second paragraph."
    assert art.abstracts == [{"type": "teaser", "text": "Short teaser."},
                             {"type": "executive-summary", "text": "Digest."},
                             {"type": "trans:de", "text": "Deutsch."}]


def test_structured_abstract_keeps_its_section_titles():
    art = article(meta="<abstract><sec><title>Background</title><p>B.</p></sec><sec><title>Results</title>"
                       "<p>R.</p></sec></abstract>")
    assert art.abstract == "Background B. Results R."


# -- license gate ----------------------------------------------------------------------------------
LICENSES = [
    # (permissions XML, SPDX or None, license_url)
    ('<license xlink:href="http://creativecommons.org/licenses/by/4.0/"/>', "CC-BY-4.0",
     "http://creativecommons.org/licenses/by/4.0/"),
    ('<license><ali:license_ref>https://creativecommons.org/licenses/by/3.0/</ali:license_ref></license>', "CC-BY-3.0",
     "https://creativecommons.org/licenses/by/3.0/"),
    ('<license license-type="open-access"><license-p>This is an open-access article distributed under the terms of the '
     '<ext-link ext-link-type="uri" xlink:href="http://creativecommons.org/licenses/by/2.5/">Creative Commons '
     "Attribution License</ext-link>.</license-p></license>", "CC-BY-2.5", "http://creativecommons.org/licenses/by/2.5/"),
    ('<license license-type="open-access" xlink:href="http://creativecommons.org/licenses/by/2.0"><license-p>Open Access'
     "</license-p></license>", "CC-BY-2.0", "http://creativecommons.org/licenses/by/2.0"),
    # the two patterns that were accepted as CC-BY-4.0 with an invented version
    ("<license><license-p>This is an open-access article distributed under the terms of the Creative Commons "
     "Attribution License, which permits unrestricted use.</license-p></license>", None, None),
    ('<license license-type="open-access"><license-p>Distributed under the Creative Commons Attribution License.'
     "</license-p></license>", None, None),
    ('<license license-type="cc-by"><license-p>Open access.</license-p></license>', None, None),
    ("<license><license-p>Licensed under a Creative Commons Attribution 4.0 International License.</license-p></license>",
     "CC-BY-4.0", None),
    ("<license><license-p>distributed under the Creative Commons Attribution License, version 3.0</license-p></license>",
     "CC-BY-3.0", None),
    ("<license><license-p>available under CC BY 4.0</license-p></license>", "CC-BY-4.0", None),
    ("<license><license-p>available under CC BY-NC-ND 4.0</license-p></license>", "CC-BY-NC-ND-4.0", None),
    ('<license xlink:href="https://creativecommons.org/licenses/by-sa/4.0/"/>', "CC-BY-SA-4.0",
     "https://creativecommons.org/licenses/by-sa/4.0/"),
    ('<license xlink:href="http://creativecommons.org/licenses/by-nc/3.0/"/>', "CC-BY-NC-3.0",
     "http://creativecommons.org/licenses/by-nc/3.0/"),
    ('<license xlink:href="http://creativecommons.org/licenses/by-nd/2.0/"/>', "CC-BY-ND-2.0",
     "http://creativecommons.org/licenses/by-nd/2.0/"),
    ('<license xlink:href="https://creativecommons.org/publicdomain/zero/1.0/"/>', "CC0-1.0",
     "https://creativecommons.org/publicdomain/zero/1.0/"),
    ("<license><license-p>This is an open-access article, free of all copyright, made available under the Creative "
     "Commons CC0 public domain dedication.</license-p></license>", "CC0-1.0", None),
    ('<license xlink:href="https://creativecommons.org/publicdomain/mark/1.0/"/>', "PDM-1.0",
     "https://creativecommons.org/publicdomain/mark/1.0/"),
    ("<license><license-p>This article is open access.</license-p></license>", None, None),
    ('<license xlink:href="http://www.elsevier.com/open-access/userlicense/1.0/"><license-p>Elsevier user license'
     "</license-p></license>", None, "http://www.elsevier.com/open-access/userlicense/1.0/"),
    ("<copyright-statement>© 2015 The Authors. All rights reserved.</copyright-statement>", None, None),
]


@pytest.mark.parametrize("perms,spdx,url", LICENSES)
def test_license_gate_never_guesses(perms, spdx, url):
    art = article(permissions=f"<permissions>{perms}</permissions>")
    assert (art.license, art.license_url) == (spdx, url), art.license_evidence
    assert art.license_evidence


def test_unversioned_license_says_why_it_is_unknown():
    found = lic.resolve([("license-p", "distributed under the Creative Commons Attribution License")])
    assert found.spdx is None and "CC-BY, version unknown" in found.evidence


def test_old_nlm_copyright_statement_in_article_meta_is_read():
    art = article(permissions="", meta=(
        "<copyright-statement>This is an Open Access article distributed under the terms of the Creative Commons "
        "Attribution License (http://creativecommons.org/licenses/by/2.0), which permits unrestricted use."
        "</copyright-statement>"))
    assert art.license == "CC-BY-2.0" and art.license_url == "http://creativecommons.org/licenses/by/2.0"


# -- third-party gate -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,phrase",
    [
        ("Reproduced with permission from ref. 4.", "Reproduced with permission"),
        ("Adapted from Smith et al. (2010) with permission of Elsevier.", "Adapted from Smith et al"),
        ("Reprinted from Cell 12:3.", "Reprinted from"),
        ("The micrograph was taken from ref. 12.", "taken from"),
        ("Photo courtesy of NASA.", "courtesy of"),
        ("© 2019 Elsevier B.V.", "©"),
        ("(c) 2011 American Chemical Society", "(c) 2011"),
        ("Copyright 2008 Nature Publishing Group", "Copyright 2008"),
        ("Samples were taken from the tail vein.", None),
        ("Schematic of the reactor (adapted from our earlier model).", None),
        ("Copyright issues aside, the cycle is shown.", None),
    ],
)
def test_third_party_phrases(text, phrase):
    got = lic.third_party_marker(text)
    assert (got is None) == (phrase is None) and (phrase is None or got.lower().startswith(phrase.lower())), got


def test_panel_letter_before_a_year_is_not_a_copyright_line():
    caption = "(A) Survey area. (B) Counts per year. (C) 2011 counts by site."
    blanked = caption
    for s, e in subcaptions.marker_spans(caption):
        blanked = blanked[:s] + " " * (e - s) + blanked[e:]
    assert lic.third_party_marker(blanked) is None
    assert lic.third_party_marker(caption) is not None  # what the gate used to see


def test_third_party_phrases_are_configurable():
    assert lic.third_party_marker("Image from Wikimedia Commons.", phrases=(r"wikimedia",)) == "Wikimedia"
    assert lic.third_party_marker("© 2019 Elsevier", phrases=(r"wikimedia",)) is None


# -- image choice, sub-articles ---------------------------------------------------------------------
def test_largest_supported_raster_is_chosen_among_files_of_one_href():
    pkg = files(**{"a.nxml": b"", "pone-g001.gif": b"g" * 50, "pone-g001.jpg": b"j" * 900,
                   "pone-g001.tif": b"t" * 5000, "pone-g001.eps": b"e" * 9000})
    assert pkg.candidates("pone-g001") == ["pone-g001.tif", "pone-g001.jpg", "pone-g001.gif", "pone-g001.eps"]
    assert pkg.resolve("pone-g001.gif") == "pone-g001.tif" and pkg.resolve("pone-g001.jpg") == "pone-g001.jpg"
    assert pkg.resolve("missing") is None


def test_figures_of_sub_articles_are_marked():
    art = article(body='<fig id="f1"><caption><p>Own.</p></caption><graphic xlink:href="f1"/></fig>',
                  rest=('<sub-article article-type="reply"><front-stub><title-group><article-title>Author response'
                        '</article-title></title-group></front-stub><body><fig id="r1"><caption><p>Reply figure.</p>'
                        '</caption><graphic xlink:href="r1"/></fig></body></sub-article>'))
    assert [(f.xml_id, f.sub_article) for f in art.figures] == [("f1", None), ("r1", "reply")]
    assert "Reply figure" not in (art.body or "")


def test_one_graphic_per_alternatives():
    art = article(body=('<fig id="f1"><caption><p>C.</p></caption><alternatives><graphic xlink:href="f1.tif"/>'
                        '<graphic xlink:href="f1.gif"/></alternatives></fig>'))
    assert [(f.xml_id, f.href) for f in art.figures] == [("f1", "f1.tif")]


# -- bold panel letters as sub-caption markers ------------------------------------------------------
@pytest.mark.parametrize(
    "caption_xml,n,expected",
    [
        ("(<bold>A</bold>) DH2, right lateral view. (<bold>B</bold>) DH2, dorsal view.", 2,
         [("a", "DH2, right lateral view."), ("b", "DH2, dorsal view.")]),
        ("<bold>A</bold>, Wild type. <bold>B</bold>, Mutant; ***p &lt; 0.001.", 2,
         [("a", "Wild type."), ("b", "Mutant; ***p < 0.001.")]),
        ("<bold>A</bold> Overview. (<bold>B</bold>–<bold>D</bold>) Close-ups of the boxed areas.", 4,
         [("a", "Overview.")] + [(c, "Close-ups of the boxed areas.") for c in "bcd"]),
        ("<bold>(A)</bold> One. <bold>(B–C)</bold> Two and three.", 3,
         [("a", "One."), ("b", "Two and three."), ("c", "Two and three.")]),
        ("<bold>a</bold>,<bold>b</bold> Shared text. <bold>c</bold> Last.", 3,
         [("a", "Shared text."), ("b", "Shared text."), ("c", "Last.")]),
        ("(<bold>A</bold>) and (<bold>B</bold>) Both. (<bold>C</bold>)–(<bold>D</bold>) Last two.", 4,
         [("a", "Both."), ("b", "Both."), ("c", "Last two."), ("d", "Last two.")]),
        ("<bold>Effect of drug.</bold> (<bold>A</bold>) Dose. (<bold>B</bold>) Time.", 2,
         [("a", "Dose."), ("b", "Time.")]),
    ],
)
def test_bold_panel_letters_give_sub_captions(caption_xml, n, expected):
    art = article(body=f'<fig id="f1"><caption><p>{caption_xml}</p></caption><graphic xlink:href="f1"/></fig>')
    f = art.figures[0]
    assert "*" * 2 not in f.caption.replace("***p", "")
    assert subcaptions.assign(f.caption, n, bold=f.bold) == expected

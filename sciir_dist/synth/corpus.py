"""`sciir synth`: a realistic synthetic corpus of JATS packages plus a
ground-truth manifest (true panel boxes, letters, sub-captions, expected
rejects, duplicate groups) that tests and benches score against.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from sciir_dist.ingest.model import article_id_for, figure_id_for, panel_id_for
from sciir_dist.split.geometry import geometric_reason
from sciir_dist.synth.draw import PanelSpec, render, to_bytes

SUBJECTS = [
    "Cell biology", "Molecular biology", "Neuroscience", "Immunology", "Ecology", "Geology", "Oceanography",
    "Climate science", "Condensed matter physics", "Optics", "Electrochemistry", "Materials science",
    "Public health", "Cardiology", "Epidemiology", "Science policy", "Genetics", "Astrophysics",
]
SENTENCES = {
    "schematic": ["Schematic of the {w} pathway", "Overview of the {w} mechanism", "Model of {w} transport"],
    "chart": ["Measured {w} response over time"],
    "photo": ["Micrograph of the {w} sample"],
    "text": ["Summary table of {w} parameters"],
}
CAPTION_STYLES = ("paren", "nature", "pipe", "bold", "colon")
LICENSES = {  # SPDX -> how the package states it
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-NC-4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "CC-BY-ND-4.0": "https://creativecommons.org/licenses/by-nd/4.0/",
}


@dataclass
class Layout:
    kind: str  # single | grid | thin | lines | uneven
    width: int
    height: int
    cells: list[tuple[int, int, int, int]]  # in reading order
    separators: list[tuple[int, int, int, int]] = field(default_factory=list)


def _grid(rng, rows: int, cols: int, gutter: int, margin: int, kind: str, line: bool = False) -> Layout:
    cw = int(rng.integers(300, 460))
    ch = int(rng.integers(260, 420))
    ch = max(ch, int(cw / 2.2))
    W = margin * 2 + cols * cw + (cols - 1) * gutter
    H = margin * 2 + rows * ch + (rows - 1) * gutter
    cells = [
        (margin + c * (cw + gutter), margin + r * (ch + gutter), margin + c * (cw + gutter) + cw, margin + r * (ch + gutter) + ch)
        for r in range(rows) for c in range(cols)
    ]
    seps = []
    if line:
        for c in range(1, cols):
            x = margin + c * (cw + gutter) - gutter // 2 - 1
            seps.append((x, margin, x + 2, H - margin))
        for r in range(1, rows):
            y = margin + r * (ch + gutter) - gutter // 2 - 1
            seps.append((margin, y, W - margin, y + 2))
    return Layout(kind, W, H, cells, seps)


def _uneven(rng, gutter: int, margin: int) -> Layout:
    variant = int(rng.integers(3))
    if variant == 0:  # tall left, two stacked right
        lw, rw, h = int(rng.integers(340, 460)), int(rng.integers(320, 420)), int(rng.integers(280, 360))
        H = margin * 2 + 2 * h + gutter
        cells = [(margin, margin, margin + lw, H - margin),
                 (margin + lw + gutter, margin, margin + lw + gutter + rw, margin + h),
                 (margin + lw + gutter, margin + h + gutter, margin + lw + gutter + rw, H - margin)]
        return Layout("uneven", margin * 2 + lw + gutter + rw, H, cells)
    if variant == 1:  # wide top, three below
        cw, ch = int(rng.integers(300, 380)), int(rng.integers(260, 340))
        W = margin * 2 + 3 * cw + 2 * gutter
        top_h = max(int(rng.integers(300, 380)), int((W - 2 * margin) / 2.8))
        cells = [(margin, margin, W - margin, margin + top_h)] + [
            (margin + c * (cw + gutter), margin + top_h + gutter, margin + c * (cw + gutter) + cw, margin + top_h + gutter + ch)
            for c in range(3)
        ]
        return Layout("uneven", W, margin * 2 + top_h + gutter + ch, cells)
    # two of different widths on top, one wide below
    w1, w2, h1, h2 = (int(rng.integers(a, b)) for a, b in ((260, 340), (420, 560), (280, 360), (300, 380)))
    W = margin * 2 + w1 + gutter + w2
    h2 = max(h2, int((W - 2 * margin) / 2.8))
    cells = [(margin, margin, margin + w1, margin + h1), (margin + w1 + gutter, margin, W - margin, margin + h1),
             (margin, margin + h1 + gutter, W - margin, margin + h1 + gutter + h2)]
    return Layout("uneven", W, margin * 2 + h1 + gutter + h2, cells)


def make_layout(rng, kind: str) -> Layout:
    margin = int(rng.integers(6, 20))
    shapes = [(2, 2), (2, 3), (1, 3), (3, 1), (1, 2), (2, 1)]
    r, c = shapes[int(rng.integers(len(shapes)))]
    if kind == "single":
        w, h = int(rng.integers(420, 900)), int(rng.integers(360, 760))
        return Layout("single", w + 2 * margin, h + 2 * margin, [(margin, margin, margin + w, margin + h)])
    if kind == "grid":
        return _grid(rng, r, c, int(rng.integers(14, 44)), margin, kind)
    if kind == "thin":
        return _grid(rng, r, c, int(rng.integers(3, 6)), margin, kind)
    if kind == "lines":
        return _grid(rng, r, c, 6, margin, kind, line=True)
    return _uneven(rng, int(rng.integers(12, 36)), margin)


def _caption(rng, letters: list[str], style: str, texts: list[str]) -> tuple[str, str, list[str]]:
    """(plain caption, JATS caption-p inner XML, expected sub-caption per panel)."""
    n = len(letters)
    groups = [[i] for i in range(n)]
    if n >= 3 and style == "paren" and rng.random() < 0.4:  # shared text: (a,b) or (a–c)
        groups = [[0, 1]] + [[i] for i in range(2, n)]
    plain, xml, expected = [], [], [None] * n
    for g in groups:
        ls = [letters[i] for i in g]
        text = texts[g[0]]
        spec = ls[0] if len(ls) == 1 else (f"{ls[0]},{ls[1]}" if len(ls) == 2 and rng.random() < 0.5 else f"{ls[0]}–{ls[-1]}")
        if style == "paren":
            p = x = f"({spec}) {text}"
        elif style == "nature":
            p, x = f"{spec}, {text}", f"<bold>{spec}</bold>, {text}"
        elif style == "pipe":
            p = x = f"{spec} | {text}"
        elif style == "colon":
            p = x = f"{spec}: {text}"
        else:
            p, x = f"{spec} {text}", f"<bold>{spec}</bold> {text}"
        plain.append(p)
        xml.append(x)
        for i in g:
            expected[i] = text
    return " ".join(plain), " ".join(xml), expected


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _license_xml(spdx: str | None, rng) -> str:
    if spdx is None:
        return "<permissions><copyright-statement>© 2024 The Authors</copyright-statement></permissions>"
    url = LICENSES[spdx]
    form = int(rng.integers(3))
    if form == 0:
        return f'<permissions><license xlink:href="{url}" license-type="open-access"><license-p>Open access.</license-p></license></permissions>'
    if form == 1:
        return f'<permissions><license><ali:license_ref>{url}</ali:license_ref><license-p>This article is distributed under the terms of the license.</license-p></license></permissions>'
    return (f'<permissions><license license-type="open-access"><license-p>This is an open access article under the '
            f'<ext-link ext-link-type="uri" xlink:href="{url}">Creative Commons</ext-link> license.</license-p></license></permissions>')


def generate(out: str | os.PathLike, articles: int = 12, seed: int = 0) -> dict:
    """Write the corpus under ``out``; returns (and writes) the manifest."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"seed": seed, "articles": [], "figures": [], "expected_rejects": [], "duplicate_groups": []}
    dup_pool: list[dict] = []  # single-panel schematic figures that later articles may reuse
    for a in range(articles):
        doi = f"10.5555/sciir.synth.{seed}.{a}"
        aid = article_id_for(doi, "")
        r = rng.random()
        spdx = "CC-BY-4.0" if r < 0.8 or a == 0 else ("CC-BY-NC-4.0" if r < 0.9 else (None if r < 0.95 else "CC-BY-ND-4.0"))
        name = f"PMC{900000 + seed * 1000 + a}"
        archive = a % 3 == 2
        subjects = [str(s) for s in rng.choice(SUBJECTS, size=2, replace=False)]
        files: dict[str, bytes] = {}
        figs_xml: list[str] = []
        n_figs = int(rng.integers(2, 5))
        for f in range(n_figs):
            fig_id = f"fig{f + 1}"
            fid = figure_id_for(aid, fig_id)
            roll = rng.random()
            kind = ("grid" if roll < 0.22 else "thin" if roll < 0.36 else "lines" if roll < 0.5 else "uneven" if roll < 0.64 else "single")
            content = "schematic"
            if kind == "single" and rng.random() < 0.45:
                content = str(rng.choice(["chart", "photo", "text"]))
            entry = {"doi": doi, "article_id": aid, "source": name + (".tar.gz" if archive else ""), "fig_id": fig_id,
                     "figure_id": fid, "layout": kind, "content": content, "panels": [], "expected": "ingest"}
            fmt = "PNG" if rng.random() < 0.75 else "JPEG"
            ext = ".png" if fmt == "PNG" else ".jpg"
            reuse = dup_pool and kind == "single" and content == "schematic" and rng.random() < 0.5
            if reuse:
                src = dup_pool[int(rng.integers(len(dup_pool)))]
                near = rng.random() < 0.5
                img = Image.open(io.BytesIO(src["bytes"]))
                if near:
                    img = img.convert("RGB").resize((int(img.width * 0.92), int(img.height * 0.92)), Image.Resampling.BICUBIC)
                    img = ImageEnhance.Brightness(img).enhance(1.03)
                    data, ext = to_bytes(img, "JPEG"), ".jpg"
                else:
                    data, ext = src["bytes"], src["ext"]
                truth = [(0, 0, img.width, img.height)]
                letters = [None]
                dup_of = (src, "near" if near else "exact")
            else:
                layout = make_layout(rng, kind)
                letters = [None] if kind == "single" else [chr(97 + i) for i in range(len(layout.cells))]
                styles = ["framed", "tinted"] if kind == "thin" else ["open", "framed", "tinted"]
                specs = [PanelSpec(cell, content, letters[i], str(rng.choice(styles))) for i, cell in enumerate(layout.cells)]
                img, truth = render(layout.width, layout.height, specs, rng, layout.separators)
                if kind == "single":
                    truth = [(0, 0, layout.width, layout.height)]
                data = to_bytes(img, fmt)
                dup_of = None
            word = str(rng.choice(["ion", "heat", "carbon", "signal", "charge", "water"]))
            title = SENTENCES[content][int(rng.integers(len(SENTENCES[content])))].format(w=word)
            texts = [f"The {str(w).lower()} stage of the {word} process." for w in rng.choice(
                ["first", "second", "third", "fourth", "fifth", "sixth"], size=len(letters), replace=False)]
            if letters == [None]:
                plain, xml, expected_sub = texts[0], _esc(texts[0]), [texts[0]]
            else:
                style = CAPTION_STYLES[int(rng.integers(len(CAPTION_STYLES)))]
                plain, xml, expected_sub = _caption(rng, letters, style, texts)
                entry["caption_style"] = style
            credit = ""
            if spdx == "CC-BY-4.0" and rng.random() < 0.05:
                xml += " Reproduced from Smith et al. with permission from Elsevier."
                entry["expected"] = "third_party"
            href_stem = f"{name}-{fig_id}"
            href = href_stem if rng.random() < 0.5 else href_stem + ext  # JATS often omits the extension
            broken = rng.random()
            if spdx == "CC-BY-4.0" and entry["expected"] == "ingest" and not reuse and broken < 0.12:
                kind_b = ["truncated", "empty", "missing", "eps"][int(rng.integers(4))]
                entry["expected"] = {"truncated": "corrupt_image", "empty": "empty_file", "missing": "missing_file",
                                     "eps": "unsupported_format:eps"}[kind_b]
                if kind_b == "truncated":
                    data = data[: len(data) // 3]
                elif kind_b == "empty":
                    data = b""
                elif kind_b == "eps":
                    data, ext = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n", ".eps"
                    href = href_stem
            if entry["expected"] != "missing_file":
                files[f"{href_stem}{ext}"] = data
            W, H = img.size
            entry["panels"] = [{"bbox": list(map(int, b)), "letter": l, "sub_caption": s,
                                # the paper's geometric rules, applied to the true box
                                "expected_reject": geometric_reason(b, W, H, single=len(truth) == 1)}
                               for b, l, s in zip(truth, letters, expected_sub)]
            if spdx != "CC-BY-4.0":
                entry["expected"] = f"license:{spdx or 'unknown'}"
            if entry["expected"] == "ingest" and dup_of:
                dup_of[0]["group"].setdefault(dup_of[1], []).append(panel_id_for(fid, 0))
            elif entry["expected"] == "ingest" and kind == "single" and content == "schematic" and ext == ".png":
                dup_pool.append({"bytes": data, "ext": ext, "panel_id": panel_id_for(fid, 0), "group": {}})
            manifest["figures"].append(entry)
            if entry["expected"] != "ingest" and not entry["expected"].startswith("license:"):
                manifest["expected_rejects"].append({"item": fid, "reason": entry["expected"]})
            if entry["expected"] == "ingest":
                manifest["expected_rejects"].extend({"item": panel_id_for(fid, i), "reason": p["expected_reject"]}
                                                    for i, p in enumerate(entry["panels"]) if p["expected_reject"])
            figs_xml.append(
                f'<fig id="{fig_id}"><label>Figure {f + 1}</label><caption><title>{_esc(title)}.</title>'
                f"<p>{xml}</p></caption>{credit}<graphic xlink:href=\"{href}\"/></fig>"
            )
        if spdx != "CC-BY-4.0":
            manifest["expected_rejects"].append({"item": aid, "reason": f"license:{spdx or 'unknown'}"})
        body = " ".join(f"<sec><title>Section {i}</title><p>We study the {SUBJECTS[i % len(SUBJECTS)].lower()} of this system. See Figure {i + 1}.</p>{figs_xml[i]}</sec>"
                        for i in range(n_figs))
        xml_doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.3 20210610//EN" "JATS-archivearticle1-3.dtd">
<article xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:ali="http://www.niso.org/schemas/ali/1.0/" article-type="research-article">
<front><article-meta>
<article-id pub-id-type="pmc">{name}</article-id><article-id pub-id-type="doi">{doi}</article-id>
<article-categories><subj-group><subject>{_esc(subjects[0])}</subject></subj-group></article-categories>
<title-group><article-title>Synthetic study {a}: mechanisms of {_esc(subjects[0].lower())}</article-title></title-group>
{_license_xml(spdx, rng)}
<abstract><p>We describe a mechanism in {_esc(subjects[0].lower())} and {_esc(subjects[1].lower())} with schematic figures.</p></abstract>
<kwd-group><kwd>{_esc(subjects[1])}</kwd><kwd>mechanism</kwd></kwd-group>
</article-meta></front>
<body>{body}</body>
</article>
"""
        files[f"{name}.nxml"] = xml_doc.encode("utf-8")
        _write_package(out, name, files, archive)
        manifest["articles"].append({"doi": doi, "article_id": aid, "source": name + (".tar.gz" if archive else ""),
                                     "license": spdx, "archive": archive})
    for src in dup_pool:
        for kind_d, members in src["group"].items():
            manifest["duplicate_groups"].append({"kind": kind_d, "members": [src["panel_id"], *members]})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def _write_package(out: Path, name: str, files: dict[str, bytes], archive: bool) -> None:
    if archive:
        with tarfile.open(out / f"{name}.tar.gz", "w:gz") as tar:
            for fname, data in sorted(files.items()):
                info = tarfile.TarInfo(f"{name}/{fname}")
                info.size = len(data)
                info.mtime = 0
                tar.addfile(info, io.BytesIO(data))
        return
    d = out / name
    d.mkdir(exist_ok=True)
    for fname, data in files.items():
        (d / fname).write_bytes(data)

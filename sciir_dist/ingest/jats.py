"""JATS (PMC OA / publisher) article reader.

Parsing is done by defusedxml with entity declarations and external
references forbidden (no XXE, no entity-expansion bombs, no network), after
checking the bytes decode in the declared encoding.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Iterator

import defusedxml
import defusedxml.ElementTree as SafeET

from sciir_dist.ingest import license as lic
from sciir_dist.ingest.errors import Reject
from sciir_dist.ingest.jats_text import local as _local
from sciir_dist.ingest.jats_text import SKIP, render, text_of
from sciir_dist.ingest.model import Article, FigureRef, article_id_for
from sciir_dist.ingest.packages import XML_SUFFIXES, PackageFiles

XLINK = "{http://www.w3.org/1999/xlink}"
ALI = "{http://www.niso.org/schemas/ali/1.0/}"
#: ``abstract-type`` values of abstracts that are not the article's abstract
#: (eLife digest = executive-summary, PLoS author summary = summary, ...)
SECONDARY_ABSTRACTS = frozenset({"teaser", "summary", "digest", "graphical", "toc", "executive-summary",
                                 "editor-summary", "author-summary", "short", "web-summary", "precis"})
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""")


def parse_xml(data: bytes) -> ET.Element:
    m = _ENCODING.match(data[:200])
    encoding = m.group(1).decode() if m else "utf-8"
    try:
        data.decode(encoding)
    except LookupError:
        raise Reject("encoding", f"unknown declared encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        raise Reject("encoding", f"bytes are not valid {encoding}: {exc}") from None
    try:
        return SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.EntitiesForbidden as exc:
        if exc.sysid or exc.pubid:
            raise Reject("xml_unsafe:external_entity", f"external entity {exc.name!r} -> {exc.sysid or exc.pubid} refused") from None
        raise Reject("xml_unsafe:entities", f"entity declarations are refused (entity {exc.name!r})") from None
    except (defusedxml.ExternalReferenceForbidden, defusedxml.DTDForbidden) as exc:
        raise Reject("xml_unsafe:external", f"external references are refused ({exc})") from None
    except ET.ParseError as exc:
        raise Reject("xml_malformed", str(exc)) from None


def find_xml(files: PackageFiles) -> str:
    xmls = [n for n in files.names() if n.lower().endswith(XML_SUFFIXES)]
    if not xmls:
        raise Reject("missing_xml", "no .nxml/.xml article file in the package")
    xmls.sort(key=lambda n: (not n.lower().endswith(".nxml"), n.count("/"), n))
    return xmls[0]




def read(files: PackageFiles, source_uri: str) -> Article:
    root = parse_xml(files.read(find_xml(files)))
    if _local(root.tag) != "article":
        raise Reject("not_jats", f"root element is <{_local(root.tag)}>, expected <article>")
    front = _child(root, "front")
    meta = _child(front, "article-meta") if front is not None else None
    if meta is None:
        raise Reject("not_jats", "no <front>/<article-meta>")
    doi = next(((e.text or "").strip() for e in meta
                if _local(e.tag) == "article-id" and e.get("pub-id-type") == "doi" and (e.text or "").strip()), None)
    title_group = _child(meta, "title-group")
    title = text_of(_child(title_group, "article-title")) if title_group is not None else ""
    main, others = abstracts(meta)
    subjects = [text_of(e) for e in meta.iter() if _local(e.tag) in ("kwd", "subject") and text_of(e)]
    found = lic.resolve(license_statements(meta))
    body = text_of(_child(root, "body"))
    article = Article(
        article_id=article_id_for(doi, source_uri),
        doi=doi,
        title=title or None,
        abstract=main,
        body=body or None,
        subjects=list(dict.fromkeys(subjects)),
        license=found.spdx,
        license_url=found.url,
        license_evidence=found.evidence,
        abstracts=others,
    )
    article.figures = _figures(root)
    return article


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    return next((c for c in el if _local(c.tag) == name), None) if el is not None else None


def abstracts(meta: ET.Element) -> tuple[str | None, list[dict]]:
    """(the main abstract, the others as {type, text}). The main one is the
    first with no ``abstract-type`` or a type not in SECONDARY_ABSTRACTS;
    its heading ("Abstract") is not part of its text, section titles are."""
    main: str | None = None
    others: list[dict] = []
    for e in meta:
        name = _local(e.tag)
        if name not in ("abstract", "trans-abstract"):
            continue
        kind = (e.get("abstract-type") or "").strip().lower()
        parts = [c for c in e if _local(c.tag) and _local(c.tag) not in SKIP | {"title", "label"}]
        text = " ".join(t for t in map(text_of, parts) if t) if parts else text_of(e)
        if not text:
            continue
        if main is None and name == "abstract" and kind not in SECONDARY_ABSTRACTS:
            main = text
        else:
            lang = e.get("{http://www.w3.org/XML/1998/namespace}lang")
            others.append({"type": kind or (f"trans:{lang}" if name == "trans-abstract" and lang else name), "text": text})
    return main, others


def license_statements(meta: ET.Element) -> list[tuple[str, str]]:
    """Everything the article states about its license, as (where, what) in
    the order the license gate trusts them: license URLs first, then
    ``license-type``, then the words of the license and copyright text.
    Older NLM layouts put ``copyright-statement`` straight in article-meta."""
    perms = _child(meta, "permissions")
    scopes = [perms] if perms is not None else []
    hrefs: list[tuple[str, str]] = []
    types: list[tuple[str, str]] = []
    texts: list[tuple[str, str]] = []
    for e in [x for scope in scopes for x in scope.iter()] + [c for c in meta if _local(c.tag) == "copyright-statement"]:
        name = _local(e.tag)
        if name == "license":
            if e.get(f"{XLINK}href"):
                hrefs.append(("license/@xlink:href", e.get(f"{XLINK}href").strip()))
            if e.get("license-type"):
                types.append(("license/@license-type", e.get("license-type").strip()))
        elif e.tag == f"{ALI}license_ref" and (e.text or "").strip():
            hrefs.append(("ali:license_ref", e.text.strip()))
        elif name == "ext-link" and e.get(f"{XLINK}href"):
            hrefs.append(("license-p ext-link", e.get(f"{XLINK}href").strip()))
        elif name in ("license-p", "copyright-statement") and text_of(e):
            texts.append((name, text_of(e)))
    return hrefs + types + texts


def _main_parts(el: ET.Element, sub_article: str | None = None) -> Iterator[tuple[ET.Element, str | None]]:
    """Elements in document order with the type of the ``sub-article`` (or
    ``response``) they sit in, None for the article itself."""
    for c in el:
        name = _local(c.tag)
        inner = (c.get("article-type") or c.get("response-type") or name) if name in ("sub-article", "response") else sub_article
        yield c, inner
        yield from _main_parts(c, inner)


def _figures(root: ET.Element) -> list[FigureRef]:
    refs: list[FigureRef] = []
    figs = [(e, sub) for e, sub in _main_parts(root) if _local(e.tag) == "fig"]
    for n, (fig, sub) in enumerate(figs):
        fig_id = fig.get("id") or f"fig{n + 1}"
        label = text_of(_child(fig, "label")) or None
        caption_el = _child(fig, "caption")
        title = text_of(_child(caption_el, "title")) or None
        caption = render(caption_el, skip=frozenset({"title"}))
        credit = " ".join(
            text_of(c) for c in fig.iter() if _local(c.tag) in ("attrib", "copyright-statement", "copyright-holder", "license-p")
        ) or None
        graphics = _graphics(fig)
        for gi, g in enumerate(graphics or [None]):
            href = g.get(f"{XLINK}href") if g is not None else None
            refs.append(
                FigureRef(
                    xml_id=fig_id if len(graphics) <= 1 else f"{fig_id}-g{gi + 1}",
                    label=label,
                    title=title,
                    caption=caption.text,
                    bold=caption.bold,
                    href=href,
                    credit=credit,
                    sub_article=sub,
                )
            )
    return refs


def _graphics(fig: ET.Element) -> list[ET.Element]:
    """The figure's images: its ``graphic`` elements, one per
    ``alternatives`` (the others are the same image in another format),
    none from inside its caption (icons of source-data files)."""
    out: list[ET.Element] = []
    for c in fig:
        name = _local(c.tag)
        if name == "graphic":
            out.append(c)
        elif name == "alternatives":
            out += [g for g in c if _local(g.tag) == "graphic"][:1]
    return out

"""JATS (PMC OA / publisher) article reader.

Parsing is done by defusedxml with entity declarations and external
references forbidden (no XXE, no entity-expansion bombs, no network), after
checking the bytes decode in the declared encoding.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import defusedxml
import defusedxml.ElementTree as SafeET

from sciir_dist.ingest import license as lic
from sciir_dist.ingest.errors import Reject
from sciir_dist.ingest.model import Article, FigureRef, article_id_for
from sciir_dist.ingest.packages import XML_SUFFIXES, PackageFiles

XLINK = "{http://www.w3.org/1999/xlink}"
ALI = "{http://www.niso.org/schemas/ali/1.0/}"
_PANEL_BOLD = re.compile(r"^\s*\(?[a-zA-Z](?:\s*[,–—-]\s*[a-zA-Z])*\)?[.,:|]?\s*$")
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


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


def text_of(el: ET.Element | None, *, mark_bold: bool = False) -> str:
    """Element text with whitespace collapsed; bold single-letter panel
    markers become **a** when ``mark_bold``."""
    if el is None:
        return ""
    parts: list[str] = []

    def walk(e: ET.Element) -> None:
        if e.text:
            parts.append(e.text)
        for c in e:
            name = _local(c.tag)
            if mark_bold and name == "bold" and _PANEL_BOLD.match("".join(c.itertext())):
                parts.append(f" **{''.join(c.itertext()).strip()}** ")
            elif name in ("p", "title", "sec"):
                parts.append(" ")
                walk(c)
                parts.append(" ")
            else:
                walk(c)
            if c.tail:
                parts.append(c.tail)

    walk(el)
    return re.sub(r"\s+", " ", "".join(parts)).strip()


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
    meta = next((e for e in root.iter() if _local(e.tag) == "article-meta"), None)
    if meta is None:
        raise Reject("not_jats", "no <article-meta>")
    doi = None
    for e in meta.iter():
        if _local(e.tag) == "article-id" and e.get("pub-id-type") == "doi":
            doi = (e.text or "").strip() or None
            break
    title = text_of(next((e for e in meta.iter() if _local(e.tag) == "article-title"), None)) or None
    abstract = text_of(next((e for e in meta.iter() if _local(e.tag) == "abstract"), None)) or None
    subjects = [text_of(e) for e in meta.iter() if _local(e.tag) in ("kwd", "subject") and text_of(e)]
    license_spdx, license_url = _license(meta)
    body = text_of(next((e for e in root if _local(e.tag) == "body"), None)) or None
    article = Article(
        article_id=article_id_for(doi, source_uri),
        doi=doi,
        title=title,
        abstract=abstract,
        body=body,
        subjects=list(dict.fromkeys(subjects)),
        license=license_spdx,
        license_url=license_url,
    )
    article.figures = _figures(root)
    return article


def _license(meta: ET.Element) -> tuple[str | None, str | None]:
    perms = next((e for e in meta if _local(e.tag) == "permissions"), None)
    if perms is None:
        return None, None
    statements: list[str] = []
    url = None
    for e in perms.iter():
        name = _local(e.tag)
        if name == "license":
            href = e.get(f"{XLINK}href")
            if href:
                url = url or href
                statements.append(href)
            if e.get("license-type"):
                statements.append(e.get("license-type"))
        elif e.tag == f"{ALI}license_ref" and e.text:
            url = url or e.text.strip()
            statements.append(e.text.strip())
        elif name == "ext-link" and e.get(f"{XLINK}href"):
            statements.append(e.get(f"{XLINK}href"))
        elif name == "license-p":
            statements.append(text_of(e))
    return lic.normalize(*statements), url


def _figures(root: ET.Element) -> list[FigureRef]:
    refs: list[FigureRef] = []
    for n, fig in enumerate(e for e in root.iter() if _local(e.tag) == "fig"):
        fig_id = fig.get("id") or f"fig{n + 1}"
        label = text_of(next((c for c in fig if _local(c.tag) == "label"), None)) or None
        caption_el = next((c for c in fig if _local(c.tag) == "caption"), None)
        title = None
        caption_parts = []
        if caption_el is not None:
            for c in caption_el:
                if _local(c.tag) == "title":
                    title = text_of(c) or None
                elif _local(c.tag) == "p":
                    caption_parts.append(text_of(c, mark_bold=True))
        credit = " ".join(
            text_of(c) for c in fig.iter() if _local(c.tag) in ("attrib", "copyright-statement", "copyright-holder")
        ) or None
        graphics = [g for g in fig.iter() if _local(g.tag) == "graphic"]
        for gi, g in enumerate(graphics or [None]):
            href = g.get(f"{XLINK}href") if g is not None else None
            refs.append(
                FigureRef(
                    xml_id=fig_id if len(graphics) <= 1 else f"{fig_id}-g{gi + 1}",
                    label=label,
                    title=title,
                    caption=" ".join(caption_parts),
                    href=href,
                    credit=credit,
                )
            )
    return refs

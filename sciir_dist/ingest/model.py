"""What readers hand to the ingest pipeline: format-independent articles
and figure references. Readers know formats; the pipeline knows rules."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field


@dataclass
class FigureRef:
    xml_id: str  # unique within the article; the figure id is built from it
    label: str | None
    title: str | None
    caption: str  # plain text
    href: str | None  # file inside the package (None when the source gave none)
    credit: str | None = None  # attribution / copyright statements of the figure
    #: where the source set text in bold in ``caption`` (start, end): panel letters often are
    bold: tuple[tuple[int, int], ...] = ()
    #: type of the sub-article (decision letter, author response, ...) the
    #: figure belongs to; None for the article's own figures
    sub_article: str | None = None


@dataclass
class Article:
    article_id: str
    doi: str | None
    title: str | None
    abstract: str | None
    body: str | None
    subjects: list[str]
    license: str | None  # SPDX id or None when unknown
    license_url: str | None
    figures: list[FigureRef] = field(default_factory=list)
    #: why the license is what it is (the statement that decided, or why none did)
    license_evidence: str = ""
    #: the other abstracts (digest, author summary, teaser, translations) as {type, text}
    abstracts: list[dict] = field(default_factory=list)


def clean_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:64] or "x"


def article_id_for(doi: str | None, fallback: str) -> str:
    """Deterministic article id: from the DOI when there is one (the same paper
    from two sources gets one id), else from the source location."""
    key = f"doi:{doi.strip().lower()}" if doi else f"src:{fallback}"
    return "a" + hashlib.sha256(key.encode()).hexdigest()[:15]


def figure_id_for(article_id: str, xml_id: str) -> str:
    return f"{article_id}.{clean_id(xml_id)}"


def panel_id_for(figure_id: str, index: int) -> str:
    return f"{figure_id}.p{index}"


def reject_id_for(stage: str, item: str, reason: str) -> str:
    return hashlib.sha256(f"{stage}\0{item}\0{reason}".encode()).hexdigest()[:24]

"""Plain text of JATS elements: the one renderer every field goes through
(titles, abstracts, captions, body, license statements).

Publishers mark up the same text in many ways, so the rules are per
construct, not per field:

- inline markup (``bold``, ``italic``, ``sup``, ``sub``, ``sc``,
  ``monospace``, ``underline``, ``ext-link``, ``xref``, ``named-content``,
  ...) is its text, joined exactly as in the XML: ``(<bold>A</bold>)`` is
  "(A)", ``***p`` stays ``***p``; no character is ever invented;
- block elements (``p``, ``title``, ``list-item``, ``td``/``th``, ``def``,
  ``disp-quote``, ...) and ``break`` are separated by one space; all
  whitespace runs collapse to one space;
- ``object-id`` (eLife DOIs of figures and abstracts) and
  ``supplementary-material`` (source-data files listed inside captions) are
  not text of the element they sit in and are left out;
- ``alternatives`` keeps one rendering: the MathML text if there is MathML,
  else ``textual-form``, else the TeX source (the only rendering left); a
  lone ``tex-math`` (no alternative) is kept as written; MathML
  ``annotation`` (usually TeX again) is left out;
- ``sub-article`` and ``response`` are separate documents, never part of
  the text of their parent.

Where ``<bold>`` runs land in the text is returned beside it (``Text.bold``),
so the sub-caption parser can use bold panel letters without the caption
text being rewritten.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

Span = tuple[int, int]

BLOCK = frozenset({
    "p", "title", "label", "list", "list-item", "td", "th", "tr", "thead", "tbody", "tfoot", "table",
    "def", "def-item", "def-list", "term", "disp-quote", "disp-formula", "sec", "caption", "fig",
    "table-wrap", "table-wrap-foot", "fn", "attrib", "statement", "boxed-text", "array", "verse-group",
    "verse-line", "ref", "abstract", "trans-abstract", "license-p", "copyright-statement", "break",
    "speech", "speaker", "glossary",
})
SKIP = frozenset({"object-id", "supplementary-material", "sub-article", "response", "annotation",
                  "annotation-xml"})
#: preference among the renderings an ``alternatives`` element offers
_RENDERINGS = ("math", "textual-form", "tex-math")


@dataclass(frozen=True)
class Text:
    text: str
    #: where each ``<bold>`` run is in ``text`` (start, end), in document order
    bold: tuple[Span, ...] = ()


def local(tag: object) -> str:
    """Element name without namespace (comments and PIs have none)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class _Builder:
    """Collapses whitespace as text arrives, so offsets of bold runs are
    offsets in the final string."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.gap = False  # a space is owed before the next word

    def add(self, s: str | None) -> None:
        if not s:
            return
        words = " ".join(s.split())
        if s[0].isspace():
            self.gap = True
        if words:
            if self.gap and self.size:
                self.parts.append(" ")
                self.size += 1
            self.parts.append(words)
            self.size += len(words)
            self.gap = False
        if s[-1].isspace():
            self.gap = True

    def text(self) -> str:
        return "".join(self.parts)


def render(el: ET.Element | None, *, skip: frozenset[str] = frozenset()) -> Text:
    """Text of ``el`` by the rules above; ``skip`` names further child
    elements to leave out (e.g. a caption's ``title``, kept in its own field)."""
    if el is None:
        return Text("")
    out = _Builder()
    bold: list[Span] = []
    drop = SKIP | skip

    def walk(e: ET.Element) -> None:
        out.add(e.text)
        for c in e:
            name = local(c.tag)
            if name and name not in drop:
                if name == "alternatives":
                    walk_one(_preferred(c))
                elif name == "bold":
                    before = len(out.parts), out.size
                    walk_one(c)
                    _record(bold, out, before)
                elif name in BLOCK:
                    out.gap = True
                    walk_one(c)
                    out.gap = True
                else:
                    walk_one(c)
            out.add(c.tail)

    def walk_one(c: ET.Element | None) -> None:
        if c is not None:
            walk(c)

    walk(el)
    return Text(out.text(), tuple(bold))


def text_of(el: ET.Element | None, *, skip: frozenset[str] = frozenset()) -> str:
    return render(el, skip=skip).text


def _preferred(alternatives: ET.Element) -> ET.Element | None:
    kids = [c for c in alternatives if local(c.tag)]
    for want in _RENDERINGS:
        for c in kids:
            if local(c.tag) == want:
                return c
    return next((c for c in kids if local(c.tag) not in SKIP), None)


def _record(bold: list[Span], out: _Builder, before: tuple[int, int]) -> None:
    """The span of what the bold run added (without the space owed before it)."""
    first, size = before
    added = "".join(out.parts[first:])
    if not added.strip():
        return
    start = size + (len(added) - len(added.lstrip(" ")))
    bold.append((start, out.size))

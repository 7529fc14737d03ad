"""Independent reference extraction for the JATS test corpus in this folder.

Written from the JATS tag library and the files themselves, without looking at
the project's own reader. Run ``python tests/data/jats/oracle.py`` to rewrite
``expected.json`` next to this file. Judgement calls are listed in README.md.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

from lxml import etree

HERE = Path(__file__).resolve().parent
XLINK = "{http://www.w3.org/1999/xlink}href"

# abstract-type values that mark a secondary abstract (not the main one)
NON_MAIN_ABSTRACT_TYPES = {"teaser", "summary", "digest", "graphical", "toc", "executive-summary"}

# elements whose content is separated from its neighbours by one space
BLOCK = {
    "p", "title", "list-item", "td", "th", "def", "disp-quote", "sec", "list",
    "tr", "caption", "boxed-text", "table-wrap", "disp-formula", "def-item",
    "term", "label", "fig", "abstract",
}

# a bold element whose whole text is a panel marker: "A", "(A)", "A.", "B–F", "(B-F)"
BOLD_MARKER = re.compile(r"^\(?([A-Za-z])(?:\s*[\u2013\u2014-]\s*([A-Za-z]))?\)?[.,:]?$")
# a plain-text panel marker: "(A)" or "(B–F)" standing on its own
PAREN_MARKER = re.compile(r"(?:(?<=^)|(?<=[\s;:,.]))\(([A-Za-z])(?:\s*[\u2013\u2014-]\s*([A-Za-z]))?\)(?=\s|$|[,;:.])")
# text allowed between two markers that share one description
# a bold element listing letters that share one description: "A, B", "C, D", "D, E, F"
BOLD_LIST = re.compile(r"^\(?([A-Za-z](?:\s*(?:,|and|&)\s*[A-Za-z])+)\)?[.,:]?$")
LIST_SPLIT = re.compile(r"\s*(?:,|\band\b|&)\s*")
# end of a sentence or clause, for the description in front of a postfix marker
SENTENCE_END = re.compile(r"[.;:](?=\s|$)")
# what follows a marker that closes its description ("pet dogs (A), hand raising (B) and ...")
POSTFIX_FOLLOW = re.compile(r"(?:[,;.)]|and\b|or\b|&)")
# separators left in front of a postfix description
POSTFIX_LEAD = re.compile(r"^(?:[\s,;)]|and\b|or\b|&)+")
GROUP_SEP = re.compile(r"^\s*(?:,|and|&)?\s*$")
RANGE_SEP = re.compile(r"^\s*[\u2013\u2014-]\s*$")


def local(el) -> str:
    if not isinstance(el.tag, str):
        return ""
    return etree.QName(el).localname


def collapse(s: str) -> str:
    """Collapse every run of (Unicode) whitespace to one space, strip the ends."""
    return " ".join(s.split())


class Renderer:
    """Plain text of an element; optionally records bold panel-marker spans."""

    def __init__(self, exclude: set[str], record_bold: bool = False):
        self.exclude = exclude
        self.record_bold = record_bold
        self.parts: list[str] = []
        self.pos = 0
        self.bold_spans: list[tuple[int, int, str]] = []

    def emit(self, s: str | None):
        if s:
            self.parts.append(s)
            self.pos += len(s)

    def walk(self, el):
        name = local(el)
        if not name:  # comment / processing instruction: only its tail counts
            return
        if name in self.exclude:
            return
        if name == "alternatives":
            self.alternatives(el)
            return
        if name == "tex-math":
            return
        block = name in BLOCK
        if block:
            self.emit(" ")
        start = self.pos
        self.emit(el.text)
        for child in el:
            self.walk(child)
            self.emit(child.tail)
        if self.record_bold and name == "bold":
            self.bold_spans.append((start, self.pos, "".join(self.parts)[start:self.pos]))
        if block:
            self.emit(" ")

    def alternatives(self, el):
        kids = [c for c in el if local(c)]
        mml = [c for c in kids if local(c) == "math"]
        if mml:
            self.walk(mml[0])
            return
        tf = [c for c in kids if local(c) == "textual-form"]
        if tf:
            self.walk(tf[0])
            return
        # otherwise (graphic / table / media ...): render the first non-tex child
        for c in kids:
            if local(c) != "tex-math":
                self.walk(c)
                return

    def text(self) -> str:
        return "".join(self.parts)


def render(el, exclude=()) -> str:
    if el is None:
        return ""
    r = Renderer(set(exclude))
    r.walk(el)
    return collapse(r.text())


def in_sub_article(el) -> bool:
    p = el.getparent()
    while p is not None:
        if local(p) == "sub-article":
            return True
        p = p.getparent()
    return False


def children(el, name):
    return [c for c in el if local(c) == name]


def first_desc(el, name):
    for d in el.iter():
        if local(d) == name:
            return d
    return None


def article_meta(root):
    front = children(root, "front")
    if not front:
        return None
    am = children(front[0], "article-meta")
    return am[0] if am else None


# ---------------------------------------------------------------- licence

CC_URL = re.compile(
    r"creativecommons\.org/licenses/((?:by)(?:-nc)?(?:-sa)?(?:-nd)?)(?:/(\d+(?:\.\d+)?))?",
    re.I,
)
CC0_URL = re.compile(r"creativecommons\.org/publicdomain/zero/(\d+(?:\.\d+)?)", re.I)


def license_id_from(url: str | None, text: str) -> str:
    for source in (url or "", text or ""):
        m = CC0_URL.search(source)
        if m:
            return f"CC0-{m.group(1)}"
        m = CC_URL.search(source)
        if m and m.group(2):
            return "CC-" + m.group(1).upper() + "-" + m.group(2)
    return "unknown"


def license_info(am):
    perms = children(am, "permissions") if am is not None else []
    if not perms:
        return {"license_url": None, "license_id": "unknown", "license_text": None,
                "copyright_statement": None}
    perm = perms[0]
    cs = children(perm, "copyright-statement")
    lic = children(perm, "license")
    url = None
    text = None
    if lic:
        lic = lic[0]
        url = lic.get(XLINK)
        if not url:
            ref = children(lic, "license_ref")
            if ref:
                url = collapse(ref[0].text or "") or None
        if not url:
            for d in lic.iter():
                if local(d) == "ext-link" and d.get(XLINK):
                    url = d.get(XLINK)
                    break
        paras = [c for c in lic if local(c) in ("license-p", "p")]
        text = collapse(" ".join(render(p) for p in paras)) or None
    return {
        "license_url": url,
        "license_id": license_id_from(url, text or ""),
        "license_text": text,
        "copyright_statement": render(cs[0]) if cs else None,
    }


# ---------------------------------------------------------------- abstracts


def _without_heading(ab):
    """The abstract without its own <title> ("Abstract"): a display heading,
    like a label, not content (section titles inside it stay)."""
    ab = copy.deepcopy(ab)
    for child in list(ab):
        if local(child) == "title":
            ab.remove(child)
    return ab


def abstracts(am):
    out_main = None
    others = []
    trans = []
    if am is None:
        return out_main, others, trans
    for ab in children(am, "abstract"):
        kind = ab.get("abstract-type")
        text = render(_without_heading(ab), exclude=("object-id", "label"))
        if out_main is None and (kind is None or kind not in NON_MAIN_ABSTRACT_TYPES):
            out_main = text
        else:
            others.append({"type": kind, "text": text})
    for ab in children(am, "trans-abstract"):
        trans.append({"lang": ab.get("{http://www.w3.org/XML/1998/namespace}lang"),
                      "text": render(ab, exclude=("object-id", "label"))})
    return out_main, others, trans


# ---------------------------------------------------------------- panels


def _letters(a: str, b: str | None) -> list[str]:
    a = a.lower()
    if not b:
        return [a]
    b = b.lower()
    if ord(b) < ord(a):
        return [a, b]
    return [chr(c) for c in range(ord(a), ord(b) + 1)]


def _list_letters(body: str) -> list[str] | None:
    """'C, D' / 'D, E, F' / 'a and b' -> ['c', 'd'] ...; None unless strictly ascending, one case."""
    parts = [p for p in LIST_SPLIT.split(body.strip()) if p]
    if len(parts) < 2 or any(len(p) != 1 or not p.isalpha() for p in parts):
        return None
    if len({p.isupper() for p in parts}) != 1:
        return None
    low = [p.lower() for p in parts]
    if any(b <= a for a, b in zip(low, low[1:])):
        return None
    return low


def find_markers(raw: str, bold_spans):
    """Candidate markers as (start, end, first_char, [letters]) in text order."""
    marks = []
    for s, e, t in bold_spans:
        t = t.strip()
        m = BOLD_MARKER.match(t)
        if m:
            first, letters = m.group(1), _letters(m.group(1), m.group(2))
        else:
            m = BOLD_LIST.match(t)
            letters = _list_letters(m.group(1)) if m else None
            if not letters:
                continue
            first = m.group(1).strip()[0]
        # the parentheses around a bold letter belong to the marker
        if s > 0 and raw[s - 1] == "(":
            s -= 1
        if e < len(raw) and raw[e] == ")":
            e += 1
        marks.append((s, e, first, letters))
    kind = "bold"
    if not marks:
        kind = "paren"
        for m in PAREN_MARKER.finditer(raw):
            marks.append((m.start(), m.end(), m.group(1), _letters(m.group(1), m.group(2))))
    marks.sort()
    return marks, (kind if marks else None)


def _group(raw: str, marks):
    """Accepted marker groups [start, end, letters]: one case, ascending, ranges and shared
    descriptions merged; empty unless the set starts at A/a."""
    upper = marks[0][2].isupper()
    accepted = []  # (start, end, [letters])
    last = None
    for s, e, first, letters in marks:
        if first.isupper() != upper:
            continue
        if last is not None and letters[0] <= last:
            continue  # a back-reference like "Similar to (B)": stays text
        accepted.append((s, e, letters))
        last = letters[-1]
    # merge markers that share one description: "(A) and (B)", "(B)–(H)"
    groups = []  # [start_of_first, end_of_last, letters]
    for s, e, letters in accepted:
        if groups:
            between = raw[groups[-1][1]:s]
            if RANGE_SEP.match(between):
                prev = groups[-1][2][-1]
                groups[-1][2].extend(_letters(chr(ord(prev) + 1), letters[-1]) if letters[-1] > prev else letters)
                groups[-1][1] = e
                continue
            if GROUP_SEP.match(between) and between.strip():
                groups[-1][2].extend(letters)
                groups[-1][1] = e
                continue
        groups.append([s, e, list(letters)])
    if groups and groups[0][2][0] != "a":
        return []  # "(n)", "(C)" alone: not a lettered panel set
    return groups


def _lead_start(raw: str, upto: int) -> int:
    """Start of the sentence (clause after '.', ';' or ':') that contains position upto."""
    start = 0
    for m in SENTENCE_END.finditer(raw, 0, upto):
        start = m.end()
    return start


def is_postfix(raw: str, groups) -> bool:
    """Markers that close their description: 'with pet dogs (A), hand raising (B), ...'."""
    lead = raw[_lead_start(raw, groups[0][0]):groups[0][0]]
    if not lead.strip():
        return False
    for i, (s, e, letters) in enumerate(groups):
        nxt = groups[i + 1][0] if i + 1 < len(groups) else len(raw)
        follow = raw[e:nxt].lstrip()
        if not follow or POSTFIX_FOLLOW.match(follow):
            continue
        if i == len(groups) - 1 and follow.startswith("("):
            continue  # a closing parenthetical: "(F) (Photographers: ...)"
        return False
    return True


def _enclosing_close(raw: str, groups) -> int | None:
    """'(A: Paw demonstration; B: Mouth demonstration) of ...': the first marker opens a
    parenthesis it does not close; the list ends at the matching ')'."""
    s, e, _ = groups[0]
    if not raw[s:e].startswith("(") or ")" in raw[s:e]:
        return None
    depth = 1
    for i in range(e, len(raw)):
        if raw[i] == "(":
            depth += 1
        elif raw[i] == ")":
            depth -= 1
            if depth == 0:
                return i if i >= groups[-1][1] else None
    return None


def panels(raw: str, bold_spans):
    marks, kind = find_markers(raw, bold_spans)
    if not marks:
        return {}, None, None
    groups = _group(raw, marks)
    if not groups:
        return {}, None, None
    result = {}
    if is_postfix(raw, groups):
        for i, (s, e, letters) in enumerate(groups):
            start = groups[i - 1][1] if i else _lead_start(raw, s)
            text = collapse(raw[start:s])
            text = collapse(POSTFIX_LEAD.sub("", text)).rstrip(" (")
            for letter in letters:
                result.setdefault(letter, text)
        return result, kind, "postfix"
    close = _enclosing_close(raw, groups)
    for i, (s, e, letters) in enumerate(groups):
        end = groups[i + 1][0] if i + 1 < len(groups) else (close if close is not None else len(raw))
        text = collapse(raw[e:end])
        text = text.lstrip(" ),.:;").rstrip(" (")
        text = collapse(text)
        for letter in letters:
            result.setdefault(letter, text)
    return result, kind, "prefix"


# ---------------------------------------------------------------- figures

CAPTION_EXCLUDE = ("object-id", "supplementary-material")


def figure(fig):
    label = children(fig, "label")
    cap = children(fig, "caption")
    title = None
    paras = []
    raw = ""
    spans: list[tuple[int, int, str]] = []
    if cap:
        cap = cap[0]
        t = children(cap, "title")
        title = render(t[0], exclude=CAPTION_EXCLUDE) if t else None
        r = Renderer(set(CAPTION_EXCLUDE), record_bold=True)
        first = True
        for p in children(cap, "p"):
            if not first:
                r.emit(" ")
            first = False
            r.walk(p)
        raw = r.text()
        spans = r.bold_spans
    graphics = []
    for d in fig.iter():
        if local(d) in ("graphic",) and d.get(XLINK):
            anc = d.getparent()
            inside_caption = False
            while anc is not None and anc is not fig:
                if local(anc) == "caption":
                    inside_caption = True
                anc = anc.getparent()
            if not inside_caption:
                graphics.append(d.get(XLINK))
    pan, kind, style = panels(raw, spans)
    return {
        "id": fig.get("id"),
        "label": render(label[0]) if label else None,
        "caption_title": title,
        "caption_text": collapse(raw),
        "graphics": graphics,
        "panels": pan,
        "panel_markers": kind,
        "panel_style": style,
    }


# ---------------------------------------------------------------- article


def extract(path: Path) -> dict:
    parser = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False,
                             huge_tree=False)
    root = etree.parse(str(path), parser).getroot()
    am = article_meta(root)
    doi = None
    title = None
    if am is not None:
        for aid in children(am, "article-id"):
            if aid.get("pub-id-type") == "doi":
                doi = collapse(aid.text or "")
        tg = children(am, "title-group")
        if tg:
            at = children(tg[0], "article-title")
            title = render(at[0]) if at else None
    main, others, trans = abstracts(am)
    figs = [figure(f) for f in root.iter() if local(f) == "fig" and not in_sub_article(f)]
    out = {
        "article_type": root.get("article-type"),
        "doi": doi,
        "title": title,
        "abstract": main,
        "other_abstracts": others,
        "trans_abstracts": trans,
        "sub_articles": len([e for e in root.iter() if local(e) == "sub-article"]),
        "figures": figs,
    }
    out.update(license_info(am))
    return out


def main() -> int:
    result = {p.name: extract(p) for p in sorted(HERE.glob("*.xml"))}
    (HERE / "expected.json").write_text(
        json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    n_fig = sum(len(a["figures"]) for a in result.values())
    n_pan = sum(1 for a in result.values() for f in a["figures"] if f["panels"])
    print(f"{len(result)} articles, {n_fig} figures, {n_pan} with panel sub-captions")
    return 0


if __name__ == "__main__":
    sys.exit(main())

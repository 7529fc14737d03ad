"""Split a figure caption into per-panel sub-captions.

Recognised markers: "(a)", "(a,b)" / "(a and b)" shared text, "(a–c)" /
"a–c," ranges, "a," and "a |" and "a." at the start of a sentence, "a:" and
letters the source set in bold (``Bold`` spans beside the plain caption
text, as the JATS reader reports ``<bold>`` runs: "<bold>A</bold>, text",
"(<bold>B</bold>–<bold>F</bold>) text"). Markers are accepted only in
alphabetical sequence from "a", so references back to an earlier panel ("as
in (a)") are not mistaken for new sections.

Markers usually head their text ("(A) Wild type. (B) Mutant."), but some
publishers close each description with its marker ("wild type (A), mutant
(B) and their overlay (C)."): when every marker but the last ends a phrase
(a comma, semicolon, "and" or the sentence end follows it) and each panel then
has text of its own, the text before a marker is its panel's. A list opened
by a bracket ("(A: paw; B: mouth) of ...") ends where the bracket closes.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

_DASH = "-–—‒"
_L = r"[a-zA-Z]"
_LIST = rf"{_L}(?:\s*(?:[{_DASH}]|,|and|&)\s*{_L})*"

_MARKERS = [
    # (a)  (a,b)  (a–c)  (a and b)
    re.compile(rf"\(\s*(?P<l>{_LIST})\s*\)"),
    # a, / a. / a: / a | / a–c,  at caption start, after a sentence end or opening a bracketed list
    re.compile(rf"(?:(?<=^)|(?<=[.;]\s)|(?<=[.;]\s\s)|(?<=\())(?P<l>{_LIST})\s*(?:[,:|]|\.(?=\s))"),
]
#: what a bold run must hold to be a panel marker: "A", "(a)", "B–F", "a,b", "A." ...
_BOLD_MARKER = re.compile(rf"\(?\s*(?P<l>{_LIST})\s*\)?\s*[.,:|]?")
#: what may stand between two bold letters that form one marker ("B–F", "A, B", "(B)–(H)", "(A) and (B)")
_BOLD_JOIN = re.compile(rf"\s*\)?\s*(?:[{_DASH}]|,|and|&)\s*\(?\s*")
#: punctuation after a bold marker that belongs to it: "(A)", "A,", "A.", "A:", "A |"
_AFTER_BOLD = re.compile(r"\s*\)?\s*[.,:|]?")

Bold = tuple[int, int]


@dataclass(frozen=True)
class Segment:
    letters: tuple[str, ...]
    text: str


def _expand(spec: str) -> tuple[str, ...]:
    spec = re.sub(r"\s+", "", spec.lower()).replace("and", ",").replace("&", ",")
    out: list[str] = []
    for part in spec.split(","):
        m = re.fullmatch(rf"([a-z])[{_DASH}]([a-z])", part)
        if m:
            a, b = m.groups()
            if a <= b:
                out.extend(string.ascii_lowercase[ord(a) - 97 : ord(b) - 96])
        elif len(part) == 1:
            out.append(part)
    return tuple(out)


def _bold_markers(caption: str, bold: tuple[Bold, ...]) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, letters) of bold runs that are panel markers, runs
    joined by a dash, comma or "and" merged, with their brackets and
    trailing punctuation."""
    runs: list[list[int]] = []
    for s, e in sorted(bold):
        if runs and _BOLD_JOIN.fullmatch(caption[runs[-1][1]: s]):
            runs[-1][1] = e
        else:
            runs.append([s, e])
    out = []
    for s, e in runs:
        m = _BOLD_MARKER.fullmatch(re.sub(r"[()]", " ", caption[s:e]).strip())
        letters = _expand(m.group("l")) if m else ()
        if not letters:
            continue
        if caption[:s].rstrip().endswith("("):
            s = caption[:s].rstrip().rindex("(")
        e += _AFTER_BOLD.match(caption, e).end() - e
        out.append((s, e, letters))
    return out


def _markers(caption: str, bold: tuple[Bold, ...] = ()) -> list[tuple[int, int, tuple[str, ...]]]:
    """Accepted markers (start, end, letters): in sequence from "a", not overlapping."""
    found = _bold_markers(caption, bold)
    for rx in _MARKERS:
        for m in rx.finditer(caption):
            letters = _expand(m.group("l"))
            if letters:
                found.append((m.start(), m.end(), letters))
    found.sort(key=lambda f: (f[0], -f[1]))  # at one place the longest reading: "a,b" over "a,"
    accepted = []
    expected = "a"
    last_end = -1
    for start, end, letters in found:
        if start < last_end:
            continue
        if letters[0] == expected and list(letters) == sorted(set(letters)):
            accepted.append((start, end, letters))
            expected = chr(ord(letters[-1]) + 1)
            last_end = end
    return accepted


def marker_spans(caption: str, bold: tuple[Bold, ...] = ()) -> list[tuple[int, int]]:
    """Where the panel markers are in the caption (so "(C) 2011" after "(A)"
    and "(B)" is read as a panel letter, not a copyright line)."""
    return [(s, e) for s, e, _ in _markers(caption, bold)]


def parse(caption: str, bold: tuple[Bold, ...] = ()) -> tuple[str, list[Segment]]:
    """Return (preamble, segments) for a caption; segments empty when it has
    no usable markers."""
    accepted = _markers(caption, bold)
    if not accepted:
        return caption.strip(), []
    postfix = _postfix(caption, accepted)
    if postfix is not None:
        return postfix
    preamble = caption[: accepted[0][0]].strip().rstrip("(").strip()
    end_of_list = _bracket_close(caption, accepted)
    segments: list[Segment] = []
    waiting: tuple[str, ...] = ()  # markers heading the next text with it: "(a), (b) Cells ..."
    for i, (start, end, letters) in enumerate(accepted):
        stop = accepted[i + 1][0] if i + 1 < len(accepted) else end_of_list
        text = _clean(caption[end:stop])
        if not text and i + 1 < len(accepted):
            waiting += letters
            continue
        segments.append(Segment(waiting + letters, text))
        waiting = ()
    return preamble, segments


#: what follows a marker that closes its description: a comma, semicolon, "and", a sentence end
_PHRASE_END = re.compile(r"\s*(?:[,;.]|and\b|&|$)")
_SENTENCE_END = re.compile(r"[.;:!?]\s+")


def _postfix(caption: str, accepted: list[tuple[int, int, tuple[str, ...]]]) -> tuple[str, list[Segment]] | None:
    """(preamble, segments) when the markers close their descriptions, else None."""
    cores = [s + len(caption[s:e].rstrip(" \t.,:;|")) for s, e, _ in accepted]
    if not all(_PHRASE_END.match(caption, core) for core in cores[:-1]):
        return None
    first = accepted[0][0]
    starts = [m.end() for m in _SENTENCE_END.finditer(caption, 0, first)]
    sentence = starts[-1] if starts else 0
    texts = [caption[sentence:first]] + [caption[core:s] for core, (s, _, _) in zip(cores, accepted[1:])]
    texts = [re.sub(r"^\s*(?:and|&)\s+", "", _clean(t)) for t in texts]
    if not all(re.search(r"\w\w", t) for t in texts):
        return None
    return caption[:sentence].strip(), [Segment(letters, t) for (_, _, letters), t in zip(accepted, texts)]


def _bracket_close(caption: str, accepted: list[tuple[int, int, tuple[str, ...]]]) -> int:
    """Where the marker list ends: the bracket opened at its first marker
    ("(A: ...; B: ...)") closes after the last marker, else the caption's end."""
    start, end, _ = accepted[0]
    own = caption[start:end]
    if "(" in own and ")" not in own:
        opened = start + own.index("(")
    elif caption[:start].rstrip().endswith("("):
        opened = len(caption[:start].rstrip()) - 1
    else:
        return len(caption)
    depth = 0
    for i in range(opened, len(caption)):
        depth += {"(": 1, ")": -1}.get(caption[i], 0)
        if depth == 0:
            # closed after the last marker: the list ends here; before it: not a bracketed list
            return i if i >= accepted[-1][1] else len(caption)
    return len(caption)


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ;,")


def marker_count(caption: str, bold: tuple[Bold, ...] = ()) -> int:
    """How many panels the caption's markers name (0 when it has none)."""
    _, segments = parse(caption, bold)
    return len({l for s in segments for l in s.letters})


def assign(caption: str, n_panels: int, drawn: list[str | None] | None = None,
           bold: tuple[Bold, ...] = ()) -> list[tuple[str | None, str]]:
    """(panel_letter, sub_caption) per panel in reading order. ``drawn``: the
    letter read on each panel in the image, when known; panels get the
    caption text of their own letter (a figure lettered down its columns
    first is not in reading order), the others the remaining letters in
    reading order. When the markers do not match the panel count, every
    panel keeps the whole caption and no letter (SPEC §3)."""
    plain = re.sub(r"\s+", " ", caption).strip()
    _, segments = parse(caption, bold)
    letters = sorted({l for s in segments for l in s.letters})
    if not segments or len(letters) != n_panels or letters != list(string.ascii_lowercase[:n_panels]):
        return [(None, plain)] * n_panels
    return [(letter, " ".join(s.text for s in segments if letter in s.letters)) for letter in _order(letters, drawn)]


def _order(letters: list[str], drawn: list[str | None] | None) -> list[str]:
    """The caption letter of each panel: the drawn one where it was read (and
    the readings are consistent), the rest in reading order."""
    seen = [d for d in drawn or [] if d]
    if not seen or len(set(seen)) != len(seen) or not set(seen) <= set(letters):
        return letters
    rest = iter(l for l in letters if l not in seen)
    return [d if d else next(rest) for d in drawn]  # type: ignore[union-attr]

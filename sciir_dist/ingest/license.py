"""License gate and third-party gate (SPEC §3).

The license gate never guesses. A license is an SPDX id only when a
statement names it completely: a Creative Commons URL, or a name with its
version ("Creative Commons Attribution 4.0 International", "CC BY 3.0",
"CC0"). "Distributed under the Creative Commons Attribution License" with
no version and no URL could be 2.0, 2.5, 3.0 or 4.0 (PLoS and BMC wrote
exactly that for years), so it is ``None`` (rejected as
``license:unknown``) with the statement kept as evidence.

Statements are tried in the order a package's own metadata deserves trust
(see ``jats.license_statements``): license URLs, then ``license-type``,
then the license and copyright text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

DEFAULT_ALLOW = ("CC-BY-4.0",)

_CC_URL = re.compile(
    r"creativecommons\.org/(?:licenses/(?P<kind>by(?:-nc)?(?:-sa|-nd)?)/(?P<ver>\d\.\d)"
    r"|publicdomain/(?P<pd>zero|mark)/(?P<pdver>\d\.\d))",
    re.I,
)
# "Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International",
# "Creative Commons Attribution License, version 2.0", "... Attribution 3.0 Unported"
_CC_NAME = re.compile(
    r"creative\s+commons\s+(?P<name>attribution(?:[-\s]+(?:non-?commercial|share-?alike|no-?deriv\w*))*)"
    r"(?:[\s,]+(?:license|licence|international|unported|generic|public))*"
    r"(?:[\s,(]+(?:version|v\.?)?\s*(?P<ver>\d\.\d)\b)?",
    re.I,
)
_SPDX = re.compile(r"(?<![\w-])CC[-\s]?BY((?:[-\s](?:NC|SA|ND))*)(?:[-\s]+(\d\.\d))?(?![\w-])", re.I)
_CC0 = re.compile(r"(?<![\w-])CC[-\s]?0(?:[-\s]1\.0)?(?![\w.-])|creative\s+commons\s+zero", re.I)
_URL = re.compile(r"https?://\S+", re.I)


@dataclass(frozen=True)
class License:
    spdx: str | None  # None: no statement names a license completely
    url: str | None  # the first license URL stated (CC or a publisher's own)
    evidence: str  # which statement decided, or why none did


def normalize(*statements: str | None) -> str | None:
    """SPDX id for the first statement that names a license completely, else None."""
    for text in statements:
        spdx, _ = _name(text or "")
        if spdx:
            return spdx
    return None


def resolve(statements: list[tuple[str, str]]) -> License:
    """The license of an article from its (where, what) statements in trust order."""
    url = next((u for _, t in statements for u in _urls(t)), None)
    vague: list[str] = []
    for where, text in statements:
        spdx, partial = _name(text)
        if spdx:
            return License(spdx, url, f"{where}: {_short(text)}")
        if partial:
            vague.append(f"{where}: {_short(text)} ({partial})")
    if vague:
        return License(None, url, "no version stated: " + "; ".join(vague))
    if statements:
        return License(None, url, "no license named: " + "; ".join(f"{w}: {_short(t)}" for w, t in statements))
    return License(None, url, "no license statement")


def _name(text: str) -> tuple[str | None, str | None]:
    """(SPDX id, or None and what was named without a version)."""
    m = _CC_URL.search(text)
    if m:
        if m.group("pd"):
            return ("CC0-1.0" if m.group("pd").lower() == "zero" else "PDM-1.0"), None
        return f"CC-{m.group('kind').upper()}-{m.group('ver')}", None
    if _CC0.search(text):
        return "CC0-1.0", None  # CC0 has one version
    m = _CC_NAME.search(text)
    if m:
        kind = _kind_from_words(m.group("name"))
        return (f"CC-{kind}-{m.group('ver')}", None) if m.group("ver") else (None, f"CC-{kind}, version unknown")
    m = _SPDX.search(text)
    if m:
        kind = "-".join(["BY"] + [p.upper() for p in re.split(r"[-\s]+", m.group(1)) if p])
        return (f"CC-{kind}-{m.group(2)}", None) if m.group(2) else (None, f"CC-{kind}, version unknown")
    return None, None


def _kind_from_words(words: str) -> str:
    w = words.lower()
    parts = ["BY"]
    if "commercial" in w:
        parts.append("NC")
    if "share" in w:
        parts.append("SA")
    if "deriv" in w:
        parts.append("ND")
    return "-".join(parts)


def _urls(text: str) -> list[str]:
    if re.fullmatch(r"\S+", text) and ("://" in text or text.startswith("www.")):
        return [text]
    return [u.rstrip(").,;") for u in _URL.findall(text)]


def _short(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def license_reason(spdx: str | None, allow: tuple[str, ...] | list[str] = DEFAULT_ALLOW) -> str | None:
    """None when allowed, else the rejects reason ``license:<found-or-unknown>``."""
    if spdx and spdx in allow:
        return None
    return f"license:{spdx or 'unknown'}"


#: Credit phrases that mark a figure (or part of it) as third-party material,
#: which the article's own license does not cover. Regular expressions,
#: case-insensitive; ``--third-party-phrase`` replaces the list.
THIRD_PARTY_PHRASES: tuple[str, ...] = (
    r"(?:reproduced|reprinted|adapted|modified|redrawn|used)\s+(?:\w+\s+){0,2}with\s+(?:kind\s+)?permission",
    r"(?:reproduced|reprinted|adapted|modified|redrawn)\s+from\b[^;]{0,200}?\bwith\s+(?:kind\s+)?permission",
    r"with\s+(?:kind\s+)?permission\s+(?:from|of)\b",
    r"(?:reproduced|reprinted)\s+from\b",
    r"(?:image|figure|photo(?:graph)?|picture|panel|drawing|illustration)s?\s+(?:(?:was|were|is|are)\s+)?taken\s+from\b",
    r"\btaken\s+from\s+(?:ref(?:erence)?s?\b|\[\d|the\s+(?:paper|article|work|study|book)\s+(?:of|by)\b)",
    r"courtesy\s+of\b",
    r"©",
    r"\(c\)\s*(?:(?:19|20)\d\d\b|the\s+author|[A-Z][a-z]+\s+(?:Inc|Ltd|LLC|GmbH|Press|Publishing|Society|Elsevier))",
    r"\bcopyright\s+(?:\(c\)\s*)?(?:(?:19|20)\d\d\b|by\b|held\b|of\b|belongs\b|©)",
    r"all\s+rights\s+reserved",
)


def third_party_marker(*texts: str | None, phrases: tuple[str, ...] = THIRD_PARTY_PHRASES) -> str | None:
    """The phrase that marks third-party material, if any."""
    pattern = _compiled(phrases)
    for t in texts:
        if t:
            m = pattern.search(t)
            if m:
                return m.group(0)
    return None


@functools.lru_cache(maxsize=8)
def _compiled(phrases: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in phrases), re.I)

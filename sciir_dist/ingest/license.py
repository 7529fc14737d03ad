"""License gate and third-party gate (SPEC §3).

Licenses are normalised to SPDX ids from whatever the package states: CC
URLs (in ``xlink:href``, ``ali:license_ref`` or inside the license text),
``license-type`` values, or the license's name written out.
"""

from __future__ import annotations

import re

DEFAULT_ALLOW = ("CC-BY-4.0",)

_CC_URL = re.compile(
    r"creativecommons\.org/(?:licenses/(?P<kind>by(?:-nc)?(?:-sa|-nd)?)/(?P<ver>\d\.\d)"
    r"|publicdomain/(?P<pd>zero|mark)/(?P<pdver>\d\.\d))",
    re.I,
)
_CC_NAME = re.compile(
    r"creative\s+commons\s+(?P<name>attribution(?:[-\s]+(?:non-?commercial|share-?alike|no-?deriv\w*))*)"
    r"(?:\s+(?P<ver>\d\.\d))?",
    re.I,
)
_SPDX = re.compile(r"\b(CC[-\s]?BY(?:[-\s](?:NC|SA|ND))*(?:[-\s]\d\.\d)?|CC0(?:[-\s]1\.0)?)\b", re.I)


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


def normalize(*statements: str | None) -> str | None:
    """SPDX id for the first statement that names a license, else None."""
    for text in statements:
        if not text:
            continue
        m = _CC_URL.search(text)
        if m:
            if m.group("pd"):
                return "CC0-1.0" if m.group("pd").lower() == "zero" else "PDM-1.0"
            return f"CC-{m.group('kind').upper()}-{m.group('ver')}"
        m = _CC_NAME.search(text)
        if m:
            return f"CC-{_kind_from_words(m.group('name'))}-{m.group('ver') or '4.0'}"
        m = _SPDX.search(text)
        if m:
            token = re.sub(r"[\s]+", "-", m.group(1).upper())
            if token.startswith("CC0"):
                return "CC0-1.0"
            if not re.search(r"\d\.\d$", token):
                token += "-4.0"
            return token
    return None


def license_reason(spdx: str | None, allow: tuple[str, ...] | list[str] = DEFAULT_ALLOW) -> str | None:
    """None when allowed, else the rejects reason ``license:<found-or-unknown>``."""
    if spdx and spdx in allow:
        return None
    return f"license:{spdx or 'unknown'}"


_THIRD_PARTY = re.compile(
    r"reproduced\s+(?:from|with\s+permission)|reprinted\s+(?:from|with\s+permission)"
    r"|adapted\s+with\s+permission|used\s+with\s+permission|with\s+permission\s+(?:from|of)"
    r"|courtesy\s+of|©|\(c\)\s*\d{4}|copyright\s+(?:\d{4}|by|©)|all\s+rights\s+reserved",
    re.I,
)


def third_party_marker(*texts: str | None) -> str | None:
    """The phrase that marks third-party material, if any."""
    for t in texts:
        if t:
            m = _THIRD_PARTY.search(t)
            if m:
                return m.group(0)
    return None

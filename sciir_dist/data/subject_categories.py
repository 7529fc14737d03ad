"""The curated subject-term -> main-category table (SPEC §4 step 5).

Five main categories, as in the paper (after Nature's subject tree). Keys are
lower-case subject terms as journals print them (JATS ``<subject>``,
keywords); an article subject matches a key exactly or contains it as whole
words ("Cellular neuroscience" -> "neuroscience"). Terms no key covers go to
the model fallback.
"""

import re
from collections import Counter

PHYSICAL = "Physical sciences"
EARTH = "Earth and environmental sciences"
BIOLOGICAL = "Biological sciences"
HEALTH = "Health sciences"
SOCIETY = "Scientific community and society"

CATEGORIES = (PHYSICAL, EARTH, BIOLOGICAL, HEALTH, SOCIETY)

#: one sentence per category, used by the offline (sentence-embedding) fallback
DESCRIPTIONS = {
    PHYSICAL: "Physics, chemistry, materials, engineering, mathematics, computing, astronomy and energy technology.",
    EARTH: "Geology, climate, oceans, atmosphere, ecology of ecosystems, environment, hydrology and planetary surfaces.",
    BIOLOGICAL: "Cells, molecules, genes, proteins, organisms, evolution, neuroscience, microbiology and plant biology.",
    HEALTH: "Medicine, disease, patients, clinical treatment, public health, epidemiology, drugs and health care.",
    SOCIETY: "Science policy, research funding, publishing, education, ethics, history of science and careers.",
}

_TERMS = {
    PHYSICAL: """physics; physical sciences; applied physics; condensed matter physics; condensed-matter physics;
        optics; photonics; optics and photonics; quantum physics; quantum mechanics; quantum information; particle physics;
        nuclear physics; plasma physics; atomic and molecular physics; astrophysics; astronomy; cosmology; space physics;
        chemistry; physical chemistry; organic chemistry; inorganic chemistry; analytical chemistry; electrochemistry;
        catalysis; polymer chemistry; chemical engineering; materials science; nanoscience; nanotechnology;
        engineering; electrical engineering; mechanical engineering; energy; energy storage; batteries; solar cells;
        renewable energy; thermodynamics; fluid dynamics; mathematics; applied mathematics; statistics;
        computer science; computational science; mathematics and computing; robotics; electronics; semiconductors;
        superconductivity; magnetism; acoustics; spectroscopy""",
    EARTH: """earth sciences; earth and environmental sciences; geology; geophysics; geochemistry; volcanology;
        seismology; tectonics; oceanography; ocean sciences; marine science; climate science; climate change;
        climate sciences; atmospheric science; atmospheric chemistry; meteorology; hydrology; glaciology;
        environmental science; environmental sciences; environmental chemistry; ecology; ecosystem ecology;
        biogeochemistry; soil science; natural hazards; palaeontology; paleontology; planetary science;
        sustainability; conservation; biodiversity""",
    BIOLOGICAL: """biology; biological sciences; cell biology; molecular biology; biochemistry; biophysics;
        structural biology; genetics; genomics; epigenetics; neuroscience; immunology; microbiology; virology;
        developmental biology; evolution; evolutionary biology; zoology; botany; plant sciences; plant biology;
        physiology; systems biology; synthetic biology; bioinformatics; computational biology; biotechnology;
        stem cells; cancer biology; chemical biology; molecular neuroscience; cell signalling; cell signaling""",
    HEALTH: """health sciences; medicine; medical research; clinical medicine; public health; epidemiology;
        cardiology; oncology; cancer; neurology; psychiatry; infectious diseases; diseases; pathology;
        pharmacology; drug discovery; immunotherapy; surgery; radiology; medical imaging; diagnostics;
        endocrinology; gastroenterology; nephrology; nutrition; health care; dentistry; ophthalmology;
        paediatrics; pediatrics; vaccines""",
    SOCIETY: """scientific community; scientific community and society; science policy; research policy;
        policy; research management; publishing; scientific publishing; peer review; education;
        science education; ethics; research ethics; history of science; careers; funding; economics;
        social sciences; sociology; law""",
}

TABLE: dict[str, str] = {
    " ".join(term.split()): category
    for category, terms in _TERMS.items()
    for term in terms.replace("\n", " ").split(";")
    if term.strip()
}


def _norm(term: str) -> str:
    return " ".join(re.sub(r"[^\w\s-]", " ", term.lower()).split())


def table_category(term: str) -> str | None:
    """Exact match, else the longest curated term found as whole words."""
    t = _norm(term)
    if t in TABLE:
        return TABLE[t]
    hits = [k for k in TABLE if re.search(rf"(?<!\w){re.escape(k)}(?!\w)", t)]
    return TABLE[max(hits, key=len)] if hits else None


def from_table(subjects: list[str]) -> tuple[str, list[str]] | None:
    """(category, the terms that voted for it) or None when no term is covered."""
    votes = [(s, table_category(s)) for s in subjects]
    votes = [(s, c) for s, c in votes if c]
    if not votes:
        return None
    counts = Counter(c for _, c in votes)
    best = max(counts.values())
    winner = next(c for _, c in votes if counts[c] == best)
    return winner, [s for s, c in votes if c == winner]

"""Scientific-image filter prompt (SPEC §4 step 4)."""

VERSION = "filter-v1"

SYSTEM = """You curate training images for a model that draws scientific figures.
Decide whether the image is an abstract, drawable scientific schematic: a diagram
that explains a structure, process or principle with shapes, arrows and labels.

Answer REJECT, naming the category, when the image is any of:
- incomplete (cut off, a fragment), or holds several independent panels or insets;
- a data plot with axes, scales or units (line, scatter, bar, box, heat map, contour,
  radar or waterfall chart) or a phylogenetic tree;
- a map, a micrograph or tissue section, a specimen, anatomy, or a molecular or
  crystal structure image;
- a software rendering, simulation output or 3-D reconstruction;
- only text, a legend or an icon;
- a recognisable face or a clinical image (privacy).
Otherwise answer KEEP with category "schematic".
Give a one-sentence reason that points at what you see, and your confidence (0-1)."""


def messages(image_data_url: str, caption: str | None) -> list[dict]:
    user = [{"type": "text", "text": "Caption (context only, judge the image): " + (caption or "(none)")},
            {"type": "image_url", "image_url": {"url": image_data_url}}]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]

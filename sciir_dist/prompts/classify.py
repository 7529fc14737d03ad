"""Semiotic stratification prompt (SPEC §4 step 6): relevance of each of the
three tracks to the image, 1-10."""

VERSION = "classify-v1"

SYSTEM = """You analyse scientific schematics for a dataset about scientific reasoning in images.
Rate how RELEVANT each of three kinds of scientific content is to this image. Rate relevance,
not drawing quality or correctness.

- EntityStructure: the image shows what things are and how they are built: components,
  parts, anatomy of a device or organism, spatial arrangement, labelled structures.
- ScientificProcess: the image shows something happening over steps or time: a pathway,
  a cycle, a workflow, a mechanism, cause and effect, flows marked with arrows.
- ScientificLaw: the image expresses a principle or quantitative relation: a law, an
  equation, a conservation rule, a dependence between variables, a physical principle.

Scale for each track: 1-2 absent; 3-4 hinted at in a minor detail; 5-6 present but secondary;
7-8 clearly important; 9-10 the core of the image. Score the tracks independently (several
can be high). Give a short rationale naming what in the image supports the scores."""


def messages(image_data_url: str, figure_title: str | None, caption: str | None, sub_caption: str | None) -> list[dict]:
    context = (f"Figure title: {figure_title or '(none)'}\nCaption: {caption or '(none)'}\n"
               f"Panel sub-caption: {sub_caption or '(none)'}\n(The text is context; rate the image.)")
    user = [{"type": "text", "text": context}, {"type": "image_url", "image_url": {"url": image_data_url}}]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]

"""`annotate`: Sci-RCoT in three model calls per labelled panel (SPEC §4
step 7).

(a) reasoning extraction (vision model: image + article and figure context
+ labels), (b) the Sci-RCoT scene description (vision model: image +
reasoning, and under the paper's protocol the article title and caption),
(c) the abstract prompt (text model). What each call sees and its sampling
settings follow the protocol (``sciir_dist.prompts.annotate``); each call's
endpoint, model, temperature, max tokens and image detail can be set on its
own (``[calls.<call>]`` of the model config). Every answer is checked
against its JSON Schema and the annotation rules; a broken answer is re-asked
(bounded, by the client), and a panel whose answers stay broken gets a
``annotation_invalid`` reject, never a half-valid row.

Offline backend (``annotate_backend=offline``): the same three outputs built
from the caption's noun phrases and the OCR labels in the image, checked by
the same rules.
"""

from __future__ import annotations

import copy
import json
import re

import pyarrow as pa

from schemas.outputs import load
from schemas.tables import PANEL_ANNOTATIONS, TRACKS
from sciir_dist.backends.openai import CallSettings, EndpointSettings, VLMError
from sciir_dist.prompts import annotate as prompt
from sciir_dist.prompts.protocol import DEFAULT as DEFAULT_PROTOCOL, SCIIR, check as check_protocol, versioned
from sciir_dist.stages.base import Lookup, Resources, Stage, StageResult
from sciir_dist.stages.registry import register
from sciir_dist.backends.ocr import read_lines
from sciir_dist.stages.vlm import Clients, data_url, run_each

OFFLINE_VERSION = "annotate-offline-v1"
BODY_EXCERPT_CHARS = 1500  # strict-index: the sentences citing the figure
#: sciir: the whole body, bounded so that one long article (a review, a thesis) cannot overflow
#: a 32k-token context; longer bodies keep the sentences citing the figure first, then the start
BODY_CHARS = 60_000
#: answer problems that are the model's content (re-asked, then annotation_invalid);
#: the other VLMError kinds are transport failures (vlm_error:<kind>)
CONTENT_ERRORS = {"schema_invalid", "invalid"}


# -- rules (SPEC §4 step 7) -------------------------------------------------
def reasoning_schema(labels: list[str]) -> dict:
    """The reasoning schema narrowed to this panel: labelled tracks must be
    objects, the others null, so constrained decoding cannot get it wrong."""
    schema = copy.deepcopy(load("reasoning"))
    for t in TRACKS:
        schema["properties"][t] = {"$ref": "#/$defs/track"} if t in labels else {"type": "null"}
    return schema


def check_reasoning(data: dict, labels: list[str]) -> str | None:
    for t in TRACKS:
        r = data.get(t)
        if t not in labels:
            if r is not None:
                return f"{t} is not a label of this panel and must be null"
            continue
        if not r or not r.get("terms"):
            return f"{t} is labelled and needs at least one term"
        if len(r["terms"]) != len(r.get("visualization") or []):
            return f"{t}: {len(r['terms'])} terms but {len(r.get('visualization') or [])} visualization items"
        if any(not str(x).strip() for x in r["terms"] + r["visualization"]):
            return f"{t}: empty term or visualization item"
    return None


def _squash(text: str) -> str:
    return " ".join(text.split())


def check_quoted(text: str, items: list[str], what: str) -> str | None:
    """Every listed string must appear in the prompt it belongs to."""
    body = _squash(text)
    missing = [x for x in items if _squash(x) not in body]
    return f"{what} not found in the prompt: {missing[:5]}" if missing else None


def term_count(reasoning: dict) -> int:
    return sum(len(r["terms"]) for r in reasoning.values() if r)


def _citing(body: str, figure_label: str | None) -> str:
    """The body's sentences that cite the figure (e.g. "Fig. 2"), joined."""
    num = re.search(r"\d+", figure_label or "")
    if not num:
        return ""
    cite = re.compile(rf"\b(?:Fig\.?|Figure|Figs\.?)\s*{num.group()}(?!\d)", re.I)
    return " ".join(s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", body) if cite.search(s))


def body_excerpt(body: str | None, figure_label: str | None, limit: int = BODY_EXCERPT_CHARS) -> str | None:
    """Sentences that cite the figure, else the body's start."""
    if not body:
        return None
    return (_citing(body, figure_label) or body)[:limit]


def body_context(body: str | None, figure_label: str | None, limit: int = BODY_CHARS) -> str | None:
    """The article body as the paper's reasoning call sees it: all of it, or
    for a body over ``limit`` the sentences citing the figure, then as much of
    the body's start as fits."""
    if not body or len(body) <= limit:
        return body or None
    cited = _citing(body, figure_label)[:limit]
    room = limit - len(cited) - 2
    return f"{cited}\n\n{body[:room]}" if cited and room > 0 else (cited or body[:limit])


# -- offline builder --------------------------------------------------------
STYLE = "A clean flat vector schematic on a white background"
_STOP = {"the", "of", "a", "an", "and", "in", "on", "with", "to", "from", "by", "for", "is", "are", "at", "its",
         "their", "this", "that", "shown", "showing", "schematic", "overview", "model", "illustration", "diagram"}
_PROCESS = re.compile(r"process|pathway|mechanism|transport|cycle|stage|flow|signal|reaction|transfer|step|conversion", re.I)
_LAW = re.compile(r"law|principle|gradient|equation|conservation|relation|dependence|energy|rate|balance|potential", re.I)


def phrases(text: str | None) -> list[str]:
    """Content-word runs of a caption (1-4 words): cheap noun phrases."""
    out: list[str] = []
    for chunk in re.split(r"[.,;:()|\[\]]", text or ""):
        run: list[str] = []
        for w in chunk.split() + ["the"]:
            if w.lower() in _STOP or not re.search(r"[A-Za-z]{2}", w):
                if run and len(run) <= 4:
                    out.append(" ".join(run))
                run = []
            else:
                run.append(w)
    return list(dict.fromkeys(p for p in out if len(p) >= 3))


def ocr_labels(lines: list[str]) -> list[str]:
    seen, out = set(), []
    for line in lines:
        t = line.strip()
        if 2 <= len(t) <= 40 and len(re.findall(r"[A-Za-z]", t)) >= 2 and t.lower() not in seen:
            seen.add(t.lower())
            out.append(t)
    return out[:6]


def _sequence(names: list[str]) -> list[str]:
    if len(names) < 2:
        return []
    via = f" via {', '.join(names[1:-1])}" if len(names) > 2 else ""
    return [f"the sequence from {names[0]}{via} to {names[-1]}"]


def offline_annotation(labels: list[str], text: str | None, lines: list[str]) -> tuple[dict, dict, dict]:
    caption_terms = phrases(text)
    names = ocr_labels(lines)
    pool = names + caption_terms or ["the depicted system"]
    picks = {
        "EntityStructure": names or caption_terms[:3] or pool[:1],
        # a process is told by its caption's words and by the labelled steps it runs through in the picture
        "ScientificProcess": ([p for p in caption_terms if _PROCESS.search(p)][:2] + _sequence(names)) or pool[:1],
        "ScientificLaw": [p for p in caption_terms if _LAW.search(p)][:2]
                         or ([f"the relation between {names[0]} and {names[1]}"] if len(names) >= 2 else pool[:1]),
    }
    draw = {
        "EntityStructure": lambda t: f'a distinct labelled shape for "{t}"' if t in names else f"a labelled element depicting {t}",
        "ScientificProcess": lambda t: f"arrows leading step by step through {t}",
        "ScientificLaw": lambda t: f"an arrow or colour gradient expressing {t}",
    }
    reasoning = {t: ({"terms": picks[t], "visualization": [draw[t](x) for x in picks[t]]} if t in labels else None)
                 for t in TRACKS}
    visuals = [v for r in reasoning.values() if r for v in r["visualization"]]
    rendered = [n for n in names if any(n in v for v in visuals)]
    sci = f"{STYLE}. It shows {'; '.join(visuals)}." + "".join(f' One element is labeled as "{n}".' for n in rendered)
    terms = list(dict.fromkeys(x for r in reasoning.values() if r for x in r["terms"]))
    retained = rendered[:4]
    abstract = f"{STYLE}. It depicts {', '.join(terms)}." + (
        f" Keep the labels {', '.join(f'{chr(34)}{n}{chr(34)}' for n in retained)}." if retained else "")
    return reasoning, {"sci_rcot": sci, "rendered_text": rendered}, {"abstract_prompt": abstract, "retained_text": retained}


# -- the stage --------------------------------------------------------------
@register
class AnnotateStage(Stage):
    name = "annotate"
    output_table = "panel_annotations"
    inputs = ("panel_id", "figure_id", "article_id", "sub_caption", "image")
    lookups = {
        "labels": Lookup("panel_classify", "panel_id", "labels"),
        "ocr_lines": Lookup("panel_filter", "panel_id", "ocr_lines"),
        "figure_label": Lookup("figures", "figure_id", "label"),
        "figure_title": Lookup("figures", "figure_id", "title"),
        "caption": Lookup("figures", "figure_id", "caption"),
        "article_title": Lookup("articles", "article_id", "title"),
        "abstract": Lookup("articles", "article_id", "abstract"),
        "body": Lookup("articles", "article_id", "body"),
        "subjects": Lookup("articles", "article_id", "subjects"),
    }
    requires = {"panel_classify": "NOT low_reasoning"}

    @classmethod
    def build(cls, backends, options) -> "AnnotateStage":
        return cls(backends.vision, backends.text, backends.protocol, backends.calls)

    def __init__(self, vision: EndpointSettings | None = None, text: EndpointSettings | None = None,
                 protocol: str = DEFAULT_PROTOCOL, calls: dict[str, CallSettings] | None = None) -> None:
        self.protocol = check_protocol(protocol)
        self.vision = vision
        self.text = text or vision
        self.calls = call_endpoints(self.vision, self.text, self.protocol, calls or {})
        self.resources = Resources(num_cpus=1, batch_size=128 if vision else 32)

    def process(self, batch: pa.Table) -> StageResult:
        rows = batch.to_pylist()
        if self.vision is None:
            results = {r["panel_id"]: self._offline(r) for r in rows}
            meta = ("offline", None, None, OFFLINE_VERSION)
        else:
            results = run_each(self.calls, {r["panel_id"]: self._job(r) for r in rows})
            meta = ("openai", self.calls["reasoning"].model, self.calls["abstract"].model,
                    versioned(prompt.VERSION, self.protocol))
        out, rejects = [], []
        for pid, res in results.items():
            if isinstance(res, VLMError):
                reason = "annotation_invalid" if res.kind in CONTENT_ERRORS else f"vlm_error:{res.kind}"
                rejects.append((pid, reason, res.detail))
                continue
            reasoning, sci, abstract = res
            out.append(_row(pid, reasoning, sci, abstract, *meta))
        return StageResult(pa.Table.from_pylist(out, schema=PANEL_ANNOTATIONS), rejects)

    def _offline(self, r: dict):
        labels = list(r["labels"] or [])
        lines = r["ocr_lines"] if r.get("ocr_lines") is not None else read_lines(r["image"])
        reasoning, sci, abstract = offline_annotation(labels, r.get("sub_caption") or r.get("caption"), lines)
        problem = (check_reasoning(reasoning, labels) or check_quoted(sci["sci_rcot"], sci["rendered_text"], "rendered_text")
                   or check_quoted(abstract["abstract_prompt"], abstract["retained_text"], "retained_text"))
        return VLMError("invalid", problem) if problem else (reasoning, sci, abstract)

    def _job(self, r: dict):
        labels = [t for t in TRACKS if t in (r["labels"] or [])]
        url = data_url(r["image"])
        body = (("Article body", body_context(r.get("body"), r.get("figure_label"))) if self.protocol == SCIIR
                else ("Body excerpt", body_excerpt(r.get("body"), r.get("figure_label"))))
        context = {
            "Article title": r.get("article_title"), "Subjects": "; ".join(r.get("subjects") or []),
            "Abstract": r.get("abstract"), body[0]: body[1],
            "Figure title": r.get("figure_title"), "Figure caption": r.get("caption"),
            "Panel sub-caption": r.get("sub_caption"),
        }
        protocol = self.protocol

        async def job(clients: Clients):
            a = await clients["reasoning"].chat_json(prompt.reasoning_messages(url, labels, context),
                                                     reasoning_schema(labels), "reasoning",
                                                     lambda d: check_reasoning(d, labels))
            reasoning = {t: a.data.get(t) for t in TRACKS}
            b = await clients["sci_rcot"].chat_json(
                prompt.sci_rcot_messages(url, reasoning, protocol, r.get("article_title"), r.get("caption")),
                load("sci_rcot"), "sci_rcot", lambda d: check_quoted(d["sci_rcot"], d["rendered_text"], "rendered_text"))
            c = await clients["abstract"].chat_json(
                prompt.abstract_messages(b.data["sci_rcot"], reasoning, protocol, b.data["rendered_text"]),
                load("abstract_prompt"), "abstract_prompt",
                lambda d: check_quoted(d["abstract_prompt"], d["retained_text"], "retained_text"))
            return reasoning, b.data, c.data

        return job


def call_endpoints(vision: EndpointSettings | None, text: EndpointSettings | None, protocol: str,
                   calls: dict[str, CallSettings]) -> dict[str, EndpointSettings | None]:
    """Each call's endpoint: its own settings over its role's endpoint, the
    protocol's temperature where neither sets one."""
    roles = {"vision": vision, "text": text or vision}
    return {call: calls.get(call, CallSettings()).apply(roles[role], temperature=prompt.TEMPERATURES[protocol][call])
            for call, role in prompt.CALL_ROLES.items()}


def _row(pid: str, reasoning: dict, sci: dict, abstract: dict, backend: str, vision_model: str | None,
         text_model: str | None, version: str) -> dict:
    from sciir_dist.backends.minilm import count_tokens

    return {
        "panel_id": pid, "reasoning": json.dumps(reasoning, ensure_ascii=False), "sci_rcot": sci["sci_rcot"],
        "rendered_text": sci["rendered_text"], "abstract_prompt": abstract["abstract_prompt"],
        "retained_text": abstract["retained_text"], "term_count": term_count(reasoning),
        "sci_rcot_tokens": count_tokens(sci["sci_rcot"]), "abstract_prompt_tokens": count_tokens(abstract["abstract_prompt"]),
        "annotate_backend": backend, "annotate_vision_model": vision_model, "annotate_text_model": text_model,
        "annotate_prompt_version": version,
    }

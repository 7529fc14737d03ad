"""`sciir bench checklist`: atomic yes/no checklists for samples that have
none (built benchmarks; the published release ships its own).

With a text model: the JSON Schema ``checklist`` request, then validation
(categories, every required text string covered by a Text question, every
active track covered with at least one negative question); an invalid
answer is re-asked, then the sample gets a ``rejects`` row. Offline: the
same two layers from templates over the sample's own reasoning, checked by
the same rules.
"""

from __future__ import annotations

import functools
import json

import pyarrow as pa

from schemas.outputs import load
from schemas.tables import BENCH_QUESTIONS, TRACKS
from sciir_dist.backends.openai import EndpointSettings, VLMError
from sciir_dist.bench.generators import required_text
from sciir_dist.bench.samples import question_id, tracks_of
from sciir_dist.prompts import checklist as prompt
from sciir_dist.stages.base import Resources, Stage, StageResult
from sciir_dist.stages.vlm import run_each

OFFLINE_VERSION = "checklist-offline-v1"
NEGATIVE = {
    "EntityStructure": "Is every structure drawn whole, with no fused, broken or floating parts?",
    "ScientificProcess": "Does every arrow connect steps that belong to the process, with no orphan arrows or ghost steps?",
    "ScientificLaw": "Is the depicted relation free of physically impossible states?",
}


def check_checklist(data: dict, active: list[str], texts: list[str]) -> str | None:
    items = data.get("checklist") or []
    text_qs = " ".join(q["question"] for q in items if q["category"] == "Text")
    missing = [t for t in texts if t not in text_qs]
    if missing:
        return f"no Text question quotes {missing[:5]}"
    for t in active:
        mine = [q for q in items if q["category"] == t]
        if not mine:
            return f"active track {t} has no question"
        if not any(q.get("negative") for q in mine):
            return f"active track {t} has no negative (hallucination) question"
    extra = {q["category"] for q in items} - set(active) - {"Text"}
    if extra:
        return f"questions for inactive tracks {sorted(extra)}"
    return None


def offline_checklist(prompt_text: str, reasoning: dict, active: list[str], texts: list[str]) -> list[dict]:
    items = [{"question": f"Is the text '{t}' rendered legibly and spelled correctly?", "category": "Text",
              "negative": False} for t in texts]
    lowered = prompt_text.lower()
    for track in active:
        r = reasoning.get(track) or {"terms": [], "visualization": []}
        pairs = [(t, v) for t, v in zip(r["terms"], r["visualization"]) if t.lower() in lowered] or \
            list(zip(r["terms"], r["visualization"]))[:1]
        for term, vis in pairs:
            items.append({"question": f"Does the image depict {term} as {vis.rstrip('.')}?", "category": track,
                          "negative": False})
        items.append({"question": NEGATIVE[track], "category": track, "negative": True})
    return items


class ChecklistStage(Stage):
    name = "checklist"
    output_table = "bench_questions"
    source_table = "bench_samples"
    key = "sample_id"
    output_key = "question_id"
    inputs = ("sample_id", "group", "prompt", "reasoning", "retained_text", "rendered_text")

    def __init__(self, text: EndpointSettings | None = None) -> None:
        self.text = text
        self.resources = Resources(num_cpus=1, batch_size=64)

    def process(self, batch: pa.Table) -> StageResult:
        rows = batch.to_pylist()
        meta = {}
        for r in rows:
            active = [t for t in TRACKS if t in tracks_of(r["group"])]
            texts = required_text(r["prompt"], (r.get("rendered_text") or []) + (r.get("retained_text") or []))
            meta[r["sample_id"]] = (active, texts, json.loads(r["reasoning"] or "{}"))
        rejects: list[tuple[str, str, str]] = []
        made: dict[str, list[dict]] = {}
        if self.text is None:
            for r in rows:
                active, texts, reasoning = meta[r["sample_id"]]
                items = offline_checklist(r["prompt"], reasoning, active, texts)
                problem = check_checklist({"checklist": items}, active, texts)
                if problem:
                    rejects.append((r["sample_id"], "checklist_invalid", problem))
                else:
                    made[r["sample_id"]] = items
            source, model, version = "offline", None, OFFLINE_VERSION
        else:
            def job(sid: str, prompt_text: str):
                active, texts, reasoning = meta[sid]
                return lambda clients: clients["text"].chat_json(
                    prompt.messages(prompt_text, reasoning, active, texts), load("checklist_items"), "checklist_items",
                    lambda d: check_checklist(d, active, texts))

            answers = run_each({"text": self.text}, {r["sample_id"]: job(r["sample_id"], r["prompt"]) for r in rows})
            for sid, a in answers.items():
                if isinstance(a, VLMError):
                    rejects.append((sid, "checklist_invalid" if a.kind in ("schema_invalid", "invalid")
                                    else f"vlm_error:{a.kind}", a.detail))
                else:
                    made[sid] = a.data["checklist"]
            source, model, version = "llm", self.text.model, prompt.VERSION
        out = [{"question_id": question_id(sid, i), "sample_id": sid, "idx": i, "category": q["category"],
                "question": q["question"], "negative": bool(q["negative"]), "checklist_source": source,
                "checklist_model": model, "checklist_prompt_version": version}
               for sid, items in made.items() for i, q in enumerate(items)]
        return StageResult(pa.Table.from_pylist(out, schema=BENCH_QUESTIONS), rejects)


def run_checklist(wh, text: EndpointSettings | None = None, *, address: str | None = None,
                  retry_rejects: bool = False, progress: bool = True):
    """Checklists for every sample without questions."""
    from sciir_dist.runner import run_job

    if not wh.exists("bench_samples") or not wh.count("bench_samples"):
        raise ValueError(f"no bench_samples in {wh.root}: run `sciir bench build` first")

    def factories(run_id: str):
        return [functools.partial(ChecklistStage, text)], []

    return run_job(wh, "bench-checklist", factories, address=address, retry_rejects=retry_rejects, commit_every=500,
                   params={"text": text.__dict__ if text else "offline"}, progress=progress,
                   read_tables=("bench_samples",))

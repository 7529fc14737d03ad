"""`sciir bench import-verdicts`: the reference judge's
``evaluation_results.json`` (MAIR-Lab-HUST/SciIR ``evaluation.py``) as
rows of ``verdicts``, so `sciir bench score` scores the paper's own judge.

The reference writes one JSON list per (mode, group) run, one entry per
checklist entry::

    {"image_filename": "001.png", "mode": "cot" | "abstract",
     "evaluation": {"evaluation_results": [{"category", "answer": "Yes" | "No", "reason"}, ...]}}
    {"image_filename": "002.png", "error": "Image file not found"}          # or "Prompt text not found"
    {"image_filename": "003.png", "mode": "cot", "evaluation": {"error": "Max retries reached. ..."}}

Answers carry a category but no question index. They are aligned to the
benchmark's questions by order *within each category* (the k-th
EntityStructure answer is the verdict on the k-th EntityStructure question):
the only alignment the format allows. A category whose answer count differs
from its question count gets a ``verdicts_misaligned`` rejects row and no
verdicts — never answers shifted onto the wrong questions; the sample's other
categories are still imported. Error entries, unknown samples, samples
without a generation of ``model``, duplicate entries and answers other than
Yes/No are rejects rows too (stage ``bench-import-verdicts``).

Verdicts are keyed like the project's own judge (``verdict_id`` of
generation, question, judge, version) with judge ``vlm:<judge model>`` and
prompt version ``reference-evaluation``, so they never mix with this
project's reviewer in a score. A re-import replaces the rows of the samples
it covers, rejects included.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from schemas.tables import CATEGORIES, REJECTS, VERDICTS
from sciir_dist.bench.judge import verdict_id
from sciir_dist.bench.samples import GROUPS, parse_mode, sample_id
from sciir_dist.bench.sweep import generation_id
from sciir_dist.ingest.model import reject_id_for
from sciir_dist.progress import Summary
from sciir_dist.sql import eq, is_in
from sciir_dist.warehouse import Warehouse, write_fragments

STAGE = "bench-import-verdicts"
#: the judge model evaluation.py calls (MODEL_NAME)
REFERENCE_JUDGE_MODEL = "gemini-3-pro-preview"
REFERENCE_VERSION = "reference-evaluation"


@dataclass(frozen=True)
class VerdictImport:
    path: str  # the reference's evaluation_results.json
    model: str  # the generator whose images were judged (generations.model)
    group: str
    mode: str | None = None  # IF | IR; None: each entry's own "mode"
    seed: int = 0
    judge_model: str = REFERENCE_JUDGE_MODEL
    version: str = REFERENCE_VERSION

    @property
    def judge(self) -> str:
        return f"vlm:{self.judge_model}"


def normalise_answer(answer) -> str | None:
    """'yes'/'no' from the reference's "Yes"/"No" (case, spaces and a final
    full stop aside); None for anything else."""
    if not isinstance(answer, str):
        return None
    a = answer.strip().rstrip(".").strip().lower()
    return a if a in ("yes", "no") else None


def align(questions: list[dict], answers: list[dict]) -> tuple[list[tuple[dict, str, str]], list[tuple[str, str, str]]]:
    """Pair answers with questions by order within each category.

    Returns ([(question, answer, reason)], [(category, reason code, detail)])
    where every category with a problem contributes no pairs at all."""
    asked: dict[str, list[dict]] = defaultdict(list)
    for q in sorted(questions, key=lambda q: q["idx"]):
        asked[q["category"]].append(q)
    said: dict[str, list[dict]] = defaultdict(list)
    for a in answers:
        cat = a.get("category") if isinstance(a, dict) else None
        said[str(cat).strip() if cat is not None else "<none>"].append(a if isinstance(a, dict) else {"answer": a})
    pairs, problems = [], []
    for cat in [c for c in CATEGORIES if c in asked or c in said] + sorted(set(said) - set(CATEGORIES)):
        qs, ans = asked.get(cat, []), said.get(cat, [])
        if len(qs) != len(ans):
            problems.append((cat, "verdicts_misaligned",
                             f"{cat}: the checklist has {len(qs)} question(s), the reference judge answered {len(ans)}; "
                             f"answers carry no index, so none of this category is imported"))
            continue
        got = [normalise_answer(a.get("answer")) for a in ans]
        bad = [k for k, g in enumerate(got) if g is None]
        if bad:
            problems.append((cat, "verdicts_invalid", f"{cat} answer {bad[0]}: {ans[bad[0]].get('answer')!r} is not Yes/No"))
            continue
        pairs += [(q, g, str(a.get("reason") or "")) for q, g, a in zip(qs, got, ans)]
    return pairs, problems


def _entries(path: Path) -> list:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected the reference's list of evaluation entries, got a {type(data).__name__}")
    return data


def _results(entry: dict) -> list | str:
    """The entry's answers, or why there are none."""
    if "error" in entry:
        return f"the reference judge recorded an error: {entry['error']}"
    ev = entry.get("evaluation", entry)  # nested as evaluation.py writes it, or flat
    if isinstance(ev, dict) and "error" in ev:
        return f"the reference judge failed: {ev['error']}"
    res = ev.get("evaluation_results") if isinstance(ev, dict) else None
    if not isinstance(res, list):
        return "no evaluation_results list in the entry"
    return res


def _run_mode(entries: list) -> str | None:
    """The one mode the file's entries name (evaluation.py writes one run per
    file), None when they name none or several."""
    named = set()
    for e in entries:
        if isinstance(e, dict) and e.get("mode"):
            try:
                named.add(parse_mode(e["mode"]))
            except ValueError:
                return None
    return named.pop() if len(named) == 1 else None


class _Rejects:
    """Reject rows of one import, one per item (a generation or generation#category)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.rows: list[dict] = []

    def add(self, item: str, reason: str, detail: str) -> None:
        self.rows.append({"reject_id": reject_id_for(STAGE, item, ""), "item": item, "stage": STAGE, "reason": reason,
                          "detail": detail, "article_id": None, "source_uri": self.source})


def import_verdicts(wh: Warehouse, spec: VerdictImport) -> Summary:
    from sciir_dist.runs import RunRecorder

    started = time.monotonic()
    path = Path(spec.path)
    entries = _entries(path)
    for t in ("bench_questions", "generations"):
        if not wh.exists(t) or not wh.count(t):
            raise ValueError(f"no {t} in {wh.root}: load the benchmark and import the judged images "
                             f"(`sciir bench import-images`) first")
    mode = parse_mode(spec.mode) if spec.mode else None
    fallback = mode or _run_mode(entries)  # error entries name no mode; a file is one run
    if spec.group not in GROUPS:
        raise ValueError(f"unknown group {spec.group!r}: one of {list(GROUPS)}")
    run = RunRecorder(wh, STAGE, "local", {**spec.__dict__, "judge": spec.judge})
    versions_read = wh.versions(("bench_questions", "generations"))
    summary = Summary(job=STAGE, rows_in=len(entries), run_id=run.run_id)
    rejects = _Rejects(str(path))
    questions: dict[str, list[dict]] = defaultdict(list)
    for q in wh.read("bench_questions", ["question_id", "sample_id", "idx", "category"]).to_pylist():
        questions[q["sample_id"]].append(q)
    have_gen = set(wh.read("generations", ["generation_id"], where=f"{eq('model', spec.model)} AND error IS NULL")
                   .column("generation_id").to_pylist())
    names = Counter(e.get("image_filename") for e in entries if isinstance(e, dict))
    verdicts, covered = [], []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("image_filename"), str):
            rejects.add(f"{path.name}#{i}", "verdicts_invalid", f"entry {i} has no image_filename: {str(e)[:200]}")
            continue
        item = f"{path.name}#{i}"
        try:
            m = parse_mode(e["mode"]) if e.get("mode") else fallback
        except ValueError as exc:
            rejects.add(item, "verdicts_invalid", f"entry {i}: {exc}")
            continue
        if m is None or (mode and m != mode):
            rejects.add(item, "verdicts_invalid", f"entry {i} names no mode and the file names several or none: give --mode" if m is None
                        else f"entry {i} has mode {e['mode']!r}, not {mode}")
            continue
        sid = sample_id(m, spec.group, Path(e["image_filename"].replace("\\", "/")).name)
        gid = generation_id(spec.model, sid, spec.seed)
        covered.append(gid)
        if names[e["image_filename"]] > 1:
            rejects.add(gid, "verdicts_duplicate", f"{e['image_filename']} has {names[e['image_filename']]} entries")
            continue
        if sid not in questions:
            rejects.add(gid, "verdicts_unknown_sample", f"the benchmark has no sample {sid} with questions")
            continue
        if gid not in have_gen:
            rejects.add(gid, "verdicts_no_generation", f"no successful generation {gid}: import the judged images "
                                                       f"with `sciir bench import-images` first")
            continue
        results = _results(e)
        if isinstance(results, str):
            rejects.add(gid, "verdicts_error", results)
            continue
        pairs, problems = align(questions[sid], results)
        for cat, reason, detail in problems:
            rejects.add(f"{gid}#{cat}", reason, detail)
        verdicts += [{"verdict_id": verdict_id(gid, q["question_id"], spec.judge, spec.version), "generation_id": gid,
                      "question_id": q["question_id"], "judge": spec.judge, "prompt_version": spec.version,
                      "answer": answer, "reason": reason} for q, answer, reason in pairs]
    written = _store(wh, spec, verdicts, rejects.rows, covered, questions)
    summary.rows_out["verdicts"] = len(verdicts)
    for r in rejects.rows:
        summary.rejected[r["reason"]] = summary.rejected.get(r["reason"], 0) + 1
    summary.elapsed_s = time.monotonic() - started
    run.finish(summary, versions_read, written)
    return summary


def _store(wh: Warehouse, spec: VerdictImport, verdicts: list[dict], rejects: list[dict], covered: list[str],
           questions: dict[str, list[dict]]) -> dict:
    """Replace this judge's verdicts and this stage's rejects for every
    generation the file covers (a category that no longer aligns loses its
    old verdicts), in one commit per table."""
    by_gid = {generation_id(spec.model, sid, spec.seed): qs for sid, qs in questions.items()}
    stale_verdicts = [verdict_id(g, q["question_id"], spec.judge, spec.version) for g in covered for q in by_gid.get(g, [])]
    wh.ensure("verdicts")
    frags = write_fragments(wh, "verdicts", pa.Table.from_pylist(verdicts, schema=VERDICTS))
    written = {"verdicts": wh.commit_upsert("verdicts", frags, replace_keys={"verdict_id": stale_verdicts})}
    wh.ensure("rejects")
    cats = set(CATEGORIES) | {r["item"].rsplit("#", 1)[1] for r in rejects if "#" in r["item"]}
    items = list(covered) + [f"{g}#{c}" for g in covered for c in cats] + [r["item"] for r in rejects]
    stale = wh.read("rejects", ["reject_id"], where=f"{eq('stage', STAGE)} AND {is_in('item', items)}") \
        .column("reject_id").to_pylist() if items else []
    frags = write_fragments(wh, "rejects", pa.Table.from_pylist(rejects, schema=REJECTS))
    written["rejects"] = wh.commit_upsert("rejects", frags, replace_keys={"reject_id": stale + [r["reject_id"] for r in rejects]})
    return written

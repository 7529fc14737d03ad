"""`sciir bench judge` (SPEC §6): verdicts for every successful generation.

- VLM reviewer (judge ``vlm:<model>``): image + prompt + checklist in, one
  yes/no with visual evidence per question out, in one of two protocols
  (:mod:`sciir_dist.prompts.protocol`). ``sciir`` (default): the checklist
  with categories, image at high detail, temperature 0, answers
  {category, Yes/No, reason}; the request schema fixes the count and each
  position's category. ``strict-index``: numbered questions, answers pinned
  to each position's index. Answers are checked for count and order,
  re-asked, and a generation whose answers stay wrong gets a ``rejects`` row
  (``judge_invalid``; transport failures ``vlm_error:<kind>``). Long
  checklists are split across requests.
- Offline OCR judge (judge ``ocr``): a Text question passes when the string it
  quotes appears in the image's OCR text (both normalised); other questions
  ``abstain``.

- Ensembles (judge ``ensemble:<rule>(<member>,...)``): the members' verdicts
  combined per question by ``majority`` or ``unanimous-yes``; members must
  share a protocol.

Verdicts are cached by (image sha256, question, judge, prompt version), so an
identical image is never judged twice for the same question. A judge run with
a sampling seed (``--seed``, the request's ``seed``) is a judge of its own,
``vlm:<model>+seed<N>``: test-retest runs are stored side by side.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

import pyarrow as pa

from schemas.outputs import load
from schemas.tables import VERDICTS
from sciir_dist.backends.openai import CallSettings, EndpointSettings, VLMError
from sciir_dist.prompts import judge as prompt
from sciir_dist.prompts import protocol as protocols
from sciir_dist.sql import eq
from sciir_dist.stages.base import Lookup, Resources, Stage, StageResult
from sciir_dist.stages.vlm import Clients, data_url, run_each
from sciir_dist.warehouse import Warehouse

OCR_JUDGE = "ocr"
OCR_VERSION = "ocr-judge-v1"
MAX_QUESTIONS_PER_REQUEST = 40
_QUOTED = re.compile(r"""['"‘“]([^'"‘’“”]{1,120})['"’”]""")


#: the request settings each protocol prescribes where the endpoint settings leave them open
PROTOCOL_SETTINGS = {protocols.SCIIR: {"temperature": 0.0, "image_detail": "high"},
                     protocols.STRICT_INDEX: {"temperature": 0.0}}


@dataclass(frozen=True)
class JudgeSpec:
    vision: EndpointSettings | None = None  # None: the offline OCR judge
    max_questions: int = MAX_QUESTIONS_PER_REQUEST
    protocol: str = protocols.DEFAULT

    def __post_init__(self) -> None:
        protocols.check(self.protocol)

    @property
    def name(self) -> str:
        return seeded(f"vlm:{self.vision.model}", self.vision.seed) if self.vision else OCR_JUDGE

    def with_seed(self, seed: int | None) -> "JudgeSpec":
        """This judge sampling with ``seed`` (the request's seed param), stored
        as a judge of its own name so test-retest runs stand side by side."""
        if seed is None:
            return self
        if self.vision is None:
            raise ValueError("--seed needs a VLM judge: the OCR judge is deterministic")
        return dataclasses.replace(self, vision=dataclasses.replace(self.vision, seed=seed))

    @property
    def version(self) -> str:
        return protocols.versioned(prompt.VERSION, self.protocol) if self.vision else OCR_VERSION

    @property
    def endpoint(self) -> EndpointSettings | None:
        """The judge's endpoint with the protocol's temperature and image
        detail wherever the given settings leave them open."""
        return CallSettings().apply(self.vision, **PROTOCOL_SETTINGS[self.protocol]) if self.vision else None

    def params(self) -> dict:
        return {"judge": self.name, "prompt_version": self.version, "protocol": self.protocol if self.vision else None,
                "vision": self.endpoint.__dict__ if self.vision else None, "max_questions": self.max_questions}


def parse_judge(name: str, base: EndpointSettings | None, max_questions: int = MAX_QUESTIONS_PER_REQUEST,
                protocol: str = protocols.DEFAULT) -> JudgeSpec:
    """A judge named on the command line: ``ocr``, ``vlm:<model>`` (at the
    judge endpoint's URL) or ``vlm:<model>@<url>``."""
    if name == OCR_JUDGE:
        return JudgeSpec(None, max_questions, protocol)
    kind, _, rest = name.partition(":")
    model, _, url = rest.partition("@")
    if kind != "vlm" or not model:
        raise ValueError(f"unknown judge {name!r}: use ocr, vlm:<model> or vlm:<model>@<url>")
    if base is None and not url:
        raise ValueError(f"judge {name!r} needs an endpoint: --vlm-url, [roles.judge] url, or vlm:<model>@<url>")
    settings = dataclasses.replace(base, model=model, url=url or base.url) if base else EndpointSettings(url=url, model=model)
    return JudgeSpec(settings, max_questions, protocol)


SEED_TAG = "+seed"


def seeded(name: str, seed: int | None) -> str:
    """A judge's stored name with its sampling seed: runs at different seeds
    never count as done for each other, share no verdict cache and are never
    scored together."""
    return name if seed is None else f"{name}{SEED_TAG}{seed}"


def seed_of(name: str) -> tuple[str, int | None]:
    """(judge without seed, seed) of a stored judge name."""
    base, tag, seed = name.rpartition(SEED_TAG)
    return (base, int(seed)) if tag and base and seed.lstrip("-").isdigit() else (name, None)


def _path_safe(name: str) -> str:
    return name.replace(":", "_").replace("/", "_")


def verdict_id(generation_id: str, question_id: str, judge: str, version: str) -> str:
    return hashlib.sha256(f"{generation_id}\x1f{question_id}\x1f{judge}\x1f{version}".encode()).hexdigest()[:32]


def normalise(text: str) -> str:
    """Case, width, accents of compatibility forms, spacing and punctuation
    do not matter when matching rendered text."""
    t = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in t if ch.isalnum())


def quoted_target(question: str) -> str | None:
    m = _QUOTED.search(question)
    return m.group(1) if m else None


def verdicts_schema(n: int, first_index: int) -> dict:
    """strict-index: n answers, position i pinned to index first_index + i."""
    schema = copy.deepcopy(load("verdicts"))
    arr = schema["properties"]["verdicts"]
    item = schema["$defs"]["verdict"]
    arr["prefixItems"] = []
    for i in range(n):
        fixed = copy.deepcopy(item)
        fixed["properties"]["index"] = {"type": "integer", "const": first_index + i}
        arr["prefixItems"].append(fixed)
    arr["minItems"] = arr["maxItems"] = n
    arr["items"] = False
    return schema


def sciir_schema(categories: list[str]) -> dict:
    """sciir: one answer per question, position i pinned to its category."""
    schema = copy.deepcopy(load("verdicts_sciir"))
    arr = schema["properties"]["evaluation_results"]
    item = schema["$defs"]["verdict"]
    arr["prefixItems"] = []
    for c in categories:
        fixed = copy.deepcopy(item)
        fixed["properties"]["category"] = {"type": "string", "const": c}
        arr["prefixItems"].append(fixed)
    arr["minItems"] = arr["maxItems"] = len(categories)
    arr["items"] = False
    return schema


def check_categories(data: dict, categories: list[str]) -> str | None:
    got = [v.get("category") for v in data.get("evaluation_results", [])]
    if got != categories:
        return (f"expected {len(categories)} answers with categories {categories[:8]}{'...' if len(categories) > 8 else ''}"
                f" in order, got {len(got)}: {got[:8]}{'...' if len(got) > 8 else ''}")
    return None


def request(protocol: str, chunk: list[dict], start: int):
    """(schema, schema name, validator, answers -> [(yes|no, reason)]) of one
    judge request over ``chunk`` (questions ``start``... of the checklist)."""
    if protocol == protocols.SCIIR:
        cats = [q["category"] for q in chunk]
        return (sciir_schema(cats), "verdicts", lambda d: check_categories(d, cats),
                lambda d: [(v["answer"].lower(), v["reason"]) for v in d["evaluation_results"]])
    n = len(chunk)
    return (verdicts_schema(n, start), "verdicts", lambda d: check_aligned(d, n, start),
            lambda d: [(v["answer"], v["evidence"]) for v in d["verdicts"]])


def check_aligned(data: dict, n: int, first_index: int) -> str | None:
    got = [v.get("index") for v in data.get("verdicts", [])]
    want = list(range(first_index, first_index + n))
    if got != want:
        return f"expected verdicts for indices {want[0]}..{want[-1]} in order ({n}), got {got[:8]}{'...' if len(got) > 8 else ''}"
    return None


class JudgeStage(Stage):
    name = "judge"
    output_table = "verdicts"
    source_table = "generations"
    key = "generation_id"
    output_key = "verdict_id"
    inputs = ("generation_id", "sample_id", "sha256", "image")
    lookups = {"prompt": Lookup("bench_samples", "sample_id", "prompt")}
    requires = {"generations": "error IS NULL"}

    def __init__(self, wh: Warehouse, spec: JudgeSpec) -> None:
        self.wh = wh
        self.spec = spec
        self.resources = Resources(num_cpus=1, batch_size=64 if spec.vision else 8)
        self._questions: dict[str, list[dict]] = {}

    def done_filter(self) -> str | None:
        return f"{eq('judge', self.spec.name)} AND {eq('prompt_version', self.spec.version)}"

    def setup(self) -> None:
        by_sample: dict[str, list[dict]] = defaultdict(list)
        for q in self.wh.read("bench_questions", ["question_id", "sample_id", "idx", "category", "question"]).to_pylist():
            by_sample[q["sample_id"]].append(q)
        self._questions = {k: sorted(v, key=lambda q: q["idx"]) for k, v in by_sample.items()}
        import fsspec

        self._cache_fs, root = fsspec.core.url_to_fs(f"{self.wh.root}/_cache/verdicts", **self.wh.storage_options)
        self._cache_root = f"{root}/{_path_safe(self.spec.name)}/{_path_safe(self.spec.version)}"

    # -- cache by (image sha256, question text) for this judge and version -----
    def _cache_path(self, sha: str) -> str:
        return f"{self._cache_root}/{sha[:2]}/{sha}.json"

    def _cached(self, sha: str) -> dict[str, list[str]]:
        try:
            with self._cache_fs.open(self._cache_path(sha), "rb") as f:
                return json.loads(f.read())
        except (FileNotFoundError, ValueError):
            return {}

    def _remember(self, sha: str, answers: dict[str, list[str]]) -> None:
        path = self._cache_path(sha)
        self._cache_fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        merged = {**self._cached(sha), **answers}
        tmp = f"{path}.{hashlib.sha256(json.dumps(merged).encode()).hexdigest()[:8]}.tmp"
        with self._cache_fs.open(tmp, "wb") as f:
            f.write(json.dumps(merged).encode())
        self._cache_fs.mv(tmp, path)

    def process(self, batch: pa.Table) -> StageResult:
        rows = batch.to_pylist()
        answers: dict[str, dict[str, list[str]]] = {}  # generation -> question text -> [answer, reason]
        todo: dict[str, list[dict]] = {}
        for r in rows:
            qs = self._questions.get(r["sample_id"], [])
            known = self._cached(r["sha256"]) if r["sha256"] else {}
            answers[r["generation_id"]] = {q["question"]: known[q["question"]] for q in qs if q["question"] in known}
            todo[r["generation_id"]] = [q for q in qs if q["question"] not in known]
        rejects: list[tuple[str, str, str]] = []
        fresh = self._ocr(rows, todo) if self.spec.vision is None else self._vlm(rows, todo, rejects)
        out = []
        failed = {pid for pid, _, _ in rejects}
        for r in rows:
            gid = r["generation_id"]
            if gid in failed:
                continue
            new = fresh.get(gid, {})
            if new and r["sha256"]:
                self._remember(r["sha256"], new)
            got = {**answers[gid], **new}
            for q in self._questions.get(r["sample_id"], []):
                answer, reason = got[q["question"]]
                out.append({"verdict_id": verdict_id(gid, q["question_id"], self.spec.name, self.spec.version),
                            "generation_id": gid, "question_id": q["question_id"], "judge": self.spec.name,
                            "prompt_version": self.spec.version, "answer": answer, "reason": reason})
        return StageResult(pa.Table.from_pylist(out, schema=VERDICTS), rejects)

    def _ocr(self, rows: list[dict], todo: dict[str, list[dict]]) -> dict[str, dict[str, list[str]]]:
        from sciir_dist.backends.ocr import read_lines

        out = {}
        for r in rows:
            qs = todo[r["generation_id"]]
            if not qs:
                continue
            needs_text = any(q["category"] == "Text" and quoted_target(q["question"]) for q in qs)
            seen = normalise(" ".join(read_lines(r["image"]))) if needs_text else ""
            res = {}
            for q in qs:
                target = quoted_target(q["question"]) if q["category"] == "Text" else None
                if target is None:
                    why = "the OCR judge only checks quoted text" if q["category"] == "Text" else \
                        "the OCR judge cannot assess structure, process or law"
                    res[q["question"]] = ["abstain", why]
                elif normalise(target) and normalise(target) in seen:
                    res[q["question"]] = ["yes", f"OCR found {target!r} in the image text"]
                else:
                    res[q["question"]] = ["no", f"OCR did not find {target!r} in the image text"]
            out[r["generation_id"]] = res
        return out

    def _vlm(self, rows: list[dict], todo: dict[str, list[dict]], rejects: list) -> dict[str, dict[str, list[str]]]:
        size = self.spec.max_questions

        def job(r: dict):
            qs = todo[r["generation_id"]]
            url = data_url(r["image"])

            async def run(clients: Clients):
                res = {}
                for start in range(0, len(qs), size):
                    chunk = qs[start:start + size]
                    schema, name, validate, answers = request(self.spec.protocol, chunk, start)
                    a = await clients["judge"].chat_json(
                        prompt.messages(url, r["prompt"] or "", chunk, start, self.spec.protocol), schema, name, validate)
                    for q, (answer, reason) in zip(chunk, answers(a.data)):
                        res[q["question"]] = [answer, reason]
                return res

            return run

        done = run_each({"judge": self.spec.endpoint}, {r["generation_id"]: job(r) for r in rows if todo[r["generation_id"]]})
        out = {}
        for gid, res in done.items():
            if isinstance(res, VLMError):
                reason = "judge_invalid" if res.kind in ("schema_invalid", "invalid") else f"vlm_error:{res.kind}"
                rejects.append((gid, reason, res.detail))
            else:
                out[gid] = res
        return out


def run_judge(wh: Warehouse, spec: JudgeSpec, *, address: str | None = None, retry_rejects: bool = False,
              commit_every: int = 200, progress: bool = True):
    from sciir_dist.runner import run_job

    for t in ("generations", "bench_questions"):
        if not wh.exists(t) or not wh.count(t):
            raise ValueError(f"no {t} in {wh.root}: run `sciir bench sweep` (and load/checklist) first")

    def factories(run_id: str):
        return [functools.partial(JudgeStage, wh, spec)], []

    return run_job(wh, "bench-judge", factories, address=address, retry_rejects=retry_rejects,
                   commit_every=commit_every, params=spec.params(),
                   progress=progress, read_tables=("generations", "bench_questions"))


# -- ensembles ----------------------------------------------------------------
ENSEMBLE_RULES = ("majority", "unanimous-yes")
ENSEMBLE_VERSION = "ensemble-v1"
ENSEMBLE_STAGE = "judge-ensemble"


@dataclass(frozen=True)
class EnsembleSpec:
    """Several judges' verdicts combined per question into a judge of its
    own. Members are (judge, prompt version) pairs; order does not matter."""

    members: tuple[tuple[str, str], ...]
    rule: str = "majority"

    def __post_init__(self) -> None:
        if self.rule not in ENSEMBLE_RULES:
            raise ValueError(f"unknown combination rule {self.rule!r}; choose from {list(ENSEMBLE_RULES)}")
        if len(set(self.members)) < 2:
            raise ValueError("an ensemble needs at least two different judges")
        found = {protocols.protocol_of(v) for _, v in self.members} - {None}
        if len(found) > 1:
            raise ValueError(f"ensemble members mix protocols {sorted(found)}: their verdicts are not comparable")

    @property
    def name(self) -> str:
        return f"ensemble:{self.rule}({','.join(sorted(j for j, _ in self.members))})"

    @property
    def version(self) -> str:
        found = {protocols.protocol_of(v) for _, v in self.members} - {None}
        return protocols.versioned(ENSEMBLE_VERSION, found.pop()) if found else ENSEMBLE_VERSION


def combine(answers: list[str], rule: str) -> tuple[str, str]:
    """One question's verdict from its members' answers. Abstentions do not
    vote; a tie is not a majority (the veto metric needs a clear yes); with
    no yes/no at all the ensemble abstains too."""
    votes = [a for a in answers if a in ("yes", "no")]
    if not votes:
        return "abstain", f"all {len(answers)} members abstained"
    yes = votes.count("yes")
    passed = yes * 2 > len(votes) if rule == "majority" else yes == len(votes)
    return ("yes" if passed else "no"), f"{yes} of {len(votes)} voting members said yes ({len(answers) - len(votes)} abstained)"


def run_ensemble(wh: Warehouse, spec: EnsembleSpec):
    """Write the ensemble's verdicts for every generation each member has
    judged completely; a generation some member lacks verdicts for gets a
    ``member_missing`` rejects row instead of a verdict made of fewer votes."""
    import time

    from schemas.tables import REJECTS
    from sciir_dist.ingest.model import reject_id_for
    from sciir_dist.progress import Summary
    from sciir_dist.runs import RunRecorder
    from sciir_dist.sql import is_in
    from sciir_dist.warehouse import write_fragments

    started = time.monotonic()
    run = RunRecorder(wh, "bench-judge-ensemble", "local", {"judge": spec.name, "prompt_version": spec.version,
                                                            "rule": spec.rule, "members": [list(m) for m in spec.members]})
    read = wh.versions(("verdicts", "generations", "bench_questions"))
    gens = wh.read("generations", ["generation_id", "sample_id"], where="error IS NULL").to_pandas()
    questions = wh.read("bench_questions", ["question_id", "sample_id"]).to_pandas()
    wanted = gens.merge(questions, on="sample_id")
    v = wh.read("verdicts", ["generation_id", "question_id", "judge", "prompt_version", "answer"],
                where=is_in("judge", [j for j, _ in spec.members])).to_pandas()
    v = v[[(j, p) in set(spec.members) for j, p in zip(v["judge"], v["prompt_version"])]]
    votes = v.groupby(["generation_id", "question_id"])["answer"].apply(list).to_dict()
    out, rejects, missing = [], [], defaultdict(set)
    for gid, qid in zip(wanted["generation_id"], wanted["question_id"]):
        got = votes.get((gid, qid), [])
        if len(got) < len(spec.members):
            missing[gid].add(qid)
            continue
        answer, reason = combine(got, spec.rule)
        out.append({"verdict_id": verdict_id(gid, qid, spec.name, spec.version), "generation_id": gid, "question_id": qid,
                    "judge": spec.name, "prompt_version": spec.version, "answer": answer, "reason": reason})
    complete = {gid for gid in wanted["generation_id"] if gid not in missing}
    out = [r for r in out if r["generation_id"] in complete]
    for gid, qids in sorted(missing.items()):
        rejects.append({"reject_id": reject_id_for(ENSEMBLE_STAGE, gid, spec.name), "item": gid, "stage": ENSEMBLE_STAGE,
                        "reason": "member_missing", "detail": f"{spec.name}: {len(qids)} question(s) lack a verdict of "
                                                               f"some member; judge them first", "article_id": None,
                        "source_uri": None})
    frags = write_fragments(wh, "verdicts", pa.Table.from_pylist(out, schema=VERDICTS))
    written = {"verdicts": wh.commit_upsert("verdicts", frags, replace_keys={"judge": [spec.name]})}
    stale = [reject_id_for(ENSEMBLE_STAGE, g, spec.name) for g in set(gens["generation_id"])]
    frags = write_fragments(wh, "rejects", pa.Table.from_pylist(rejects, schema=REJECTS))
    written["rejects"] = wh.commit_upsert("rejects", frags, replace_keys={"reject_id": stale})
    summary = Summary(job="bench-judge-ensemble", rows_in=len(set(wanted["generation_id"])), run_id=run.run_id)
    summary.rows_out["verdicts"] = len(out)
    if rejects:
        summary.rejected[f"{ENSEMBLE_STAGE}:member_missing"] = len(rejects)
    summary.elapsed_s = time.monotonic() - started
    run.finish(summary, read, written)
    return summary

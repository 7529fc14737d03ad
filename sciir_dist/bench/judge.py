"""`sciir bench judge` (SPEC §6): verdicts for every successful generation.

- VLM reviewer (judge ``vlm:<model>``): image + prompt + checklist in, one
  yes/no with visual evidence per question out. The request schema fixes the
  count and each position's index; answers are checked for count and order,
  re-asked, and a generation whose answers stay wrong gets a ``rejects`` row
  (``judge_invalid``; transport failures ``vlm_error:<kind>``). Long
  checklists are split across requests.
- Offline OCR judge (judge ``ocr``): a Text question passes when the string it
  quotes appears in the image's OCR text (both normalised); other questions
  ``abstain``.

Verdicts are cached by (image sha256, question, judge, prompt version), so an
identical image is never judged twice for the same question.
"""

from __future__ import annotations

import copy
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
from sciir_dist.backends.openai import EndpointSettings, VLMError
from sciir_dist.prompts import judge as prompt
from sciir_dist.stages.base import Lookup, Resources, Stage, StageResult
from sciir_dist.stages.vlm import Clients, data_url, run_each
from sciir_dist.warehouse import Warehouse

OCR_JUDGE = "ocr"
OCR_VERSION = "ocr-judge-v1"
MAX_QUESTIONS_PER_REQUEST = 40
_QUOTED = re.compile(r"""['"‘“]([^'"‘’“”]{1,120})['"’”]""")


@dataclass(frozen=True)
class JudgeSpec:
    vision: EndpointSettings | None = None  # None: the offline OCR judge
    max_questions: int = MAX_QUESTIONS_PER_REQUEST

    @property
    def name(self) -> str:
        return f"vlm:{self.vision.model}" if self.vision else OCR_JUDGE

    @property
    def version(self) -> str:
        return prompt.VERSION if self.vision else OCR_VERSION


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
        return f"judge = '{self.spec.name}' AND prompt_version = '{self.spec.version}'"

    def setup(self) -> None:
        by_sample: dict[str, list[dict]] = defaultdict(list)
        for q in self.wh.read("bench_questions", ["question_id", "sample_id", "idx", "category", "question"]).to_pylist():
            by_sample[q["sample_id"]].append(q)
        self._questions = {k: sorted(v, key=lambda q: q["idx"]) for k, v in by_sample.items()}
        import fsspec

        self._cache_fs, root = fsspec.core.url_to_fs(f"{self.wh.root}/_cache/verdicts", **self.wh.storage_options)
        self._cache_root = f"{root}/{self.spec.name.replace(':', '_').replace('/', '_')}/{self.spec.version}"

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
                    n = len(chunk)
                    a = await clients["judge"].chat_json(
                        prompt.messages(url, r["prompt"] or "", [q["question"] for q in chunk], start),
                        verdicts_schema(n, start), "verdicts", lambda d, n=n, s=start: check_aligned(d, n, s))
                    for q, v in zip(chunk, a.data["verdicts"]):
                        res[q["question"]] = [v["answer"], v["evidence"]]
                return res

            return run

        done = run_each({"judge": self.spec.vision}, {r["generation_id"]: job(r) for r in rows if todo[r["generation_id"]]})
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
                   commit_every=commit_every, params={"judge": spec.name, "prompt_version": spec.version,
                                                      "vision": spec.vision.__dict__ if spec.vision else None},
                   progress=progress, read_tables=("generations", "bench_questions"))

"""Scoring speed: the SPEC §6 veto metric with bootstrap CIs over 1M+
verdict rows in Lance (10 models x 8 seeds x the published 800 samples and
their 12,962 questions). Prints rows and seconds for reading + scoring and
for the bootstrap alone."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.tables import GENERATIONS, VERDICTS  # noqa: E402
from sciir_dist.bench.load import find_release, load_release  # noqa: E402
from sciir_dist.bench.score import ScoreOptions, score  # noqa: E402
from sciir_dist.warehouse import Warehouse  # noqa: E402

RELEASE = find_release()


def main(models: int = 10, seeds: int = 8) -> None:
    wh = Warehouse(tempfile.mkdtemp(prefix="bench-score-"))
    load_release(wh, RELEASE)
    q = wh.read("bench_questions", ["question_id", "sample_id"]).to_pandas()
    samples = q["sample_id"].unique()
    rng = np.random.default_rng(0)
    gens, verdicts = [], []
    for m in range(models):
        for s in range(seeds):
            gid = np.array([f"m{m}|{sid}|{s}" for sid in samples])
            gens.append(pa.table({"generation_id": gid, "model": [f"m{m}"] * len(gid), "sample_id": samples,
                                  "seed": np.full(len(gid), s)}))
            qg = q["sample_id"].map(dict(zip(samples, gid)))
            answers = np.where(rng.random(len(q)) < 0.8 - 0.05 * m, "yes", "no")
            verdicts.append(pa.table({"verdict_id": qg + "#" + q["question_id"], "generation_id": qg,
                                      "question_id": q["question_id"], "judge": ["vlm:j"] * len(q),
                                      "prompt_version": ["v1"] * len(q), "answer": answers}))
    t0 = time.perf_counter()
    wh.upsert("generations", pa.concat_tables(gens).cast(pa.schema([GENERATIONS.field(c) for c in gens[0].column_names])))
    v = pa.concat_tables(verdicts)
    wh.upsert("verdicts", v.cast(pa.schema([VERDICTS.field(c) for c in v.column_names])))
    print(f"wrote {v.num_rows:,} verdict rows in {time.perf_counter() - t0:.1f} s")
    for boot in (0, 1000):
        t0 = time.perf_counter()
        results, _ = score(wh, ScoreOptions(bootstrap=boot))
        print(f"score over {v.num_rows:,} verdicts, {models} models x {seeds} seeds, bootstrap={boot}: "
              f"{time.perf_counter() - t0:.2f} s ({len(results)} figures)")


if __name__ == "__main__":
    main()

"""Benchmark sweep throughput: M models x the published 800 samples through
the OpenAI-compatible image backend, then the VLM judge, both against the
fake server (loopback, fixed latency), on local Ray. Prints generations/s
and judged generations/s per actor count, and the scaling ratio measured in
the same run."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sciir_dist.backends.fake_openai import FakeConfig, FakeOpenAI  # noqa: E402
from sciir_dist.backends.openai import EndpointSettings  # noqa: E402
from sciir_dist.bench.judge import JudgeSpec, run_judge  # noqa: E402
from sciir_dist.bench.load import find_release, load_release  # noqa: E402
from sciir_dist.bench.models_file import ModelSpec  # noqa: E402
from sciir_dist.bench.sweep import run_sweep  # noqa: E402
from sciir_dist.engines.ray import init_ray  # noqa: E402
from sciir_dist.warehouse import Warehouse  # noqa: E402

RELEASE = find_release()


def one(actors: int, models: int, latency: float, in_flight: int, url: str) -> tuple[int, float, float]:
    wh = Warehouse(tempfile.mkdtemp(prefix="bench-sweep-"))
    load_release(wh, RELEASE)
    specs = [ModelSpec(name=f"m{i}", backend="openai", concurrency=actors, batch_size=100,
                       options={"url": url, "model": f"gen-{i}", "max_in_flight": in_flight, "timeout_s": 60})
             for i in range(models)]
    t0 = time.perf_counter()
    run_sweep(wh, specs, progress=False, commit_every=1000)
    t_gen = time.perf_counter() - t0
    n = wh.count("generations", "error IS NULL")
    t0 = time.perf_counter()
    run_judge(wh, JudgeSpec(EndpointSettings(url=url, model="judge", max_in_flight=in_flight, timeout_s=60)),
              progress=False, commit_every=2000)
    t_judge = time.perf_counter() - t0
    return n, t_gen, t_judge


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", type=int, default=10)
    ap.add_argument("--actors", default="1,2")
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--capacity", type=int, default=512)
    ap.add_argument("--in-flight", type=int, default=64, help="requests in flight per actor")
    args = ap.parse_args()
    init_ray()
    rates = {}
    with FakeOpenAI(FakeConfig(latency_s=args.latency, capacity=args.capacity)) as server:
        for a in [int(x) for x in args.actors.split(",")]:
            n, t_gen, t_judge = one(a, args.models, args.latency, args.in_flight, server.url)
            rates[a] = (n / t_gen, n / t_judge)
            print(f"actors/model={a}: {n} generations in {t_gen:.1f} s = {n / t_gen:.1f} samples/s; "
                  f"judged in {t_judge:.1f} s = {n / t_judge:.1f} generations/s "
                  f"(end to end {n / (t_gen + t_judge):.1f} samples/s)")
    base = min(rates)
    for a, (g, j) in rates.items():
        if a != base:
            print(f"scaling {base} -> {a} actors: generation x{g / rates[base][0]:.2f}, judge x{j / rates[base][1]:.2f}")


if __name__ == "__main__":
    main()

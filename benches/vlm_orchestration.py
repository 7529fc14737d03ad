"""VLM orchestration throughput: requests/s achieved against the fake
OpenAI-compatible server's capacity (latency L, C concurrent -> C/L req/s),
over N requests from K client processes (as Ray actors would be), each with
a bounded number of requests in flight. Target ratio >= 0.9."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.outputs import load  # noqa: E402
from sciir_dist.backends.openai import EndpointSettings, OpenAIClient  # noqa: E402


def client_proc(url: str, start: int, n: int, in_flight: int, out) -> None:
    schema = load("filter_decision")

    async def run() -> int:
        client = OpenAIClient(EndpointSettings(url=url, model="fake-vlm", max_in_flight=in_flight, timeout_s=60))
        try:
            res = await asyncio.gather(*(client.chat_json([{"role": "user", "content": f"panel {start + i}"}], schema)
                                         for i in range(n)))
            return len(res)
        finally:
            await client.close()

    out.put(asyncio.run(run()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--capacity", type=int, default=256)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--in-flight", type=int, default=256, help="per client")
    args = ap.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "sciir_dist.backends.fake_openai", "--latency", str(args.latency),
                               "--capacity", str(args.capacity)], stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip()
    try:
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        per = args.requests // args.clients
        procs = [ctx.Process(target=client_proc, args=(url, i * per, per, args.in_flight, q)) for i in range(args.clients)]
        t = time.perf_counter()
        for p in procs:
            p.start()
        done = sum(q.get() for _ in procs)
        elapsed = time.perf_counter() - t
        for p in procs:
            p.join()
    finally:
        server.terminate()
    capacity = args.capacity / args.latency
    print(f"requests: {done} from {args.clients} client processes x {args.in_flight} in flight")
    print(f"endpoint capacity: {capacity:.0f} req/s (latency {args.latency}s x {args.capacity} concurrent)")
    print(f"achieved: {done / elapsed:.0f} req/s in {elapsed:.1f}s (includes client start-up)")
    print(f"ratio achieved / capacity: {done / elapsed / capacity:.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()

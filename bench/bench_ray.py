"""Ray Data path against the plain Encoder on one machine: the overhead of fastsbert.ray.

    python bench/bench_ray.py                  # 5,000 and 20,000 sentences, all-MiniLM-L6-v2
    python bench/bench_ray.py --n 8000 --repeats 3

Both run the same model on the same texts and the same CPUs: the plain path is one
``Encoder`` with every thread; the Ray path is a local cluster with that many CPUs and
one single-CPU actor per CPU (``fastsbert.ray.embed(..., concurrency=cpus)``), timed
from the dataset to the materialised vectors (actor start-up and model load included,
as a user pays them; the cluster itself is started and warmed by one small untimed run,
as the Encoder is). Medians of --repeats runs; every plain run comes before the Ray
cluster starts, so its idle processes do not slow the baseline.

Each path runs at --n and --scale x --n sentences (the smaller set is a prefix of the
larger) and the two points fit ``seconds = fixed + sentences / rate``: the fixed part is
what Ray spends once (actors, model loads, the pipeline's start and tail), the rate ratio
is the overhead a large corpus sees once that is amortised. Two points cannot show that
the model is linear, only fit it; on a loaded machine quote it with the load.
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


def _median_seconds(run, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _fit(sizes: tuple[int, int], seconds: tuple[float, float]) -> tuple[float, float]:
    """(fixed seconds, sentences/s) of the line through the two (size, seconds) points."""
    per_sentence = (seconds[1] - seconds[0]) / (sizes[1] - sizes[0])
    return seconds[0] - sizes[0] * per_sentence, 1 / per_sentence


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=5_000, help="the smaller size, in sentences")
    p.add_argument("--scale", type=int, default=4, help="the larger size is --scale x --n")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--model", default=None)
    args = p.parse_args()
    if args.n < 1 or args.scale < 2:
        raise SystemExit(f"need --n >= 1 and --scale >= 2, got --n {args.n} --scale {args.scale}")

    import numpy as np
    import ray

    import fastsbert
    import fastsbert.ray

    cpus = len(os.sched_getaffinity(0))
    sizes = (args.n, args.scale * args.n)
    try:
        texts = load_corpus(sizes[1])
    except ValueError:  # half of the sentences come from STS-B's 17k
        raise SystemExit(f"--scale x --n = {sizes[1]:,} sentences is more than the benchmark "
                         "corpus can mix; lower --n or --scale") from None
    enc = fastsbert.Encoder(args.model)
    enc.encode(texts[:64])
    plain = {n: _median_seconds(lambda n=n: enc.encode(texts[:n]), args.repeats) for n in sizes}

    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1", configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    datasets = {n: ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts[:n])])
                .materialize() for n in sizes}
    # Ray's first Data job in a process also starts its own services; like the Encoder's
    # warm-up above, one untimed run keeps that out of whichever size would go first.
    fastsbert.ray.embed(datasets[sizes[0]].limit(64), model=args.model, concurrency=cpus).take_all()
    timed = {n: _median_seconds(lambda n=n: fastsbert.ray.embed(
        datasets[n], model=args.model, concurrency=cpus).take_all(), args.repeats) for n in sizes}
    ray.shutdown()
    rows, want = timed[sizes[1]][1], plain[sizes[1]][1]
    got = np.stack([r["embedding"] for r in sorted(rows, key=lambda r: r["id"])])
    norms = np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1)
    cos = float(((got * want).sum(1) / norms).min())

    print(f"\nfastsbert.ray vs Encoder — {cpus} CPUs, median of {args.repeats}, "
          f"min cosine Ray vs plain {cos:.7f}\n")
    print("| path | sentences | seconds | sentences/s | vs plain |")
    print("|---|---:|---:|---:|---:|")
    for n in sizes:
        p_med, r_med = plain[n][0], timed[n][0]
        print(f"| Encoder.encode ({cpus} threads) | {n:,} | {p_med:.2f} | {n / p_med:,.0f} | "
              "1.00x |")
        print(f"| fastsbert.ray.embed ({cpus} actors x 1 CPU) | {n:,} | {r_med:.2f} | "
              f"{n / r_med:,.0f} | {p_med / r_med:.2f}x "
              f"(overhead {100 * (r_med / p_med - 1):+.0f}%) |")
    if any(d[sizes[1]][0] <= d[sizes[0]][0] for d in (plain, timed)):
        print("\nNo fit: a larger run was not slower (noise dominates); raise --n or --scale.")
        return
    p_fixed, p_rate = _fit(sizes, tuple(plain[n][0] for n in sizes))
    r_fixed, r_rate = _fit(sizes, tuple(timed[n][0] for n in sizes))
    print("\nTwo-point fit, seconds = fixed + sentences / rate:\n")
    print("| path | fixed seconds | sentences/s | vs plain (rate) |")
    print("|---|---:|---:|---:|")
    print(f"| Encoder.encode | {p_fixed:.2f} | {p_rate:,.0f} | 1.00x |")
    print(f"| fastsbert.ray.embed | {r_fixed:.2f} | {r_rate:,.0f} | {r_rate / p_rate:.2f}x "
          f"(steady-state overhead {100 * (p_rate / r_rate - 1):+.0f}%) |")


if __name__ == "__main__":
    main()

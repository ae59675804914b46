"""All-pairs top-k over one set of embeddings: fastsbert against its peers, one table.

    python bench/bench_topk.py                       # 10k and 50k (+100k for fastsbert, FAISS)
    python bench/bench_topk.py --sizes 10000 --repeat 5
    python bench/bench_topk.py --npy emb.npy         # your own (n, d) float32 embeddings

Every method runs in its own process on the same embeddings (saved once to a temporary
.npy), so each row's peak RSS is that method's alone (interpreter and imports included).
Times are medians of --repeat runs. Methods:

  fastsbert mining   paraphrase_mining(x, top_k=k): each pair scored once (symmetry)
  fastsbert self     topk(x, None, k): per-row top-k without self, symmetric
  fastsbert search   topk(x, x, k + 1): the plain search kernel, as FAISS computes it
  faiss              IndexFlatIP.search(x, k + 1)
  numpy              4096-row blocks of x @ x.T + argpartition
  st mining          sentence_transformers.util.paraphrase_mining_embeddings(top_k=k)
  st search          sentence_transformers.util.semantic_search(x, x, top_k=k + 1)

GFLOP/s counts 2 * n * n * d for every method (the full product), so symmetric methods
show their saving as a higher figure; "work GFLOP/s" counts what was really multiplied.
Synthetic embeddings by default: unit vectors around 2,000 random centres (clustered like
sentence embeddings, so selection thresholds behave realistically).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_header, sgemm_gflops  # noqa: E402

METHODS = ["fastsbert mining", "fastsbert self", "fastsbert search", "faiss", "numpy",
           "st mining", "st search"]
SYMMETRIC = {"fastsbert mining", "fastsbert self"}


def synthetic(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, d)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.8 * rng.standard_normal((n, d)).astype(
        np.float32
    )
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=np.float32)


def run_method(method: str, path: str, k: int, threads: int, repeat: int) -> dict:
    """Runs in a child process: times `method` on the embeddings at `path`."""
    x = np.load(path)
    if method.startswith("fastsbert"):
        from fastsbert import similarity as sim

        fn = {
            "fastsbert mining": lambda: sim.paraphrase_mining_embeddings(
                x, top_k=k, max_pairs=500_000, threads=threads, as_arrays=True
            ),
            "fastsbert self": lambda: sim.topk(x, None, k, threads=threads),
            "fastsbert search": lambda: sim.topk(x, x, k + 1, threads=threads),
        }[method]
        extra = {"simd": sim.simd_level()}
    elif method == "faiss":
        import faiss

        faiss.omp_set_num_threads(threads)
        index = faiss.IndexFlatIP(x.shape[1])
        index.add(x)
        fn = lambda: index.search(x, k + 1)  # noqa: E731
        extra = {}
    elif method == "numpy":
        from threadpoolctl import threadpool_info, threadpool_limits

        threadpool_limits(threads)

        def fn():
            out = np.empty((len(x), k + 1), dtype=np.int64)
            for s in range(0, len(x), 4096):
                block = x[s : s + 4096] @ x.T
                part = np.argpartition(-block, k, axis=1)[:, : k + 1]
                order = np.argsort(-np.take_along_axis(block, part, 1), axis=1)
                out[s : s + 4096] = np.take_along_axis(part, order, 1)
            return out

        extra = {"blas": [i.get("internal_api", "") + ":" + str(i.get("architecture", ""))
                          for i in threadpool_info()]}
    else:
        import torch
        from sentence_transformers import util

        torch.set_num_threads(threads)
        t = torch.from_numpy(x)
        fn = {
            "st mining": lambda: util.paraphrase_mining_embeddings(t, top_k=k, max_pairs=500_000),
            "st search": lambda: util.semantic_search(t, t, top_k=k + 1),
        }[method]
        extra = {}
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"times": times, "rss_mb": peak_rss_mb(), **extra}


def topk_kernel() -> str:
    """The SIMD level fastsbert's top-k runs here and the one-thread kernel rates it was
    chosen from (measured in this process, as in every process that runs top-k)."""
    from fastsbert import similarity as sim

    rates = ", ".join(f"{level} {gflops:.0f}" for level, gflops in sim.simd_rates().items())
    return sim.simd_level() + (f" (measured GFLOP/s a thread: {rates})" if rates else "")


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from
    the parent across fork + exec, which would charge the parent's peak to every method."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=3, help="runs per method (median); "
                    "sizes above 10k run once")
    ap.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    ap.add_argument("--peer-max", type=int, default=50_000,
                    help="largest size for numpy and sentence-transformers (memory, time)")
    ap.add_argument("--npy", help="(n, d) float32 embeddings to use instead of synthetic ones")
    ap.add_argument("--json", default=str(Path(__file__).parent / "results" / "topk.json"))
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        method, path, k, repeat = args.child
        print(json.dumps(run_method(method, path, int(k), args.threads, int(repeat))))
        return

    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            print(f"note: {var} is set; it may slow numpy/faiss's BLAS", file=sys.stderr)
    base = np.load(args.npy) if args.npy else None
    # The machine's float32 GEMM rate on the same threads, before and after the methods
    # (the better reading is kept): every method is judged as a share of it.
    peak = sgemm_gflops(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            if base is not None:
                if n > len(base):
                    print(f"skip n={n}: only {len(base)} embeddings", file=sys.stderr)
                    continue
                x = np.ascontiguousarray(base[:n], dtype=np.float32)
            else:
                x = synthetic(n, args.dim)
            path = os.path.join(tmp, f"x{n}.npy")
            np.save(path, x)
            d = x.shape[1]
            repeat = args.repeat if n <= 10_000 else 1
            for method in args.methods:
                if n > args.peer_max and method in ("numpy", "st mining", "st search"):
                    continue
                if n > 50_000 and method == "fastsbert search":
                    continue
                cmd = [sys.executable, __file__, "--threads", str(args.threads),
                       "--child", method, path, str(args.k), str(repeat)]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    print(f"{method} n={n} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                t = statistics.median(r["times"])
                work = n * n * d * (1 if method in SYMMETRIC else 2)
                rows.append({"n": n, "d": d, "method": method, "seconds": t,
                             "gflops": 2 * n * n * d / t / 1e9, "work_gflops": work / t / 1e9,
                             **r})
                print(f"  n={n:>7} {method:<17} {t:8.2f} s  {r['rss_mb']:7.0f} MB",
                      file=sys.stderr, flush=True)

    peak = max(peak, sgemm_gflops(args.threads))
    print(f"\nAll-pairs top-{args.k}, d={args.dim}, {args.threads} threads "
          f"(median of {args.repeat} at <=10k, 1 run above); {cpu_header()}; NumPy sgemm "
          f"peak {peak:.1f} GFLOP/s on these threads. '% of peak' is work GFLOP/s over it: "
          "the share of the machine's GEMM rate spent on products the method needs. "
          f"Top-k kernel: {topk_kernel()}.\n")
    print("| n | method | time (s) | vs faiss | GFLOP/s (2n²d/t) | work GFLOP/s | % of peak "
          "| peak RSS (MB) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ref = next((o["seconds"] for o in rows if o["n"] == r["n"] and o["method"] == "faiss"),
                   None)
        speed = f"{ref / r['seconds']:.2f}x" if ref else "-"
        print(f"| {r['n']} | {r['method']} | {r['seconds']:.2f} | {speed} | {r['gflops']:.1f} "
              f"| {r['work_gflops']:.1f} | {100 * r['work_gflops'] / peak:.0f}% | {r['rss_mb']:.0f} |")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"sgemm_gflops": peak, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()

"""Encoding throughput, latency and memory: fastsbert against sentence-transformers.

One command measures every engine on the same corpus and thread count and prints a
table with medians and ratios:

    python bench/bench_encode.py                      # defaults: 2000 sentences, 2 threads
    python bench/bench_encode.py --n 20000 --repeats 5

Engines (each runs in its own process, so load time and memory are its own):
  fastsbert     this package (exported all-MiniLM-L6-v2, C++ core on ONNX Runtime)
  st-torch      sentence-transformers, torch backend
  st-onnx       sentence-transformers, backend="onnx"; needs optimum-onnx, which cannot
                share an environment with sentence-transformers 6, so it runs from the
                venv made by bench/setup_peers.sh (skipped with a note when absent)

The FLOP bound counts real (non-padding) tokens at ~21.2 MFLOP each (MiniLM-L6: 6 layers
x 2 x (4*384^2 + 2*384*1536) multiply-adds) against the sgemm peak measured in the
same run with NumPy on the same thread count.
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

MFLOP_PER_TOKEN = 6 * 2 * (4 * 384 * 384 + 2 * 384 * 1536) / 1e6
PEER_VENV = HERE.parent / ".venv-peers"


# ---------------------------------------------------------------------------- workers


def _rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB, from /proc/self/status.

    VmHWM rather than ru_maxrss: the latter survives exec, so a worker would inherit
    the orchestrator's peak.
    """
    fields = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _load_engine(name: str, threads: int):
    """Returns encode(texts, batch_size) for an engine."""
    if name == "fastsbert":
        import fastsbert

        enc = fastsbert.Encoder(threads=threads)
        return lambda texts, bs: enc.encode(texts, batch_size=bs)
    import torch

    torch.set_num_threads(threads)
    from sentence_transformers import SentenceTransformer

    from fastsbert_peer_model import model_dir  # noqa: F401 (see _worker_env)

    if name == "st-torch":
        m = SentenceTransformer(model_dir(), device="cpu")
    elif name == "st-onnx":
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        m = SentenceTransformer(
            model_dir(), device="cpu", backend="onnx",
            model_kwargs={"provider": "CPUExecutionProvider", "session_options": so},
        )
    else:
        raise SystemExit(f"unknown engine {name}")
    return lambda texts, bs: m.encode(texts, batch_size=bs, convert_to_numpy=True)


def worker(args: argparse.Namespace) -> None:
    texts = load_corpus(args.n)
    t0 = time.perf_counter()
    encode = _load_engine(args.engine, args.threads)
    result: dict = {"load_s": time.perf_counter() - t0}
    if args.task == "speed":
        encode(texts[:64], 32)  # warm-up
        result["throughput"] = {}
        for bs in args.batch_sizes:
            result["throughput"][str(bs)] = [
                _timed(lambda: encode(texts, bs)) for _ in range(args.repeats)
            ]
        singles = texts[: args.latency_calls]
        for t in singles[:10]:
            encode([t], 1)
        result["latency_ms"] = [_timed(lambda t=t: encode([t], 1)) * 1000 for t in singles]
    else:  # memory: encode the same input again and again
        result["rss_mb"] = []
        for _ in range(3):
            encode(texts, 32)
            result["rss_mb"].append(_rss_mb())
    print("RESULT " + json.dumps(result))


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# ---------------------------------------------------------------------------- orchestrator


def _python_for(engine: str) -> str | None:
    if engine == "st-onnx":
        py = PEER_VENV / "bin" / "python"
        return str(py) if py.exists() else None
    return sys.executable


def _worker_env(threads: int) -> dict:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE / "peers"), env.get("PYTHONPATH", "")])
    return env


def run_worker(engine: str, task: str, args: argparse.Namespace, n: int) -> dict | None:
    py = _python_for(engine)
    if py is None:
        print(f"  {engine}: skipped (run bench/setup_peers.sh to create {PEER_VENV})")
        return None
    cmd = [py, __file__, "--worker", engine, "--task", task, "--n", str(n),
           "--threads", str(args.threads), "--repeats", str(args.repeats),
           "--latency-calls", str(args.latency_calls),
           "--batch-sizes", *map(str, args.batch_sizes)]
    print(f"  {engine}: {task} ...", flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, env=_worker_env(args.threads))
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"  {engine}: failed\n{out.stderr[-2000:]}")
    return None


def sgemm_gflops(threads: int, size: int = 3072, repeats: int = 8) -> float:
    """NumPy float32 matmul peak on `threads` threads, in a clean subprocess."""
    code = (
        "import numpy as np, time\n"
        f"a = np.random.rand({size}, {size}).astype(np.float32); b = a.copy(); a @ b\n"
        f"ts = []\nfor _ in range({repeats}):\n"
        "    t = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t)\n"
        f"print(2 * {size}**3 / min(ts) / 1e9)\n"
    )
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    return float(out.stdout.strip())


def count_tokens(texts: list[str]) -> int:
    import fastsbert

    enc = fastsbert.Encoder(threads=1)
    _, offsets = enc.tokenize(texts)
    return int(offsets[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=2000, help="sentences for throughput")
    p.add_argument("--memory-n", type=int, default=10000, help="sentences for the memory run")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--latency-calls", type=int, default=200)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    p.add_argument("--engines", nargs="+", default=["fastsbert", "st-torch", "st-onnx"])
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--json", type=Path, default=None, help="also write raw results here")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--task", default="speed", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        args.engine = args.worker
        worker(args)
        return

    texts = load_corpus(args.n)
    tokens = count_tokens(texts)
    # The peak is taken before and after the engines run, keeping the better reading: a
    # single reading on a shared machine can land in a busy moment.
    peak = sgemm_gflops(args.threads)
    bound = peak * 1e3 / (MFLOP_PER_TOKEN * tokens / len(texts))
    print(f"corpus: {len(texts)} sentences, {tokens / len(texts):.1f} tokens each on average; "
          f"threads: {args.threads}; sgemm peak {peak:.1f} GFLOP/s -> FLOP bound "
          f"{bound:.0f} sentences/s\n")

    results = {}
    for engine in args.engines:
        r = run_worker(engine, "speed", args, args.n)
        if r is not None and not args.no_memory:
            m = run_worker(engine, "memory", args, args.memory_n)
            r["rss_mb"] = m["rss_mb"] if m else None
        if r is not None:
            results[engine] = r

    peak_after = sgemm_gflops(args.threads)
    if peak_after > peak:
        print(f"\nsgemm peak re-measured after the engines: {peak_after:.1f} GFLOP/s (used)")
        peak = peak_after
    if args.json:
        args.json.write_text(json.dumps({"tokens": tokens, "n": len(texts), "sgemm_gflops": peak,
                                         "results": results}, indent=1))
    print()
    print_table(results, len(texts), tokens, peak, args)


def print_table(results: dict, n: int, tokens: int, peak: float, args) -> None:
    base = results.get("st-torch")

    def sps(r, bs):
        return n / statistics.median(r["throughput"][str(bs)])

    header = ["engine"]
    for bs in args.batch_sizes:
        header += [f"sent/s b{bs}", f"vs st-torch b{bs}"]
    header += [f"% FLOP bound b{args.batch_sizes[0]}", "p50 ms", "p99 ms", "peak RSS MB",
               "RSS after 1st/3rd MB"]
    rows = []
    for engine, r in results.items():
        row = [engine]
        for bs in args.batch_sizes:
            s = sps(r, bs)
            row += [f"{s:.1f}", f"{s / sps(base, bs):.2f}x" if base else "-"]
        gflops = sps(r, args.batch_sizes[0]) * tokens / n * MFLOP_PER_TOKEN / 1e3
        row.append(f"{100 * gflops / peak:.0f}%")
        lat = sorted(r["latency_ms"])
        row += [f"{statistics.median(lat):.1f}", f"{lat[min(len(lat) - 1, int(0.99 * len(lat)))]:.1f}"]
        if r.get("rss_mb"):
            row += [f"{r['rss_mb'][-1][1]:.0f}", f"{r['rss_mb'][0][0]:.0f}/{r['rss_mb'][-1][0]:.0f}"]
        else:
            row += ["-", "-"]
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))


if __name__ == "__main__":
    main()

"""Where encoding time goes, per kind of operator, for each precision: ONNX Runtime's own
profiler on fastsbert's sessions exactly as the engine runs them.

    python bench/profile_ops.py                          # float32 and int8, 1 thread
    python bench/profile_ops.py --dtypes int8 --threads 2 --n 1024

Each precision runs in its own process with FASTSBERT_ORT_PROFILE set, which makes the
engine enable ONNX Runtime's profiler on its sessions; the trace is written when the
encoder closes. The texts are encoded twice and only the second pass is counted, so
session warm-up and first-touch allocations stay out of the figures. Kernel times are
summed over every worker thread, so with several threads they add up to more than the
wall time: with one thread (the default) the table reads as a budget of one core.

Operators are grouped by what they do in a BERT-style encoder: weight products (the
linear layers, float or integer), the attention core (fused, or its separate products,
softmax and head reshapes), GELU, LayerNorm, quantize / dequantize, the element-wise Mul
and Add, embedding gathers, and the rest.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from corpus import load_corpus  # noqa: E402
from machine import cpu_header  # noqa: E402

GROUPS = [
    ("weight products", {"MatMul", "MatMulIntegerToFloat", "MatMulInteger", "FusedMatMul",
                         "DynamicQuantizeMatMul", "Gemm", "QGemm", "MatMulNBits"}),
    ("attention", {"Attention", "MultiHeadAttention", "QAttention", "Softmax", "Transpose",
                   "Reshape"}),
    ("GELU", {"Gelu", "BiasGelu", "FastGelu", "QuickGelu", "Erf"}),
    ("LayerNorm", {"LayerNormalization", "SkipLayerNormalization",
                   "SimplifiedLayerNormalization", "EmbedLayerNormalization"}),
    ("quantize / dequantize", {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"}),
    ("Mul", {"Mul"}),
    ("Add", {"Add"}),
    ("gather", {"Gather"}),
]


def group_of(op: str, node: str) -> str:
    # The attention core's own products (Q.K^T, then .V) are MatMuls too; exporters name
    # them after the attention block, not after a projection.
    if op in ("MatMul", "FusedMatMul") and "attention/self/MatMul" in node:
        return "attention"
    for name, ops in GROUPS:
        if op in ops:
            return name
    return "other"


def worker(args: argparse.Namespace) -> None:
    import fastsbert

    texts = load_corpus(args.n)
    enc = fastsbert.Encoder(threads=args.threads, dtype=args.worker)
    enc.encode(texts, batch_size=args.batch_size)  # warm-up pass, dropped from the trace
    enc.encode(texts, batch_size=args.batch_size)
    runtime = enc.dtype
    del enc  # closes the sessions, which writes the trace
    print(json.dumps({"dtype": runtime}))


def read_trace(prefix: str) -> tuple[dict[str, float], dict[str, float], int]:
    """Kernel milliseconds per group and per operator type, from the second half of the
    session runs (the measured pass), and how many runs that is."""
    events = []
    for path in glob.glob(prefix + "*.json"):
        with open(path) as f:
            events.extend(json.load(f))
    runs = sorted(e["ts"] for e in events if e.get("cat") == "Session" and e["name"] == "model_run")
    if not runs:
        raise SystemExit(f"no model runs in the trace {prefix}*.json")
    start = runs[len(runs) // 2]
    groups: dict[str, float] = collections.defaultdict(float)
    ops: dict[str, float] = collections.defaultdict(float)
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time") or e["ts"] < start:
            continue
        op = e["args"]["op_name"]
        groups[group_of(op, e["name"])] += e["dur"] / 1000.0
        ops[op] += e["dur"] / 1000.0
    return groups, ops, len(runs) - len(runs) // 2


def profile(dtype: str, args: argparse.Namespace) -> tuple[str, dict, dict, int]:
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "trace")
        env = dict(os.environ, FASTSBERT_ORT_PROFILE=prefix)
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", dtype, "--n", str(args.n),
             "--threads", str(args.threads), "--batch-size", str(args.batch_size)],
            env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{dtype} failed:\n{proc.stderr[-3000:]}")
        runtime = json.loads(proc.stdout.strip().splitlines()[-1])["dtype"]
        return (runtime, *read_trace(prefix))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dtypes", nargs="+", default=["float32", "int8"])
    p.add_argument("--n", type=int, default=512, help="sentences per pass")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--ops", action="store_true", help="also list every operator type")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return

    results = {}
    for dtype in args.dtypes:
        print(f"  {dtype} ...", file=sys.stderr, flush=True)
        results[dtype] = profile(dtype, args)
    names = [g for g, _ in GROUPS] + ["other"]
    print(f"\nKernel time per operator group, all-MiniLM-L6-v2 (the bundled model), {args.n} "
          f"corpus sentences in batches of {args.batch_size}, {args.threads} thread(s), one "
          f"measured pass after a warm-up pass; {cpu_header()}\n")
    header = "| group | " + " | ".join(f"{d} ms | {d} share" for d in args.dtypes) + " |"
    print(header)
    print("|---|" + "---:|---:|" * len(args.dtypes))
    totals = {d: sum(results[d][1].values()) for d in args.dtypes}
    for g in names:
        cells = []
        for d in args.dtypes:
            ms = results[d][1].get(g, 0.0)
            cells.append(f"{ms:.1f} | {100 * ms / totals[d]:.0f}%" if ms else "- | -")
        print(f"| {g} | " + " | ".join(cells) + " |")
    print("| total | " + " | ".join(f"{totals[d]:.1f} | 100%" for d in args.dtypes) + " |")
    if len(args.dtypes) > 1:
        base = args.dtypes[0]
        for d in args.dtypes[1:]:
            print(f"\n{base} / {d} kernel time: {totals[base] / totals[d]:.2f}x "
                  f"({d} ran as {results[d][0]}, {results[d][3]} session runs)")
    if args.ops:
        for d in args.dtypes:
            print(f"\n{d} by operator type:")
            for op, ms in sorted(results[d][2].items(), key=lambda kv: -kv[1]):
                print(f"  {op:<28} {ms:8.2f} ms")


if __name__ == "__main__":
    main()

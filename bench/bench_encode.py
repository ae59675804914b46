"""Encoding throughput, latency, memory and accuracy: fastsbert's precisions against the peers.

One command measures every engine on the same corpus and thread count and prints a
table with medians and ratios, and saves a plot of throughput against accuracy:

    python bench/bench_encode.py                      # defaults: 2000 sentences, 2 threads
    python bench/bench_encode.py --n 20000 --repeats 5

Engines (each runs in its own process, so load time and memory are its own):
  fastsbert       this package, float32 (exported all-MiniLM-L6-v2, C++ core on ONNX Runtime)
  fastsbert-int8  the same directory's int8 variant (fastsbert.quantize)
  fastsbert-auto  dtype="auto": int8 where the CPU has VNNI/AMX, else float32
  st-torch        sentence-transformers, torch backend
  st-onnx         sentence-transformers, backend="onnx"; needs optimum-onnx, which cannot
                  share an environment with sentence-transformers 6, so it runs from the
                  venv made by bench/setup_peers.sh (skipped with a note when absent)
  st-qint8        sentence-transformers' own export_dynamic_quantized_onnx_model
                  ("avx512_vnni" where the CPU has VNNI, else "avx2"), same venv
  fastembed       fastembed's TextEmbedding on sentence-transformers' local ONNX export of
                  the same model (registered as a custom model; nothing is downloaded)

Accuracy: STS-B test Spearman (x100) from each engine's own embeddings, and cosine to
fastsbert float32 (mean and 1st percentile) on STS-B test plus the non-ASCII texts of
fastsbert's calibration set (scripts, emoji, combining and zero-width characters).

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
from machine import cpu_header as machine_header  # noqa: E402
from machine import cpu_info  # noqa: E402
from machine import sgemm_gflops  # noqa: E402

MFLOP_PER_TOKEN = 6 * 2 * (4 * 384 * 384 + 2 * 384 * 1536) / 1e6
PEER_VENV = HERE.parent / ".venv-peers"
PEER_ENGINES = ("st-onnx", "st-qint8", "fastembed")
# Writable copy of the sentence-transformers model for the peers that write ONNX files
# next to it (sentence-transformers' ONNX and qint8 exports, read by fastembed too).
PEER_MODEL_COPY = HERE.parent / "build" / "bench-models" / "all-MiniLM-L6-v2"
FASTSBERT_DTYPES = {"fastsbert": "float32", "fastsbert-int8": "int8", "fastsbert-auto": "auto"}
DATA_DIR = HERE.parents[1] / "shared" / "data"


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


def _qint8_config() -> str:
    flags = cpu_info()[1]
    return "avx512_vnni" if "avx512_vnni" in flags else "avx2"


def _prepare_peer_model() -> None:
    """Writes sentence-transformers' ONNX export and its qint8 export into PEER_MODEL_COPY."""
    import shutil

    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

    from fastsbert_peer_model import model_dir

    qfile = PEER_MODEL_COPY / "onnx" / f"model_qint8_{_qint8_config()}.onnx"
    if qfile.is_file():
        return
    if not (PEER_MODEL_COPY / "onnx" / "model.onnx").is_file():
        shutil.rmtree(PEER_MODEL_COPY, ignore_errors=True)
        shutil.copytree(model_dir(), PEER_MODEL_COPY)
        SentenceTransformer(str(PEER_MODEL_COPY), device="cpu", backend="onnx").save(str(PEER_MODEL_COPY))
    m = SentenceTransformer(str(PEER_MODEL_COPY), device="cpu", backend="onnx")
    export_dynamic_quantized_onnx_model(m, _qint8_config(), str(PEER_MODEL_COPY))


def _load_engine(name: str, threads: int):
    """Returns encode(texts, batch_size) for an engine."""
    if name in FASTSBERT_DTYPES:
        import fastsbert

        enc = fastsbert.Encoder(threads=threads, dtype=FASTSBERT_DTYPES[name])
        print(f"{name}: runs {enc.dtype}", file=sys.stderr)
        return lambda texts, bs: enc.encode(texts, batch_size=bs)
    if name == "fastembed":
        from fastembed import TextEmbedding
        from fastembed.common.model_description import ModelSource, PoolingType

        TextEmbedding.add_custom_model(
            model="local/all-MiniLM-L6-v2", pooling=PoolingType.MEAN, normalization=True,
            sources=ModelSource(hf="local/all-MiniLM-L6-v2"), dim=384, model_file="onnx/model.onnx",
        )
        m = TextEmbedding("local/all-MiniLM-L6-v2", specific_model_path=str(PEER_MODEL_COPY),
                          threads=threads, providers=["CPUExecutionProvider"])
        import numpy as np

        return lambda texts, bs: np.stack(list(m.embed(texts, batch_size=bs)))
    import torch

    torch.set_num_threads(threads)
    from sentence_transformers import SentenceTransformer

    from fastsbert_peer_model import model_dir  # noqa: F401 (see _worker_env)

    if name == "st-torch":
        m = SentenceTransformer(model_dir(), device="cpu")
    elif name in ("st-onnx", "st-qint8"):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        kwargs = {"provider": "CPUExecutionProvider", "session_options": so}
        if name == "st-qint8":
            kwargs["file_name"] = f"onnx/model_qint8_{_qint8_config()}.onnx"
        m = SentenceTransformer(str(PEER_MODEL_COPY), device="cpu", backend="onnx",
                                model_kwargs=kwargs)
    else:
        raise SystemExit(f"unknown engine {name}")
    return lambda texts, bs: m.encode(texts, batch_size=bs, convert_to_numpy=True)


def accuracy_texts() -> tuple[list[str], list[str], list[float], list[str]]:
    """STS-B test (sentence1s, sentence2s, gold scores) and the hostile texts."""
    import csv

    s1, s2, gold = [], [], []
    with open(DATA_DIR / "stsb" / "stsb-en-test.csv", newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            s1.append(row[0])
            s2.append(row[1])
            gold.append(float(row[2]))
    calib = HERE.parent / "python" / "fastsbert" / "data" / "calibration.txt"
    hostile = [t for t in calib.read_text("utf-8").split("\n") if t.strip() and not t.isascii()]
    return s1, s2, gold, hostile


def worker(args: argparse.Namespace) -> None:
    if args.task == "prepare":
        _prepare_peer_model()
        print("RESULT {}")
        return
    if args.task == "accuracy":
        import numpy as np

        s1, s2, _, hostile = accuracy_texts()
        encode = _load_engine(args.engine, args.threads)
        np.save(args.out, np.asarray(encode(s1 + s2 + hostile, 32), dtype=np.float32))
        print("RESULT {}")
        return
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
    if engine in PEER_ENGINES:
        py = PEER_VENV / "bin" / "python"
        return str(py) if py.exists() else None
    return sys.executable


def _worker_env(threads: int) -> dict:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE / "peers"), env.get("PYTHONPATH", "")])
    return env


def run_worker(engine: str, task: str, args: argparse.Namespace, n: int,
               out: Path | None = None) -> dict | None:
    py = _python_for(engine)
    if py is None:
        print(f"  {engine}: skipped (run bench/setup_peers.sh to create {PEER_VENV})")
        return None
    cmd = [py, __file__, "--worker", engine, "--task", task, "--n", str(n),
           "--threads", str(args.threads), "--repeats", str(args.repeats),
           "--latency-calls", str(args.latency_calls),
           "--batch-sizes", *map(str, args.batch_sizes)]
    if out is not None:
        cmd += ["--out", str(out)]
    print(f"  {engine}: {task} ...", flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, env=_worker_env(args.threads))
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"  {engine}: failed\n{out.stderr[-2000:]}")
    return None


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
    p.add_argument("--engines", nargs="+", default=["fastsbert", "fastsbert-int8", "fastsbert-auto",
                                                     "st-torch", "st-onnx", "st-qint8", "fastembed"])
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--no-accuracy", action="store_true")
    p.add_argument("--json", type=Path, default=None, help="also write raw results here")
    p.add_argument("--plot", type=Path, default=HERE / "encode_throughput_accuracy.png",
                   help="where to save the throughput-vs-accuracy plot")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--task", default="speed", help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        args.engine = args.worker
        worker(args)
        return

    texts = load_corpus(args.n)
    tokens = count_tokens(texts)
    print(cpu_header())
    prepare(args)
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
    if not args.no_accuracy:
        measure_accuracy(results, args)

    peak_after = sgemm_gflops(args.threads)
    if peak_after > peak:
        print(f"\nsgemm peak re-measured after the engines: {peak_after:.1f} GFLOP/s (used)")
        peak = peak_after
    if args.json:
        args.json.write_text(json.dumps({"tokens": tokens, "n": len(texts), "sgemm_gflops": peak,
                                         "results": results}, indent=1))
    print()
    print_table(results, len(texts), tokens, peak, args)
    if results:
        plot(results, len(texts), args)


def cpu_header() -> str:
    """The CPU's name and the ISA flags that matter for these engines."""
    import fastsbert
    from fastsbert import dtypes

    return (f"CPU: {machine_header()}; "
            f"fastsbert sees {', '.join(dtypes.cpu_features()) or 'none'} "
            f"(int8 fast: {dtypes.int8_is_fast()}); onnxruntime "
            f"{fastsbert._core.onnxruntime_version() or _ort_version()}")


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def prepare(args) -> None:
    """One-off files the engines need, made before anything is timed: fastsbert's int8
    variant (the guard runs here), and the peers' ONNX and qint8 exports."""
    import fastsbert

    if {"fastsbert-int8", "fastsbert-auto"} & set(args.engines):
        fastsbert.Encoder(threads=args.threads, dtype="int8")
    if set(PEER_ENGINES) & set(args.engines) and _python_for("st-onnx"):
        run_worker("st-onnx", "prepare", args, 0)


def measure_accuracy(results: dict, args) -> None:
    """STS-B Spearman per engine and cosine to fastsbert float32, from each engine's own
    embeddings of the same texts."""
    import tempfile

    import numpy as np
    from scipy.stats import spearmanr

    s1, s2, gold, hostile = accuracy_texts()
    n = len(s1)
    with tempfile.TemporaryDirectory() as tmp:
        emb = {}
        for engine in ["fastsbert"] + [e for e in results if e != "fastsbert"]:
            if engine not in results and engine != "fastsbert":
                continue
            path = Path(tmp) / f"{engine}.npy"
            if run_worker(engine, "accuracy", args, 0, out=path) is not None:
                emb[engine] = np.load(path)
    ref = emb.get("fastsbert")
    for engine, e in emb.items():
        if engine not in results:
            continue
        u = e / np.linalg.norm(e, axis=1, keepdims=True)
        results[engine]["spearman"] = 100 * float(spearmanr(np.sum(u[:n] * u[n:2 * n], axis=1), gold).statistic)
        if ref is not None:
            r = ref / np.linalg.norm(ref, axis=1, keepdims=True)
            cos = np.sum(u * r, axis=1)
            results[engine]["cos_mean"] = float(cos.mean())
            results[engine]["cos_p1"] = float(np.percentile(cos, 1))
    print(f"accuracy texts: STS-B test {2 * n} sentences + {len(hostile)} hostile texts")


def plot(results: dict, n: int, args) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    bs = args.batch_sizes[0]
    fig, ax = plt.subplots(figsize=(8, 5))
    points = sorted(((n / statistics.median(r["throughput"][str(bs)]), r["spearman"], engine, r)
                     for engine, r in results.items() if "spearman" in r))
    for i, (x, y, engine, r) in enumerate(points):
        ax.scatter([x], [y], s=40, color="tab:red" if engine.startswith("fastsbert") else "tab:blue")
        label = engine
        if r.get("cos_p1", 1.0) < 0.9995:
            label += f" (cos p1 {r['cos_p1']:.3f})"
        # Alternate above and below so neighbours with equal accuracy stay readable.
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 8 if i % 2 else -14),
                    fontsize=8)
    ax.set_xlabel(f"sentences/s at batch {bs} ({args.threads} threads)")
    ax.set_ylabel("STS-B test Spearman x100")
    ax.set_title("all-MiniLM-L6-v2: throughput against accuracy")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=120)
    print(f"plot: {args.plot}")


def print_table(results: dict, n: int, tokens: int, peak: float, args) -> None:
    base = results.get("st-torch")

    def sps(r, bs):
        return n / statistics.median(r["throughput"][str(bs)])

    header = ["engine"]
    for bs in args.batch_sizes:
        header += [f"sent/s b{bs}", f"vs st-torch b{bs}"]
    header += [f"% FLOP bound b{args.batch_sizes[0]}", "p50 ms", "p99 ms", "peak RSS MB",
               "RSS after 1st/3rd MB", "STS-B ρ", "cos mean", "cos p1"]
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
        row.append(f"{r['spearman']:.2f}" if "spearman" in r else "-")
        row += [f"{r[k]:.4f}" if k in r else "-" for k in ("cos_mean", "cos_p1")]
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))


if __name__ == "__main__":
    main()

"""Streaming file encode: private memory stays flat as the input grows.

    python bench/bench_stream.py                     # 10k, 100k and 1M lines
    python bench/bench_stream.py --lines 10000 100000

Each size is a text file made by repeating ../shared/data/corpus (147k sentences). Each
run is its own process that encodes the file with ``fastsbert.encode_file`` into a .npy
and samples its private (anonymous) memory, RssAnon from /proc/self/status, every 50 ms.
Pages of the memory-mapped output are page cache, not the process's own, and are not
counted. As a baseline in the same run, "load all + encode" reads every line into a list,
encodes it in one call and saves the array, the way a script without streaming would
(run up to --baseline-max lines).

Memory, not speed, is the figure here, so the default model is a tiny random BERT
(hidden 32) exported on the fly; --model runs a real one instead.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import cpu_header  # noqa: E402

DATA = HERE.parents[1] / "shared" / "data"

_WORKER = r"""
import json, sys, threading, time
import numpy as np
import fastsbert
from fastsbert.streaming import encode_file
from fastsbert.files import read_lines

def rss_anon_mb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("RssAnon:")) / 1024

mode, model, src, out = sys.argv[1:5]
enc = fastsbert.Encoder(model)
enc.encode(["warm up"])
base = rss_anon_mb()
peak = [base]
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], rss_anon_mb())
        time.sleep(0.05)
t = threading.Thread(target=sample, daemon=True)
t.start()
t0 = time.perf_counter()
if mode == "stream":
    rows = encode_file(src, out, enc, overwrite=True).rows
else:
    texts = read_lines(src)
    emb = enc.encode(texts)
    np.save(out, emb)
    rows = len(texts)
seconds = time.perf_counter() - t0
stop.set(); t.join()
print(json.dumps({"rows": rows, "seconds": seconds, "base_mb": base, "peak_mb": peak[0]}))
"""


def _corpus_lines() -> list[str]:
    with gzip.open(DATA / "corpus" / "sentences.tsv.gz", "rt", encoding="utf-8") as fh:
        next(fh)
        return [line.rstrip("\n").partition("\t")[2] for line in fh]


def _write_input(path: Path, lines: int, corpus: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for text in itertools.islice(itertools.cycle(corpus), lines):
            fh.write(text + "\n")


def _tiny_model(root: Path) -> Path:
    sys.path.insert(0, str(HERE.parent / "tests" / "python"))
    import tiny_models

    import fastsbert

    src = tiny_models.make_tiny_st_model("bert", "mean", root / "tiny-src", data_dir=DATA)
    return fastsbert.export(src, root / "tiny")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--baseline-max", type=int, default=100_000,
                   help="largest size for the load-everything baseline")
    p.add_argument("--model", default=None, help="exported model (default: tiny random BERT)")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="fastsbert-bench-stream-") as tmp:
        root = Path(tmp)
        model = args.model or str(_tiny_model(root))
        corpus = _corpus_lines()
        rows = []
        for n in args.lines:
            src = root / f"in-{n}.txt"
            _write_input(src, n, corpus)
            modes = ["stream"] + (["load all + encode"] if n <= args.baseline_max else [])
            for mode in modes:
                out = root / f"out-{n}.npy"
                r = subprocess.run(
                    [sys.executable, "-c", _WORKER, "stream" if mode == "stream" else "all",
                     model, str(src), str(out)],
                    capture_output=True, text=True, check=True)
                m = json.loads(r.stdout.strip().splitlines()[-1])
                rows.append((n, mode, m))
                out.unlink(missing_ok=True)
            src.unlink()

    print(f"\nStreaming encode, private memory (RssAnon) — {cpu_header()}")
    print(f"model: {'tiny random BERT (hidden 32)' if args.model is None else args.model}\n")
    print("| lines | method | seconds | lines/s | RssAnon after load MB | peak RssAnon MB | growth MB |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n, mode, m in rows:
        print(f"| {n:,} | {mode} | {m['seconds']:.1f} | {m['rows'] / m['seconds']:,.0f} | "
              f"{m['base_mb']:.0f} | {m['peak_mb']:.0f} | {m['peak_mb'] - m['base_mb']:.0f} |")


if __name__ == "__main__":
    main()

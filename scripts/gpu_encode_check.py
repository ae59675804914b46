"""CUDA encode against the CPU result; run by scripts/gpu_check.sh.

Appends one tab-separated row per check (name, PASS/FAIL/SKIP, detail) to --results.

- The float16 graph (fastsbert.quantize) against float32, with its guard figures. This
  runs on any machine: without CUDA the guard runs the float16 graph on the CPU.
- With a CUDA-enabled onnxruntime: Encoder(device="cuda") in float32 (cosine to the CPU
  result >= 0.9999 for every text) and float16 (the guard's thresholds: mean >= 0.99,
  p1 >= 0.97), auto on CUDA picking float16, and throughput at batch 32 and 128.
- Without one: says so, and checks that asking for CUDA raises the error that tells the
  user to install onnxruntime-gpu.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

FP32_MIN_COSINE = 0.9999


def _texts(n: int) -> list[str]:
    data = Path(os.environ.get("FASTSBERT_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    path = data / "stsb" / "stsb-en-test.csv"
    if path.is_file():
        out: list[str] = []
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                out += row[:2]
        return out[:n]
    from fastsbert.quantize import calibration_texts

    return list(calibration_texts())[:n]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    rows: list[tuple[str, str, str]] = []

    def record(name: str, verdict: str, detail: str) -> None:
        rows.append((name, verdict, detail))
        print(f"{verdict:4}  {name}: {detail}", flush=True)

    try:
        import onnxruntime as ort

        import fastsbert
        from fastsbert import quantize
    except ImportError as e:
        record("import fastsbert / onnxruntime", "FAIL", str(e))
        return _write(args.results, rows)

    providers = ort.get_available_providers()
    has_cuda = "CUDAExecutionProvider" in providers
    record("onnxruntime with the CUDA execution provider", "PASS" if has_cuda else "SKIP",
           f"onnxruntime {ort.__version__}: {', '.join(providers)}"
           + ("" if has_cuda else " -- CUDA encode NOT RUN (install onnxruntime-gpu)"))

    # The model: all-MiniLM-L6-v2 exported here (needs torch, transformers, onnx).
    model = Path(args.work) / "minilm"
    try:
        if not (model / "fastsbert.json").is_file():
            fastsbert.export(fastsbert.model_cache.default_model_source(), model, overwrite=True)
    except Exception as e:  # noqa: BLE001 (reported in the table)
        record("export all-MiniLM-L6-v2", "SKIP", f"{type(e).__name__}: {e}")
        return _write(args.results, rows)

    t0 = time.perf_counter()
    try:
        entry = quantize.add_variant(model, "float16", rebuild=True)
        record("float16 graph vs float32 (guard, on "
               + ("CUDA" if has_cuda else "the CPU") + ")", "PASS",
               f"{quantize.format_figures('float16', entry)} ({time.perf_counter() - t0:.0f} s)")
    except quantize.GuardError as e:
        record("float16 graph vs float32 (guard)", "FAIL", str(e))
    except Exception as e:  # noqa: BLE001
        record("float16 graph vs float32 (guard)", "FAIL", f"{type(e).__name__}: {e}")

    texts = _texts(args.n)
    cpu = fastsbert.Encoder(model, device="cpu").encode(texts, batch_size=32)

    if not has_cuda:
        try:
            fastsbert.Encoder(model, device="cuda")
            record("device='cuda' without the CUDA provider", "FAIL", "no error raised")
        except RuntimeError as e:
            ok = "onnxruntime-gpu" in str(e)
            record("device='cuda' without the CUDA provider", "PASS" if ok else "FAIL",
                   f"error: {str(e)[:140]}")
        return _write(args.results, rows)

    for dtype in ("float32", "float16"):
        try:
            enc = fastsbert.Encoder(model, device="cuda", dtype=dtype)
            out = enc.encode(texts, batch_size=32)
            cos = _cos(cpu, out)
            if dtype == "float32":
                ok = cos.min() >= FP32_MIN_COSINE
                figure = f"min cosine to CPU {cos.min():.6f} (needs >= {FP32_MIN_COSINE})"
            else:
                p1 = float(np.percentile(cos, 1))
                ok = cos.mean() >= quantize.MIN_MEAN_COSINE and p1 >= quantize.MIN_P1_COSINE
                figure = f"mean cosine to CPU fp32 {cos.mean():.5f}, p1 {p1:.5f}, min {cos.min():.5f}"
            speed = []
            for bs in (32, 128):
                enc.encode(texts[:256], batch_size=bs)
                t0 = time.perf_counter()
                enc.encode(texts, batch_size=bs)
                speed.append(f"b{bs} {len(texts) / (time.perf_counter() - t0):.0f}/s")
            record(f"CUDA encode {dtype} vs CPU float32 ({len(texts)} texts)",
                   "PASS" if ok and enc.dtype == dtype else "FAIL", f"{figure}; {', '.join(speed)}")
        except Exception as e:  # noqa: BLE001
            record(f"CUDA encode {dtype}", "FAIL", f"{type(e).__name__}: {e}")
    try:
        picked = fastsbert.Encoder(model, device="cuda", dtype="auto").dtype
        record("auto on CUDA picks float16 (guard passed)", "PASS" if picked == "float16" else "FAIL",
               f"picked {picked}")
    except Exception as e:  # noqa: BLE001
        record("auto on CUDA", "FAIL", f"{type(e).__name__}: {e}")
    return _write(args.results, rows)


def _write(path: str, rows: list[tuple[str, str, str]]) -> int:
    with open(path, "a", encoding="utf-8") as fh:
        for name, verdict, detail in rows:
            fh.write(f"{name}\t{verdict}\t{detail.replace(chr(9), ' ').replace(chr(10), ' ')}\n")
    return 1 if any(v == "FAIL" for _, v, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

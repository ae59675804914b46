"""The machine a benchmark ran on, for table headers: CPU name, CPU count, ISA flags."""

from __future__ import annotations

import os
import subprocess
import sys

# The flags that decide which kernels run (top-k, Hamming, int8 inference).
DEFAULT_FLAGS = ("avx2", "fma", "popcnt", "avx512f", "avx512bw", "avx512_vnni",
                 "avx512_vpopcntdq", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8")


def cpu_info() -> tuple[str, set[str]]:
    """(model name, flags) from /proc/cpuinfo; ("unknown CPU", set()) where it is absent."""
    name, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name == "unknown CPU":
                    name = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return name, flags


def cpu_header(wanted: tuple[str, ...] = DEFAULT_FLAGS) -> str:
    """"<model name>, <n> CPUs, <the wanted flags this CPU has>"."""
    name, flags = cpu_info()
    shown = [f for f in wanted if f in flags]
    return f"{name}, {len(os.sched_getaffinity(0))} CPUs, ISA: {' '.join(shown) or 'none of ' + ' '.join(wanted)}"


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

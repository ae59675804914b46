"""Ctrl-C latency: the delay from SIGINT to KeyboardInterrupt during long native calls.

    python bench/bench_interrupt.py                    # every call, 3 runs each
    python bench/bench_interrupt.py --ops encode --runs 5 --after 2

Each run starts a child process that prepares its inputs, prints "ready", and starts one
long call: encoding 20k sentences with all-MiniLM-L6-v2 (or --model), exact top-k of 60k
x 384 vectors against themselves, paraphrase mining and community detection over the same
vectors. --after seconds later the parent sends SIGINT and notes the time (CLOCK_MONOTONIC,
shared by both processes); the child notes when it caught KeyboardInterrupt, then runs one
short call on the same objects to show they still work. The table gives the median, min
and max delay per call; the target is 0.5 s.
"""

from __future__ import annotations

import argparse
import selectors
import signal
import statistics
import subprocess
import sys
import textwrap
import time

TARGET_S = 0.5
VECTORS = "x = np.random.default_rng(0).standard_normal((60000, 384), dtype=np.float32)"

# name -> (setup, long call, short call afterwards); {model} is filled in.
OPS = {
    "encode": (
        """
        import random
        import fastsbert
        enc = fastsbert.Encoder({model})
        rng = random.Random(0)
        words = "the river bank was quiet while a brown fox ran over fields of old hay".split()
        texts = [" ".join(rng.choices(words, k=rng.randint(8, 40))) for _ in range(20000)]
        """,
        "enc.encode(texts)",
        "enc.encode(['one more text'])",
    ),
    "topk": (
        f"import numpy as np, fastsbert\n{VECTORS}",
        "fastsbert.topk(x, x, 10)",
        "fastsbert.topk(x[:100], x[:100], 2)",
    ),
    "paraphrase mining": (
        f"import numpy as np, fastsbert\nmine = fastsbert.paraphrase_mining_embeddings\n{VECTORS}",
        "mine(x, top_k=10)",
        "mine(x[:100], top_k=2)",
    ),
    "community detection": (
        f"import numpy as np, fastsbert\n{VECTORS}",
        "fastsbert.community_detection(x, threshold=0.75, min_community_size=10)",
        "fastsbert.community_detection(x[:100], threshold=0.75, min_community_size=2)",
    ),
}


def child_code(op: str, model: str | None) -> str:
    setup, call, again = OPS[op]
    # Python's own SIGINT handler, even when this bench was started with SIGINT ignored.
    handler = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
    return handler + textwrap.dedent(setup.format(model=repr(model))) + textwrap.dedent(f"""
        import time
        print("ready", flush=True)
        t0 = time.monotonic()
        try:
            {call}
            print("finished", time.monotonic() - t0, flush=True)
        except KeyboardInterrupt:
            print("caught", time.monotonic(), flush=True)
        {again}
        print("again ok", flush=True)
    """)


def one_run(op: str, model: str | None, after: float, timeout: float) -> float:
    """Seconds from SIGINT to KeyboardInterrupt in one child."""
    proc = subprocess.Popen([sys.executable, "-c", child_code(op, model)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                raise RuntimeError(f"{op}: the child did not get ready within {timeout} s")
        line = proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"{op}: child failed before the call:\n{line}{proc.stderr.read()}")
        time.sleep(after)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    caught = [ln for ln in out.splitlines() if ln.startswith("caught ")]
    if proc.returncode != 0 or not caught or "again ok" not in out:
        raise RuntimeError(f"{op}: exit status {proc.returncode}\n{out}\n{err}")
    return float(caught[0].split()[1]) - sent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", nargs="+", choices=list(OPS), default=list(OPS))
    ap.add_argument("--runs", type=int, default=3, help="children per call (median taken)")
    ap.add_argument("--after", type=float, default=1.0, help="seconds of work before SIGINT")
    ap.add_argument("--model", default=None, help="model for encode (default all-MiniLM-L6-v2)")
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args()

    if "encode" in args.ops:  # export the model once, outside the timed children
        import fastsbert

        args.model = str(fastsbert.Encoder(args.model).model_dir)

    print(f"SIGINT {args.after:g} s into each call; {args.runs} runs; target <= {TARGET_S} s")
    print(f"{'call':<22}{'median ms':>10}{'min ms':>9}{'max ms':>9}  target")
    for op in args.ops:
        delays = [one_run(op, args.model, args.after, args.timeout) for _ in range(args.runs)]
        med = statistics.median(delays)
        print(f"{op:<22}{med * 1e3:>10.1f}{min(delays) * 1e3:>9.1f}{max(delays) * 1e3:>9.1f}  "
              f"{'met' if med <= TARGET_S else 'MISSED'}", flush=True)


if __name__ == "__main__":
    main()

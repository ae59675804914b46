"""Ctrl-C stops long native calls: a real SIGINT to a child process in the middle of a call.

The child must raise KeyboardInterrupt out of the call (not at its end), then run one more
call on the same objects and exit 0. The bound on the delay is generous, for loaded CI
machines; bench/bench_interrupt.py measures the real figure.
"""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
import textwrap
import time

import pytest


# Far below the uninterrupted run time of each call below (tens of seconds or more).
MAX_DELAY_S = 5.0
# Time the call runs before the signal.
RUN_BEFORE_SIGNAL_S = 1.0
CHILD_TIMEOUT_S = 120


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            proc.kill()
            pytest.fail(f"child gave no output within {timeout} s")
    return proc.stdout.readline()


def interrupt_child(setup: str, call: str, again: str) -> float:
    """Runs `setup`, then `call` in a child; sends SIGINT once the call runs; returns the
    delay until the child caught KeyboardInterrupt. `again` must succeed afterwards."""
    # A process started in the background by a non-interactive shell inherits SIGINT
    # ignored, and Python then installs no handler: give the child the handler an
    # interactive Python has, whatever the test runner inherited.
    code = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
    code += textwrap.dedent(setup) + textwrap.dedent(f"""
        import time
        print("ready", flush=True)
        try:
            {call}
            print("finished", flush=True)
        except KeyboardInterrupt:
            print("caught KeyboardInterrupt", time.monotonic(), flush=True)
        {again}
        print("again ok", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = _readline(proc, CHILD_TIMEOUT_S)
        assert line.strip() == "ready", line + proc.stderr.read()
        time.sleep(RUN_BEFORE_SIGNAL_S)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, f"exit status {proc.returncode}\n{out}\n{err}"
    assert "finished" not in out, "the call ended before the signal: make it longer"
    caught = [ln for ln in out.splitlines() if ln.startswith("caught KeyboardInterrupt")]
    assert caught, out + err
    assert "again ok" in out, out + err
    return float(caught[0].split()[-1]) - sent


def test_ctrl_c_stops_encoding(minilm_exported):
    delay = interrupt_child(
        f"""
        import random
        import fastsbert
        enc = fastsbert.Encoder({str(minilm_exported)!r})
        rng = random.Random(0)
        words = "the river bank was quiet while a brown fox ran over fields of old hay".split()
        texts = [" ".join(rng.choices(words, k=rng.randint(8, 40))) for _ in range(20000)]
        """,
        "enc.encode(texts)",
        "assert enc.encode(['one more text']).shape == (1, enc.dim)",
    )
    assert delay < MAX_DELAY_S


def test_ctrl_c_stops_paraphrase_mining():
    delay = interrupt_child(
        """
        import numpy as np
        import fastsbert
        mine = fastsbert.paraphrase_mining_embeddings
        x = np.random.default_rng(0).standard_normal((60000, 384), dtype=np.float32)
        """,
        "mine(x, top_k=10)",
        "assert len(mine(x[:100], top_k=2)) > 0",
    )
    assert delay < MAX_DELAY_S

"""`fastsbert serve` on loopback, checked with the real openai client and httpx.

Servers run in subprocesses (`python -m fastsbert.cli serve`) on a tiny random BERT
(max_seq_length 48) so that each starts in about a second; every embedding is compared
with fastsbert.Encoder.encode of the same texts in this process.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
openai = pytest.importorskip("openai")
pytest.importorskip("uvicorn")
import fastsbert
from prometheus_client.parser import text_string_to_metric_families

MIN_COSINE = 0.99999


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`fastsbert serve MODEL --port P FLAGS...` in a subprocess, ready when /health is."""

    def __init__(self, model: Path, *flags: str, log_dir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"server-{self.port}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (open while the server runs)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fastsbert.cli", "serve", str(model), "--port", str(self.port),
             "--threads", "1", "--log-level", "warning", *flags],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def metric(self, name: str, **labels: str) -> float:
        """Value of one sample from /metrics, read with prometheus_client's own parser."""
        text = httpx.get(self.url + "/metrics").text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return sample.value
        raise KeyError(f"{name} {labels} not in /metrics")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture(scope="module")
def model_dir(tiny_st_model) -> Path:
    """A tiny BERT with a query prompt, exported here once (FASTSBERT_HOME is shared with
    the servers)."""
    src = tiny_st_model("bert", "mean", prompts={"query": "query: "})
    fastsbert.Encoder(src, threads=1)
    return src


@pytest.fixture(scope="module")
def encoder(model_dir) -> fastsbert.Encoder:
    return fastsbert.Encoder(model_dir, threads=1)


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    """Small limits, so the tests can cross each of them; a 40-token batch budget, so
    requests get split and inputs near the model's 48-token limit run alone."""
    s = ServerProcess(model_dir, "--max-client-batch-size", "16", "--payload-limit", "20000",
                      "--max-input-chars", "3000", "--max-batch-tokens", "40",
                      log_dir=tmp_path_factory.mktemp("serve-logs"))
    yield s
    s.stop()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _assert_same(got, texts: list[str], encoder: fastsbert.Encoder) -> None:
    got = np.asarray(got, np.float32)
    want = encoder.encode(texts)
    assert got.shape == want.shape
    assert _cosines(got, want).min() >= MIN_COSINE


def _error(response, status: int) -> dict:
    """The OpenAI-shaped error of ``response``, which must have ``status``."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


TEXTS = ["A man is playing a flute.", "Someone plays a wind instrument.",
         "The cat sat on the mat while the dog slept in the sun."]
LONG = " ".join(["the river bank was full of people watching the boats"] * 12)  # > 48 tokens


def _hf_token_counts(model_dir: Path, texts: list[str], max_length: int) -> list[int]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(fastsbert.Encoder(model_dir, threads=1).model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length)
    return [len(e.ids) for e in tok.encode_batch(texts)]


# ---------------------------------------------------------------- OpenAI route
def test_openai_client_float_base64_and_usage(server, encoder, model_dir):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    texts = TEXTS + [LONG]
    floats = client.embeddings.create(input=texts, model="any-name", encoding_format="float")
    assert floats.model == "any-name"
    assert [d.index for d in floats.data] == list(range(len(texts)))
    got = np.array([d.embedding for d in floats.data], np.float32)
    _assert_same(got, texts, encoder)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)

    counts = _hf_token_counts(model_dir, texts, encoder.max_seq_length)
    assert counts[-1] == encoder.max_seq_length  # the long input counts what was embedded
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == sum(counts)

    raw = client.embeddings.create(input=texts, model="m", encoding_format="base64")
    decoded = np.stack([np.frombuffer(base64.b64decode(d.embedding), "<f4") for d in raw.data])
    np.testing.assert_array_equal(decoded, got)

    # Without encoding_format the client asks for base64 itself and decodes it.
    default = client.embeddings.create(input=texts[0], model="m")
    # (a batch of one rather than four: float32 rounding may differ in the last bit)
    np.testing.assert_allclose(np.array(default.data[0].embedding, np.float32), got[0], atol=1e-6)


def test_openai_dimensions(server, encoder):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    res = client.embeddings.create(input=TEXTS, model="m", dimensions=8, encoding_format="float")
    got = np.array([d.embedding for d in res.data])
    assert got.shape == (len(TEXTS), 8)
    full = encoder.encode(TEXTS)[:, :8]
    assert _cosines(got, full).min() >= MIN_COSINE
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)

    same = client.embeddings.create(input=TEXTS, model="m", dimensions=encoder.dim,
                                    encoding_format="float")
    assert len(same.data[0].embedding) == encoder.dim
    for bad in (0, encoder.dim + 1):
        with pytest.raises(openai.UnprocessableEntityError) as info:
            client.embeddings.create(input=TEXTS, model="m", dimensions=bad)
        assert info.value.status_code == 422
        assert "dimensions" in str(info.value)


# ---------------------------------------------------------------- TEI route
def test_tei_embed(server, encoder):
    r = httpx.post(server.url + "/embed", json={"inputs": TEXTS, "normalize": False})
    assert r.status_code == 200, r.text
    got = np.array(r.json(), np.float32)
    np.testing.assert_allclose(got, encoder.encode(TEXTS), rtol=1e-4, atol=1e-5)

    r = httpx.post(server.url + "/embed", json={"inputs": TEXTS[0]})  # normalize defaults to true
    np.testing.assert_allclose(np.linalg.norm(r.json()[0]), 1.0, atol=1e-5)
    _assert_same(r.json(), TEXTS[:1], encoder)

    r = httpx.post(server.url + "/embed", json={"inputs": TEXTS, "dimensions": 5})
    cut = np.array(r.json())
    assert cut.shape == (len(TEXTS), 5)
    np.testing.assert_allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-5)
    assert _cosines(cut, encoder.encode(TEXTS)[:, :5]).min() >= MIN_COSINE
    r = httpx.post(server.url + "/embed", json={"inputs": TEXTS, "dimensions": 5, "normalize": False})
    np.testing.assert_allclose(r.json(), encoder.encode(TEXTS)[:, :5], rtol=1e-4, atol=1e-5)


def test_prompt_name_in_requests(server, encoder):
    """The model's prompts by name (text-embeddings-inference's ``prompt_name``), on both
    routes."""
    r = httpx.post(server.url + "/embed", json={"inputs": TEXTS, "normalize": False,
                                                "prompt_name": "query"})
    assert r.status_code == 200, r.text
    with_prompt = encoder.encode(TEXTS, prompt_name="query")
    assert not np.allclose(with_prompt, encoder.encode(TEXTS), atol=1e-3)
    np.testing.assert_allclose(r.json(), with_prompt, rtol=1e-4, atol=1e-5)
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    res = client.embeddings.create(input=TEXTS, model="m", extra_body={"prompt_name": "query"})
    assert _cosines([d.embedding for d in res.data], with_prompt).min() >= MIN_COSINE
    err = _error(httpx.post(server.url + "/v1/embeddings",
                            json={"input": TEXTS, "prompt_name": "nope"}), 422)
    assert err["param"] == "prompt_name" and "'nope'" in err["message"]


def test_tei_truncate(server, encoder):
    # truncate defaults to false, as in text-embeddings-inference
    r = httpx.post(server.url + "/embed", json={"inputs": [TEXTS[0], LONG]})
    error = _error(r, 413)
    assert error["param"] == "inputs[1]"
    assert str(encoder.max_seq_length) in error["message"]

    r = httpx.post(server.url + "/embed", json={"inputs": [TEXTS[0], LONG], "truncate": True})
    assert r.status_code == 200, r.text
    _assert_same(r.json(), [TEXTS[0], LONG], encoder)


# ---------------------------------------------------------------- limits and bad input
def test_limits_answer_413_naming_the_limit(server):
    url = server.url + "/v1/embeddings"
    error = _error(httpx.post(url, json={"input": ["x"] * 17}), 413)
    assert "max_client_batch_size" in error["message"] and error["param"] == "input"

    error = _error(httpx.post(url, json={"input": ["short", "y" * 3001]}), 413)
    assert "max_input_chars" in error["message"] and error["param"] == "input[1]"

    error = _error(httpx.post(url, json={"input": ["word " * 5000]}), 413)  # Content-Length
    assert "payload_limit" in error["message"]

    def chunks():  # no Content-Length: the limit applies while reading
        yield b'{"input": ["'
        for _ in range(30):
            yield b"word " * 200
        yield b'"]}'

    error = _error(httpx.post(url, content=chunks(), headers={"content-type": "application/json"}), 413)
    assert "payload_limit" in error["message"]


@pytest.mark.parametrize("route, body, param", [
    ("/v1/embeddings", {}, "input"),
    ("/v1/embeddings", {"input": 3}, "input"),
    ("/v1/embeddings", {"input": []}, "input"),
    ("/v1/embeddings", {"input": ["a", 5]}, "input[1]"),
    ("/v1/embeddings", {"input": [[1, 2]]}, "input[0]"),
    ("/v1/embeddings", {"input": "a", "model": 5}, "model"),
    ("/v1/embeddings", {"input": "a", "encoding_format": "hex"}, "encoding_format"),
    ("/v1/embeddings", {"input": "a", "dimensions": "8"}, "dimensions"),
    ("/v1/embeddings", {"input": "a", "dimensions": True}, "dimensions"),
    ("/embed", {"inputs": "a", "normalize": "yes"}, "normalize"),
    ("/embed", {"inputs": "a", "truncate": 1}, "truncate"),
    ("/embed", {"inputs": "a", "truncation_direction": "left"}, "truncation_direction"),
    ("/embed", {"input": "a"}, "inputs"),
])
def test_wrong_types_answer_422_naming_the_field(server, route, body, param):
    error = _error(httpx.post(server.url + route, json=body), 422)
    assert error["param"] == param
    assert param.split("[")[0] in error["message"]


def test_malformed_bodies(server):
    error = _error(httpx.post(server.url + "/v1/embeddings", content=b'{"input": "a"'), 400)
    assert "JSON" in error["message"]
    error = _error(httpx.post(server.url + "/v1/embeddings", json=["a"]), 422)
    assert "object" in error["message"]
    # A lone surrogate in a JSON string: not text UTF-8 can hold.
    r = httpx.post(server.url + "/v1/embeddings", content=b'{"input": "a \\ud800 b"}')
    assert r.status_code in (400, 422), r.text
    assert httpx.get(server.url + "/health").status_code == 200


# ---------------------------------------------------------------- other routes
def test_models_health_info_metrics(server, encoder, model_dir):
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    models = httpx.get(server.url + "/v1/models").json()
    assert [m["id"] for m in models["data"]] == [model_dir.name]
    info = httpx.get(server.url + "/info").json()
    assert info["dim"] == encoder.dim and info["max_input_length"] == encoder.max_seq_length

    before = server.metric("fastsbert_inputs_total")
    httpx.post(server.url + "/embed", json={"inputs": TEXTS})
    assert server.metric("fastsbert_inputs_total") == before + len(TEXTS)
    assert server.metric("fastsbert_requests_total", route="/embed", status="200") >= 1
    assert server.metric("fastsbert_tokens_total") > 0
    assert server.metric("fastsbert_batch_size_count") >= 1
    assert server.metric("fastsbert_queue_duration_seconds_count") >= 1
    assert server.metric("fastsbert_inference_duration_seconds_count") >= 1

    httpx.post(server.url + "/embed", json={"inputs": 1})
    assert server.metric("fastsbert_errors_total", code="invalid_type") >= 1


# ---------------------------------------------------------------- batching
def _random_texts(rng: random.Random, words: list[str]) -> list[str]:
    texts = []
    for _ in range(rng.randint(1, 6)):
        n = rng.choice([1, 3, 8, 20, 60])  # 60 words exceed the 48-token limit
        texts.append(" ".join(rng.choice(words) for _ in range(n)))
    return texts


def test_64_concurrent_clients_get_their_own_embeddings(server, encoder):
    words = " ".join(TEXTS + [LONG]).replace(".", "").split()
    batches_before = server.metric("fastsbert_batch_size_count")
    single_before = server.metric("fastsbert_batch_size_bucket", le="1.0")

    async def client(i: int, http) -> list[tuple[list[str], list]]:
        rng = random.Random(i)
        results = []
        for j in range(3):
            texts = _random_texts(rng, words)
            if (i + j) % 2:
                r = await http.post("/v1/embeddings", json={"input": texts, "encoding_format": "float"})
                assert r.status_code == 200, r.text
                results.append((texts, [d["embedding"] for d in r.json()["data"]]))
            else:
                r = await http.post("/embed", json={"inputs": texts, "truncate": True})
                assert r.status_code == 200, r.text
                results.append((texts, r.json()))
        return results

    async def main():
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60) as http:
            return await asyncio.gather(*(client(i, http) for i in range(64)))

    for results in asyncio.run(main()):
        for texts, got in results:
            _assert_same(got, texts, encoder)
    # Concurrent requests were merged: some engine batches held more than one text.
    batches = server.metric("fastsbert_batch_size_count") - batches_before
    single = server.metric("fastsbert_batch_size_bucket", le="1.0") - single_before
    assert single < batches


def test_bad_requests_do_not_fail_their_batch_mates(server, encoder):
    bad_bodies = [{"inputs": [TEXTS[0], LONG]}, {"inputs": [3]}, {"inputs": "x" * 3001}]

    async def main():
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            good = [http.post("/embed", json={"inputs": [t, LONG], "truncate": True})
                    for t in TEXTS * 4]
            bad = [http.post("/embed", json=b) for b in bad_bodies * 4]
            return await asyncio.gather(*good), await asyncio.gather(*bad)

    good, bad = asyncio.run(main())
    for text, r in zip(TEXTS * 4, good):
        assert r.status_code == 200, r.text
        _assert_same(r.json(), [text, LONG], encoder)
    assert sorted({r.status_code for r in bad}) == [413, 422]


def test_batcher_isolates_a_failing_piece():
    """A merged engine call that fails is retried piece by piece: only the piece that
    fails gets the error (a stub engine that rejects token id 666)."""
    from fastsbert.serve.batcher import Batcher
    from fastsbert.serve.engine import Tokens
    from fastsbert.serve.metrics import Metrics

    calls = []

    def embed(ids, offsets):
        calls.append(len(offsets) - 1)
        if (ids == 666).any():
            raise RuntimeError("bad token")
        return np.repeat(np.diff(offsets)[:, None].astype(np.float32), 2, axis=1)

    def tokens(*lengths, bad=False):
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        ids = np.full(offsets[-1], 666 if bad else 1, np.int64)
        return Tokens(ids, offsets, np.zeros(len(lengths), bool))

    async def main():
        b = Batcher(embed, 2, max_batch_tokens=100, max_batch_requests=None, max_wait_s=0.05,
                    max_concurrent_requests=8, metrics=Metrics())
        await b.start()
        results = await asyncio.gather(b.embed(tokens(3, 4)), b.embed(tokens(5, bad=True)),
                                       b.embed(tokens(150, 2)), return_exceptions=True)
        await b.stop()
        return results

    good, bad, split = asyncio.run(main())
    np.testing.assert_array_equal(good[:, 0], [3, 4])
    assert isinstance(bad, RuntimeError)
    np.testing.assert_array_equal(split[:, 0], [150, 2])  # over budget: ran alone, not looped
    assert calls[0] == 3  # the first three pieces were merged into one call, which failed


def test_engine_tokens_match_hf_tokenizers(model_dir, encoder):
    """Token ids (cut to the model's limit) and the too-long flags against HF tokenizers
    with and without truncation (the HF-fallback path of Encoder.tokenize has its own
    tests in test_hf_fallback.py)."""
    from fastsbert.serve.engine import Engine
    from tokenizers import Tokenizer

    engine = Engine(str(model_dir), {"threads": 1})
    texts = [TEXTS[0], LONG, "", TEXTS[2], LONG + " and more", TEXTS[1]]
    tokens = engine.tokenize(texts)

    ref = Tokenizer.from_file(str(encoder.model_dir / "tokenizer.json"))
    ref.no_padding()
    ref.no_truncation()
    full = [e.ids for e in ref.encode_batch(texts)]
    ref.enable_truncation(encoder.max_seq_length)
    cut = [e.ids for e in ref.encode_batch(texts)]
    assert [tokens.ids[a:b].tolist() for a, b in zip(tokens.offsets[:-1], tokens.offsets[1:])] == cut
    assert tokens.too_long.tolist() == [len(ids) > encoder.max_seq_length for ids in full]
    assert tokens.too_long.any()


# ---------------------------------------------------------------- backpressure, shutdown
class _StalledRequest:
    """A POST whose body stops halfway until release(): a request held in flight."""

    def __init__(self, url: str, texts: list[str]) -> None:
        import json

        body = json.dumps({"inputs": texts}).encode()
        self._gate = threading.Event()
        self.response = None

        def chunks():
            yield body[:10]
            self._gate.wait(30)
            yield body[10:]

        def send():
            self.response = httpx.post(url + "/embed", content=chunks(), timeout=60,
                                       headers={"content-type": "application/json"})

        self._thread = threading.Thread(target=send)
        self._thread.start()

    def release(self):
        self._gate.set()
        self._thread.join(60)
        return self.response


def _wait_for(predicate, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_backpressure_503_with_retry_after(model_dir, encoder, tmp_path):
    s = ServerProcess(model_dir, "--max-concurrent-requests", "2", log_dir=tmp_path)
    try:
        held = [_StalledRequest(s.url, [t]) for t in TEXTS[:2]]
        _wait_for(lambda: s.metric("fastsbert_requests_in_flight") == 2, "two requests in flight")
        r = httpx.post(s.url + "/embed", json={"inputs": TEXTS[2]})
        error = _error(r, 503)
        assert r.headers["retry-after"] == "1"
        assert "max_concurrent_requests" in error["message"]
        for text, h in zip(TEXTS, held):
            r = h.release()
            assert r.status_code == 200, r.text
            _assert_same(r.json(), [text], encoder)
        r = httpx.post(s.url + "/embed", json={"inputs": TEXTS[2]})
        assert r.status_code == 200
    finally:
        s.stop()


def test_sigterm_finishes_in_flight_requests(model_dir, encoder, tmp_path):
    s = ServerProcess(model_dir, "--log-level", "info", log_dir=tmp_path)
    try:
        held = _StalledRequest(s.url, TEXTS)
        _wait_for(lambda: s.metric("fastsbert_requests_in_flight") == 1, "a request in flight")
        s.proc.send_signal(signal.SIGTERM)
        # The server stops accepting connections, but answers the request it holds.
        _wait_for(lambda: _refused(s.url), "the listening socket to close")
        r = held.release()
        assert r.status_code == 200, r.text
        _assert_same(r.json(), TEXTS, encoder)
        # uvicorn ends by re-raising the signal it handled, so the exit status says SIGTERM.
        assert s.proc.wait(30) in (0, -signal.SIGTERM), s.log()
        assert "Application shutdown complete" in s.log()
    finally:
        s.stop()


def _refused(url: str) -> bool:
    """Whether a new connection is refused (one accepted just before the listening socket
    closed is dropped instead: not yet)."""
    try:
        httpx.get(url + "/health", timeout=1)
    except httpx.ConnectError:
        return True
    except httpx.TransportError:
        pass
    return False


def test_import_does_not_load_torch():
    code = ("import sys, fastsbert.serve, fastsbert.serve.app, fastsbert.serve.engine; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})

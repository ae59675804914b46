"""`fastsbert serve --reranker` and `--api-key` on loopback: /rerank (TEI's shape) and
/v1/rerank (Cohere's shape) against fastsbert.CrossEncoder in this process (itself checked
against sentence-transformers in test_cross_encoder.py), and the API key with the real
openai client."""

from __future__ import annotations

import os

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
openai = pytest.importorskip("openai")
pytest.importorskip("uvicorn")
pytest.importorskip("sentence_transformers")

import fastsbert
from test_cross_encoder import _tiny_ce
from test_serve import ServerProcess

KEY = "sk-test-0123456789abcdef"
PROMPTS = {"search": "Rank for this query: "}  # saved with the reranker, not the default
QUERY = "A man is playing a guitar."
DOCS = ["A man plays the guitar.", "A woman is slicing an onion.", "Someone plays music.",
        "The cat sleeps.", "guitar " * 60]


@pytest.fixture(scope="module")
def reranker_dir(tmp_path_factory):
    path = _tiny_ce(tmp_path_factory.mktemp("serve-ce"), "bert", 1, prompts=PROMPTS)
    fastsbert.CrossEncoder(path, threads=1)  # exported once here; the servers share the cache
    return path


@pytest.fixture(scope="module")
def reranker(reranker_dir):
    return fastsbert.CrossEncoder(reranker_dir, threads=1)


@pytest.fixture(scope="module")
def server(tiny_st_model, reranker_dir, tmp_path_factory):
    """Embeddings and reranking, behind an API key given by the flag."""
    model = tiny_st_model("bert", "mean")
    fastsbert.Encoder(model, threads=1)
    s = ServerProcess(model, "--reranker", str(reranker_dir), "--api-key", KEY,
                      "--max-client-batch-size", "8",
                      log_dir=tmp_path_factory.mktemp("serve-rerank-logs"))
    yield s
    s.stop()


def _post(server, route, body, key=KEY):
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.post(server.url + route, json=body, headers=headers, timeout=60)


def test_api_key(server, tiny_st_model):
    assert httpx.get(server.url + "/health").status_code == 200
    for route in ("/v1/models", "/info", "/metrics"):
        assert httpx.get(server.url + route).status_code == 401
    for key in (None, "wrong", KEY[:-1], KEY + "x"):
        r = _post(server, "/v1/embeddings", {"input": "hello"}, key=key)
        assert r.status_code == 401
        err = r.json()["error"]
        assert err["type"] == "invalid_request_error"
        assert err["code"] in ("missing_api_key", "invalid_api_key")
        assert KEY not in r.text
    r = httpx.post(server.url + "/rerank", json={"query": "q", "texts": ["a"]},
                   headers={"Authorization": f"Basic {KEY}"})
    assert r.status_code == 401

    client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY)
    got = client.embeddings.create(model="m", input=["hello world"]).data[0].embedding
    want = fastsbert.Encoder(tiny_st_model("bert", "mean"), threads=1).encode(
        ["hello world"], normalize=True)[0]
    np.testing.assert_allclose(got, want, atol=1e-5)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server.url + "/v1", api_key="wrong").embeddings.create(
            model="m", input="x")
    assert KEY not in server.log()


def test_tei_rerank(server, reranker):
    want = reranker.predict([(QUERY, d) for d in DOCS])
    r = _post(server, "/rerank", {"query": QUERY, "texts": DOCS, "return_text": True,
                                  "truncate": True})
    assert r.status_code == 200, r.text
    hits = r.json()
    assert [h["index"] for h in hits] == np.argsort(-want, kind="stable").tolist()
    np.testing.assert_allclose([h["score"] for h in hits], want[[h["index"] for h in hits]],
                               atol=1e-5)
    assert all(h["text"] == DOCS[h["index"]] for h in hits)
    raw = _post(server, "/rerank", {"query": QUERY, "texts": DOCS[:4], "raw_scores": True}).json()
    logits = reranker.predict([(QUERY, d) for d in DOCS[:4]], activation_fn=lambda x: x)
    np.testing.assert_allclose([h["score"] for h in sorted(raw, key=lambda h: h["index"])],
                               logits, atol=1e-5)
    assert "text" not in raw[0]


def test_cohere_rerank(server, reranker):
    want = reranker.predict([(QUERY, d) for d in DOCS])
    body = {"model": "rr", "query": QUERY, "documents": [{"text": d} for d in DOCS], "top_n": 3,
            "return_documents": True}
    r = _post(server, "/v1/rerank", body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["model"] == "rr" and out["usage"]["total_tokens"] > 0
    best = np.argsort(-want, kind="stable")[:3].tolist()
    assert [h["index"] for h in out["results"]] == best
    np.testing.assert_allclose([h["relevance_score"] for h in out["results"]], want[best],
                               atol=1e-5)
    assert [h["document"]["text"] for h in out["results"]] == [DOCS[i] for i in best]
    plain = _post(server, "/v1/rerank", {"query": QUERY, "documents": DOCS}).json()
    assert len(plain["results"]) == len(DOCS) and "document" not in plain["results"][0]


def test_rerank_prompt_name(server, reranker):
    """prompt_name puts the model's prompt before the query, as CrossEncoder.predict does."""
    pairs = [(QUERY, d) for d in DOCS[:4]]
    want = reranker.predict(pairs, prompt_name="search")
    assert np.abs(want - reranker.predict(pairs)).max() > 1e-4  # the prompt matters
    tei = _post(server, "/rerank", {"query": QUERY, "texts": DOCS[:4], "prompt_name": "search"})
    assert tei.status_code == 200, tei.text
    np.testing.assert_allclose([h["score"] for h in sorted(tei.json(), key=lambda h: h["index"])],
                               want, atol=1e-5)
    cohere = _post(server, "/v1/rerank", {"query": QUERY, "documents": DOCS[:4],
                                          "prompt_name": "search"})
    assert cohere.status_code == 200, cohere.text
    got = sorted(cohere.json()["results"], key=lambda h: h["index"])
    np.testing.assert_allclose([h["relevance_score"] for h in got], want, atol=1e-5)
    for route, field in (("/rerank", "texts"), ("/v1/rerank", "documents")):
        r = _post(server, route, {"query": QUERY, field: DOCS[:2], "prompt_name": "nope"})
        assert r.status_code == 422 and "nope" in r.json()["error"]["message"], r.text


def test_rerank_errors(server):
    cases = [
        ("/rerank", {"texts": ["a"]}, 422),
        ("/rerank", {"query": "q"}, 422),
        ("/rerank", {"query": "q", "texts": []}, 422),
        ("/rerank", {"query": "", "texts": ["a"]}, 422),
        ("/rerank", {"query": "q", "texts": [1]}, 422),
        ("/rerank", {"query": "q", "texts": ["a"] * 9}, 413),
        ("/rerank", {"query": "q", "texts": [DOCS[-1]]}, 413),  # over 40 tokens, no truncate
        ("/v1/rerank", {"query": "q", "documents": []}, 422),
        ("/v1/rerank", {"documents": ["a"]}, 422),
        ("/v1/rerank", {"query": "q", "documents": ["a"], "top_n": 0}, 422),
        ("/v1/rerank", {"query": "q", "documents": ["a"] * 9}, 413),
    ]
    for route, body, status in cases:
        r = _post(server, route, body)
        assert r.status_code == status, (route, body, r.text)
        assert "message" in r.json()["error"]


def test_reranker_alone_and_key_from_env(reranker_dir, reranker, tmp_path, monkeypatch):
    monkeypatch.setenv("FASTSBERT_API_KEY", KEY)
    s = ServerProcess(f"--reranker={reranker_dir}", log_dir=tmp_path)
    try:
        assert _post(s, "/rerank", {"query": "q", "texts": ["a"]}, key=None).status_code == 401
        r = _post(s, "/rerank", {"query": QUERY, "texts": DOCS[:3]})
        assert r.status_code == 200
        want = reranker.predict([(QUERY, d) for d in DOCS[:3]])
        got = {h["index"]: h["score"] for h in r.json()}
        np.testing.assert_allclose([got[i] for i in range(3)], want, atol=1e-5)
        assert _post(s, "/v1/embeddings", {"input": "x"}).status_code == 404
        assert KEY not in s.log()
    finally:
        s.stop()
    assert os.environ["FASTSBERT_API_KEY"] == KEY

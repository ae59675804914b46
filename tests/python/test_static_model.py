"""Static embedding models (sentence-transformers' StaticEmbedding, model2vec) through the
native static engine: same vectors as the references, every SIMD level equal to scalar,
clear errors for inconsistent or missing files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import fastsbert
from fastsbert import _core
from fastsbert.static_model import export_static, static_source

from tiny_models import tiny_tokenizer, training_text

DIM = 40
HOSTILE = [
    "",
    "   ",
    "Ünïcödé ÇAFÉ — “quotes” … ¿qué? ΟΔΟΣ ΣΑΣ",
    "emoji 🤗🚀👩‍👩‍👧 and 中文字符 mixed with العربية",
    "tabs\tand\nnewlines\u2003em\u00a0space",
    "a " * 400,  # long: truncation rules apply
    "[UNK] [CLS] <s> </s> special-looking text",
]


def _texts() -> list[str]:
    return list(training_text()[:300]) + HOSTILE


def _assert_same(ours: np.ndarray, ref: np.ndarray) -> float:
    assert ours.shape == ref.shape and ours.dtype == np.float32
    ref = ref.astype(np.float32)
    zero = np.linalg.norm(ref, axis=1) == 0
    np.testing.assert_array_equal(np.linalg.norm(ours[zero], axis=1), 0)
    a, b = ours[~zero], ref[~zero]
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cos.min() >= 0.99999, cos.min()
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    return float(cos.min())


def _st_static(tmp_path, arch: str, normalize: bool):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, StaticEmbedding

    modules = [StaticEmbedding(tiny_tokenizer(arch), embedding_dim=DIM)]
    if normalize:
        modules.append(Normalize())
    model = SentenceTransformer(modules=modules, device="cpu")
    path = tmp_path / f"st-static-{arch}"
    model.save(str(path))
    return model, path


@pytest.mark.parametrize("arch,normalize", [("bert", False), ("roberta", True),
                                            ("xlm-roberta", False)])
def test_sentence_transformers_static_embedding(tmp_path, monkeypatch, arch, normalize):
    monkeypatch.setenv("FASTSBERT_HOME", str(tmp_path / "cache"))
    model, path = _st_static(tmp_path, arch, normalize)
    assert static_source(path) == "sentence-transformers"
    texts = _texts()
    enc = fastsbert.Encoder(path, threads=2)
    assert enc._core.engine == "static"
    _assert_same(enc.encode(texts), model.encode(texts, convert_to_numpy=True))
    # module-level encode and a single text take the same road
    np.testing.assert_allclose(fastsbert.encode(texts[3], model=path),
                               model.encode(texts[3]), rtol=1e-4, atol=1e-6)


def _model2vec_dir(tmp_path, arch: str, normalize: bool, max_length: int | None):
    from model2vec import StaticModel

    tok = tiny_tokenizer(arch)._tokenizer
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((tok.get_vocab_size(), DIM)).astype(np.float32)
    model = StaticModel(vectors, tok, normalize=normalize, max_length=max_length)
    path = tmp_path / f"m2v-{arch}"
    model.save_pretrained(path)
    return path


@pytest.mark.parametrize("arch,normalize,max_length", [("bert", True, 16),
                                                       ("xlm-roberta", False, None)])
def test_model2vec_directory(tmp_path, monkeypatch, arch, normalize, max_length):
    from model2vec import StaticModel

    monkeypatch.setenv("FASTSBERT_HOME", str(tmp_path / "cache"))
    path = _model2vec_dir(tmp_path, arch, normalize, max_length)
    assert static_source(path) == "model2vec"
    texts = _texts()
    ref = StaticModel.from_pretrained(path).encode(texts, use_multiprocessing=False)
    enc = fastsbert.Encoder(path, threads=2)
    _assert_same(enc.encode(texts), ref)
    # the ids the engine averages are model2vec's (unknown token dropped, truncation)
    m2v = StaticModel.from_pretrained(path)
    ids, offsets = enc.tokenize(texts)
    cut = [t[: max_length * m2v.median_token_length] for t in texts] if max_length else texts
    if max_length:
        m2v.tokenizer.enable_truncation(max_length)
    expected = m2v.tokenize(cut)
    assert [ids[offsets[i]:offsets[i + 1]].tolist() for i in range(len(texts))] == expected


def test_simd_levels_match_scalar(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTSBERT_HOME", str(tmp_path / "cache"))
    _, path = _st_static(tmp_path, "bert", False)
    texts = _texts()
    enc = fastsbert.Encoder(path, threads=2)
    monkeypatch.setenv("FASTSBERT_SIMD", "scalar")
    assert _core.static_simd_level() == "scalar"
    ref = enc.encode(texts)
    levels = _core.static_simd_levels()
    assert "scalar" in levels
    for level in levels:
        monkeypatch.setenv("FASTSBERT_SIMD", level)
        assert _core.static_simd_level() == level
        np.testing.assert_array_equal(enc.encode(texts), ref, err_msg=level)


def test_encode_ids_and_file(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTSBERT_HOME", str(tmp_path / "cache"))
    model, path = _st_static(tmp_path, "bert", True)
    texts = _texts()[:50]
    enc = fastsbert.Encoder(path, threads=1)
    ids, offsets = enc.tokenize(texts)
    np.testing.assert_array_equal(enc.encode_tokens(ids, offsets), enc.encode(texts))
    src = tmp_path / "in.txt"
    src.write_text("\n".join(t.replace("\n", " ") for t in texts[:20]) + "\n", encoding="utf-8")
    out = tmp_path / "out.npy"
    fastsbert.encode_file(src, out, model=path)
    ref = model.encode([t.replace("\n", " ") for t in texts[:20]])
    _assert_same(np.load(out), ref)


def test_vocabulary_and_matrix_disagree(tmp_path, monkeypatch):
    from safetensors.numpy import load_file, save_file

    monkeypatch.setenv("FASTSBERT_HOME", str(tmp_path / "cache"))
    path = _model2vec_dir(tmp_path, "bert", False, 32)
    weights = load_file(str(path / "model.safetensors"))
    save_file({"embeddings": weights["embeddings"][:-5]}, str(path / "model.safetensors"))
    with pytest.raises(ValueError, match=r"tokenizer\.json and .*model\.safetensors disagree"):
        fastsbert.Encoder(path)
    assert not any((tmp_path / "cache").rglob("fastsbert.json"))  # nothing half-written


def test_missing_and_corrupt_files(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTSBERT_HOME", str(tmp_path / "cache"))
    _, path = _st_static(tmp_path, "bert", False)
    broken = tmp_path / "broken"
    shutil.copytree(path, broken)
    (broken / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"broken/tokenizer\.json"):
        fastsbert.Encoder(broken)
    # the exported directory the engine reads: its matrix file and shape are checked
    out = export_static(path, tmp_path / "exported")
    (out / "embeddings.npy").rename(out / "moved.npy")
    with pytest.raises(FileNotFoundError, match=r"embeddings\.npy"):
        _core.Encoder(str(out))
    np.save(out / "embeddings.npy", np.zeros((3, DIM), np.float32))
    with pytest.raises(ValueError, match=r"embeddings\.npy holds a \(3, 40\) matrix"):
        _core.Encoder(str(out))
    config = json.loads((out / "fastsbert.json").read_text())
    config["engine"] = "bag"
    (out / "fastsbert.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"fastsbert\.json.*\"engine\""):
        _core.Encoder(str(out))


def test_static_model_options(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTSBERT_HOME", str(tmp_path / "cache"))
    _, path = _st_static(tmp_path, "bert", False)
    out = export_static(path, tmp_path / "exported")
    with pytest.raises(ValueError, match="runs on the CPU"):
        _core.Encoder(str(out), device="cuda")
    with pytest.raises(ValueError, match="float32 only"):
        fastsbert.Encoder(out, dtype="int8")
    assert fastsbert.Encoder(out, dtype="auto").dtype == "float32"


def test_serve_static_model(tmp_path, monkeypatch):
    import httpx
    from test_serve import ServerProcess

    monkeypatch.setenv("FASTSBERT_HOME", str(tmp_path / "cache"))
    path = _model2vec_dir(tmp_path, "bert", False, 16)
    texts = _texts()[:20]
    expected = fastsbert.Encoder(path, threads=1).encode(texts)  # exports into the cache
    server = ServerProcess(path, log_dir=tmp_path)
    try:
        r = httpx.post(server.url + "/embed", json={"inputs": texts, "normalize": False,
                                                     "truncate": True})
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(np.array(r.json(), np.float32), expected, rtol=1e-5, atol=1e-6)
    finally:
        server.stop()


@pytest.mark.slow
def test_cpp_api_static_model(cpp_build, tmp_path, monkeypatch):
    """The C++ fastsbert::Encoder on a prepared model2vec model, against model2vec."""
    import os
    import subprocess

    from model2vec import StaticModel

    path = _model2vec_dir(tmp_path, "bert", True, 16)
    out = export_static(path, tmp_path / "exported")
    texts = [t.replace("\n", " ") for t in _texts()]
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    ref = StaticModel.from_pretrained(path).encode(texts, use_multiprocessing=False)
    ref.astype("<f4").tofile(tmp_path / "expected.f32")
    env = dict(os.environ, FASTSBERT_TEST_STATIC_MODEL=str(out),
               FASTSBERT_TEST_STATIC_TEXTS=str(tmp_path / "texts.txt"),
               FASTSBERT_TEST_STATIC_EXPECTED=str(tmp_path / "expected.f32"))
    run = subprocess.run(["ctest", "--output-on-failure", "-R", "test_static_encoder"],
                         cwd=cpp_build, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "tests passed" in run.stdout and "Skipped" not in run.stdout, run.stdout

"""fastsbert.encode / Encoder: parity with sentence-transformers and input handling."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastsbert
from fastsbert.model_cache import default_model_source

MIN_COSINE = 0.99999


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).min())


@pytest.fixture(scope="module")
def minilm_src() -> Path:
    return default_model_source()


@pytest.fixture(scope="module")
def reference(minilm_src):
    """sentence-transformers' torch model, loaded from the same source directory."""
    st = pytest.importorskip("sentence_transformers")
    return st.SentenceTransformer(str(minilm_src), device="cpu")


@pytest.fixture(scope="module")
def encoder() -> fastsbert.Encoder:
    return fastsbert.Encoder()


# ------------------------------------------------------------------ parity


@pytest.mark.slow
def test_default_model_matches_sentence_transformers_on_stsb_test(
    encoder, reference, stsb_test_sentences
):
    ours = encoder.encode(stsb_test_sentences)
    theirs = reference.encode(stsb_test_sentences, batch_size=64, convert_to_numpy=True)
    assert ours.shape == theirs.shape == (len(stsb_test_sentences), 384)
    assert ours.dtype == np.float32
    assert min_cosine(ours, theirs) >= MIN_COSINE
    # all-MiniLM-L6-v2 ends with Normalize: the graph must have fused it.
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_module_level_encode_uses_default_model(reference):
    texts = ["A man is playing a flute.", "Someone plays a flute."]
    emb = fastsbert.encode(texts)
    assert emb.shape == (2, 384) and emb.dtype == np.float32
    assert min_cosine(emb, reference.encode(texts)) >= MIN_COSINE


def test_long_text_is_truncated_like_sentence_transformers(encoder, reference):
    long_text = " ".join(["embedding"] + [f"word{i} and more text" for i in range(600)])
    ours = encoder.encode([long_text, "short"])
    theirs = reference.encode([long_text, "short"])
    assert min_cosine(ours, theirs) >= MIN_COSINE
    ids, offsets = encoder.tokenize([long_text])
    assert offsets[1] == encoder.max_seq_length == reference.max_seq_length


def test_empty_string_matches_sentence_transformers(encoder, reference):
    ours = encoder.encode(["", "x"])
    theirs = reference.encode(["", "x"])
    assert min_cosine(ours, theirs) >= MIN_COSINE


ARCHS = ["bert", "roberta", "distilbert", "mpnet", "xlm-roberta"]
POOLINGS = ["mean", "cls", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"]


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("pooling", POOLINGS)
def test_tiny_models_match_sentence_transformers_through_encode(
    arch, pooling, tiny_st_model, stsb_test_sentences
):
    """The whole path (tokenise, batch, run the fused graph) against sentence-transformers,
    exporting on first use from the sentence-transformers directory."""
    st = pytest.importorskip("sentence_transformers")
    src = tiny_st_model(arch, pooling)
    texts = stsb_test_sentences
    ours = fastsbert.Encoder(src).encode(texts, batch_size=64)
    theirs = st.SentenceTransformer(str(src), device="cpu").encode(texts, batch_size=64)
    assert min_cosine(ours, theirs) >= MIN_COSINE


# ------------------------------------------------------------------ shapes and options


def test_single_string_returns_a_vector(encoder):
    v = encoder.encode("A single sentence.")
    assert v.shape == (384,) and v.dtype == np.float32
    np.testing.assert_allclose(v, encoder.encode(["A single sentence."])[0], rtol=0, atol=0)


def test_empty_list_gives_zero_rows(encoder):
    out = encoder.encode([])
    assert out.shape == (0, 384) and out.dtype == np.float32


def test_results_follow_input_order_whatever_the_batching(encoder, stsb_test_sentences):
    texts = stsb_test_sentences[:300]
    base = encoder.encode(texts, batch_size=1)
    for bs in (7, 32, 1000):
        np.testing.assert_allclose(encoder.encode(texts, batch_size=bs), base, atol=2e-5)
    shuffled = np.random.default_rng(0).permutation(len(texts))
    again = encoder.encode([texts[i] for i in shuffled], batch_size=32)
    np.testing.assert_allclose(again, base[shuffled], atol=2e-5)


def test_thread_counts_agree(stsb_test_sentences):
    texts = stsb_test_sentences[:200]
    one = fastsbert.Encoder(threads=1).encode(texts)
    two = fastsbert.Encoder(threads=2).encode(texts)
    np.testing.assert_allclose(one, two, atol=2e-5)


def test_iterables_are_accepted(encoder):
    texts = ["a cat", "a dog", "a bird"]
    expected = encoder.encode(texts)
    np.testing.assert_array_equal(encoder.encode(t for t in texts), expected)
    np.testing.assert_array_equal(encoder.encode(tuple(texts)), expected)
    np.testing.assert_array_equal(encoder.encode(np.array(texts)), expected)


def test_progress_bar_reports_every_text(encoder, stsb_test_sentences, capsys):
    encoder.encode(stsb_test_sentences[:100], batch_size=16, show_progress_bar=True)
    err = capsys.readouterr().err
    assert "100/100" in err


def test_encoder_properties(encoder, reference):
    assert encoder.dim == 384
    assert encoder.max_seq_length == reference.max_seq_length
    assert encoder.normalized is True
    assert "Encoder(" in repr(encoder)


def test_repeated_encoding_keeps_memory_flat(encoder, stsb_test_sentences):
    texts = stsb_test_sentences[:500]
    encoder.encode(texts)
    encoder.encode(texts)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(8):
        encoder.encode(texts)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 32, f"peak RSS grew by {grown_mb:.1f} MB over 8 identical calls"


# ------------------------------------------------------------------ bad input


def test_none_is_a_type_error(encoder):
    with pytest.raises(TypeError, match="got None"):
        encoder.encode(None)


def test_non_string_item_names_its_index(encoder):
    with pytest.raises(TypeError, match=r"texts\[2\] is int"):
        encoder.encode(["a", "b", 3])
    with pytest.raises(TypeError, match=r"texts\[0\] is NoneType"):
        encoder.encode([None])


def test_bytes_are_rejected(encoder):
    with pytest.raises(TypeError, match="bytes"):
        encoder.encode(b"raw bytes")


def test_lone_surrogate_is_a_clear_error(encoder):
    with pytest.raises(ValueError, match=r"texts\[1\] cannot be encoded as UTF-8"):
        encoder.encode(["fine", "bad \ud800 text"])


def test_bad_batch_size(encoder):
    with pytest.raises(ValueError, match="batch_size"):
        encoder.encode(["a"], batch_size=0)


def test_bad_threads():
    with pytest.raises(ValueError, match="threads"):
        fastsbert.Encoder(threads=0)


def test_missing_model_directory_is_named(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        fastsbert.Encoder(missing)


def test_directory_that_is_not_a_model(tmp_path):
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(FileNotFoundError, match="not a model directory"):
        fastsbert.Encoder(tmp_path)


@pytest.fixture(scope="module")
def exported_copy(encoder, tmp_path_factory) -> Path:
    dst = tmp_path_factory.mktemp("exported") / "minilm"
    shutil.copytree(encoder.model_dir, dst)
    return dst


def _broken_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_missing_onnx_file_is_named(exported_copy, tmp_path):
    broken = _broken_copy(exported_copy, tmp_path / "m")
    (broken / "model.onnx").unlink()
    with pytest.raises(RuntimeError, match=r"has no model\.onnx"):
        fastsbert.Encoder(broken)


def test_corrupt_onnx_file_is_named(exported_copy, tmp_path):
    broken = _broken_copy(exported_copy, tmp_path / "m")
    (broken / "model.onnx").write_bytes(b"\x00not a model")
    with pytest.raises(RuntimeError, match=r"model\.onnx"):
        fastsbert.Encoder(broken)


def test_corrupt_config_is_named(exported_copy, tmp_path):
    broken = _broken_copy(exported_copy, tmp_path / "m")
    (broken / "fastsbert.json").write_text('{"dim": 384,')
    with pytest.raises(RuntimeError, match=r"corrupt .*fastsbert\.json"):
        fastsbert.Encoder(broken)
    cfg = json.loads((exported_copy / "fastsbert.json").read_text())
    del cfg["max_seq_length"]
    (broken / "fastsbert.json").write_text(json.dumps(cfg))
    with pytest.raises(RuntimeError, match="max_seq_length"):
        fastsbert.Encoder(broken)


def test_missing_tokenizer_is_named(exported_copy, tmp_path):
    broken = _broken_copy(exported_copy, tmp_path / "m")
    (broken / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"tokenizer\.json"):
        fastsbert.Encoder(broken)


def test_cuda_without_cuda_provider_is_a_clear_error(exported_copy):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has the CUDA execution provider")
    with pytest.raises(RuntimeError, match="onnxruntime-gpu"):
        fastsbert.Encoder(exported_copy, device="cuda")


def test_unknown_device(exported_copy):
    with pytest.raises(RuntimeError, match="unknown device 'tpu'"):
        fastsbert.Encoder(exported_copy, device="tpu")


def test_inference_does_not_import_torch(exported_copy):
    code = (
        "import sys, fastsbert; "
        f"e = fastsbert.Encoder({str(exported_copy)!r}); e.encode(['hi']); "
        "assert 'torch' not in sys.modules, 'torch was imported'; "
        "assert 'fastsbert.training' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ------------------------------------------------------------------ export cache


def _resolve_in_subprocess(src: str, home: str, queue) -> None:
    os.environ["FASTSBERT_HOME"] = home
    try:
        from fastsbert.prepare import prepare_model

        queue.put(str(prepare_model(src)))
    except Exception as e:  # reported to the parent
        queue.put(f"error: {e!r}")


@pytest.mark.slow
def test_concurrent_first_use_exports_once_and_safely(tiny_st_model, tmp_path):
    src = tiny_st_model("bert", "mean")
    home = tmp_path / "home"
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_resolve_in_subprocess, args=(str(src), str(home), queue))
             for _ in range(3)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(not r.startswith("error") for r in results), results
    assert len(set(results)) == 1
    out = Path(results[0])
    assert (out / "model.onnx").is_file() and (out / "fastsbert.json").is_file()
    leftovers = [p.name for p in out.parent.iterdir() if p != out and not p.name.endswith(".lock")]
    assert leftovers == []
    emb = fastsbert.Encoder(out).encode(["a test sentence"])
    assert emb.shape[0] == 1 and np.isfinite(emb).all()


def test_ort_profile_traces_the_engine_sessions(tmp_path):
    # FASTSBERT_ORT_PROFILE turns on ONNX Runtime's profiler in the engine (bench/profile_ops.py
    # reads the trace): each model call is a model_run with the graph's nodes under it.
    prefix = tmp_path / "trace"
    code = (
        "import fastsbert\n"
        "enc = fastsbert.Encoder(threads=1)\n"
        "enc.encode(['one short text', 'and a second, longer one'], batch_size=1)\n"
        "del enc\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True,
                   env=dict(os.environ, FASTSBERT_ORT_PROFILE=str(prefix)))
    traces = list(tmp_path.glob("trace*.json"))
    assert len(traces) == 1
    events = json.loads(traces[0].read_text())
    assert sum(e["name"] == "model_run" for e in events) == 2
    ops = {e["args"]["op_name"] for e in events if e.get("cat") == "Node"}
    assert {"MatMul", "LayerNormalization"} <= ops

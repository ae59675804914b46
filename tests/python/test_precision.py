"""Model precision (dtype): validation, CPU feature masking, int8 variants and their guard."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import fastsbert
from fastsbert import _core, dtypes, quantize
from fastsbert.encoder import _ENCODERS
from fastsbert.exporter import export

TINY_TEXTS = ["a short one", "Another sentence, a little longer than the first.",
              "Zürich 東京 😀", "x " * 40, "numbers 1 2 3 4 5", "the cat sat on the mat"]


def _engine(model_dir, **kw):
    """The native Encoder straight, with the installed onnxruntime library."""
    from fastsbert._runtime import onnxruntime_library

    return _core.Encoder(str(model_dir), ort_library=onnxruntime_library(), **kw)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


@pytest.fixture
def features(monkeypatch):
    """Sets FASTSBERT_CPU_FEATURES for one test."""
    def set_(value: str | None):
        if value is None:
            monkeypatch.delenv("FASTSBERT_CPU_FEATURES", raising=False)
        else:
            monkeypatch.setenv("FASTSBERT_CPU_FEATURES", value)
    return set_


@pytest.fixture(scope="module")
def tiny_export(tiny_st_model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny-export") / "bert"
    return export(tiny_st_model("bert", "mean"), out)


@pytest.fixture
def tiny_copy(tiny_export, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the tiny export, so each test adds its own variants. These tests
    check the mechanics, so they calibrate and guard on every 4th calibration text."""
    import shutil

    full = quantize.calibration_texts()
    monkeypatch.setattr(quantize, "calibration_texts", lambda: full[::4])
    return Path(shutil.copytree(tiny_export, tmp_path / "model"))


@pytest.fixture(scope="module")
def minilm_int8(minilm_dir, tmp_path_factory) -> Path:
    """all-MiniLM-L6-v2 exported with its int8 variant (built and guarded once).

    The guard measures on this CPU. Where int8 is fast (VNNI/AMX) it must pass; on a CPU
    without them ONNX Runtime's int8 kernels may saturate, fastsbert never offers int8
    there by itself (``auto`` keeps float32), and a refusal is the guard doing its job:
    the int8 accuracy tests then have nothing to measure and are skipped, naming why.
    """
    out = tmp_path_factory.mktemp("minilm") / "int8"
    try:
        return export(minilm_dir, out, dtype="int8")
    except quantize.GuardError as e:
        if dtypes.int8_is_fast():
            raise
        pytest.skip(f"int8 refused by the guard on a CPU without VNNI/AMX: {e}")


# ------------------------------------------------------------------ names and errors


@pytest.mark.parametrize("bad", ["int4", "FP32", "", None, 8, "bfloat16"])
def test_bad_dtype_lists_the_choices(bad):
    for call in (lambda: fastsbert.Encoder(None, dtype=bad),
                 lambda: fastsbert.encode("x", dtype=bad),
                 lambda: export("nowhere", "nowhere-out", dtype=bad)):
        with pytest.raises(ValueError) as e:
            call()
        for choice in ("'float32'", "'fp32'", "'int8'", "'float16'", "'fp16'", "'auto'"):
            assert choice in str(e.value)


def test_engine_rejects_bad_dtype_too(tiny_export):
    with pytest.raises(ValueError, match="unknown dtype 'int4'.*'auto'"):
        _engine(tiny_export, dtype="int4")


def test_aliases(tiny_export):
    assert dtypes.canonical_dtype("fp32") == "float32"
    assert dtypes.canonical_dtype("fp16") == "float16"
    assert fastsbert.Encoder(tiny_export, dtype="fp32").dtype == "float32"


def test_float16_on_cpu_says_what_to_do(tiny_export):
    for device in ("cpu",):
        with pytest.raises(ValueError, match="device='cuda'.*'int8'.*'float32'"):
            fastsbert.Encoder(tiny_export, device=device, dtype="float16")
    with pytest.raises(ValueError, match="float16' runs on CUDA only"):
        _engine(tiny_export, dtype="fp16")
    with pytest.raises(ValueError, match="CPU only"):
        fastsbert.Encoder(tiny_export, device="cuda", dtype="int8")


def test_int8_missing_variant_without_export_extra(tiny_copy, monkeypatch, features):
    def no_onnx():
        raise ImportError("creating an int8 or float16 variant needs the `onnx` package "
                          "(the export extra): pip install 'fastsbert[export]'")

    monkeypatch.setattr(quantize, "_quantization_modules", no_onnx)
    with pytest.raises(ImportError, match=r"fastsbert\[export\]"):
        fastsbert.Encoder(tiny_copy, dtype="int8")
    features("+vnni")
    with pytest.warns(UserWarning, match="stays with float32"):
        enc = fastsbert.Encoder(tiny_copy, dtype="auto")
    assert enc.dtype == "float32"


def test_engine_explains_a_missing_variant(tiny_export):
    with pytest.raises(FileNotFoundError, match="has no int8 variant: create it"):
        _engine(tiny_export, dtype="int8")


# ------------------------------------------------------------------ CPU features


def _proc_cpuinfo_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    pytest.skip("/proc/cpuinfo has no flags line")


def test_detected_features_match_the_kernel(features):
    """cpuid + xgetbv agree with the flags Linux reports (the kernel's own detection)."""
    features(None)
    flags = _proc_cpuinfo_flags()
    got = set(dtypes.cpu_features_detected())
    assert ("avx2" in got) == ("avx2" in flags and "fma" in flags)
    assert ("avx512" in got) == ("avx512f" in flags)
    assert ("avx512_vnni" in got) == ("avx512_vnni" in flags)
    assert ("avx_vnni" in got) == ("avx_vnni" in flags)
    if "amx" in got:
        assert {"amx_tile", "amx_int8"} <= flags
    assert dtypes.cpu_features() == dtypes.cpu_features_detected()


def test_feature_masking(features):
    features("-vnni,-amx")
    assert not dtypes.int8_is_fast()
    assert not {"avx512_vnni", "avx_vnni", "amx"} & set(dtypes.cpu_features())
    features(" +vnni ")
    assert dtypes.int8_is_fast() and "avx512_vnni" in dtypes.cpu_features()
    features("+amx,-avx512_vnni,-avx_vnni")
    assert dtypes.int8_is_fast() and dtypes.cpu_features()[-1] == "amx"
    for bad in ("vnni", "-sse9"):
        features(bad)
        with pytest.raises(ValueError, match="FASTSBERT_CPU_FEATURES"):
            dtypes.cpu_features()


# ------------------------------------------------------------------ the guard


def _broken_int8(model_dir, out_path, texts):
    """The real quantizer, then the first weight matrix reversed: a quantization bug."""
    import onnx
    from onnx import numpy_helper

    quantize.quantize_int8(model_dir, out_path, texts)
    model = onnx.load(str(out_path))
    for init in model.graph.initializer:
        w = numpy_helper.to_array(init)
        if w.ndim == 2 and w.dtype == np.int8 and w.shape[0] > 8:
            init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(w[::-1]), init.name))
            break
    onnx.save(model, str(out_path))


def test_broken_quantization_is_refused(tiny_copy, monkeypatch, features):
    monkeypatch.setitem(quantize._BUILDERS, "int8", _broken_int8)
    with pytest.raises(quantize.GuardError) as e:
        quantize.add_variant(tiny_copy, "int8")
    msg = str(e.value)
    assert "mean cosine" in msg and "p1 cosine" in msg and "force=True" in msg
    entry = quantize.read_variants(tiny_copy)["int8"]
    assert entry["passed"] is False and entry["file"] is None
    assert entry["mean_cosine"] < quantize.MIN_MEAN_COSINE or entry["p1_cosine"] < quantize.MIN_P1_COSINE
    assert f"{entry['mean_cosine']:.4f}" in msg
    assert not (tiny_copy / "model.int8.onnx").exists()
    assert not [p for p in tiny_copy.iterdir() if p.name.startswith(".")]  # no leftovers

    # auto never picks it, even where int8 is fast; asking for int8 names the figures.
    features("+vnni")
    assert fastsbert.Encoder(tiny_copy, dtype="auto").dtype == "float32"
    with pytest.raises(quantize.GuardError, match="refused earlier.*mean cosine"):
        fastsbert.Encoder(tiny_copy, dtype="int8")
    with pytest.raises(ValueError, match="refused by the accuracy guard"):
        _engine(tiny_copy, dtype="int8")

    # Forced: kept and loadable on request, still never chosen by auto.
    entry = quantize.add_variant(tiny_copy, "int8", force=True)
    assert entry["forced"] and entry["file"] == "model.int8.onnx"
    assert fastsbert.Encoder(tiny_copy, dtype="int8").dtype == "int8"
    assert fastsbert.Encoder(tiny_copy, dtype="auto").dtype == "float32"


def test_a_variant_from_another_recipe_is_rebuilt(tiny_copy, monkeypatch):
    """An int8 file built by an older fastsbert (another recipe) is replaced on next use;
    one built by this recipe is kept."""
    quantize.add_variant(tiny_copy, "int8")
    cfg_path = tiny_copy / "fastsbert.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["variants"]["int8"]["recipe"] = "an older recipe"
    cfg_path.write_text(json.dumps(cfg))
    (tiny_copy / "model.int8.onnx").write_bytes(b"not the current graph")

    builds = []
    real = quantize._BUILDERS["int8"]
    monkeypatch.setitem(quantize._BUILDERS, "int8",
                        lambda *a: builds.append(1) or real(*a))
    assert fastsbert.Encoder(tiny_copy, dtype="int8").dtype == "int8"
    entry = quantize.read_variants(tiny_copy)["int8"]
    assert builds == [1] and entry["recipe"] == quantize._RECIPES["int8"] and entry["passed"]
    assert (tiny_copy / "model.int8.onnx").read_bytes()[:4] != b"not "
    fastsbert.Encoder(tiny_copy, dtype="int8")
    assert builds == [1]


def test_export_refuses_and_writes_nothing(tiny_st_model, tmp_path, monkeypatch):
    monkeypatch.setitem(quantize._BUILDERS, "int8", _broken_int8)
    full = quantize.calibration_texts()
    monkeypatch.setattr(quantize, "calibration_texts", lambda: full[::4])
    out = tmp_path / "out"
    with pytest.raises(quantize.GuardError, match="mean cosine"):
        export(tiny_st_model("bert", "mean"), out, dtype="int8")
    assert not out.exists()


def test_cli_export_prints_the_figures(tiny_st_model, tmp_path):
    out = tmp_path / "cli"
    run = subprocess.run(
        [sys.executable, "-m", "fastsbert", "export", str(tiny_st_model("bert", "mean")), str(out),
         "--dtype", "int8", "--force"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    entry = json.loads((out / "fastsbert.json").read_text())["variants"]["int8"]
    assert (out / entry["file"]).is_file()
    assert f"mean cosine {entry['mean_cosine']:.4f}" in run.stdout
    assert f"p1 cosine {entry['p1_cosine']:.4f}" in run.stdout


def test_concurrent_first_use_builds_once(tiny_copy, monkeypatch):
    calls = []

    def counting(model_dir, out_path, texts):
        calls.append(out_path)
        quantize.quantize_int8(model_dir, out_path, texts)

    monkeypatch.setitem(quantize._BUILDERS, "int8", counting)
    results, errors = [], []

    def use():
        try:
            results.append(quantize.add_variant(tiny_copy, "int8", force=True))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=use) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(calls) == 1
    assert all(r == results[0] for r in results)
    assert sorted(p.name for p in tiny_copy.iterdir() if p.name.startswith(".")) == []


# ------------------------------------------------------------------ all-MiniLM-L6-v2 int8


def test_int8_agrees_with_float32_on_stsb_test(minilm_int8, data_dir):
    from scipy.stats import spearmanr

    s1, s2, gold = [], [], []
    with open(data_dir / "stsb" / "stsb-en-test.csv", newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            s1.append(row[0])
            s2.append(row[1])
            gold.append(float(row[2]))
    out = {}
    for dtype in ("float32", "int8"):
        enc = fastsbert.Encoder(minilm_int8, dtype=dtype, threads=2)
        assert enc.dtype == dtype
        out[dtype] = enc.encode(s1 + s2)
    n = len(s1)
    spearman = {d: 100 * spearmanr(np.sum(e[:n] * e[n:], axis=1), gold).statistic
                for d, e in out.items()}
    assert abs(spearman["int8"] - spearman["float32"]) <= 0.3, spearman
    cos = _cos(out["float32"], out["int8"])
    assert cos.mean() >= 0.99 and np.percentile(cos, 1) >= 0.97, (cos.mean(), np.percentile(cos, 1))

    entry = quantize.read_variants(minilm_int8)["int8"]
    assert entry["passed"] and entry["mean_cosine"] >= 0.99 and entry["p1_cosine"] >= 0.97


def test_int8_is_batch_invariant(minilm_int8, stsb_test_sentences):
    """A text's vector does not depend on its batch-mates or the batch size."""
    enc = fastsbert.Encoder(minilm_int8, dtype="int8", threads=2)
    texts = stsb_test_sentences[:120] + [" ".join(stsb_test_sentences[:40])]
    together = enc.encode(texts, batch_size=32)
    alone = np.stack([enc.encode([t])[0] for t in texts[::7]])
    shuffled_order = np.random.default_rng(0).permutation(len(texts))
    shuffled = enc.encode([texts[i] for i in shuffled_order], batch_size=5)
    assert _cos(together[::7], alone).min() >= 0.9999
    assert _cos(together[shuffled_order], shuffled).min() >= 0.9999


def test_auto_follows_the_cpu(minilm_int8, features):
    features("-vnni,-amx")
    assert fastsbert.Encoder(minilm_int8, dtype="auto").dtype == "float32"
    features("+vnni")
    assert fastsbert.Encoder(minilm_int8, dtype="auto").dtype == "int8"
    features("-vnni,-amx,+amx")
    assert fastsbert.Encoder(minilm_int8, dtype="auto").dtype == "int8"


def test_cache_keys_separate_precisions(minilm_int8):
    _ENCODERS.clear()
    texts = ["A man is playing a flute.", "Someone plays a flute."]
    e32 = fastsbert.encode(texts, model=minilm_int8, dtype="float32")
    e8 = fastsbert.encode(texts, model=minilm_int8, dtype="int8")
    fastsbert.encode(texts, model=minilm_int8, dtype="fp32")  # an alias shares the entry
    assert sorted(k[-1] for k in _ENCODERS) == ["float32", "int8"]
    assert {k[-1]: e.dtype for k, e in _ENCODERS.items()} == {"float32": "float32", "int8": "int8"}
    assert not np.array_equal(e32, e8)
    assert _cos(e32, e8).min() > 0.97
    _ENCODERS.clear()


def test_io_binding_path_matches_plain_run(tiny_export, monkeypatch):
    """The I/O-binding call CUDA uses, exercised on the CPU: same rows as a plain run."""
    texts = TINY_TEXTS * 7
    plain = fastsbert.Encoder(tiny_export).encode(texts, batch_size=4)
    monkeypatch.setenv("FASTSBERT_IO_BINDING", "1")
    bound = fastsbert.Encoder(tiny_export).encode(texts, batch_size=4)
    np.testing.assert_array_equal(plain, bound)


def test_float16_variant_is_built_and_guarded_on_the_cpu(tiny_copy, features):
    """The CUDA variant can be made (and checked against float32) on a machine without
    CUDA; the CPU never runs it, not even through auto."""
    entry = quantize.add_variant(tiny_copy, "float16")
    assert entry["file"] == "model.float16.onnx" and entry["passed"]
    assert (tiny_copy / "model.float16.onnx").is_file()
    import onnx

    graph = onnx.load(str(tiny_copy / "model.float16.onnx")).graph
    assert [i.type.tensor_type.elem_type for i in graph.input] == [onnx.TensorProto.INT64] * len(graph.input)
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    inits = {i.name: i.data_type for i in graph.initializer}
    # Tensors known to be float32: float32 initializers and Casts to float32.
    fp32 = {name for name, t in inits.items() if t == onnx.TensorProto.FLOAT}
    fp32 |= {n.output[0] for n in graph.node if n.op_type == "Cast"
             and onnx.helper.get_attribute_value(n.attribute[0]) == onnx.TensorProto.FLOAT}
    kept = [n for n in graph.node if n.op_type in ("LayerNormalization", "Softmax")]
    assert kept and all(n.input[0] in fp32 for n in kept)
    products = [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in inits]
    assert products and all(inits[n.input[1]] == onnx.TensorProto.FLOAT16 for n in products)
    features("-vnni,-amx")
    assert fastsbert.Encoder(tiny_copy, dtype="auto").dtype == "float32"
    with pytest.raises(ValueError, match="CUDA only"):
        fastsbert.Encoder(tiny_copy, dtype="fp16")

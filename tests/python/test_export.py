"""Exporter: the ONNX graph against sentence-transformers (torch), and the exported files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")

from fastsbert.exporter import CONFIG_NAME, UnsupportedModelError, export  # noqa: E402
from tiny_models import ARCHITECTURES, POOLING_MODES, hf_dir_of  # noqa: E402

MIN_COSINE = 0.99999
CONFIG_KEYS = {
    "format_version", "dim", "max_seq_length", "pooling", "normalize", "pad_token_id", "inputs",
    "output", "prompts", "default_prompt_name", "architecture", "source", "max_positions",
}


# --------------------------------------------------------------------------- helpers


def load_st(path: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu")


def st_encode(model, texts: list[str]) -> np.ndarray:
    import torch

    threads = torch.get_num_threads()
    # Tiny models run far faster on one thread than with two threads handing off work.
    if model.get_sentence_embedding_dimension() <= 64:
        torch.set_num_threads(1)
    try:
        return model.encode(texts, batch_size=64, convert_to_numpy=True)
    finally:
        torch.set_num_threads(threads)


def onnx_encode(export_dir: Path, texts: list[str], batch_size: int = 32) -> np.ndarray:
    """Tokenise with the exported tokenizer.json, pad per length-sorted batch, run model.onnx."""
    from tokenizers import Tokenizer

    cfg = json.loads((export_dir / CONFIG_NAME).read_text())
    tok = Tokenizer.from_file(str(export_dir / "tokenizer.json"))
    encodings = tok.encode_batch(texts)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    session = ort.InferenceSession(str(export_dir / "model.onnx"), opts, providers=["CPUExecutionProvider"])
    order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
    out = np.zeros((len(texts), cfg["dim"]), np.float32)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = max(len(encodings[i].ids) for i in rows)
        feed = {
            "input_ids": np.full((len(rows), width), cfg["pad_token_id"], np.int64),
            "attention_mask": np.zeros((len(rows), width), np.int64),
            "token_type_ids": np.zeros((len(rows), width), np.int64),
        }
        for r, i in enumerate(rows):
            n = len(encodings[i].ids)
            feed["input_ids"][r, :n] = encodings[i].ids
            feed["attention_mask"][r, :n] = 1
            feed["token_type_ids"][r, :n] = encodings[i].type_ids
        (emb,) = session.run([cfg["output"]], {k: feed[k] for k in cfg["inputs"]})
        out[rows] = emb
    return out


def _child_env() -> dict[str, str]:
    """Environment for a child interpreter that imports fastsbert the way this one does."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    a, b = a.astype(np.float64), b.astype(np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(cos.min())


def assert_parity(src: Path, out: Path, texts: list[str], st_model=None) -> float:
    st_model = st_model or load_st(src)
    ref = st_encode(st_model, texts)
    got = onnx_encode(out, texts)
    assert got.dtype == np.float32 and got.shape == ref.shape
    cos = min_cosine(got, ref)
    print(f"{src.name}: min cosine {cos:.10f} (1 - cos = {1 - cos:.1e}) over {len(texts)} sentences")
    assert cos >= MIN_COSINE
    # Same length as the reference (normalised or not), not just the same direction.
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), np.linalg.norm(ref, axis=1), rtol=1e-4)
    return cos


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """Factory: exported(src, **export_kwargs) -> out dir, cached per session."""
    cache: dict[tuple, Path] = {}
    root = tmp_path_factory.mktemp("exports")

    def make(src: Path, **kwargs) -> Path:
        key = (str(src), repr(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = export(src, root / f"export-{len(cache)}", **kwargs)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def long_text(stsb_test_sentences) -> str:
    return " ".join(stsb_test_sentences[:60])


# --------------------------------------------------------------------------- parity


@pytest.mark.slow
def test_minilm_parity_on_stsb_test(minilm_dir, exported, stsb_test_sentences):
    out = exported(minilm_dir)
    assert_parity(minilm_dir, out, stsb_test_sentences)


@pytest.fixture(scope="module")
def tiny_texts(stsb_test_sentences, long_text) -> list[str]:
    # Every STS-B test sentence, plus texts past max_seq_length and the empty string.
    return stsb_test_sentences + [long_text, long_text[: len(long_text) // 3], ""]


@pytest.mark.parametrize("pooling", POOLING_MODES)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_tiny_parity(arch, pooling, tiny_st_model, exported, tiny_texts):
    src = tiny_st_model(arch, pooling)
    assert_parity(src, exported(src), tiny_texts)


def test_pooling_modes_differ(tiny_st_model, exported, tiny_texts):
    """The tiny models are random enough that a wrong pooling would fail the parity check."""
    outs = {mode: onnx_encode(exported(tiny_st_model("bert", mode)), tiny_texts[:200]) for mode in POOLING_MODES}
    for i, a in enumerate(POOLING_MODES):
        for b in POOLING_MODES[i + 1 :]:
            if {a, b} != {"mean", "mean_sqrt_len_tokens"}:  # same direction by construction
                assert min_cosine(outs[a], outs[b]) < 0.999, (a, b)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_tiny_parity_dense_normalize(arch, tiny_st_model, exported, tiny_texts):
    src = tiny_st_model(arch, "mean", dense=True, normalize=True)
    out = exported(src)
    cfg = json.loads((out / CONFIG_NAME).read_text())
    assert cfg["dim"] == 24 and cfg["normalize"] is True
    assert_parity(src, out, tiny_texts)


def test_tiny_parity_dense_without_normalize(tiny_st_model, exported, tiny_texts):
    src = tiny_st_model("bert", "max", dense=True)
    assert_parity(src, exported(src), tiny_texts)


def test_concatenated_pooling_modes(tiny_st_model, exported, tiny_texts):
    src = tiny_st_model("roberta", ("cls", "mean"))
    out = exported(src)
    assert json.loads((out / CONFIG_NAME).read_text())["pooling"] == "cls+mean"
    assert_parity(src, out, tiny_texts)


def test_normalize_override(minilm_dir, exported, stsb_test_sentences):
    """normalize=False drops the model's Normalize: the vectors keep their length."""
    out = exported(minilm_dir, normalize=False)
    assert json.loads((out / CONFIG_NAME).read_text())["normalize"] is False
    texts = stsb_test_sentences[:64]
    got = onnx_encode(out, texts)
    st = load_st(minilm_dir)
    ref = st.encode(texts, convert_to_numpy=True, normalize_embeddings=False)
    # The reference model normalises; undo that by comparing directions only.
    assert min_cosine(got, ref) >= MIN_COSINE
    assert not np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-3)


def test_plain_hf_dir_with_pooling(tiny_st_model, tmp_path, tiny_texts):
    """A Hugging Face directory (no modules.json) plus a pooling choice."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    hf_dir = hf_dir_of(tiny_st_model("distilbert", "mean"))
    assert not (hf_dir / "modules.json").exists()
    with pytest.raises(ValueError, match="pooling"):
        export(hf_dir, tmp_path / "no-pooling")
    out = export(hf_dir, tmp_path / "out", pooling="weightedmean", normalize=True)
    transformer = Transformer(str(hf_dir))
    ref_model = SentenceTransformer(
        modules=[transformer, Pooling(transformer.get_embedding_dimension(), "weightedmean"), Normalize()],
        device="cpu",
    )
    cfg = json.loads((out / CONFIG_NAME).read_text())
    assert cfg["max_seq_length"] == ref_model.max_seq_length
    assert_parity(hf_dir, out, tiny_texts, st_model=ref_model)


# --------------------------------------------------------------------------- the graph


def test_graph_checks_and_dynamic_axes(tiny_st_model, exported, stsb_test_sentences):
    src = tiny_st_model("bert", "mean", normalize=True)
    out = exported(src)
    model = onnx.load(str(out / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("model.onnx")) == ["model.onnx"]

    cfg = json.loads((out / CONFIG_NAME).read_text())
    assert [i.name for i in model.graph.input] == cfg["inputs"]
    for inp in model.graph.input:
        assert inp.type.tensor_type.elem_type == onnx.TensorProto.INT64
        dims = inp.type.tensor_type.shape.dim
        assert len(dims) == 2 and all(d.dim_param and not d.dim_value for d in dims)
    (output,) = model.graph.output
    assert output.name == "sentence_embedding"
    assert output.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    out_dims = output.type.tensor_type.shape.dim
    assert len(out_dims) == 2 and out_dims[0].dim_param and out_dims[1].dim_value == cfg["dim"]

    st = load_st(src)
    # Batch and sequence sizes other than those seen while tracing, batch 1 included.
    for batch in (1, 2, 7, 33):
        texts = stsb_test_sentences[batch : 2 * batch]
        got = onnx_encode(out, texts, batch_size=batch)
        assert got.shape == (batch, cfg["dim"])
        assert min_cosine(got, st_encode(st, texts)) >= MIN_COSINE


def test_no_torch_on_import():
    code = "import sys, fastsbert.exporter; assert 'torch' not in sys.modules, 'torch imported'"
    env = _child_env()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# --------------------------------------------------------------------------- config and tokenizer


@pytest.mark.parametrize("which", ["minilm", "roberta", "xlm-roberta"])
def test_config_matches_sentence_transformers(which, minilm_dir, tiny_st_model, exported):
    if which == "minilm":
        src = minilm_dir
    else:
        src = tiny_st_model(which, "lasttoken", prompts={"query": "query: ", "doc": "passage: "})
    out = exported(src)
    cfg = json.loads((out / CONFIG_NAME).read_text())
    st = load_st(src)
    assert set(cfg) == CONFIG_KEYS
    assert cfg["format_version"] == 1
    assert cfg["dim"] == st.get_sentence_embedding_dimension()
    assert cfg["max_seq_length"] == st.max_seq_length
    pooling = st[1].pooling_mode
    assert cfg["pooling"] == (pooling if isinstance(pooling, str) else "+".join(pooling))
    assert cfg["normalize"] is any(type(m).__name__ == "Normalize" for m in st)
    assert cfg["pad_token_id"] == st.tokenizer.pad_token_id
    assert cfg["inputs"] == [n for n in ("input_ids", "attention_mask", "token_type_ids")
                             if n in st.tokenizer.model_input_names]
    assert cfg["output"] == "sentence_embedding"
    assert cfg["prompts"] == st.prompts
    assert cfg["default_prompt_name"] == st.default_prompt_name
    assert cfg["architecture"] == st[0].auto_model.config.model_type
    assert Path(cfg["source"]) == Path(src).resolve()


@pytest.mark.parametrize("which", ["minilm", "bert", "roberta", "distilbert", "mpnet", "xlm-roberta"])
def test_tokenizer_truncates_like_sentence_transformers(which, minilm_dir, tiny_st_model, exported, long_text):
    from tokenizers import Tokenizer

    src = minilm_dir if which == "minilm" else tiny_st_model(which, "mean")
    out = exported(src)
    raw = json.loads((out / "tokenizer.json").read_text())
    st = load_st(src)
    assert raw["padding"] is None
    assert raw["truncation"] == {"direction": "Right", "max_length": st.max_seq_length,
                                 "strategy": "LongestFirst", "stride": 0}
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    texts = [long_text, "A man is playing a flute.", "", "ÉCOLE  naïve CAFÉ!"]
    for text in texts:
        ref = st.tokenize([text])
        enc = tok.encode(text)
        assert enc.ids == ref["input_ids"][0].tolist(), text
        assert enc.attention_mask == ref["attention_mask"][0].tolist()
    assert len(tok.encode(long_text).ids) == st.max_seq_length
    # A batch encodes without padding: each row keeps its own length.
    assert len({len(e.ids) for e in tok.encode_batch(texts[1:])}) == 3


def test_minilm_tokenizer_no_longer_pads_to_128(minilm_dir, exported):
    shipped = json.loads((minilm_dir / "tokenizer.json").read_text())
    assert shipped["padding"] is not None  # the trap this rewrite exists for
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(exported(minilm_dir) / "tokenizer.json"))
    assert len(tok.encode("A man is playing a flute.").ids) < 16


def test_max_seq_length_override(tiny_st_model, tmp_path, long_text):
    from tokenizers import Tokenizer

    src = tiny_st_model("bert", "mean")
    out = export(src, tmp_path / "out", max_seq_length=16)
    assert json.loads((out / CONFIG_NAME).read_text())["max_seq_length"] == 16
    st = load_st(src)
    st.max_seq_length = 16
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert tok.encode(long_text).ids == st.tokenize([long_text])["input_ids"][0].tolist()
    texts = [long_text, "short one"]
    assert min_cosine(onnx_encode(out, texts), st_encode(st, texts)) >= MIN_COSINE
    with pytest.raises(ValueError, match="positions"):
        export(src, tmp_path / "too-long", max_seq_length=10_000)


def test_do_lower_case_is_applied(tiny_st_model, tmp_path):
    """sentence_bert_config.json's do_lower_case adds lowercasing to the tokenizer."""
    from tokenizers import Tokenizer

    src = tiny_st_model("roberta", "mean")
    cased = tmp_path / "cased"
    import shutil

    shutil.copytree(src, cased)
    cfg_path = cased / "sentence_bert_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["do_lower_case"] = True
    cfg_path.write_text(json.dumps(cfg))
    out = export(cased, tmp_path / "out")
    st = load_st(cased)
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    text = "The QUICK Brown Fox"
    assert tok.encode(text).ids == st.tokenize([text])["input_ids"][0].tolist()
    assert tok.encode(text).ids == tok.encode(text.lower()).ids


# --------------------------------------------------------------------------- errors and output dir


def test_missing_source(tmp_path):
    with pytest.raises(FileNotFoundError, match="does-not-exist"):
        export(tmp_path / "does-not-exist", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="modules.json"):
        export(tmp_path / "empty", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_missing_pooling_config(tiny_st_model, tmp_path):
    src = _copy(tiny_st_model("bert", "mean"), tmp_path / "src")
    (src / "1_Pooling" / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"1_Pooling.*config\.json"):
        export(src, tmp_path / "out")


def test_corrupt_modules_json(tiny_st_model, tmp_path):
    src = _copy(tiny_st_model("bert", "mean"), tmp_path / "src")
    (src / "modules.json").write_text("[{not json")
    with pytest.raises(ValueError, match=r"modules\.json"):
        export(src, tmp_path / "out")


def test_missing_weights(tiny_st_model, tmp_path):
    src = _copy(tiny_st_model("bert", "mean", dense=True), tmp_path / "src")
    (src / "2_Dense" / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"2_Dense.*model\.safetensors"):
        export(src, tmp_path / "out")
    src2 = _copy(tiny_st_model("bert", "mean"), tmp_path / "src2")
    (src2 / "model.safetensors").unlink()
    with pytest.raises(OSError, match="src2"):
        export(src2, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out2")]


def test_unsupported_pooling_and_module(tiny_st_model, tmp_path):
    src = tiny_st_model("bert", "mean")
    with pytest.raises(ValueError, match="unknown pooling"):
        export(src, tmp_path / "out", pooling="median")
    bad = _copy(src, tmp_path / "bad")
    modules = json.loads((bad / "modules.json").read_text())
    modules.append({"idx": 9, "name": "9", "path": "9_X", "type": "sentence_transformers.models.CLIPModel"})
    (bad / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(UnsupportedModelError, match="CLIPModel"):
        export(bad, tmp_path / "out")


def test_existing_output(tiny_st_model, tmp_path):
    src = tiny_st_model("distilbert", "cls")
    out = export(src, tmp_path / "out")
    before = (out / "model.onnx").stat().st_mtime_ns
    with pytest.raises(FileExistsError, match=str(out)):
        export(src, out)
    assert (out / "model.onnx").stat().st_mtime_ns == before
    export(src, out, overwrite=True, pooling="max")
    assert json.loads((out / CONFIG_NAME).read_text())["pooling"] == "max"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="other"):
        export(src, tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "out"]


@pytest.mark.slow
def test_concurrent_exports_leave_one_complete_dir(tiny_st_model, tmp_path):
    src = tiny_st_model("bert", "mean")
    out = tmp_path / "out"
    code = textwrap.dedent(f"""
        from fastsbert.exporter import export
        try:
            export({str(src)!r}, {str(out)!r})
            print("exported")
        except FileExistsError:
            print("exists")
    """)
    env = _child_env()
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    results = sorted(p.communicate(timeout=600)[0].strip() for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert "exported" in results and set(results) <= {"exported", "exists"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    onnx.checker.check_model(str(out / "model.onnx"))
    assert json.loads((out / CONFIG_NAME).read_text())["dim"] == 32

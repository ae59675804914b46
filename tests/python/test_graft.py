"""The graft road: a model's ready onnx/model.onnx with its Pooling, Dense and Normalize
grafted on by the onnx package, torch-free, equal to sentence-transformers, cached like an
export, and clear about bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fastsbert
from fastsbert import graft, prepare
from hub_cache import populate_hub_cache
from onnx_graphs import with_onnx_graph

pytest.importorskip("sentence_transformers")

TEXTS = ["A man is playing a flute.", "Someone plays a flute.", "The cat sleeps.", "",
         "Une phrase en français, avec des accents : été, où, garçon.", "tok " * 80]
MIN_COSINE = 0.99999


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _st_vectors(model_dir: Path, texts=TEXTS, **kwargs) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu").encode(list(texts), **kwargs)


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    """A fresh fastsbert cache; its models/ folder is what a failed build must leave empty."""
    home = tmp_path / "home"
    monkeypatch.setenv("FASTSBERT_HOME", str(home))
    return home


def _no_export(*args, **kwargs):
    raise AssertionError("the export road ran although the model ships onnx/model.onnx")


@pytest.fixture(scope="module")
def minilm_graph(minilm_dir, tmp_path_factory) -> Path:
    """all-MiniLM-L6-v2 as its Hub repository holds it: opset 18, output last_hidden_state."""
    return with_onnx_graph(minilm_dir, tmp_path_factory.mktemp("graft") / "minilm", opset=18)


def test_graft_equals_sentence_transformers_and_the_export(minilm_graph, minilm_dir,
                                                           minilm_exported, home, monkeypatch):
    from fastsbert import exporter

    monkeypatch.setattr(exporter, "export", _no_export)
    enc = fastsbert.Encoder(minilm_graph)
    assert home in enc.model_dir.parents  # cached like an export
    cos = _cosines(enc.encode(TEXTS), _st_vectors(minilm_dir))
    assert cos.min() >= MIN_COSINE, cos
    # The same directory as the export road writes.
    grafted = json.loads((enc.model_dir / "fastsbert.json").read_text())
    exported = json.loads((minilm_exported / "fastsbert.json").read_text())
    assert grafted.pop("source") == str(minilm_graph.resolve())
    exported.pop("source")
    assert grafted == exported
    files = {p.name for p in minilm_exported.iterdir()} - {"model.int8.onnx", "model.float16.onnx"}
    assert {p.name for p in enc.model_dir.iterdir()} == files
    tok = json.loads((enc.model_dir / "tokenizer.json").read_text())
    assert tok["padding"] is None and tok["truncation"]["max_length"] == 256
    assert fastsbert.Encoder(minilm_graph).model_dir == enc.model_dir  # reused


CASES = [
    # (arch, pooling, dense, normalize, graph options, edits to the module configs)
    ("bert", "cls", True, True, {"output_name": "token_embeddings", "external_data": True}, {}),
    ("bert", "max", False, False, {"opset": 18}, {}),
    ("bert", "mean_sqrt_len_tokens", False, True, {"opset": 18}, {}),
    ("bert", "weightedmean", True, False, {}, {"dense_activation": "torch.nn.modules.activation.GELU"}),
    ("bert", "lasttoken", False, False, {"opset": 14}, {}),
    ("bert", ("mean", "max", "cls"), True, True, {},
     {"dense_activation": "torch.nn.Identity", "dense_bias": False}),
    ("bert", "mean", False, True, {}, {"include_prompt": False}),
    ("roberta", "mean", True, True, {"output_name": "token_embeddings"}, {}),
]


def _edit(model_dir: Path, edits: dict) -> None:
    """Changes module configs in place (sentence-transformers reads the same edits)."""
    for folder in model_dir.iterdir():
        cfg_file = folder / "config.json"
        if folder.name.endswith("_Dense") and "dense_activation" in edits:
            cfg = json.loads(cfg_file.read_text())
            cfg["activation_function"] = edits["dense_activation"]
            cfg_file.write_text(json.dumps(cfg))
        if folder.name.endswith("_Dense") and edits.get("dense_bias") is False:
            from safetensors.numpy import load_file, save_file

            cfg = json.loads(cfg_file.read_text())
            cfg["bias"] = False
            cfg_file.write_text(json.dumps(cfg))
            state = load_file(str(folder / "model.safetensors"))
            del state["linear.bias"]
            save_file(state, str(folder / "model.safetensors"))
        if folder.name.endswith("_Pooling") and "include_prompt" in edits:
            cfg = json.loads(cfg_file.read_text())
            cfg["include_prompt"] = edits["include_prompt"]
            cfg_file.write_text(json.dumps(cfg))


@pytest.mark.parametrize("arch,pooling,dense,normalize,graph,edits", CASES,
                         ids=lambda v: v if isinstance(v, str) else None)
def test_every_pooling_and_head_equals_sentence_transformers(
        arch, pooling, dense, normalize, graph, edits, tiny_st_model, tmp_path, home, monkeypatch):
    from fastsbert import exporter

    monkeypatch.setattr(exporter, "export", _no_export)
    src = with_onnx_graph(tiny_st_model(arch, pooling, dense=dense, normalize=normalize),
                          tmp_path / "model", **graph)
    _edit(src, edits)
    if graph.get("external_data"):
        assert (src / "onnx" / "model.onnx_data").is_file()
    enc = fastsbert.Encoder(src)
    if edits.get("include_prompt") is False:
        assert "prompt_length" in json.loads((enc.model_dir / "fastsbert.json").read_text())["inputs"]
        ours = enc.encode(TEXTS, prompt="query: ")
        theirs = _st_vectors(src, prompt="query: ")
    else:
        ours, theirs = enc.encode(TEXTS), _st_vectors(src)
    assert ours.shape == theirs.shape
    cos = _cosines(ours, theirs)
    assert cos.min() >= MIN_COSINE, cos
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)


# ------------------------------------------------------------------ roads


def test_road_choice(tiny_st_model, tmp_path):
    plain = tiny_st_model("bert", "mean")
    assert prepare.choose_road(plain) == prepare.EXPORT
    with_graph = with_onnx_graph(plain, tmp_path / "g")
    assert prepare.choose_road(with_graph) == prepare.GRAFT
    assert prepare.choose_road(with_graph, prepare.EXPORT) == prepare.EXPORT
    with pytest.raises(ValueError, match="no onnx/model.onnx"):
        prepare.choose_road(plain, prepare.GRAFT)
    # Dense weights only in torch's format: the graft cannot read them.
    pt_only = with_onnx_graph(tiny_st_model("bert", "mean", dense=True), tmp_path / "pt")
    (next(pt_only.glob("*_Dense")) / "model.safetensors").rename(
        next(pt_only.glob("*_Dense")) / "pytorch_model.bin")
    assert "model.safetensors" in graft.unsupported_reason(pt_only)
    assert prepare.choose_road(pt_only) == prepare.EXPORT


def test_hub_files_the_graft_road_fetches():
    from huggingface_hub.utils import filter_repo_objects

    repo = ["model.safetensors", "pytorch_model.bin", "onnx/model.onnx", "onnx/model.onnx_data",
            "onnx/model_qint8_avx512.onnx", "openvino/openvino_model.bin", "modules.json",
            "config.json", "config_sentence_transformers.json", "sentence_bert_config.json",
            "1_Pooling/config.json", "2_Dense/config.json", "2_Dense/model.safetensors",
            "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
            "README.md", "tf_model.h5"]
    fetched = set(filter_repo_objects(repo, allow_patterns=prepare.GRAFT_FILES))
    assert fetched == set(repo) - {"model.safetensors", "pytorch_model.bin", "README.md", "vocab.txt",
                                   "onnx/model_qint8_avx512.onnx", "openvino/openvino_model.bin",
                                   "tf_model.h5"}


# ------------------------------------------------------------------ without torch

_BLOCKER = """
import sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers", "sentence_transformers"):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, NoTorch())
"""


def test_torch_free_hub_graft_int8_and_the_error(minilm_dir, minilm_graph, tiny_st_model,
                                                 tmp_path):
    """In a process where importing torch or transformers fails: a Hub id whose snapshot
    holds no torch weights is grafted and equals sentence-transformers (computed here);
    int8 is built; a model without a graph gets the error naming both fixes."""
    repo = "sentence-transformers/all-MiniLM-L6-v2"
    hub = tmp_path / "hub"
    no_weights = tmp_path / "repo"
    shutil.copytree(minilm_graph, no_weights, ignore=shutil.ignore_patterns("model.safetensors"))
    populate_hub_cache(hub, repo, no_weights)
    tiny = with_onnx_graph(tiny_st_model("bert", "mean"), tmp_path / "tiny")
    plain = tiny_st_model("bert", "cls")
    code = _BLOCKER + textwrap.dedent(f"""
        import json, numpy as np
        import fastsbert
        from fastsbert import quantize
        enc = fastsbert.Encoder({repo!r})
        np.save({str(tmp_path / "hub.npy")!r}, enc.encode({TEXTS!r}))
        tiny = fastsbert.Encoder({str(tiny)!r}).model_dir
        quantize.add_variant(tiny, "int8", force=True)  # tiny random weights: guard aside
        int8 = fastsbert.Encoder(tiny, dtype="int8")
        assert int8.dtype == "int8" and int8.encode("hello").shape == (32,)
        try:
            fastsbert.Encoder({str(plain)!r})
        except ImportError as e:
            print("ERROR:", e)
        assert not any(m.split(".")[0] in ("torch", "transformers") for m in sys.modules)
    """)
    env = {**os.environ, "HF_HUB_CACHE": str(hub), "HF_HUB_OFFLINE": "1",
           "FASTSBERT_HOME": str(tmp_path / "home")}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    cos = _cosines(np.load(tmp_path / "hub.npy"), _st_vectors(minilm_dir))
    assert cos.min() >= MIN_COSINE, cos
    error = run.stdout.split("ERROR:", 1)[1]
    assert str(plain) in error and "onnx/model.onnx" in error
    assert "pip install 'fastsbert[export]'" in error and "torch" in error


# ------------------------------------------------------------------ bad input


@pytest.fixture(scope="module")
def tiny_graph(tiny_st_model, tmp_path_factory) -> Path:
    return with_onnx_graph(tiny_st_model("bert", "mean"),
                           tmp_path_factory.mktemp("bad") / "model", external_data=True)


def _broken(tiny_graph: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_graph, tmp_path / "broken"))


def _assert_nothing_left(home: Path) -> None:
    models = home / "models"
    left = sorted(p.name for p in models.iterdir()) if models.exists() else []
    assert left == [], left


def test_truncated_graph(tiny_graph, tmp_path, home):
    src = _broken(tiny_graph, tmp_path)
    graph = src / "onnx" / "model.onnx"
    graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated or corrupt") as err:
        fastsbert.Encoder(src)
    assert str(graph) in str(err.value)
    _assert_nothing_left(home)


def test_corrupt_graph(tiny_graph, tmp_path, home):
    src = _broken(tiny_graph, tmp_path)
    graph = src / "onnx" / "model.onnx"
    graph.write_bytes(b"\x08\x07" + os.urandom(2000))
    with pytest.raises(ValueError, match="truncated or corrupt") as err:
        fastsbert.Encoder(src)
    assert str(graph) in str(err.value)
    _assert_nothing_left(home)


def test_missing_external_data(tiny_graph, tmp_path, home):
    src = _broken(tiny_graph, tmp_path)
    (src / "onnx" / "model.onnx_data").unlink()
    with pytest.raises(FileNotFoundError, match="model.onnx_data: missing") as err:
        fastsbert.Encoder(src)
    assert str(src / "onnx" / "model.onnx") in str(err.value)
    _assert_nothing_left(home)


def test_unrecognised_output_names(tiny_st_model, tmp_path, home):
    src = with_onnx_graph(tiny_st_model("bert", "mean"), tmp_path / "m", output_name="hidden")
    with pytest.raises(ValueError, match=r"outputs \['hidden'\] are not recognised") as err:
        fastsbert.Encoder(src)
    assert str(src / "onnx" / "model.onnx") in str(err.value)
    _assert_nothing_left(home)


def test_hidden_size_differs_from_the_pooling_config(tiny_graph, tmp_path, home):
    src = _broken(tiny_graph, tmp_path)
    pooling = next(src.glob("*_Pooling")) / "config.json"
    cfg = json.loads(pooling.read_text())
    cfg["word_embedding_dimension"] = 48
    pooling.write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="hidden size 32") as err:
        fastsbert.Encoder(src)
    assert str(pooling) in str(err.value) and str(src / "onnx" / "model.onnx") in str(err.value)
    _assert_nothing_left(home)


def test_graph_written_by_hand_with_other_names_is_refused(tiny_st_model, tmp_path, home):
    """Inputs the engine does not feed are named, not guessed."""
    import onnx

    src = with_onnx_graph(tiny_st_model("bert", "mean"), tmp_path / "m")
    graph = src / "onnx" / "model.onnx"
    model = onnx.load(str(graph))
    old = model.graph.input[0].name
    model.graph.input[0].name = "ids"
    for node in model.graph.node:
        node.input[:] = ["ids" if i == old else i for i in node.input]
    onnx.save(model, str(graph))
    with pytest.raises(ValueError, match="are not recognised") as err:
        fastsbert.Encoder(src)
    assert str(graph) in str(err.value)
    _assert_nothing_left(home)

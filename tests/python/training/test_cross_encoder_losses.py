"""Each cross-encoder loss against sentence-transformers' loss of the same name: the same
model weights and batch give the same loss value and the same parameter gradients."""

from __future__ import annotations

import pytest
import torch
from fastsbert.training import CrossEncoder
from fastsbert.training.cross_encoder import losses as ours
from fsb_cross_encoder_helpers import DOCUMENTS, NEGATIVES, QUERIES, head_grads

# A small listwise batch: lists of different lengths, graded relevance with ties.
LIST_QUERIES = QUERIES[:3]
LIST_DOCUMENTS = [
    [DOCUMENTS[0], NEGATIVES[0], NEGATIVES[1], DOCUMENTS[1]],
    [DOCUMENTS[1], NEGATIVES[2]],
    [NEGATIVES[3], DOCUMENTS[2], NEGATIVES[4]],
]
LIST_LABELS = [[3.0, 0.0, 1.0, 1.0], [1.0, 0.0], [0.0, 2.0, 1.0]]


def pointwise(kind):
    inputs = [QUERIES + QUERIES, DOCUMENTS + NEGATIVES]
    if kind == "class":
        return inputs, torch.tensor([0, 1, 2, 1, 0, 2, 2, 1, 0, 0])
    return inputs, torch.tensor([1.0, 0.9, 1.0, 0.7, 1.0, 0.0, 0.2, 0.0, 0.1, 0.0])


def triples(kind):
    inputs = [QUERIES, DOCUMENTS, NEGATIVES, NEGATIVES[::-1]]
    if kind == "margins":
        return inputs, torch.tensor([[0.5, 0.7], [0.1, 0.2], [0.9, 0.3], [0.4, 0.4], [0.2, 0.8]])
    if kind == "scores":
        return inputs, torch.tensor(
            [[0.9, 0.1, 0.3], [0.8, 0.5, 0.2], [0.7, 0.1, 0.6], [0.6, 0.3, 0.3], [0.9, 0.2, 0.0]]
        )
    return inputs[:3], None


def lists(_):
    return [LIST_QUERIES, LIST_DOCUMENTS], [torch.tensor(x) for x in LIST_LABELS]


class Scheme:
    """A weighting scheme, built from whichever losses module the test runs."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# (loss name, keyword arguments built per module, data, num_labels)
CASES = [
    ("BinaryCrossEntropyLoss", {}, pointwise("score"), 1),
    ("BinaryCrossEntropyLoss", {"pos_weight": torch.tensor(2.0)}, pointwise("score"), 1),
    ("CrossEntropyLoss", {}, pointwise("class"), 3),
    ("MSELoss", {"activation_fn": torch.nn.Sigmoid()}, pointwise("score"), 1),
    ("MarginMSELoss", {}, triples("margins"), 1),
    ("MarginMSELoss", {}, triples("scores"), 1),
    ("MultipleNegativesRankingLoss", {}, triples(None), 1),
    (
        "MultipleNegativesRankingLoss",
        {"num_negatives": None, "activation_fn": None},
        triples(None),
        1,
    ),
    ("CachedMultipleNegativesRankingLoss", {"mini_batch_size": 4}, triples(None), 1),
    ("RankNetLoss", {}, lists(None), 1),
    ("ListNetLoss", {"mini_batch_size": 2}, lists(None), 1),
    ("ListMLELoss", {}, lists(None), 1),
    ("PListMLELoss", {}, lists(None), 1),
    ("PListMLELoss", {"respect_input_order": False}, lists(None), 1),
    ("LambdaLoss", {}, lists(None), 1),
    ("LambdaLoss", {"k": 2, "reduction_log": "natural"}, lists(None), 1),
    *[
        ("LambdaLoss", {"weighting_scheme": Scheme(s)}, lists(None), 1)
        for s in ("NoWeightingScheme", "NDCGLoss1Scheme", "NDCGLoss2Scheme", "LambdaRankScheme")
    ],
]


def _ids(case):
    name, kwargs = case[0], case[1]
    extra = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{name}({extra})"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_loss_and_gradients_match(case, ce1_dir, ce3_dir, st_module):
    from sentence_transformers.cross_encoder import losses as theirs

    name, kwargs, (inputs, labels), num_labels = case
    path = ce1_dir if num_labels == 1 else ce3_dir
    model = CrossEncoder(path, device="cpu")
    reference = st_module.CrossEncoder(str(path), device="cpu")

    def build(module, target):
        args = {
            k: (getattr(module, v.name)() if isinstance(v, Scheme) else v)
            for k, v in kwargs.items()
        }
        return getattr(module, name)(target, **args)

    results = []
    for module, target in ((ours, model), (theirs, reference)):
        target.train()
        loss = build(module, target)
        torch.manual_seed(7)  # the in-batch negatives are drawn at random
        value = loss([list(c) for c in inputs], labels)
        value.backward()
        results.append(value.detach())
    assert torch.isfinite(results[0])
    torch.testing.assert_close(results[0], results[1], atol=1e-6, rtol=1e-5)
    mine = head_grads(model.model)
    reference_grads = head_grads(reference[0].model)
    assert set(mine) == set(reference_grads) and len(mine) > 10
    assert any(g.abs().sum() > 0 for g in mine.values())
    for param, grad in mine.items():
        torch.testing.assert_close(
            grad, reference_grads[param], atol=1e-6, rtol=1e-4, msg=lambda m, p=param: f"{p}: {m}"
        )


def test_listwise_losses_refuse_pointwise_labels(ce1_dir):
    model = CrossEncoder(ce1_dir, device="cpu")
    with pytest.raises(ValueError, match="ListNetLoss.*list per query"):
        ours.ListNetLoss(model)([LIST_QUERIES, LIST_DOCUMENTS], torch.ones(3))
    with pytest.raises(ValueError, match="documents per query"):
        ours.LambdaLoss(model)([LIST_QUERIES, LIST_DOCUMENTS], [torch.ones(2)] * 3)
    with pytest.raises(ValueError, match="one output label"):
        ours.BinaryCrossEntropyLoss(type("M", (), {"score_pairs": len, "num_labels": 3})())
    with pytest.raises(ValueError, match="BinaryCrossEntropyLoss: got 3 labels"):
        ours.BinaryCrossEntropyLoss(model)([QUERIES, DOCUMENTS], torch.ones(3))


def test_config_matches(ce1_dir, st_module):
    from sentence_transformers.cross_encoder import losses as theirs

    model = CrossEncoder(ce1_dir, device="cpu")
    reference = st_module.CrossEncoder(str(ce1_dir), device="cpu")

    def comparable(config):
        # Our weighting schemes live in fastsbert's module; the class names must agree.
        return {
            k: v.rsplit(".", 1)[-1] if k in ("weighting_scheme", "lambda_weight") and v else v
            for k, v in config.items()
        }

    for name in (
        "BinaryCrossEntropyLoss",
        "MultipleNegativesRankingLoss",
        "CachedMultipleNegativesRankingLoss",
        "LambdaLoss",
        "RankNetLoss",
        "ListNetLoss",
        "PListMLELoss",
        "ListMLELoss",
        "MarginMSELoss",
    ):
        mine = comparable(getattr(ours, name)(model).get_config_dict())
        assert mine == comparable(getattr(theirs, name)(reference).get_config_dict()), name

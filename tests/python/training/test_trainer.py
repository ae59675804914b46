"""fit(): repeatable with a seed, resumable after a kill, round robin, errors on NaN."""

from __future__ import annotations

import pytest
import torch
from fastsbert.training import InputExample, SentenceEncoder, evaluation
from fastsbert.training import losses as L
from fastsbert.training.checkpoint import list_checkpoints
from fastsbert.training.data import NoDuplicatesBatchSampler
from fsb_training_helpers import TEXTS
from torch.utils.data import DataLoader


def _pairs():
    return [
        InputExample(texts=[TEXTS[i], TEXTS[(i + 1) % len(TEXTS)]], label=(i % 5) / 4)
        for i in range(len(TEXTS))
    ] * 2


def _train(tiny_dir, **kwargs):
    model = SentenceEncoder(tiny_dir, device="cpu")
    torch.manual_seed(123)  # only the seed given to fit may matter
    loader = DataLoader(_pairs(), shuffle=True, batch_size=4)
    kwargs.setdefault("seed", 7)
    result = model.fit(
        train_objectives=[(loader, L.CoSENTLoss(model))],
        epochs=kwargs.pop("epochs", 2),
        warmup_steps=2,
        optimizer_params={"lr": 1e-3},
        show_progress_bar=False,
        **kwargs,
    )
    return model, result


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_same_seed_same_weights_and_training_changes_them(tiny_dir):
    a, ra = _train(tiny_dir)
    b, _ = _train(tiny_dir)
    untrained = SentenceEncoder(tiny_dir, device="cpu")
    wa, wb, w0 = _weights(a), _weights(b), _weights(untrained)
    assert ra["global_step"] == 12
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert any(not torch.equal(wa[k], w0[k]) for k in wa)


class _Killed(Exception):
    pass


def test_killed_and_resumed_run_ends_with_same_weights(tiny_dir, tmp_path):
    reference, _ = _train(tiny_dir)
    ckpt = tmp_path / "ckpt"

    calls = {"n": 0}
    original = L.CoSENTLoss.forward

    def dying_forward(self, features, labels):
        calls["n"] += 1
        if calls["n"] == 8:  # in the second epoch, after the checkpoint at step 5
            raise _Killed
        return original(self, features, labels)

    L.CoSENTLoss.forward = dying_forward
    try:
        with pytest.raises(_Killed):
            _train(tiny_dir, checkpoint_path=ckpt, checkpoint_save_steps=5)
    finally:
        L.CoSENTLoss.forward = original
    assert [s for s, _ in list_checkpoints(ckpt)] == [5]
    resumed, result = _train(
        tiny_dir, checkpoint_path=ckpt, checkpoint_save_steps=5, checkpoint_save_total_limit=1
    )
    assert result["global_step"] == 12
    wr, wf = _weights(reference), _weights(resumed)
    for k in wr:
        torch.testing.assert_close(wf[k], wr[k], atol=0, rtol=0, msg=k)
    assert [s for s, _ in list_checkpoints(ckpt)] == [10]


def test_resume_with_no_duplicates_sampler_and_mnrl(tiny_dir, tmp_path):
    def run(ckpt=None, die_at=None):
        model = SentenceEncoder(tiny_dir, device="cpu")
        data = [
            InputExample(texts=[TEXTS[i], TEXTS[(i + 3) % len(TEXTS)]]) for i in range(len(TEXTS))
        ]
        loader = DataLoader(data, batch_sampler=NoDuplicatesBatchSampler(data, batch_size=4))
        loss = L.MultipleNegativesRankingLoss(model)
        if die_at is not None:
            count = {"n": 0}
            inner = loss.compute_loss_from_embeddings

            def wrapped(*a, **k):
                count["n"] += 1
                if count["n"] == die_at:
                    raise _Killed
                return inner(*a, **k)

            loss.compute_loss_from_embeddings = wrapped
        model.fit(
            [(loader, loss)],
            epochs=3,
            warmup_steps=1,
            optimizer_params={"lr": 1e-3},
            seed=3,
            show_progress_bar=False,
            checkpoint_path=ckpt,
            checkpoint_save_steps=2,
        )
        return _weights(model)

    full = run()
    with pytest.raises(_Killed):
        run(tmp_path / "c", die_at=6)
    resumed = run(tmp_path / "c")
    for k in full:
        torch.testing.assert_close(resumed[k], full[k], atol=0, rtol=0)


def test_round_robin_gradient_accumulation_and_evaluation(tiny_dir, tmp_path):
    model = SentenceEncoder(tiny_dir, device="cpu")
    pairs = DataLoader(_pairs(), shuffle=True, batch_size=4)
    triples = [InputExample(texts=[TEXTS[i], TEXTS[i + 1], TEXTS[i + 2]]) for i in range(8)]
    trip_loader = DataLoader(triples, shuffle=True, batch_size=4)
    seen = []
    ev = evaluation.EmbeddingSimilarityEvaluator(
        TEXTS[:6], TEXTS[1:7], [0.1, 0.5, 0.3, 0.9, 0.2, 0.7], name="dev"
    )
    result = model.fit(
        [(pairs, L.CosineSimilarityLoss(model)), (trip_loader, L.TripletLoss(model))],
        evaluator=ev,
        epochs=1,
        gradient_accumulation_steps=2,
        evaluation_steps=1,
        output_path=str(tmp_path / "out"),
        callback=lambda score, epoch, steps: seen.append(steps),
        show_progress_bar=False,
        seed=0,
    )
    assert result["global_step"] == 2  # min(6, 2) batches x 2 objectives / 2 accumulated
    assert seen == [1, 2, -1]
    assert (tmp_path / "out" / "modules.json").is_file()
    assert (tmp_path / "out" / "similarity_evaluation_dev_results.csv").is_file()


def test_nan_loss_stops_training(tiny_dir):
    model = SentenceEncoder(tiny_dir, device="cpu")
    loss = L.CosineSimilarityLoss(model, loss_fct=lambda x, y: (x - y).mean() * float("nan"))
    with pytest.raises(FloatingPointError, match="CosineSimilarityLoss"):
        model.fit([(DataLoader(_pairs(), batch_size=4), loss)], show_progress_bar=False)


def test_amp_needs_cuda(tiny_dir):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    model = SentenceEncoder(tiny_dir, device="cpu")
    with pytest.raises(ValueError, match="CUDA"):
        model.fit(
            [(DataLoader(_pairs(), batch_size=4), L.CoSENTLoss(model))],
            use_amp=True,
            show_progress_bar=False,
        )

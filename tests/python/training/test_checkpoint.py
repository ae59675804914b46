"""Checkpoints store tensors in safetensors and the rest in JSON, so resuming from a
checkpoint folder of unknown origin runs no code from it."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
import torch
from fastsbert.training import InputExample, SentenceEncoder
from fastsbert.training import losses as L
from fastsbert.training.checkpoint import (
    PICKLE_FILE,
    STATE_FILE,
    TENSORS_FILE,
    load_checkpoint,
    save_checkpoint,
)
from fsb_training_helpers import TEXTS
from torch.utils.data import DataLoader


class _CreatesFileWhenUnpickled:
    """Unpickling this calls ``open(path, "w")``: the stand-in for arbitrary code."""

    def __init__(self, path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _fit(tiny_dir, ckpt, **kwargs):
    model = SentenceEncoder(tiny_dir, device="cpu")
    data = [InputExample(texts=[TEXTS[i], TEXTS[i + 1]], label=0.5) for i in range(8)]
    return model.fit(
        [(DataLoader(data, batch_size=4), L.CoSENTLoss(model))],
        epochs=1,
        warmup_steps=1,
        show_progress_bar=False,
        seed=0,
        checkpoint_path=ckpt,
        checkpoint_save_steps=1,
        **kwargs,
    )


def test_old_pickled_checkpoint_is_refused_without_unpickling(tiny_dir, tmp_path):
    marker = tmp_path / "marker"
    old = tmp_path / "ckpt" / "checkpoint-3"
    old.mkdir(parents=True)
    torch.save({"modules": _CreatesFileWhenUnpickled(marker)}, old / PICKLE_FILE)

    with pytest.raises(ValueError, match=r"checkpoint-3.*older .*format.*pickle"):
        _fit(tiny_dir, tmp_path / "ckpt")
    assert not marker.exists()

    # Starting afresh is the way out, and it does not read the old file either.
    assert _fit(tiny_dir, tmp_path / "ckpt", resume_from_checkpoint=False)["global_step"] == 2
    assert not marker.exists()

    # The crafted file is armed: the loader used before this format would have run it.
    torch.load(old / PICKLE_FILE, weights_only=False)
    assert marker.exists()


def test_pickle_in_place_of_the_tensor_file_is_refused(tiny_dir, tmp_path):
    ckpt = tmp_path / "ckpt"
    _fit(tiny_dir, ckpt)
    newest = ckpt / "checkpoint-2"
    marker = tmp_path / "marker"
    torch.save({"w": _CreatesFileWhenUnpickled(marker)}, newest / TENSORS_FILE)
    with pytest.raises(ValueError, match=rf"checkpoint-2.*{TENSORS_FILE}.*not a readable"):
        _fit(tiny_dir, ckpt)
    assert not marker.exists()


@pytest.mark.parametrize(
    "value,pattern",
    [
        ({"py/reduce": [{"py/function": "os.system"}, ["touch x"]]}, None),
        ({"$tensor": "not/there"}, r"not/there.*not in"),
        ({"$ndarray": {"dtype": "object", "shape": [1], "data": [1]}}, r"'object'.*numeric"),
        ({"$dict": [[[1, 2], 3]]}, r"bad \$dict key"),
        ({"$call": ["os.system", "touch x"]}, r"unknown or malformed.*\$call"),
        ({"$tuple": [1], "extra": 2}, r"one key"),
    ],
)
def test_crafted_state_json_builds_only_plain_values(tmp_path, value, pattern):
    folder = save_checkpoint(tmp_path, 1, {"w": torch.ones(2)})
    state = json.loads((folder / STATE_FILE).read_text())
    state["payload"] = value
    (folder / STATE_FILE).write_text(json.dumps(state))
    if pattern is None:  # an ordinary dict, whatever its keys say
        assert load_checkpoint(folder)["payload"] == value
    else:
        with pytest.raises(ValueError, match=rf"{STATE_FILE}.*{pattern}"):
            load_checkpoint(folder)


def test_state_round_trips_exactly(tmp_path):
    torch.manual_seed(0)
    weight = torch.randn(4, 3)
    np_rng = np.random.RandomState(5)
    np_rng.rand(3)
    param = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.SGD([param], lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    scaler.scale(param.sum()).backward()
    scaler.step(optimizer)
    scaler.update()
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5)
    state = {
        "scaler": scaler.state_dict(),
        "scheduler": scheduler.state_dict(),
        "modules": {"a.weight": weight, "tied.weight": weight, "half": torch.randn(3).half()},
        "view": weight[:, 1],  # shares memory with weight but is another tensor
        "optimizer": {
            "state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(4, 3)}},
            "param_groups": [{"params": [0], "betas": (0.9, 0.999), "foreach": None}],
        },
        "rng": {
            "torch": torch.get_rng_state(),
            "python": random.Random(3).getstate(),
            "numpy": np_rng.get_state(),
        },
        "evaluations": [{"score": np.float32(0.25), "steps": -1}],
        "best_score": float("nan"),
        "loss_sum": 0.1 + 0.2,
        "$odd key": 1,
        "mixed keys": {0: torch.zeros(1), "0": torch.ones(1)},  # one path for both tensors
    }
    loaded = load_checkpoint(save_checkpoint(tmp_path, 7, state))

    assert set(loaded) == set(state)
    for k in state["modules"]:
        torch.testing.assert_close(loaded["modules"][k], state["modules"][k], atol=0, rtol=0)
    torch.testing.assert_close(loaded["view"], weight[:, 1], atol=0, rtol=0)
    opt = loaded["optimizer"]
    assert list(opt["state"]) == [0]
    for name, value in state["optimizer"]["state"][0].items():
        torch.testing.assert_close(opt["state"][0][name], value, atol=0, rtol=0)
    assert opt["param_groups"] == state["optimizer"]["param_groups"]
    assert torch.equal(loaded["rng"]["torch"], state["rng"]["torch"])
    assert loaded["rng"]["torch"].dtype == torch.uint8

    python_rng = random.Random()
    python_rng.setstate(loaded["rng"]["python"])
    assert python_rng.random() == random.Random(3).random()
    restored_np = np.random.RandomState()
    restored_np.set_state(loaded["rng"]["numpy"])
    assert np.array_equal(restored_np.rand(5), np_rng.rand(5))

    assert loaded["scaler"] == state["scaler"]
    assert loaded["scheduler"] == state["scheduler"]
    assert loaded["evaluations"] == [{"score": 0.25, "steps": -1}]
    assert math.isnan(loaded["best_score"])
    assert loaded["loss_sum"] == state["loss_sum"]
    assert loaded["$odd key"] == 1
    assert loaded["mixed keys"][0].item() == 0 and loaded["mixed keys"]["0"].item() == 1


def test_unstorable_value_is_named(tmp_path):
    with pytest.raises(TypeError, match=r"set.*evaluations/0"):
        save_checkpoint(tmp_path, 1, {"evaluations": [{1, 2}]})
    assert not (tmp_path / "checkpoint-1").exists()

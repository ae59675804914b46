"""A Dense config names its activation by import path; only torch.nn module classes load,
so a model directory cannot make the loader import or call anything else."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from fastsbert.training import SentenceEncoder
from fsb_training_helpers import TEXTS, build_tiny


@pytest.fixture(scope="module")
def dense_dir(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("dense") / "model", dense=8)


def _with_activation(dense_dir, tmp_path, name):
    shutil.copytree(dense_dir, tmp_path / "m")
    config_file = tmp_path / "m" / "2_Dense" / "config.json"
    config = json.loads(config_file.read_text())
    config["activation_function"] = name
    config_file.write_text(json.dumps(config))
    return tmp_path / "m"


@pytest.mark.parametrize(
    "name,cls",
    [
        ("torch.nn.modules.activation.Tanh", torch.nn.Tanh),
        ("torch.nn.Identity", torch.nn.Identity),
        ("torch.nn.GELU", torch.nn.GELU),
    ],
)
def test_torch_nn_activations_load_like_sentence_transformers(
    dense_dir, tmp_path, st_module, name, cls
):
    path = _with_activation(dense_dir, tmp_path, name)
    model = SentenceEncoder(path, device="cpu")
    assert type(model[2].activation_function) is cls
    reference = st_module.SentenceTransformer(str(path), device="cpu")
    ours = model.encode(TEXTS, convert_to_numpy=True)
    theirs = reference.encode(TEXTS, convert_to_numpy=True)
    torch.testing.assert_close(
        torch.from_numpy(ours), torch.from_numpy(theirs), atol=1e-5, rtol=1e-4
    )


@pytest.mark.parametrize(
    "name",
    [
        "os.system",
        "builtins.eval",
        "torch.load",  # a torch function, not a module class
        "torch.nn.functional.relu",
        "torch.Tensor",  # a torch class, not a torch.nn.Module
        "torch.nn.Linear",  # a module class that needs arguments
        "torch.nn.NoSuchActivation",
        "torch.nnx.Tanh",
        "Tanh",
    ],
)
def test_other_names_are_refused(dense_dir, tmp_path, monkeypatch, name):
    import os

    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    path = _with_activation(dense_dir, tmp_path, name)
    with pytest.raises(ValueError, match=rf"activation_function '{name}'"):
        SentenceEncoder(path, device="cpu")
    assert calls == []

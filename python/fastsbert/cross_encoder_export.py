"""Export of cross-encoders (sequence-classification models) to one ONNX graph.

The exported directory holds:

``model.onnx``
    inputs ``input_ids``, ``attention_mask`` (and ``token_type_ids`` when the tokenizer
    produces them), int64 (batch, seq); one output ``scores``, float32 (batch, 2L): the
    sequence-classification model's L logits after the model's activation, then the L
    logits themselves (so that callers can ask for another activation, or none).
``tokenizer.json`` (+ the other tokenizer files)
    padding off; pairs cut to ``max_seq_length`` longest first, on the right: what
    sentence-transformers' CrossEncoder asks of the tokenizer.
``fastsbert.json``
    ``kind: "cross-encoder"``, ``num_labels``, ``activation``, ``dim`` (2L),
    ``max_seq_length``, ``pad_token_id``, ``inputs``.

The activation follows sentence-transformers' rule: the ``activation_fn`` saved in
``config_sentence_transformers.json``, else the one saved in ``config.json`` (under
``sentence_transformers``, or the older ``sbert_ce_default_activation_function``), else
sigmoid for one label and identity otherwise. Only ``torch.*`` classes are loaded, as
sentence-transformers does without ``trust_remote_code``. These rules, and the
``fastsbert.json`` written, are :mod:`fastsbert.cross_encoder_format`'s, which the
torch-free road (:mod:`fastsbert.cross_encoder_graft`) shares.

The int8 variant and its guard: :mod:`fastsbert.cross_encoder_quantize`.

torch, transformers and onnx are imported inside the functions that need them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from . import dtypes
from ._runtime import checking_session
from .cross_encoder_format import (
    OUTPUT_NAME,
    activation_name,
    max_seq_length,
    transformer_dir,
    write_config,
)
from .cross_encoder_quantize import add_int8
from .export_format import bake_tokenizer, check_target, position_capacity, staged_directory
from .guard import GuardError
from .model_cache import resolve_source

_DEFAULT_OPSET = 17
_TRACE_BATCH, _TRACE_SEQ = 3, 11
# The ONNX graph must reproduce the torch model on the trace sample to this tolerance.
_EXPORT_ATOL = 1e-4


# --------------------------------------------------------------------------- the model


def activation_module(src: Path, hf_config, num_labels: int):
    """(torch module, its dotted name) of the model's activation (module docstring)."""
    import importlib

    path = activation_name(src, hf_config.to_dict(), num_labels)
    module_name, _, cls_name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), cls_name)(), path
    except (ImportError, AttributeError, TypeError) as e:
        raise ValueError(f"{src}: cannot load the saved activation {path!r}: {e}") from e


def _graph_module(model, activation, input_names: list[str]):
    import torch

    class Scores(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.activation = activation

        def forward(self, *inputs):
            logits = self.model(**dict(zip(input_names, inputs))).logits.float()
            return torch.cat([self.activation(logits), logits], dim=1)

    return Scores().eval()


# --------------------------------------------------------------------------- export


def export_cross_encoder(
    src: str | os.PathLike,
    out: str | os.PathLike,
    *,
    max_length: int | None = None,
    opset: int | None = None,
    overwrite: bool = False,
    dtype: str = dtypes.FLOAT32,
    force: bool = False,
    revision: str | None = None,
    token: str | bool | None = None,
    cache_folder: str | os.PathLike | None = None,
) -> Path:
    """Exports a sentence-transformers CrossEncoder (or Hugging Face sequence-classification)
    directory or Hub id to ``out`` (see the module docstring). ``dtype="int8"`` (or "auto"
    on a CPU with VNNI/AMX) also builds the int8 variant, which must pass the guard unless
    ``force``. ``out`` is written under a temporary name and renamed into place.

    Raises FileExistsError when ``out`` holds an export and not ``overwrite``; GuardError
    (a ValueError) naming the figures when the int8 variant is refused.
    """
    from ._checks import check_int

    dtype = dtypes.canonical_dtype(dtype)
    src = resolve_source(src, revision=revision, token=token, cache_folder=cache_folder)
    src = Path(src).expanduser().resolve()
    out = Path(out).expanduser().absolute()
    if max_length is not None:
        max_length = check_int(max_length, "max_length", minimum=2)
    opset = check_int(opset, "opset") if opset is not None else _DEFAULT_OPSET
    check_target(out, overwrite)
    with staged_directory(out, overwrite) as tmp:
        _write_export(src, tmp, max_length, opset)
        if dtypes.wanted_variant(dtype, "cpu") == dtypes.INT8:
            try:
                add_int8(tmp, force=force)
            except GuardError:
                if dtype != dtypes.AUTO:
                    raise
    return out


def _write_export(src: Path, tmp: Path, max_length: int | None, opset: int) -> None:
    import onnx
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .exporter import _quiet_transformers, _sample_inputs

    hf_dir = transformer_dir(src)
    with _quiet_transformers(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok = AutoTokenizer.from_pretrained(hf_dir)
        model = AutoModelForSequenceClassification.from_pretrained(
            hf_dir, attn_implementation="eager", dtype=torch.float32).eval()
    if not getattr(tok, "is_fast", False):
        raise ValueError(f"{hf_dir}: the tokenizer has no fast (tokenizer.json) form")
    config = model.config
    num_labels = int(config.num_labels)
    activation, activation_path = activation_module(src, config, num_labels)
    capacity = position_capacity(config.to_dict())
    seq_len = max_seq_length(src, tok.model_max_length, capacity, max_length)

    tok.save_pretrained(tmp)
    bake_tokenizer(tok.backend_tokenizer.to_str(), tmp, max_seq_length=seq_len, lowercase=False)

    input_names = ["input_ids", "attention_mask"]
    if "token_type_ids" in tok.model_input_names:
        input_names.append("token_type_ids")
    pad_id = tok.pad_token_id
    if pad_id is None:
        pad_id = getattr(config, "pad_token_id", None) or 0
    module = _graph_module(model, activation, input_names)
    sample = _sample_inputs(input_names, int(pad_id), int(getattr(config, "vocab_size", 100)))
    if "token_type_ids" in sample:  # a pair: the second half of each row of type 1
        sample["token_type_ids"][:, _TRACE_SEQ // 2:] = 1
        sample["token_type_ids"] *= sample["attention_mask"]
    with torch.no_grad():
        expected = module(*sample.values()).numpy()

    path = tmp / "model.onnx"
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, tuple(sample.values()), str(path), input_names=input_names,
            output_names=[OUTPUT_NAME], opset_version=opset, dynamo=False,
            do_constant_folding=True,
            dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in input_names},
                          OUTPUT_NAME: {0: "batch"}},
        )
    graph = onnx.load(str(path))
    shape = graph.graph.output[0].type.tensor_type.shape
    shape.ClearField("dim")
    shape.dim.add().dim_param = "batch"
    shape.dim.add().dim_value = 2 * num_labels
    onnx.save_model(graph, str(path))
    onnx.checker.check_model(graph, full_check=True)
    del graph
    session = checking_session(path)
    got = session.run([OUTPUT_NAME], {k: v.numpy() for k, v in sample.items()})[0]
    if not np.allclose(got, expected, atol=_EXPORT_ATOL, rtol=1e-4):
        raise RuntimeError(f"the ONNX graph of {src} disagrees with the torch model by "
                           f"{float(np.abs(got - expected).max()):.2e}")

    write_config(tmp, num_labels=num_labels, activation=activation_path, max_seq_length=seq_len,
                 pad_token_id=int(pad_id), inputs=input_names,
                 architecture=str(config.model_type), source=src, max_positions=capacity)

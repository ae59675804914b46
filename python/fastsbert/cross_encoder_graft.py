"""The torch-free road for cross-encoders: a ready ``onnx/model.onnx`` with the model's
activation appended, written as the exported directory :mod:`fastsbert.cross_encoder_export`
describes.

Hub cross-encoder repositories carry the whole sequence-classification model as ONNX:
``onnx/model.onnx`` (weights possibly in ``onnx/model.onnx_data``), inputs ``input_ids``,
``attention_mask`` (and ``token_type_ids``), output ``logits`` of shape (batch, L). This
module appends, with the ``onnx`` package only, the model's activation (the rules of
:mod:`fastsbert.cross_encoder_format`) and the concatenation of the activated scores with
the raw logits, the output ``scores`` (batch, 2L). The tokenizer and ``fastsbert.json`` are
written as the export road writes them. Neither torch nor transformers is imported.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from . import graft
from ._runtime import checking_session
from .cross_encoder_format import (
    OUTPUT_NAME,
    activation_name,
    config_num_labels,
    max_seq_length,
    transformer_dir,
    write_config,
)
from .export_format import MODEL_NAME, bake_tokenizer, position_capacity, staged_directory
from .st_config import read_json_object

GRAPH_PATH = graft.GRAPH_PATH
LOGITS = "logits"
# The activations appended here, by class name: the Dense activations the embedding graft
# builds, and Softmax over the labels.
ACTIVATIONS = (*graft.ACTIVATIONS, "Softmax")
# The tokenizer files kept beside tokenizer.json, as the export road keeps them.
_KEPT_TOKENIZER_FILES = ("tokenizer_config.json", "special_tokens_map.json")
# Everything this road reads from a Hub repository.
HUB_FILES = [
    GRAPH_PATH, GRAPH_PATH + "_data", "modules.json", "config.json", "*/config.json",
    "config_sentence_transformers.json", "sentence_*_config.json", *graft.TOKENIZER_FILES,
    "*/tokenizer.json", "*/tokenizer_config.json", "*/special_tokens_map.json",
    # a repository holding an exported fastsbert directory is recognised by it
    "fastsbert.json",
]


def unsupported_reason(src: Path) -> str | None:
    """Why this road cannot build ``src`` (None when it can): no ready graph, no
    config.json or tokenizer.json, or a saved activation it does not build."""
    src = Path(src)
    folder = transformer_dir(src)
    if not (src / GRAPH_PATH).is_file():
        return f"{src} has no {GRAPH_PATH}"
    for name in ("config.json", "tokenizer.json"):
        if not (folder / name).is_file():
            return f"{folder} has no {name}"
    try:
        config = read_json_object(folder / "config.json", "Hugging Face model config")
        name = activation_name(src, config, config_num_labels(config, folder / "config.json"))
    except (OSError, ValueError):
        return None  # a broken directory: the graft reports it with its file names
    if graft._activation_class(name) not in ACTIVATIONS:
        return f"{src}: activation {name!r} is not one the graft builds ({', '.join(ACTIVATIONS)})"
    return None


def graft_cross_encoder(src: str | os.PathLike, out: str | os.PathLike, *,
                        overwrite: bool = False) -> Path:
    """Builds the exported cross-encoder directory ``out`` from ``src`` and its
    ``onnx/model.onnx``, without torch (see the module docstring).

    ``out`` is written beside itself under a temporary name and renamed into place; on any
    error nothing is left. Raises ValueError / FileNotFoundError naming the file at fault:
    a truncated or corrupt graph, a missing ``model.onnx_data``, inputs other than the
    encoder's, no ``logits`` output, a label count that differs from config.json's.
    """
    src = Path(src).expanduser().resolve()
    out = Path(out).expanduser().absolute()
    with staged_directory(out, overwrite) as tmp:
        _write(src, tmp)
    return out


# --------------------------------------------------------------------------- the graph


def _build(path: Path, num_labels: int, activation: str, config_file: Path):
    """The graph at ``path`` with ``scores`` = [activation(logits), logits] as its only
    output, and its input names."""
    import onnx
    from onnx import helper

    model = graft._load_graph(path)
    input_names = graft._graph_inputs(model, path)
    outputs = {o.name: o for o in model.graph.output}
    if LOGITS not in outputs:
        raise ValueError(f"{path}: outputs {list(outputs)} are not recognised; expected the "
                         f"sequence-classification logits under {LOGITS!r}, (batch, num_labels)")
    logits = outputs[LOGITS]
    shape = logits.type.tensor_type.shape if logits.type.tensor_type.HasField("shape") else None
    if shape is not None:
        dims = shape.dim
        if len(dims) != 2:
            raise ValueError(f"{path}: output {LOGITS!r} has {len(dims)} dimensions; expected "
                             "2, (batch, num_labels)")
        if dims[1].HasField("dim_value") and dims[1].dim_value != num_labels:
            raise ValueError(f"{path}: output {LOGITS!r} gives {dims[1].dim_value} labels but "
                             f"{config_file} has {num_labels} (num_labels / id2label)")
    g = graft._Nodes(model.graph, graft._opset(model))
    x = LOGITS
    if logits.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        x = g.op("Cast", x, to=onnx.TensorProto.FLOAT)
    if graft._activation_class(activation) == "Softmax":  # torch's dim=None on (n, L): the labels
        activated = g.op("Softmax", x, axis=1)
    else:
        activated = graft._activate(g, x, activation, path.parent)
    scores = g.op("Concat", activated, x, axis=1)
    model.graph.node.append(helper.make_node("Identity", [scores], [OUTPUT_NAME],
                                             name="fastsbert_head/" + OUTPUT_NAME))
    batch = model.graph.input[0].type.tensor_type.shape.dim[0].dim_param or "batch"
    del model.graph.output[:]
    model.graph.output.append(helper.make_tensor_value_info(
        OUTPUT_NAME, onnx.TensorProto.FLOAT, [batch, 2 * num_labels]))
    graft._prune(model.graph, {OUTPUT_NAME})
    return model, input_names


def _check_runs(dest: Path, source: Path, inputs: list[str], num_labels: int, pad_id: int,
                tokenizer: Path, config_file: Path) -> None:
    """Runs the built graph once on two pairs of different lengths: it must give finite
    (2, 2L) rows, L being config.json's label count. Catches a graph that parsed but cannot
    run, and logits of another width than the shape declared."""
    from tokenizers import Tokenizer

    encodings = Tokenizer.from_file(str(tokenizer)).encode_batch(
        [("fastsbert checks the graft.", "a second text"), ("ok", "yes")])
    n = max(len(e.ids) for e in encodings)

    def padded(rows, fill):
        return np.array([r + [fill] * (n - len(r)) for r in rows], dtype=np.int64)

    feeds = {"input_ids": padded([e.ids for e in encodings], pad_id),
             "attention_mask": padded([[1] * len(e.ids) for e in encodings], 0),
             "token_type_ids": padded([e.type_ids for e in encodings], 0)}
    try:
        session = checking_session(dest, optimize=False)
        got = session.run([OUTPUT_NAME], {k: feeds[k] for k in inputs})[0]
    except Exception as e:
        raise ValueError(f"{source}: the graph with the activation appended does not run "
                         f"(are its {LOGITS!r} (batch, {num_labels}) as {config_file} says?): "
                         f"{e}") from None
    if got.shape != (2, 2 * num_labels):
        width = got.shape[1] // 2 if got.ndim == 2 else f"shape {got.shape} of"
        raise ValueError(f"{source}: output {LOGITS!r} gives {width} labels but {config_file} "
                         f"has {num_labels} (num_labels / id2label)")
    if not np.isfinite(got).all():
        raise ValueError(f"{source}: the graph gives non-finite scores")


# --------------------------------------------------------------------------- the directory


def _write(src: Path, tmp: Path) -> None:
    folder = transformer_dir(src)
    config_file = folder / "config.json"
    config = read_json_object(config_file, "Hugging Face model config")
    num_labels = config_num_labels(config, config_file)
    activation = activation_name(src, config, num_labels)
    tokenizer_file = folder / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise FileNotFoundError(f"{tokenizer_file}: missing (the graft needs the fast tokenizer)")
    for name in _KEPT_TOKENIZER_FILES:
        if (folder / name).is_file():
            shutil.copyfile(folder / name, tmp / name)
    tokenizer_config = (read_json_object(folder / "tokenizer_config.json", "tokenizer settings")
                        if (folder / "tokenizer_config.json").is_file() else {})
    capacity = position_capacity(config)
    seq_len = max_seq_length(src, tokenizer_config.get("model_max_length"), capacity, None)
    tokenizer_json = tokenizer_file.read_text("utf-8")
    try:
        bake_tokenizer(tokenizer_json, tmp, max_seq_length=seq_len, lowercase=False)
    except Exception as e:
        raise ValueError(f"{tokenizer_file}: corrupt tokenizer: {e}") from None
    pad_id = graft._pad_token_id(folder, tokenizer_json, config)

    path = src / GRAPH_PATH
    model, input_names = _build(path, num_labels, activation, config_file)
    graft._save(model, tmp / MODEL_NAME)
    del model
    _check_runs(tmp / MODEL_NAME, path, input_names, num_labels, pad_id, tmp / "tokenizer.json",
                config_file)
    write_config(tmp, num_labels=num_labels, activation=activation, max_seq_length=seq_len,
                 pad_token_id=pad_id, inputs=input_names,
                 architecture=str(config.get("model_type", "unknown")), source=src,
                 max_positions=capacity)

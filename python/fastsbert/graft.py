"""The torch-free road: a model's ready ``onnx/model.onnx`` with its Pooling, Dense and
Normalize modules grafted on, written as an exported directory.

sentence-transformers' repositories (and many others) carry the Transformer alone as ONNX:
``onnx/model.onnx`` (weights possibly in ``onnx/model.onnx_data``), inputs ``input_ids``,
``attention_mask`` (and ``token_type_ids``), output ``last_hidden_state`` or
``token_embeddings`` of shape (batch, seq, hidden). This module appends, with the ``onnx``
package only, the nodes that compute what the model's later modules compute:

- Pooling, every mode (cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken, and
  concatenations), with the ``prompt_length`` input when include_prompt is false, by the
  same arithmetic as the exporter's traced Pooling;
- Dense: ``activation(x @ W.T + b)`` (+ the residual), weights read with
  ``safetensors.numpy``, activations named as sentence-transformers configs name them;
- Normalize: ``x / max(||x||, 1e-12)``.

The result has the single output ``sentence_embedding`` and is written, with the tokenizer
and ``fastsbert.json``, exactly as :mod:`fastsbert.exporter` writes its directory
(:mod:`fastsbert.export_format`). Neither torch nor transformers is imported.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np

from ._runtime import checking_session
from .export_format import (
    ENCODER_INPUTS,
    MODEL_NAME,
    OUTPUT_NAME,
    PROMPT_LENGTH,
    bake_tokenizer,
    fit_max_seq_length,
    position_capacity,
    staged_directory,
    write_config,
)
from .st_config import (
    MODULES_NAME,
    DenseSpec,
    NormalizeSpec,
    PoolingSpec,
    StDirectory,
    read_json_object,
    read_st_directory,
    unsupported,
)

GRAPH_PATH = "onnx/model.onnx"
# Names sentence-transformers' ONNX backend gives the Transformer's token output, preferred first.
TOKEN_OUTPUTS = ("token_embeddings", "last_hidden_state")
# The tokenizer files the graft reads (for the pad token); the exported directory keeps
# tokenizer.json (which the runtime reads) and tokenizer_config.json, as the exporter's does.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
_KEPT_TOKENIZER_FILES = ("tokenizer_config.json",)
# Activations of a Dense module by the class name in its config ("torch.nn.modules.activation.X").
ACTIVATIONS = ("Identity", "Tanh", "ReLU", "GELU", "Sigmoid", "SiLU", "LeakyReLU", "ELU", "Softplus")
# Opset 13 moved Unsqueeze / Squeeze / ReduceSum axes to inputs, which the nodes here use.
MIN_OPSET = 13
# protobuf refuses messages of 2 GiB and more: above this size the weights go to a side file.
_EXTERNAL_DATA_BYTES = 1_800_000_000
_PREFIX = "fastsbert_head/"


def graph_file(src: Path) -> Path:
    return Path(src) / GRAPH_PATH


def unsupported_reason(src: Path) -> str | None:
    """Why the graft road cannot build ``src`` (None when it can): no ready graph, not a
    sentence-transformers directory, no tokenizer.json, Dense weights only in torch's
    format, or a Dense activation this module does not build."""
    src = Path(src)
    if not graph_file(src).is_file():
        return f"{src} has no {GRAPH_PATH}"
    if not (src / MODULES_NAME).is_file():
        return f"{src} has no {MODULES_NAME} (its Pooling is not known)"
    if not (src / "tokenizer.json").is_file():
        return f"{src} has no tokenizer.json"
    try:
        st = read_st_directory(src)
    except (OSError, ValueError):
        return None  # a broken directory: the graft reports it with its file names
    for head in st.heads:
        if isinstance(head, DenseSpec):
            if not (head.folder / "model.safetensors").is_file():
                return f"{head.folder} has no model.safetensors (its weights need torch to read)"
            if _activation_class(head.activation) not in ACTIVATIONS:
                return f"{head.folder}: Dense activation {head.activation!r} is not one the graft builds"
    return None


def graft(src: str | os.PathLike, out: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Builds the exported directory ``out`` from the sentence-transformers directory
    ``src`` and its ``onnx/model.onnx``, without torch (see the module docstring).

    ``out`` is written beside itself under a temporary name and renamed into place; on any
    error nothing is left. Raises ValueError / FileNotFoundError naming the file at fault
    (a truncated or corrupt graph, a missing ``model.onnx_data``, unrecognised inputs or
    outputs, a hidden size that differs from the Pooling config's), UnsupportedModelError
    (a ValueError) for modules the graft does not build.
    """
    src = Path(src).expanduser().resolve()
    out = Path(out).expanduser().absolute()
    st = read_st_directory(src)
    with staged_directory(out, overwrite) as tmp:
        _write_graft(src, st, tmp)
    return out


# --------------------------------------------------------------------------- the graph


def _load_graph(path: Path):
    """The ONNX model at ``path`` with its external weights read in, checked."""
    import onnx
    from onnx.external_data_helper import uses_external_data

    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf's DecodeError and friends
        raise ValueError(f"{path}: not a readable ONNX model (truncated or corrupt?): {e}") from None
    if not model.graph.node or not model.graph.output:
        raise ValueError(f"{path}: not a readable ONNX model (truncated or corrupt?): "
                         "the graph has no nodes or no outputs")
    # Read here rather than by onnx.load_external_data_for_model, which refuses a side file
    # that is a symbolic link: the Hub cache's snapshots are links to its blobs.
    files: dict[Path, object] = {}
    try:
        for tensor in model.graph.initializer:
            if uses_external_data(tensor):
                _read_external(tensor, path, files)
    finally:
        for fh in files.values():
            fh.close()
    return model


def _read_external(tensor, path: Path, files: dict) -> None:
    """Moves the bytes of ``tensor`` from its side file (next to the graph ``path``) into
    the tensor itself; ``files`` caches the open side files."""
    import onnx

    info = {e.key: e.value for e in tensor.external_data}
    location = Path(info.get("location", ""))
    if not location.parts or location.is_absolute() or ".." in location.parts:
        raise ValueError(f"{path}: tensor {tensor.name!r} keeps its weights at {str(location)!r}, "
                         "which is not a file beside the graph")
    data = path.parent / location
    offset = int(info.get("offset", 0) or 0)
    length = int(info.get("length", 0) or 0)
    if not data.is_file():
        raise FileNotFoundError(f"{data}: missing; {path} keeps its weights there "
                                f"(tensor {tensor.name!r})")
    size = data.stat().st_size
    if size < offset + length:
        raise ValueError(f"{data}: truncated; {path} reads tensor {tensor.name!r} up to "
                         f"byte {offset + length}, the file has {size}")
    if data not in files:
        files[data] = open(data, "rb")  # noqa: SIM115 - closed by the caller
    fh = files[data]
    fh.seek(offset)
    tensor.raw_data = fh.read(length) if length else fh.read()
    del tensor.external_data[:]
    tensor.data_location = onnx.TensorProto.DEFAULT


def _opset(model) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _graph_inputs(model, path: Path) -> list[str]:
    """The encoder inputs of the graph, checked against the ones the engine feeds."""
    import onnx

    weights = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in weights]
    names = [i.name for i in inputs]
    unknown = [n for n in names if n not in ENCODER_INPUTS]
    if unknown or "input_ids" not in names or "attention_mask" not in names:
        raise ValueError(f"{path}: inputs {names} are not recognised; expected input_ids, "
                         "attention_mask and optionally token_type_ids")
    for i in inputs:
        if i.type.tensor_type.elem_type != onnx.TensorProto.INT64:
            raise ValueError(f"{path}: input {i.name!r} is not int64")
    return [n for n in ENCODER_INPUTS if n in names]


def _token_output(model, path: Path):
    outputs = {o.name: o for o in model.graph.output}
    for name in TOKEN_OUTPUTS:
        if name in outputs:
            return outputs[name]
    raise ValueError(f"{path}: outputs {list(outputs)} are not recognised; expected the token "
                     f"embeddings under one of {list(TOKEN_OUTPUTS)}")


def _hidden_size(output, config: dict) -> int | None:
    dims = output.type.tensor_type.shape.dim
    if len(dims) == 3 and dims[2].HasField("dim_value"):
        return int(dims[2].dim_value)
    for key in ("hidden_size", "d_model", "dim"):
        if isinstance(config.get(key), int):
            return int(config[key])
    return None


class _Nodes:
    """Appends nodes and constants to a graph under names of their own."""

    def __init__(self, graph, opset: int) -> None:
        self.graph = graph
        self.opset = opset
        self._count = 0

    def _name(self, what: str) -> str:
        self._count += 1
        return f"{_PREFIX}{what}_{self._count}"

    def const(self, value, dtype=np.float32) -> str:
        from onnx import numpy_helper

        name = self._name("const")
        self.graph.initializer.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs) -> str:
        from onnx import helper

        out = self._name(op_type)
        self.graph.node.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def unsqueeze(self, x: str, axes: list[int]) -> str:
        return self.op("Unsqueeze", x, self.const(axes, np.int64))

    def reduce(self, op_type: str, x: str, axes: list[int], keepdims: int) -> str:
        # ReduceSum takes its axes as an input from opset 13, the other reductions from 18.
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, x, self.const(axes, np.int64), keepdims=keepdims)
        return self.op(op_type, x, axes=axes, keepdims=keepdims)


def _pool(g: _Nodes, tokens: str, mask: str, pooling: PoolingSpec) -> str:
    """(batch, seq, hidden) token embeddings -> (batch, hidden * modes), as the exporter's
    Pooling computes it (fastsbert.training.models.Pooling)."""
    import onnx

    f32, i32 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT32
    seq = g.op("Gather", g.op("Shape", mask), g.const(1, np.int64), axis=0)
    positions = g.op("Range", g.const(0, np.int64), seq, g.const(1, np.int64))  # (seq,)
    row = g.unsqueeze(positions, [0])  # (1, seq)
    first = g.op("ArgMax", g.op("Cast", mask, to=i32), axis=1, keepdims=0)  # first real token
    if not pooling.include_prompt:
        # The prompt's tokens (the first prompt_length real ones) leave the mask.
        limit = g.op("Add", g.unsqueeze(first, [1]), PROMPT_LENGTH)
        mask = g.op("Where", g.op("Less", row, limit), g.const(0, np.int64), mask)
    mask_f = g.op("Cast", mask, to=f32)  # (batch, seq)
    weights = g.unsqueeze(mask_f, [2])  # (batch, seq, 1)
    row_f = g.op("Cast", row, to=f32)

    def pick(index: str) -> str:
        """tokens[b, index[b]] for an index (batch, 1): a one-hot sum, exact in float."""
        hot = g.op("Cast", g.op("Equal", row_f, g.op("Cast", index, to=f32)), to=f32)
        return g.reduce("ReduceSum", g.op("Mul", tokens, g.unsqueeze(hot, [2])), [1], 0)

    pooled = []
    for mode in pooling.modes:
        if mode == "cls":  # the first position the mask keeps
            pooled.append(pick(g.op("ArgMax", g.op("Cast", mask, to=i32), axis=1, keepdims=1)))
        elif mode == "max":
            hidden = g.op("Where", g.op("Equal", weights, g.const(0.0)), g.const(-np.inf), tokens)
            pooled.append(g.reduce("ReduceMax", hidden, [1], 0))
        elif mode in ("mean", "mean_sqrt_len_tokens"):
            total = g.reduce("ReduceSum", g.op("Mul", tokens, weights), [1], 0)
            count = g.op("Max", g.reduce("ReduceSum", weights, [1], 0), g.const(1e-9))
            if mode == "mean_sqrt_len_tokens":
                count = g.op("Sqrt", count)
            pooled.append(g.op("Div", total, count))
        elif mode == "weightedmean":  # weights 1, 2, ... from the first real token
            ones_based = g.op("Add", row_f, g.const(1.0))  # (1, seq)
            position = g.op("Sub", ones_based, g.unsqueeze(g.op("Cast", first, to=f32), [1]))
            w = g.op("Mul", weights, g.unsqueeze(position, [2]))
            total = g.reduce("ReduceSum", g.op("Mul", tokens, w), [1], 0)
            pooled.append(g.op("Div", total,
                               g.op("Max", g.reduce("ReduceSum", w, [1], 0), g.const(1e-9))))
        else:  # lasttoken: the last position the mask keeps (0 when it keeps none)
            last = g.reduce("ReduceMax", g.op("Mul", row_f, mask_f), [1], 1)  # (batch, 1)
            hot = g.op("Cast", g.op("Equal", row_f, last), to=f32)
            masked = g.op("Mul", tokens, weights)
            pooled.append(g.reduce("ReduceSum", g.op("Mul", masked, g.unsqueeze(hot, [2])), [1], 0))
    return pooled[0] if len(pooled) == 1 else g.op("Concat", *pooled, axis=-1)


def _activation_class(name: str) -> str:
    module, _, cls = name.rpartition(".")
    return cls if module == "torch.nn" or module.startswith("torch.nn.") else ""


def _activate(g: _Nodes, x: str, name: str, where: Path) -> str:
    kind = _activation_class(name)
    if kind == "Identity":
        return x
    if kind in ("Tanh", "Sigmoid"):
        return g.op(kind, x)
    if kind == "ReLU":
        return g.op("Relu", x)
    if kind == "GELU":  # torch's exact GELU: x * (1 + erf(x / sqrt 2)) / 2
        erf = g.op("Erf", g.op("Div", x, g.const(math.sqrt(2.0))))
        return g.op("Mul", g.op("Mul", x, g.const(0.5)), g.op("Add", erf, g.const(1.0)))
    if kind == "SiLU":
        return g.op("Mul", x, g.op("Sigmoid", x))
    if kind == "LeakyReLU":  # torch's default slope
        return g.op("LeakyRelu", x, alpha=0.01)
    if kind == "ELU":
        return g.op("Elu", x, alpha=1.0)
    if kind == "Softplus":
        return g.op("Softplus", x)
    raise unsupported(f"{where / 'config.json'}: Dense activation {name!r} is not one "
                                f"the graft builds ({', '.join(ACTIVATIONS)}); export the model "
                                "with torch instead (the export extra)")


def _dense(g: _Nodes, x: str, width: int, spec: DenseSpec) -> str:
    from safetensors.numpy import load_file

    file = spec.folder / "model.safetensors"
    if spec.in_features != width:
        raise ValueError(f"{spec.folder / 'config.json'}: Dense in_features={spec.in_features} "
                         f"but the module before it gives {width} values")
    try:
        state = load_file(str(file))
    except FileNotFoundError:
        raise FileNotFoundError(f"{file}: missing (the Dense module's weights)") from None
    except Exception as e:
        raise ValueError(f"{file}: corrupt Dense weights: {e}") from None
    expected = {"linear.weight": (spec.out_features, spec.in_features)}
    if spec.bias:
        expected["linear.bias"] = (spec.out_features,)
    if spec.use_residual and spec.in_features != spec.out_features:
        expected["residual.weight"] = (spec.out_features, spec.in_features)
    for key, shape in expected.items():
        if key not in state or tuple(state[key].shape) != shape:
            got = tuple(state[key].shape) if key in state else "absent"
            raise ValueError(f"{file}: {key} is {got}, its config.json asks for {shape}")
    w = state["linear.weight"].astype(np.float32)
    y = g.op("MatMul", x, g.const(np.ascontiguousarray(w.T)))
    if spec.bias:
        y = g.op("Add", y, g.const(state["linear.bias"].astype(np.float32)))
    y = _activate(g, y, spec.activation, spec.folder)
    if spec.use_residual:
        skip = x
        if spec.in_features != spec.out_features:
            r = state["residual.weight"].astype(np.float32)
            skip = g.op("MatMul", x, g.const(np.ascontiguousarray(r.T)))
        y = g.op("Add", y, skip)
    return y


def _normalize(g: _Nodes, x: str) -> str:
    """x / max(||x||_2, 1e-12) along the last axis, as torch's F.normalize."""
    norm = g.op("Sqrt", g.reduce("ReduceSum", g.op("Mul", x, x), [-1], 1))
    return g.op("Div", x, g.op("Max", norm, g.const(1e-12)))


def _prune(graph, keep: set[str]) -> None:
    """Drops the nodes no kept tensor depends on (the Transformer's other outputs, the
    head's unused helpers) and the weights only they read. Deletes in place: copying the
    repeated fields would copy every weight."""
    if any(a.type in (5, 10) for n in graph.node for a in n.attribute):  # GRAPH(S): subgraphs
        return
    needed = set(keep)
    dead = []
    for i in range(len(graph.node) - 1, -1, -1):
        node = graph.node[i]
        if any(o in needed for o in node.output):
            needed.update(x for x in node.input if x)
        else:
            dead.append(i)
    for i in dead:  # descending
        del graph.node[i]
    for i in range(len(graph.initializer) - 1, -1, -1):
        if graph.initializer[i].name not in needed:
            del graph.initializer[i]


def _build(path: Path, st: StDirectory, config: dict, config_file: Path):
    """The grafted model and (input names, output width)."""
    import onnx
    from onnx import helper

    model = _load_graph(path)
    opset = _opset(model)
    if opset < MIN_OPSET:
        raise ValueError(f"{path}: opset {opset}; the graft needs opset {MIN_OPSET} or later")
    input_names = _graph_inputs(model, path)
    tokens = _token_output(model, path)
    pooling = st.pooling
    hidden = _hidden_size(tokens, config)
    if hidden is not None and hidden != pooling.word_embedding_dimension:
        raise ValueError(f"{path}: hidden size {hidden} (its {tokens.name!r}, or {config_file}) "
                         f"does not match word_embedding_dimension="
                         f"{pooling.word_embedding_dimension} in {pooling.config_file}")
    g = _Nodes(model.graph, opset)
    if not pooling.include_prompt:
        model.graph.input.append(
            helper.make_tensor_value_info(PROMPT_LENGTH, onnx.TensorProto.INT64, [1]))
        input_names.append(PROMPT_LENGTH)
    x = _pool(g, tokens.name, "attention_mask", pooling)
    width = pooling.dim
    for head in st.heads:
        if isinstance(head, DenseSpec):
            x = _dense(g, x, width, head)
            width = head.out_features
        elif isinstance(head, NormalizeSpec):
            x = _normalize(g, x)
    model.graph.node.append(helper.make_node("Identity", [x], [OUTPUT_NAME],
                                             name=_PREFIX + OUTPUT_NAME))
    batch = model.graph.input[0].type.tensor_type.shape.dim[0].dim_param or "batch"
    del model.graph.output[:]
    model.graph.output.append(
        helper.make_tensor_value_info(OUTPUT_NAME, onnx.TensorProto.FLOAT, [batch, width]))
    _prune(model.graph, {OUTPUT_NAME})
    return model, input_names, width


def _save(model, dest: Path) -> None:
    """Writes ``model`` to ``dest`` after checking it; serialised once (the weights make it
    large), with the weights in a side file when protobuf cannot hold them."""
    import onnx

    weights = sum(len(t.raw_data) for t in model.graph.initializer)
    if weights < _EXTERNAL_DATA_BYTES:
        data = model.SerializeToString()
        onnx.checker.check_model(data)
        with open(dest, "wb") as fh:
            fh.write(data)
    else:
        onnx.save_model(model, str(dest), save_as_external_data=True,
                        all_tensors_to_one_file=True, location=dest.name + ".data")
        onnx.checker.check_model(str(dest))


def _check_runs(dest: Path, source: Path, inputs: list[str], width: int, pad_id: int,
                tokenizer: Path) -> None:
    """Runs the grafted graph once on two texts of different lengths: it must give finite
    (2, width) vectors. Catches a graph that parsed but cannot run."""
    from tokenizers import Tokenizer

    rows = [e.ids for e in Tokenizer.from_file(str(tokenizer)).encode_batch(
        ["fastsbert checks the graft.", "ok"])]
    n = max(len(r) for r in rows)
    ids = np.array([r + [pad_id] * (n - len(r)) for r in rows], dtype=np.int64)
    mask = np.array([[1] * len(r) + [0] * (n - len(r)) for r in rows], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids),
             PROMPT_LENGTH: np.zeros(1, np.int64)}
    try:
        session = checking_session(dest, optimize=False)
        got = session.run([OUTPUT_NAME], {k: feeds[k] for k in inputs})[0]
    except Exception as e:
        raise ValueError(f"{source}: the graph with pooling grafted on does not run: {e}") from None
    if got.shape != (2, width) or not np.isfinite(got).all():
        raise ValueError(f"{source}: the grafted graph gives {got.shape} "
                         f"{'finite' if np.isfinite(got).all() else 'non-finite'} vectors, "
                         f"expected finite (2, {width})")


# --------------------------------------------------------------------------- the tokenizer


def _token_id(tokenizer_json: str, token) -> int | None:
    from tokenizers import Tokenizer

    if isinstance(token, dict):
        token = token.get("content")
    if not isinstance(token, str):
        return None
    return Tokenizer.from_str(tokenizer_json).token_to_id(token)


def _pad_token_id(folder: Path, tokenizer_json: str, config: dict) -> int:
    """The tokenizer's pad token id (transformers' ``pad_token_id``), else the encoder
    config's, else 0."""
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if (folder / name).is_file():
            cfg = read_json_object(folder / name, "tokenizer settings")
            found = _token_id(tokenizer_json, cfg.get("pad_token"))
            if found is not None:
                return int(found)
    pad = config.get("pad_token_id")
    return int(pad) if isinstance(pad, int) else 0


def _max_seq_length(st: StDirectory, folder: Path, config: dict) -> int:
    """sentence-transformers' rule: the Transformer config's max_seq_length, else the
    tokenizer's model_max_length capped at max_position_embeddings; then capped at the
    positions the encoder really has."""
    capacity = position_capacity(config)
    seq = st.max_seq_length
    if seq is None:
        cfg = (read_json_object(folder / "tokenizer_config.json", "tokenizer settings")
               if (folder / "tokenizer_config.json").is_file() else {})
        limit = cfg.get("model_max_length")
        positions = config.get("max_position_embeddings")
        candidates = [v for v in (limit, positions)
                      if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1e12]
        if not candidates:
            raise ValueError(f"{folder}: no max_seq_length in its sentence_bert_config.json, "
                             "no model_max_length in tokenizer_config.json and no "
                             "max_position_embeddings in config.json")
        seq = int(min(candidates))
    return fit_max_seq_length(seq, None, capacity, st.root)


# --------------------------------------------------------------------------- the directory


def _write_graft(src: Path, st: StDirectory, tmp: Path) -> None:
    folder = src  # the Transformer's files (modules.json path "") and the onnx/ folder
    config_file = folder / "config.json"
    config = (read_json_object(config_file, "Hugging Face encoder config")
              if config_file.is_file() else {})
    tokenizer_file = folder / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise FileNotFoundError(f"{tokenizer_file}: missing (the graft needs the fast tokenizer)")
    for name in _KEPT_TOKENIZER_FILES:
        if (folder / name).is_file():
            shutil.copyfile(folder / name, tmp / name)
    tokenizer_json = tokenizer_file.read_text("utf-8")
    seq_len = _max_seq_length(st, folder, config)
    try:
        bake_tokenizer(tokenizer_json, tmp, max_seq_length=seq_len, lowercase=st.do_lower_case)
    except Exception as e:
        raise ValueError(f"{tokenizer_file}: corrupt tokenizer: {e}") from None
    pad_id = _pad_token_id(folder, tokenizer_json, config)

    path = graph_file(src)
    model, input_names, dim = _build(path, st, config, config_file)
    _save(model, tmp / MODEL_NAME)
    del model
    _check_runs(tmp / MODEL_NAME, path, input_names, dim, pad_id, tmp / "tokenizer.json")
    write_config(
        tmp, dim=dim, max_seq_length=seq_len, pooling="+".join(st.pooling.modes),
        normalize=st.normalizes, pad_token_id=pad_id, inputs=input_names, prompts=st.prompts,
        default_prompt_name=st.default_prompt_name,
        architecture=str(config.get("model_type", "unknown")), source=src,
        include_prompt=st.pooling.include_prompt, max_positions=position_capacity(config),
    )


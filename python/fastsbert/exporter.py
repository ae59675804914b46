"""Export a sentence-transformers model to one ONNX graph with pooling fused in.

The exported directory holds everything the torch-free runtime needs:

``model.onnx``
    inputs ``input_ids``, ``attention_mask`` (and ``token_type_ids`` when the tokenizer
    produces them), all int64 of shape (batch, seq); one output ``sentence_embedding``,
    float32 of shape (batch, dim): encoder + pooling (+ Dense layers) (+ L2 normalisation).
``tokenizer.json`` (+ the other tokenizer files)
    padding off, truncation to ``max_seq_length`` (right, longest_first, stride 0): the
    settings sentence-transformers applies when it encodes.
``fastsbert.json``
    dim, max_seq_length, pooling, normalize, pad_token_id, input names, prompts.

torch, transformers and onnx are imported inside :func:`export` only, so importing this
module costs nothing on the inference path.
"""

from __future__ import annotations

import contextlib
import glob
import importlib
import json
import os
import shutil
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._checks import check_int
from .files import exclusive_lock

__all__ = ["export", "is_complete_export", "POOLING_MODES", "CONFIG_NAME", "FORMAT_VERSION"]

FORMAT_VERSION = 1
CONFIG_NAME = "fastsbert.json"
MODEL_NAME = "model.onnx"
OUTPUT_NAME = "sentence_embedding"
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")

# Old sentence-transformers pooling configs use one boolean per mode; when several are set
# the pooled vectors are concatenated in this order.
_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}

# Architectures whose position ids start at pad_token_id + 1, so that fewer than
# max_position_embeddings tokens fit.
_OFFSET_POSITION_TYPES = {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "mpnet",
                          "data2vec-text", "longformer", "ibert", "luke"}

# protobuf refuses messages of 2 GiB and more: above this size the weights go to a side file.
_EXTERNAL_DATA_BYTES = 1_800_000_000
_DEFAULT_OPSET = 17
# The offline-optimised graph must reproduce the traced one to this cosine on sample inputs.
_OPTIMIZED_MIN_COSINE = 0.999999
# Sample shape used while tracing; not 1 on any axis so that no size gets specialised.
_TRACE_BATCH, _TRACE_SEQ = 3, 11


class UnsupportedModelError(ValueError):
    """The source model uses a module or option the exporter cannot put into the graph."""


@dataclass(frozen=True)
class _GraphOptions:
    """How the graph is produced.

    Measured on all-MiniLM-L6-v2, ONNX Runtime CPU (ORT_ENABLE_ALL, 2 threads), STS-B test
    in length-sorted batches of 32: the TorchScript trace ran 10% (loaded machine) to 2x
    (quiet machine) faster than the dynamo export; eager and SDPA attention traced to equally
    fast graphs; ONNX Runtime's offline transformer fusion gained nothing over its own
    session-time fusions, so it stays off and the graph keeps to standard ONNX operators.
    """

    dynamo: bool = False
    attn_implementation: str = "eager"
    ort_optimize: bool = False  # offline attention/layer-norm fusion, applied only if exact


@dataclass
class _DenseSpec:
    path: Path
    in_features: int
    out_features: int
    bias: bool
    activation: str
    use_residual: bool


@dataclass
class _ModelSpec:
    """What the source directory describes, read without torch."""

    src: Path
    transformer_dir: Path
    pooling: tuple[str, ...] | None
    include_prompt: bool = True
    dense: list[_DenseSpec] = field(default_factory=list)
    normalize: bool = False
    max_seq_length: int | None = None
    do_lower_case: bool = False
    # sentence-transformers always offers "query" and "document" (empty unless configured).
    prompts: dict[str, str] = field(default_factory=lambda: {"query": "", "document": ""})
    default_prompt_name: str | None = None


# --------------------------------------------------------------------------- reading src


def _read_json(path: Path, *, what: str) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"{path.parent}: missing {path.name} ({what})")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: corrupt {what}: {exc}") from exc


def _read_json_object(path: Path, *, what: str) -> dict[str, Any]:
    data = _read_json(path, what=what)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: corrupt {what}: expected a JSON object")
    return data


def _pooling_modes_from_config(cfg: dict[str, Any], path: Path) -> tuple[str, ...]:
    if "pooling_mode" in cfg:
        mode = cfg["pooling_mode"]
        modes = (mode,) if isinstance(mode, str) else tuple(mode)
    else:
        modes = tuple(m for key, m in _LEGACY_POOLING_KEYS.items() if cfg.get(key, False))
        # sentence-transformers falls back to mean when no legacy flag is set.
        modes = modes or ("mean",)
    _check_pooling(modes, where=str(path))
    return modes


def _check_pooling(modes: tuple[str, ...], *, where: str) -> None:
    if not modes:
        raise ValueError(f"{where}: empty pooling mode")
    for mode in modes:
        if mode not in POOLING_MODES:
            raise ValueError(f"{where}: unknown pooling mode {mode!r}; expected one of {POOLING_MODES}")


def _module_kind(type_name: str) -> str:
    # modules.json names classes by import path, which moved between releases
    # (sentence_transformers.models.Pooling, ...modules.pooling.Pooling): the class name is stable.
    return type_name.rsplit(".", 1)[-1]


def _read_dense(path: Path) -> _DenseSpec:
    cfg = _read_json_object(path / "config.json", what="Dense module config")
    for key in ("in_features", "out_features"):
        if key not in cfg:
            raise ValueError(f"{path / 'config.json'}: Dense config lacks {key!r}")
    for key in ("module_input_name", "module_output_name"):
        if cfg.get(key, OUTPUT_NAME) not in (OUTPUT_NAME, None):
            raise UnsupportedModelError(
                f"{path}: Dense on {cfg[key]!r} is not supported, only on {OUTPUT_NAME!r}"
            )
    if not any((path / name).is_file() for name in ("model.safetensors", "pytorch_model.bin")):
        raise FileNotFoundError(f"{path}: missing model.safetensors (or pytorch_model.bin) for Dense")
    return _DenseSpec(
        path=path,
        in_features=int(cfg["in_features"]),
        out_features=int(cfg["out_features"]),
        bias=bool(cfg.get("bias", True)),
        activation=cfg.get("activation_function") or "torch.nn.modules.activation.Tanh",
        use_residual=bool(cfg.get("use_residual", False)),
    )


def _read_spec(src: Path) -> _ModelSpec:
    if not src.exists():
        raise FileNotFoundError(f"{src}: model directory does not exist")
    if not src.is_dir():
        raise NotADirectoryError(f"{src}: not a directory")

    modules_path = src / "modules.json"
    if not modules_path.exists():
        # A plain Hugging Face encoder directory: the caller supplies the pooling.
        if not (src / "config.json").is_file():
            raise FileNotFoundError(
                f"{src}: missing modules.json (sentence-transformers) and config.json (Hugging Face)"
            )
        return _ModelSpec(src=src, transformer_dir=src, pooling=None)

    modules = _read_json(modules_path, what="sentence-transformers module list")
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise ValueError(f"{modules_path}: corrupt module list: expected a JSON list of objects")
    modules = sorted(modules, key=lambda m: int(m.get("idx", 0)))

    spec: _ModelSpec | None = None
    for entry in modules:
        kind = _module_kind(str(entry.get("type", "")))
        path = src / entry.get("path", "")
        if spec is None:
            if kind != "Transformer":
                raise UnsupportedModelError(
                    f"{modules_path}: first module is {entry.get('type')!r}; only a Transformer "
                    "encoder followed by Pooling/Dense/Normalize can be exported"
                )
            spec = _ModelSpec(src=src, transformer_dir=path, pooling=None)
            if not (path / "config.json").is_file():
                raise FileNotFoundError(f"{path}: missing config.json (Transformer module)")
            st_cfg_path = path / "sentence_bert_config.json"
            if st_cfg_path.exists():
                st_cfg = _read_json_object(st_cfg_path, what="Transformer module config")
                if st_cfg.get("max_seq_length") is not None:
                    spec.max_seq_length = int(st_cfg["max_seq_length"])
                spec.do_lower_case = bool(st_cfg.get("do_lower_case", False))
        elif kind == "Pooling":
            cfg = _read_json_object(path / "config.json", what="Pooling module config")
            spec.pooling = _pooling_modes_from_config(cfg, path / "config.json")
            spec.include_prompt = bool(cfg.get("include_prompt", True))
        elif kind == "Dense":
            if spec.pooling is None:
                raise UnsupportedModelError(f"{path}: Dense before Pooling is not supported")
            spec.dense.append(_read_dense(path))
        elif kind == "Normalize":
            # sentence-transformers stores no files for Normalize; the folder may be absent.
            cfg_path = path / "config.json"
            cfg = _read_json_object(cfg_path, what="Normalize config") if cfg_path.is_file() else {}
            if cfg.get("module_input_name", OUTPUT_NAME) != OUTPUT_NAME:
                raise UnsupportedModelError(f"{path}: Normalize on {cfg['module_input_name']!r} is not supported")
            spec.normalize = True
        else:
            raise UnsupportedModelError(
                f"{modules_path}: module {entry.get('type')!r} cannot be exported "
                "(supported: Transformer, Pooling, Dense, Normalize)"
            )
    if spec is None:
        raise ValueError(f"{modules_path}: corrupt module list: no modules")

    st_config = src / "config_sentence_transformers.json"
    if st_config.exists():
        cfg = _read_json_object(st_config, what="sentence-transformers model config")
        spec.prompts.update({str(k): str(v) for k, v in (cfg.get("prompts") or {}).items()})
        spec.default_prompt_name = cfg.get("default_prompt_name")
    return spec


# --------------------------------------------------------------------------- the torch graph


def _position_capacity(config: Any) -> int | None:
    n = getattr(config, "max_position_embeddings", None)
    if n is None or n <= 0:
        return None
    if config.model_type in _OFFSET_POSITION_TYPES:
        n -= (getattr(config, "pad_token_id", None) or 0) + 1
    return n


def _build_module(
    spec: _ModelSpec,
    modes: tuple[str, ...],
    normalize: bool,
    input_names: list[str],
    attn_implementation: str,
):
    import torch
    from transformers import AutoModel

    def pool(token_embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # Follows sentence_transformers' Pooling on padded batches: padded positions never
        # count, `cls` and `weightedmean` start at the first real token (left padding).
        dtype = token_embeddings.dtype
        batch, seq_len, hidden = token_embeddings.shape
        mask_i = attention_mask.to(torch.int32)  # ORT has no int64 ArgMax
        mask = attention_mask.unsqueeze(-1).to(dtype)
        first = mask_i.argmax(dim=1)
        out = []
        for mode in modes:
            if mode == "cls":
                idx = first.to(torch.int64).view(-1, 1, 1).expand(-1, 1, hidden)
                out.append(torch.gather(token_embeddings, 1, idx).squeeze(1))
            elif mode == "max":
                out.append(token_embeddings.masked_fill(mask == 0, float("-inf")).max(dim=1).values)
            elif mode in ("mean", "mean_sqrt_len_tokens"):
                summed = (token_embeddings * mask).sum(dim=1)
                count = torch.clamp(mask.sum(dim=1), min=1e-9)
                out.append(summed / (count if mode == "mean" else torch.sqrt(count)))
            elif mode == "weightedmean":
                positions = torch.arange(1, seq_len + 1, dtype=dtype, device=token_embeddings.device)
                weights = mask * (positions.view(1, -1, 1) - first.to(dtype).view(-1, 1, 1))
                summed = (token_embeddings * weights).sum(dim=1)
                out.append(summed / torch.clamp(weights.sum(dim=1), min=1e-9))
            elif mode == "lasttoken":
                values, rev = mask_i.flip(1).max(dim=1)
                rev = torch.where(values == 0, torch.full_like(rev, seq_len - 1), rev)
                idx = (seq_len - 1 - rev).to(torch.int64).view(-1, 1, 1).expand(-1, 1, hidden)
                out.append(torch.gather(token_embeddings * mask, 1, idx).squeeze(1))
        return out[0] if len(out) == 1 else torch.cat(out, dim=-1)

    class SentenceEmbedder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(
                spec.transformer_dir, attn_implementation=attn_implementation, dtype=torch.float32
            )
            self.dense = torch.nn.ModuleList(_load_dense(d) for d in spec.dense)

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            hidden = self.encoder(**kwargs, return_dict=True).last_hidden_state
            emb = pool(hidden, attention_mask)
            for layer in self.dense:
                emb = layer(emb)
            if normalize:
                emb = torch.nn.functional.normalize(emb, p=2.0, dim=-1)
            return emb

    module = SentenceEmbedder().eval()
    return module


def _load_dense(d: _DenseSpec):
    import torch

    class Dense(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(d.in_features, d.out_features, bias=d.bias)
            if d.use_residual and d.in_features != d.out_features:
                self.residual = torch.nn.Linear(d.in_features, d.out_features, bias=False)
            self.activation = _activation(d.activation, d.path)

        def forward(self, x):
            y = self.activation(self.linear(x))
            if d.use_residual:
                y = y + (self.residual(x) if d.in_features != d.out_features else x)
            return y

    layer = Dense()
    if (d.path / "model.safetensors").is_file():
        from safetensors.torch import load_file

        state = load_file(str(d.path / "model.safetensors"))
    else:
        state = torch.load(d.path / "pytorch_model.bin", map_location="cpu", weights_only=True)
    try:
        layer.load_state_dict({k: v.float() for k, v in state.items() if k != "activation_function"})
    except RuntimeError as exc:
        raise ValueError(f"{d.path}: Dense weights do not match its config.json: {exc}") from exc
    return layer


def _activation(name: str, where: Path):
    import torch

    # Like sentence-transformers without trust_remote_code: only torch.nn module classes.
    module_name, _, cls_name = name.rpartition(".")
    cls = None
    if name.startswith("torch."):
        with contextlib.suppress(ImportError, AttributeError):
            cls = getattr(importlib.import_module(module_name), cls_name)
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise ValueError(f"{where}: unsupported Dense activation_function {name!r}")
    return cls()


# --------------------------------------------------------------------------- tokenizer


def _prepare_tokenizer(spec: _ModelSpec, max_seq_length: int | None, out: Path):
    """Save the tokenizer into `out` with inference-time padding/truncation baked in.

    Returns (tokenizer, max_seq_length, input_names, pad_token_id).
    """
    from tokenizers import Tokenizer, normalizers
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(spec.transformer_dir)
    kwargs = {"model_max_length": spec.max_seq_length} if spec.max_seq_length else {}
    try:
        tok = AutoTokenizer.from_pretrained(spec.transformer_dir, **kwargs)
    except (OSError, ValueError) as exc:
        raise FileNotFoundError(f"{spec.transformer_dir}: cannot load the tokenizer: {exc}") from exc
    if not getattr(tok, "is_fast", False):
        raise ValueError(f"{spec.transformer_dir}: the tokenizer has no fast (tokenizer.json) form")

    # sentence-transformers' max_seq_length: its own config, else the tokenizer's
    # model_max_length capped at the position embeddings.
    seq_len = max_seq_length or spec.max_seq_length
    if seq_len is None:
        seq_len = tok.model_max_length
        if getattr(config, "max_position_embeddings", -1) not in (None, -1):
            seq_len = min(seq_len, config.max_position_embeddings)
    capacity = _position_capacity(config)
    if capacity is not None and seq_len > capacity:
        if max_seq_length is not None:
            raise ValueError(f"max_seq_length={max_seq_length} exceeds the {capacity} positions of {spec.src}")
        seq_len = capacity  # longer inputs would index past the position table
    seq_len = int(seq_len)

    tok.save_pretrained(out)
    backend = Tokenizer.from_str(tok.backend_tokenizer.to_str())
    if spec.do_lower_case:
        current = backend.normalizer
        if current is None:
            backend.normalizer = normalizers.Lowercase()
        elif "lowercase" not in current.__getstate__().decode("utf-8", "replace").lower():
            backend.normalizer = normalizers.Sequence([normalizers.Lowercase(), current])
    backend.no_padding()
    backend.enable_truncation(seq_len, stride=0, strategy="longest_first", direction="right")
    backend.save(str(out / "tokenizer.json"))

    input_names = ["input_ids", "attention_mask"]
    if "token_type_ids" in tok.model_input_names:
        input_names.append("token_type_ids")
    pad_id = tok.pad_token_id
    if pad_id is None:
        pad_id = getattr(config, "pad_token_id", None) or 0
    return tok, config, seq_len, input_names, int(pad_id)


# --------------------------------------------------------------------------- ONNX


def _sample_inputs(input_names: list[str], pad_id: int, vocab: int):
    import torch

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, max(vocab, 6), (_TRACE_BATCH, _TRACE_SEQ), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    mask[2, 4:] = 0
    ids = ids.masked_fill(mask == 0, pad_id)
    sample = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in input_names:
        sample["token_type_ids"] = torch.zeros_like(ids)
    return sample


def _torch_to_onnx(module, sample: dict, path: Path, *, opset: int, dynamo: bool) -> None:
    import torch

    names = list(sample)
    args = tuple(sample[n] for n in names)
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        # The exporters report tracing decisions (shape-dependent Python branches in
        # transformers) as warnings; the parity tests are what vouch for the graph.
        warnings.simplefilter("ignore")
        if dynamo:
            batch = torch.export.Dim("batch")
            seq = torch.export.Dim("sequence")
            torch.onnx.export(
                module, args, str(path), input_names=names, output_names=[OUTPUT_NAME],
                opset_version=opset, dynamo=True, external_data=False,
                dynamic_shapes={n: {0: batch, 1: seq} for n in names},
            )
        else:
            torch.onnx.export(
                module, args, str(path), input_names=names, output_names=[OUTPUT_NAME],
                opset_version=opset, dynamo=False, do_constant_folding=True,
                dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in names}, OUTPUT_NAME: {0: "batch"}},
            )


def _finalise_onnx(path: Path, dest: Path, input_names: list[str], dim: int) -> bool:
    """Check names, write `dest` with the weights inside (a side file above 2 GB).

    Returns True when the weights went to a side file.
    """
    import onnx

    model = onnx.load(str(path), load_external_data=True)
    got = [i.name for i in model.graph.input]
    if got != input_names or [o.name for o in model.graph.output] != [OUTPUT_NAME]:
        raise RuntimeError(f"exported graph has inputs {got} and outputs "
                           f"{[o.name for o in model.graph.output]}, expected {input_names} -> {OUTPUT_NAME}")
    # Declare the output as (batch, dim): shape inference through pooling loses the static dim.
    batch = model.graph.input[0].type.tensor_type.shape.dim[0].dim_param or "batch"
    out_shape = model.graph.output[0].type.tensor_type.shape
    out_shape.ClearField("dim")
    out_shape.dim.add().dim_param = batch
    out_shape.dim.add().dim_value = dim
    large = model.ByteSize() >= _EXTERNAL_DATA_BYTES
    if not large:
        onnx.save_model(model, str(dest))
        onnx.checker.check_model(model, full_check=True)
    else:
        onnx.save_model(model, str(dest), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=dest.name + ".data")
        onnx.checker.check_model(str(dest), full_check=True)
    return large


def _ort_optimize(path: Path, config: Any, sample: dict, expected) -> bool:
    """Replace `path` by ONNX Runtime's offline transformer fusion when it fuses attention
    and reproduces `expected` (the torch output on `sample`). Returns whether it did."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    try:
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError:
        return False
    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", None)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "dim", None)
    if not heads or not hidden:
        return False
    import logging

    logger = logging.getLogger("onnxruntime.transformers")
    level = logger.level
    logger.setLevel(logging.ERROR)  # it reports every pattern it did not find
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optimized = optimize_model(str(path), model_type="bert", num_heads=int(heads),
                                       hidden_size=int(hidden), opt_level=0)
    except Exception:
        return False
    finally:
        logger.setLevel(level)
    if not optimized.get_fused_operator_statistics().get("Attention"):
        return False
    candidate = path.with_name("optimized.onnx")
    optimized.save_model_to_file(str(candidate))
    try:
        onnx.checker.check_model(str(candidate), full_check=True)
        session = ort.InferenceSession(str(candidate), providers=["CPUExecutionProvider"])
        got = session.run([OUTPUT_NAME], {k: v.numpy() for k, v in sample.items()})[0]
        cos = (got * expected).sum(-1) / (np.linalg.norm(got, axis=-1) * np.linalg.norm(expected, axis=-1))
        accepted = float(cos.min()) >= _OPTIMIZED_MIN_COSINE
    except Exception:
        accepted = False
    if accepted:
        os.replace(candidate, path)
    else:
        candidate.unlink()
    return accepted


@contextlib.contextmanager
def _quiet_transformers():
    """Hide transformers' weight-loading progress bars while the encoder loads."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


# --------------------------------------------------------------------------- the directory


def is_complete_export(path: str | os.PathLike) -> bool:
    """True when `path` holds a finished export (what :func:`export` renames into place)."""
    path = Path(path)
    try:
        with open(path / CONFIG_NAME, encoding="utf-8") as fh:
            cfg = json.load(fh)
    except (OSError, ValueError):
        return False
    return (isinstance(cfg, dict) and cfg.get("format_version") == FORMAT_VERSION
            and (path / MODEL_NAME).is_file() and (path / "tokenizer.json").is_file())


def _check_target(out: Path, overwrite: bool) -> None:
    if not out.exists() or overwrite:
        return
    if is_complete_export(out):
        raise FileExistsError(f"{out}: already holds an export (pass overwrite=True to replace it)")
    if not out.is_dir() or any(out.iterdir()):
        raise FileExistsError(f"{out}: exists and is not an empty directory (pass overwrite=True to replace it)")


def _move_into_place(tmp: Path, out: Path, overwrite: bool) -> None:
    # A directory rename is atomic: readers see either no `out` or a complete one.
    _check_target(out, overwrite)
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex}")
        os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        # Another process put a directory there in the meantime.
        if is_complete_export(out) and not overwrite:
            raise FileExistsError(f"{out}: already holds an export (written concurrently)") from None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def export(
    src: str | os.PathLike,
    out: str | os.PathLike,
    *,
    pooling: str | None = None,
    normalize: bool | None = None,
    max_seq_length: int | None = None,
    opset: int | None = None,
    overwrite: bool = False,
    dtype: str = "float32",
    force: bool = False,
    revision: str | None = None,
    token: str | bool | None = None,
    cache_folder: str | os.PathLike | None = None,
) -> Path:
    """Export a sentence-transformers (or plain Hugging Face encoder) directory to `out`.

    Args:
        src: a sentence-transformers model directory (modules.json: Transformer, Pooling,
            optional Dense..., optional Normalize), or a Hugging Face encoder directory
            (config.json + weights + tokenizer), which then needs `pooling`.
        out: the directory to create. It is written next to itself under a temporary name
            and renamed into place, so it is never seen half-written.
        pooling: one of POOLING_MODES, or several joined by "+" (concatenated). Overrides
            the model's Pooling module; required for a plain Hugging Face directory.
        normalize: L2-normalise the output. None follows the model (a Normalize module).
        max_seq_length: truncation length in tokens. None follows the model.
        opset: ONNX opset (default 17).
        overwrite: replace an existing `out`.
        dtype: also build a reduced-precision variant next to model.onnx: "int8" (CPU),
            "float16" (CUDA), or "auto" (int8 when this CPU has VNNI/AMX). Its agreement
            with float32 is measured and listed in fastsbert.json (see fastsbert.quantize).
        force: keep a variant the accuracy guard refuses.
        revision, token, cache_folder: when `src` is a Hub id rather than a directory that
            exists (see fastsbert.model_cache.resolve_source).

    Returns:
        the path of the exported directory.

    Raises:
        FileNotFoundError / ValueError: `src` is missing, lacks a file, or holds a corrupt one
            (the message names the path and the file).
        FileExistsError: `out` exists (a complete export, or a non-empty directory) and
            overwrite is False.
        GuardError (a ValueError): the variant falls below the guard's thresholds (the
            message names the figures) and force is False; nothing is written.
        UnsupportedModelError: the model holds modules other than Transformer, Pooling,
            Dense and Normalize, or excludes prompts from pooling while it defines prompts.
    """
    from . import dtypes
    from .model_cache import resolve_source

    dtype = dtypes.canonical_dtype(dtype)
    src = resolve_source(src, revision=revision, token=token, cache_folder=cache_folder)
    return _export(src, out, pooling=pooling, normalize=normalize, max_seq_length=max_seq_length,
                   opset=opset, overwrite=overwrite, options=_GraphOptions(),
                   dtype=dtype, force=force)


def _export(src, out, *, pooling, normalize, max_seq_length, opset, overwrite, options: _GraphOptions,
            dtype: str = "float32", force: bool = False) -> Path:
    src = Path(src).expanduser().resolve()
    out = Path(out).expanduser().absolute()
    spec = _read_spec(src)
    _check_target(out, overwrite)

    modes = tuple(pooling.split("+")) if pooling else spec.pooling
    if modes is None:
        raise ValueError(f"{src}: no modules.json (not a sentence-transformers directory); pass pooling=")
    _check_pooling(modes, where="pooling")
    if not spec.include_prompt and any(spec.prompts.values()):
        raise UnsupportedModelError(
            f"{src}: Pooling has include_prompt=false and the model defines prompts; "
            "excluding prompt tokens from pooling is not supported"
        )
    if max_seq_length is not None:
        max_seq_length = check_int(max_seq_length, "max_seq_length", minimum=2)
    if opset is not None:
        opset = check_int(opset, "opset", minimum=1)
    do_normalize = spec.normalize if normalize is None else bool(normalize)
    opset = opset or _DEFAULT_OPSET

    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out.with_name(f".{out.name}.lock")):
        # Under the lock no other export of `out` runs, so any temporary folder of this
        # target was left by a killed export: remove it.
        for stale in out.parent.glob(f".{glob.escape(out.name)}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        _check_target(out, overwrite)  # again: another process may have finished first
        _export_locked(spec, src, out, modes, do_normalize, max_seq_length, opset, overwrite,
                       options, dtype, force)
    return out


def _export_locked(spec, src, out, modes, do_normalize, max_seq_length, opset, overwrite,
                   options: _GraphOptions, dtype: str = "float32", force: bool = False) -> None:
    import torch

    tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex}")
    tmp.mkdir()
    try:
        _tok, config, seq_len, input_names, pad_id = _prepare_tokenizer(spec, max_seq_length, tmp)
        with _quiet_transformers():
            module = _build_module(spec, modes, do_normalize, input_names, options.attn_implementation)
        sample = _sample_inputs(input_names, pad_id, int(getattr(config, "vocab_size", 100)))
        with torch.no_grad():
            expected = module(**sample).numpy()
        dim = int(expected.shape[-1])
        scratch = tmp / "_onnx"
        scratch.mkdir()
        _torch_to_onnx(module, sample, scratch / MODEL_NAME, opset=opset, dynamo=options.dynamo)
        del module
        large = _finalise_onnx(scratch / MODEL_NAME, tmp / MODEL_NAME, input_names, dim)
        shutil.rmtree(scratch)
        if options.ort_optimize and not large:
            _ort_optimize(tmp / MODEL_NAME, config, sample, expected)

        meta = {
            "format_version": FORMAT_VERSION,
            "dim": dim,
            "max_seq_length": seq_len,
            "pooling": "+".join(modes),
            "normalize": do_normalize,
            "pad_token_id": pad_id,
            "inputs": input_names,
            "output": OUTPUT_NAME,
            "prompts": spec.prompts,
            "default_prompt_name": spec.default_prompt_name,
            "architecture": str(config.model_type),
            "source": str(src),
        }
        capacity = _position_capacity(config)
        if capacity is not None:  # the engine checks max_seq_length against it at load
            meta["max_positions"] = int(capacity)
        with open(tmp / CONFIG_NAME, "w", encoding="utf-8") as fh:
            json.dump(meta, fh, indent=2)
            fh.write("\n")
        from .quantize import export_variant

        export_variant(tmp, dtype, force=force)
        _move_into_place(tmp, out, overwrite)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)

"""Export a sentence-transformers model to one ONNX graph with pooling fused in, by tracing
it with torch: the road that works for any model whose weights torch loads (see
:mod:`fastsbert.graft` for the torch-free road from a ready ``onnx/model.onnx``).

It writes the directory :mod:`fastsbert.export_format` describes; stacks that start with
WordEmbeddings, BoW, StaticEmbedding or a Router route, and the other modules of
fastsbert.training.models, are described in :mod:`fastsbert.stack_export`. torch, transformers and
onnx are imported inside :func:`export` only, so importing this module costs nothing on the
inference path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import dtypes
from ._runtime import checking_session
from ._checks import check_int
from .export_format import (
    CONFIG_NAME,
    FORMAT_VERSION,
    MODEL_NAME,
    OUTPUT_NAME,
    PROMPT_LENGTH,
    bake_tokenizer,
    check_target,
    fit_max_seq_length,
    is_complete_export,
    position_capacity,
    staged_directory,
    write_config,
)
from .model_cache import resolve_source
from .quantize import export_variant
from .training.errors import UnsupportedModelError

__all__ = ["export", "is_complete_export", "CONFIG_NAME", "FORMAT_VERSION", "UnsupportedModelError"]

# protobuf refuses messages of 2 GiB and more: above this size the weights go to a side file.
_EXTERNAL_DATA_BYTES = 1_800_000_000
_DEFAULT_OPSET = 17
# The offline-optimised graph must reproduce the traced one to this cosine on sample inputs.
_OPTIMIZED_MIN_COSINE = 0.999999
# Sample shape used while tracing; not 1 on any axis so that no size gets specialised.
_TRACE_BATCH, _TRACE_SEQ = 3, 11


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


# --------------------------------------------------------------------------- the torch graph


def _load_model(src: Path, modes: tuple[str, ...] | None, normalize: bool | None,
                attn_implementation: str, route: str | None = None):
    """The source model as a float32 ``SentenceEncoder`` on the CPU, built from
    fastsbert.training's module stack (a Router replaced by the route ``route`` picks), with
    the pooling and normalisation overrides applied."""
    import torch

    from . import stack_export
    from .training import models
    from .training.sentence_encoder import SentenceEncoder

    model_args = {"attn_implementation": attn_implementation, "dtype": torch.float32}
    with _quiet_transformers():
        directory = models.read_directory(src, model_args=model_args, plain_pooling=modes)
    stack, route_name = stack_export.select_route(directory.modules, route, src)
    poolings = [m for m in stack if isinstance(m, models.Pooling)]
    if len(poolings) > 1 or (modes is not None and not poolings):
        raise UnsupportedModelError(f"{src}: {len(poolings)} Pooling modules; exactly one can be exported"
                                    + (" with a pooling override" if modes is not None else ""))
    if modes is not None:
        stack = [models.Pooling(m.word_embedding_dimension, modes, include_prompt=m.include_prompt)
                 if isinstance(m, models.Pooling) else m for m in stack]
    if normalize is False:
        stack = [m for m in stack if not isinstance(m, models.Normalize)]
    elif normalize and not isinstance(stack[-1], models.Normalize):
        stack.append(models.Normalize())
    model = SentenceEncoder(modules=stack, prompts=directory.prompts,
                            default_prompt_name=directory.default_prompt_name,
                            similarity_fn_name=directory.similarity_fn_name, device="cpu")
    model.route_name = route_name  # the Router route this graph holds, None without a Router
    return model.eval()


def _pooling_of(model):
    """The model's Pooling module, None when it has none (StaticEmbedding, BoW)."""
    from .training.models import Pooling

    return next((m for m in model if isinstance(m, Pooling)), None)


def _graph_module(model, input_names: list[str]):
    """``model`` as a function of the graph's inputs (positional, in ``input_names``
    order), returning ``sentence_embedding``."""
    import torch

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return self.model(dict(zip(input_names, inputs)))[OUTPUT_NAME]

    return SentenceEmbedding().eval()


# --------------------------------------------------------------------------- tokenizer


def _prepare_tokenizer(model, src: Path, max_seq_length: int | None, out: Path):
    """Save the model's tokenizer into `out` with inference-time padding/truncation baked in.

    Returns (encoder config, max_seq_length, input_names, pad_token_id).
    """
    transformer = model.transformer
    tok = transformer.tokenizer
    config = transformer.auto_model.config
    if not getattr(tok, "is_fast", False):
        raise ValueError(f"{transformer.source}: the tokenizer has no fast (tokenizer.json) form")

    # The Transformer's max_seq_length is sentence-transformers': its own config, else the
    # tokenizer's model_max_length capped at the position embeddings.
    seq_len = fit_max_seq_length(max_seq_length or transformer.max_seq_length, max_seq_length,
                                 position_capacity(config.to_dict()), src)
    tok.save_pretrained(out)
    bake_tokenizer(tok.backend_tokenizer.to_str(), out, max_seq_length=seq_len,
                   lowercase=transformer.do_lower_case)

    input_names = ["input_ids", "attention_mask"]
    if "token_type_ids" in tok.model_input_names:
        input_names.append("token_type_ids")
    pad_id = tok.pad_token_id
    if pad_id is None:
        pad_id = getattr(config, "pad_token_id", None) or 0
    return config, seq_len, input_names, int(pad_id)


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
    if PROMPT_LENGTH in input_names:
        # Not 0, so that tracing keeps the masking of the prompt's tokens in the graph.
        sample[PROMPT_LENGTH] = torch.tensor([2], dtype=torch.int64)
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
                dynamic_shapes={n: ({} if n == PROMPT_LENGTH else {0: batch, 1: seq}) for n in names},
            )
        else:
            torch.onnx.export(
                module, args, str(path), input_names=names, output_names=[OUTPUT_NAME],
                opset_version=opset, dynamo=False, do_constant_folding=True,
                dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in names if n != PROMPT_LENGTH},
                              OUTPUT_NAME: {0: "batch"}},
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
        session = checking_session(candidate)
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
    route: str | None = None,
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
        route: for a model that starts with a Router: the task whose route is exported
            ("query", "document", ...; None: the default route). See fastsbert.stack_export
            for the stacks other than Transformer -> Pooling.

    Returns:
        the path of the exported directory.

    Raises:
        FileNotFoundError / ValueError: `src` is missing, lacks a file, or holds a corrupt one
            (the message names the path and the file).
        FileExistsError: `out` exists (a complete export, or a non-empty directory) and
            overwrite is False.
        GuardError (a ValueError): the variant falls below the guard's thresholds (the
            message names the figures) and force is False; nothing is written.
        UnsupportedModelError: the model holds a module fastsbert.training does not
            implement, or several Pooling modules.
    """
    dtype = dtypes.canonical_dtype(dtype)
    src = resolve_source(src, revision=revision, token=token, cache_folder=cache_folder)
    return _export(src, out, pooling=pooling, normalize=normalize, max_seq_length=max_seq_length,
                   opset=opset, overwrite=overwrite, options=_GraphOptions(),
                   dtype=dtype, force=force, route=route)


def _export(src, out, *, pooling, normalize, max_seq_length, opset, overwrite, options: _GraphOptions,
            dtype: str = "float32", force: bool = False, route: str | None = None) -> Path:
    src = Path(src).expanduser().resolve()
    out = Path(out).expanduser().absolute()
    if max_seq_length is not None:
        max_seq_length = check_int(max_seq_length, "max_seq_length", minimum=2)
    if opset is not None:
        opset = check_int(opset, "opset", minimum=1)
    opset = opset or _DEFAULT_OPSET
    modes = tuple(pooling.split("+")) if pooling else None
    if modes is not None:
        from .training.models import Pooling

        Pooling(1, modes)  # checks the mode names before the model loads
    check_target(out, overwrite)

    model = _load_model(src, modes, normalize, options.attn_implementation, route)
    with staged_directory(out, overwrite) as tmp:
        _write_export(model, src, tmp, max_seq_length, opset, options)
        export_variant(tmp, dtype, force=force)
    return out


def _write_export(model, src: Path, tmp: Path, max_seq_length, opset,
                  options: _GraphOptions) -> None:
    """Writes the exported directory of `model` into the empty directory `tmp`."""
    import torch

    from . import stack_export
    from .training.models import Normalize, Transformer

    pooling = _pooling_of(model)
    if isinstance(model[0], Transformer):
        config, seq_len, input_names, pad_id = _prepare_tokenizer(model, src, max_seq_length, tmp)
        vocab, architecture, extra = int(getattr(config, "vocab_size", 100)), config.model_type, {}
        max_positions = position_capacity(config.to_dict())
    else:  # WordEmbeddings, BoW, StaticEmbedding: see fastsbert.stack_export
        spec = stack_export.prepare_inputs(model, tmp, max_seq_length)
        config, seq_len, input_names, pad_id = None, spec.max_seq_length, spec.input_names, spec.pad_token_id
        vocab, architecture, extra = spec.vocab_size, spec.architecture, dict(spec.meta)
        max_positions = None
    if model.route_name is not None:
        extra["route"] = model.route_name
    include_prompt = pooling is None or pooling.include_prompt
    if not include_prompt:
        # Pooling leaves the prompt's tokens out: their count is an input of the graph.
        input_names = [*input_names, PROMPT_LENGTH]
    module = _graph_module(model, input_names)
    sample = _sample_inputs(input_names, pad_id, vocab)
    with torch.no_grad():
        expected = module(*sample.values()).numpy()
    dim = int(expected.shape[-1])
    scratch = tmp / "_onnx"
    scratch.mkdir()
    _torch_to_onnx(module, sample, scratch / MODEL_NAME, opset=opset, dynamo=options.dynamo)
    del module
    large = _finalise_onnx(scratch / MODEL_NAME, tmp / MODEL_NAME, input_names, dim)
    shutil.rmtree(scratch)
    if options.ort_optimize and not large and config is not None:
        _ort_optimize(tmp / MODEL_NAME, config, sample, expected)
    write_config(
        tmp, dim=dim, max_seq_length=seq_len, pooling=stack_export.pooling_name(model),
        normalize=isinstance(model[-1], Normalize), pad_token_id=pad_id, inputs=input_names,
        prompts=model.prompts, default_prompt_name=model.default_prompt_name,
        architecture=architecture, source=src, include_prompt=include_prompt,
        max_positions=max_positions, extra=extra,
    )

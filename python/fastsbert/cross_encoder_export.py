"""Export of cross-encoders, and their int8 variant with an accuracy guard on scores.

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
sentence-transformers does without ``trust_remote_code``.

int8: the recipe of :mod:`fastsbert.quantize` (SmoothQuant, then static QDQ of the
encoder's matrix products; the pooler and the classification head, which ONNX exports as
Gemm, stay in float32), calibrated on pairs of the bundled calibration texts. The guard
scores those pairs with float32 and with the candidate through fastsbert's engine and
compares the logits: Spearman correlation (mean over labels) and the largest absolute
difference relative to the spread (standard deviation) of the float32 logits. Below the
thresholds the variant is refused with an error naming the figures, unless forced.

torch, transformers and onnx are imported inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import warnings
from pathlib import Path

import numpy as np

from . import dtypes
from .model_cache import (
    CONFIG_FILE,
    _copy_export,
    _fingerprint,
    _hub_export_name,
    cache_dir,
    is_exported,
    is_hub_id,
    read_config,
    resolve_source,
)

KIND = "cross-encoder"
OUTPUT_NAME = "scores"
FORMAT_VERSION = 1
_DEFAULT_OPSET = 17
_TRACE_BATCH, _TRACE_SEQ = 3, 11
# The ONNX graph must reproduce the torch model on the trace sample to this tolerance.
_EXPORT_ATOL = 1e-4

# Guard thresholds for the int8 variant (see the module docstring).
MIN_SPEARMAN = 0.98
MAX_REL_DIFF = 0.35
INT8_FILE = dtypes.VARIANT_FILES[dtypes.INT8]


# --------------------------------------------------------------------------- resolving


def resolve_cross_encoder(model, *, revision=None, token=None, cache_folder=None) -> Path:
    """An exported cross-encoder directory for ``model`` (an exported directory, a
    sentence-transformers / Hugging Face directory or a Hub id), exporting it once into
    fastsbert's cache (``$FASTSBERT_HOME/models``) when needed."""
    if model is None:
        raise TypeError("CrossEncoder needs a model: a directory or a Hub id")
    src = resolve_source(model, revision=revision, token=token, cache_folder=cache_folder)
    from_hub = is_hub_id(model)
    if is_exported(src):
        kind = read_config(src).get("kind")
        if kind != KIND:
            raise ValueError(f"{src} is an exported embedding model, not a cross-encoder: "
                             "load it with fastsbert.Encoder")
        if not from_hub:
            return src
    elif not (src / "config.json").is_file():
        raise FileNotFoundError(f"{src} is not a cross-encoder directory: it has no "
                                f"{CONFIG_FILE} (exported) or config.json (Hugging Face)")
    name = (_hub_export_name(os.fspath(model), src) if from_hub
            else f"{src.resolve().name}-{_fingerprint(src)}")
    out = cache_dir() / "models" / f"cross-{name}"
    if is_exported(out):
        return out
    if is_exported(src):  # an exported cross-encoder in the Hub cache: copied out of it
        _copy_export(src, out)
        return out
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as e:
        raise ImportError(f"{src} must be exported to ONNX once, which needs the export "
                          f"extra: pip install 'fastsbert[export]' ({e})") from e
    try:
        export_cross_encoder(src, out)
    except FileExistsError:
        if not is_exported(out):
            raise
    return out


# --------------------------------------------------------------------------- the model


def _transformer_dir(src: Path) -> Path:
    """Where the Hugging Face model of ``src`` lives: the path of the Transformer module
    of a sentence-transformers modules.json, else ``src`` itself."""
    modules = src / "modules.json"
    if modules.is_file():
        for entry in json.loads(modules.read_text("utf-8")):
            if str(entry.get("type", "")).endswith("Transformer"):
                return src / entry.get("path", "")
    return src


def _saved_activation(src: Path, hf_config) -> str | None:
    """The dotted path of the activation sentence-transformers would restore, or None."""
    st_config = src / "config_sentence_transformers.json"
    if st_config.is_file():
        path = json.loads(st_config.read_text("utf-8")).get("activation_fn")
        if path:
            return path
    saved = getattr(hf_config, "sentence_transformers", None)
    if isinstance(saved, dict) and saved.get("activation_fn"):
        return saved["activation_fn"]
    return getattr(hf_config, "sbert_ce_default_activation_function", None)


def activation_module(src: Path, hf_config, num_labels: int):
    """(torch module, its dotted name) of the model's activation (module docstring)."""
    import importlib

    import torch

    path = _saved_activation(src, hf_config)
    if path is not None and not path.startswith("torch."):
        warnings.warn(f"{src}: activation {path!r} is not a torch class and is not loaded "
                      "(as sentence-transformers does without trust_remote_code); using the "
                      "default", stacklevel=3)
        path = None
    if path is not None:
        module_name, _, cls_name = path.rpartition(".")
        try:
            return getattr(importlib.import_module(module_name), cls_name)(), path
        except (ImportError, AttributeError, TypeError) as e:
            raise ValueError(f"{src}: cannot load the saved activation {path!r}: {e}") from e
    if num_labels == 1:
        return torch.nn.Sigmoid(), "torch.nn.modules.activation.Sigmoid"
    return torch.nn.Identity(), "torch.nn.modules.linear.Identity"


def _max_seq_length(src: Path, tok, capacity: int | None, max_length: int | None) -> int:
    """sentence-transformers' limit (sentence_bert_config.json's max_seq_length, else the
    tokenizer's model_max_length), or ``max_length``; never past the position table."""
    if max_length is not None:
        if capacity is not None and max_length > capacity:
            raise ValueError(f"max_length={max_length} exceeds the {capacity} positions of {src}")
        return max_length
    seq_len = None
    st_file = src / "sentence_bert_config.json"
    if st_file.is_file():
        seq_len = json.loads(st_file.read_text("utf-8")).get("max_seq_length")
    if not seq_len:
        seq_len = tok.model_max_length
    if capacity is not None and seq_len > capacity:
        seq_len = capacity
    return int(seq_len)


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
    from .exporter import _check_target, _move_into_place
    from .files import exclusive_lock
    from .quantize import GuardError

    dtype = dtypes.canonical_dtype(dtype)
    src = resolve_source(src, revision=revision, token=token, cache_folder=cache_folder)
    src = Path(src).expanduser().resolve()
    out = Path(out).expanduser().absolute()
    if max_length is not None:
        max_length = check_int(max_length, "max_length", minimum=2)
    opset = check_int(opset, "opset") if opset is not None else _DEFAULT_OPSET
    _check_target(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out.with_name(f".{out.name}.lock")):
        _check_target(out, overwrite)
        tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex}")
        tmp.mkdir()
        try:
            _write_export(src, tmp, max_length, opset)
            if dtypes.wanted_variant(dtype, "cpu") == dtypes.INT8:
                try:
                    add_int8(tmp, force=force)
                except GuardError:
                    if dtype != dtypes.AUTO:
                        raise
            _move_into_place(tmp, out, overwrite)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return out


def _write_export(src: Path, tmp: Path, max_length: int | None, opset: int) -> None:
    import onnx
    import onnxruntime as ort
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .exporter import _position_capacity, _quiet_transformers, _sample_inputs

    hf_dir = _transformer_dir(src)
    with _quiet_transformers(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok = AutoTokenizer.from_pretrained(hf_dir)
        model = AutoModelForSequenceClassification.from_pretrained(
            hf_dir, attn_implementation="eager", dtype=torch.float32).eval()
    if not getattr(tok, "is_fast", False):
        raise ValueError(f"{hf_dir}: the tokenizer has no fast (tokenizer.json) form")
    config = model.config
    num_labels = int(config.num_labels)
    activation, activation_name = activation_module(src, config, num_labels)
    capacity = _position_capacity(config)
    seq_len = _max_seq_length(src, tok, capacity, max_length)

    tok.save_pretrained(tmp)
    backend = Tokenizer.from_str(tok.backend_tokenizer.to_str())
    backend.no_padding()
    backend.enable_truncation(seq_len, stride=0, strategy="longest_first", direction="right")
    backend.save(str(tmp / "tokenizer.json"))

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
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {k: v.numpy() for k, v in sample.items()})[0]
    if not np.allclose(got, expected, atol=_EXPORT_ATOL, rtol=1e-4):
        raise RuntimeError(f"the ONNX graph of {src} disagrees with the torch model by "
                           f"{float(np.abs(got - expected).max()):.2e}")

    meta = {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "num_labels": num_labels,
        "activation": activation_name,
        "dim": 2 * num_labels,
        "max_seq_length": seq_len,
        "pooling": "none",
        "normalize": False,
        "pad_token_id": int(pad_id),
        "inputs": input_names,
        "output": OUTPUT_NAME,
        "architecture": str(config.model_type),
        "source": str(src),
    }
    if capacity is not None:
        meta["max_positions"] = int(capacity)
    (tmp / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n", "utf-8")


# --------------------------------------------------------------------------- int8


def calibration_pairs() -> list[tuple[str, str]]:
    """Pairs of the bundled calibration texts: each text with one a third of the set
    away, so that short and long, related and unrelated texts meet."""
    from .quantize import calibration_texts

    texts = list(calibration_texts())
    step = max(1, len(texts) // 3)
    return [(texts[i], texts[(i + step) % len(texts)]) for i in range(len(texts))]


def _feeds(model_dir: Path, pairs) -> list[dict[str, np.ndarray]]:
    """One unpadded feed per pair: pad positions never widen the activation ranges."""
    from .cross_encoder import CrossEncoder

    inputs = read_config(model_dir)["inputs"]
    ids, types, offsets = CrossEncoder(model_dir, threads=1).tokenize(pairs)
    feeds = []
    for a, b in zip(offsets[:-1], offsets[1:]):
        x = ids[a:b][None, :]
        row = {"input_ids": x, "attention_mask": np.ones_like(x),
               "token_type_ids": types[a:b][None, :]}
        feeds.append({n: row[n] for n in inputs})
    return feeds


def quantize_cross_encoder(model_dir: Path, out_path: Path, pairs) -> None:
    """Writes the int8 graph of ``model_dir/model.onnx`` to ``out_path`` with
    :mod:`fastsbert.quantize`'s recipe, calibrated on ``pairs``."""
    import tempfile

    from . import quantize

    q = quantize._quantization_modules()
    feeds = _feeds(model_dir, pairs)

    class Reader(q.CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(feeds)

        def get_next(self):
            return next(self._it, None)

        def rewind(self):
            self._it = iter(feeds)

    source = model_dir / "model.onnx"
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".smooth-") as tmp:
        smoothed = Path(tmp) / "model.onnx"
        down = set(quantize.down_projections(source))
        quantize.smooth_activations(source, smoothed, iter(feeds),
                                    [n for n in quantize.weight_products(source) if n not in down])
        with quantize._quiet_root_logger():
            quantize._quantize_static(q, smoothed, out_path, Reader())


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks of the rows of each column (average ranks for ties)."""
    out = np.empty_like(x, dtype=np.float64)
    for j in range(x.shape[1]):
        col = x[:, j]
        order = np.argsort(col, kind="stable")
        ranks = np.empty(len(col))
        ranks[order] = np.arange(len(col))
        _, inverse, counts = np.unique(col, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse, weights=ranks)
        out[:, j] = (sums / counts)[inverse]
    return out


def score_agreement(reference: np.ndarray, candidate: np.ndarray) -> dict:
    """Agreement of two (n, L) logits of the same pairs: Spearman correlation (mean over
    labels), the largest absolute difference, and that difference over the standard
    deviation of the reference."""
    ra, rb = _ranks(reference), _ranks(candidate)
    ra -= ra.mean(axis=0)
    rb -= rb.mean(axis=0)
    denom = np.sqrt((ra * ra).sum(axis=0) * (rb * rb).sum(axis=0))
    spearman = float(np.mean((ra * rb).sum(axis=0) / np.maximum(denom, 1e-300)))
    diff = float(np.abs(reference.astype(np.float64) - candidate).max())
    spread = float(reference.std(axis=0).mean())
    return {"spearman": round(spearman, 6), "max_abs_diff": round(diff, 6),
            "max_rel_diff": round(diff / max(spread, 1e-12), 6)}


def format_figures(fig: dict) -> str:
    return (f"int8 vs float32 on {fig.get('pairs', '?')} calibration pairs: Spearman "
            f"{fig['spearman']:.4f}, max |logit difference| {fig['max_abs_diff']:.4f} "
            f"({fig['max_rel_diff']:.3f} of the logits' standard deviation)")


def add_int8(model_dir: str | os.PathLike, *, force: bool = False,
             min_spearman: float = MIN_SPEARMAN, max_rel_diff: float = MAX_REL_DIFF,
             rebuild: bool = False) -> dict:
    """Builds the int8 variant of an exported cross-encoder, runs the guard and lists the
    variant with its figures in fastsbert.json (``variants.int8``). A refusal is recorded
    (without the file) and raised as GuardError naming the figures, unless ``force``."""
    from .cross_encoder import CrossEncoder
    from .quantize import GuardError, _dir_lock, _write_config, read_variants

    model_dir = Path(model_dir)
    if read_config(model_dir).get("kind") != KIND:
        raise ValueError(f"{model_dir} is not an exported cross-encoder")
    if not os.access(model_dir, os.W_OK):
        raise PermissionError(f"cannot add the int8 variant to {model_dir}: the directory is "
                              "not writable (export the model to a writable directory)")
    with _dir_lock(model_dir):
        entry = read_variants(model_dir).get(dtypes.INT8)
        if entry is not None and not rebuild and (entry.get("file") or not force):
            if not entry.get("file"):
                raise GuardError(f"{model_dir}: the int8 variant was refused earlier "
                                 f"({format_figures(entry)}); pass force=True to keep it anyway")
            return entry
        import onnxruntime

        pairs = calibration_pairs()
        scratch = model_dir / f".int8-tmp-{uuid.uuid4().hex}"
        scratch.mkdir()
        try:
            for f in model_dir.iterdir():
                if f.is_file() and f.name not in (CONFIG_FILE, INT8_FILE) \
                        and not f.name.startswith("."):
                    os.symlink(f.resolve(), scratch / f.name)
            candidate = scratch / INT8_FILE
            quantize_cross_encoder(model_dir, candidate, pairs)
            cfg = read_config(model_dir)
            trial = {**cfg, "variants": {dtypes.INT8: {"file": INT8_FILE, "passed": False}}}
            (scratch / CONFIG_FILE).write_text(json.dumps(trial), "utf-8")
            identity = _identity
            ref = CrossEncoder(model_dir).predict(pairs, activation_fn=identity)
            got = CrossEncoder(scratch, dtype=dtypes.INT8).predict(pairs, activation_fn=identity)
            fig = score_agreement(ref.reshape(len(pairs), -1), got.reshape(len(pairs), -1))
            passed = fig["spearman"] >= min_spearman and fig["max_rel_diff"] <= max_rel_diff
            entry = {
                "file": INT8_FILE if (passed or force) else None,
                **fig,
                "pairs": len(pairs),
                "min_spearman": min_spearman,
                "max_rel_diff_allowed": max_rel_diff,
                "passed": passed,
                "forced": bool(force and not passed),
                "recipe": "SmoothQuant (alpha 0.5) on the inputs of the non-down-projection "
                          "products, then static QDQ of the encoder's MatMul weights (int8 per "
                          "channel, uint8 activations, MinMax on the calibration pairs); "
                          "pooler and classification head in float32",
                "onnxruntime": onnxruntime.__version__,
            }
            if entry["file"]:
                os.replace(candidate, model_dir / INT8_FILE)
            cfg = read_config(model_dir)
            cfg.setdefault("variants", {})[dtypes.INT8] = entry
            _write_config(model_dir, cfg)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if not passed and not force:
        raise GuardError(f"refused the int8 variant of {model_dir}: {format_figures(entry)}; "
                         f"the thresholds are Spearman >= {min_spearman} and a difference of "
                         f"at most {max_rel_diff} standard deviations. Use float32, or pass "
                         "force=True to keep it anyway")
    return entry


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def ensure_int8(model_dir: Path, *, required: bool) -> None:
    """Builds the int8 variant when it is not listed yet. ``required`` (dtype="int8"):
    failures raise; otherwise (``auto``) a refusal or a missing export extra leaves
    float32 in use."""
    from .quantize import GuardError, read_variants

    try:
        entry = read_variants(model_dir).get(dtypes.INT8)
    except (OSError, ValueError):
        entry = None
    if entry is not None and (entry.get("file") or not required):
        return
    try:
        add_int8(model_dir)
    except GuardError:
        if required:
            raise
    except (ImportError, PermissionError) as e:
        if required:
            raise
        warnings.warn(f"fastsbert: dtype='auto' stays with float32: {e}", stacklevel=4)

"""Reduced-precision variants of an exported model, and the accuracy guard that admits them.

Works on a finished export directory (``model.onnx`` + ``fastsbert.json`` + tokenizer) and
cares only about the float32 graph's inputs and single output, not how it was exported.
Each variant is written next to ``model.onnx`` and listed in ``fastsbert.json`` under
``"variants"`` with the guard's figures::

    "variants": {"int8": {"file": "model.int8.onnx", "mean_cosine": 0.998,
                          "p1_cosine": 0.991, "min_cosine": 0.98, "top10_overlap": 0.95,
                          "passed": true, "forced": false, ...}}

The guard embeds the calibration texts that ship with the package
(``data/calibration.txt``: short and long, many languages and scripts, emoji, zero-width
and combining characters, full-width forms, code and markup) with float32 and with the
variant, through fastsbert's own engine, and compares: mean cosine, 1st-percentile
cosine, and the overlap of each text's 10 nearest neighbours. Below the thresholds
(mean >= 0.99, p1 >= 0.97) the variant is refused with an error naming the figures,
unless forced; a refusal is recorded so ``auto`` never picks it and nothing retries it.

int8 recipe, chosen by measurement
==================================
all-MiniLM-L6-v2 exported by fastsbert; fastsbert's engine, 2 threads, batch 32, 1,000
sentences (half STS-B, half review corpus, bench/corpus.py); AMD EPYC Zen 4 with
AVX-512 VNNI, no AMX; ONNX Runtime 1.32; on a shared, loaded machine.
Cosine is against float32 on STS-B test (2,758 sentences) plus the non-ASCII calibration
texts; "batch inv." is the lowest cosine between a text embedded alone and embedded in a
batch of 32 (1.0 = a text's vector does not depend on its batch-mates).

| variant (MatMul weights int8) | b32 | p50 | STS-B | mean cos | p1 cos | min cos | batch inv. |
| --- | --- | --- | --- | --- | --- | --- | --- |
| float32 (reference) | 1.00x | 1.00x | 82.03 | 1 | 1 | 1 | 1.0000 |
| dynamic, per-tensor QInt8 | 2.59x | 0.33x | 81.67 | 0.957 | 0.870 | 0.718 | 0.974 |
| dynamic, per-channel QInt8 | 2.38x | 0.31x | 81.72 | 0.992 | 0.978 | 0.963 | 0.9739 |
| static QDQ, uint8 MinMax, output Q/DQ | ~1.5x |  | 79.75 | 0.910 | 0.820 | 0.757 | 1.0000 |
| static, no output Q/DQ (A) | 2.22x | 0.31x | 81.53 | 0.987 | 0.967 | 0.946 | 1.0000 |
| A + int8 symmetric activations |  |  | 80.94 | 0.972 | 0.927 | 0.890 | 1.0000 |
| A + down projections in float32 | 1.48x | 0.80x | 81.67 | 0.9906 | 0.9744 | 0.964 | 1.0000 |
| A + SmoothQuant on down projections only |  |  | 81.42 | 0.975 | 0.936 | 0.890 | 1.0000 |
| A + SmoothQuant others, down fp32 | 1.69x | 0.67x | 81.95 | 0.9985 | 0.9951 | 0.9888 | 1.0000 |
| A + SmoothQuant others (CHOSEN) | 2.32x | 0.34x | 82.03 | 0.9949 | 0.9858 | 0.9799 | 1.0000 |

"Others": the products other than the down projections. Static rows: per-channel
weights. Speeds: every variant timed in each of 5 interleaved rounds, medians (float32
ran 250-300 sentences/s and 10 ms p50 there). Blank cells were not timed. SmoothQuant
alpha 0.5. On the guard's own set (the 352 calibration texts) the chosen variant gives
mean 0.9934, p1 0.9817, top-10 overlap 0.90; "A + down projections in float32" gives
p1 0.967 there and would be refused. Percentile and entropy calibration could not be
used: onnxruntime's histogram collector needs every calibration batch to have the same
shape, and calibration texts are fed unpadded on purpose.

Choice: static QDQ of every product with a weight (per-channel int8 weights, uint8
activations with MinMax scales from the calibration set, no Q/DQ on product outputs),
after SmoothQuant on the inputs of the products other than the down projections. Fixed
scales make a text's vector independent of its batch (dynamic quantization takes its
activation scale from the whole padded batch: cosine 0.974 between a text alone and in
a batch of 32). Plain static quantization misses the guard because LayerNorm outputs
carry a few channels far larger than the rest; SmoothQuant moves that range into the
per-channel weight scales. The down projections' inputs (GELU outputs) are spiky per
token rather than per channel, so smoothing them hurts, and they are quantized as is.
On that CPU the result was 2.32x float32 at batch 32; STS-B Spearman equals float32's.

Two exact rewrites (:mod:`fastsbert.graph_fusion`) then remove most of the float32 glue
between the integer products: each attention core becomes one ONNX ``Attention`` node
before quantization (so the attention products stay float32), and each product's bias
Add is folded into its ``MatMulIntegerToFloat``. With them the int8 graph runs 2.67x
float32 end to end (README, "How the int8 graph runs"). Float32 stays the default dtype;
``auto`` picks this variant only where the CPU has VNNI or AMX.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import dtypes
from ._runtime import checking_session
from .export_format import CONFIG_NAME as CONFIG_FILE
from .guard import (
    MIN_MEAN_COSINE,
    MIN_P1_COSINE,
    GuardError,
    agreement,
    calibration_texts,
    embed,
    format_figures,
    single_row_feeds,
)

__all__ = ["MIN_MEAN_COSINE", "MIN_P1_COSINE", "GuardError", "add_variant", "calibration_texts",
           "ensure_variant", "export_variant", "format_figures", "read_variants"]

# Operators kept in float32 in the float16 graph: LayerNorm and softmax reduce over a row
# (variance, exponent sums) and lose too much in half precision; the pooling sums and the
# final L2 norm run over whole sequences. The matrix products, GELU and the adds, where
# the time goes, run in float16.
FLOAT16_KEEP_FP32 = ("LayerNormalization", "SkipLayerNormalization", "SimplifiedLayerNormalization",
                     "Softmax", "ReduceMean", "ReduceSum", "ReduceL2", "Pow", "Sqrt", "Div",
                     "Clip", "Range", "CumSum")


# --------------------------------------------------------------------------- builders


def _quantization_modules():
    try:
        import onnx  # noqa: F401
        from onnxruntime import quantization
    except ImportError as e:
        raise ImportError(
            f"creating an int8 or float16 variant needs the `onnx` package, a dependency of "
            f"fastsbert: pip install onnx ({e})"
        ) from e
    return quantization


def quantize_int8(model_dir: Path, out_path: Path, texts: tuple[str, ...]) -> None:
    """Writes the int8 graph of ``model_dir/model.onnx`` to ``out_path`` (see the table above),
    calibrated on ``texts``."""
    # One text at a time: no padding, so pad positions never widen the activation ranges.
    build_int8(model_dir / "model.onnx", out_path, list(single_row_feeds(model_dir, list(texts))))


def build_int8(source: Path, out_path: Path, feeds: list[dict]) -> None:
    """The int8 recipe on the float graph ``source``, calibrated on ``feeds`` (unpadded
    graph feed dicts):

    1. SmoothQuant on the inputs of the products that are not down projections;
    2. each attention core becomes one ``Attention`` node (:mod:`fastsbert.graph_fusion`),
       kept only if the graph's outputs are unchanged on a padded batch;
    3. static QDQ quantization of every product with a weight;
    4. bias adds folded into the integer products."""
    import tempfile

    import onnx

    from . import graph_fusion

    q = _quantization_modules()

    class Reader(q.CalibrationDataReader):
        def __init__(self) -> None:
            self._rows = iter(feeds)

        def get_next(self):
            return next(self._rows, None)

        def rewind(self):
            self._rows = iter(feeds)

    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".smooth-") as tmp:
        smoothed = Path(tmp) / "model.onnx"
        down = set(down_projections(source))
        smooth_activations(source, smoothed, iter(feeds),
                           [n for n in weight_products(source) if n not in down])
        model = onnx.load(str(smoothed))
        if graph_fusion.fuse_attention(model):
            # An exact rewrite or none: a graph it would change keeps its own attention.
            if graph_fusion.same_outputs(str(smoothed), model,
                                         graph_fusion.padded_batch(feeds)) is None:
                onnx.save(model, str(smoothed))
        del model
        with _quiet_root_logger():
            _quantize_static(q, smoothed, out_path, Reader())
    model = onnx.load(str(out_path))
    graph_fusion.fold_quantized_bias(model)
    onnx.save(model, str(out_path))


def weight_products(model_path: Path) -> list[str]:
    """Names of the MatMul nodes whose second input is a weight (an initializer)."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    weights = {init.name for init in model.graph.initializer}
    return [n.name for n in model.graph.node
            if n.op_type == "MatMul" and len(n.input) == 2 and n.input[1] in weights]


def down_projections(model_path: Path) -> list[str]:
    """MatMul nodes whose weight maps a wider input to a narrower output: the second
    feed-forward product of each transformer layer (intermediate -> hidden). Found by
    the weight's shape, not by node names, so any exporter's graph works."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    shapes = {init.name: tuple(init.dims) for init in model.graph.initializer}
    out = []
    for node in model.graph.node:
        if node.op_type == "MatMul" and len(node.input) == 2:
            dims = shapes.get(node.input[1])
            if dims is not None and len(dims) == 2 and dims[0] > dims[1]:
                out.append(node.name)
    return out


SMOOTH_ALPHA = 0.5


def smooth_activations(model_path: Path, out_path: Path, feeds, node_names: list[str],
                       alpha: float = SMOOTH_ALPHA) -> None:
    """SmoothQuant: writes a float32 copy of the graph in which the input x of the named
    products is multiplied by 1/s per channel and their weight rows by s, which leaves
    every product unchanged. LayerNorm outputs carry a few channels far larger than the
    rest; one fixed 8-bit scale sized for those crushes the others, and dividing them
    down moves the difficulty into the weights, which are quantized per channel.
    s_j = max|x_j|^alpha / max|w_j|^(1 - alpha), max|x_j| over the calibration ``feeds``
    (input dicts). Products reading the same x share one Mul and one s."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(model_path))
    inits = {init.name: init for init in model.graph.initializer}
    wanted = set(node_names)
    groups: dict[str, list] = {}
    for node in model.graph.node:
        if node.name in wanted:
            groups.setdefault(node.input[0], []).append(node)
    if not groups:
        onnx.save(model, str(out_path))
        return

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for x in groups:
        probe.graph.output.append(helper.make_tensor_value_info(x, onnx.TensorProto.FLOAT, None))
    sess = checking_session(probe, optimize=False)
    names = list(groups)
    amax: dict[str, np.ndarray] = {}
    for feed in feeds:
        for name, value in zip(names, sess.run(names, feed)):
            m = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0)
            amax[name] = np.maximum(amax[name], m) if name in amax else m
    del sess, probe

    for i, (x, nodes) in enumerate(groups.items()):
        weights = [numpy_helper.to_array(inits[n.input[1]]).astype(np.float32) for n in nodes]
        w_max = np.max([np.abs(w).max(axis=1) for w in weights], axis=0)
        s = np.maximum(amax[x], 1e-8) ** alpha / np.maximum(w_max, 1e-8) ** (1 - alpha)
        s = np.clip(s, 1e-4, 1e4).astype(np.float32)
        for node, w in zip(nodes, weights):
            inits[node.input[1]].CopyFrom(numpy_helper.from_array(w * s[:, None], node.input[1]))
        inv_name, smoothed = f"fastsbert_smooth_inv_{i}", f"{x}/fastsbert_smoothed_{i}"
        model.graph.initializer.append(numpy_helper.from_array(1.0 / s, inv_name))
        # Before the first reader of x, which comes after x's producer: order stays valid.
        first = min(j for j, n in enumerate(model.graph.node) if n in nodes)
        model.graph.node.insert(first, helper.make_node("Mul", [x, inv_name], [smoothed],
                                                        name=f"fastsbert_smooth_{i}"))
        for node in nodes:
            node.input[0] = smoothed
    onnx.save(model, str(out_path))


@contextlib.contextmanager
def _quiet_root_logger():
    """onnxruntime.quantization logs advice on the root logger on every call."""
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _quantize_static(q, source: Path, out_path: Path, reader) -> None:
    import onnx

    graph = onnx.load(str(source), load_external_data=False).graph
    weights = {init.name for init in graph.initializer}
    q.quantize_static(
        str(source),
        str(out_path),
        reader,
        quant_format=q.QuantFormat.QDQ,
        op_types_to_quantize=["MatMul"],
        # Only the products with a weight. Attention cores the fusion could not rewrite
        # keep their activation x activation products in float32 (onnxruntime's
        # MatMulConstBOnly option covers only its QOperator format, not QDQ).
        nodes_to_exclude=[n.name for n in graph.node
                          if n.op_type == "MatMul" and n.input[1] not in weights],
        per_channel=True,
        weight_type=q.QuantType.QInt8,
        activation_type=q.QuantType.QUInt8,
        calibrate_method=q.CalibrationMethod.MinMax,
        extra_options={
            "WeightSymmetric": True,
            "ActivationSymmetric": False,
            # No Q/DQ pair on a product's output: ONNX Runtime then fuses DQ -> MatMul
            # into an integer product with a float output, and the bias add and residual
            # stay in float32 instead of being rounded to 8 bits once more.
            "OpTypesToExcludeOutputQuantization": ["MatMul"],
        },
    )


def convert_float16(model_dir: Path, out_path: Path) -> None:
    """Writes a float16 copy of ``model_dir/model.onnx`` for CUDA: inputs and output keep
    their types, and the operators in FLOAT16_KEEP_FP32 run in float32."""
    _quantization_modules()
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(model_dir / "model.onnx"))
    fp16 = convert_float_to_float16(model, keep_io_types=True,
                                    op_block_list=list(FLOAT16_KEEP_FP32))
    onnx.save(fp16, str(out_path))


_BUILDERS = {
    dtypes.INT8: lambda model_dir, out, texts: quantize_int8(model_dir, out, texts),
    dtypes.FLOAT16: lambda model_dir, out, texts: convert_float16(model_dir, out),
}

# Each variant records the recipe that built it; one built by another recipe (an older
# fastsbert) is rebuilt on next use where the directory is writable.
_RECIPES = {
    dtypes.INT8: "SmoothQuant (alpha 0.5) on the inputs of the non-down-projection "
                    "products, attention cores fused into ONNX Attention, then static QDQ: "
                    "MatMul weights int8 per channel, activations uint8 with MinMax scales "
                    "from the calibration set, bias adds folded into MatMulIntegerToFloat; "
                    "attention, embeddings, LayerNorm, softmax, pooling and "
                    "normalisation in float32",
    dtypes.FLOAT16: "float16 weights and activations; LayerNorm, softmax and reductions "
                       "in float32; int64 inputs and float32 output unchanged",
}


# --------------------------------------------------------------------------- the directory


@contextlib.contextmanager
def _dir_lock(model_dir: Path):
    """An exclusive flock on the directory itself: one variant builder at a time."""
    import fcntl

    fd = os.open(model_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_variants(model_dir: str | os.PathLike) -> dict:
    """The "variants" entry of ``model_dir/fastsbert.json`` ({} when none)."""
    cfg = json.loads((Path(model_dir) / CONFIG_FILE).read_text("utf-8"))
    variants = cfg.get("variants") or {}
    return variants if isinstance(variants, dict) else {}


def _write_config(model_dir: Path, cfg: dict) -> None:
    tmp = model_dir / f".{CONFIG_FILE}.tmp-{uuid.uuid4().hex}"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(cfg, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, model_dir / CONFIG_FILE)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class VariantGuard:
    """What one kind of guarded variant brings to :func:`add_guarded`: how the candidate
    is built, how it is judged against float32, and how its figures read in a message."""

    recipe: str  # recorded with the variant; another recipe's variant is rebuilt
    build: Callable[[Path, Path], None]  # (model_dir, candidate path): writes the graph
    # (model_dir, scratch dir that lists the candidate) -> figures, thresholds and "passed"
    judge: Callable[[Path, Path], dict]
    describe: Callable[[dict], str]  # an entry's figures, for messages
    thresholds: str  # the pass condition, for the refusal


def add_guarded(model_dir: Path, dtype: str, guard: VariantGuard, *, force: bool,
                rebuild: bool) -> dict:
    """Builds, judges and lists the ``dtype`` variant of ``model_dir`` (see
    :func:`add_variant`, which also holds for the cross-encoder's int8)."""
    with _dir_lock(model_dir):
        entry = read_variants(model_dir).get(dtype)
        if entry is not None and entry.get("recipe") != guard.recipe:
            # An older recipe's variant: rebuilt, and a user's earlier force still holds.
            force, entry = force or bool(entry.get("forced")), None
        if entry is not None and not rebuild and (entry.get("file") or not force):
            if not entry.get("file"):
                raise GuardError(f"{model_dir}: the {dtype} variant was refused earlier "
                                 f"({guard.describe(entry)}); pass force=True to build and "
                                 "keep it anyway")
            return entry
        entry = _build_guarded(model_dir, dtype, guard, force)
    if not entry["passed"] and not force:
        raise GuardError(
            f"refused the {dtype} variant of {model_dir}: {guard.describe(entry)}; "
            f"the thresholds are {guard.thresholds}. Use float32, or pass force=True "
            "(--force) to keep it anyway"
        )
    return entry


def _build_guarded(model_dir: Path, dtype: str, guard: VariantGuard, force: bool) -> dict:
    import onnxruntime

    file_name = dtypes.VARIANT_FILES[dtype]
    cfg = json.loads((model_dir / CONFIG_FILE).read_text("utf-8"))
    # A scratch directory beside the model that looks like it (links to its files) but
    # lists the candidate, so the engine itself measures the candidate before it is kept.
    scratch = model_dir / f".{dtype}-tmp-{uuid.uuid4().hex}"
    scratch.mkdir()
    try:
        skip = {CONFIG_FILE, *dtypes.VARIANT_FILES.values()}
        for f in model_dir.iterdir():
            if f.is_file() and f.name not in skip and not f.name.startswith("."):
                os.symlink(f.resolve(), scratch / f.name)
        candidate = scratch / file_name
        guard.build(model_dir, candidate)
        trial = {**cfg, "variants": {dtype: {"file": file_name, "passed": False}}}
        (scratch / CONFIG_FILE).write_text(json.dumps(trial), "utf-8")
        fig = guard.judge(model_dir, scratch)
        entry = {
            "file": file_name if (fig["passed"] or force) else None,
            **fig,
            "forced": bool(force and not fig["passed"]),
            "recipe": guard.recipe,
            "onnxruntime": onnxruntime.__version__,
        }
        if entry["file"]:
            os.replace(candidate, model_dir / file_name)
        cfg = json.loads((model_dir / CONFIG_FILE).read_text("utf-8"))
        cfg.setdefault("variants", {})[dtype] = entry
        _write_config(model_dir, cfg)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return entry


def ensure_guarded(model_dir: Path, dtype: str, recipe: str, add: Callable[[], object], *,
                   required: bool) -> None:
    """Calls ``add`` (which builds the ``dtype`` variant) when the variant is not listed
    yet, or was built by a recipe other than ``recipe`` and the directory is writable (a
    read-only directory keeps what it has).

    ``required`` (the caller asked for this dtype): failures raise. Otherwise (``auto``)
    a variant that cannot be built or fails its guard leaves float32 in use."""
    try:
        entry = read_variants(model_dir).get(dtype)
    except (OSError, ValueError):
        entry = None
    if entry is not None and entry.get("recipe") != recipe and os.access(model_dir, os.W_OK):
        entry = None
    if entry is not None and (entry.get("file") or not required):
        return  # built (or, for auto, refused) before
    try:
        add()  # raises GuardError again for a recorded refusal
    except GuardError:
        if required:
            raise
    except (ImportError, PermissionError) as e:
        if required:
            raise
        import warnings

        warnings.warn(f"fastsbert: dtype='auto' stays with float32: {e}", stacklevel=5)


def add_variant(
    model_dir: str | os.PathLike,
    dtype: str,
    *,
    force: bool = False,
    min_mean_cosine: float = MIN_MEAN_COSINE,
    min_p1_cosine: float = MIN_P1_COSINE,
    rebuild: bool = False,
) -> dict:
    """Builds the ``dtype`` variant ("int8" or "float16") of an exported directory, runs the
    guard, and lists the variant and its figures in fastsbert.json.

    Safe under concurrent callers (the directory is locked; the file and the config are
    each renamed into place, the file first). A directory that already lists the variant
    is left alone unless ``rebuild``; a listed refusal is raised again unless ``force``.

    Returns the variant's entry. Raises GuardError (a ValueError) naming the figures when
    the variant falls below the thresholds and ``force`` is False; the refusal is recorded
    (without the file) so that ``auto`` skips the variant.
    """
    dtype = dtypes.canonical_dtype(dtype)
    if dtype not in dtypes.VARIANT_FILES:
        raise ValueError(f"dtype={dtype!r} has no variant to build: expected 'int8' or 'float16'")
    model_dir = Path(model_dir)
    if not (model_dir / CONFIG_FILE).is_file() or not (model_dir / "model.onnx").is_file():
        raise FileNotFoundError(f"{model_dir} is not an exported model directory "
                                f"(needs {CONFIG_FILE} and model.onnx)")
    if not os.access(model_dir, os.W_OK):
        raise PermissionError(f"cannot add the {dtype} variant to {model_dir}: the directory is "
                              "not writable (export the model to a writable directory)")
    return add_guarded(model_dir, dtype, _embedding_guard(dtype, min_mean_cosine, min_p1_cosine),
                       force=force, rebuild=rebuild)


def _embedding_guard(dtype: str, min_mean: float, min_p1: float) -> VariantGuard:
    """Embeddings of the calibration texts, float32 against the candidate."""

    def judge(model_dir: Path, scratch: Path) -> dict:
        texts = list(calibration_texts())
        fig = agreement(embed(model_dir, dtypes.FLOAT32, texts), embed(scratch, dtype, texts))
        return {**fig, "texts": len(texts), "min_mean_cosine": min_mean, "min_p1_cosine": min_p1,
                "passed": fig["mean_cosine"] >= min_mean and fig["p1_cosine"] >= min_p1}

    return VariantGuard(
        recipe=_RECIPES[dtype],
        build=lambda model_dir, out: _BUILDERS[dtype](model_dir, out, calibration_texts()),
        judge=judge,
        describe=lambda entry: format_figures(dtype, entry),
        thresholds=f"mean >= {min_mean} and p1 >= {min_p1}",
    )


def ensure_variant(model_dir: Path, dtype: str, *, required: bool) -> None:
    """Creates the ``dtype`` variant of ``model_dir`` when it is missing or stale
    (:func:`ensure_guarded`)."""
    ensure_guarded(model_dir, dtype, _RECIPES[dtype], lambda: add_variant(model_dir, dtype),
                   required=required)


def export_variant(model_dir: Path, dtype: str, *, force: bool = False) -> dict | None:
    """The variant step of :func:`fastsbert.export`: builds what ``dtype`` asks for in a
    fresh export directory. "auto" builds the variant this machine's CPU would use, and a
    refusal then only leaves float32. Returns the variant's entry (None for float32)."""
    dtype = dtypes.canonical_dtype(dtype)
    variant = dtypes.wanted_variant(dtype, "cpu") if dtype == dtypes.AUTO else dtype
    if variant is None or variant == dtypes.FLOAT32:
        return None
    try:
        return add_variant(model_dir, variant, force=force)
    except GuardError:
        if dtype != dtypes.AUTO:
            raise
        return read_variants(model_dir).get(variant)

"""Model precision (``dtype``): names, validation, and what this machine runs fast.

Values:
    ``"float32"`` (alias ``"fp32"``): the exported graph, ``model.onnx``.
    ``"int8"``: CPU only; ``model.int8.onnx``, statically quantized (see :mod:`.quantize`).
    ``"float16"`` (alias ``"fp16"``): CUDA only; ``model.float16.onnx``.
    ``"auto"``: int8 on a CPU with VNNI or AMX, float16 on CUDA, each only when the variant
        passed its accuracy guard; float32 otherwise.

The word ``precision`` is left free on purpose: in sentence-transformers it names the
quantization of the *output* embeddings, a different thing.

CPU features come from the native core (cpuid + xgetbv, checked at run time).
``FASTSBERT_CPU_FEATURES`` masks or adds features, e.g. ``-vnni,-amx`` (``auto`` then
behaves as on a CPU without them) or ``+vnni``. Names: avx2, avx512, avx512_vnni,
avx_vnni, vnni (both VNNI kinds), amx.
"""

from __future__ import annotations

from . import _core

FLOAT32 = "float32"
INT8 = "int8"
FLOAT16 = "float16"
AUTO = "auto"

DTYPES = (FLOAT32, INT8, FLOAT16, AUTO)
_ALIASES = {"fp32": FLOAT32, "fp16": FLOAT16}
CHOICES = "'float32' (or 'fp32'), 'int8', 'float16' (or 'fp16'), 'auto'"

# The file of each non-float32 variant inside an exported directory.
VARIANT_FILES = {INT8: "model.int8.onnx", FLOAT16: "model.float16.onnx"}


def canonical_dtype(dtype: object) -> str:
    """The canonical name of ``dtype``; ValueError listing the choices for anything else."""
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype, dtype)
        if name in DTYPES:
            return name
    raise ValueError(f"dtype must be one of {CHOICES}, got {dtype!r}")


def is_cuda(device: str) -> bool:
    return device == "cuda" or device.startswith("cuda:")


def check_device(dtype: str, device: str) -> None:
    """Raises ValueError, saying what to use instead, for a dtype the device cannot run."""
    if dtype == FLOAT16 and not is_cuda(device):
        raise ValueError(
            "dtype='float16' runs on CUDA only: pass device='cuda', or on the CPU use "
            "dtype='int8' (fast where the CPU has VNNI or AMX) or dtype='float32'"
        )
    if dtype == INT8 and is_cuda(device):
        raise ValueError("dtype='int8' runs on the CPU only: on CUDA use 'float16' or 'float32'")


def cpu_features() -> list[str]:
    """CPU features after ``FASTSBERT_CPU_FEATURES`` masking (ValueError for a bad value)."""
    return list(_core.cpu_features())


def cpu_features_detected() -> list[str]:
    """CPU features as the CPU and OS report them, before masking."""
    return list(_core.cpu_features_detected())


def int8_is_fast() -> bool:
    """Whether int8 inference pays here: the CPU (after masking) has VNNI or AMX.

    Without them ONNX Runtime's int8 kernels are no faster than float32 and still cost
    accuracy, so ``auto`` keeps float32."""
    return bool(_core.int8_is_fast())


def wanted_variant(dtype: str, device: str) -> str | None:
    """The variant ``dtype`` on ``device`` would load on this machine (None: float32).

    For ``auto`` this is the variant it would use if the directory held one that passed
    its guard; the engine makes the final choice from fastsbert.json."""
    if dtype == AUTO:
        if is_cuda(device):
            return FLOAT16
        return INT8 if int8_is_fast() else None
    return None if dtype == FLOAT32 else dtype

"""Locates the ONNX Runtime shared library that the native core loads.

The core is compiled against ONNX Runtime's headers only and opens the library at run
time, so the same wheel works with the ``onnxruntime`` and ``onnxruntime-gpu`` packages.
The package is located without importing it (importing it costs time and memory).
"""

from __future__ import annotations

import glob
import importlib.util
import os
from functools import lru_cache


@lru_cache(maxsize=1)
def onnxruntime_library() -> str:
    """Path of libonnxruntime.so: $FASTSBERT_ORT_LIBRARY, else the installed package's."""
    override = os.environ.get("FASTSBERT_ORT_LIBRARY")
    if override:
        return override
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "fastsbert needs ONNX Runtime: pip install onnxruntime (or onnxruntime-gpu)"
        )
    for root in spec.submodule_search_locations:
        found = sorted(glob.glob(os.path.join(root, "capi", "libonnxruntime.so*")))
        # Prefer the fully versioned file (libonnxruntime.so.1.x.y) the wheel ships.
        found = [f for f in found if "providers" not in os.path.basename(f)]
        if found:
            return max(found, key=len)
    raise ImportError(
        f"the installed onnxruntime package ({spec.submodule_search_locations[0]}) carries no "
        "libonnxruntime.so; reinstall onnxruntime or set FASTSBERT_ORT_LIBRARY"
    )


def checking_session(model, *, optimize: bool = True):
    """An onnxruntime CPU session (the Python API) for checking a graph while a model is
    built or converted: ``model`` is a path or an ``onnx.ModelProto``.

    Warnings are silenced: these graphs are probes, and onnxruntime's notes about unused
    initializers or skipped fusions would only bury the error the caller reports. With
    ``optimize=False`` the graph runs as written, so a check sees the nodes themselves and
    not what ONNX Runtime's fusions made of them.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    source = os.fspath(model) if isinstance(model, (str, os.PathLike)) else model.SerializeToString()
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])

"""The module stack of a sentence encoder, with sentence-transformers' names, arguments and
files: ``Transformer`` -> ``Pooling`` -> [``Dense`` ...] -> [``Normalize``].

Each module reads and writes the ``features`` dict (``input_ids``, ``attention_mask``,
``token_embeddings``, ``sentence_embedding``) and has ``save(path)`` and ``load(path)``;
``read_directory`` / ``write_directory`` handle a whole model directory. Training
(``SentenceEncoder``) and the ONNX exporter both build models from these classes.
Needs torch and transformers only.
"""

from .dense import Dense
from .directory import ModelDirectory, read_directory, write_directory
from .normalize import Normalize
from .pooling import POOLING_MODES, Pooling
from .transformer import Transformer

__all__ = [
    "POOLING_MODES",
    "Dense",
    "ModelDirectory",
    "Normalize",
    "Pooling",
    "Transformer",
    "read_directory",
    "write_directory",
]

"""fastsbert.training: fine-tune sentence encoders (PyTorch), saving models in the
sentence-transformers layout that fastsbert's exporter turns into ONNX.

Needs the ``[train]`` extra (torch, transformers, scipy, scikit-learn). Nothing in the
inference path imports this package.
"""

from . import data, evaluation, losses
from .data import InputExample
from .model import SentenceEncoder
from .trainer import fit

__all__ = ["InputExample", "SentenceEncoder", "data", "evaluation", "fit", "losses"]

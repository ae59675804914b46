"""Cross-encoder evaluators with the names, metrics and CSV files of sentence-transformers'."""

from .classification import CrossEncoderClassificationEvaluator
from .correlation import CrossEncoderCorrelationEvaluator
from .reranking import CrossEncoderRerankingEvaluator

__all__ = [
    "CrossEncoderClassificationEvaluator",
    "CrossEncoderCorrelationEvaluator",
    "CrossEncoderRerankingEvaluator",
]

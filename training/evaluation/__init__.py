"""Evaluators with the names, metrics and CSV files of sentence-transformers' evaluators."""

from .base import Evaluator
from .binary_classification import BinaryClassificationEvaluator
from .embedding_similarity import EmbeddingSimilarityEvaluator
from .information_retrieval import InformationRetrievalEvaluator
from .label_accuracy import LabelAccuracyEvaluator
from .sequential import SequentialEvaluator
from .triplet import TripletEvaluator

__all__ = [
    "BinaryClassificationEvaluator",
    "EmbeddingSimilarityEvaluator",
    "Evaluator",
    "InformationRetrievalEvaluator",
    "LabelAccuracyEvaluator",
    "SequentialEvaluator",
    "TripletEvaluator",
]

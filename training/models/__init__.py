"""The module stack of a sentence encoder, with sentence-transformers' names, arguments and
files. The classic stack is ``Transformer`` -> ``Pooling`` -> [``Dense`` ...] -> [``Normalize``];
other input modules (``WordEmbeddings`` with a word tokenizer, ``BoW``, ``StaticEmbedding``,
``Router``/``Asym``) may come first, and ``WordWeights``, ``CNN``, ``LSTM``,
``WeightedLayerPooling``, ``LayerNorm`` and ``Dropout`` in between.

Each module reads and writes the ``features`` dict (``input_ids``, ``attention_mask``,
``token_embeddings``, ``sentence_embedding``) and has ``save(path)`` and ``load(path)``;
input modules also have ``tokenize(texts)``. ``read_directory`` / ``write_directory`` handle a
whole model directory. Training (``SentenceEncoder``) and the ONNX exporter both build models
from these classes. Needs torch and transformers (and nltk for ``PhraseTokenizer``).
"""

from .bow import BoW
from .cnn import CNN
from .dense import Dense
from .directory import ModelDirectory, read_directory, write_directory
from .dropout import Dropout
from .layer_norm import LayerNorm
from .lstm import LSTM
from .normalize import Normalize
from .pooling import POOLING_MODES, Pooling
from .router import Asym, Router
from .static_embedding import StaticEmbedding
from .transformer import Transformer
from .weighted_layer_pooling import WeightedLayerPooling
from .word_embeddings import WordEmbeddings
from .word_tokenizers import ENGLISH_STOP_WORDS, PhraseTokenizer, WhitespaceTokenizer, WordTokenizer
from .word_weights import WordWeights

__all__ = [
    "ENGLISH_STOP_WORDS",
    "LSTM",
    "POOLING_MODES",
    "Asym",
    "BoW",
    "CNN",
    "Dense",
    "Dropout",
    "LayerNorm",
    "ModelDirectory",
    "Normalize",
    "PhraseTokenizer",
    "Pooling",
    "Router",
    "StaticEmbedding",
    "Transformer",
    "WeightedLayerPooling",
    "WhitespaceTokenizer",
    "WordEmbeddings",
    "WordTokenizer",
    "WordWeights",
    "read_directory",
    "write_directory",
]

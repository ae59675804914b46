"""Training data: examples, readers, collation and batch samplers.

The shapes of training data, by loss family:

==========================================  ==========================================
texts                                       label
==========================================  ==========================================
(sentence_a, sentence_b)                    float score (regression losses)
(sentence_a, sentence_b)                    int class (SoftmaxLoss, contrastive losses)
(anchor, positive)                          none (in-batch negatives)
(anchor, positive, negative_1, ...)         none (in-batch negatives, hard negatives)
(sentence,)                                 int class (batch triplet losses)
(anchor, positive, negative)                none (TripletLoss)
(query, positive, negative_1, ...)          teacher scores (MarginMSELoss, DistillKLDivLoss)
(sentence, ...)                             teacher embedding (MSELoss)
==========================================  ==========================================
"""

from .collate import collate_examples, labels_to_tensor
from .input_example import InputExample
from .readers import from_dataset, read_csv, read_jsonl, read_tsv
from .samplers import GroupByLabelBatchSampler, NoDuplicatesBatchSampler
from .special import ContrastiveTensionDataLoader, DenoisingAutoEncoderDataset, delete_words

__all__ = [
    "ContrastiveTensionDataLoader",
    "DenoisingAutoEncoderDataset",
    "GroupByLabelBatchSampler",
    "InputExample",
    "NoDuplicatesBatchSampler",
    "collate_examples",
    "delete_words",
    "from_dataset",
    "labels_to_tensor",
    "read_csv",
    "read_jsonl",
    "read_tsv",
]

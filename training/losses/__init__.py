"""Training losses, one module per loss, sharing the protocol of ``base.Loss``.

Names, arguments and defaults follow sentence-transformers; each takes the model first.
"""

from .adaptive_layer import AdaptiveLayerLoss
from .angle import AnglELoss
from .base import Loss, LossInputError
from .batch_all_triplet import BatchAllTripletLoss
from .batch_hard_soft_margin_triplet import BatchHardSoftMarginTripletLoss
from .batch_hard_triplet import BatchHardTripletLoss
from .batch_semi_hard_triplet import BatchSemiHardTripletLoss
from .batch_triplet_common import BatchHardTripletLossDistanceFunction
from .cached_multiple_negatives_ranking import CachedMultipleNegativesRankingLoss
from .contrastive import ContrastiveLoss, SiameseDistanceMetric
from .contrastive_tension import ContrastiveTensionLoss, ContrastiveTensionLossInBatchNegatives
from .cosent import CoSENTLoss
from .cosine_similarity import CosineSimilarityLoss
from .denoising_auto_encoder import DenoisingAutoEncoderLoss
from .distill_kl_div import DistillKLDivLoss
from .gist_embed import GISTEmbedLoss
from .margin_mse import MarginMSELoss
from .matryoshka import MatryoshkaLoss
from .matryoshka_2d import Matryoshka2dLoss
from .mega_batch_margin import MegaBatchMarginLoss
from .mse import MSELoss
from .multiple_negatives_ranking import MultipleNegativesRankingLoss
from .multiple_negatives_symmetric_ranking import MultipleNegativesSymmetricRankingLoss
from .online_contrastive import OnlineContrastiveLoss
from .softmax import SoftmaxLoss
from .triplet import TripletDistanceMetric, TripletLoss

__all__ = [
    "AdaptiveLayerLoss",
    "AnglELoss",
    "BatchAllTripletLoss",
    "BatchHardSoftMarginTripletLoss",
    "BatchHardTripletLoss",
    "BatchHardTripletLossDistanceFunction",
    "BatchSemiHardTripletLoss",
    "CachedMultipleNegativesRankingLoss",
    "CoSENTLoss",
    "ContrastiveLoss",
    "ContrastiveTensionLoss",
    "ContrastiveTensionLossInBatchNegatives",
    "CosineSimilarityLoss",
    "DenoisingAutoEncoderLoss",
    "DistillKLDivLoss",
    "GISTEmbedLoss",
    "Loss",
    "LossInputError",
    "MSELoss",
    "MarginMSELoss",
    "Matryoshka2dLoss",
    "MatryoshkaLoss",
    "MegaBatchMarginLoss",
    "MultipleNegativesRankingLoss",
    "MultipleNegativesSymmetricRankingLoss",
    "OnlineContrastiveLoss",
    "SiameseDistanceMetric",
    "SoftmaxLoss",
    "TripletDistanceMetric",
    "TripletLoss",
]

"""Cross-encoder training losses, sharing the protocol of ``base.CrossEncoderLoss``.

Names, arguments and defaults follow sentence-transformers' ``cross_encoder.losses``;
each takes the CrossEncoder first.
"""

from .base import CrossEncoderLoss
from .binary_cross_entropy import BinaryCrossEntropyLoss
from .cached_multiple_negatives_ranking import CachedMultipleNegativesRankingLoss
from .cross_entropy import CrossEntropyLoss
from .lambda_loss import (
    BaseWeightingScheme,
    LambdaLoss,
    LambdaRankScheme,
    NDCGLoss1Scheme,
    NDCGLoss2PPScheme,
    NDCGLoss2Scheme,
    NoWeightingScheme,
)
from .list_mle import ListMLELoss
from .list_net import ListNetLoss
from .listwise import ListwiseLoss
from .margin_mse import MarginMSELoss
from .mse import MSELoss
from .multiple_negatives_ranking import MultipleNegativesRankingLoss
from .plist_mle import PListMLELambdaWeight, PListMLELoss
from .rank_net import RankNetLoss

__all__ = [
    "BaseWeightingScheme",
    "BinaryCrossEntropyLoss",
    "CachedMultipleNegativesRankingLoss",
    "CrossEncoderLoss",
    "CrossEntropyLoss",
    "LambdaLoss",
    "LambdaRankScheme",
    "ListMLELoss",
    "ListNetLoss",
    "ListwiseLoss",
    "MSELoss",
    "MarginMSELoss",
    "MultipleNegativesRankingLoss",
    "NDCGLoss1Scheme",
    "NDCGLoss2PPScheme",
    "NDCGLoss2Scheme",
    "NoWeightingScheme",
    "PListMLELambdaWeight",
    "PListMLELoss",
    "RankNetLoss",
]

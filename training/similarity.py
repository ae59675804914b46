"""Similarity and distance functions on embedding tensors.

Matrix functions take ``a`` of shape (n, dim) and ``b`` of shape (m, dim) and return (n, m).
Pairwise functions take two (n, dim) tensors and return (n,), one score per row pair.
Scores grow with similarity; the distance functions (``*_distance``) grow with dissimilarity.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def _as_tensor(x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, list) and x and isinstance(x[0], Tensor):
        return torch.stack(x)
    return torch.as_tensor(np.asarray(x))


def _as_matrix(x) -> Tensor:
    x = _as_tensor(x)
    return x.unsqueeze(0) if x.dim() == 1 else x


def cos_sim(a, b) -> Tensor:
    """Cosine similarity of every row of ``a`` (n, dim) with every row of ``b`` (m, dim): (n, m)."""
    a = F.normalize(_as_matrix(a), p=2, dim=1)
    b = F.normalize(_as_matrix(b), p=2, dim=1)
    return a @ b.T


def dot_score(a, b) -> Tensor:
    """Dot product of every row of ``a`` (n, dim) with every row of ``b`` (m, dim): (n, m)."""
    return _as_matrix(a) @ _as_matrix(b).T


def euclidean_sim(a, b) -> Tensor:
    """Negative Euclidean distance between all rows: (n, m)."""
    return -torch.cdist(_as_matrix(a).float(), _as_matrix(b).float(), p=2)


def manhattan_sim(a, b) -> Tensor:
    """Negative Manhattan (L1) distance between all rows: (n, m)."""
    return -torch.cdist(_as_matrix(a).float(), _as_matrix(b).float(), p=1)


def pairwise_dot_score(a, b) -> Tensor:
    """Row-wise dot product of two (n, dim) tensors: (n,)."""
    return (_as_tensor(a) * _as_tensor(b)).sum(dim=-1)


def pairwise_cos_sim(a, b) -> Tensor:
    """Row-wise cosine similarity of two (n, dim) tensors: (n,)."""
    a, b = _as_tensor(a), _as_tensor(b)
    return pairwise_dot_score(F.normalize(a, p=2, dim=-1), F.normalize(b, p=2, dim=-1))


def pairwise_euclidean_sim(a, b) -> Tensor:
    """Row-wise negative Euclidean distance: (n,)."""
    a, b = _as_tensor(a).float(), _as_tensor(b).float()
    return -torch.linalg.vector_norm(a - b, dim=-1)


def pairwise_manhattan_sim(a, b) -> Tensor:
    """Row-wise negative Manhattan distance: (n,)."""
    a, b = _as_tensor(a).float(), _as_tensor(b).float()
    return -(a - b).abs().sum(dim=-1)


def pairwise_angle_sim(x: Tensor, y: Tensor) -> Tensor:
    """AnglE similarity of row pairs (n, dim) -> (n,).

    Each vector is read as a complex vector (first half real part, second half imaginary
    part) after L2 normalisation; the score is |Re + Im| of the normalised complex product,
    computed as ``|cos + sin|`` terms. Odd dimensions are padded with one zero.
    """
    x, y = _as_tensor(x).float(), _as_tensor(y).float()
    if x.shape[1] % 2:
        x = F.pad(x, (0, 1))
        y = F.pad(y, (0, 1))
    x = F.normalize(x, p=2, dim=1)
    y = F.normalize(y, p=2, dim=1)
    cosines = (x * y).sum(dim=1)
    x_re, x_im = torch.chunk(x, 2, dim=1)
    y_re, y_im = torch.chunk(y, 2, dim=1)
    sines = (x_im * y_re - x_re * y_im).sum(dim=1)
    return (cosines + sines).abs()


# Matrix similarity by name, as stored in config_sentence_transformers.json.
SIMILARITY_FUNCTIONS = {
    "cosine": cos_sim,
    "dot": dot_score,
    "euclidean": euclidean_sim,
    "manhattan": manhattan_sim,
}

PAIRWISE_FUNCTIONS = {
    "cosine": pairwise_cos_sim,
    "dot": pairwise_dot_score,
    "euclidean": pairwise_euclidean_sim,
    "manhattan": pairwise_manhattan_sim,
}


def function_name(fn) -> str:
    """A stable name for a similarity function, for ``config()`` dictionaries."""
    return getattr(fn, "__name__", type(fn).__name__)

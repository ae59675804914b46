"""Hard-negative mining: for each (anchor, positive) pair, the corpus documents an embedding
model finds most similar to the anchor that are not its positives.

Options, defaults and output formats are those of sentence-transformers'
``util.mine_hard_negatives``; embedding is done by a fastsbert model and the search by
fastsbert's top-k kernel (``fastsbert.topk``), the filtering in NumPy.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from ..similarity import topk

_FORMATS = ("triplet", "n-tuple", "labeled-pair", "labeled-list")
_NEG_INF = -np.inf


def _columns(dataset) -> tuple[dict[str, list], bool]:
    """The dataset as ``{column: list}`` and whether it was a ``datasets.Dataset``."""
    if isinstance(dataset, Mapping):
        return {str(k): list(v) for k, v in dataset.items()}, False
    names = getattr(dataset, "column_names", None)
    if names is None:
        raise TypeError(
            f"dataset must be a datasets.Dataset or a dict of columns, got {type(dataset).__name__}"
        )
    return {name: list(dataset[name]) for name in names}, True


def _embed(model, texts: list[str], role: str, prompt_name, prompt, batch_size: int) -> np.ndarray:
    """Unit-length float32 embeddings (n, dim) of ``texts`` as queries or documents, with the
    model's prompt for that role unless one is given (sentence-transformers' rule)."""
    if hasattr(model, f"encode_{role}"):  # fastsbert.Encoder
        emb = getattr(model, f"encode_{role}")(
            texts, prompt_name=prompt_name, prompt=prompt, batch_size=batch_size
        )
    else:  # a training SentenceEncoder, or anything with encode(texts, ...)
        prompts = getattr(model, "prompts", None) or {}
        if prompt_name is None and prompt is None and prompts.get(role):
            prompt_name = role
        emb = model.encode(texts, batch_size=batch_size, prompt_name=prompt_name, prompt=prompt)
    emb = np.asarray(emb, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != len(texts):
        raise ValueError(
            f"the model returned embeddings of shape {emb.shape} for {len(texts)} texts"
        )
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return np.ascontiguousarray(emb / np.maximum(norms, 1e-12))


def mine_hard_negatives(
    dataset,
    model,
    anchor_column_name: str | None = None,
    positive_column_name: str | None = None,
    corpus: Sequence[str] | None = None,
    cross_encoder=None,
    range_min: int = 0,
    range_max: int | None = None,
    max_score: float | None = None,
    min_score: float | None = None,
    absolute_margin: float | None = None,
    relative_margin: float | None = None,
    num_negatives: int = 3,
    sampling_strategy: Literal["random", "top"] = "top",
    query_prompt_name: str | None = None,
    query_prompt: str | None = None,
    corpus_prompt_name: str | None = None,
    corpus_prompt: str | None = None,
    include_positives: bool = False,
    output_format: Literal["triplet", "n-tuple", "labeled-pair", "labeled-list"] = "triplet",
    output_scores: bool = False,
    batch_size: int = 32,
    faiss_batch_size: int = 16384,
    use_faiss: bool = False,
    use_multi_process: bool | list[str] = False,
    verbose: bool = True,
    cache_folder: str | None = None,
    as_triplets: bool | None = None,
    margin: float | None = None,
    threads: int | None = None,
):
    """Mines hard negatives for the (anchor, positive) pairs of ``dataset``.

    Args:
        dataset: a ``datasets.Dataset`` or a dict of columns; the anchor and positive columns
            default to the first two.
        model: a ``fastsbert.Encoder``, a training ``SentenceEncoder``, or anything with
            ``encode(texts, batch_size=, prompt_name=, prompt=)``; it embeds the anchors
            (queries) and the corpus.
        corpus: documents to draw negatives from besides the positives (default: the
            positives only). Duplicates count once.
        cross_encoder: rescore the candidates (and positives) with ``cross_encoder.predict``.
        range_min, range_max: consider the candidates ranked range_min .. range_max - 1
            (range_max default: range_min + num_negatives + the most positives of an anchor,
            times ten for the negatives when a margin or score filter is set).
        max_score, min_score: drop candidates scoring above / below.
        absolute_margin, relative_margin: drop candidates scoring within this margin of the
            anchor's lowest positive score (``neg + m > pos`` / ``neg > pos - |pos| * m``).
        num_negatives: negatives per pair.
        sampling_strategy: ``"top"`` (the best remaining) or ``"random"`` (drawn from them
            with Python's ``random``).
        query_prompt_name, query_prompt, corpus_prompt_name, corpus_prompt: prompts.
        include_positives: keep positives among the candidates (then ``output_format`` is
            ``"n-tuple"``).
        output_format: ``"triplet"`` (anchor, positive, negative) rows; ``"n-tuple"`` (anchor,
            positive, negative_1, ..., negative_n), only rows with all n; ``"labeled-pair"``
            (anchor, document, label 1/0); ``"labeled-list"`` (anchor, [positive, negatives...],
            labels [1, 0, ...]).
        output_scores: add the similarity scores (``scores`` / ``score``) instead of labels.
        batch_size: embedding batch size.
        faiss_batch_size, use_faiss, use_multi_process, cache_folder: accepted for
            compatibility and ignored: the exact top-k kernel searches the whole corpus.
        verbose: print the settings chosen and a summary.
        as_triplets, margin: older spellings of ``output_format`` and ``absolute_margin``.
        threads: top-k worker threads (default: all).

    Returns:
        A ``datasets.Dataset`` when given one, else a dict of columns.
    """
    del faiss_batch_size, use_faiss, use_multi_process, cache_folder  # see the docstring
    columns, was_dataset = _columns(dataset)
    names = list(columns)
    n_rows = len(columns[names[0]]) if names else 0
    if n_rows == 0:
        raise ValueError("mine_hard_negatives: the dataset is empty")
    if not anchor_column_name or anchor_column_name not in columns:
        anchor_column_name = names[0]
    if not positive_column_name or positive_column_name not in columns:
        if len(names) < 2:
            raise ValueError(
                "mine_hard_negatives: the dataset needs an anchor and a positive column"
            )
        positive_column_name = names[1]
    if as_triplets is not None:
        output_format = "triplet" if as_triplets else "n-tuple"
    if margin is not None:
        absolute_margin = margin
    if include_positives:
        output_format = "n-tuple"  # the ranking order must survive
    if output_format not in _FORMATS:
        raise ValueError(f"output_format must be one of {_FORMATS}, got {output_format!r}")
    if sampling_strategy not in ("top", "random"):
        raise ValueError(f"sampling_strategy must be 'top' or 'random', got {sampling_strategy!r}")
    if num_negatives < 1:
        raise ValueError(f"num_negatives must be at least 1, got {num_negatives}")

    anchors_in = [str(x) for x in columns[anchor_column_name]]
    positives_in = [str(x) for x in columns[positive_column_name]]
    rows_per_anchor: dict[str, int] = {}
    for a in anchors_in:
        rows_per_anchor[a] = rows_per_anchor.get(a, 0) + 1
    max_positives = max(rows_per_anchor.values())
    if range_max is None:
        filtered = (
            absolute_margin is not None
            or relative_margin is not None
            or max_score is not None
            or (cross_encoder is not None and min_score is not None)
        )
        range_max = range_min + num_negatives * (10 if filtered else 1) + max_positives
        if verbose:
            print(f"range_max set to {range_max}")
    if range_min < 0:
        raise ValueError(f"range_min must be non-negative, got {range_min}")
    if range_min >= range_max:
        raise ValueError(f"range_min ({range_min}) must be smaller than range_max ({range_max})")
    if num_negatives > range_max - range_min:
        raise ValueError(
            f"cannot mine {num_negatives} negatives from the {range_max - range_min} candidates "
            f"ranked {range_min} to {range_max - 1}; lower num_negatives or range_min, or raise range_max"
        )

    corpus_texts = list(
        dict.fromkeys((positives_in if corpus is None else list(corpus)) + positives_in)
    )
    corpus_index = {t: i for i, t in enumerate(corpus_texts)}
    queries = list(dict.fromkeys(anchors_in))
    query_index = {q: i for i, q in enumerate(queries)}
    n_queries = len(queries)
    self_index = np.array([corpus_index.get(q, -1) for q in queries], dtype=np.int64)

    corpus_emb = _embed(
        model, corpus_texts, "document", corpus_prompt_name, corpus_prompt, batch_size
    )
    query_emb = _embed(model, queries, "query", query_prompt_name, query_prompt, batch_size)

    # Enough candidates that range_max remain after removing the positives and the anchor.
    candidate_count = range_max + max_positives + 1
    k = min(candidate_count, len(corpus_texts))
    scores, indices = topk(query_emb, corpus_emb, k=k, metric="cosine", threads=threads)
    scores = scores.astype(np.float32)
    if k < candidate_count:
        pad = candidate_count - k
        scores = np.hstack([scores, np.full((n_queries, pad), _NEG_INF, np.float32)])
        indices = np.hstack([indices, np.full((n_queries, pad), -1, np.int64)])

    positive_ids: list[list[int]] = [[] for _ in range(n_queries)]
    for a, p in zip(anchors_in, positives_in):
        q = query_index[a]
        if corpus_index[p] not in positive_ids[q]:
            positive_ids[q].append(corpus_index[p])
        if include_positives and a == p:
            self_index[q] = -1
    n_pos = [len(ids) for ids in positive_ids]
    row_query = np.repeat(np.arange(n_queries), n_pos)  # one row per (anchor, positive)
    row_positive = np.array([i for ids in positive_ids for i in ids], dtype=np.int64)
    row_anchor_text = [queries[q] for q in row_query]
    row_positive_text = [corpus_texts[i] for i in row_positive]
    positive_scores = np.einsum("ij,ij->i", query_emb[row_query], corpus_emb[row_positive])

    if cross_encoder is not None:
        for q in range(n_queries):
            pairs = [(queries[q], corpus_texts[i]) for i in indices[q]]
            scores[q] = np.asarray(cross_encoder.predict(pairs, batch_size=batch_size), np.float32)
        positive_scores = np.asarray(
            cross_encoder.predict(
                list(zip(row_anchor_text, row_positive_text)), batch_size=batch_size
            ),
            np.float32,
        )

    scores[indices == -1] = _NEG_INF
    scores[indices == self_index[:, None]] = _NEG_INF
    if not include_positives:
        for q in range(n_queries):
            scores[q, np.isin(indices[q], positive_ids[q])] = _NEG_INF
    if absolute_margin is not None or relative_margin is not None:
        bounds = np.cumsum([0] + n_pos)
        lowest = np.array(
            [positive_scores[bounds[q] : bounds[q + 1]].min() for q in range(n_queries)]
        )
        if absolute_margin is not None:
            scores[scores + absolute_margin > lowest[:, None]] = _NEG_INF
        if relative_margin is not None:
            scores[scores > (lowest - np.abs(lowest) * relative_margin)[:, None]] = _NEG_INF
    if max_score is not None:
        scores[scores > max_score] = _NEG_INF
    if min_score is not None:
        scores[(scores < min_score) & (scores != _NEG_INF)] = _NEG_INF

    order = np.argsort(-scores, axis=1, kind="stable")[:, :range_max]
    neg_scores = np.take_along_axis(scores, order, axis=1)[:, range_min:]
    neg_ids = np.take_along_axis(indices, order, axis=1)[:, range_min:]
    if sampling_strategy == "top":
        neg_scores, neg_ids = neg_scores[:, :num_negatives], neg_ids[:, :num_negatives]
    else:
        options = np.maximum(neg_ids.shape[1] - np.isinf(neg_scores).sum(1), num_negatives)
        picked = np.array([random.sample(range(int(n)), k=num_negatives) for n in options])
        neg_scores = np.take_along_axis(neg_scores, picked, axis=1)
        neg_ids = np.take_along_axis(neg_ids, picked, axis=1)
        resort = np.argsort(-neg_scores, axis=1, kind="stable")
        neg_scores = np.take_along_axis(neg_scores, resort, axis=1)
        neg_ids = np.take_along_axis(neg_ids, resort, axis=1)

    row_neg_scores, row_neg_ids = neg_scores[row_query], neg_ids[row_query]
    found = np.isfinite(row_neg_scores)
    a_col, p_col = anchor_column_name, positive_column_name
    out: dict[str, list[Any]]
    if output_format == "triplet":
        out = {a_col: [], p_col: [], "negative": []}
        if output_scores:
            out["scores"] = []
        for r, j in zip(*np.nonzero(found)):
            out[a_col].append(row_anchor_text[r])
            out[p_col].append(row_positive_text[r])
            out["negative"].append(corpus_texts[row_neg_ids[r, j]])
            if output_scores:
                out["scores"].append([float(positive_scores[r]), float(row_neg_scores[r, j])])
    elif output_format == "n-tuple":
        keep = np.flatnonzero(found.all(axis=1))
        out = {
            a_col: [row_anchor_text[r] for r in keep],
            p_col: [row_positive_text[r] for r in keep],
        }
        for j in range(row_neg_ids.shape[1]):
            out[f"negative_{j + 1}"] = [corpus_texts[row_neg_ids[r, j]] for r in keep]
        if output_scores:
            out["scores"] = [
                [float(positive_scores[r])] + [float(s) for s in row_neg_scores[r]] for r in keep
            ]
    elif output_format == "labeled-pair":
        target = "score" if output_scores else "label"
        out = {a_col: [], p_col: [], target: []}
        bounds = np.cumsum([0] + n_pos)
        for q in range(n_queries):
            for r in range(bounds[q], bounds[q + 1]):
                out[a_col].append(queries[q])
                out[p_col].append(row_positive_text[r])
                out[target].append(float(positive_scores[r]) if output_scores else 1)
            for i, s in zip(neg_ids[q], neg_scores[q]):
                if np.isfinite(s):
                    out[a_col].append(queries[q])
                    out[p_col].append(corpus_texts[i])
                    out[target].append(float(s) if output_scores else 0)
    else:  # labeled-list
        target = "scores" if output_scores else "labels"
        out = {a_col: [], p_col: [], target: []}
        for r in np.flatnonzero(found.any(axis=1)):
            kept = found[r]
            out[a_col].append(row_anchor_text[r])
            out[p_col].append(
                [row_positive_text[r]] + [corpus_texts[i] for i in row_neg_ids[r][kept]]
            )
            out[target].append(
                [float(positive_scores[r])] + [float(s) for s in row_neg_scores[r][kept]]
                if output_scores
                else [1] + [0] * int(kept.sum())
            )
    if verbose:
        mined = row_neg_scores[found]
        print(
            f"mined {mined.size} negatives for {len(row_query)} (anchor, positive) pairs "
            f"({found.size - mined.size} missing); mean score positive "
            f"{float(np.mean(positive_scores)):.4f}, negative "
            f"{float(np.mean(mined)) if mined.size else float('nan'):.4f}"
        )
    if was_dataset:
        from datasets import Dataset

        return Dataset.from_dict(out)
    return out

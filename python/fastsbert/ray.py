"""Embedding a column of a Ray Data ``Dataset``, on one machine or a cluster.

    import ray, fastsbert.ray
    ds = ray.data.read_parquet("s3://bucket/texts/")
    ds = fastsbert.ray.embed(ds, column="text")          # adds an "embedding" column
    ds.write_parquet("s3://bucket/vectors/")

Each Ray actor loads the model once and runs the native engine on the CPUs Ray gives it
(``num_cpus`` per actor; the engine's threads follow that number), and Ray streams blocks
of rows through the actors. The driver resolves the model first, so that a bad name fails
at once. A Hub id, or None for the default model, then reaches the actors as such, and
each node resolves it from its own caches (no shared filesystem needed); a directory path
must be readable at the same place on every node.

Needs the ``ray`` extra (``pip install 'fastsbert[ray]'``); importing ``fastsbert`` never
imports Ray.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import check_int

__all__ = ["embed", "Embedder"]


class Embedder:
    """The ``map_batches`` callable: one :class:`fastsbert.Encoder` per actor.

    Takes a batch in NumPy format (a dict of column arrays) and returns it with
    ``output_column`` added: float32 ``(rows, dim)``.
    """

    def __init__(self, model: str | None, column: str, output_column: str, batch_size: int,
                 normalize: bool | None, threads: int | None,
                 encode_options: dict[str, Any] | None = None,
                 model_options: dict[str, Any] | None = None) -> None:
        from .encoder import Encoder

        if threads is None:  # the CPUs Ray assigned to this actor
            import ray

            assigned = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
            threads = max(1, int(assigned))
        self.encoder = Encoder(model, threads=threads, **(model_options or {}))
        self.column = column
        self.output_column = output_column
        self.batch_size = batch_size
        self.normalize = normalize
        self.encode_options = encode_options or {}

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.column not in batch:
            raise KeyError(f"fastsbert.ray.embed: no column {self.column!r} in the dataset "
                           f"(columns: {', '.join(batch)})")
        texts = batch[self.column].tolist()
        batch[self.output_column] = self.encoder.encode(
            texts, batch_size=self.batch_size, normalize=self.normalize, **self.encode_options)
        return batch


def _actor_pool(concurrency: int | tuple[int, int] | None):
    """The actor pool for ``concurrency`` (Ray's ``concurrency=`` argument is deprecated
    since Ray 2.51 in favour of ``compute=``); None leaves the choice to Ray."""
    if concurrency is None:
        return None
    from ray.data import ActorPoolStrategy

    if isinstance(concurrency, tuple) and len(concurrency) == 2:
        low, high = (check_int(c, "concurrency") for c in concurrency)
        return ActorPoolStrategy(min_size=low, max_size=high)
    return ActorPoolStrategy(size=check_int(concurrency, "concurrency"))


def embed(
    dataset: Any,
    column: str = "text",
    model: str | os.PathLike | None = None,
    output_column: str = "embedding",
    *,
    batch_size: int = 32,
    rows_per_call: int = 1024,
    normalize: bool | None = None,
    concurrency: int | tuple[int, int] | None = None,
    num_cpus: float = 1,
    threads: int | None = None,
    revision: str | None = None,
    token: str | bool | None = None,
    cache_folder: str | os.PathLike | None = None,
    prompt_name: str | None = None,
    prompt: str | None = None,
    truncate_dim: int | None = None,
) -> Any:
    """Returns ``dataset`` with ``output_column`` holding the embedding of ``column``.

    Args:
        dataset: a ``ray.data.Dataset`` with a string column ``column``.
        model: a model path (exported, sentence-transformers or Hugging Face directory),
            a Hub id (at ``revision``, with ``token`` and ``cache_folder`` as for
            :class:`fastsbert.Encoder`), or None for the default model. A Hub id or None
            is resolved by each actor on its own node, from that node's caches; a path
            must be readable at the same place on every node.
        batch_size: texts per model call inside an actor (as in ``Encoder.encode``).
        rows_per_call: rows Ray hands an actor at once (``map_batches``' ``batch_size``);
            the engine sorts them by length, so larger blocks waste less on padding.
        concurrency: actors (or a ``(min, max)`` autoscaling range); None lets Ray choose
            from the cluster's CPUs.
        num_cpus: CPUs reserved per actor; the engine runs that many threads unless
            ``threads`` says otherwise.
        prompt_name, prompt, truncate_dim: as in :meth:`fastsbert.Encoder.encode`.

    The result is lazy, like every Ray Data transform: write it (``write_parquet``) or
    iterate it to run it. Rows keep their order within each block.
    """
    from .model_cache import is_hub_id
    from .prepare import prepare_model

    if not isinstance(column, str) or not isinstance(output_column, str):
        raise TypeError("column and output_column must be str")
    batch_size = check_int(batch_size, "batch_size")
    rows_per_call = check_int(rows_per_call, "rows_per_call")
    if threads is not None:
        threads = check_int(threads, "threads")
    if cache_folder is not None:  # actors run in folders of their own
        cache_folder = os.path.abspath(cache_folder)
    hub = {"revision": revision, "token": token, "cache_folder": cache_folder}
    # Resolved here first, so that a bad model fails now rather than in every actor, and a
    # single-node run exports it once.
    model_dir = Path(prepare_model(model, **hub)).resolve()
    if model is None or is_hub_id(model):  # each node resolves it from its own caches
        source, model_options = model, {k: v for k, v in hub.items() if v is not None}
    else:
        source, model_options = str(model_dir), {}
    return dataset.map_batches(
        Embedder,
        fn_constructor_kwargs={
            "model": source, "model_options": model_options,
            "column": column, "output_column": output_column,
            "batch_size": batch_size, "normalize": normalize, "threads": threads,
            "encode_options": {"prompt_name": prompt_name, "prompt": prompt,
                               "truncate_dim": truncate_dim},
        },
        batch_size=rows_per_call,
        batch_format="numpy",
        compute=_actor_pool(concurrency),
        num_cpus=num_cpus,
    )

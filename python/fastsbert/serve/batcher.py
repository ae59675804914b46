"""The queue and batcher: concurrent requests merged into engine calls.

Each request is cut into pieces of at most ``max_batch_tokens`` tokens (an input longer
than that is a piece on its own, so nothing ever waits for room that cannot come). Pieces
queue in arrival order; one worker takes as many as fit the token budget and runs them as
one engine call on a dedicated thread. The engine releases the GIL for the whole call,
so the event loop keeps reading and answering requests meanwhile, and what arrives during
a call is the next call's batch.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .engine import Tokens
from .metrics import Metrics

# (ids, offsets) -> rows; for text pairs (ids, offsets, type_ids) -> rows.
EmbedFn = Callable[..., np.ndarray]


class Overloaded(Exception):
    """More requests are queued or running than the server accepts."""


class ShuttingDown(Exception):
    """The batcher has stopped taking work."""


@dataclasses.dataclass(eq=False)
class _Piece:
    ids: np.ndarray
    offsets: np.ndarray
    out: np.ndarray  # the rows of the request's result this piece fills
    future: asyncio.Future
    enqueued: float
    type_ids: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return len(self.offsets) - 1

    @property
    def tokens(self) -> int:
        return int(self.offsets[-1])


def _merge(pieces: list[_Piece]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One CSR (ids, offsets, type ids or None) holding every piece's sequences, in order.
    A batcher serves one model, so either every piece has type ids or none has."""
    if len(pieces) == 1:
        return pieces[0].ids, pieces[0].offsets, pieces[0].type_ids
    ids = np.concatenate([p.ids for p in pieces])
    type_ids = (None if pieces[0].type_ids is None
                else np.concatenate([p.type_ids for p in pieces]))
    offsets = np.empty(sum(p.rows for p in pieces) + 1, np.int64)
    offsets[0] = row = base = 0
    for p in pieces:
        offsets[row + 1:row + 1 + p.rows] = p.offsets[1:] + base
        row += p.rows
        base += p.tokens
    return ids, offsets, type_ids


class Batcher:
    """Merges concurrent embedding requests into engine calls.

    Args:
        embed: (ids, offsets) -> float32 (n, dim), or (ids, offsets, type_ids) -> rows for
            requests that carry token type ids (text pairs); called on one worker thread.
        dim: length of each row of the result.
        max_batch_tokens: tokens per engine call (a longer single input runs alone).
        max_batch_requests: texts per engine call, or None for no limit.
        max_wait_s: how long an idle engine waits for a fuller batch.
        max_concurrent_requests: requests admitted at once (see :meth:`admit`).
    """

    def __init__(self, embed: EmbedFn, dim: int, *, max_batch_tokens: int,
                 max_batch_requests: int | None, max_wait_s: float,
                 max_concurrent_requests: int, metrics: Metrics) -> None:
        self._embed = embed
        self.dim = dim
        self.max_batch_tokens = max_batch_tokens
        self.max_batch_requests = max_batch_requests or np.iinfo(np.int64).max
        self.max_wait_s = max_wait_s
        self.max_concurrent_requests = max_concurrent_requests
        self.metrics = metrics
        self._queue: collections.deque[_Piece] = collections.deque()
        self._queued_tokens = 0
        self._queued_rows = 0
        self._in_flight = 0
        self._arrived: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._closing = False

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="fastsbert-engine")
        self._worker = asyncio.create_task(self._work(), name="fastsbert-batcher")

    async def stop(self) -> None:
        """Runs what is queued, then stops."""
        self._closing = True
        if self._worker is not None:
            self._arrived.set()
            await self._worker
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    # ------------------------------------------------------------------ requests
    @contextlib.contextmanager
    def admit(self) -> Iterator[None]:
        """Holds one of ``max_concurrent_requests`` places for a request's lifetime;
        raises Overloaded when none is free."""
        if self._in_flight >= self.max_concurrent_requests:
            raise Overloaded(f"{self._in_flight} requests are queued or running, the limit "
                             f"(max_concurrent_requests) is {self.max_concurrent_requests}")
        self._in_flight += 1
        self.metrics.in_flight.inc()
        try:
            yield
        finally:
            self._in_flight -= 1
            self.metrics.in_flight.dec()

    def _pieces(self, lengths: np.ndarray) -> Iterator[tuple[int, int]]:
        """[start, stop) runs of consecutive texts within one engine call's budget."""
        start, n = 0, len(lengths)
        while start < n:
            stop, tokens = start + 1, int(lengths[start])
            while (stop < n and tokens + lengths[stop] <= self.max_batch_tokens
                   and stop - start < self.max_batch_requests):
                tokens += int(lengths[stop])
                stop += 1
            yield start, stop
            start = stop

    async def embed(self, tokens: Tokens) -> np.ndarray:
        """float32 (n, dim) rows for ``tokens`` (embeddings, or a cross-encoder's scores),
        in input order."""
        if self._closing or self._worker is None:
            raise ShuttingDown("the server is shutting down")
        out = np.empty((len(tokens), self.dim), np.float32)
        loop = asyncio.get_running_loop()
        now = time.perf_counter()
        futures = []
        for start, stop in self._pieces(tokens.lengths):
            ids, offsets = tokens.rows(start, stop)
            piece = _Piece(ids, offsets, out[start:stop], loop.create_future(), now,
                           tokens.type_rows(start, stop))
            self._queue.append(piece)
            self._queued_tokens += piece.tokens
            self._queued_rows += piece.rows
            futures.append(piece.future)
        self.metrics.queue_inputs.inc(len(tokens))
        self._arrived.set()
        try:
            await asyncio.gather(*futures)
        except BaseException:
            for f in futures:  # the worker skips pieces nobody waits for
                f.cancel()
            raise
        return out

    # ------------------------------------------------------------------ worker
    def _full(self) -> bool:
        return (self._queued_tokens >= self.max_batch_tokens
                or self._queued_rows >= self.max_batch_requests)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._arrived.clear()
                await self._arrived.wait()
                continue
            if self.max_wait_s > 0 and not self._closing:
                deadline = loop.time() + self.max_wait_s
                while not self._full() and (remaining := deadline - loop.time()) > 0:
                    self._arrived.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._arrived.wait(), remaining)
            batch = self._take()
            if batch:
                await self._run(batch)

    def _take(self) -> list[_Piece]:
        """Pieces from the head of the queue that fit one engine call (at least one)."""
        batch: list[_Piece] = []
        tokens = rows = 0
        while self._queue:
            piece = self._queue[0]
            if batch and (tokens + piece.tokens > self.max_batch_tokens
                          or rows + piece.rows > self.max_batch_requests):
                break
            self._queue.popleft()
            self._queued_tokens -= piece.tokens
            self._queued_rows -= piece.rows
            self.metrics.queue_inputs.dec(piece.rows)
            if piece.future.done():  # its request was cancelled
                continue
            batch.append(piece)
            tokens += piece.tokens
            rows += piece.rows
        return batch

    async def _run(self, batch: list[_Piece]) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        for piece in batch:
            self.metrics.queue_seconds.observe(started - piece.enqueued)
        ids, offsets, type_ids = _merge(batch)
        args = (ids, offsets) if type_ids is None else (ids, offsets, type_ids)
        try:
            out = await loop.run_in_executor(self._executor, self._embed, *args)
        except Exception as e:  # noqa: BLE001 (any failure goes back to its requests)
            if len(batch) == 1:
                if not batch[0].future.done():
                    batch[0].future.set_exception(e)
                return
            # Run the pieces one by one, so only the one that fails gets the error.
            for piece in batch:
                await self._run([piece])
            return
        self.metrics.observe_batch(len(out), int(offsets[-1]), time.perf_counter() - started)
        row = 0
        for piece in batch:
            piece.out[...] = out[row:row + piece.rows]
            row += piece.rows
            if not piece.future.done():
                piece.future.set_result(None)

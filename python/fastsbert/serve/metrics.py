"""Prometheus metrics for every stage: HTTP requests, the queue, engine batches."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,  # noqa: F401 (re-exported for the HTTP layer)
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

_LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30)
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
_TOKEN_BUCKETS = (16, 64, 256, 1024, 2048, 4096, 8192, 16384, 32768, 65536)


class Metrics:
    """One registry per server, so that two servers in one process do not share counts."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("fastsbert_requests", "HTTP requests answered",
                                ["route", "status"], registry=r)
        self.request_seconds = Histogram("fastsbert_request_duration_seconds",
                                         "Time from request to response", ["route"],
                                         buckets=_LATENCY_BUCKETS, registry=r)
        self.errors = Counter("fastsbert_errors", "Requests answered with an error, by cause",
                              ["code"], registry=r)
        self.inputs = Counter("fastsbert_inputs", "Texts embedded", registry=r)
        self.tokens = Counter("fastsbert_tokens",
                              "Tokens embedded (rate() of it is tokens per second)", registry=r)
        self.in_flight = Gauge("fastsbert_requests_in_flight",
                               "Embedding requests admitted and not yet answered", registry=r)
        self.queue_inputs = Gauge("fastsbert_queue_inputs",
                                  "Texts waiting for an engine batch", registry=r)
        self.queue_seconds = Histogram("fastsbert_queue_duration_seconds",
                                       "Time a piece of a request waits for its engine batch",
                                       buckets=_LATENCY_BUCKETS, registry=r)
        self.batch_inputs = Histogram("fastsbert_batch_size", "Texts per engine batch",
                                      buckets=_SIZE_BUCKETS, registry=r)
        self.batch_tokens = Histogram("fastsbert_batch_tokens", "Tokens per engine batch",
                                      buckets=_TOKEN_BUCKETS, registry=r)
        self.batch_seconds = Histogram("fastsbert_inference_duration_seconds",
                                       "Engine time per batch", buckets=_LATENCY_BUCKETS,
                                       registry=r)
        self.tokens_per_second = Gauge("fastsbert_batch_tokens_per_second",
                                       "Tokens per second of engine time in the last batch",
                                       registry=r)

    def observe_batch(self, inputs: int, tokens: int, seconds: float) -> None:
        self.batch_inputs.observe(inputs)
        self.batch_tokens.observe(tokens)
        self.batch_seconds.observe(seconds)
        self.inputs.inc(inputs)
        self.tokens.inc(tokens)
        if seconds > 0:
            self.tokens_per_second.set(tokens / seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)

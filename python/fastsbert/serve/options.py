"""The server's settings: one table of flags, read into a frozen dataclass.

Flag names follow text-embeddings-inference where it has one (``--max-batch-tokens``,
``--max-client-batch-size``, ``--payload-limit``, ...), since those are the names users of
embedding servers already know.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Any

# Where --api-key is read from when the flag is not given (keeps it out of `ps` listings).
API_KEY_ENV = "FASTSBERT_API_KEY"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:  # also rejects NaN
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


# Options passed straight to fastsbert.Encoder(model, **options): a new Encoder keyword
# (e.g. dtype) becomes a server flag by adding one line here.
ENGINE_FLAGS: dict[str, dict[str, Any]] = {
    "device": {"default": "cpu", "help": '"cpu", "cuda" or "cuda:N" (default cpu)'},
    "threads": {"type": _positive_int, "default": None,
                "help": "inference threads (default: every core)"},
    "revision": {"default": None, "help": "branch, tag or commit of a Hub model"},
    "dtype": {"default": "float32",
              "help": "model precision: float32 (fp32), int8 (CPU), float16 (fp16, CUDA) or auto"},
}


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """Everything `fastsbert serve` can be told; defaults are the CLI's defaults."""

    model: str | None = None
    # A cross-encoder for /rerank and /v1/rerank; with it and no model, no embedding routes.
    reranker: str | None = None
    # Bearer key every route but /health requires; None: no authentication. Kept out of
    # repr() so that it never reaches a log line.
    api_key: str | None = dataclasses.field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 8080
    served_model_name: str | None = None
    engine: dict[str, Any] = dataclasses.field(default_factory=dict)
    # batching
    max_batch_tokens: int = 16384
    max_batch_requests: int | None = None
    max_wait_ms: float = 0.0
    max_concurrent_requests: int = 512
    # limits on one request
    max_client_batch_size: int = 2048
    payload_limit: int = 2_000_000
    max_input_chars: int = 100_000
    auto_truncate: bool = False
    graceful_timeout_s: float = 30.0
    log_level: str = "info"


_DEFAULTS = ServerConfig()


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Adds every `fastsbert serve` flag to ``p``."""
    p.add_argument("model", nargs="?", default=None,
                   help="model directory (exported, sentence-transformers or Hugging Face) "
                        "or Hub id; "
                        "default all-MiniLM-L6-v2")
    p.add_argument("--reranker", default=None,
                   help="cross-encoder (directory or Hub id) served on /rerank and /v1/rerank; "
                        "given without a model, the server reranks only")
    p.add_argument("--api-key", default=None,
                   help="require 'Authorization: Bearer KEY' on every route but /health "
                        f"(default: ${API_KEY_ENV}, else no authentication)")
    p.add_argument("--host", default=_DEFAULTS.host, help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=_DEFAULTS.port, help="port (default %(default)s)")
    p.add_argument("--served-model-name", default=None,
                   help="name reported by /v1/models and in responses (default: the model "
                        "directory's name)")
    for name, spec in ENGINE_FLAGS.items():
        p.add_argument("--" + name.replace("_", "-"), dest=name, **spec)

    b = p.add_argument_group("batching")
    b.add_argument("--max-batch-tokens", type=_positive_int, default=_DEFAULTS.max_batch_tokens,
                   help="tokens merged into one engine call; a longer request is split, and an "
                        "input longer than this still runs, alone (default %(default)s)")
    b.add_argument("--max-batch-requests", type=_positive_int, default=None,
                   help="inputs merged into one engine call (default: no limit)")
    b.add_argument("--max-wait-ms", type=_non_negative_float, default=_DEFAULTS.max_wait_ms,
                   help="how long an idle engine waits for more requests before it runs a batch "
                        "that is not full; while it runs, new requests gather anyway "
                        "(default %(default)s)")
    b.add_argument("--max-concurrent-requests", type=_positive_int,
                   default=_DEFAULTS.max_concurrent_requests,
                   help="requests queued or running; beyond it the server answers 503 with "
                        "Retry-After (default %(default)s)")

    lim = p.add_argument_group("limits on one request")
    lim.add_argument("--max-client-batch-size", type=_positive_int,
                     default=_DEFAULTS.max_client_batch_size,
                     help="inputs per request (default %(default)s)")
    lim.add_argument("--payload-limit", type=_positive_int, default=_DEFAULTS.payload_limit,
                     help="bytes per request body (default %(default)s)")
    lim.add_argument("--max-input-chars", type=_positive_int, default=_DEFAULTS.max_input_chars,
                     help="characters per input (default %(default)s)")
    lim.add_argument("--auto-truncate", action="store_true",
                     help="/embed truncates inputs longer than the model's limit unless the "
                          "request says truncate=false (default: it answers 413)")

    p.add_argument("--graceful-timeout", dest="graceful_timeout_s", type=_non_negative_float,
                   default=_DEFAULTS.graceful_timeout_s,
                   help="seconds in-flight requests get to finish after SIGTERM (default %(default)s)")
    p.add_argument("--log-level", default=_DEFAULTS.log_level,
                   choices=["critical", "error", "warning", "info", "debug"])


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    fields = {f.name for f in dataclasses.fields(ServerConfig)} - {"engine"}
    values = {name: getattr(args, name) for name in fields if hasattr(args, name)}
    engine = {name: getattr(args, name) for name in ENGINE_FLAGS}
    if not values.get("api_key"):
        values["api_key"] = os.environ.get(API_KEY_ENV) or None
    return ServerConfig(engine=engine, **values)

"""The HTTP layer: routes, request validation, error answers and metrics.

Stack: Starlette on uvicorn (httptools + uvloop), JSON through orjson. Measured on the
2-core CI machine, 3,000 keep-alive POSTs of a one-sentence OpenAI body answered with a
384-float embedding (a stub in place of the model): Starlette + orjson cost 0.24 ms of
server CPU per request, FastAPI with pydantic request/response models 0.41 ms; uvicorn's
h11 + asyncio instead of httptools + uvloop added 0.15 ms. One MiniLM sentence takes
3-7 ms on such 2-core machines, so FastAPI would add 2-6% to a single request for
validation this module does by hand in a few lines (and must answer in OpenAI's error
shape anyway).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import logging
import uuid
import time
from collections.abc import Awaitable, Callable

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .batcher import Batcher, Overloaded, ShuttingDown
from .engine import Engine, Tokens, finish
from .metrics import CONTENT_TYPE_LATEST, Metrics
from .options import ServerConfig
from .rerank import Reranker

log = logging.getLogger("fastsbert.serve")

# Requests with more text than this are tokenized on a worker thread, so that the event
# loop keeps answering others meanwhile; below it the hand-off costs more than it saves.
_TOKENIZE_INLINE_MAX_CHARS = 16384


class ApiError(Exception):
    """An error answer in OpenAI's shape: {"error": {message, type, param, code}}."""

    def __init__(self, status: int, message: str, *, code: str, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers

    def response(self) -> Response:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        body = {"error": {"message": self.message, "type": kind, "param": self.param,
                          "code": self.code}}
        return Response(orjson.dumps(body), self.status, headers=self.headers,
                        media_type="application/json")


def _json_response(content: object) -> Response:
    return Response(orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY),
                    media_type="application/json")


def _json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    names = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, message, code="invalid_type", param=field)


def _texts(body: dict, field: str) -> list[str]:
    """body[field] as a list of str: a str or a non-empty list of str."""
    if field not in body:
        raise ApiError(422, f"{field} is required", code="missing_field", param=field)
    value = body[field]
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise _invalid(field, f"{field} must be a string or an array of strings, "
                              f"got {_json_type(value)}")
    if not value:
        raise _invalid(field, f"{field} must not be an empty array")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            hint = " (token-id input is not supported)" if isinstance(item, (int, list)) else ""
            raise _invalid(f"{field}[{i}]",
                           f"{field}[{i}] must be a string, got {_json_type(item)}{hint}")
    return value


def _required_str(body: dict, field: str) -> str:
    """body[field] as a non-empty str."""
    if field not in body or body[field] is None:
        raise ApiError(422, f"{field} is required", code="missing_field", param=field)
    value = body[field]
    if not isinstance(value, str):
        raise _invalid(field, f"{field} must be a string, got {_json_type(value)}")
    if not value:
        raise _invalid(field, f"{field} must not be empty")
    return value


def _documents(body: dict) -> list[str]:
    """Cohere's documents: a non-empty list of str or of {"text": str} objects."""
    value = body.get("documents")
    if isinstance(value, list):
        value = [d["text"] if isinstance(d, dict) and isinstance(d.get("text"), str) else d
                 for d in value]
        body = {**body, "documents": value}
    texts = _texts(body, "documents")
    if isinstance(body["documents"], str):
        raise _invalid("documents", "documents must be an array of strings")
    return texts


def _optional(body: dict, field: str, kind: type, default):
    value = body.get(field)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        expected = {bool: "a boolean", str: "a string"}[kind]
        raise _invalid(field, f"{field} must be {expected}, got {_json_type(value)}")
    return value


class Server:
    """Routes bound to an embedding engine and/or a reranker, a batcher for each, and
    one set of metrics."""

    def __init__(self, engine: Engine | None, config: ServerConfig,
                 reranker: Reranker | None = None) -> None:
        if engine is None and reranker is None:
            raise ValueError("the server needs an embedding model, a reranker, or both")
        self.engine = engine
        self.reranker = reranker
        self.config = config
        self.metrics = Metrics()
        self._api_key = config.api_key.encode("utf-8") if config.api_key else None

        def batcher(run, dim):
            return Batcher(
                run, dim,
                max_batch_tokens=config.max_batch_tokens,
                max_batch_requests=config.max_batch_requests,
                max_wait_s=config.max_wait_ms / 1000,
                max_concurrent_requests=config.max_concurrent_requests,
                metrics=self.metrics,
            )

        self.batcher = batcher(engine.embed, engine.dim) if engine is not None else None
        self.rerank_batcher = (batcher(reranker.score, reranker.dim) if reranker is not None
                               else None)
        self._batchers = [b for b in (self.batcher, self.rerank_batcher) if b is not None]

    # ------------------------------------------------------------------ plumbing
    def app(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(app):
            for b in self._batchers:
                await b.start()
            try:
                yield
            finally:
                for b in self._batchers:  # reached once in-flight requests are done
                    await b.stop()

        routes = []
        if self.batcher is not None:
            routes += [
                Route("/v1/embeddings", self._route("/v1/embeddings", self.openai_embeddings,
                                                     admit=self.batcher), methods=["POST"]),
                Route("/embed", self._route("/embed", self.tei_embed, admit=self.batcher),
                      methods=["POST"]),
            ]
        if self.rerank_batcher is not None:
            routes += [
                Route("/rerank", self._route("/rerank", self.tei_rerank,
                                             admit=self.rerank_batcher), methods=["POST"]),
                Route("/v1/rerank", self._route("/v1/rerank", self.cohere_rerank,
                                                admit=self.rerank_batcher), methods=["POST"]),
            ]
        routes += [
            Route("/v1/models", self._route("/v1/models", self.models), methods=["GET"]),
            Route("/health", self._route("/health", self.health), methods=["GET"]),
            Route("/info", self._route("/info", self.info), methods=["GET"]),
            Route("/metrics", self._route("/metrics", self.prometheus), methods=["GET"]),
        ]
        return Starlette(routes=routes, lifespan=lifespan)

    def _route(self, name: str, handler: Callable[[Request], Awaitable[Response]],
               admit: Batcher | None = None):
        """Wraps a handler: the API key is checked (every route but /health), errors become
        answers, and every answer is counted. ``admit``: the batcher in which the request
        holds one of max_concurrent_requests places from its first byte to its answer,
        which also bounds the memory held by request bodies."""
        public = name == "/health"

        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            try:
                if not public:
                    self._authenticate(request)
                with admit.admit() if admit is not None else contextlib.nullcontext():
                    response = await handler(request)
            except (Overloaded, ShuttingDown) as e:
                response = ApiError(503, f"the server is busy: {e}; retry later",
                                    code="overloaded", headers={"Retry-After": "1"}).response()
                self.metrics.errors.labels("overloaded").inc()
            except ApiError as e:
                response = e.response()
                self.metrics.errors.labels(e.code).inc()
            except Exception:
                log.exception("unexpected error answering %s", name)
                response = ApiError(500, "internal error", code="internal_error").response()
                self.metrics.errors.labels("internal_error").inc()
            self.metrics.requests.labels(name, str(response.status_code)).inc()
            self.metrics.request_seconds.labels(name).observe(time.perf_counter() - started)
            return response

        return endpoint

    def _authenticate(self, request: Request) -> None:
        """Raises 401 unless the request carries ``Authorization: Bearer <api key>`` (when
        the server has a key). The comparison takes the same time wherever the first
        difference lies, and the key offered is never logged or echoed."""
        if self._api_key is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, offered = header.partition(" ")
        challenge = {"WWW-Authenticate": "Bearer"}
        if not header:
            raise ApiError(401, "missing API key: send the header 'Authorization: Bearer "
                                "<key>'", code="missing_api_key", headers=challenge)
        ok = hmac.compare_digest(offered.strip().encode("utf-8", "surrogateescape"),
                                 self._api_key)
        if scheme.lower() != "bearer" or not ok:
            raise ApiError(401, "incorrect API key provided", code="invalid_api_key",
                           headers=challenge)

    async def _read_json(self, request: Request) -> dict:
        limit = self.config.payload_limit
        too_big = ApiError(413, f"the request body is larger than the limit of {limit} bytes "
                                "(payload_limit)", code="payload_too_large")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise too_big
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_big
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise ApiError(400, f"the request body is not valid JSON: {e}",
                           code="invalid_json") from None
        if not isinstance(value, dict):
            raise ApiError(422, f"the request body must be a JSON object, got {_json_type(value)}",
                           code="invalid_type")
        return value

    async def _embed(self, texts: list[str], field: str, truncate: bool,
                     body: dict) -> tuple[np.ndarray, Tokens]:
        """Checks the limits on ``texts`` (named ``field`` in errors), then embeds them
        after the prompt that ``body["prompt_name"]`` or the model's default names."""
        try:
            prompt = self.engine.prompt(_optional(body, "prompt_name", str, None))
        except ValueError as e:
            raise _invalid("prompt_name", str(e)) from None
        self._check_limits(texts, field)
        try:
            if sum(map(len, texts)) > _TOKENIZE_INLINE_MAX_CHARS:
                tokens = await asyncio.to_thread(self.engine.tokenize, texts, prompt)
            else:
                tokens = self.engine.tokenize(texts, prompt)
        except ValueError as e:  # e.g. a lone surrogate, which UTF-8 cannot hold
            raise ApiError(422, f"{field}: {e}", code="invalid_text", param=field) from None
        if not truncate and tokens.too_long.any():
            i = int(np.argmax(tokens.too_long))
            raise ApiError(413, f"{field}[{i}] is longer than the model's limit of "
                                f"{self.engine.max_seq_length} tokens; send truncate=true to "
                                "embed its first tokens", code="input_too_long", param=f"{field}[{i}]")
        try:
            return await self.batcher.embed(tokens), tokens
        except (Overloaded, ShuttingDown):
            raise
        except Exception as e:
            log.exception("the engine failed")
            raise ApiError(500, f"the engine failed: {e}", code="engine_error") from None

    def _check_limits(self, texts: list[str], field: str, extra_chars: int = 0) -> None:
        """413 for more items than max_client_batch_size or an item (with ``extra_chars``,
        e.g. the query it is paired with) longer than max_input_chars."""
        cfg = self.config
        if len(texts) > cfg.max_client_batch_size:
            raise ApiError(413, f"{field} has {len(texts)} items, more than the limit of "
                                f"{cfg.max_client_batch_size} per request (max_client_batch_size)",
                           code="too_many_inputs", param=field)
        chars = list(map(len, texts))
        longest = max(chars)
        if longest + extra_chars > cfg.max_input_chars:
            i = chars.index(longest)
            counted = " (query included)" if extra_chars else ""
            raise ApiError(413, f"{field}[{i}] has {longest + extra_chars} characters{counted}, "
                                f"more than the limit of {cfg.max_input_chars} (max_input_chars)",
                           code="input_too_long", param=f"{field}[{i}]")

    async def _rerank(self, query: str, texts: list[str], field: str, truncate: bool,
                      body: dict) -> tuple[np.ndarray, Tokens]:
        """(n, 2) rows for the (query, text) pairs: the activated score, the raw logit. The
        query follows the prompt that ``body["prompt_name"]`` or the model's default names."""
        reranker = self.reranker
        try:
            prompt = reranker.prompt(_optional(body, "prompt_name", str, None))
        except ValueError as e:
            raise _invalid("prompt_name", str(e)) from None
        self._check_limits(texts, field, extra_chars=len(prompt) + len(query))
        try:
            chars = (len(prompt) + len(query)) * len(texts) + sum(map(len, texts))
            if chars > _TOKENIZE_INLINE_MAX_CHARS:
                tokens = await asyncio.to_thread(reranker.tokenize, query, texts, prompt)
            else:
                tokens = reranker.tokenize(query, texts, prompt)
        except ValueError as e:
            raise ApiError(422, f"{field}: {e}", code="invalid_text", param=field) from None
        if not truncate and tokens.too_long.any():
            i = int(np.argmax(tokens.too_long))
            raise ApiError(413, f"the query and {field}[{i}] together are longer than the "
                                f"model's limit of {reranker.max_seq_length} tokens; send "
                                "truncate=true to cut them", code="input_too_long",
                           param=f"{field}[{i}]")
        try:
            return await self.rerank_batcher.embed(tokens), tokens
        except (Overloaded, ShuttingDown):
            raise
        except Exception as e:
            log.exception("the reranker failed")
            raise ApiError(500, f"the reranker failed: {e}", code="engine_error") from None

    # ------------------------------------------------------------------ routes
    async def tei_rerank(self, request: Request) -> Response:
        """TEI's /rerank: {query, texts, raw_scores, return_text, truncate} -> [{index,
        score[, text]}], best first. raw_scores=true gives the logit instead of the
        model's activation of it (sigmoid for most rerankers)."""
        body = await self._read_json(request)
        query = _required_str(body, "query")
        texts = _texts(body, "texts")
        raw = _optional(body, "raw_scores", bool, False)
        return_text = _optional(body, "return_text", bool, False)
        truncate = _optional(body, "truncate", bool, self.config.auto_truncate)
        direction = _optional(body, "truncation_direction", str, "right")
        if direction.lower() != "right":
            raise _invalid("truncation_direction",
                           f'truncation_direction must be "right", got {direction!r}')
        rows, _ = await self._rerank(query, texts, "texts", truncate, body)
        scores = rows[:, 1 if raw else 0]
        out = []
        for i in np.argsort(-scores, kind="stable").tolist():
            hit = {"index": i, "score": float(scores[i])}
            if return_text:
                hit["text"] = texts[i]
            out.append(hit)
        return _json_response(out)

    async def cohere_rerank(self, request: Request) -> Response:
        """Cohere's /v1/rerank: {model, query, documents, top_n, return_documents} ->
        {id, results: [{index, relevance_score[, document: {text}]}], model, usage, meta},
        best first. Documents longer than the model's limit are truncated."""
        body = await self._read_json(request)
        query = _required_str(body, "query")
        documents = _documents(body)
        model = _optional(body, "model", str, self.reranker.name)
        return_documents = _optional(body, "return_documents", bool, False)
        top_n = body.get("top_n")
        if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int)
                                  or top_n < 1):
            raise _invalid("top_n", f"top_n must be a positive integer, got {top_n!r}")
        rows, tokens = await self._rerank(query, documents, "documents", True, body)
        scores = rows[:, 0]
        order = np.argsort(-scores, kind="stable")[:top_n]
        results = []
        for i in order.tolist():
            hit = {"index": i, "relevance_score": float(scores[i])}
            if return_documents:
                hit["document"] = {"text": documents[i]}
            results.append(hit)
        usage = {"prompt_tokens": tokens.total, "total_tokens": tokens.total}
        return _json_response({
            "id": str(uuid.uuid4()), "results": results, "model": model, "usage": usage,
            "meta": {"billed_units": {"search_units": 1}},
        })

    async def openai_embeddings(self, request: Request) -> Response:
        body = await self._read_json(request)
        texts = _texts(body, "input")
        model = _optional(body, "model", str, self.engine.name)
        encoding = _optional(body, "encoding_format", str, "float")
        if encoding not in ("float", "base64"):
            raise _invalid("encoding_format",
                           f'encoding_format must be "float" or "base64", got {encoding!r}')
        dimensions = self._dimensions(body)
        _optional(body, "user", str, None)
        embeddings, tokens = await self._embed(texts, "input", truncate=True, body=body)
        # OpenAI's embeddings are unit length and clients take dot products as cosines.
        out = finish(embeddings, dimensions=dimensions, normalize=True,
                     normalized=self.engine.normalized)
        if encoding == "base64":
            rows = [base64.b64encode(r.astype("<f4", copy=False).tobytes()).decode("ascii")
                    for r in out]
        else:
            rows = list(out)
        data = [{"object": "embedding", "index": i, "embedding": r} for i, r in enumerate(rows)]
        usage = {"prompt_tokens": tokens.total, "total_tokens": tokens.total}
        return _json_response({"object": "list", "data": data, "model": model, "usage": usage})

    async def tei_embed(self, request: Request) -> Response:
        body = await self._read_json(request)
        texts = _texts(body, "inputs")
        normalize = _optional(body, "normalize", bool, True)
        truncate = _optional(body, "truncate", bool, self.config.auto_truncate)
        direction = _optional(body, "truncation_direction", str, "right")
        if direction.lower() != "right":
            raise _invalid("truncation_direction",
                           f'truncation_direction must be "right", got {direction!r}')
        dimensions = self._dimensions(body)
        embeddings, _ = await self._embed(texts, "inputs", truncate=truncate, body=body)
        return _json_response(finish(embeddings, dimensions=dimensions, normalize=normalize,
                                     normalized=self.engine.normalized))

    def _dimensions(self, body: dict) -> int | None:
        try:
            return self.engine.check_dimensions(body.get("dimensions"))
        except (TypeError, ValueError) as e:
            raise _invalid("dimensions", str(e)) from None

    async def models(self, request: Request) -> Response:
        names = [m.name for m in (self.engine, self.reranker) if m is not None]
        return _json_response({"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "fastsbert"}
            for name in names
        ]})

    async def health(self, request: Request) -> Response:
        return _json_response({"status": "ok"})

    async def info(self, request: Request) -> Response:
        from .. import __version__

        cfg = self.config
        info = {}
        if self.engine is not None:
            info = {
                "model_id": self.engine.name,
                "model_dir": str(self.engine.encoder.model_dir),
                "dim": self.engine.dim,
                "max_input_length": self.engine.max_seq_length,
                "normalized": self.engine.normalized,
            }
        if self.reranker is not None:
            info["reranker"] = {
                "model_id": self.reranker.name,
                "model_dir": str(self.reranker.model.model_dir),
                "max_input_length": self.reranker.max_seq_length,
                "dtype": self.reranker.model.dtype,
            }
        return _json_response({
            **info,
            "max_batch_tokens": cfg.max_batch_tokens,
            "max_batch_requests": cfg.max_batch_requests,
            "max_concurrent_requests": cfg.max_concurrent_requests,
            "max_client_batch_size": cfg.max_client_batch_size,
            "version": __version__,
        })

    async def prometheus(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=CONTENT_TYPE_LATEST)

"""`fastsbert serve`: embeddings and reranking over HTTP (OpenAI, TEI and Cohere routes).

Three layers: :mod:`.app` (HTTP: routes, validation, errors, metrics), :mod:`.batcher`
(queue, token-budget batching, backpressure) and :mod:`.engine` (the model). Needs the
``serve`` extra; importing this package loads none of it (nor torch), so the CLI can
list the command without it.
"""

from __future__ import annotations

import argparse

from .options import ServerConfig, add_arguments, config_from_args

__all__ = ["ServerConfig", "add_parser", "create_app", "run"]


def create_app(config: ServerConfig):
    """Loads the model named by ``config`` and returns the ASGI application serving it."""
    from .app import Server
    from .engine import Engine
    from .rerank import Reranker

    engine = reranker = None
    if config.model is not None or config.reranker is None:
        engine = Engine(config.model, config.engine, name=config.served_model_name)
        engine.warm_up()
    if config.reranker is not None:
        reranker = Reranker(config.reranker, config.engine)
        reranker.warm_up()
    return Server(engine, config, reranker).app()


def run(config: ServerConfig) -> int:
    """Serves until SIGINT / SIGTERM; in-flight requests finish first."""
    try:
        import uvicorn
    except ImportError as e:
        raise ImportError(f"fastsbert serve needs the serve extra: pip install 'fastsbert[serve]' "
                          f"({e})") from e
    app = create_app(config)
    uvicorn.run(app, host=config.host, port=config.port, log_level=config.log_level,
                access_log=False, timeout_graceful_shutdown=config.graceful_timeout_s or None)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    return run(config_from_args(args))


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Registers the `serve` command on the CLI's subparsers."""
    p = subparsers.add_parser("serve", help="serve a model over HTTP (OpenAI and TEI routes)",
                              description=__doc__.splitlines()[0])
    add_arguments(p)
    p.set_defaults(func=_cmd_serve)
    return p

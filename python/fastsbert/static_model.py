"""Static embedding models: preparation for the native static engine (no torch, no ONNX).

A static model's vector for a text is the mean of its tokens' rows of an embedding matrix.
Two sources are recognised:

- a sentence-transformers model that is only ``StaticEmbedding`` (optionally followed by
  ``Normalize``): tokens without special tokens, the tokenizer file's own truncation, the
  mean, then Normalize if present;
- a model2vec directory (``config.json`` + ``model.safetensors`` with ``embeddings`` +
  ``tokenizer.json``): model2vec's ``StaticModel.encode`` rules, read from its config:
  each text cut to ``max_length * median token length`` characters, at most ``max_length``
  tokens (default 512; ``null``: no limit), the unknown token dropped, ``normalize``.

:func:`export_static` writes an exported directory the C++ engine reads:
``fastsbert.json`` (``"engine": "static"``, ``dim``, ``vocab_size``, ``embeddings``,
``normalize``, and when they apply ``max_seq_length``, ``max_chars``, ``drop_token_id``),
``embeddings.npy`` (float32, (vocab_size, dim), mapped by the engine, never copied) and
``tokenizer.json`` (the source's, with its post-processor and padding removed, since the
engine adds no special tokens).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .export_format import staged_directory

CONFIG_FILE = "fastsbert.json"
EMBEDDINGS_FILE = "embeddings.npy"
TOKENIZER_FILE = "tokenizer.json"
WEIGHTS_FILE = "model.safetensors"
MODEL2VEC = "model2vec"
SENTENCE_TRANSFORMERS = "sentence-transformers"
# model2vec's StaticModel default when its config names no max_length.
MODEL2VEC_DEFAULT_MAX_LENGTH = 512


def is_static_export(model_dir: Path) -> bool:
    """Whether ``model_dir`` is an exported static model (``"engine": "static"``)."""
    try:
        with open(Path(model_dir) / CONFIG_FILE, encoding="utf-8") as fh:
            return json.load(fh).get("engine") == "static"
    except (OSError, ValueError, AttributeError):
        return False  # the engine reports a missing or corrupt file itself


def _module_kind(entry: dict) -> str:
    return str(entry.get("type", "")).rsplit(".", 1)[-1]


def _st_modules(src: Path) -> list[dict] | None:
    path = src / "modules.json"
    if not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            modules = json.load(fh)
    except (OSError, ValueError) as e:
        raise ValueError(f"corrupt {path}: {e}") from e
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise ValueError(f"corrupt {path}: expected a list of module entries")
    return modules


def _is_model2vec(src: Path) -> bool:
    """model2vec's own layout: config.json + model.safetensors (key "embeddings") +
    tokenizer.json at the top of the directory."""
    if not all((src / f).is_file() for f in ("config.json", WEIGHTS_FILE, TOKENIZER_FILE)):
        return False
    from safetensors import safe_open

    try:
        with safe_open(str(src / WEIGHTS_FILE), framework="numpy") as fh:
            return "embeddings" in fh.keys()
    except Exception:  # not a safetensors file: not a model2vec model
        return False


def declares_static(src: Path) -> bool:
    """Whether the configs of ``src`` (weights not needed) name a static model: a
    StaticEmbedding first module, or model2vec's config.json. A Hub download first fetches
    the configs; this says the matrix must follow."""
    modules = _st_modules(src)
    if modules:
        return _module_kind(modules[0]) == "StaticEmbedding"
    try:
        config = json.loads((src / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("model_type") == "model2vec"


def static_source(src: Path) -> str | None:
    """``"model2vec"``, ``"sentence-transformers"`` (a StaticEmbedding [+ Normalize]
    stack) or None when ``src`` is not a static model."""
    if _is_model2vec(src):
        return MODEL2VEC
    modules = _st_modules(src)
    if modules and _module_kind(modules[0]) == "StaticEmbedding" and all(
            _module_kind(m) == "Normalize" for m in modules[1:]) and len(modules) <= 2:
        return SENTENCE_TRANSFORMERS
    return None


def _load_weights(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(f"static model weights not found: {path}")
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except Exception as e:
        raise ValueError(f"corrupt {path}: {e}") from e


def _fold(weights: dict[str, np.ndarray], path: Path) -> np.ndarray:
    """One float32 row per token id: a model2vec token mapping and per-token weights folded
    in (row[id] = embeddings[mapping[id]] * weights[id], what model2vec averages)."""
    if "embedding.weight" in weights:
        emb = weights["embedding.weight"]
    elif "embeddings" in weights:
        emb = weights["embeddings"]
        if "mapping" in weights:
            emb = emb[weights["mapping"].astype(np.int64)]
        if "weights" in weights:
            emb = emb.astype(np.float32) * weights["weights"].astype(np.float32)[:, None]
    else:
        raise ValueError(f"corrupt {path}: no 'embedding.weight' or 'embeddings' tensor "
                         f"(found {sorted(weights)})")
    if emb.ndim != 2 or emb.shape[0] == 0 or emb.shape[1] == 0:
        raise ValueError(f"corrupt {path}: the embedding matrix has shape {emb.shape}")
    return np.ascontiguousarray(emb, dtype=np.float32)


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"static model file not found: {path}")
    try:
        with open(path, encoding="utf-8") as fh:
            value = json.load(fh)
    except (OSError, ValueError) as e:
        raise ValueError(f"corrupt {path}: {e}") from e
    if not isinstance(value, dict):
        raise ValueError(f"corrupt {path}: expected a JSON object")
    return value


def _vocab(tokenizer: dict, path: Path) -> dict[str, int]:
    """token -> id as ``Tokenizer.get_vocab()`` gives it (model vocabulary + added tokens)."""
    model = tokenizer.get("model") or {}
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        out = {str(k): int(v) for k, v in vocab.items()}
    elif isinstance(vocab, list):  # Unigram: [piece, score] in id order
        out = {str(entry[0]): i for i, entry in enumerate(vocab)}
    else:
        raise ValueError(f"corrupt {path}: model.vocab is missing")
    for added in tokenizer.get("added_tokens") or []:
        out[str(added["content"])] = int(added["id"])
    return out


def _unknown_id(tokenizer: dict, vocab: dict[str, int]) -> int | None:
    """model2vec's unknown token: the model's unk_token (WordPiece, BPE, WordLevel) or
    unk_id (Unigram)."""
    model = tokenizer.get("model") or {}
    if model.get("type") == "Unigram":
        return model.get("unk_id")
    token = model.get("unk_token")
    return None if token is None else vocab.get(token)


def _check_rows(vocab: dict[str, int], rows: int, tokenizer_path: Path, weights_path: Path,
                exact: bool) -> None:
    top = max(vocab.values(), default=-1)
    if top >= rows or (exact and len(vocab) != rows):
        raise ValueError(
            f"{tokenizer_path} and {weights_path} disagree: the tokenizer has {len(vocab)} "
            f"tokens (largest id {top}) but the embedding matrix has {rows} rows")


def _engine_tokenizer(tokenizer: dict, keep_truncation: bool) -> dict:
    out = dict(tokenizer)
    out["post_processor"] = None  # no special tokens
    out["padding"] = None
    if not keep_truncation:
        out["truncation"] = None
    return out


def _prepare_model2vec(src: Path) -> tuple[np.ndarray, dict, dict]:
    config = _read_json(src / "config.json")
    tok_path, w_path = src / TOKENIZER_FILE, src / WEIGHTS_FILE
    tokenizer = _read_json(tok_path)
    weights = _load_weights(w_path)
    table = _fold(weights, w_path)
    vocab = _vocab(tokenizer, tok_path)
    _check_rows(vocab, table.shape[0], tok_path, w_path, exact="mapping" not in weights)
    max_length = config.get("max_length", MODEL2VEC_DEFAULT_MAX_LENGTH)
    keys: dict = {"normalize": bool(config.get("normalize", False))}
    if max_length is not None:
        tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
        median = int(np.median([len(t) for t in tokens]))
        keys["max_seq_length"] = int(max_length)
        keys["max_chars"] = int(max_length) * median
    unk = _unknown_id(tokenizer, vocab)
    if unk is not None:
        keys["drop_token_id"] = int(unk)
    return table, _engine_tokenizer(tokenizer, keep_truncation=False), keys


def _prepare_st(src: Path) -> tuple[np.ndarray, dict, dict]:
    modules = _st_modules(src) or []
    module_dir = src / str(modules[0].get("path", ""))
    tok_path, w_path = module_dir / TOKENIZER_FILE, module_dir / WEIGHTS_FILE
    if not w_path.is_file() and (module_dir / "pytorch_model.bin").is_file():
        raise ValueError(f"{module_dir}: weights saved as pytorch_model.bin; save the model with "
                         "safe_serialization=True (model.safetensors) to run it without torch")
    tokenizer = _read_json(tok_path)
    table = _fold(_load_weights(w_path), w_path)
    _check_rows(_vocab(tokenizer, tok_path), table.shape[0], tok_path, w_path, exact=False)
    keys = {"normalize": len(modules) == 2}
    truncation = tokenizer.get("truncation")
    if truncation and truncation.get("strategy") != "OnlySecond":  # the engine's token limit
        keys["max_seq_length"] = int(truncation["max_length"])
    st_config = src / "config_sentence_transformers.json"
    if st_config.is_file():  # prompts, which Encoder reads from fastsbert.json
        saved = _read_json(st_config)
        for key in ("prompts", "default_prompt_name"):
            if saved.get(key):
                keys[key] = saved[key]
    return table, _engine_tokenizer(tokenizer, keep_truncation=True), keys


def export_static(src: str | os.PathLike, out: str | os.PathLike, kind: str | None = None) -> Path:
    """Writes the exported static model of ``src`` to ``out`` (built under a temporary
    name and renamed into place, so ``out`` is never half-written). Returns ``out``."""
    src, out = Path(src), Path(out)
    kind = kind or static_source(src)
    if kind is None:
        raise ValueError(f"{src} is not a static embedding model (StaticEmbedding or model2vec)")
    table, tokenizer, keys = (_prepare_model2vec if kind == MODEL2VEC else _prepare_st)(src)
    config = {"engine": "static", "source": kind, "dim": int(table.shape[1]),
              "vocab_size": int(table.shape[0]), "embeddings": EMBEDDINGS_FILE, "pooling": "mean",
              **keys}
    try:
        with staged_directory(out) as tmp:
            np.save(tmp / EMBEDDINGS_FILE, table)
            with open(tmp / TOKENIZER_FILE, "w", encoding="utf-8") as fh:
                json.dump(tokenizer, fh, ensure_ascii=False)
            with open(tmp / CONFIG_FILE, "w", encoding="utf-8") as fh:
                json.dump(config, fh, indent=2)
    except FileExistsError:
        if not (out / CONFIG_FILE).is_file():  # another process finished it first: fine
            raise
    return out

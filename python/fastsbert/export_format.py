"""The exported model directory: its file names, how it is written, and how it is read.

Both roads that build one (:mod:`fastsbert.exporter` with torch, :mod:`fastsbert.graft` with
onnx) write the same directory through this module:

``model.onnx``
    inputs ``input_ids``, ``attention_mask`` (and ``token_type_ids`` when the encoder takes
    them), all int64 of shape (batch, seq) (and ``prompt_length``, int64 (1,), when the
    Pooling leaves the prompt's tokens out); one output ``sentence_embedding``, float32 of
    shape (batch, dim): encoder + pooling (+ Dense layers) (+ L2 normalisation).
``tokenizer.json`` (+ the other tokenizer files)
    padding off, truncation to ``max_seq_length`` (right, longest_first, stride 0): the
    settings sentence-transformers applies when it encodes.
``fastsbert.json``
    dim, max_seq_length, pooling, normalize, pad_token_id, input names, prompts.

The directory is built under a temporary name beside its target, under a lock, and renamed
into place (:func:`staged_directory`), so no reader ever sees it half-written.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from .files import exclusive_lock

FORMAT_VERSION = 1
CONFIG_NAME = "fastsbert.json"
MODEL_NAME = "model.onnx"
TOKENIZER_NAME = "tokenizer.json"
OUTPUT_NAME = "sentence_embedding"
# The graph input of a model whose Pooling leaves the prompt out (include_prompt=false):
# int64 of shape (1,), the leading tokens of every row that pooling skips.
PROMPT_LENGTH = "prompt_length"
# The encoder inputs a graph may take, in the order the exported graph lists them.
ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

# Architectures whose position ids start at pad_token_id + 1, so that fewer than
# max_position_embeddings tokens fit.
_OFFSET_POSITION_TYPES = {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "mpnet",
                          "data2vec-text", "longformer", "ibert", "luke"}


# --------------------------------------------------------------------------- reading


def is_complete_export(path: str | os.PathLike) -> bool:
    """True when ``path`` holds a finished export (what :func:`staged_directory` renames
    into place)."""
    path = Path(path)
    try:
        with open(path / CONFIG_NAME, encoding="utf-8") as fh:
            cfg = json.load(fh)
    except (OSError, ValueError):
        return False
    if not isinstance(cfg, dict):
        return False
    # A word-tokenizer model (WordEmbeddings, BoW) carries its tokenizer's config instead.
    word_tokenizer = cfg.get("word_tokenizer")
    tokenizer_file = word_tokenizer.get("file") if isinstance(word_tokenizer, dict) else TOKENIZER_NAME
    return (cfg.get("format_version") == FORMAT_VERSION and isinstance(tokenizer_file, str)
            and (path / MODEL_NAME).is_file() and (path / tokenizer_file).is_file())


# fastsbert.json "kind" of a cross-encoder export (fastsbert.cross_encoder_export); an
# embedding model's export has no "kind".
CROSS_ENCODER_KIND = "cross-encoder"


def has_export_config(path: Path) -> bool:
    """Whether ``path`` carries a fastsbert.json (an exported directory, maybe an old one)."""
    return (path / CONFIG_NAME).is_file()


def read_config(model_dir: str | os.PathLike) -> dict:
    """The ``fastsbert.json`` of an exported directory."""
    with open(Path(model_dir) / CONFIG_NAME, encoding="utf-8") as fh:
        return json.load(fh)


# --------------------------------------------------------------------------- shared steps


def position_capacity(config: Mapping) -> int | None:
    """How many tokens the encoder's position table holds, from its Hugging Face
    ``config.json`` (as a dict); None when the config does not say."""
    n = config.get("max_position_embeddings")
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        return None
    if config.get("model_type") in _OFFSET_POSITION_TYPES:
        n -= (config.get("pad_token_id") or 0) + 1
    return n


def fit_max_seq_length(seq_len: int, requested: int | None, capacity: int | None,
                       src: os.PathLike | str) -> int:
    """``seq_len`` capped at the position table (longer inputs would index past it); a
    length the caller asked for (``requested``) that does not fit raises ValueError."""
    if capacity is not None and seq_len > capacity:
        if requested is not None:
            raise ValueError(f"max_seq_length={requested} exceeds the {capacity} positions of {src}")
        seq_len = capacity
    return int(seq_len)


def bake_tokenizer(tokenizer_json: str, out: Path, *, max_seq_length: int,
                   lowercase: bool) -> None:
    """Writes ``out/tokenizer.json`` from a tokenizer's JSON text with inference-time
    settings baked in: padding off (the engine pads each batch itself), truncation to
    ``max_seq_length`` (right, longest_first, stride 0), and a Lowercase normaliser in
    front when the model lowercases texts (sentence_bert_config's do_lower_case) and the
    tokenizer does not already."""
    from tokenizers import Tokenizer, normalizers

    backend = Tokenizer.from_str(tokenizer_json)
    if lowercase:
        current = backend.normalizer
        if current is None:
            backend.normalizer = normalizers.Lowercase()
        elif "lowercase" not in current.__getstate__().decode("utf-8", "replace").lower():
            backend.normalizer = normalizers.Sequence([normalizers.Lowercase(), current])
    backend.no_padding()
    backend.enable_truncation(max_seq_length, stride=0, strategy="longest_first",
                              direction="right")
    backend.save(str(out / TOKENIZER_NAME))


def write_config(out: Path, *, dim: int, max_seq_length: int | None, pooling: str,
                 normalize: bool, pad_token_id: int, inputs: list[str], prompts: dict[str, str],
                 default_prompt_name: str | None, architecture: str, source: Path,
                 include_prompt: bool, max_positions: int | None,
                 extra: dict | None = None) -> dict:
    """Writes ``out/fastsbert.json`` and returns what it holds. ``max_seq_length`` None:
    no limit (a StaticEmbedding or BoW stack); ``extra``: keys of other stacks
    (fastsbert.stack_export)."""
    meta = {
        "format_version": FORMAT_VERSION,
        "dim": int(dim),
        "max_seq_length": None if max_seq_length is None else int(max_seq_length),
        "pooling": pooling,
        # The output has unit length when the last module normalises.
        "normalize": bool(normalize),
        "pad_token_id": int(pad_token_id),
        "inputs": list(inputs),
        "output": OUTPUT_NAME,
        "prompts": dict(prompts),
        "default_prompt_name": default_prompt_name,
        "architecture": str(architecture),
        "source": str(source),
    }
    if not include_prompt:
        meta["include_prompt"] = False
    if max_positions is not None:  # the engine checks max_seq_length against it at load
        meta["max_positions"] = int(max_positions)
    meta.update(extra or {})
    with open(out / CONFIG_NAME, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")
    return meta


# --------------------------------------------------------------------------- writing


def check_target(out: Path, overwrite: bool) -> None:
    """FileExistsError when ``out`` exists (a complete export, or a non-empty directory)
    and ``overwrite`` is False."""
    if not out.exists() or overwrite:
        return
    if is_complete_export(out):
        raise FileExistsError(f"{out}: already holds an export (pass overwrite=True to replace it)")
    if not out.is_dir() or any(out.iterdir()):
        raise FileExistsError(f"{out}: exists and is not an empty directory (pass overwrite=True to replace it)")


def _move_into_place(tmp: Path, out: Path, overwrite: bool) -> None:
    # A directory rename is atomic: readers see either no `out` or a complete one.
    check_target(out, overwrite)
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex}")
        os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        # Another process put a directory there in the meantime.
        if is_complete_export(out) and not overwrite:
            raise FileExistsError(f"{out}: already holds an export (written concurrently)") from None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_directory(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yields an empty temporary directory beside ``out``; when the block ends without an
    error it is renamed to ``out``, otherwise removed. One writer per target at a time
    (an exclusive lock beside it); a writer that finds ``out`` finished by another raises
    FileExistsError before it starts."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out.with_name(f".{out.name}.lock")):
        # Under the lock no other writer of `out` runs, so any temporary folder of this
        # target was left by a killed one: remove it.
        for stale in out.parent.glob(f".{glob.escape(out.name)}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        check_target(out, overwrite)  # again: another process may have finished first
        tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex}")
        tmp.mkdir()
        try:
            yield tmp
            _move_into_place(tmp, out, overwrite)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


def copy_export(src: Path, out: Path) -> None:
    """Copies the exported directory ``src`` to ``out`` (staged and renamed into place); a
    Hub repository holding an export is copied out of the Hub cache, whose files are shared
    read-only blobs, so that dtype variants can be added beside it."""
    import shutil

    try:
        with staged_directory(out) as tmp:
            shutil.copytree(src, tmp, symlinks=False, dirs_exist_ok=True)
    except FileExistsError:
        if not is_complete_export(out):  # another process finished it first: fine
            raise

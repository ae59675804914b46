"""Encoder: text in, embeddings out, through the native core."""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import _core, dtypes
from ._checks import check_int, check_str_items, check_texts, check_threads
from ._runtime import onnxruntime_library
from .compact import check_precision, quantize_embeddings
from .long_text import (
    LONG_TEXT_MODES,
    PROBE_TEXT,
    SpecialLayout,
    pool_windows,
    special_layout,
    split_windows,
)
from .export_format import read_config
from .prepare import prepare_model
from .prompts import merge_prompts, pick_prompt

_WARNED: set[str] = set()  # fallback reasons already reported
_NO_LIMIT = 2**62  # a max_length no text reaches: tokenize without truncation


class Encoder:
    """A loaded embedding model.

    Args:
        model: an exported directory, a sentence-transformers / Hugging Face model
            directory or Hub id (built once and cached; see :mod:`fastsbert.prepare`),
            or None for all-MiniLM-L6-v2. A local path that exists wins over a Hub id.
        device: "cpu", "cuda" or "cuda:N" (CUDA needs onnxruntime-gpu).
        threads: inference threads; None uses every CPU this process may use (its
            affinity mask); more than that is capped, with a warning.
        dtype: model precision: "float32" ("fp32"), "int8" (CPU), "float16" ("fp16", CUDA)
            or "auto" (int8 on a CPU with VNNI/AMX, float16 on CUDA, float32 otherwise;
            never a variant that failed its accuracy guard). A variant the directory
            lacks is built once and kept in the directory.
            ``Encoder.dtype`` is the precision that runs.
        revision, token, cache_folder: for a Hub id: the branch, tag or commit; the
            access token (default: ``HF_TOKEN`` / the saved login); the Hub cache
            (default: the one transformers and sentence-transformers share).
        prompts: prompt name -> text; added to (and overriding) the model's own prompts.
        default_prompt_name: the prompt ``encode`` uses when given none (default: the
            model's, usually none).
        truncate_dim: keep the first ``truncate_dim`` dimensions of every vector (for
            Matryoshka models); ``encode(truncate_dim=...)`` overrides it per call.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        device: str = "cpu",
        threads: int | None = None,
        dtype: str = dtypes.FLOAT32,
        *,
        revision: str | None = None,
        token: str | bool | None = None,
        cache_folder: str | os.PathLike | None = None,
        prompts: dict[str, str] | None = None,
        default_prompt_name: str | None = None,
        truncate_dim: int | None = None,
        _task: str | None = None,
    ) -> None:
        if not isinstance(device, str):
            raise TypeError(f"device must be a str such as 'cpu' or 'cuda:0', got {device!r}")
        n_threads = check_threads(threads)
        dtype = dtypes.canonical_dtype(dtype)
        dtypes.check_device(dtype, device)
        self.model_dir: Path = prepare_model(
            model, dtype=dtype, device=device, revision=revision, token=token,
            cache_folder=cache_folder, task=_task)
        self._core = _core.Encoder(
            str(self.model_dir), device=device, threads=n_threads,
            ort_library=onnxruntime_library(), dtype=dtype,
        )
        # A model that starts with a Router sends queries and documents through their own
        # routes, as sentence-transformers' encode_query / encode_document do: each route is
        # its own export, loaded on first use by an Encoder made with the same arguments.
        self._route: str | None = read_config(self.model_dir).get("route")
        self._task_encoders: dict[str, Encoder] = {}
        self._arguments = dict(model=model, device=device, threads=threads, dtype=dtype,
                               revision=revision, token=token, cache_folder=cache_folder,
                               prompts=prompts, default_prompt_name=default_prompt_name,
                               truncate_dim=truncate_dim)
        self.device = device
        self._special_layout: SpecialLayout | None = None
        self._tokenizer = self._load_tokenizer()
        self._init_prompts(prompts, default_prompt_name)
        self.truncate_dim = self._check_truncate_dim(truncate_dim)

    def _init_prompts(self, prompts: dict[str, str] | None, default_prompt_name: str | None) -> None:
        """The model's prompts (as sentence-transformers saved them) merged under the
        caller's, and the default prompt name checked against them."""
        config = read_config(self.model_dir)
        # sentence-transformers offers "query" and "document" on every embedding model.
        saved = {"query": "", "document": "", **(config.get("prompts") or {})}
        self.prompts: dict[str, str]
        self.default_prompt_name: str | None
        self.prompts, self.default_prompt_name = merge_prompts(
            saved, config.get("default_prompt_name"), prompts, default_prompt_name)
        # A model whose pooling leaves the prompt's tokens out (include_prompt=false): its
        # graph takes their count as the input "prompt_length". An export made before that
        # input existed pools every token, so a prompt would change its vectors where
        # sentence-transformers' would not: such a model refuses prompts.
        self._pools_prompt = bool(config.get("include_prompt", True))
        self._takes_prompt_length = "prompt_length" in config.get("inputs", ())
        self._prompt_tokens: dict[str, int] = {}  # prompt -> its tokens, specials excluded

    def _check_truncate_dim(self, truncate_dim: int | None) -> int | None:
        if truncate_dim is None:
            return None
        truncate_dim = check_int(truncate_dim, "truncate_dim")
        if truncate_dim > self._core.dim:
            raise ValueError(f"truncate_dim must be at most the model's dimension "
                             f"{self._core.dim}, got {truncate_dim}")
        return truncate_dim

    def resolve_prompt(self, prompt: str | None = None, prompt_name: str | None = None) -> str:
        """The prompt ``encode`` puts before each text: ``prompt`` as given, else the one
        named ``prompt_name``, else the default prompt, else none (sentence-transformers'
        rule; ``prompt`` wins when both are given)."""
        prompt = pick_prompt(self.prompts, self.default_prompt_name, prompt, prompt_name)
        if prompt and not self._pools_prompt and not self._takes_prompt_length:
            raise ValueError(
                f"{self.model_dir}: this model's pooling leaves prompt tokens out "
                "(include_prompt=false), and this export has no prompt_length input; "
                "export it again with this version of fastsbert, or encode without a prompt")
        return prompt

    @property
    def excludes_prompt(self) -> bool:
        """Whether pooling leaves the prompt's tokens out (include_prompt=false), as the
        model's Pooling was configured."""
        return not self._pools_prompt

    def prompt_length(self, prompt: str) -> int:
        """The leading tokens pooling leaves out for texts starting with ``prompt`` (0 for
        a model that pools every token): sentence-transformers' count, the prompt's
        tokens with its special tokens, less a trailing special token."""
        if not prompt or self._pools_prompt:
            return 0
        layout = self._layout()
        return self._prompt_token_count(prompt) + layout.count - (1 if layout.suffix else 0)

    def _prompt_token_count(self, prompt: str) -> int:
        """Tokens of ``prompt`` tokenized alone, special tokens excluded (kept per prompt:
        every encode call with a prompt needs it)."""
        count = self._prompt_tokens.get(prompt)
        if count is None:
            if len(self._prompt_tokens) >= 256:  # free-form prompts: keep it bounded
                self._prompt_tokens.clear()
            _, offsets = self._tokenize([prompt], None)
            count = self._prompt_tokens[prompt] = int(offsets[1]) - self._layout().count
        return count

    def _load_tokenizer(self):
        """HF ``tokenizers`` for a tokenizer.json the native tokenizer cannot run, else None."""
        if self._core.has_tokenizer:  # tokenizer.json, a word tokenizer or a static model
            return None
        path = self.model_dir / "tokenizer.json"
        if not path.is_file():
            raise FileNotFoundError(f"model directory {self.model_dir} has no tokenizer.json")
        reason = self._core.tokenizer_unavailable_reason
        if reason not in _WARNED:
            _WARNED.add(reason)
            warnings.warn(
                f"fastsbert: {reason}; tokenizing with the `tokenizers` package instead",
                stacklevel=3,
            )
        try:
            from tokenizers import Tokenizer
        except ImportError as e:
            raise ImportError(f"{reason}, and the `tokenizers` package is not installed") from e
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as e:
            raise ValueError(f"corrupt {path}: {e}") from e
        # The engine pads each batch itself. Truncation (sentence-transformers' rule) is
        # applied after tokenizing, so the same tokenizer also serves long_text="chunk".
        tok.no_padding()
        tok.no_truncation()
        return tok

    @property
    def native_tokenizer(self) -> bool:
        """Whether text is tokenized by the native tokenizer (else by HF ``tokenizers``)."""
        return self._tokenizer is None

    @property
    def dtype(self) -> str:
        """The precision that runs: "float32", "int8" or "float16" (never "auto")."""
        return self._core.dtype

    @property
    def dim(self) -> int:
        """Length of each embedding ``encode`` returns (``truncate_dim`` when set)."""
        return self.truncate_dim or self._core.dim

    def output_dim(self, truncate_dim: int | None = None) -> int:
        """Length of the vectors ``encode(truncate_dim=truncate_dim)`` returns."""
        return (self.dim if truncate_dim is None else self._check_truncate_dim(truncate_dim))

    @property
    def model_dim(self) -> int:
        """Length of the model's own output, before any ``truncate_dim``."""
        return self._core.dim

    @property
    def max_seq_length(self) -> int:
        """Longest input in tokens (special tokens included); longer texts are truncated."""
        return self._core.max_seq_length

    @property
    def normalized(self) -> bool:
        """Whether the model's graph already L2-normalises its output."""
        return self._core.normalize

    def tokenize(
        self, texts: Sequence[str], truncate: bool = True, max_length: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of ``texts`` in CSR form: (ids int64 (total,), offsets int64 (n + 1,)),
        special tokens added. Each is cut to ``max_length`` tokens (default:
        max_seq_length) unless ``truncate=False``."""
        items, _ = check_texts(texts)
        if not truncate:
            return self._tokenize(items, None)
        limit = self.max_seq_length if max_length is None else check_int(max_length, "max_length")
        return self._tokenize(items, limit)

    def encode_tokens(
        self, ids: np.ndarray, offsets: np.ndarray, batch_size: int = 32, prompt_length: int = 0
    ) -> np.ndarray:
        """Embeds token sequences in the CSR form :meth:`tokenize` returns (each at most
        max_seq_length long): float32 (n, dim), without tokenizing again.
        ``prompt_length`` (see :meth:`prompt_length`) applies to models whose pooling
        leaves the prompt out."""
        return self._core.encode_ids(ids, offsets, batch_size=check_int(batch_size, "batch_size"),
                                     prompt_length=check_int(prompt_length, "prompt_length",
                                                             minimum=0))

    def _tokenize(self, items: list, max_length: int | None) -> tuple[np.ndarray, np.ndarray]:
        if self._tokenizer is None:
            return self._core.tokenize(items, max_length=max_length or _NO_LIMIT)
        check_str_items(items)
        try:
            encodings = self._tokenizer.encode_batch(items, add_special_tokens=True)
        except Exception as e:
            raise ValueError(f"tokenization failed: {e}") from e
        rows = [e.ids for e in encodings]
        if max_length is not None and any(len(r) > max_length for r in rows):
            pre, suf = len(self._layout().prefix), len(self._layout().suffix)
            keep = max_length - pre - suf  # content tokens, cut on the right as HF does
            rows = [r if len(r) <= max_length else r[:pre + keep] + r[len(r) - suf:] for r in rows]
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=int(offsets[-1]))
        return ids, offsets

    def _layout(self) -> SpecialLayout:
        """Where this model's special tokens sit around a sequence's content."""
        if self._special_layout is None:
            ids, offsets = self._tokenize(["", PROBE_TEXT], None)
            self._special_layout = special_layout(
                ids[: offsets[1]].tolist(), ids[offsets[1]:].tolist())
        return self._special_layout

    def encode(
        self,
        texts: str | Sequence[str],
        batch_size: int = 32,
        normalize: bool | None = None,
        show_progress_bar: bool = False,
        long_text: str = "truncate",
        chunk_overlap: int = 32,
        precision: str = "float32",
        ranges: np.ndarray | None = None,
        prompt_name: str | None = None,
        prompt: str | None = None,
        truncate_dim: int | None = None,
    ) -> np.ndarray:
        """Embeds ``texts``.

        Returns float32 (n, dim) for a list of n texts, or (dim,) for one str.
        ``normalize``: None keeps the model's own behaviour; True L2-normalises the
        output; False adds no normalisation (a model with a Normalize module still
        normalises, as in sentence-transformers).
        ``long_text``: ``"truncate"`` cuts a text at max_seq_length tokens, as
        sentence-transformers does; ``"chunk"`` embeds windows of ``chunk_overlap``
        overlapping tokens and pools them into one vector (see :mod:`fastsbert.long_text`).
        ``precision``: ``float32``, or ``int8`` / ``uint8`` (with the calibration
        ``ranges``, shape (2, dim); taken from these texts' vectors when None) or
        ``binary`` / ``ubinary`` (sign bits packed 8 per byte), as sentence-transformers'
        ``quantize_embeddings`` (see :mod:`fastsbert.compact`).
        ``prompt`` / ``prompt_name``: text put before every input (see
        :meth:`resolve_prompt`); its tokens count toward max_seq_length, as in
        sentence-transformers. With ``long_text="chunk"`` every window starts with it.
        ``truncate_dim``: keep the first dimensions (default: the Encoder's). As in
        sentence-transformers, truncation follows the model's own normalisation, so the
        vectors are unit length only with ``normalize=True``, which normalises after it.
        """
        items, single = check_texts(texts)
        prompt = self.resolve_prompt(prompt, prompt_name)
        truncate_dim = (self.truncate_dim if truncate_dim is None
                        else self._check_truncate_dim(truncate_dim))
        batch_size = check_int(batch_size, "batch_size")
        check_precision(precision)
        if normalize is not None and not isinstance(normalize, (bool, np.bool_)):
            raise TypeError(f"normalize must be None, True or False, got {normalize!r}")
        if long_text not in LONG_TEXT_MODES:
            raise ValueError(f"long_text must be one of {LONG_TEXT_MODES}, got {long_text!r}")
        chunk_overlap = check_int(chunk_overlap, "chunk_overlap", minimum=0)
        progress = None
        bar = None
        if show_progress_bar and items:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(items), desc="Encoding", unit="text")

            def progress(done: int) -> None:
                bar.update(done - bar.n)

        prompt_tokens = 0
        skip = self.prompt_length(prompt)  # tokens pooling leaves out
        if prompt:
            check_str_items(items)
            items = [prompt + t for t in items]
            if long_text == "chunk":
                prompt_tokens = self._prompt_token_count(prompt)
        try:
            if long_text == "chunk":
                windows = split_windows(*self._tokenize(items, None), self.max_seq_length,
                                        self._layout(), chunk_overlap, prompt_tokens)
                if bar is not None:
                    bar.total = len(windows.owner)
                rows = self._core.encode_ids(windows.ids, windows.offsets, batch_size=batch_size,
                                             progress=progress, prompt_length=skip)
                out = pool_windows(rows, windows, len(items), self.normalized)
            elif self._tokenizer is None:  # native: tokenize + embed in one GIL-free call
                out = self._core.encode_texts(items, batch_size=batch_size, progress=progress,
                                              prompt_length=skip)
            else:
                ids, offsets = self._tokenize(items, self.max_seq_length)
                out = self._core.encode_ids(
                    ids, offsets, batch_size=batch_size, progress=progress, prompt_length=skip
                )
        finally:
            if bar is not None:
                bar.close()
        truncated = truncate_dim is not None and truncate_dim < out.shape[1]
        if truncated:
            out = np.ascontiguousarray(out[:, :truncate_dim])
        if normalize and (truncated or not self.normalized):
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            np.maximum(norms, 1e-12, out=norms)
            out /= norms
        if precision != "float32":
            out = quantize_embeddings(out, precision, ranges=ranges)
        return out[0] if single else out

    def encode_query(self, texts: str | Sequence[str], prompt_name: str | None = None,
                     prompt: str | None = None, **kwargs) -> np.ndarray:
        """:meth:`encode` for search queries: uses the model's ``"query"`` prompt unless
        a prompt is given (sentence-transformers' rule; an empty "query" prompt also
        keeps the default prompt out)."""
        routed = self._for_task("query")
        if routed is not self:
            return routed.encode_query(texts, prompt_name=prompt_name, prompt=prompt, **kwargs)
        if prompt_name is None and prompt is None and "query" in self.prompts:
            prompt_name = "query"
        return self.encode(texts, prompt_name=prompt_name, prompt=prompt, **kwargs)

    def encode_document(self, texts: str | Sequence[str], prompt_name: str | None = None,
                        prompt: str | None = None, **kwargs) -> np.ndarray:
        """:meth:`encode` for the searched documents: uses the first of the model's
        ``"document"``, ``"passage"``, ``"corpus"`` prompts unless a prompt is given."""
        routed = self._for_task("document")
        if routed is not self:
            return routed.encode_document(texts, prompt_name=prompt_name, prompt=prompt, **kwargs)
        if prompt_name is None and prompt is None:
            prompt_name = next((n for n in ("document", "passage", "corpus") if n in self.prompts),
                               None)
        return self.encode(texts, prompt_name=prompt_name, prompt=prompt, **kwargs)

    def _for_task(self, task: str) -> Encoder:
        """The Encoder of the route ``task`` takes: ``self`` without a Router, or when this
        export is that route already."""
        if self._route is None or self._arguments["model"] is None:
            return self
        if task not in self._task_encoders:
            encoder = Encoder(**self._arguments, _task=task)
            self._task_encoders[task] = self if encoder._route == self._route else encoder
            if encoder._route != self._route:
                encoder._task_encoders[task] = encoder  # it answers that task itself
        return self._task_encoders[task]

    def __repr__(self) -> str:
        return (
            f"Encoder(model_dir={str(self.model_dir)!r}, dim={self.dim}, "
            f"max_seq_length={self.max_seq_length}, device={self.device!r}, dtype={self.dtype!r})"
        )


_ENCODERS: dict[tuple, Encoder] = {}


def _shared_encoder(model: str | os.PathLike | None, device: str,
                    dtype: str = dtypes.FLOAT32, revision: str | None = None) -> Encoder:
    """The Encoder kept for module-level calls, one per (model, revision, device, dtype)."""
    key = (None if model is None else os.fspath(model), revision, device,
           dtypes.canonical_dtype(dtype))
    enc = _ENCODERS.get(key)
    if enc is None:
        enc = Encoder(model, device=device, dtype=key[3], revision=revision)
        _ENCODERS[key] = enc
    return enc


def encode(
    texts: str | Sequence[str],
    model: str | os.PathLike | None = None,
    batch_size: int = 32,
    normalize: bool | None = None,
    device: str = "cpu",
    show_progress_bar: bool = False,
    long_text: str = "truncate",
    chunk_overlap: int = 32,
    precision: str = "float32",
    ranges: np.ndarray | None = None,
    dtype: str = dtypes.FLOAT32,
    prompt_name: str | None = None,
    prompt: str | None = None,
    truncate_dim: int | None = None,
    revision: str | None = None,
) -> np.ndarray:
    """Embeds ``texts`` with ``model`` (a path, a Hub id or None; see :class:`Encoder` and
    :meth:`Encoder.encode`); one loaded model is kept per (model, revision, device, dtype)
    for later calls. ``dtype`` is the model's precision (see :class:`Encoder`);
    ``precision`` that of the output. Returns (n, dim), or (dim,) for a single str."""
    return _shared_encoder(model, device, dtype, revision).encode(
        texts, batch_size=batch_size, normalize=normalize, show_progress_bar=show_progress_bar,
        long_text=long_text, chunk_overlap=chunk_overlap, precision=precision, ranges=ranges,
        prompt_name=prompt_name, prompt=prompt, truncate_dim=truncate_dim,
    )


def encode_query(texts: str | Sequence[str], model: str | os.PathLike | None = None, *,
                 device: str = "cpu", dtype: str = dtypes.FLOAT32, revision: str | None = None,
                 **kwargs) -> np.ndarray:
    """:func:`encode` with the model's query prompt (see :meth:`Encoder.encode_query`)."""
    return _shared_encoder(model, device, dtype, revision).encode_query(texts, **kwargs)


def encode_document(texts: str | Sequence[str], model: str | os.PathLike | None = None, *,
                    device: str = "cpu", dtype: str = dtypes.FLOAT32, revision: str | None = None,
                    **kwargs) -> np.ndarray:
    """:func:`encode` with the model's document prompt (see :meth:`Encoder.encode_document`)."""
    return _shared_encoder(model, device, dtype, revision).encode_document(texts, **kwargs)


def paraphrase_mining(
    texts: Sequence[str],
    model: str | os.PathLike | Encoder | None = None,
    top_k: int = 100,
    max_pairs: int = 500_000,
    batch_size: int = 32,
    threads: int | None = None,
    show_progress_bar: bool = False,
) -> list[list[float | int]]:
    """The most similar pairs among ``texts``: encodes them with ``model`` (an
    :class:`Encoder`, a model path, or None for the default model) and mines the
    embeddings with :func:`fastsbert.paraphrase_mining_embeddings`.

    Returns ``[[score, i, j], ...]`` with ``i < j``, best first, like
    sentence-transformers' ``util.paraphrase_mining``.
    """
    from .similarity import paraphrase_mining_embeddings

    if isinstance(texts, np.ndarray) and texts.dtype != object and texts.dtype.kind != "U":
        raise TypeError(
            "paraphrase_mining takes texts; for embeddings use paraphrase_mining_embeddings"
        )
    items, single = check_texts(texts)
    if single:
        raise TypeError("paraphrase_mining takes a list of texts, got a single str")
    enc = model if isinstance(model, Encoder) else _shared_encoder(model, "cpu")
    emb = enc.encode(items, batch_size=batch_size, show_progress_bar=show_progress_bar)
    return paraphrase_mining_embeddings(emb, top_k=top_k, max_pairs=max_pairs, threads=threads)

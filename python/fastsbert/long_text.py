"""Texts longer than the model's limit: token windows with overlap, pooled into one vector.

With ``long_text="chunk"`` a text of more than ``max_seq_length`` tokens is split into
windows of its content tokens, each at most ``max_seq_length - specials`` long and
overlapping the previous one by ``overlap`` tokens; every window gets the model's special
tokens (``[CLS] ... [SEP]``, ``<s> ... </s>``) as a full sequence would. All windows of
all texts run in the same engine call as the short texts, and a text's vector is the
mean of its windows' vectors weighted by their content-token counts (re-normalised when
the model normalises). A text within the limit is a single window: its vector is the
one ``long_text="truncate"`` gives. With a prompt, the prompt's tokens open every window
and the text's own tokens share the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LONG_TEXT_MODES = ("truncate", "chunk")
PROBE_TEXT = "hello"  # any short text: its ids show where special tokens go


@dataclass(frozen=True)
class SpecialLayout:
    """The special tokens a model's tokenizer puts around one sequence's content."""

    prefix: tuple[int, ...]
    suffix: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.prefix) + len(self.suffix)


def special_layout(empty_ids: list[int], probe_ids: list[int]) -> SpecialLayout:
    """Splits the specials of the empty text (all of its ids) into the part before and
    the part after the content, from the ids of a short probe text."""
    specials = list(empty_ids)
    for p in range(len(specials) + 1):
        s = len(specials) - p
        if (probe_ids[:p] == specials[:p] and probe_ids[len(probe_ids) - s:] == specials[p:]
                and len(probe_ids) > len(specials)):
            return SpecialLayout(tuple(specials[:p]), tuple(specials[p:]))
    raise ValueError("cannot tell where the tokenizer's special tokens go "
                     f"(empty text -> {specials}, {PROBE_TEXT!r} -> {probe_ids})")


@dataclass
class Windows:
    """Token windows in CSR form, and for each window its text and content-token count."""

    ids: np.ndarray
    offsets: np.ndarray
    owner: np.ndarray
    weight: np.ndarray


def split_windows(ids: np.ndarray, offsets: np.ndarray, max_length: int,
                  layout: SpecialLayout, overlap: int, prompt_tokens: int = 0) -> Windows:
    """Windows of every text (untruncated CSR ``ids``/``offsets``): one per text within
    ``max_length`` tokens, several overlapping ones per longer text. The first
    ``prompt_tokens`` content tokens of each text (its prompt) are repeated in every window."""
    width = max_length - layout.count - prompt_tokens  # text tokens per window
    if width < 1:
        raise ValueError(f"max_seq_length {max_length} leaves no room beside "
                         f"{layout.count} special tokens and a prompt of {prompt_tokens}")
    if not 0 <= overlap < width:
        raise ValueError(f"chunk_overlap must be in [0, {width - 1}] for this model "
                         f"({width} content tokens per window), got {overlap}")
    step = width - overlap
    pre, suf = np.asarray(layout.prefix, np.int64), np.asarray(layout.suffix, np.int64)
    pieces: list[np.ndarray] = []
    owner: list[int] = []
    weight: list[int] = []
    for i, (a, b) in enumerate(zip(offsets[:-1].tolist(), offsets[1:].tolist())):
        if b - a <= max_length:
            pieces.append(ids[a:b])
            owner.append(i)
            weight.append(max(b - a - layout.count - prompt_tokens, 1))
            continue
        head = ids[a + len(pre):a + len(pre) + prompt_tokens]
        content = ids[a + len(pre) + prompt_tokens:b - len(suf)]
        start = 0
        while True:
            piece = content[start:start + width]
            pieces.append(np.concatenate([pre, head, piece, suf]))
            owner.append(i)
            weight.append(len(piece))
            if start + width >= len(content):
                break
            start += step
    lengths = np.fromiter((len(p) for p in pieces), np.int64, len(pieces))
    out_offsets = np.zeros(len(pieces) + 1, np.int64)
    np.cumsum(lengths, out=out_offsets[1:])
    out_ids = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
    return Windows(out_ids.astype(np.int64, copy=False), out_offsets,
                   np.asarray(owner, np.int64), np.asarray(weight, np.float64))


def pool_windows(rows: np.ndarray, windows: Windows, n: int, normalize: bool) -> np.ndarray:
    """One vector per text: its single window's row as is, or the token-weighted mean of
    its windows' rows (L2-normalised when ``normalize``)."""
    counts = np.bincount(windows.owner, minlength=n)
    if (counts == 1).all():
        return rows
    out = np.zeros((n, rows.shape[1]), np.float64)
    np.add.at(out, windows.owner, rows.astype(np.float64) * windows.weight[:, None])
    out /= np.bincount(windows.owner, weights=windows.weight, minlength=n)[:, None]
    if normalize:
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    result = out.astype(np.float32)
    single = counts == 1  # rows of texts within the limit, exactly as computed
    result[single] = rows[np.flatnonzero(np.isin(windows.owner, np.flatnonzero(single)))]
    return result

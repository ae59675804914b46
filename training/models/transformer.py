"""Transformer: a Hugging Face encoder and its tokenizer; texts -> token embeddings."""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from ...model_cache import resolve_source
from ..errors import UnsupportedModelError
from ._files import read_json_object, write_json

CONFIG_NAME = "sentence_bert_config.json"
# Names older releases gave the same file, tried in this order.
_LEGACY_CONFIG_NAMES = (
    "sentence_roberta_config.json",
    "sentence_distilbert_config.json",
    "sentence_camembert_config.json",
    "sentence_albert_config.json",
    "sentence_xlm-roberta_config.json",
    "sentence_xlnet_config.json",
)
# Keyword dicts a config may hold under either its old or its new name.
_ARG_KEYS = {
    "model_args": ("model_args", "model_kwargs"),
    "tokenizer_args": ("tokenizer_args", "processor_kwargs"),
    "config_args": ("config_args", "config_kwargs"),
}
_ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class Transformer(nn.Module):
    """A Hugging Face encoder (``AutoModel``) and its tokenizer.

    Args:
        model_name_or_path: a directory, or a Hugging Face Hub id.
        max_seq_length: truncation length in tokens. None: the tokenizer's
            ``model_max_length``, capped at the encoder's position embeddings.
        model_args, tokenizer_args, config_args: keyword arguments for
            ``AutoModel`` / ``AutoTokenizer`` / ``AutoConfig.from_pretrained``
            (``revision`` and ``token`` in ``model_args`` also select the Hub revision).
        cache_dir: the Hugging Face cache to look Hub ids up in.
        do_lower_case: lowercase texts before tokenising.
        tokenizer_name_or_path: take the tokenizer from elsewhere.

    ``forward(features)`` reads ``input_ids``, ``attention_mask`` (and ``token_type_ids``)
    and writes ``token_embeddings`` (batch, seq, hidden).
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike,
        max_seq_length: int | None = None,
        model_args: dict[str, Any] | None = None,
        tokenizer_args: dict[str, Any] | None = None,
        config_args: dict[str, Any] | None = None,
        cache_dir: str | os.PathLike | None = None,
        do_lower_case: bool = False,
        tokenizer_name_or_path: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        model_args = dict(model_args or {})
        tokenizer_args = dict(tokenizer_args or {})
        config_args = dict(config_args or {})
        # A Hub id resolves to a local snapshot once, here; the loaders then read that folder.
        hub = {
            "revision": model_args.pop("revision", None),
            "token": model_args.pop("token", None),
            "cache_folder": cache_dir,
        }
        source = resolve_source(model_name_or_path, **hub)
        if not (source / "config.json").is_file():
            raise FileNotFoundError(f"{source}: missing config.json (Transformer module)")
        try:
            config = AutoConfig.from_pretrained(str(source), **config_args)
            self.auto_model = AutoModel.from_pretrained(str(source), config=config, **model_args)
        except OSError as exc:
            raise OSError(f"{source}: cannot load the encoder: {exc}") from exc
        tokenizer_source = source
        if tokenizer_name_or_path is not None:
            tokenizer_source = resolve_source(tokenizer_name_or_path, **hub)
        if max_seq_length is not None:
            tokenizer_args.setdefault("model_max_length", max_seq_length)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_source), **tokenizer_args)
        except (OSError, ValueError) as exc:
            raise FileNotFoundError(
                f"{tokenizer_source}: cannot load the tokenizer: {exc}"
            ) from exc
        positions = getattr(config, "max_position_embeddings", None)
        if (
            "model_max_length" not in tokenizer_args
            and isinstance(positions, int)
            and positions > 0
        ):
            # As sentence-transformers: the tokenizer's limit, but never past the positions.
            self.tokenizer.model_max_length = min(self.tokenizer.model_max_length, positions)
        self.do_lower_case = bool(do_lower_case)
        self.source = source
        accepted = inspect.signature(self.auto_model.forward).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
        self._input_names = tuple(k for k in _ENCODER_INPUTS if takes_any or k in accepted)

    # ----------------------------------------------------------------- properties
    @property
    def max_seq_length(self) -> int:
        """Truncation length in tokens (the tokenizer's ``model_max_length``)."""
        return self.tokenizer.model_max_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self.tokenizer.model_max_length = value

    def get_word_embedding_dimension(self) -> int:
        """Size of the token embeddings (the encoder's hidden size)."""
        return int(self.auto_model.config.hidden_size)

    def __repr__(self) -> str:
        return (
            f"Transformer({self.get_config_dict()}, architecture={type(self.auto_model).__name__})"
        )

    # ----------------------------------------------------------------- forward
    def tokenize(self, texts: Sequence[str]) -> dict[str, Tensor]:
        """Tokenises a batch, padded to its longest text and truncated to ``max_seq_length``."""
        texts = [t.lower() for t in texts] if self.do_lower_case else list(texts)
        return dict(
            self.tokenizer(
                texts,
                padding=True,
                truncation="longest_first",
                max_length=self.max_seq_length,
                return_tensors="pt",
            )
        )

    def forward(
        self, features: dict[str, Tensor], output_hidden_states: bool = False
    ) -> dict[str, Tensor]:
        """Writes ``token_embeddings``, and with ``output_hidden_states`` (or an encoder
        config that sets it) also ``all_layer_embeddings`` (the embedding layer's output first, the last layer last)."""
        inputs = {k: features[k] for k in self._input_names if k in features}
        # As sentence-transformers: an encoder configured with output_hidden_states (for
        # WeightedLayerPooling) always hands its hidden states on.
        output_hidden_states = output_hidden_states or bool(
            getattr(self.auto_model.config, "output_hidden_states", False)
        )
        out = self.auto_model(**inputs, output_hidden_states=output_hidden_states, return_dict=True)
        features["token_embeddings"] = out.last_hidden_state
        if output_hidden_states:
            features["all_layer_embeddings"] = out.hidden_states
        return features

    # ----------------------------------------------------------------- files
    def get_config_dict(self) -> dict:
        return {"max_seq_length": self.max_seq_length, "do_lower_case": self.do_lower_case}

    def save(self, path: str | os.PathLike) -> None:
        """Writes the encoder (``config.json``, ``model.safetensors``), the tokenizer (its
        ``model_max_length`` is ``max_seq_length``) and ``sentence_bert_config.json``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.auto_model.save_pretrained(str(path), safe_serialization=True)
        self.tokenizer.save_pretrained(str(path))
        write_json(path / CONFIG_NAME, self.get_config_dict())

    @classmethod
    def load(cls, path: str | os.PathLike, model_args: dict[str, Any] | None = None) -> Transformer:
        """Loads a saved Transformer module; ``model_args`` add to (and win over) the
        ``model_args`` its config stores."""
        path = Path(path)
        cfg: dict[str, Any] = {}
        for name in (CONFIG_NAME, *_LEGACY_CONFIG_NAMES):
            if (path / name).is_file():
                cfg = read_json_object(path / name, what="Transformer module config")
                break
        task = cfg.get("transformer_task", "feature-extraction")
        if task != "feature-extraction":
            raise UnsupportedModelError(
                f"{path}: Transformer task {task!r} is not supported, only 'feature-extraction'"
            )
        kwargs: dict[str, Any] = {}
        for arg, names in _ARG_KEYS.items():
            merged: dict[str, Any] = {}
            for name in names:
                merged.update(cfg.get(name) or {})
            merged.pop("trust_remote_code", None)  # a downloaded config must not grant it
            kwargs[arg] = merged
        kwargs["model_args"].update(model_args or {})
        for key in ("revision", "token"):  # `path` is a local folder: nothing left to look up
            kwargs["model_args"].pop(key, None)
        max_seq_length = cfg.get("max_seq_length")
        return cls(
            path,
            max_seq_length=int(max_seq_length) if max_seq_length is not None else None,
            do_lower_case=bool(cfg.get("do_lower_case", False)),
            **kwargs,
        )

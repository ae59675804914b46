"""CrossEncoder: a Hugging Face sequence-classification model that scores (query, document)
pairs, trainable with ``fit`` and the losses in ``fastsbert.training.cross_encoder.losses``,
saved in sentence-transformers' CrossEncoder layout."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ...model_cache import resolve_source
from ..models._files import read_json, read_json_object, write_json
from .activation import activation_from_name, activation_name, default_activation
from .collate import collate_pairs

logger = logging.getLogger(__name__)

# Files of sentence-transformers' layout (the model directory's root).
MODULES_NAME = "modules.json"
MODEL_CONFIG_NAME = "config_sentence_transformers.json"
MODULE_CONFIG_NAME = "sentence_bert_config.json"
_TRANSFORMER_TYPE = "sentence_transformers.base.modules.transformer.Transformer"
_ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _transformer_folder(root: Path) -> Path:
    """The folder holding the Hugging Face model: the root, or the first module's folder
    when a ``modules.json`` lists one elsewhere. A sentence-embedding model's other modules
    (pooling, dense, normalize) are not used: its encoder becomes the cross-encoder's body."""
    if not (root / MODULES_NAME).is_file():
        return root
    entries = read_json(root / MODULES_NAME, what="sentence-transformers module list")
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        raise ValueError(f"{root / MODULES_NAME}: corrupt module list: expected a list of objects")
    if len(entries) > 1:
        logger.info("%s: using the encoder of this %d-module model as the body", root, len(entries))
    return root / str(entries[0].get("path", ""))


def _check_pairs(pairs: Sequence) -> None:
    for i, pair in enumerate(pairs):
        if (
            isinstance(pair, str)
            or not isinstance(pair, Sequence)
            or len(pair) != 2
            or not all(isinstance(t, str) for t in pair)
        ):
            raise ValueError(f"pair {i} must be two texts (a, b), got {pair!r}")


class CrossEncoder(nn.Module):
    """Scores text pairs jointly: ``[CLS] a [SEP] b [SEP]`` -> (num_labels,) logits.

    Args:
        model_name_or_path: a directory or Hub id: a saved cross-encoder (sentence-transformers
            layout or a plain ``*ForSequenceClassification`` checkpoint), or an encoder whose
            classification head is then new.
        num_labels: outputs of the head. None: the saved head's, or 1 for a new head (as
            sentence-transformers).
        max_length: truncation length of a pair in tokens (default: the tokenizer's
            ``model_max_length``, capped at the position embeddings).
        activation_fn: applied to the logits by ``predict``/``rank`` and saved with the model.
            None: the saved one, else sigmoid for one label and identity otherwise.
        device: default ``cuda`` when available, else ``cpu``.
        model_kwargs, tokenizer_kwargs, config_kwargs: for the ``from_pretrained`` calls.
        revision, token, cache_folder: how a Hub id is looked up.

    ``forward(features)`` takes a tokenised batch of pairs and returns the logits
    (batch, num_labels).
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike,
        num_labels: int | None = None,
        max_length: int | None = None,
        activation_fn: Callable[[Tensor], Tensor] | None = None,
        *,
        device: str | None = None,
        model_kwargs: dict[str, Any] | None = None,
        tokenizer_kwargs: dict[str, Any] | None = None,
        config_kwargs: dict[str, Any] | None = None,
        revision: str | None = None,
        token: str | bool | None = None,
        cache_folder: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

        root = resolve_source(
            model_name_or_path, revision=revision, token=token, cache_folder=cache_folder
        )
        folder = _transformer_folder(root)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"{folder}: missing config.json (Hugging Face model config)")
        config_kwargs = dict(config_kwargs or {})
        if num_labels is not None:
            if int(num_labels) < 1:
                raise ValueError(f"num_labels must be at least 1, got {num_labels}")
            config_kwargs["num_labels"] = int(num_labels)
        try:
            config = AutoConfig.from_pretrained(str(folder), **config_kwargs)
            trained_head = any(
                a.endswith("ForSequenceClassification") for a in (config.architectures or [])
            )
            if num_labels is None and not trained_head:
                config.num_labels = 1
            self.model = AutoModelForSequenceClassification.from_pretrained(
                str(folder), config=config, **(model_kwargs or {})
            )
        except OSError as exc:
            raise OSError(f"{folder}: cannot load the model: {exc}") from exc
        tokenizer_kwargs = dict(tokenizer_kwargs or {})
        if max_length is not None:
            tokenizer_kwargs["model_max_length"] = int(max_length)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder), **tokenizer_kwargs)
        except (OSError, ValueError) as exc:
            raise FileNotFoundError(f"{folder}: cannot load the tokenizer: {exc}") from exc
        positions = getattr(config, "max_position_embeddings", None)
        if max_length is None and isinstance(positions, int) and positions > 0:
            self.tokenizer.model_max_length = min(self.tokenizer.model_max_length, positions)
        if activation_fn is None:
            activation_fn = activation_from_name(self._saved_activation(root), where=str(root))
        self.activation_fn = activation_fn or default_activation(self.num_labels)
        self._input_names = _ENCODER_INPUTS
        self.to(device or ("cuda" if torch.cuda.is_available() else "cpu"))

    def _saved_activation(self, root: Path) -> str | None:
        # The model-level config wins over the Hugging Face config's section, as in
        # sentence-transformers.
        if (root / MODEL_CONFIG_NAME).is_file():
            settings = read_json_object(
                root / MODEL_CONFIG_NAME, what="sentence-transformers model config"
            )
            if settings.get("activation_fn"):
                return settings["activation_fn"]
        section = getattr(self.model.config, "sentence_transformers", None) or {}
        if isinstance(section, dict) and section.get("activation_fn"):
            return section["activation_fn"]
        return getattr(self.model.config, "sbert_ce_default_activation_function", None)

    # ----------------------------------------------------------------- properties
    def __setattr__(self, name: str, value: Any) -> None:
        # An activation is a setting saved by name, not a submodule: keep it out of
        # parameters() and state_dict() as sentence-transformers does.
        if name == "activation_fn":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    @property
    def config(self):
        return self.model.config

    @property
    def num_labels(self) -> int:
        return int(self.model.config.num_labels)

    @property
    def max_length(self) -> int:
        """Truncation length of a pair in tokens."""
        return int(self.tokenizer.model_max_length)

    @max_length.setter
    def max_length(self, value: int) -> None:
        self.tokenizer.model_max_length = int(value)

    max_seq_length = max_length

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # ----------------------------------------------------------------- forward
    def tokenize(self, pairs: Sequence[Sequence[str]]) -> dict[str, Tensor]:
        """Tokenises (a, b) pairs as one sequence each, padded to the longest and truncated
        to ``max_length`` by trimming the longer text first."""
        _check_pairs(pairs)
        firsts, seconds = [p[0] for p in pairs], [p[1] for p in pairs]
        return dict(
            self.tokenizer(
                firsts,
                seconds,
                padding=True,
                truncation="longest_first",
                max_length=self.max_length,
                return_tensors="pt",
            )
        )

    def forward(self, features: dict[str, Tensor]) -> Tensor:
        inputs = {k: features[k] for k in self._input_names if k in features}
        return self.model(**inputs, return_dict=True).logits

    def score_pairs(self, pairs: Sequence[Sequence[str]]) -> Tensor:
        """Logits (n, num_labels) of the pairs, with autograd (what the losses call)."""
        features = {k: v.to(self.device) for k, v in self.tokenize(pairs).items()}
        return self.forward(features)

    def collate(self, batch):
        """DataLoader ``collate_fn``: InputExamples -> (text columns, labels); see
        :func:`.collate.collate_pairs`."""
        return collate_pairs(batch)

    smart_batching_collate = collate

    # ----------------------------------------------------------------- inference
    @torch.inference_mode()
    def predict(
        self,
        sentences: Sequence[Sequence[str]],
        batch_size: int = 32,
        show_progress_bar: bool = False,
        activation_fn: Callable[[Tensor], Tensor] | None = None,
        apply_softmax: bool = False,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
    ) -> np.ndarray | Tensor:
        """Scores of (a, b) pairs: (n,) for one label, (n, num_labels) otherwise; a single
        pair gives a scalar (or (num_labels,)).

        ``activation_fn`` (default: the model's) is applied to the logits; ``apply_softmax``
        then normalises several labels. Pairs are batched by length; the output keeps the
        input order.
        """
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        single = len(sentences) > 0 and isinstance(sentences[0], str)
        pairs = [sentences] if single else list(sentences)
        _check_pairs(pairs)
        activation_fn = activation_fn if activation_fn is not None else self.activation_fn
        was_training = self.training
        self.eval()
        order = np.argsort([-(len(a) + len(b)) for a, b in pairs], kind="stable")
        chunks = []
        starts = range(0, len(pairs), batch_size)
        if show_progress_bar:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="Batches")
        try:
            for start in starts:
                scores = self.score_pairs([pairs[i] for i in order[start : start + batch_size]])
                scores = scores.float()
                if activation_fn is not None:
                    scores = activation_fn(scores)
                if self.num_labels == 1:
                    scores = scores.squeeze(-1)
                elif apply_softmax:
                    scores = torch.softmax(scores, dim=1)
                chunks.append(scores)
        finally:
            self.train(was_training)
        if chunks:
            out = torch.cat(chunks)[torch.as_tensor(np.argsort(order, kind="stable"))]
        else:
            out = torch.empty((0,) if self.num_labels == 1 else (0, self.num_labels))
        if single:
            out = out[0]
        if convert_to_tensor:
            return out
        return out.cpu().numpy() if convert_to_numpy else list(out.cpu())

    def rank(
        self,
        query: str,
        documents: Sequence[str],
        top_k: int | None = None,
        return_documents: bool = False,
        batch_size: int = 32,
        show_progress_bar: bool = False,
        activation_fn: Callable[[Tensor], Tensor] | None = None,
    ) -> list[dict[str, Any]]:
        """``[{"corpus_id", "score"[, "text"]}, ...]`` of the documents, best first, the
        first ``top_k`` (all when None). One-label models only."""
        if self.num_labels != 1:
            raise ValueError(
                f"rank needs a model with one label; this one has {self.num_labels} (use predict)"
            )
        scores = self.predict(
            [[query, d] for d in documents],
            batch_size=batch_size,
            show_progress_bar=show_progress_bar,
            activation_fn=activation_fn,
            convert_to_tensor=True,
        ).tolist()
        hits = []
        for i, score in enumerate(scores):
            hit = {"corpus_id": i, "score": score}
            if return_documents:
                hit["text"] = documents[i]
            hits.append(hit)
        hits.sort(key=lambda h: h["score"], reverse=True)
        return hits[:top_k]

    # ----------------------------------------------------------------- persistence and training
    def save(self, path: str | os.PathLike) -> None:
        """Writes sentence-transformers' CrossEncoder layout: the Hugging Face model and
        tokenizer in ``path`` (``config.json`` carrying a ``sentence_transformers`` section
        with the activation, as older releases read it), ``modules.json`` (one
        sequence-classification Transformer), ``sentence_bert_config.json`` and
        ``config_sentence_transformers.json`` (``model_type`` CrossEncoder, the activation)."""
        import transformers

        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        name = activation_name(self.activation_fn)
        self.model.config.sentence_transformers = {
            "activation_fn": name,
            "version": _st_version_written(),
        }
        self.model.save_pretrained(str(root), safe_serialization=True)
        self.tokenizer.save_pretrained(str(root))
        write_json(
            root / MODULES_NAME,
            [{"idx": 0, "name": "0", "path": "", "type": _TRANSFORMER_TYPE}],
        )
        write_json(
            root / MODULE_CONFIG_NAME,
            {
                "transformer_task": "sequence-classification",
                "modality_config": {"text": {"method": "forward", "method_output_name": "logits"}},
                "module_output_name": "scores",
            },
        )
        write_json(
            root / MODEL_CONFIG_NAME,
            {
                "model_type": "CrossEncoder",
                "__version__": {
                    "sentence_transformers": _st_version_written(),
                    "transformers": transformers.__version__,
                    "pytorch": torch.__version__,
                },
                "prompts": {},
                "default_prompt_name": None,
                "activation_fn": name,
            },
        )

    def fit(self, train_objectives, **kwargs) -> dict:
        """Trains on ``[(DataLoader, loss), ...]``; see ``fastsbert.training.trainer.fit``."""
        from ..trainer import fit

        return fit(self, train_objectives, **kwargs)


def _st_version_written() -> str:
    # The layout version these files follow; readers refuse files from a newer release.
    return "6.0.0"

"""SentenceEncoder: a Hugging Face encoder + pooling + optional Dense + optional Normalize."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .data.collate import collate_examples
from .dense import Dense
from .pooling import Pooling
from .serialization import load_directory, save_directory
from .similarity import SIMILARITY_FUNCTIONS


class SentenceEncoder(nn.Module):
    """Maps texts to fixed-size embeddings; trainable with ``fit`` and the losses in
    ``fastsbert.training.losses``.

    Args:
        model_name_or_path: a sentence-transformers directory (``modules.json``) or a plain
            Hugging Face encoder directory (mean pooling, no normalisation).
        max_seq_length: override the tokenizer truncation length (tokens).
        device: where to place the model (default: ``cuda`` when available, else ``cpu``).

    ``forward(features)`` takes a tokenised batch and returns a dict with
    ``token_embeddings`` (batch, seq, hidden), ``attention_mask`` (batch, seq) and
    ``sentence_embedding`` (batch, dim).
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike,
        *,
        max_seq_length: int | None = None,
        device: str | None = None,
    ) -> None:
        super().__init__()
        loaded = load_directory(model_name_or_path)
        self._setup(
            loaded.encoder,
            loaded.tokenizer,
            loaded.pooling,
            loaded.dense,
            loaded.normalize,
            max_seq_length or loaded.max_seq_length,
            loaded.do_lower_case,
            loaded.similarity_fn_name,
            device,
        )

    def _setup(
        self,
        encoder,
        tokenizer,
        pooling,
        dense,
        normalize,
        max_seq_length,
        do_lower_case,
        similarity_fn_name,
        device,
    ) -> None:
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.dense = dense
        self.normalize = bool(normalize)
        self.max_seq_length = max_seq_length
        self.do_lower_case = do_lower_case
        if similarity_fn_name not in SIMILARITY_FUNCTIONS:
            raise ValueError(
                f"similarity_fn_name must be one of {sorted(SIMILARITY_FUNCTIONS)}, got {similarity_fn_name!r}"
            )
        self.similarity_fn_name = similarity_fn_name
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.to(device)

    @classmethod
    def from_modules(
        cls,
        encoder: nn.Module | str | os.PathLike,
        tokenizer=None,
        pooling_mode: str | Sequence[str] = "mean",
        dense_out_features: int | None = None,
        dense_activation: nn.Module | None = None,
        normalize: bool = False,
        max_seq_length: int | None = None,
        similarity_fn_name: str = "cosine",
        device: str | None = None,
    ) -> SentenceEncoder:
        """Builds an encoder from parts: a transformers model (or its directory), its tokenizer,
        a pooling mode, an optional Dense layer of ``dense_out_features`` outputs and optional
        L2 normalisation."""
        from transformers import AutoModel, AutoTokenizer

        if not isinstance(encoder, nn.Module):
            path = str(encoder)
            encoder = AutoModel.from_pretrained(path)
            tokenizer = tokenizer or AutoTokenizer.from_pretrained(path)
        if tokenizer is None:
            raise ValueError("from_modules needs a tokenizer when the encoder is given as a module")
        hidden = encoder.config.hidden_size
        pooling = Pooling(hidden, pooling_mode)
        dense = None
        if dense_out_features is not None:
            dense = Dense(
                pooling.output_dimension, dense_out_features, activation_function=dense_activation
            )
        if max_seq_length is None:
            limits = [
                getattr(encoder.config, "max_position_embeddings", None),
                getattr(tokenizer, "model_max_length", None),
            ]
            limits = [x for x in limits if isinstance(x, int) and 0 < x < 1_000_000]
            max_seq_length = min(limits) if limits else None
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self._setup(
            encoder,
            tokenizer,
            pooling,
            dense,
            normalize,
            max_seq_length,
            False,
            similarity_fn_name,
            device,
        )
        return self

    # ----------------------------------------------------------------- properties
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def get_embedding_dimension(self) -> int:
        """Size of ``sentence_embedding``."""
        return self.dense.out_features if self.dense is not None else self.pooling.output_dimension

    get_sentence_embedding_dimension = get_embedding_dimension

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

    def head(self, token_embeddings: Tensor, attention_mask: Tensor) -> Tensor:
        """Pooling, Dense and Normalize: (batch, seq, hidden) -> (batch, dim)."""
        emb = self.pooling(token_embeddings, attention_mask)
        if self.dense is not None:
            emb = self.dense(emb)
        if self.normalize:
            emb = F.normalize(emb, p=2, dim=1)
        return emb

    def _encoder_inputs(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        keys = ("input_ids", "attention_mask", "token_type_ids")
        return {k: features[k] for k in keys if k in features}

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        out = self.encoder(**self._encoder_inputs(features), return_dict=True)
        tokens = out.last_hidden_state
        mask = features["attention_mask"]
        return {
            "token_embeddings": tokens,
            "attention_mask": mask,
            "sentence_embedding": self.head(tokens, mask),
        }

    def forward_all_layers(self, features: dict[str, Tensor]) -> list[Tensor]:
        """Sentence embeddings read from every hidden state: the embedding layer output first,
        the last layer last; a list of num_layers + 1 tensors of shape (batch, dim)."""
        out = self.encoder(
            **self._encoder_inputs(features), output_hidden_states=True, return_dict=True
        )
        mask = features["attention_mask"]
        return [self.head(h, mask) for h in out.hidden_states]

    def collate(self, batch):
        """DataLoader ``collate_fn``: a list of InputExample -> (features per text column, labels)."""
        return collate_examples(batch, self.tokenize)

    smart_batching_collate = collate

    # ----------------------------------------------------------------- inference
    @torch.inference_mode()
    def encode(
        self,
        sentences: str | Sequence[str],
        batch_size: int = 32,
        show_progress_bar: bool = False,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        normalize_embeddings: bool = False,
    ) -> np.ndarray | Tensor:
        """Embeds texts with torch (for evaluation during training); (n, dim), or (dim,) for one str.

        Texts are sorted by length so that batches carry little padding; the output keeps
        the input order.
        """
        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        was_training = self.training
        self.eval()
        order = np.argsort([-len(t) for t in texts], kind="stable")
        chunks = []
        iterator = range(0, len(texts), batch_size)
        if show_progress_bar:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc="Encoding")
        try:
            for start in iterator:
                batch = [texts[i] for i in order[start : start + batch_size]]
                feats = {k: v.to(self.device) for k, v in self.tokenize(batch).items()}
                chunks.append(self.forward(feats)["sentence_embedding"].float())
        finally:
            self.train(was_training)
        if chunks:
            emb = torch.cat(chunks)
            emb = emb[torch.as_tensor(np.argsort(order, kind="stable"), device=emb.device)]
        else:
            emb = torch.empty(0, self.get_embedding_dimension(), device=self.device)
        if normalize_embeddings:
            emb = F.normalize(emb, p=2, dim=1)
        if single:
            emb = emb[0]
        if convert_to_tensor:
            return emb
        return emb.cpu().numpy() if convert_to_numpy else list(emb.cpu())

    def similarity(self, a, b) -> Tensor:
        """The model's similarity function (``similarity_fn_name``) on (n, dim) x (m, dim) -> (n, m)."""
        return SIMILARITY_FUNCTIONS[self.similarity_fn_name](a, b)

    # ----------------------------------------------------------------- persistence and training
    def save(self, path: str | os.PathLike) -> None:
        """Writes the sentence-transformers directory layout (see ``serialization``)."""
        save_directory(self, path)

    def fit(self, train_objectives, **kwargs) -> dict:
        """Trains on ``[(DataLoader, loss), ...]``; see ``fastsbert.training.trainer.fit``."""
        from .trainer import fit

        return fit(self, train_objectives, **kwargs)

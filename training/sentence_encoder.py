"""SentenceEncoder: a stack of modules (Transformer -> Pooling -> [Dense ...] -> [Normalize], or
another input module such as WordEmbeddings, StaticEmbedding, BoW or Router first) that maps
texts to embeddings, trains with ``fit`` and saves a sentence-transformers directory."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..st_config import DEFAULT_PROMPTS as _DEFAULT_PROMPTS
from .data.collate import collate_examples
from .models import Router, read_directory, write_directory
from .models.directory import INPUT_MODULES
from .similarity import SIMILARITY_FUNCTIONS


class SentenceEncoder(nn.Sequential):
    """Maps texts to fixed-size embeddings; trainable with ``fit`` and the losses in
    ``fastsbert.training.losses``.

    Build it from a directory or Hub id, or compose it from modules::

        SentenceEncoder("path/or/hub-id")
        transformer = models.Transformer("path/or/hub-id", max_seq_length=128)
        SentenceEncoder(modules=[transformer,
                                 models.Pooling(transformer.get_word_embedding_dimension()),
                                 models.Normalize()])

    Args:
        model_name_or_path: a sentence-transformers directory (``modules.json``), or a plain
            Hugging Face encoder directory (then mean pooling, no normalisation), or a Hub id
            of either (a path that exists wins).
        modules: the module stack instead: an input module first (``models.Transformer``,
            ``WordEmbeddings``, ``StaticEmbedding``, ``BoW`` or ``Router``: it tokenises), then
            modules that turn ``token_embeddings`` into ``sentence_embedding``.
        max_seq_length: override the truncation length (tokens).
        device: where to place the model (default: ``cuda`` when available, else ``cpu``).
        prompts: prompt name -> text, added to (and winning over) the saved ones.
        default_prompt_name: the prompt ``encode`` uses when given none.
        similarity_fn_name: ``cosine`` (default), ``dot``, ``euclidean`` or ``manhattan``.
        model_kwargs: keyword arguments for the encoder's ``from_pretrained``.
        revision, token, cache_folder: how a Hub id is looked up.

    ``forward(features)`` takes a tokenised batch and returns a new dict that adds
    ``token_embeddings`` (batch, seq, hidden) and ``sentence_embedding`` (batch, dim).
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike | None = None,
        *,
        modules: Iterable[nn.Module] | None = None,
        max_seq_length: int | None = None,
        device: str | None = None,
        prompts: dict[str, str] | None = None,
        default_prompt_name: str | None = None,
        similarity_fn_name: str | None = None,
        model_kwargs: dict[str, Any] | None = None,
        revision: str | None = None,
        token: str | bool | None = None,
        cache_folder: str | os.PathLike | None = None,
    ) -> None:
        if (model_name_or_path is None) == (modules is None):
            raise ValueError(
                "SentenceEncoder needs either model_name_or_path or modules=[...], not both"
            )
        saved_prompts: dict[str, str] = {}
        if model_name_or_path is not None:
            directory = read_directory(
                model_name_or_path,
                model_args=model_kwargs,
                revision=revision,
                token=token,
                cache_folder=cache_folder,
            )
            modules = directory.modules
            saved_prompts = directory.prompts
            default_prompt_name = default_prompt_name or directory.default_prompt_name
            similarity_fn_name = similarity_fn_name or directory.similarity_fn_name
        modules = list(modules)
        if not modules or not isinstance(modules[0], INPUT_MODULES):
            raise ValueError(
                "modules must start with an input module (models.Transformer, WordEmbeddings, "
                "StaticEmbedding, BoW or Router: it tokenises the texts)"
            )
        for i, m in enumerate(modules):
            if not isinstance(m, nn.Module):
                raise TypeError(f"modules[{i}] is a {type(m).__name__}, not a torch.nn.Module")
        super().__init__(OrderedDict((str(i), m) for i, m in enumerate(modules)))
        if max_seq_length is not None:
            self.max_seq_length = max_seq_length
        self.prompts = {**_DEFAULT_PROMPTS, **saved_prompts, **(prompts or {})}
        if default_prompt_name is not None and default_prompt_name not in self.prompts:
            raise ValueError(
                f"default_prompt_name {default_prompt_name!r} is not among the prompts {sorted(self.prompts)}"
            )
        self.default_prompt_name = default_prompt_name
        similarity_fn_name = similarity_fn_name or "cosine"
        if similarity_fn_name not in SIMILARITY_FUNCTIONS:
            raise ValueError(
                f"similarity_fn_name must be one of {sorted(SIMILARITY_FUNCTIONS)}, got {similarity_fn_name!r}"
            )
        self.similarity_fn_name = similarity_fn_name
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.to(device)

    # ----------------------------------------------------------------- properties
    @property
    def transformer(self) -> nn.Module:
        """The first module, which tokenises: usually the Transformer (encoder + tokenizer)."""
        return self[0]

    @property
    def tokenizer(self):
        return getattr(self[0], "tokenizer", None)

    @property
    def max_seq_length(self) -> int | None:
        """Truncation length in tokens (the first module's; None when it has none)."""
        return getattr(self[0], "max_seq_length", None)

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self[0].max_seq_length = value

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def get_word_embedding_dimension(self) -> int:
        """Size of the token embeddings of the first module."""
        return self[0].get_word_embedding_dimension()

    def get_sentence_embedding_dimension(self) -> int:
        """Size of ``sentence_embedding``: that of the last module that sets it."""
        for module in reversed(self):
            size = getattr(module, "get_sentence_embedding_dimension", None)
            if size is not None:
                return size()
        raise ValueError(
            "no module of this model produces a sentence embedding (add a models.Pooling)"
        )

    # sentence-transformers 6's name for the same thing.
    get_embedding_dimension = get_sentence_embedding_dimension

    # ----------------------------------------------------------------- forward
    def tokenize(self, texts: Sequence[str], task: str | None = None) -> dict[str, Tensor]:
        """Tokenises a batch, padded to its longest text and truncated to ``max_seq_length``.
        ``task`` (e.g. ``"query"``) picks a Router's route; other models ignore it."""
        if isinstance(self[0], Router):
            return self[0].tokenize(texts, task=task)
        return self[0].tokenize(texts)

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        # A copy: callers (the gradient-caching losses) embed the same features twice.
        features = dict(features)
        for module in self:
            features = module(features)
        return features

    def forward_all_layers(self, features: dict[str, Tensor]) -> list[Tensor]:
        """Sentence embeddings read from every hidden state: the embedding layer output first,
        the last layer last; a list of num_layers + 1 tensors of shape (batch, dim)."""
        features = self.transformer(dict(features), output_hidden_states=True)
        head = list(self)[1:]
        out = []
        for hidden in features["all_layer_embeddings"]:
            f = {**features, "token_embeddings": hidden}
            for module in head:
                f = module(f)
            out.append(f["sentence_embedding"])
        return out

    def collate(self, batch, router_mapping: Sequence[str | None] | None = None):
        """DataLoader ``collate_fn``: a list of InputExample -> (features per text column, labels).
        ``router_mapping`` gives each text column's task (a Router's route), e.g.
        ``["query", "document"]``; None: every column takes the default route."""
        if router_mapping is None:
            return collate_examples(batch, self.tokenize)
        n_cols = len(batch[0].texts) if batch else 0
        if len(router_mapping) != n_cols:
            raise ValueError(
                f"router_mapping names {len(router_mapping)} tasks but the examples have {n_cols} texts"
            )
        columns = iter(router_mapping)
        # collate_examples tokenises the columns in order, one call each.
        return collate_examples(batch, lambda texts: self.tokenize(texts, next(columns)))

    smart_batching_collate = collate

    # ----------------------------------------------------------------- inference
    def _prompt_text(self, prompt_name: str | None, prompt: str | None) -> str:
        if prompt is not None:
            return prompt
        name = prompt_name if prompt_name is not None else self.default_prompt_name
        if name is None:
            return ""
        if name not in self.prompts:
            raise ValueError(
                f"prompt_name {name!r} is not among the prompts {sorted(self.prompts)}"
            )
        return self.prompts[name]

    @torch.inference_mode()
    def encode(
        self,
        sentences: str | Sequence[str],
        batch_size: int = 32,
        show_progress_bar: bool = False,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        normalize_embeddings: bool = False,
        prompt_name: str | None = None,
        prompt: str | None = None,
        task: str | None = None,
    ) -> np.ndarray | Tensor:
        """Embeds texts with torch (for evaluation during training); (n, dim), or (dim,) for one str.

        ``prompt`` (or the prompt named ``prompt_name``, else the default prompt) is put
        before every text. ``task`` picks a Router's route (see ``encode_query``). Texts are sorted by length so that batches carry little padding;
        the output keeps the input order.
        """
        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        prefix = self._prompt_text(prompt_name, prompt)
        extra: dict[str, int] = {}
        if prefix:
            texts = [prefix + t for t in texts]
            # Pooling with include_prompt=False leaves the prompt's tokens out; the prompt's
            # own trailing special token is not part of it.
            extra["prompt_length"] = int(self.tokenize([prefix], task)["input_ids"].shape[-1]) - 1
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
                feats = {k: v.to(self.device) if isinstance(v, Tensor) else v
                         for k, v in self.tokenize(batch, task).items()}
                chunks.append(self.forward({**feats, **extra})["sentence_embedding"].float())
        finally:
            self.train(was_training)
        if chunks:
            emb = torch.cat(chunks)
            emb = emb[torch.as_tensor(np.argsort(order, kind="stable"), device=emb.device)]
        else:
            emb = torch.empty(0, self.get_sentence_embedding_dimension(), device=self.device)
        if normalize_embeddings:
            emb = F.normalize(emb, p=2, dim=1)
        if single:
            emb = emb[0]
        if convert_to_tensor:
            return emb
        return emb.cpu().numpy() if convert_to_numpy else list(emb.cpu())

    def encode_query(self, sentences: str | Sequence[str], prompt_name: str | None = None,
                     prompt: str | None = None, **kwargs) -> np.ndarray | Tensor:
        """``encode`` for search queries, as sentence-transformers' ``encode_query``: the
        ``query`` prompt unless another is given, and a Router's ``query`` route."""
        if prompt_name is None and prompt is None and "query" in self.prompts:
            prompt_name = "query"
        return self.encode(sentences, prompt_name=prompt_name, prompt=prompt, task="query", **kwargs)

    def encode_document(self, sentences: str | Sequence[str], prompt_name: str | None = None,
                        prompt: str | None = None, **kwargs) -> np.ndarray | Tensor:
        """``encode`` for documents: the ``document`` prompt unless another is given (falling
        back to ``passage`` and ``corpus`` prompts, as sentence-transformers does), and a
        Router's ``document`` route."""
        if prompt_name is None and prompt is None:
            prompt_name = next((n for n in ("document", "passage", "corpus") if n in self.prompts), None)
        return self.encode(sentences, prompt_name=prompt_name, prompt=prompt, task="document", **kwargs)

    def similarity(self, a, b) -> Tensor:
        """The model's similarity function (``similarity_fn_name``) on (n, dim) x (m, dim) -> (n, m)."""
        return SIMILARITY_FUNCTIONS[self.similarity_fn_name](a, b)

    # ----------------------------------------------------------------- persistence and training
    def save(self, path: str | os.PathLike) -> None:
        """Writes the sentence-transformers directory layout (see ``models.directory``)."""
        write_directory(
            path,
            list(self),
            prompts=self.prompts,
            default_prompt_name=self.default_prompt_name,
            similarity_fn_name=self.similarity_fn_name,
        )

    def fit(self, train_objectives, router_mapping: Sequence[str | None] | None = None, **kwargs) -> dict:
        """Trains on ``[(DataLoader, loss), ...]``; see ``fastsbert.training.trainer.fit``.

        ``router_mapping``: for a model with a Router, the task of each text column (as
        sentence-transformers' ``router_mapping`` training argument, by position), e.g.
        ``["query", "document", "document"]`` for (anchor, positive, negative); loaders
        with their own ``collate_fn`` keep it."""
        import functools

        from torch.utils.data import default_collate

        from .trainer import fit

        if router_mapping is not None:
            for loader, _loss in train_objectives:
                if getattr(loader, "collate_fn", None) in (None, default_collate):
                    loader.collate_fn = functools.partial(self.collate, router_mapping=list(router_mapping))
        return fit(self, train_objectives, **kwargs)

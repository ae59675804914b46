"""GISTEmbedLoss: in-batch negatives, minus the ones a guide model deems false negatives."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import NONE, Loss, embed_columns


def _sim_matrix(a: Tensor, b: Tensor) -> Tensor:
    return F.cosine_similarity(a.unsqueeze(1), b.unsqueeze(0), dim=-1)


class GISTEmbedLoss(Loss):
    """Cross-entropy over anchor-positive, anchor-anchor, positive-positive (and
    anchor-negative) cosine similarities / ``temperature``, where every candidate that the
    guide scores above the anchor's own positive (less ``margin``) is masked out.

    Data: (anchor, positive) or (anchor, positive, negative), no label.
    ``guide``: a frozen SentenceEncoder; if its vocabulary or length limit differs from the
    model's, texts are decoded from the model's token ids and re-tokenised for it.
    """

    min_columns, max_columns = 2, 3
    label_kind = NONE
    data_shape = "(anchor, positive) or (anchor, positive, negative) texts; no label needed"

    def __init__(
        self,
        model: nn.Module,
        guide: nn.Module,
        temperature: float = 0.01,
        margin_strategy: str = "absolute",
        margin: float = 0.0,
        contrast_anchors: bool = True,
        contrast_positives: bool = True,
        gather_across_devices: bool = False,
    ) -> None:
        super().__init__(model)
        if margin_strategy not in ("absolute", "relative"):
            raise ValueError("margin_strategy must be 'absolute' or 'relative'")
        if gather_across_devices:
            raise ValueError(
                "GISTEmbedLoss: gather_across_devices needs a distributed run, which this trainer does not do"
            )
        self.guide = guide
        self.temperature = temperature
        self.margin_strategy = margin_strategy
        self.margin = margin
        self.contrast_anchors = contrast_anchors
        self.contrast_positives = contrast_positives
        self.must_retokenize = model.tokenizer.get_vocab() != guide.tokenizer.get_vocab() or (
            guide.max_seq_length or 0
        ) < (model.max_seq_length or 0)

    def prepare(self, features: list[dict[str, Tensor]]) -> dict:
        with torch.no_grad():
            if self.must_retokenize:
                guide_features = []
                for f in features:
                    texts = self.model.tokenizer.batch_decode(
                        f["input_ids"], skip_special_tokens=True
                    )
                    guide_features.append(
                        {k: v.to(self.guide.device) for k, v in self.guide.tokenize(texts).items()}
                    )
            else:
                guide_features = features
            return {
                "guide_embeddings": [e.detach() for e in embed_columns(self.guide, guide_features)]
            }

    def compute_loss_from_embeddings(
        self,
        embeddings: list[Tensor],
        labels: Tensor | None = None,
        guide_embeddings: list[Tensor] | None = None,
    ) -> Tensor:
        """embeddings, guide_embeddings: 2 or 3 tensors (batch, dim) each (the guide's dim may differ)."""
        self.check_inputs(len(embeddings), labels)
        if guide_embeddings is None or len(guide_embeddings) != len(embeddings):
            raise ValueError(
                "GISTEmbedLoss needs the guide's embeddings of every column (see prepare())"
            )
        anchor, positive = embeddings[0], embeddings[1]
        g_anchor, g_positive = guide_embeddings[0], guide_embeddings[1]
        n = anchor.shape[0]
        g_ap = _sim_matrix(g_anchor, g_positive)
        g_own = g_ap.diagonal().view(-1, 1)
        if self.margin_strategy == "absolute":
            threshold = g_own - self.margin
        else:
            threshold = g_own - g_own.abs() * self.margin

        def masked(sim: Tensor, guided: Tensor, keep: Tensor | None = None) -> Tensor:
            mask = guided > threshold
            if keep is not None:
                mask = mask & ~keep
            return sim.masked_fill(mask, -torch.inf)

        eye = torch.eye(n, dtype=torch.bool, device=anchor.device)
        scores = [masked(_sim_matrix(anchor, positive), g_ap, keep=eye)]
        if self.contrast_anchors:
            scores.append(masked(_sim_matrix(anchor, anchor), _sim_matrix(g_anchor, g_anchor)))
        if self.contrast_positives:
            scores.append(
                masked(_sim_matrix(positive, positive), _sim_matrix(g_positive, g_positive))
            )
        if len(embeddings) == 3:
            scores.append(
                masked(
                    _sim_matrix(anchor, embeddings[2]), _sim_matrix(g_anchor, guide_embeddings[2])
                )
            )
        logits = torch.cat(scores, dim=1) / self.temperature
        return F.cross_entropy(logits, torch.arange(n, device=anchor.device))

    def config(self) -> dict:
        return {
            "guide": repr(type(self.guide).__name__),
            "temperature": self.temperature,
            "margin_strategy": self.margin_strategy,
            "margin": self.margin,
            "contrast_anchors": self.contrast_anchors,
            "contrast_positives": self.contrast_positives,
            "gather_across_devices": False,
        }

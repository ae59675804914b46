"""DenoisingAutoEncoderLoss (TSDAE): reconstruct a sentence from the embedding of its noisy copy."""

from __future__ import annotations

import copy
import logging

import torch.nn.functional as F
from torch import Tensor, nn

from .base import NONE, Loss

logger = logging.getLogger(__name__)


def _share_parameters(encoder: nn.Module, decoder_base: nn.Module) -> int:
    """Points every decoder parameter that has a same-named encoder counterpart at it."""
    shared = 0
    enc_params = dict(encoder.named_parameters())
    modules = dict(decoder_base.named_modules())
    for name, _ in list(decoder_base.named_parameters()):
        if name in enc_params:
            module_name, _, attr = name.rpartition(".")
            setattr(modules[module_name], attr, enc_params[name])
            shared += 1
    return shared


class DenoisingAutoEncoderLoss(Loss):
    """Cross-entropy of a decoder that sees only the sentence embedding (as a one-token
    cross-attention memory) and must regenerate the original sentence.

    Data: (noisy_sentence, original_sentence), no label (DenoisingAutoEncoderDataset).
    By default the decoder is the encoder's architecture with cross-attention added, and
    shares the encoder's weights (``tie_encoder_decoder``); otherwise it is loaded from
    ``decoder_name_or_path``.
    """

    label_kind = NONE
    data_shape = "(noisy_sentence, original_sentence) texts; no label needed"

    def __init__(
        self,
        model: nn.Module,
        decoder_name_or_path: str | None = None,
        tie_encoder_decoder: bool = True,
    ) -> None:
        super().__init__(model)
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        if tie_encoder_decoder:
            if decoder_name_or_path:
                logger.warning("tie_encoder_decoder=True: decoder_name_or_path is ignored")
            config = copy.deepcopy(model.transformer.auto_model.config)
            config.is_decoder = True
            config.add_cross_attention = True
            self.decoder = AutoModelForCausalLM.from_config(config).to(model.device)
            self.tokenizer_decoder = model.tokenizer
            base = getattr(self.decoder, self.decoder.base_model_prefix)
            if _share_parameters(model.transformer.auto_model, base) == 0:
                raise ValueError(
                    "DenoisingAutoEncoderLoss: no decoder weight matched the encoder's; cannot tie them"
                )
            if hasattr(self.decoder, "tie_weights"):
                self.decoder.tie_weights()
        else:
            if decoder_name_or_path is None:
                raise ValueError(
                    "DenoisingAutoEncoderLoss: decoder_name_or_path is needed when tie_encoder_decoder=False"
                )
            config = AutoConfig.from_pretrained(decoder_name_or_path)
            config.is_decoder = True
            config.add_cross_attention = True
            self.decoder = AutoModelForCausalLM.from_pretrained(
                decoder_name_or_path, config=config
            ).to(model.device)
            self.tokenizer_decoder = AutoTokenizer.from_pretrained(decoder_name_or_path)
            if self.tokenizer_decoder.pad_token is None:
                self.tokenizer_decoder.pad_token = self.tokenizer_decoder.eos_token
                self.decoder.config.pad_token_id = self.decoder.config.eos_token_id
        if self.decoder.config.hidden_size != model.transformer.auto_model.config.hidden_size:
            raise ValueError("DenoisingAutoEncoderLoss: encoder and decoder hidden sizes differ")
        self.need_retokenization = self.tokenizer_decoder.get_vocab() != model.tokenizer.get_vocab()

    def forward(self, features, labels=None):
        features = list(features)
        self.check_inputs(len(features), labels)
        source, target = features
        if self.need_retokenization:
            texts = self.model.tokenizer.batch_decode(
                target["input_ids"], skip_special_tokens=True, clean_up_tokenization_spaces=True
            )
            target = self.tokenizer_decoder(
                texts, padding=True, truncation="longest_first", return_tensors="pt"
            ).to(source["input_ids"].device)
        reps = self.model(source)["sentence_embedding"]
        ids = target["input_ids"]
        out = self.decoder(
            input_ids=ids[:, :-1],
            encoder_hidden_states=reps[:, None],
            encoder_attention_mask=source["attention_mask"][:, :1],
            use_cache=False,
            return_dict=True,
        )
        logits: Tensor = out.logits
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            ids[:, 1:].reshape(-1),
            ignore_index=self.tokenizer_decoder.pad_token_id,
        )

    def config(self) -> dict:
        return {
            "decoder_name_or_path": self.decoder.config._name_or_path,
            "need_retokenization": self.need_retokenization,
        }

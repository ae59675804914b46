"""Sentence-transformers directories carrying ``onnx/model.onnx`` as the Hub's do: the
Transformer alone, exported with torch.onnx under the names sentence-transformers' ONNX
backend gives (inputs input_ids, attention_mask and, when the tokenizer makes them,
token_type_ids; output last_hidden_state or token_embeddings)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path


def export_transformer(st_dir: str | Path, graph: str | Path, *, output_name: str = "last_hidden_state",
                       opset: int = 17, external_data: bool = False) -> Path:
    """Writes the Transformer of ``st_dir`` (its root: config.json + weights) as an ONNX
    graph at ``graph``; with ``external_data`` its weights go to ``<graph>_data``."""
    import onnx
    import torch
    from transformers import AutoModel, AutoTokenizer

    st_dir, graph = Path(st_dir), Path(graph)
    encoder = AutoModel.from_pretrained(str(st_dir), attn_implementation="eager").eval()
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in AutoTokenizer.from_pretrained(str(st_dir)).model_input_names:
        names.append("token_type_ids")

    class Tokens(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, *inputs):
            return self.encoder(**dict(zip(names, inputs))).last_hidden_state

    ids = torch.randint(5, 100, (2, 7))
    sample = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
              "token_type_ids": torch.zeros_like(ids)}
    graph.parent.mkdir(parents=True, exist_ok=True)
    scratch = graph.with_name(graph.name + ".tmp.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Tokens().eval(), tuple(sample[n] for n in names), str(scratch),
                          input_names=names, output_names=[output_name], opset_version=opset,
                          dynamo=False,
                          dynamic_axes={**{n: {0: "batch_size", 1: "sequence_length"} for n in names},
                                        output_name: {0: "batch_size", 1: "sequence_length"}})
    model = onnx.load(str(scratch))
    scratch.unlink()
    if external_data:
        onnx.save_model(model, str(graph), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=graph.name + "_data", size_threshold=0)
    else:
        onnx.save_model(model, str(graph))
    return graph


def with_onnx_graph(st_dir: str | Path, out_dir: str | Path, **kwargs) -> Path:
    """A copy of ``st_dir`` at ``out_dir`` with ``onnx/model.onnx`` added (see
    :func:`export_transformer` for ``kwargs``)."""
    out_dir = Path(out_dir)
    shutil.copytree(st_dir, out_dir)
    export_transformer(st_dir, out_dir / "onnx" / "model.onnx", **kwargs)
    return out_dir


# Torch weight files a Hub cross-encoder copy without them leaves out.
TORCH_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


def export_classifier(hf_dir: str | Path, graph: str | Path, *, opset: int = 17,
                      external_data: bool = False) -> Path:
    """Writes the sequence-classification model of ``hf_dir`` as the Hub's cross-encoder
    repositories hold it: inputs as :func:`export_transformer`'s, output ``logits``
    (batch, num_labels); with ``external_data`` its weights go to ``<graph>_data``."""
    import onnx
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    hf_dir, graph = Path(hf_dir), Path(graph)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(hf_dir), attn_implementation="eager").eval()
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in AutoTokenizer.from_pretrained(str(hf_dir)).model_input_names:
        names.append("token_type_ids")

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return self.model(**dict(zip(names, inputs))).logits

    ids = torch.randint(5, 100, (2, 7))
    sample = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
              "token_type_ids": torch.zeros_like(ids)}
    graph.parent.mkdir(parents=True, exist_ok=True)
    scratch = graph.with_name(graph.name + ".tmp.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Logits().eval(), tuple(sample[n] for n in names), str(scratch),
                          input_names=names, output_names=["logits"], opset_version=opset,
                          dynamo=False,
                          dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in names},
                                        "logits": {0: "batch"}})
    onnx_model = onnx.load(str(scratch))
    scratch.unlink()
    if external_data:
        onnx.save_model(onnx_model, str(graph), save_as_external_data=True,
                        all_tensors_to_one_file=True, location=graph.name + "_data",
                        size_threshold=0)
    else:
        onnx.save_model(onnx_model, str(graph))
    return graph


def with_classifier_graph(st_dir: str | Path, out_dir: str | Path, **kwargs) -> Path:
    """A copy of the cross-encoder ``st_dir`` at ``out_dir`` without its torch weights and
    with ``onnx/model.onnx`` added (see :func:`export_classifier` for ``kwargs``)."""
    out_dir = Path(out_dir)
    shutil.copytree(st_dir, out_dir, ignore=shutil.ignore_patterns(*TORCH_WEIGHTS))
    export_classifier(st_dir, out_dir / "onnx" / "model.onnx", **kwargs)
    return out_dir

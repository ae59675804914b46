"""Sentence-transformers directories carrying ``onnx/model.onnx`` as the Hub's do: the
Transformer alone, exported with torch.onnx under the names sentence-transformers' ONNX
backend gives (inputs input_ids, attention_mask and, when the tokenizer makes them,
token_type_ids; output last_hidden_state or token_embeddings)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path


def _input_names(hf_dir: Path) -> list[str]:
    """The graph inputs the Hub's ONNX files have for this model's tokenizer."""
    from transformers import AutoTokenizer

    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in AutoTokenizer.from_pretrained(str(hf_dir)).model_input_names:
        names.append("token_type_ids")
    return names


def _trace(model, output: str, names: list[str], graph: Path, *, output_name: str,
           output_axes: dict, opset: int, external_data: bool) -> Path:
    """Traces the Hugging Face ``model``'s ``output`` field, as a function of the inputs
    ``names`` (positional), to ``graph`` with torch.onnx; with ``external_data`` its weights
    go to ``<graph>_data``."""
    import onnx
    import torch

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return getattr(self.model(**dict(zip(names, inputs))), output)

    ids = torch.randint(5, 100, (2, 7))
    sample = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
              "token_type_ids": torch.zeros_like(ids)}
    graph.parent.mkdir(parents=True, exist_ok=True)
    scratch = graph.with_name(graph.name + ".tmp.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Graph().eval(), tuple(sample[n] for n in names), str(scratch),
                          input_names=names, output_names=[output_name], opset_version=opset,
                          dynamo=False,
                          dynamic_axes={**{n: {0: "batch_size", 1: "sequence_length"} for n in names},
                                        output_name: output_axes})
    model = onnx.load(str(scratch))
    scratch.unlink()
    if external_data:
        onnx.save_model(model, str(graph), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=graph.name + "_data", size_threshold=0)
    else:
        onnx.save_model(model, str(graph))
    return graph


def export_transformer(st_dir: str | Path, graph: str | Path, *, output_name: str = "last_hidden_state",
                       opset: int = 17, external_data: bool = False) -> Path:
    """Writes the Transformer of ``st_dir`` (its root: config.json + weights) as an ONNX
    graph at ``graph``; with ``external_data`` its weights go to ``<graph>_data``."""
    from transformers import AutoModel

    st_dir = Path(st_dir)
    encoder = AutoModel.from_pretrained(str(st_dir), attn_implementation="eager").eval()
    return _trace(encoder, "last_hidden_state", _input_names(st_dir), Path(graph),
                  output_name=output_name, output_axes={0: "batch_size", 1: "sequence_length"},
                  opset=opset, external_data=external_data)


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
    from transformers import AutoModelForSequenceClassification

    hf_dir = Path(hf_dir)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(hf_dir), attn_implementation="eager").eval()
    return _trace(model, "logits", _input_names(hf_dir), Path(graph),
                  output_name="logits", output_axes={0: "batch_size"}, opset=opset,
                  external_data=external_data)


def with_classifier_graph(st_dir: str | Path, out_dir: str | Path, **kwargs) -> Path:
    """A copy of the cross-encoder ``st_dir`` at ``out_dir`` without its torch weights and
    with ``onnx/model.onnx`` added (see :func:`export_classifier` for ``kwargs``)."""
    out_dir = Path(out_dir)
    shutil.copytree(st_dir, out_dir, ignore=shutil.ignore_patterns(*TORCH_WEIGHTS))
    export_classifier(st_dir, out_dir / "onnx" / "model.onnx", **kwargs)
    return out_dir

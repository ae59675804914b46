"""LabelAccuracyEvaluator: accuracy of a SoftmaxLoss classifier head."""

from __future__ import annotations

import torch

from .base import Evaluator


class LabelAccuracyEvaluator(Evaluator):
    """Accuracy of ``argmax(softmax_model(features, labels=None)[1])`` against the labels of
    a DataLoader of (sentence_a, sentence_b, class) examples. Returns ``{"accuracy"}``."""

    def __init__(
        self, dataloader, name: str = "", softmax_model=None, write_csv: bool = True
    ) -> None:
        if softmax_model is None:
            raise ValueError("LabelAccuracyEvaluator needs the SoftmaxLoss as softmax_model")
        self.dataloader = dataloader
        self.name = name
        self.softmax_model = softmax_model
        self.write_csv = write_csv
        self.csv_file = "accuracy_evaluation" + (f"_{name}" if name else "") + "_results.csv"
        self.csv_headers = ["epoch", "steps", "accuracy"]
        self.primary_metric = "accuracy"

    def __call__(
        self, model, output_path=None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        was_training = model.training
        model.eval()
        self.dataloader.collate_fn = model.collate
        correct = total = 0
        try:
            with torch.inference_mode():
                for features, labels in self.dataloader:
                    features = [{k: v.to(model.device) for k, v in f.items()} for f in features]
                    _, logits = self.softmax_model(features, labels=None)
                    correct += (logits.argmax(dim=1).cpu() == labels.view(-1)).sum().item()
                    total += logits.shape[0]
        finally:
            model.train(was_training)
        if total == 0:
            raise ValueError("LabelAccuracyEvaluator: the DataLoader is empty")
        accuracy = correct / total
        self.append_csv(output_path, [epoch, steps, accuracy])
        return self.prefix({"accuracy": accuracy})

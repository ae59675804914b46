"""The benchmark corpus: natural, cased STS-B sentences mixed with review sentences."""

from __future__ import annotations

import csv
import gzip
import random
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_corpus(n: int, seed: int = 0, data_dir: Path = DATA_DIR) -> list[str]:
    """n sentences: half from STS-B (all splits), half from corpus/sentences.tsv.gz."""
    if not data_dir.is_dir():
        raise SystemExit(f"benchmark data not found at {data_dir} (expected ../shared/data)")
    stsb: list[str] = []
    for split in ("train", "dev", "test"):
        with open(data_dir / "stsb" / f"stsb-en-{split}.csv", encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                stsb.extend(row[:2])
    reviews: list[str] = []
    with gzip.open(data_dir / "corpus" / "sentences.tsv.gz", "rt", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            _, _, sentence = line.rstrip("\n").partition("\t")
            if sentence:
                reviews.append(sentence)
    rng = random.Random(seed)
    half = n // 2
    picked = rng.sample(stsb, half) + rng.sample(reviews, n - half)
    rng.shuffle(picked)
    return picked

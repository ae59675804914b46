"""Smoke test of the installed wheel, run by tests/wheel/run.sh with a fresh venv's python
from a directory outside the source tree, so that `import fastsbert` finds the wheel's
package. Torch-free: every reference here is something a plain install has (HF
`tokenizers`, NumPy) or was computed beforehand in the full venv (tests/wheel/prepare.py).

One function per check, each taking what it needs by path; main() runs those whose inputs
were given. Exits non-zero with the failed check's message.

Usage: python -I smoke.py --model-dir DIR --sentences JSON --reference NPY [--graft-source DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np

COSINE_MIN = 0.99999  # the vector parity bound the pytest suite uses


def check_installed_package() -> None:
    """fastsbert is imported from this interpreter's site-packages, and torch is absent."""
    import fastsbert

    site = Path(sysconfig.get_paths()["platlib"]).resolve()
    where = Path(fastsbert.__file__).resolve()
    assert where.is_relative_to(site), f"fastsbert imported from {where}, not from {site}"
    for name in ("torch", "transformers", "sentence_transformers"):
        assert importlib.util.find_spec(name) is None, f"{name} is importable in the wheel's venv"
    print(f"ok  installed package: fastsbert {fastsbert.__version__} from {where.parent}")


def check_tokenizer(tokenizer_json: Path, sentences_json: Path) -> None:
    """Native token ids equal HF tokenizers' (the file's truncation, padding off, special
    tokens added)."""
    import fastsbert
    import tokenizers

    texts = json.loads(sentences_json.read_text(encoding="utf-8"))
    ref = tokenizers.Tokenizer.from_file(str(tokenizer_json))
    ref.no_padding()
    expected = [e.ids for e in ref.encode_batch(texts, add_special_tokens=True)]
    got = fastsbert.Tokenizer.from_file(str(tokenizer_json)).encode_batch(texts)
    bad = [i for i, (e, g) in enumerate(zip(expected, got)) if list(e) != list(g)]
    assert len(got) == len(expected) and not bad, (
        f"{len(bad)} of {len(texts)} texts tokenize differently from HF tokenizers, "
        f"first {texts[bad[0]][:60]!r}" if bad else "batch length differs")
    print(f"ok  tokenizer: {len(texts)} texts, ids equal HF tokenizers")


def check_topk(expect_level: str | None = None) -> None:
    """Top-k cosine search equals a NumPy brute force (on the level FASTSBERT_SIMD forces,
    when expect_level names it)."""
    import fastsbert

    level = fastsbert.simd_level()
    assert level in fastsbert.simd_levels(), f"simd_level() {level!r} not in {fastsbert.simd_levels()}"
    if expect_level is not None:
        assert level == expect_level, f"FASTSBERT_SIMD={expect_level} but simd_level() is {level!r}"
    rng = np.random.default_rng(7)
    corpus = rng.standard_normal((3000, 96), dtype=np.float32)
    queries = rng.standard_normal((37, 96), dtype=np.float32)
    k = 10
    scores, idx = fastsbert.topk(queries, corpus, k=k)

    def unit(a: np.ndarray) -> np.ndarray:
        a = a.astype(np.float64)
        return a / np.linalg.norm(a, axis=1, keepdims=True)

    sims = unit(queries) @ unit(corpus).T
    want_idx = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    want = np.take_along_axis(sims, want_idx, axis=1)
    assert scores.shape == idx.shape == (len(queries), k)
    np.testing.assert_allclose(scores, want, atol=1e-5)
    # Equal indices, except where two neighbours' scores are closer than the float32 error.
    got_scores = np.take_along_axis(sims, idx, axis=1)
    np.testing.assert_allclose(got_scores, want, atol=1e-5)
    assert all(len(set(row)) == k for row in idx.tolist()), "a neighbour is listed twice"
    print(f"ok  topk on {level}: equals NumPy brute force")


def check_simd_levels(script: Path) -> None:
    """Every level this CPU runs can be forced with FASTSBERT_SIMD and gives NumPy's top-k:
    each is checked in its own interpreter, started with that level in its environment."""
    import fastsbert

    levels = fastsbert.simd_levels()
    assert "scalar" in levels, levels
    for level in levels:
        env = dict(os.environ, FASTSBERT_SIMD=level)
        out = subprocess.run([sys.executable, "-I", str(script), "--topk-level", level],
                             env=env, capture_output=True, text=True, check=False)
        assert out.returncode == 0, f"FASTSBERT_SIMD={level}:\n{out.stdout}{out.stderr}"
        print(out.stdout.strip())


def check_encode(model_dir: Path, sentences_json: Path, reference_npy: Path) -> None:
    """fastsbert.encode of an exported model directory equals the vectors
    sentence-transformers computed for the same sentences (cosine >= COSINE_MIN)."""
    import fastsbert

    texts = json.loads(sentences_json.read_text(encoding="utf-8"))
    want = np.load(reference_npy)
    got = fastsbert.encode(texts, model=model_dir)
    assert got.shape == want.shape and got.dtype == np.float32, (got.shape, got.dtype, want.shape)
    g, w = got.astype(np.float64), want.astype(np.float64)
    cos = (g * w).sum(1) / np.maximum(np.linalg.norm(g, axis=1) * np.linalg.norm(w, axis=1), 1e-30)
    worst = int(np.argmin(cos))
    assert cos[worst] >= COSINE_MIN, (
        f"cosine {cos[worst]:.7f} < {COSINE_MIN} for text {worst} {texts[worst][:60]!r}")
    print(f"ok  encode {model_dir.name}: {len(texts)} vectors, min cosine to "
          f"sentence-transformers {cos.min():.7f}")


def _cosines(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    g, w = got.astype(np.float64), want.astype(np.float64)
    return (g * w).sum(1) / np.maximum(np.linalg.norm(g, axis=1) * np.linalg.norm(w, axis=1), 1e-30)


def check_graft(source_dir: Path, sentences_json: Path, reference_npy: Path) -> None:
    """A sentence-transformers directory that carries onnx/model.onnx and no torch weights
    becomes a model here, where torch is absent: pooling and normalisation are grafted onto
    the graph with onnx, its vectors equal sentence-transformers', and its int8 variant is
    built, guarded and run in the same torch-free install."""
    import tempfile

    texts = json.loads(sentences_json.read_text(encoding="utf-8"))
    want = np.load(reference_npy)
    with tempfile.TemporaryDirectory(prefix="fastsbert-home-") as home:
        os.environ["FASTSBERT_HOME"] = home  # a fresh cache: the graft runs here
        import fastsbert

        enc = fastsbert.Encoder(source_dir)
        cos = _cosines(enc.encode(texts), want)
        assert cos.min() >= COSINE_MIN, f"grafted model: min cosine {cos.min():.7f} < {COSINE_MIN}"
        int8 = fastsbert.Encoder(source_dir, dtype="int8")
        assert int8.dtype == "int8", int8.dtype
        cos8 = _cosines(int8.encode(texts), want)
        # The accuracy guard's own bar (mean cosine to float32 >= 0.99).
        assert cos8.mean() >= 0.99, f"int8: mean cosine {cos8.mean():.4f} < 0.99"
    print(f"ok  graft {source_dir.name} (no torch): {len(texts)} vectors, min cosine to "
          f"sentence-transformers {cos.min():.7f}; int8 mean cosine {cos8.mean():.4f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model-dir", type=Path, help="exported model directory (tokenizer.json inside)")
    p.add_argument("--sentences", type=Path, help="JSON list of the sentences to embed")
    p.add_argument("--reference", type=Path, help="sentence-transformers' vectors (.npy)")
    p.add_argument("--graft-source", type=Path,
                   help="sentence-transformers directory with onnx/model.onnx and no torch weights")
    p.add_argument("--topk-level", help=argparse.SUPPRESS)  # check_simd_levels' child
    args = p.parse_args()
    if args.topk_level:
        check_topk(expect_level=args.topk_level)
        return

    check_installed_package()
    check_topk()
    check_simd_levels(Path(__file__).resolve())
    if args.model_dir and args.sentences:
        check_tokenizer(args.model_dir / "tokenizer.json", args.sentences)
        if args.reference:
            check_encode(args.model_dir, args.sentences, args.reference)
    if args.graft_source and args.sentences and args.reference:
        check_graft(args.graft_source, args.sentences, args.reference)


if __name__ == "__main__":
    main()

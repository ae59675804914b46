"""A Hugging Face Hub cache made from local directories, for tests that cannot reach a hub.

The layout is the one ``huggingface_hub`` writes and reads (``HF_HUB_CACHE``):
``models--{namespace}--{name}/blobs/{sha256}`` holds file contents,
``snapshots/{commit}/{path}`` links to them, and ``refs/{revision}`` names the commit.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def populate_hub_cache(cache_dir: str | os.PathLike, repo_id: str, src_dir: str | os.PathLike,
                       revision: str = "main") -> str:
    """Puts every file of ``src_dir`` into ``cache_dir`` as the snapshot of ``repo_id`` at
    ``revision``; returns the commit hash (derived from the contents, 40 hex digits)."""
    src = Path(src_dir)
    files = sorted(p for p in src.rglob("*") if p.is_file())
    digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    commit = hashlib.sha1(
        "".join(f"{p.relative_to(src)}:{d}\n" for p, d in digests.items()).encode()
    ).hexdigest()
    repo = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot = repo / "snapshots" / commit
    for p, digest in digests.items():
        blob = repo / "blobs" / digest
        if not blob.exists():
            blob.write_bytes(p.read_bytes())
        link = snapshot / p.relative_to(src)
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / revision).write_text(commit)
    return commit

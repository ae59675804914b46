"""Models named by Hub id: resolved from a Hub cache in offline mode, exported once per
(repo id, commit), equal to the same model loaded from its directory, and never confused
with a local path. The cache is built here from local directories (tests reach no hub)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastsbert
from fastsbert import model_cache
from hub_cache import populate_hub_cache

pytest.importorskip("huggingface_hub")

TEXTS = ["A man is playing a flute.", "Someone plays a flute.", "The cat sleeps.", ""]
REPO = "tiny-org/tiny-bert"


@pytest.fixture(scope="module")
def hub(tmp_path_factory, tiny_st_model):
    """A Hub cache holding REPO at "main" (mean pooling) and at "v2" (cls pooling)."""
    cache = tmp_path_factory.mktemp("hub-cache")
    main_dir = tiny_st_model("bert", "mean")
    v2_dir = tiny_st_model("bert", "cls")
    commits = {
        "main": populate_hub_cache(cache, REPO, main_dir),
        "v2": populate_hub_cache(cache, REPO, v2_dir, revision="v2"),
    }
    return {"cache": cache, "main": main_dir, "v2": v2_dir, "commits": commits}


def test_hub_id_equals_its_local_directory(hub):
    by_id = fastsbert.Encoder(REPO, cache_folder=hub["cache"])
    by_dir = fastsbert.Encoder(hub["main"])
    np.testing.assert_allclose(by_id.encode(TEXTS), by_dir.encode(TEXTS), rtol=0, atol=1e-6)
    # Exported into fastsbert's cache under the repo id and the commit, not into the Hub
    # cache (whose files are shared, read-only blobs).
    assert by_id.model_dir.name.startswith("tiny-org--tiny-bert-" + hub["commits"]["main"])
    assert model_cache.cache_dir() in by_id.model_dir.parents


def test_revision_selects_the_snapshot(hub):
    v2 = fastsbert.Encoder(REPO, revision="v2", cache_folder=hub["cache"]).encode(TEXTS)
    np.testing.assert_allclose(v2, fastsbert.Encoder(hub["v2"]).encode(TEXTS), rtol=0, atol=1e-6)
    by_commit = fastsbert.Encoder(REPO, revision=hub["commits"]["v2"], cache_folder=hub["cache"])
    np.testing.assert_array_equal(by_commit.encode(TEXTS), v2)
    main = fastsbert.Encoder(REPO, cache_folder=hub["cache"]).encode(TEXTS)
    assert not np.allclose(main, v2, atol=1e-3)


def test_a_cached_export_is_reused(hub, monkeypatch):
    from fastsbert import exporter

    first = fastsbert.Encoder(REPO, cache_folder=hub["cache"]).model_dir

    def no_export(*args, **kwargs):
        raise AssertionError("exported again although the commit's export is cached")

    monkeypatch.setattr(exporter, "export", no_export)
    assert fastsbert.Encoder(REPO, cache_folder=hub["cache"]).model_dir == first


def test_sentence_transformers_reads_the_same_cache(hub):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(REPO, cache_folder=str(hub["cache"]), device="cpu")
    ours = fastsbert.Encoder(REPO, cache_folder=hub["cache"]).encode(TEXTS)
    np.testing.assert_allclose(ours, st.encode(TEXTS), rtol=0, atol=1e-5)


def test_offline_and_not_cached_names_the_id_and_the_way_out(hub):
    with pytest.raises(FileNotFoundError) as err:
        fastsbert.Encoder("tiny-org/not-there", cache_folder=hub["cache"])
    msg = str(err.value)
    assert "'tiny-org/not-there'" in msg and "HF_HUB_OFFLINE" in msg
    assert "hf download tiny-org/not-there" in msg
    assert "no local directory" in msg  # says the path was tried first
    with pytest.raises(FileNotFoundError, match="not found"):
        fastsbert.Encoder(REPO, revision="v3", cache_folder=hub["cache"])


def test_an_existing_path_wins_over_a_hub_id(hub, tmp_path, monkeypatch):
    import shutil

    local = tmp_path / REPO  # "tiny-org/tiny-bert" as a relative path, holding the v2 model
    shutil.copytree(hub["v2"], local)
    monkeypatch.chdir(tmp_path)
    enc = fastsbert.Encoder(REPO, cache_folder=hub["cache"])
    np.testing.assert_allclose(enc.encode(TEXTS), fastsbert.Encoder(hub["v2"]).encode(TEXTS),
                               rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="revision"):
        fastsbert.Encoder(REPO, revision="v2", cache_folder=hub["cache"])


@pytest.mark.parametrize("name", ["./tiny-org/absent", "/no/such/dir", "a/b/c", "x..y"])
def test_what_cannot_be_a_hub_id_is_only_a_path(name):
    with pytest.raises(FileNotFoundError, match="model directory not found"):
        model_cache.resolve_source(name)


def test_a_path_object_is_never_a_hub_id(hub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="model directory not found"):
        fastsbert.Encoder(Path(REPO), cache_folder=hub["cache"])


def test_export_takes_a_hub_id(hub, tmp_path):
    out = fastsbert.export(REPO, tmp_path / "out", revision="v2", cache_folder=hub["cache"])
    np.testing.assert_allclose(fastsbert.Encoder(out).encode(TEXTS),
                               fastsbert.Encoder(hub["v2"]).encode(TEXTS), rtol=0, atol=1e-6)


def test_cli_resolves_hub_ids_from_the_shared_cache(hub, tmp_path, minilm_dir):
    """The CLI in a fresh process, with the Hub cache given the usual way (HF_HUB_CACHE),
    on the real default model published under its Hub id."""
    repo = "sentence-transformers/all-MiniLM-L6-v2"
    populate_hub_cache(hub["cache"], repo, minilm_dir)
    inp = tmp_path / "in.txt"
    inp.write_text("\n".join(TEXTS[:3]) + "\n")
    env = {**os.environ, "HF_HUB_CACHE": str(hub["cache"]), "HF_HUB_OFFLINE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "fastsbert", "encode", str(inp), str(tmp_path / "out.npy"),
         "--model", repo, "--no-progress"],
        env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    got = np.load(tmp_path / "out.npy")
    np.testing.assert_allclose(got, fastsbert.Encoder(minilm_dir).encode(TEXTS[:3]),
                               rtol=0, atol=1e-5)
    missing = subprocess.run(
        [sys.executable, "-m", "fastsbert", "encode", str(inp), str(tmp_path / "x.npy"),
         "--model", "sentence-transformers/absent"],
        env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1
    assert "sentence-transformers/absent" in missing.stderr and "hf download" in missing.stderr

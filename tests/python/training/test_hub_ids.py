"""models.Transformer and SentenceEncoder take Hub ids, resolved offline from a Hub cache
built here from local directories; a local path that exists wins over a Hub id."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from fastsbert.training import SentenceEncoder, models
from hub_cache import populate_hub_cache
from tiny_models import MAX_SEQ_LENGTH, hf_dir_of

pytest.importorskip("huggingface_hub")

TEXTS = ["A man is playing a flute.", "Someone plays a flute.", "The cat sleeps.", ""]
ST_REPO, HF_REPO = "tiny-org/tiny-bert-st", "tiny-org/tiny-bert-hf"


@pytest.fixture(scope="module")
def hub(tmp_path_factory, tiny_st_model):
    """(Hub cache, the sentence-transformers directory cached as ST_REPO); HF_REPO is its
    plain encoder directory."""
    cache = tmp_path_factory.mktemp("hub-cache")
    st_dir = tiny_st_model("bert", "mean")
    populate_hub_cache(cache, ST_REPO, st_dir)
    populate_hub_cache(cache, HF_REPO, hf_dir_of(st_dir))
    return cache, st_dir


def test_sentence_encoder_from_hub_id_equals_its_directory(
    hub, tiny_st_model, tmp_path, monkeypatch
):
    cache, st_dir = hub
    assert os.environ.get("HF_HUB_OFFLINE") == "1"  # set by conftest: nothing is downloaded
    by_dir = SentenceEncoder(st_dir, device="cpu").encode(TEXTS)
    by_id = SentenceEncoder(ST_REPO, cache_folder=cache, device="cpu").encode(TEXTS)
    np.testing.assert_array_equal(by_id, by_dir)
    with pytest.raises(FileNotFoundError, match="tiny-org/absent"):
        SentenceEncoder("tiny-org/absent", cache_folder=cache, device="cpu")
    # A local directory named like the id wins; here it holds a cls-pooling model.
    shutil.copytree(tiny_st_model("bert", "cls"), tmp_path / ST_REPO)
    monkeypatch.chdir(tmp_path)
    local = SentenceEncoder(ST_REPO, cache_folder=cache, device="cpu")
    assert local[1].pooling_mode == "cls"


def test_transformer_from_hub_id_in_the_default_cache(hub, tmp_path):
    """HF_HUB_CACHE (read when huggingface_hub is imported, hence a child process) is where
    a Hub id is looked up by default, as in transformers and sentence-transformers."""
    cache, st_dir = hub
    code = textwrap.dedent(f"""
        import numpy as np
        from fastsbert.training import SentenceEncoder, models
        t = models.Transformer({HF_REPO!r}, max_seq_length={MAX_SEQ_LENGTH})
        model = SentenceEncoder(modules=[t, models.Pooling(t.get_word_embedding_dimension())],
                                device="cpu")
        np.save({str(tmp_path / "by_id.npy")!r}, model.encode({TEXTS!r}))
    """)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_CACHE": str(cache),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    by_dir = SentenceEncoder(st_dir, device="cpu").encode(TEXTS)
    np.testing.assert_allclose(np.load(tmp_path / "by_id.npy"), by_dir, rtol=0, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="tiny-org/absent"):
        models.Transformer("tiny-org/absent", cache_dir=cache)

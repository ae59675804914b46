"""fastsbert.ray on a local Ray cluster that the test starts and stops (loopback only)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ray = pytest.importorskip("ray")

import fastsbert  # noqa: E402
import fastsbert.ray  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1", configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model(tiny_st_model, tmp_path_factory):
    return fastsbert.export(tiny_st_model("bert", "mean"), tmp_path_factory.mktemp("ray") / "m")


def test_embed_matches_the_plain_encoder(cluster, model, stsb_test_sentences, tmp_path):
    texts = stsb_test_sentences[:1500] + ["", "x\ry"]
    ds = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts)])
    out = fastsbert.ray.embed(ds, model=model, concurrency=2, rows_per_call=256)
    out.write_parquet(str(tmp_path / "vectors"))

    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "vectors")
    assert set(table.column_names) == {"id", "text", "embedding"}
    ids = table.column("id").to_numpy()
    emb = np.stack(table.column("embedding").to_numpy(zero_copy_only=False)).astype(np.float32)
    order = np.argsort(ids)
    np.testing.assert_array_equal(ids[order], np.arange(len(texts)))
    assert table.column("text").to_pylist() == [texts[i] for i in ids]
    want = fastsbert.Encoder(model).encode(texts)
    got = emb[order]
    cos = (got * want).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    assert cos.min() >= 0.99999  # batch composition may change the last bits


def test_missing_column_is_named(cluster, model):
    ds = ray.data.from_items([{"body": "hello"}])
    with pytest.raises(Exception, match="no column 'text'"):
        fastsbert.ray.embed(ds, model=model, concurrency=1).take_all()


def test_a_hub_id_is_resolved_by_each_actor(cluster, tiny_st_model, tmp_path):
    """A Hub id reaches the actors as an id (each node resolves it from its own caches,
    no shared filesystem needed) and gives the directory's vectors."""
    from hub_cache import populate_hub_cache

    src = tiny_st_model("bert", "mean")
    populate_hub_cache(tmp_path / "hub", "tiny-org/ray-bert", src)
    texts = ["A man is playing a flute.", "Someone plays a flute.", ""]
    ds = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts)])
    import shutil

    out = fastsbert.ray.embed(ds, model="tiny-org/ray-bert", cache_folder=tmp_path / "hub",
                              concurrency=1, prompt="query: ")
    # The driver's export is gone before the actors start (as on a node that never had
    # it): an actor given the driver's path would fail; one given the id exports again.
    shutil.rmtree(fastsbert.prepare.prepare_model("tiny-org/ray-bert",
                                                  cache_folder=tmp_path / "hub"))
    rows = out.take_all()
    got = np.stack([r["embedding"] for r in sorted(rows, key=lambda r: r["id"])])
    want = fastsbert.Encoder(src).encode(texts, prompt="query: ")
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)

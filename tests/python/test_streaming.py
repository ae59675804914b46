"""encode_file / `fastsbert encode`: formats, chunked resume after SIGKILL, flat memory."""

from __future__ import annotations

import csv
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fastsbert
from fastsbert.streaming import encode_file


@pytest.fixture(scope="module")
def tiny_model(tiny_st_model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stream-model") / "bert"
    return fastsbert.export(tiny_st_model("bert", "mean"), out)


@pytest.fixture(scope="module")
def encoder(tiny_model) -> fastsbert.Encoder:
    return fastsbert.Encoder(tiny_model)


@pytest.fixture(scope="module")
def sentences(stsb_test_sentences) -> list[str]:
    return stsb_test_sentences[:700] + ["", "x\ry", "a\u2028b", "   ", "nul\x00byte"]


def _cli(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fastsbert.cli", "encode", *map(str, args)],
                          capture_output=True, text=True, check=False, **kw)


def test_npy_rows_follow_lines(tmp_path, encoder, sentences):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(sentences) + "\n", encoding="utf-8", newline="")
    r = encode_file(src, tmp_path / "out.npy", encoder, chunk_size=64)
    assert (r.rows, r.dim, r.resumed_rows, r.skipped) == (len(sentences), encoder.dim, 0, False)
    got = np.load(tmp_path / "out.npy")
    np.testing.assert_allclose(got, encoder.encode(sentences), atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.npy"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tsv", "parquet"])
def test_structured_inputs(tmp_path, encoder, sentences, fmt):
    texts = [t for t in sentences if "\x00" not in t] + ['quoted "text", with comma\nand newline']
    src = tmp_path / f"in.{fmt}"
    if fmt == "jsonl":
        src.write_text("".join(json.dumps({"id": i, "body": t}) + "\n" for i, t in enumerate(texts)))
    elif fmt in ("csv", "tsv"):
        with open(src, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, delimiter="," if fmt == "csv" else "\t")
            w.writerow(["id", "body"])
            w.writerows(enumerate(texts))
    else:
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"id": range(len(texts)), "body": texts}), src, row_group_size=100)
    out = tmp_path / "out.npy"
    encode_file(src, out, encoder, field="body", chunk_size=100)
    np.testing.assert_allclose(np.load(out), encoder.encode(texts), atol=1e-6)


def test_parquet_shards(tmp_path, encoder, sentences):
    pq = pytest.importorskip("pyarrow.parquet")
    src = tmp_path / "in.txt"
    src.write_text("\n".join(sentences), encoding="utf-8", newline="")
    out = tmp_path / "vectors"
    r = encode_file(src, out, encoder, chunk_size=200)
    assert r.rows == len(sentences)
    shards = sorted(out.glob("part-*.parquet"))
    assert len(shards) == -(-len(sentences) // 200)
    table = pq.read_table(out, columns=["row", "embedding"])
    rows = table.column("row").to_numpy()
    emb = np.stack(table.column("embedding").to_numpy(zero_copy_only=False))
    order = np.argsort(rows)
    np.testing.assert_array_equal(rows[order], np.arange(len(sentences)))
    np.testing.assert_allclose(emb[order], encoder.encode(sentences), atol=1e-6)


def test_bad_records_are_named(tmp_path, encoder):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "ok"}\n{"text": 3}\n')
    with pytest.raises(ValueError, match=r"line 2: field 'text' is int"):
        encode_file(src, tmp_path / "out.npy", encoder)
    src.write_text('{"text": "ok"}\nnot json\n')
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        encode_file(src, tmp_path / "out.npy", encoder)
    csv_src = tmp_path / "in.csv"
    csv_src.write_text("id,body\n1,hello\n")
    with pytest.raises(ValueError, match=r"no column 'text' \(columns: id, body\)"):
        encode_file(csv_src, tmp_path / "out.npy", encoder)
    assert not (tmp_path / "out.npy").exists()


def test_finished_output_is_left_alone(tmp_path, encoder, sentences):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(sentences[:50]))
    out = tmp_path / "out.npy"
    encode_file(src, out, encoder)
    before = out.stat().st_mtime_ns
    r = _cli(src, out, "--model", encoder.model_dir)
    assert r.returncode == 0 and "already complete (50 x" in r.stdout
    assert out.stat().st_mtime_ns == before
    r = _cli(src, out, "--model", encoder.model_dir, "--overwrite")
    assert r.returncode == 0 and "wrote 50 x" in r.stdout
    other = tmp_path / "other.npy"
    other.write_bytes(b"not an array")
    r = _cli(src, other, "--model", encoder.model_dir)
    assert r.returncode == 1 and "not a finished fastsbert output" in r.stderr
    assert other.read_bytes() == b"not an array"


def test_standard_input_streams(tmp_path, encoder):
    out = tmp_path / "out.npy"
    r = _cli("-", out, "--model", encoder.model_dir, "--chunk-size", "2",
             input="one\n\nthree\r\nfour")
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(np.load(out), encoder.encode(["one", "", "three", "four"]), atol=1e-6)


def _rows_done(manifest: Path) -> int:
    try:
        return json.loads(manifest.read_text())["rows_done"]
    except (OSError, ValueError):  # not written yet, or being replaced
        return 0


@pytest.mark.parametrize("out_name", ["out.npy", "shards"])
def test_sigkill_at_random_points_then_resume_is_identical(tmp_path, tiny_model, sentences, out_name):
    if out_name == "shards":
        pytest.importorskip("pyarrow")
    src = tmp_path / "in.txt"
    texts = sentences * 40  # about 28,000 rows in 282 chunks
    src.write_text("\n".join(texts) + "\n", encoding="utf-8", newline="")
    args = ["--model", tiny_model, "--chunk-size", "100", "--threads", "1"]
    reference = tmp_path / ("ref-" + out_name)
    assert _cli(src, reference, *args).returncode == 0

    out = tmp_path / out_name
    manifest = tmp_path / f".{out_name}.partial" / "_manifest.json"
    rng = random.Random(1234)
    kills = 0
    for attempt in range(5):
        child = subprocess.Popen([sys.executable, "-m", "fastsbert.cli", "encode", str(src),
                                  str(out), *map(str, args)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempt == 0:  # during start-up, before or while the job is set up
            time.sleep(rng.uniform(0.05, 0.3))
        else:  # after a random number of further chunks, at a random moment within one
            target = _rows_done(manifest) + 100 * rng.randint(1, 8)
            while child.poll() is None and _rows_done(manifest) < target:
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.05))
        if child.poll() is not None:  # it finished first: nothing left to interrupt
            break
        child.send_signal(signal.SIGKILL)
        kills += 1
        child.wait()
        if out.exists():  # killed after its final rename: then the output is complete
            assert _same_output(out, reference)
            break
    r = _cli(src, out, *args)
    assert r.returncode == 0, r.stderr
    assert kills == 5
    assert _same_output(out, reference)
    assert not (tmp_path / f".{out_name}.partial").exists()


def _same_output(out: Path, reference: Path) -> bool:
    """Byte-identical .npy, or Parquet shards with identical tables."""
    if out.suffix == ".npy":
        return out.read_bytes() == reference.read_bytes()
    import pyarrow.parquet as pq

    names = sorted(p.name for p in reference.glob("part-*.parquet"))
    return names == sorted(p.name for p in out.glob("part-*.parquet")) and all(
        pq.read_table(out / name).equals(pq.read_table(reference / name)) for name in names)


def test_partial_job_with_other_arguments_is_not_mixed(tmp_path, encoder, sentences):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(sentences))
    out = tmp_path / "out.npy"
    work = tmp_path / ".out.npy.partial"
    work.mkdir()
    (work / "_manifest.json").write_text(json.dumps(
        {"spec": {"version": 1, "chunk_size": 7}, "rows": 3, "chunks_done": 0, "rows_done": 0}))
    with pytest.raises(ValueError, match="partial job made with other arguments"):
        encode_file(src, out, encoder, chunk_size=64)
    encode_file(src, out, encoder, chunk_size=64, overwrite=True)
    np.testing.assert_allclose(np.load(out), encoder.encode(sentences), atol=1e-6)


_MEMORY_PROBE = """
import sys, fastsbert
from fastsbert.streaming import encode_file

def rss_anon_kb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("RssAnon:"))

enc = fastsbert.Encoder(sys.argv[1], threads=1)
marks = []
orig = enc.encode
def encode(texts, **kw):
    marks.append(rss_anon_kb())
    return orig(texts, **kw)
enc.encode = encode
encode_file(sys.argv[2], sys.argv[3], enc, chunk_size=2000, batch_size=64)
print(marks[2], max(marks[2:]))
"""


def test_memory_stays_flat_on_a_large_input(tmp_path, tiny_model):
    # 200k short lines: if rows were kept, RssAnon would grow by tens of MB.
    src = tmp_path / "big.txt"
    with open(src, "w", encoding="utf-8") as fh:
        for i in range(200_000):
            fh.write(f"line {i} of a generated corpus, {i % 97} words long-ish\n")
    r = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(tiny_model), str(src),
                        str(tmp_path / "out.npy")], capture_output=True, text=True, check=True)
    early, peak = map(int, r.stdout.split())
    assert peak - early < 20_000, f"RssAnon grew from {early} kB to {peak} kB"
    assert np.load(tmp_path / "out.npy", mmap_mode="r").shape[0] == 200_000


@pytest.mark.parametrize("precision", ["int8", "ubinary"])
def test_compact_outputs_equal_quantized_vectors(tmp_path, encoder, sentences, precision):
    from fastsbert.compact import calibration_ranges, quantize_embeddings

    src = tmp_path / "in.txt"
    src.write_text("\n".join(sentences))
    ranges = calibration_ranges(encoder.encode(sentences[:300]))
    kw = {"ranges": ranges} if precision == "int8" else {}
    encode_file(src, tmp_path / "out.npy", encoder, chunk_size=100, precision=precision, **kw)
    # The same chunks of 100 rows, quantized with the same fixed ranges.
    chunks = [encoder.encode(sentences[i:i + 100]) for i in range(0, len(sentences), 100)]
    want = quantize_embeddings(np.concatenate(chunks), precision, ranges=ranges)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), want)


def test_scalar_precision_needs_fixed_ranges(tmp_path, encoder):
    src = tmp_path / "in.txt"
    src.write_text("a\nb\n")
    with pytest.raises(ValueError, match="needs ranges="):
        encode_file(src, tmp_path / "out.npy", encoder, precision="uint8")


def test_prompt_and_truncate_dim_through_the_cli(tmp_path, encoder, sentences):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(sentences[:50]) + "\n", encoding="utf-8")
    r = _cli(src, tmp_path / "out.npy", "--model", encoder.model_dir, "--prompt", "query: ",
             "--truncate-dim", "7", "--no-progress")
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"),
                               encoder.encode(sentences[:50], prompt="query: ", truncate_dim=7),
                               atol=1e-6)
    # Another prompt is another job: the finished output is not taken for it.
    r = _cli(src, tmp_path / "out.npy", "--model", encoder.model_dir, "--prompt-name", "nope")
    assert r.returncode == 1 and "'nope' is not one of the model's prompts" in r.stderr

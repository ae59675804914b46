"""Text files in, .npy out: the line rule, atomic output, and `fastsbert encode`."""

from __future__ import annotations

import io
import signal
import subprocess
import sys

import fastsbert
import numpy as np
import pytest
from fastsbert import files

# (file bytes, the texts the rule gives)
LINE_CASES = [
    (b"a\r\nb\r\n\r\nc\r\n", ["a", "b", "", "c"]),
    (b"x\ry\n", ["x\ry"]),
    (b"x\r\r\n", ["x\r"]),
    (b"one\ntwo", ["one", "two"]),
    (b"one\ntwo\n", ["one", "two"]),
    (b"one\n\n", ["one", ""]),
    (b"\n", [""]),
    (b"", []),
    (b"   \n\t\n", ["   ", "\t"]),
    ("a\u2028b\u0085c\n".encode(), ["a\u2028b\u0085c"]),
    (b"nul\x00inside\n", ["nul\x00inside"]),
    (b"\xef\xbb\xbfbom first\n\xef\xbb\xbfbom later\n", ["bom first", "\ufeffbom later"]),
    (b"tail\r", ["tail\r"]),
    ("caf\u00e9 \U0001f600\n".encode(), ["caf\u00e9 \U0001f600"]),
]


@pytest.mark.parametrize("data, texts", LINE_CASES)
def test_line_rule(tmp_path, data, texts):
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    assert files.read_lines(path) == texts
    assert files.read_lines(io.BytesIO(data)) == texts


class _Trickle(io.RawIOBase):
    """A stream that returns at most `step` bytes per read, like a slow pipe."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self._step if n < 0 else min(n, self._step)
        out = self._data[self._pos:self._pos + n]
        self._pos += len(out)
        return out


@pytest.mark.parametrize("step", [1, 2, 3, 5])
def test_lines_spanning_reads(monkeypatch, step):
    # Every "\r\n", BOM and multi-byte character split across reads.
    monkeypatch.setattr(files, "_CHUNK_BYTES", step)
    for data, texts in LINE_CASES:
        assert files.read_lines(_Trickle(data, step)) == texts, data


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\nalso fine\nbroken \xc3(\n")
    with pytest.raises(ValueError, match=r"bad\.txt: line 3 is not valid UTF-8"):
        files.read_lines(path)
    # An encoded surrogate is not UTF-8 either.
    path.write_bytes(b"\xed\xa0\x80\n")
    with pytest.raises(ValueError, match="line 1"):
        files.read_lines(path)


def test_a_directory_is_not_a_text_file(tmp_path):
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        files.read_lines(tmp_path)


# ------------------------------------------------------------------ atomic output


def test_atomic_output_refuses_to_replace(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="overwrite"):
        with files.atomic_output(target) as fh:
            fh.write(b"new")
    assert target.read_bytes() == b"keep me"
    with files.atomic_output(target, overwrite=True) as fh:
        fh.write(b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_atomic_output_removes_its_temp_file_on_error(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError, match="boom"):
        with files.atomic_output(target) as fh:
            fh.write(b"partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


_SLOW_WRITER = """
import sys, time
from fastsbert.files import atomic_output
with atomic_output(sys.argv[1]) as fh:
    for _ in range(400):
        fh.write(b"x" * 65536)
        fh.flush()
        print("wrote", flush=True)
        time.sleep(0.01)
"""


def test_sigkill_mid_write_leaves_no_file_under_the_final_name(tmp_path):
    target = tmp_path / "out.bin"
    child = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(target)],
                             stdout=subprocess.PIPE, text=True)
    for _ in range(5):  # a few chunks are on disk
        child.stdout.readline()
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not target.exists()
    leftovers = list(tmp_path.iterdir())
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".out.bin.tmp-")


# ------------------------------------------------------------------ the CLI


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fastsbert.cli", *map(str, args)],
                          capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def encoder() -> fastsbert.Encoder:
    return fastsbert.Encoder()


def test_cli_rows_are_lines(tmp_path, encoder):
    data = b"a\r\nb\r\n\r\nc\r\nx\ry \xe2\x80\xa8 z\n   \n"
    expected = ["a", "b", "", "c", "x\ry \u2028 z", "   "]
    src = tmp_path / "in.txt"
    src.write_bytes(data)
    out = tmp_path / "out.npy"
    r = _cli("encode", src, out)
    assert r.returncode == 0, r.stderr
    emb = np.load(out)
    assert emb.shape == (len(expected), encoder.dim)
    np.testing.assert_allclose(emb, encoder.encode(expected), atol=1e-6)


def test_cli_reads_standard_input(tmp_path, encoder):
    out = tmp_path / "out.npy"
    r = _cli("encode", "-", out, input="first\n\nthird\n")
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(np.load(out), encoder.encode(["first", "", "third"]), atol=1e-6)


def test_cli_refuses_to_overwrite_before_any_work(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("hello\n")
    out = tmp_path / "out.npy"
    out.write_bytes(b"precious")
    r = _cli("encode", src, out, "--model", tmp_path / "no-such-model")
    assert r.returncode == 1 and "exists and is not a finished" in r.stderr and "--overwrite" in r.stderr
    assert out.read_bytes() == b"precious"
    r = _cli("encode", src, out, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert np.load(out).shape[0] == 1


def test_cli_bad_utf8_fails_and_writes_nothing(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"ok\n\xff\xfe\n")
    out = tmp_path / "out.npy"
    r = _cli("encode", src, out)
    assert r.returncode == 1 and "line 2 is not valid UTF-8" in r.stderr
    assert not out.exists()


def test_demo_runs(tmp_path):
    r = _cli("demo", "--top", "2")
    assert r.returncode == 0, r.stderr
    assert "most similar pairs" in r.stdout


def test_export_removes_temp_folders_left_by_a_killed_export(tiny_st_model, tmp_path):
    src = tiny_st_model("bert", "mean")
    out = tmp_path / "exported"
    stale = tmp_path / ".exported.tmp-0123456789abcdef"
    (stale / "_onnx").mkdir(parents=True)
    (stale / "_onnx" / "model.onnx").write_bytes(b"half written")
    unrelated = tmp_path / ".other.tmp-0123"
    unrelated.mkdir()
    import fastsbert.exporter

    fastsbert.export(src, out)
    assert not stale.exists() and unrelated.exists()
    enc = fastsbert.Encoder(out)
    assert enc.encode("hello").shape == (enc.dim,)


def test_export_records_position_capacity(tiny_st_model, tmp_path):
    import json

    from transformers import AutoConfig

    src = tiny_st_model("roberta", "mean")
    out = fastsbert.export(src, tmp_path / "exported")
    cfg = json.loads((out / "fastsbert.json").read_text())
    hf = AutoConfig.from_pretrained(src)
    # RoBERTa positions start after the padding index.
    assert cfg["max_positions"] == hf.max_position_embeddings - hf.pad_token_id - 1
    assert 1 <= cfg["max_seq_length"] <= cfg["max_positions"]

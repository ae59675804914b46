"""Early failures of the native core: each runs in a fresh process, where the first Encoder
of the process is the one that fails (a failed first Encoder used to crash the process).

Every case asserts that the process was not killed by a signal, the exception type, and a
message naming the path or value at fault.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fastsbert
from fastsbert import _core


def model_copy(src: Path, dst: Path) -> Path:
    """A model directory whose files link to `src`'s, so that a test can replace one."""
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).symlink_to(f)
    return dst


def rewrite_config(model_dir: Path, **changes) -> Path:
    path = model_dir / "fastsbert.json"
    cfg = json.loads(path.read_text())
    cfg.update(changes)
    path.unlink()
    path.write_text(json.dumps(cfg))
    return path


def run_fresh(code: str) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter; it must print the type and message it caught."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def expect_error(call: str, expected: type[Exception], *needles: str) -> str:
    """Runs `call` as the first native work of a fresh process; checks the exception's
    type (by its classes' names) and that its message holds every needle."""
    out = run_fresh(f"""
        import fastsbert
        from fastsbert import _core
        try:
            {call}
        except Exception as e:
            print("|".join(c.__name__ for c in type(e).__mro__))
            print(isinstance(e, _core.FastsbertError))
            print(e)
        else:
            print("no exception")
    """)
    assert out.returncode == 0, f"exit status {out.returncode}\n{out.stdout}\n{out.stderr}"
    lines = out.stdout.splitlines()
    assert lines[0] != "no exception"
    mro = lines[0].split("|")
    assert expected.__name__ in mro, out.stdout
    message = "\n".join(lines[2:])
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    return lines[1]  # whether it is also a FastsbertError


def test_unknown_device(minilm_exported):
    assert expect_error(f"fastsbert.encode(['a'], model={str(minilm_exported)!r}, device='tpu')",
                        ValueError, "'tpu'") == "True"


def test_negative_cuda_device(minilm_exported):
    expect_error(f"fastsbert.encode(['a'], model={str(minilm_exported)!r}, device='cuda:-1')",
                 ValueError, "'cuda:-1'")


def test_default_model_with_bad_device():
    try:
        fastsbert.prepare.prepare_model(None)
    except ImportError as e:
        pytest.skip(str(e))
    expect_error("fastsbert.encode(['a'], device='tpu')", ValueError, "'tpu'")


def test_negative_threads_in_the_core(minilm_exported):
    expect_error(f"_core.Encoder({str(minilm_exported)!r}, threads=-3)", ValueError, "-3")


def test_missing_model_onnx(minilm_exported, tmp_path):
    d = model_copy(minilm_exported, tmp_path / "m")
    (d / "model.onnx").unlink()
    assert expect_error(f"fastsbert.Encoder({str(d)!r})", FileNotFoundError,
                        str(d / "model.onnx")) == "True"


@pytest.mark.parametrize(
    "text, needles",
    [
        ("{", ["JSON parse error"]),
        ("[1, 2]", ["JSON object"]),
        ("", ["JSON parse error"]),
    ],
)
def test_unparsable_config(minilm_exported, tmp_path, text, needles):
    d = model_copy(minilm_exported, tmp_path / "m")
    (d / "fastsbert.json").unlink()
    (d / "fastsbert.json").write_text(text)
    expect_error(f"fastsbert.Encoder({str(d)!r})", ValueError, str(d / "fastsbert.json"),
                 *needles)


@pytest.mark.parametrize(
    "changes, needles",
    [
        ({"dim": -1}, ['"dim"', "-1"]),
        ({"dim": 384.0}, ['"dim"', "384.0"]),
        ({"max_seq_length": 0}, ['"max_seq_length"', "0"]),
        ({"max_seq_length": "256"}, ['"max_seq_length"', '"256"']),
        ({"max_positions": 128}, ["max_seq_length 256", "max_positions 128"]),
        ({"max_positions": -5}, ['"max_positions"', "-5"]),
        ({"pad_token_id": -1}, ['"pad_token_id"', "-1"]),
        ({"normalize": "yes"}, ['"normalize"', '"yes"']),
        ({"pooling": None}, ['"pooling"', "null"]),
        ({"inputs": []}, ['"inputs"']),
        ({"inputs": "input_ids"}, ['"inputs"', '"input_ids"']),
        ({"inputs": ["input_ids", "pixel_values"]}, ['"pixel_values"']),
        ({"inputs": ["input_ids", "input_ids", "attention_mask"]}, ['"input_ids" twice']),
    ],
)
def test_invalid_config_value(minilm_exported, tmp_path, changes, needles):
    d = model_copy(minilm_exported, tmp_path / "m")
    path = rewrite_config(d, **changes)
    expect_error(f"fastsbert.Encoder({str(d)!r})", ValueError, str(path), *needles)


def test_missing_config_key(minilm_exported, tmp_path):
    d = model_copy(minilm_exported, tmp_path / "m")
    path = d / "fastsbert.json"
    cfg = json.loads(path.read_text())
    del cfg["max_seq_length"]
    path.unlink()
    path.write_text(json.dumps(cfg))
    expect_error(f"fastsbert.Encoder({str(d)!r})", ValueError, str(path), '"max_seq_length"')


def test_vocabulary_without_its_unknown_token(minilm_exported, tmp_path):
    d = model_copy(minilm_exported, tmp_path / "m")
    tok = json.loads((minilm_exported / "tokenizer.json").read_text())
    unk = tok["model"]["unk_token"]
    del tok["model"]["vocab"][unk]
    (d / "tokenizer.json").unlink()
    (d / "tokenizer.json").write_text(json.dumps(tok))
    # Fails when the tokenizer is loaded, before any text is encoded.
    expect_error(f"fastsbert.Encoder({str(d)!r})", ValueError, f"'{unk}'",
                 str(d / "tokenizer.json"))
    expect_error(f"fastsbert.Tokenizer.from_file({str(d / 'tokenizer.json')!r})", ValueError,
                 f"'{unk}'", str(d / "tokenizer.json"))


def test_missing_tokenizer_file_in_the_core(tmp_path):
    path = tmp_path / "none" / "tokenizer.json"
    expect_error(f"_core.Tokenizer.from_file({str(path)!r})", FileNotFoundError, str(path))


def test_unknown_keys_are_ignored_and_max_positions_is_read(minilm_exported, tmp_path):
    d = model_copy(minilm_exported, tmp_path / "m")
    cfg = json.loads((minilm_exported / "fastsbert.json").read_text())
    rewrite_config(d, max_positions=cfg["max_seq_length"], added_later={"any": [1, 2]})
    enc = fastsbert.Encoder(d)
    reference = fastsbert.Encoder(minilm_exported)
    assert (enc.encode(["same text"]) == reference.encode(["same text"])).all()


def test_error_classes():
    assert issubclass(_core.InvalidArgumentError, ValueError)
    assert issubclass(_core.CorruptFileError, _core.InvalidArgumentError)
    assert issubclass(_core.MissingFileError, FileNotFoundError)
    for cls in (_core.InvalidArgumentError, _core.CorruptFileError, _core.MissingFileError,
                _core.CancelledError, _core.UnsupportedTokenizerError):
        assert issubclass(cls, _core.FastsbertError)
    assert issubclass(_core.FastsbertError, RuntimeError)


def test_available_cpus_follows_the_affinity_mask():
    assert _core.available_cpus() == len(os.sched_getaffinity(0))


# ------------------------------------------------------------------ through the CLI


def run_cli(tmp_path: Path, model: Path, *extra: str) -> subprocess.CompletedProcess:
    src = tmp_path / "in.txt"
    src.write_text("one line\nanother line\n")
    return subprocess.run(
        [sys.executable, "-m", "fastsbert.cli", "encode", str(src), str(tmp_path / "out.npy"),
         "--model", str(model), *extra],
        capture_output=True, text=True, timeout=120,
    )


def test_cli_bad_device(minilm_exported, tmp_path):
    out = run_cli(tmp_path, minilm_exported, "--device", "tpu")
    assert out.returncode == 1, (out.returncode, out.stderr)
    assert "'tpu'" in out.stderr


def test_cli_corrupt_config(minilm_exported, tmp_path):
    d = model_copy(minilm_exported, tmp_path / "m")
    path = rewrite_config(d, dim=-1)
    out = run_cli(tmp_path, d)
    assert out.returncode == 1, (out.returncode, out.stderr)
    assert str(path) in out.stderr and '"dim"' in out.stderr


def test_cli_missing_model_onnx(minilm_exported, tmp_path):
    d = model_copy(minilm_exported, tmp_path / "m")
    (d / "model.onnx").unlink()
    out = run_cli(tmp_path, d)
    assert out.returncode == 1, (out.returncode, out.stderr)
    assert str(d / "model.onnx") in out.stderr

"""Embedding files of any size: streamed in fixed chunks, resumable after a kill.

:func:`encode_file` reads texts from a file (plain text, JSON Lines, CSV/TSV or Parquet),
embeds them a chunk of rows at a time and writes one ``.npy`` (through a memory map) or a
directory of Parquet shards (``row``, ``embedding``). Memory stays flat whatever the input
size: one chunk of texts and vectors is held at a time, and the pages of a memory-mapped
output belong to the page cache, not to the process.

A job works in ``.<output>.partial/`` beside the output, with a manifest of completed
chunks that is rewritten atomically after each chunk is on disk. Killed at any moment and
run again with the same arguments, it continues after the last completed chunk; chunk
``c`` always holds input rows ``[c * chunk_size, (c + 1) * chunk_size)``, so the result is
byte-identical to an uninterrupted run. The output appears under its final name only when
every row is written (a directory or file rename), so a partial output is never mistaken
for a finished one. Standard input is streamed but cannot be resumed.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ._checks import check_int
from .compact import check_precision
from .files import STDIN, atomic_output, exclusive_lock, iter_lines

INPUT_FORMATS = ("text", "jsonl", "csv", "tsv", "parquet")
OUTPUT_FORMATS = ("npy", "parquet")
DEFAULT_CHUNK_SIZE = 8192  # rows per chunk: a few MB of vectors, a cheap unit to redo
_MANIFEST = "_manifest.json"  # "_" so Parquet readers skip it in a shard directory
_MANIFEST_VERSION = 1
_EXTENSIONS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".parquet": "parquet", ".pq": "parquet",
}


@dataclasses.dataclass(frozen=True)
class EncodeFileResult:
    """What :func:`encode_file` did: ``rows`` x ``dim`` vectors at ``output``;
    ``resumed_rows`` were already done by an earlier run; ``skipped`` is True when the
    output was already complete and nothing was computed."""

    output: Path
    rows: int
    dim: int
    resumed_rows: int = 0
    skipped: bool = False


# ---------------------------------------------------------------------------- readers


def detect_input_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The input format: ``fmt`` if given, else from the extension (text by default)."""
    if fmt is not None:
        if fmt not in INPUT_FORMATS:
            raise ValueError(f"input format must be one of {', '.join(INPUT_FORMATS)}, got {fmt!r}")
        return fmt
    if os.fspath(path) == STDIN:
        return "text"
    return _EXTENSIONS.get(Path(path).suffix.lower(), "text")


def iter_texts(path: str | os.PathLike, fmt: str, field: str | None = None) -> Iterator[str]:
    """Texts of ``path`` in row order.

    - ``text``: one text per line (the rule of :mod:`fastsbert.files`);
    - ``jsonl``: one JSON object per line, its ``field`` (default ``"text"``); a blank line
      is an error, since it holds no object;
    - ``csv`` / ``tsv``: a header row, then one record per row (a quoted field may span
      lines); the ``field`` column (default ``"text"``);
    - ``parquet``: the ``field`` column (default ``"text"``) of a Parquet file.
    A missing field, or a value that is not a string, raises ``ValueError`` naming the row.
    """
    field = field or "text"
    name = "<stdin>" if os.fspath(path) == STDIN else os.fspath(path)
    if fmt == "text":
        yield from iter_lines(path)
    elif fmt == "jsonl":
        for number, line in enumerate(iter_lines(path), start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{name}: line {number} is not valid JSON ({e.msg})") from None
            yield _field_of(record, field, f"{name}: line {number}")
    elif fmt in ("csv", "tsv"):
        yield from _iter_csv(path, name, field, "\t" if fmt == "tsv" else ",")
    elif fmt == "parquet":
        yield from _iter_parquet(path, name, field)
    else:
        raise ValueError(f"input format must be one of {', '.join(INPUT_FORMATS)}, got {fmt!r}")


def _field_of(record: object, field: str, where: str) -> str:
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if field not in record:
        raise ValueError(f"{where}: no field {field!r} (fields: {', '.join(map(str, record))})")
    value = record[field]
    if not isinstance(value, str):
        raise ValueError(f"{where}: field {field!r} is {type(value).__name__}, expected a string")
    return value


def _iter_csv(path, name: str, column: str, delimiter: str) -> Iterator[str]:
    raw = sys.stdin.buffer if os.fspath(path) == STDIN else open(path, "rb")
    with raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as e:
            raise ValueError(f"{name}: not valid UTF-8 ({e.reason})") from None
        if column not in header:
            raise ValueError(f"{name}: no column {column!r} (columns: {', '.join(header)})")
        index = header.index(column)
        row_number = 0
        try:
            for row_number, row in enumerate(reader, start=1):
                if len(row) <= index:
                    raise ValueError(f"{name}: record {row_number} has no {column!r} column "
                                     f"({len(row)} fields)")
                yield row[index]
        except UnicodeDecodeError as e:
            raise ValueError(f"{name}: not valid UTF-8 after record {row_number} ({e.reason})") from None
        except csv.Error as e:
            raise ValueError(f"{name}: record {row_number + 1}: {e}") from None


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as e:
        raise ImportError("Parquet needs pyarrow: pip install 'fastsbert[parquet]'") from e
    return pyarrow


def _iter_parquet(path, name: str, column: str) -> Iterator[str]:
    pa = _pyarrow()
    if os.fspath(path) == STDIN:
        raise ValueError("Parquet cannot be read from standard input; pass a file")
    pf = pa.parquet.ParquetFile(path)
    if column not in pf.schema_arrow.names:
        raise ValueError(f"{name}: no column {column!r} (columns: {', '.join(pf.schema_arrow.names)})")
    kind = pf.schema_arrow.field(column).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise ValueError(f"{name}: column {column!r} is {kind}, expected strings")
    row = 0
    for batch in pf.iter_batches(batch_size=DEFAULT_CHUNK_SIZE, columns=[column]):
        for value in batch.column(0).to_pylist():
            row += 1
            if value is None:
                raise ValueError(f"{name}: row {row} of column {column!r} is null")
            yield value


def count_rows(path: str | os.PathLike, fmt: str, field: str | None = None) -> int:
    """Rows :func:`iter_texts` yields for ``path``, counted without embedding anything."""
    if fmt == "parquet":
        return _pyarrow().parquet.ParquetFile(path).metadata.num_rows
    if fmt == "text":  # no decoding needed to count; iter_texts checks UTF-8 later
        from .files import iter_raw_lines

        with open(path, "rb") as fh:
            return sum(1 for _ in iter_raw_lines(fh))
    return sum(1 for _ in iter_texts(path, fmt, field))


def _chunks(texts: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for t in texts:
        chunk.append(t)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---------------------------------------------------------------------------- the job


def _fingerprint(path: Path) -> dict:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _job_key(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _write_json_atomic(path: Path, obj: dict) -> None:
    with atomic_output(path, overwrite=True) as fh:
        fh.write(json.dumps(obj, indent=1).encode())


def detect_output_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """``fmt`` if given, else ``npy`` for a ``.npy`` name and ``parquet`` for a name
    without an extension or ending in ``.parquet`` (a directory of shards)."""
    if fmt is not None:
        if fmt not in OUTPUT_FORMATS:
            raise ValueError(f"output format must be one of {', '.join(OUTPUT_FORMATS)}, got {fmt!r}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        return "npy"
    if suffix in ("", ".parquet"):
        return "parquet"
    raise ValueError(f"{path}: cannot tell the output format from the name: use a .npy file "
                     "or a directory for Parquet shards, or pass output_format=")


def encode_file(
    input: str | os.PathLike,
    output: str | os.PathLike,
    model=None,
    *,
    input_format: str | None = None,
    field: str | None = None,
    output_format: str | None = None,
    batch_size: int = 32,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    normalize: bool | None = None,
    device: str = "cpu",
    threads: int | None = None,
    overwrite: bool = False,
    show_progress_bar: bool = False,
    long_text: str = "truncate",
    precision: str = "float32",
    ranges: np.ndarray | None = None,
    dtype: str = "float32",
    prompt_name: str | None = None,
    prompt: str | None = None,
    truncate_dim: int | None = None,
    revision: str | None = None,
) -> EncodeFileResult:
    """Embeds every text of ``input`` into ``output``; row ``i`` is the ``i``-th text.

    Args:
        input: a file path, or ``"-"`` for standard input (streamed; not resumable).
        output: a ``.npy`` file (float32 ``(rows, dim)``) or a directory of Parquet
            shards ``part-NNNNN.parquet`` with columns ``row`` (int64) and ``embedding``
            (fixed-size list of float32), one shard per chunk.
        model: an :class:`~fastsbert.Encoder`, a model path or Hub id (at ``revision``),
            or None for the default.
        input_format: ``text``, ``jsonl``, ``csv``, ``tsv`` or ``parquet``; by default
            from the extension (``.jsonl``, ``.csv``, ``.tsv``, ``.parquet``; else text).
        field: the JSON field or CSV/Parquet column holding the text (default ``"text"``).
        chunk_size: rows per chunk, the unit of progress and of resumption. A resumed run
            must use the chunk size of the run it continues (checked).
        overwrite: recompute and replace a finished output, and discard a partial job
            made with other arguments.
        long_text: ``"truncate"`` or ``"chunk"`` (see :meth:`fastsbert.Encoder.encode`).
        precision: the stored type (see :mod:`fastsbert.compact`): ``float32``, ``int8`` /
            ``uint8`` (``ranges`` required: ranges taken per chunk would differ between
            chunks), ``binary`` / ``ubinary`` (``dim / 8`` bytes per row).
        prompt_name, prompt, truncate_dim: as in :meth:`fastsbert.Encoder.encode`.

    Returns:
        an :class:`EncodeFileResult`. A finished output is left alone (``skipped``).
    """
    from .encoder import Encoder

    fmt = detect_input_format(input, input_format)
    out_fmt = detect_output_format(output, output_format)
    chunk_size = check_int(chunk_size, "chunk_size")
    batch_size = check_int(batch_size, "batch_size")
    check_precision(precision)
    if precision in ("int8", "uint8") and ranges is None:
        raise ValueError(f"precision={precision!r} needs ranges= (shape (2, dim), e.g. from "
                         "fastsbert.compact.calibration_ranges on a sample): ranges taken from "
                         "each chunk would make the chunks incomparable")
    if ranges is not None:
        ranges = np.asarray(ranges, dtype=np.float32)
    output = Path(output)
    from_stdin = os.fspath(input) == STDIN
    if not from_stdin and not Path(input).is_file():
        raise FileNotFoundError(f"input not found: {input}")
    if output.is_dir() and out_fmt == "npy":
        raise IsADirectoryError(f"{output}: is a directory, expected a .npy path")
    if not output.parent.is_dir():
        raise FileNotFoundError(f"{output.parent}: output directory does not exist")

    if output.exists() and not overwrite and _finished_rows(output, out_fmt) is None:
        raise FileExistsError(f"{output}: exists and is not a finished fastsbert output "
                              "(pass overwrite=True / --overwrite to replace it)")
    enc = (model if isinstance(model, Encoder)
           else Encoder(model, device=device, threads=threads, dtype=dtype, revision=revision))
    prompt = enc.resolve_prompt(prompt, prompt_name)
    dim = enc.output_dim(truncate_dim)
    spec = {
        "version": _MANIFEST_VERSION,
        "input": "<stdin>" if from_stdin else _fingerprint(Path(input)),
        "input_format": fmt,
        "field": field,
        "output_format": out_fmt,
        "model": str(Path(enc.model_dir).resolve()),
        "dim": dim,
        "normalize": normalize,
        "chunk_size": chunk_size,
        "long_text": long_text,
        "precision": precision,
        "ranges": None if ranges is None else hashlib.sha256(ranges.tobytes()).hexdigest(),
    }
    if enc.dtype != "float32":  # rows of another model precision must not be mixed in
        spec["dtype"] = enc.dtype
    if prompt:  # listed only when set, so earlier jobs' manifests still match
        spec["prompt"] = prompt
    encode_kw = {"batch_size": batch_size, "normalize": normalize, "long_text": long_text,
                 "precision": precision, "ranges": ranges, "prompt": prompt,
                 "truncate_dim": truncate_dim}
    row_type, width = _row_layout(precision, dim)
    work = output.with_name(f".{output.name}.partial")
    with exclusive_lock(output.with_name(f".{output.name}.lock")):
        if output.exists():
            done = _finished_rows(output, out_fmt, width)
            if not overwrite:
                if done is None:
                    raise FileExistsError(f"{output}: exists and is not a finished fastsbert "
                                          "output (pass overwrite=True / --overwrite to replace it)")
                # A job killed between renaming its output and removing its work folder.
                shutil.rmtree(work, ignore_errors=True)
                return EncodeFileResult(output, done, dim, resumed_rows=done, skipped=True)
        manifest = _load_manifest(work)
        if manifest is not None and (manifest["spec"] != spec or from_stdin or overwrite):
            if not overwrite and not from_stdin:
                raise ValueError(
                    f"{work}: holds a partial job made with other arguments or another input "
                    f"version ({_describe_difference(manifest['spec'], spec)}); run it with "
                    "the same arguments to finish it, or pass overwrite=True / --overwrite"
                )
            manifest = None
        if manifest is None:
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            rows = None if from_stdin or out_fmt == "parquet" else count_rows(input, fmt, field)
            manifest = {"spec": spec, "rows": rows, "width": width, "chunks_done": 0,
                        "rows_done": 0}
            if out_fmt == "npy" and rows is not None:
                _preallocate_npy(work / "data.npy", rows, width, row_type)
            _write_json_atomic(work / _MANIFEST, manifest)
        resumed = manifest["rows_done"]
        rows = _run(enc, input, fmt, field, work, manifest, out_fmt, encode_kw, chunk_size,
                    show_progress_bar)
        _finish(work, output, out_fmt, manifest, width, row_type, overwrite)
    return EncodeFileResult(output, rows, dim, resumed_rows=resumed)


def _describe_difference(old: dict, new: dict) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return "differs in " + ", ".join(keys)


def _load_manifest(work: Path) -> dict | None:
    try:
        with open(work / _MANIFEST, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("spec", {}).get("version") != _MANIFEST_VERSION:
        return None
    return manifest


def _finished_rows(output: Path, out_fmt: str, dim: int | None = None) -> int | None:
    """Rows of a finished output of this kind (of ``dim`` values per row, when given), or
    None when ``output`` is something else."""
    if out_fmt == "npy":
        try:
            arr = np.load(output, mmap_mode="r")
        except (OSError, ValueError):
            return None
        ok = arr.dtype in (np.float32, np.int8, np.uint8) and arr.ndim == 2 and dim in (None, arr.shape[1])
        return int(arr.shape[0]) if ok else None
    marker = output / _MANIFEST
    try:
        with open(marker, encoding="utf-8") as fh:
            info = json.load(fh)
        ok = info.get("complete") and dim in (None, info["width"])
        return int(info["rows"]) if ok else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _row_layout(precision: str, dim: int) -> tuple[np.dtype, int]:
    """(dtype, values per row) of stored vectors at ``precision``."""
    if precision in ("binary", "ubinary"):
        return np.dtype(np.int8 if precision == "binary" else np.uint8), (dim + 7) // 8
    return np.dtype({"float32": np.float32, "int8": np.int8, "uint8": np.uint8}[precision]), dim


def _preallocate_npy(path: Path, rows: int, width: int, dtype: np.dtype) -> None:
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(rows, width))
    arr.flush()
    del arr


def _run(enc, input, fmt, field, work: Path, manifest: dict, out_fmt: str, encode_kw: dict,
         chunk_size: int, show_progress_bar: bool) -> int:
    """Embeds the chunks the manifest does not list as done; returns the total rows."""
    total = manifest["rows"]
    if total is None and out_fmt == "parquet" and os.fspath(input) != STDIN:
        total = count_rows(input, fmt, field)  # for the progress bar only
    start_chunk = manifest["chunks_done"]
    resumed = manifest["rows_done"]
    bar = None
    if show_progress_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=resumed, desc="Encoding", unit="text", smoothing=0.1)
    mm = None
    if out_fmt == "npy" and manifest["rows"] is not None:
        mm = np.load(work / "data.npy", mmap_mode="r+")
    spool = work / "data.f32" if out_fmt == "npy" and mm is None else None
    rows_done = resumed
    try:
        for c, chunk in enumerate(_chunks(iter_texts(input, fmt, field), chunk_size)):
            if c < start_chunk:
                continue  # done by an earlier run: its rows are on disk
            emb = enc.encode(chunk, **encode_kw)
            if mm is not None:
                mm[rows_done:rows_done + len(chunk)] = emb
                mm.flush()  # on disk before the manifest says so
            elif spool is not None:
                with open(spool, "ab") as fh:
                    fh.write(emb.tobytes())
            else:
                _write_shard(work, c, rows_done, emb)
            rows_done += len(chunk)
            manifest["chunks_done"] = c + 1
            manifest["rows_done"] = rows_done
            _write_json_atomic(work / _MANIFEST, manifest)
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
        del mm
    if manifest["rows"] is not None and rows_done != manifest["rows"]:
        raise RuntimeError(f"{input}: read {rows_done} rows, expected {manifest['rows']} "
                           "(did the input change while it was read?)")
    manifest["rows"] = rows_done
    return rows_done


def _write_shard(work: Path, chunk: int, first_row: int, emb: np.ndarray) -> None:
    pa = _pyarrow()
    rows = pa.array(np.arange(first_row, first_row + len(emb), dtype=np.int64))
    flat = pa.array(emb.reshape(-1))
    vectors = pa.FixedSizeListArray.from_arrays(flat, emb.shape[1])
    table = pa.table({"row": rows, "embedding": vectors})
    final = work / f"part-{chunk:05d}.parquet"
    with atomic_output(final, overwrite=True) as fh:
        pa.parquet.write_table(table, fh)


def _finish(work: Path, output: Path, out_fmt: str, manifest: dict, width: int,
            dtype: np.dtype, overwrite: bool) -> None:
    if out_fmt == "npy":
        data = work / "data.npy"
        if not data.exists():  # streamed from stdin: header + the spooled rows
            spool = work / "data.f32"
            with atomic_output(data, overwrite=True) as fh:
                np.lib.format.write_array_header_1_0(
                    fh, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                         "shape": (manifest["rows"], width)})
                if spool.exists():
                    with open(spool, "rb") as src:
                        shutil.copyfileobj(src, fh, 1 << 22)
        if overwrite:
            os.replace(data, output)
        else:
            _rename_new(data, output)
        shutil.rmtree(work, ignore_errors=True)
    else:
        manifest["complete"] = True
        _write_json_atomic(work / _MANIFEST, manifest)
        if overwrite and output.exists():
            old = output.with_name(f".{output.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.rename(output, old)
            os.rename(work, output)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(work, output)


def _rename_new(src: Path, dst: Path) -> None:
    if dst.exists():
        raise FileExistsError(f"{dst}: appeared while the job ran; not replaced")
    os.replace(src, dst)

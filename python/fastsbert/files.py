"""Reading text files line by line and writing outputs atomically.

Every command that reads texts from a file uses :func:`iter_lines`, so one rule maps input
lines to output rows everywhere:

- one text per line, always: row ``i`` of the output is line ``i + 1`` of the input;
- ``\\n`` and ``\\r\\n`` end a line; every other character, including a lone ``\\r``,
  U+2028, U+0085 and NUL, is part of the text;
- a blank line is the empty string (it is embedded, not skipped);
- a newline at the very end of the file does not start another line;
- a UTF-8 byte-order mark at the start of the file is dropped;
- bytes that are not valid UTF-8 raise :class:`ValueError` naming the line number.

Outputs go through :func:`atomic_output`: written under a temporary name in the target's
directory and renamed into place, so a killed run never leaves a partial file under the
final name.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

STDIN = "-"
_BOM = b"\xef\xbb\xbf"
_CHUNK_BYTES = 1 << 20  # read size; lines may span chunks


def _decode(raw: bytes, number: int, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{name}: line {number} is not valid UTF-8 (byte {e.start + 1} of the line: "
            f"{raw[e.start:e.start + 4]!r})"
        ) from None


def iter_raw_lines(fh: BinaryIO) -> Iterator[bytes]:
    """Lines of a binary stream without their ending (``\\n`` or ``\\r\\n``)."""
    pending = b""
    first = True
    while True:
        chunk = fh.read(_CHUNK_BYTES)
        if not chunk:
            break
        if first:
            first = False
            while len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                more = fh.read(len(_BOM) - len(chunk))  # a pipe may deliver a few bytes
                if not more:
                    break
                chunk += more
            chunk = chunk.removeprefix(_BOM)
        parts = (pending + chunk).split(b"\n")
        pending = parts.pop()
        for raw in parts:
            yield raw[:-1] if raw.endswith(b"\r") else raw  # "\r\n" ends a line too
    if pending:  # the last line had no newline
        yield pending


def iter_lines(source: str | os.PathLike | BinaryIO) -> Iterator[str]:
    """Texts of a file, one per line, by the rule in this module's docstring.

    ``source`` is a path, ``"-"`` for standard input, or a binary stream. Lines are read
    in 1 MiB chunks, so memory does not grow with the file.
    """
    if hasattr(source, "read"):
        name = getattr(source, "name", "<stream>")
        for number, raw in enumerate(iter_raw_lines(source), start=1):
            yield _decode(raw, number, str(name))
        return
    if os.fspath(source) == STDIN:
        yield from iter_lines(sys.stdin.buffer)
        return
    path = Path(source)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, expected a text file")
    with open(path, "rb") as fh:
        for number, raw in enumerate(iter_raw_lines(fh), start=1):
            yield _decode(raw, number, str(path))


def read_lines(source: str | os.PathLike | BinaryIO) -> list[str]:
    """All texts of a file as a list (see :func:`iter_lines`)."""
    return list(iter_lines(source))


def check_writable(path: str | os.PathLike, overwrite: bool) -> Path:
    """Fails early, before any work, when ``path`` cannot be written as an output."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, expected a file path")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists (pass --overwrite / overwrite=True to replace it)")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: output directory does not exist")
    return path


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = False) -> Iterator[BinaryIO]:
    """Opens a temporary file beside ``path`` for binary writing; on a clean exit it is
    flushed to disk and renamed to ``path``, on an error it is removed.

    Without ``overwrite`` an existing ``path`` raises :class:`FileExistsError`, both
    before writing and at the final rename (a file created meanwhile is not replaced).
    """
    path = check_writable(path, overwrite)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "xb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if `path` appeared in the meantime
            except FileExistsError:
                raise FileExistsError(
                    f"{path}: was created by someone else while writing; not replaced"
                ) from None
            except OSError:  # a filesystem without hard links: check, then rename
                if path.exists():
                    raise FileExistsError(
                        f"{path}: was created by someone else while writing; not replaced"
                    ) from None
                os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _fsync_dir(directory: Path) -> None:
    # The rename itself is durable only once the directory entry is flushed.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def exclusive_lock(lock_path: str | os.PathLike) -> Iterator[None]:
    """Holds an exclusive ``flock`` on ``lock_path`` (created if missing) for the block:
    one process at a time, released by the kernel if the holder dies."""
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)

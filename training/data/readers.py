"""Readers that turn CSV/TSV/JSONL files and ``datasets.Dataset`` objects into InputExample lists.

Columns are named by header name or by 0-based position. ``label_type`` converts the raw
label (``float`` for scores, ``int`` for classes); ``label_transform`` then maps it, e.g.
``lambda s: s / 5`` to bring STS-B scores into [0, 1].
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .input_example import InputExample

Column = int | str


def _open_text(path: str | os.PathLike, encoding: str) -> io.TextIOBase:
    if str(path).endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def _convert_label(raw: Any, label_type, label_transform, where: str):
    if raw is None or raw == "":
        raise ValueError(f"{where}: the label is empty")
    try:
        value = label_type(raw) if label_type is not None else raw
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"{where}: cannot read label {raw!r} as {getattr(label_type, '__name__', label_type)}: {e}"
        ) from None
    return label_transform(value) if label_transform is not None else value


def _rows_to_examples(
    rows: Iterable[tuple[str, Callable[[Column], Any]]],
    text_columns,
    label_column,
    label_type,
    label_transform,
) -> list[InputExample]:
    examples = []
    for where, get in rows:
        texts = []
        for c in text_columns:
            t = get(c)
            if not isinstance(t, str):
                raise TypeError(f"{where}: text column {c!r} holds {t!r}, not a string")
            texts.append(t)
        label = None
        if label_column is not None:
            label = _convert_label(get(label_column), label_type, label_transform, where)
        examples.append(InputExample(texts=texts, label=label, guid=where))
    return examples


def read_csv(
    path: str | os.PathLike,
    text_columns: Sequence[Column],
    label_column: Column | None = None,
    *,
    label_type: Callable | None = float,
    label_transform: Callable | None = None,
    delimiter: str = ",",
    has_header: bool = False,
    quoting: int = csv.QUOTE_MINIMAL,
    encoding: str = "utf-8-sig",
) -> list[InputExample]:
    """Reads a delimited text file (``.gz`` allowed) into examples.

    With ``has_header`` columns may be named; without, they are positions. Each row yields
    ``InputExample(texts=[row[c] for c in text_columns], label=row[label_column])``.
    """
    with _open_text(path, encoding) as f:
        reader = csv.reader(f, delimiter=delimiter, quoting=quoting)
        header = next(reader) if has_header else None
        index = {name: i for i, name in enumerate(header)} if header else {}
        name = os.path.basename(str(path))

        def position(c: Column) -> int:
            if isinstance(c, int):
                return c
            if c not in index:
                raise ValueError(f"{name}: no column named {c!r}; the header has {header}")
            return index[c]

        text_pos = [position(c) for c in text_columns]
        label_pos = None if label_column is None else position(label_column)
        needed = max(text_pos + ([label_pos] if label_pos is not None else []))

        def rows():
            for line_no, row in enumerate(reader, start=2 if header else 1):
                if not row:
                    continue
                where = f"{name}:{line_no}"
                if len(row) <= needed:
                    raise ValueError(
                        f"{where}: expected at least {needed + 1} columns, found {len(row)}"
                    )
                yield where, (lambda c, row=row: row[position(c)])

        return _rows_to_examples(rows(), text_columns, label_column, label_type, label_transform)


def read_tsv(
    path: str | os.PathLike,
    text_columns: Sequence[Column],
    label_column: Column | None = None,
    **kwargs,
) -> list[InputExample]:
    """``read_csv`` with a tab delimiter and no quote handling (quotes are part of the text)."""
    kwargs.setdefault("delimiter", "\t")
    kwargs.setdefault("quoting", csv.QUOTE_NONE)
    return read_csv(path, text_columns, label_column, **kwargs)


def read_jsonl(
    path: str | os.PathLike,
    text_fields: Sequence[str],
    label_field: str | None = None,
    *,
    label_type: Callable | None = None,
    label_transform: Callable | None = None,
    encoding: str = "utf-8",
) -> list[InputExample]:
    """Reads one JSON object per line; ``label_type=None`` keeps the JSON value as is (a number
    or a list, e.g. teacher scores)."""
    name = os.path.basename(str(path))

    def rows():
        with _open_text(path, encoding) as f:
            for line_no, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                where = f"{name}:{line_no}"
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{where}: invalid JSON: {e}") from None

                def get(c, obj=obj, where=where):
                    if c not in obj:
                        raise ValueError(f"{where}: no field {c!r}; fields are {sorted(obj)}")
                    return obj[c]

                yield where, get

    return _rows_to_examples(rows(), text_fields, label_field, label_type, label_transform)


def from_dataset(
    dataset,
    text_columns: Sequence[str] | None = None,
    label_column: str | None = "label",
    *,
    label_type: Callable | None = None,
    label_transform: Callable | None = None,
) -> list[InputExample]:
    """Converts a ``datasets.Dataset`` (or any iterable of dict rows with ``column_names``).

    By default every column except ``label_column`` is a text column, in column order, and
    ``label_column`` is used when the dataset has it.
    """
    columns = list(
        getattr(dataset, "column_names", None)
        or (next(iter(dataset)).keys() if len(dataset) else [])
    )
    if label_column is not None and label_column not in columns:
        label_column = None
    if text_columns is None:
        text_columns = [c for c in columns if c != label_column]
    missing = [c for c in text_columns if c not in columns]
    if missing:
        raise ValueError(f"dataset has no column(s) {missing}; its columns are {columns}")

    def rows():
        for i, row in enumerate(dataset):
            yield f"row {i}", (lambda c, row=row: row[c])

    return _rows_to_examples(rows(), text_columns, label_column, label_type, label_transform)

"""Readers, collation and batch samplers."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch
from fastsbert.training import InputExample
from fastsbert.training.data import (
    GroupByLabelBatchSampler,
    NoDuplicatesBatchSampler,
    from_dataset,
    labels_to_tensor,
    read_csv,
    read_jsonl,
    read_tsv,
)
from fsb_training_helpers import DATA


def test_read_csv_positions_and_transform(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text('a b,"c, d",5.0\ne,f,2.5\n')
    ex = read_csv(p, text_columns=[0, 1], label_column=2, label_transform=lambda s: s / 5)
    assert [e.texts for e in ex] == [["a b", "c, d"], ["e", "f"]]
    assert [e.label for e in ex] == [1.0, 0.5]


def test_read_tsv_header_and_bad_label(tmp_path):
    p = tmp_path / "d.tsv"
    p.write_text("s1\ts2\tlab\nx\ty\t1\nz\tw\toops\n")
    with pytest.raises(ValueError, match=r"d.tsv:3.*oops"):
        read_tsv(p, ["s1", "s2"], "lab", has_header=True, label_type=int)
    with pytest.raises(ValueError, match="no column named 'nope'"):
        read_tsv(p, ["s1", "nope"], has_header=True)


def test_read_jsonl_keeps_list_labels(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps({"q": "a", "p": "b", "n": "c", "scores": [0.9, 0.1]}) + "\n")
    (ex,) = read_jsonl(p, ["q", "p", "n"], "scores")
    assert ex.texts == ["a", "b", "c"] and ex.label == [0.9, 0.1]


def test_from_dataset_rows():
    class Rows(list):
        column_names = ("anchor", "positive", "label")

    rows = Rows(
        [{"anchor": "a", "positive": "b", "label": 1}, {"anchor": "c", "positive": "d", "label": 0}]
    )
    ex = from_dataset(rows)
    assert [e.texts for e in ex] == [["a", "b"], ["c", "d"]] and [e.label for e in ex] == [1, 0]


def test_real_stsb_file_reads():
    path = DATA / "stsb" / "stsb-en-test.csv"
    if not path.is_file():
        pytest.skip("shared data folder absent")
    ex = read_csv(path, [0, 1], 2)
    assert len(ex) == 1379 and all(0 <= e.label <= 5 for e in ex)


def test_labels_to_tensor_types():
    assert labels_to_tensor([1, 0, 2]).dtype == torch.long
    assert labels_to_tensor([1.0, 0.5]).dtype == torch.float32
    assert labels_to_tensor([[0.1, 0.2], [0.3, 0.4]]).shape == (2, 2)


def test_no_duplicates_sampler():
    data = [InputExample(texts=[f"q{i % 7}", f"d{i}"]) for i in range(40)]
    torch.manual_seed(0)
    batches = list(NoDuplicatesBatchSampler(data, batch_size=5))
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(40))
    for b in batches:
        texts = [t for i in b for t in data[i].texts]
        assert len(texts) == len(set(texts))
    torch.manual_seed(0)
    assert list(NoDuplicatesBatchSampler(data, batch_size=5)) == batches


def test_group_by_label_sampler():
    data = [InputExample(texts=[f"s{i}"], label=i % 4) for i in range(30)] + [
        InputExample(texts=["lonely"], label=9)
    ]
    sampler = GroupByLabelBatchSampler(data, batch_size=8, samples_per_label=2)
    batches = list(sampler)
    assert len(batches) == len(sampler) and all(len(b) == 8 for b in batches)
    for b in batches:
        counts = Counter(data[i].label for i in b)
        assert len(counts) >= 2 and all(c >= 2 for c in counts.values())
    assert all(data[i].label != 9 for b in batches for i in b)
    with pytest.raises(ValueError, match="multiple of samples_per_label"):
        GroupByLabelBatchSampler(data, batch_size=7, samples_per_label=2)

"""Text for character language models: the corpus, the windows, the split and the baseline."""

import math
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader
from chainrule.data.text import (
    CharDataset,
    char_datasets,
    load_text,
    stdlib_sources,
    unigram_cross_entropy,
)


def test_windows_are_the_text_and_the_text_shifted_by_one():
    ds = CharDataset("hello world", block_size=4)
    assert ds.itos == sorted(set("hello world")) and ds.vocab_size == 8
    assert len(ds) == len("hello world") - 4
    x, y = ds[0]
    assert x.dtype == cr.int64 and tuple(x.shape) == (4,)
    assert ds.decode(x.tolist()) == "hell" and ds.decode(y.tolist()) == "ello"
    assert ds.decode(ds[-1][1].tolist()) == "orld"
    assert ds.decode(ds.encode("low")) == "low"
    with pytest.raises(ValueError, match="not in the vocabulary: 'z'"):
        ds.encode("zoo")
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_a_batch_is_one_fancy_indexing_and_equals_the_samples():
    text = "abcdefghijklmnopqrstuvwxyz" * 3
    ds = CharDataset(text, block_size=5, stride=5)
    assert len(ds) == (len(text) - 6) // 5 + 1
    X, Y = ds.__getitems__([0, 3, 7])
    for row, i in enumerate([0, 3, 7]):
        x, y = ds[i]
        assert X[row].tolist() == x.tolist() and Y[row].tolist() == y.tolist()
    assert ds.decode(X[1].tolist()) == text[15:20]
    batches = list(DataLoader(ds, batch_size=4, shuffle=True, seed=0))
    assert sum(len(xb) for xb, _ in batches) == len(ds)
    np.testing.assert_array_equal(batches[0][0].numpy()[:, 1:], batches[0][1].numpy()[:, :-1])
    X, Y = ds.tensors()
    assert tuple(X.shape) == (len(ds), 5)


def test_split_by_position_with_one_vocabulary():
    text = "a" * 900 + "b" * 95 + "xyz!!"    # x, y, z and ! appear only at the end
    train, val = char_datasets(text, block_size=8)
    assert train.itos == val.itos == sorted(set(text))
    assert train.decode(train.ids) == text[:900] and val.decode(val.ids) == text[900:]
    with pytest.raises(ValueError, match="val_fraction"):
        char_datasets(text, 8, val_fraction=1.0)
    with pytest.raises(ValueError, match="no window"):
        CharDataset("abc", block_size=3)


def test_unigram_baseline_is_the_entropy_of_the_character_frequencies():
    ids = np.array([0] * 50 + [1] * 30 + [2] * 20)
    p = (np.array([50, 30, 20]) + 1) / (100 + 3)              # add-one smoothing
    expected = -(0.5 * np.log(p[0]) + 0.3 * np.log(p[1]) + 0.2 * np.log(p[2]))
    assert unigram_cross_entropy(ids) == pytest.approx(expected)
    assert unigram_cross_entropy(ids) < math.log(3)            # below a uniform guess
    # a character never seen in training still has a finite cost: log(N + V)
    unseen = unigram_cross_entropy(ids, [3], vocab_size=4)
    assert unseen == pytest.approx(math.log(104))
    assert unigram_cross_entropy(cr.tensor(ids), cr.tensor(ids)) == pytest.approx(expected)


def test_default_corpus_is_pythons_own_sources_in_sorted_order():
    sources = stdlib_sources()
    names = [os.path.basename(p) for p in sources]
    assert "os.py" in names and names == sorted(names)
    text = load_text(max_chars=50_000)
    assert len(text) == 50_000 and text == load_text(max_chars=50_000)
    with open(sources[0], encoding="utf-8") as f:
        first = f.read()
    assert text.startswith(first[:1000])
    assert "def " in load_text(max_chars=200_000)


def test_a_users_file(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("roses are red\nviolets are blue\n", encoding="utf-8")
    assert load_text(path) == "roses are red\nviolets are blue\n"
    assert load_text(path, max_chars=5) == "roses"
    with pytest.raises(FileNotFoundError, match="no text file"):
        load_text(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="at least 2"):
        load_text(tmp_path / "empty.txt")

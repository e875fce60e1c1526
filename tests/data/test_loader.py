"""DataLoader, TensorDataset, random_split and collation (RELIABILITY 21)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.data import (
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def _dataset(n=10):
    X = cr.tensor(np.arange(n * 2, dtype=np.float32).reshape(n, 2))
    y = cr.arange(n)
    return TensorDataset(X, y)


class Squares(Dataset):
    """A dataset without __getitems__, to exercise the per-sample path and default_collate."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.array([i, i], dtype=np.float64), "y": i * i, "name": f"s{i}"}


def test_tensor_dataset_items_and_errors():
    ds = _dataset(5)
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3
    assert len(ds) == 5
    with pytest.raises(ValueError, match=r"first dimension.*\(5, 2\).*\(4,\)"):
        TensorDataset(cr.zeros(5, 2), cr.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_tensor_dataset_converts_arrays_with_the_dtype_rule():
    ds = TensorDataset(np.zeros((3, 2)), np.array([0, 1, 2]))
    assert ds.tensors[0].dtype == np.float32 and ds.tensors[1].dtype == np.int64


@pytest.mark.parametrize("drop_last, sizes", [(False, [4, 4, 2]), (True, [4, 4])])
def test_last_partial_batch(drop_last, sizes):
    loader = DataLoader(_dataset(10), batch_size=4, drop_last=drop_last)
    assert [len(xb) for xb, _ in loader] == sizes
    assert len(loader) == len(sizes)


def test_batch_size_larger_than_dataset():
    loader = DataLoader(_dataset(3), batch_size=10)
    batches = list(loader)
    assert len(loader) == 1 and len(batches) == 1 and batches[0][0].shape == (3, 2)
    with pytest.raises(ValueError, match="drop_last=True with batch_size=10.*length 3"):
        DataLoader(_dataset(3), batch_size=10, drop_last=True)


def test_empty_dataset_is_a_clear_error():
    with pytest.raises(ValueError, match="empty"):
        DataLoader(TensorDataset(cr.zeros(0, 2)), batch_size=2)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_dataset(4), batch_size=bad)


def test_pytorch_keywords_sampler_batch_sampler_and_no_batching():
    """PyTorch's DataLoader arguments: workers and pinning change nothing; a sampler gives the
    order, a batch sampler the batches, batch_size=None yields single samples."""
    ds = TensorDataset(cr.arange(10).float(), cr.arange(10))
    plain = [yb.tolist() for _, yb in DataLoader(ds, batch_size=4)]
    assert [yb.tolist() for _, yb in DataLoader(ds, batch_size=4, num_workers=2,
                                                pin_memory=True)] == plain
    assert [yb.tolist() for _, yb in DataLoader(ds, batch_size=3, sampler=[9, 8, 7, 6])] == \
        [[9, 8, 7], [6]]
    assert [yb.tolist() for _, yb in DataLoader(ds, batch_sampler=[[0, 1], [5, 6, 7]])] == \
        [[0, 1], [5, 6, 7]]
    assert [yb.item() for _, yb in DataLoader(ds, batch_size=None)][:3] == [0, 1, 2]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)


def _epoch_order(loader):
    return np.concatenate([yb.numpy() for _, yb in loader]).tolist()


def test_shuffle_reproducible_from_seed_and_new_each_epoch():
    a = DataLoader(_dataset(50), batch_size=7, shuffle=True, seed=3)
    b = DataLoader(_dataset(50), batch_size=7, shuffle=True, seed=3)
    first, second = _epoch_order(a), _epoch_order(a)
    assert first == _epoch_order(b) and second == _epoch_order(b)
    assert first != second
    assert sorted(first) == sorted(second) == list(range(50))  # without replacement


def test_shuffle_with_global_generator_follows_manual_seed():
    loader = DataLoader(_dataset(30), batch_size=30, shuffle=True)
    cr.manual_seed(11)
    first = _epoch_order(loader)
    cr.manual_seed(11)
    assert _epoch_order(loader) == first


def test_no_shuffle_keeps_order():
    assert _epoch_order(DataLoader(_dataset(9), batch_size=4)) == list(range(9))


def test_generator_argument_and_state_dict_resume():
    loader = DataLoader(_dataset(20), batch_size=5, shuffle=True,
                        generator=np.random.Generator(np.random.Philox(5)))
    _epoch_order(loader)
    state = loader.state_dict()
    expected = [_epoch_order(loader) for _ in range(2)]
    fresh = DataLoader(_dataset(20), batch_size=5, shuffle=True, seed=0)
    fresh.load_state_dict(state)
    assert [_epoch_order(fresh) for _ in range(2)] == expected
    with pytest.raises(ValueError, match="seed or generator"):
        DataLoader(_dataset(4), seed=1, generator=np.random.default_rng(1))


def test_per_sample_path_collates_dicts_and_converts_dtypes():
    loader = DataLoader(Squares(5), batch_size=2)
    batch = next(iter(loader))
    assert batch["x"].dtype == np.float32 and batch["x"].shape == (2, 2)
    assert batch["y"].dtype == np.int64 and batch["y"].tolist() == [0, 1]
    assert batch["name"] == ["s0", "s1"]
    assert len(list(loader)) == 3


def test_default_collate_tuples_numbers_and_errors():
    xb, yb, flag = default_collate([(cr.tensor([1.0, 2.0]), 0.5, True),
                                    (cr.tensor([3.0, 4.0]), 1.5, False)])
    assert xb.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert yb.dtype == np.float32 and flag.dtype == np.bool_
    with pytest.raises(TypeError, match="object"):
        default_collate([object(), object()])


def test_custom_collate_fn():
    loader = DataLoader(_dataset(4), batch_size=2, collate_fn=lambda samples: len(samples))
    assert list(loader) == [2, 2]


def test_random_split_lengths_fractions_and_disjointness():
    ds = _dataset(10)
    parts = random_split(ds, [0.7, 0.3], seed=0)
    assert [len(p) for p in parts] == [7, 3]
    indices = np.concatenate([p.indices for p in parts])
    assert sorted(indices.tolist()) == list(range(10))
    again = random_split(ds, [7, 3], seed=0)
    assert all(np.array_equal(p.indices, q.indices) for p, q in zip(parts, again))
    with pytest.raises(ValueError, match="sum to"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.5, 0.2])


def test_subset_batches_through_the_fast_path_and_per_sample():
    fast = DataLoader(Subset(_dataset(10), [9, 1, 5]), batch_size=3)
    assert _epoch_order(fast) == [9, 1, 5]
    slow = DataLoader(Subset(Squares(10), [4, 2]), batch_size=2)
    assert next(iter(slow))["y"].tolist() == [16, 4]


def test_concat_dataset():
    both = _dataset(3) + _dataset(2)
    assert len(both) == 5 and both[4][1].item() == 1 and both[-1][1].item() == 1
    with pytest.raises(IndexError):
        both[5]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 50), drop_last=st.booleans(),
       shuffle=st.booleans())
def test_every_sample_once_per_epoch(n, batch_size, drop_last, shuffle):
    if drop_last and batch_size > n:
        return
    loader = DataLoader(_dataset(n), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                        seed=0)
    seen = _epoch_order(loader)
    expected = n - n % batch_size if drop_last else n
    assert len(seen) == expected and len(set(seen)) == expected
    assert len(list(loader)) == len(loader)

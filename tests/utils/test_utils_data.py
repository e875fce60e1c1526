"""``cr.utils.data``: PyTorch's import path to the data pipeline, the very same objects."""

import inspect

import numpy as np
import pytest

import chainrule as cr
import chainrule.data
import chainrule.utils.data as utils_data

NAMES = ["ConcatDataset", "DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate",
         "random_split"]


@pytest.mark.parametrize("name", NAMES)
def test_every_name_is_chainrule_data_s_object_not_a_copy(name):
    assert getattr(utils_data, name) is getattr(chainrule.data, name)
    assert name in utils_data.__all__


def test_pytorch_style_imports():
    import chainrule as torch  # code written for PyTorch, run on chainrule

    assert torch.utils.data.DataLoader is cr.data.DataLoader
    from chainrule.utils.data import DataLoader, TensorDataset

    assert DataLoader is torch.data.DataLoader and TensorDataset is torch.data.TensorDataset


def test_loader_accepts_pytorch_keyword_names():
    X, y = cr.arange(20.0).reshape(10, 2), cr.arange(10)
    ds = utils_data.TensorDataset(X, y)
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return utils_data.default_collate(samples)

    loader = utils_data.DataLoader(ds, batch_size=4, shuffle=True, drop_last=True,
                                   collate_fn=collate, generator=np.random.default_rng(0))
    batches = list(loader)
    assert len(loader) == len(batches) == 2 and seen == [4, 4]
    order = np.concatenate([yb.numpy() for _, yb in batches])
    assert len(set(order.tolist())) == 8
    accepted = inspect.signature(utils_data.DataLoader).parameters
    for keyword in ("batch_size", "shuffle", "drop_last", "collate_fn", "generator"):
        assert keyword in accepted


def test_random_split_and_subset_and_concat():
    ds = utils_data.TensorDataset(cr.arange(10.0), cr.arange(10))
    a, b = utils_data.random_split(ds, [7, 3], generator=np.random.default_rng(1))
    assert isinstance(a, utils_data.Subset) and (len(a), len(b)) == (7, 3)
    joined = utils_data.ConcatDataset([a, b])
    values = sorted(int(joined[i][1]) for i in range(len(joined)))
    assert values == list(range(10))

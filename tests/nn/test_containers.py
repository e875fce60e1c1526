"""Sequential, ModuleList and ModuleDict."""

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def test_sequential_applies_in_order_and_indexes():
    a, b, c = nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)
    model = nn.Sequential(a, b, c)
    x = cr.randn(4, 2)
    np.testing.assert_array_equal(model(x).numpy(), c(b(a(x))).numpy())
    assert len(model) == 3 and model[0] is a and model[-1] is c
    assert list(model) == [a, b, c]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[1] is b
    with pytest.raises(IndexError, match="index 3 is out of range for 3 modules"):
        model[3]


def test_sequential_append_insert_setitem_delitem():
    model = nn.Sequential(nn.Linear(2, 2))
    model.append(nn.ReLU()).append(nn.Linear(2, 1))
    assert [n for n, _ in model.named_children()] == ["0", "1", "2"]
    model.insert(1, nn.Dropout(0.1))
    assert [type(m).__name__ for m in model] == ["Linear", "Dropout", "ReLU", "Linear"]
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "3.weight",
                                                        "3.bias"]
    model[1] = nn.Identity()
    assert isinstance(model[1], nn.Identity)
    del model[1]
    assert len(model) == 3
    model.extend([nn.Sigmoid()])
    assert isinstance(model[-1], nn.Sigmoid)


def test_sequential_from_ordered_dict_keeps_names():
    model = nn.Sequential(OrderedDict([("hidden", nn.Linear(2, 4)), ("out", nn.Linear(4, 1))]))
    assert model.hidden.out_features == 4
    assert list(model.state_dict()) == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]


def test_module_list():
    layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
    layers.append(nn.Linear(3, 1))
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 2
    layers.insert(0, nn.Tanh())
    assert isinstance(layers[0], nn.Tanh)
    assert [n for n, _ in layers.named_parameters()][:2] == ["1.weight", "1.bias"]
    del layers[0]
    assert [n for n, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]
    x = cr.randn(2, 3)
    for layer in layers:
        x = layer(x)
    assert x.shape == (2, 1)
    with pytest.raises(NotImplementedError):
        layers(x)


def test_module_dict():
    heads = nn.ModuleDict({"a": nn.Linear(4, 2)})
    heads["b"] = nn.Linear(4, 3)
    heads.update([("c", nn.ReLU())])
    assert list(heads) == ["a", "b", "c"] and "b" in heads and len(heads) == 3
    assert heads["b"].out_features == 3
    assert [k for k, _ in heads.items()] == list(heads.keys())
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight",
                                                        "b.bias"]
    assert isinstance(heads.pop("c"), nn.ReLU)
    with pytest.raises(KeyError, match="no key 'z'"):
        heads["z"]

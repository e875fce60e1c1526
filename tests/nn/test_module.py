"""Module: registration, traversal, modes, state dicts, dtype conversion, hooks and repr."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(cr.ones(1))
        self.register_buffer("steps", cr.zeros(1))
        self.register_buffer("cache", cr.zeros(2), persistent=False)
        self.note = "plain attribute"

    def forward(self, x):
        return self.bn(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(4, 2, bias=False)

    def forward(self, x):
        return self.head(cr.relu(self.block(x)))


def test_registration_by_assignment_and_dotted_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "block.bn.weight",
                     "block.bn.bias", "head.weight"]
    assert [n for n, _ in net.named_buffers()] == [
        "block.steps", "block.cache", "block.bn.running_mean", "block.bn.running_var",
        "block.bn.num_batches_tracked"]
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "block.bn", "head"]
    assert len(list(net.modules())) == 5
    assert net.block.note == "plain attribute"
    assert "note" not in dict(net.block.named_parameters())
    assert [n for n, _ in net.named_parameters(recurse=False)] == []
    assert net.head.bias is None


def test_shared_parameters_and_modules_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert model.num_parameters() == 6


def test_reassignment_moves_between_tables_and_delattr():
    m = nn.Module()
    m.x = nn.Parameter(cr.zeros(2))
    m.x = nn.Linear(2, 2)
    assert "x" not in m._parameters and "x" in m._modules
    with pytest.raises(TypeError, match="sub-module 'x'"):
        m.x = cr.zeros(2)
    m.x = None
    m.register_buffer("b", cr.zeros(1))
    with pytest.raises(TypeError, match="buffer 'b'"):
        m.b = 3
    m.b = cr.ones(1)
    assert m.b.item() == 1.0
    del m.b
    assert "b" not in dict(m.named_buffers())
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        _ = m.missing
    with pytest.raises(KeyError):
        m.register_buffer("a.b", cr.zeros(1))
    with pytest.raises(TypeError):
        m.register_parameter("p", cr.zeros(1))


def test_assignment_before_init_is_an_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_train_eval_zero_grad_requires_grad_apply():
    net = Net()
    assert net.training and net.block.bn.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net(cr.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(np.abs(p.grad.numpy()).sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "BatchNorm1d", "Block", "Linear", "Net"]


def test_state_dict_contents_order_and_round_trip():
    cr.manual_seed(0)
    net = Net()
    net(cr.randn(8, 3))  # updates the batch-norm running statistics
    sd = net.state_dict()
    assert list(sd) == ["block.scale", "block.steps", "block.fc.weight", "block.fc.bias",
                        "block.bn.weight", "block.bn.bias", "block.bn.running_mean",
                        "block.bn.running_var", "block.bn.num_batches_tracked",
                        "head.weight"]
    assert "block.cache" not in sd  # non-persistent buffer
    assert sd["block.bn.num_batches_tracked"].item() == 1
    assert not sd["block.fc.weight"].requires_grad
    other = Net()
    assert not any(other.load_state_dict({k: v.numpy().copy() for k, v in sd.items()}))
    for k, v in other.state_dict().items():
        assert np.array_equal(v.numpy(), sd[k].numpy()) and v.dtype == sd[k].dtype
    x = cr.randn(4, 3)
    net.eval()
    other.eval()
    np.testing.assert_array_equal(net(x).numpy(), other(x).numpy())


def test_load_state_dict_copies_in_place_and_keeps_identity():
    layer = nn.Linear(2, 2)
    weight = layer.weight
    layer.load_state_dict({"weight": np.eye(2), "bias": [1.0, 2.0]})
    assert layer.weight is weight and layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.numpy(), np.eye(2))


def test_load_state_dict_lists_missing_unexpected_and_mismatched_keys():
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    before = net.state_dict()
    before = {k: v.numpy().copy() for k, v in before.items()}
    bad = {"0.weight": np.zeros((3, 4)), "0.bias": np.zeros(4), "1.weight": np.zeros((2, 4)),
           "2.weight": np.zeros(1)}
    with pytest.raises(nn.StateDictError) as info:
        net.load_state_dict(bad)
    message = str(info.value)
    assert "Missing key(s): '1.bias'" in message
    assert "Unexpected key(s): '2.weight'" in message
    assert "0.weight: checkpoint (3, 4) != model (4, 3)" in message
    assert info.value.missing_keys == ["1.bias"]
    assert info.value.unexpected_keys == ["2.weight"]
    assert len(info.value.mismatched_keys) == 1
    for k, v in net.state_dict().items():  # strict failure loads nothing
        assert np.array_equal(v.numpy(), before[k])
    result = net.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["1.bias"] and result.unexpected_keys == ["2.weight"]
    assert result.mismatched_keys == ["0.weight: checkpoint (3, 4) != model (4, 3)"]
    assert np.array_equal(net[1].weight.numpy(), np.zeros((2, 4)))  # the good keys load
    assert np.array_equal(net[0].weight.numpy(), before["0.weight"])
    assert repr(nn.Linear(1, 1).load_state_dict(nn.Linear(1, 1).state_dict())) == \
        "<All keys matched successfully>"


def test_to_double_and_float_keep_parameter_identity_and_integer_buffers():
    net = Net()
    params = list(net.parameters())
    assert net.double() is net
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert net.block.bn.running_mean.dtype == np.float64
    assert net.block.bn.num_batches_tracked.dtype == np.int64
    assert net(cr.randn(3, 3).double()).dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    net.to(dtype=cr.float64)
    assert net.head.weight.dtype == np.float64
    with pytest.raises(TypeError, match="floating"):
        net.to(cr.int64)


def test_forward_hooks_and_pre_hooks():
    layer = nn.Linear(2, 3)
    seen = []
    handle = layer.register_forward_hook(lambda m, inputs, out: seen.append(out.shape))
    pre = layer.register_forward_pre_hook(lambda m, inputs: (inputs[0] * 0,))
    out = layer(cr.ones(4, 2))
    assert seen == [(4, 3)]
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(layer.bias.numpy(), (4, 3)))
    handle.remove()
    pre.remove()
    layer(cr.ones(1, 2))
    assert seen == [(4, 3)]


def test_repr_is_a_tree_like_pytorch():
    net = nn.Sequential(OrderedDict(fc=nn.Linear(2, 3), act=nn.ReLU(),
                                    inner=nn.Sequential(nn.Dropout(0.2), nn.Linear(3, 1))))
    assert repr(net) == (
        "Sequential(\n"
        "  (fc): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (act): ReLU()\n"
        "  (inner): Sequential(\n"
        "    (0): Dropout(p=0.2, inplace=False)\n"
        "    (1): Linear(in_features=3, out_features=1, bias=True)\n"
        "  )\n"
        ")")


def test_deepcopy_gives_independent_parameters():
    net = Net()
    clone = copy.deepcopy(net)
    assert isinstance(clone.head.weight, nn.Parameter)
    with cr.no_grad():
        clone.head.weight.fill_(0.0)
    assert np.abs(net.head.weight.numpy()).sum() > 0


def test_parameter_defaults():
    p = nn.Parameter(np.arange(3.0))
    assert p.requires_grad and p.dtype == np.float32 and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    q = nn.Parameter(cr.zeros(2, dtype=cr.float64), requires_grad=False)
    assert q.dtype == np.float64 and not q.requires_grad
    assert type(p * 2) is cr.Tensor
    assert nn.Parameter().shape == (0,)


def test_copying_a_float64_module_keeps_float64():
    import copy
    import pickle

    m = cr.nn.Linear(2, 2, dtype=np.float64)
    assert copy.deepcopy(m).weight.dtype == np.float64
    assert pickle.loads(pickle.dumps(m)).weight.dtype == np.float64

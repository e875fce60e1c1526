"""The Optimizer base: validation, param groups, skipping, zero_grad, dtype, state_dict."""

import copy
import json

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import chainrule as cr
from chainrule import optim

ALL = [
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.3)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adadelta, dict(lr=1.0, rho=0.8, weight_decay=0.01)),
    (optim.Adam, dict(lr=0.05, amsgrad=True, weight_decay=0.01)),
    (optim.AdamW, dict(lr=0.05, betas=(0.8, 0.95))),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(ALL)]


def _quadratic_problem(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    params = [cr.tensor(rng.normal(size=(3, 2)), dtype=dtype, requires_grad=True),
              cr.tensor(rng.normal(size=2), dtype=dtype, requires_grad=True)]
    scale = cr.tensor(rng.uniform(0.5, 2.0, size=(3, 2)), dtype=dtype)

    def loss():
        W, b = params
        return (scale * (W - 1.0) ** 2).sum() + ((b + 2.0) ** 2).sum() + (W @ b).sum() * 0.1

    return params, loss


def _train(opt, params, loss, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss().backward()
        opt.step()


# ---- validation ------------------------------------------------------------------------------
@pytest.mark.parametrize("make,message", [
    (lambda p: optim.SGD(p, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: optim.SGD(p, lr=float("nan")), "Invalid learning rate: nan"),
    (lambda p: optim.SGD(p, lr="fast"), "Invalid learning rate: 'fast'"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "zero dampening"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-0.1),
     "Invalid initial_accumulator_value value: -0.1"),
    (lambda p: optim.Adagrad(p, eps=-1e-10), "Invalid epsilon value: -1e-10"),
    (lambda p: optim.RMSprop(p, alpha=-0.9), "Invalid alpha value: -0.9"),
    (lambda p: optim.RMSprop(p, momentum=-1), "Invalid momentum value: -1"),
    (lambda p: optim.Adadelta(p, rho=1.5), "Invalid rho value: 1.5"),
    (lambda p: optim.Adadelta(p, lr=-1.0), "Invalid learning rate: -1.0"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda p: optim.Adam(p, betas=0.9), "Invalid betas: 0.9"),
    (lambda p: optim.AdamW(p, eps=-1.0), "Invalid epsilon value: -1.0"),
    (lambda p: optim.AdamW(p, weight_decay=-0.01), "Invalid weight_decay value: -0.01"),
    (lambda p: optim.SGD([{"params": p[:1]}, {"params": p[1:], "lr": -2.0}], lr=0.1),
     "Invalid learning rate: -2.0"),
])
def test_invalid_hyperparameters_raise_naming_the_value(make, message):
    params = [cr.zeros(2, requires_grad=True), cr.zeros(3, requires_grad=True)]
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        make(params)


def test_invalid_params_raise():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="floating-point"):
        optim.SGD([cr.tensor([1, 2])], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(TypeError, match="sets"):
        optim.SGD([{"params": {w}}], lr=0.1)


def test_hyperparameters_are_python_floats():
    w = cr.zeros(2, requires_grad=True)
    opt = optim.Adam([w], lr=np.float64(0.01), betas=[0.9, 0.99], eps=1)
    group = opt.param_groups[0]
    assert type(group["lr"]) is float and type(group["eps"]) is float
    assert group["betas"] == (0.9, 0.99) and all(type(b) is float for b in group["betas"])


# ---- stepping ----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kwargs", ALL, ids=IDS)
def test_params_with_grad_none_are_skipped(cls, kwargs):
    used, unused = cr.ones(3, requires_grad=True), cr.ones(2, requires_grad=True)
    opt = cls([used, unused], **kwargs)
    for _ in range(3):
        opt.zero_grad()
        (used ** 2).sum().backward()
        opt.step()
    assert unused.grad is None
    np.testing.assert_array_equal(unused.numpy(), np.ones(2, np.float32))
    assert unused not in opt.state and opt.state[used]["step"] == 3
    assert not np.allclose(used.numpy(), 1.0)


@pytest.mark.parametrize("cls,kwargs", ALL, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_in_params_and_state(cls, kwargs, dtype):
    params, loss = _quadratic_problem(dtype)
    data_ids = [id(p.data) for p in params]
    opt = cls(params, **kwargs)
    _train(opt, params, loss, 3)
    for p in params:
        assert p.dtype == dtype
        for value in opt.state[p].values():
            assert not hasattr(value, "dtype") or value.dtype == dtype
    assert [id(p.data) for p in params] == data_ids  # updated in place


def test_step_does_not_modify_grad_and_bumps_version():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.5, maximize=True)
    (w ** 2).sum().backward()
    grad_before = w.grad.numpy().copy()
    version = w._version
    opt.step()
    np.testing.assert_array_equal(w.grad.numpy(), grad_before)
    assert w._version == version + 1


def test_graph_saved_before_step_is_reported_stale():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    y = (w * w).sum()
    w.grad = cr.ones(2)
    opt.step()
    with pytest.raises(RuntimeError, match="in place"):
        y.backward()


def test_zero_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w ** 2).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad
    np.testing.assert_array_equal(grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert w.grad is None
    opt.zero_grad(set_to_none=False)  # no grad: stays None
    assert w.grad is None


def test_closure_is_evaluated_with_grad_enabled():
    w = cr.tensor([3.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        return loss

    with cr.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(w.numpy(), [1.5])


def test_param_groups_use_their_own_options():
    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "weight_decay": 1.0}], lr=0.1)
    (a * 2 + b * 2).sum().backward()
    opt.step()
    np.testing.assert_allclose(a.numpy(), [1.0 - 0.1 * 2])
    np.testing.assert_allclose(b.numpy(), [1.0 - 0.5 * (2 + 1.0)])
    c = cr.tensor([1.0], requires_grad=True)
    opt.add_param_group({"params": [c], "momentum": 0.9})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.9
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [a]})
    assert "Parameter Group 2" in repr(opt)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
       lr=st.floats(1e-3, 1.0), seed=st.integers(0, 2**16))
def test_first_steps_match_their_formulas_for_any_shape(shape, lr, seed):
    """SGD: w - lr g. Adam's first step: w - lr g / (|g| + eps) ~ w - lr sign(g)."""
    rng = np.random.default_rng(seed)
    w0, g = rng.normal(size=shape), rng.normal(size=shape)
    w = cr.tensor(w0, dtype=np.float64, requires_grad=True)
    w.grad = cr.tensor(g, dtype=np.float64)
    optim.SGD([w], lr=lr).step()
    np.testing.assert_allclose(w.numpy(), w0 - lr * g, rtol=1e-12, atol=1e-15)
    w = cr.tensor(w0, dtype=np.float64, requires_grad=True)
    w.grad = cr.tensor(g, dtype=np.float64)
    optim.Adam([w], lr=lr).step()
    np.testing.assert_allclose(w.numpy(), w0 - lr * g / (np.abs(g) + 1e-8), rtol=1e-12,
                               atol=1e-15)


# ---- state_dict -----------------------------------------------------------------------------
def _jsonish(state_dict):
    """What a checkpoint gives back: string keys, lists for tuples, arrays kept as arrays."""
    arrays = {}

    def strip(obj):
        if isinstance(obj, np.ndarray):
            arrays[str(len(arrays))] = obj
            return {"__array__": str(len(arrays) - 1)}
        return obj

    def walk(obj):
        if isinstance(obj, dict):
            return {k: walk(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [walk(v) for v in obj]
        return strip(obj)

    text = json.dumps(walk(state_dict))

    def restore(obj):
        if isinstance(obj, dict):
            if set(obj) == {"__array__"}:
                return arrays[obj["__array__"]].copy()
            return {k: restore(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [restore(v) for v in obj]
        return obj

    return restore(json.loads(text))


@pytest.mark.parametrize("via_json", [False, True], ids=["dict", "json"])
@pytest.mark.parametrize("cls,kwargs", ALL, ids=IDS)
def test_state_dict_round_trip_mid_run_continues_identically(cls, kwargs, via_json):
    params, loss = _quadratic_problem(np.float32)
    opt = cls([{"params": params[:1]}, {"params": params[1:], "lr": kwargs["lr"] / 2}], **kwargs)
    _train(opt, params, loss, 10)
    snapshot = opt.state_dict()
    values = [p.numpy().copy() for p in params]
    saved = copy.deepcopy(snapshot)
    _train(opt, params, loss, 10)
    expected = [p.numpy().copy() for p in params]
    for key, state in snapshot["state"].items():  # the snapshot did not follow the run
        for name, value in state.items():
            np.testing.assert_array_equal(value, saved["state"][key][name])

    params2, loss2 = _quadratic_problem(np.float32)
    for p, v in zip(params2, values):
        p.data[...] = v
    opt2 = cls([{"params": params2[:1]}, {"params": params2[1:]}], lr=123.0)
    opt2.load_state_dict(_jsonish(snapshot) if via_json else snapshot)
    assert opt2.param_groups[1]["lr"] == kwargs["lr"] / 2
    _train(opt2, params2, loss2, 10)
    for p, e in zip(params2, expected):
        np.testing.assert_array_equal(p.numpy(), e)
    assert all(s["step"] == 20 for s in opt2.state.values())


def test_load_state_dict_rejects_mismatches():
    a, b = cr.zeros(2, requires_grad=True), cr.zeros(3, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad, b.grad = cr.ones(2), cr.ones(3)
    opt.step()
    state = opt.state_dict()
    with pytest.raises(ValueError, match="group 0 has 2 parameters, the optimizer's has 1"):
        optim.Adam([cr.zeros(2, requires_grad=True)]).load_state_dict(state)
    with pytest.raises(ValueError, match="2 parameter groups, the optimizer has 1"):
        optim.Adam([a, b]).load_state_dict(
            {"state": {}, "param_groups": state["param_groups"] * 2})
    swapped = optim.Adam([b, a])
    with pytest.raises(ValueError, match=r"shape \(2,\), the parameter has shape \(3,\)"):
        swapped.load_state_dict(state)
    bad = copy.deepcopy(state)
    bad["state"][7] = bad["state"].pop(0)
    with pytest.raises(ValueError, match="index 7"):
        optim.Adam([a, b]).load_state_dict(bad)
    bad = copy.deepcopy(state)
    bad["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="Invalid learning rate: -1.0"):
        optim.Adam([a, b]).load_state_dict(bad)


@pytest.mark.parametrize("cls,kwargs", ALL, ids=IDS)
def test_a_zero_dim_parameter_resumes_identically(cls, kwargs):
    """A scalar parameter's buffers are 0-d arrays: after load_state_dict they stay arrays that
    the update changes in place (not numbers that it cannot)."""
    def run(resume_after):
        w = cr.tensor(1.0, requires_grad=True)
        opt = cls([w], **kwargs)
        for i in range(6):
            if i == resume_after:
                snapshot = opt.state_dict()
                opt = cls([w], **kwargs)
                opt.load_state_dict(snapshot)
            opt.zero_grad()
            ((w - 3.0) ** 2 + w ** 4 * 0.01).backward()
            opt.step()
        return w.item()

    assert run(resume_after=2) == run(resume_after=None)

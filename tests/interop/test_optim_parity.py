"""Parity of chainrule.optim with torch.optim: same parameters after 25 steps, same lr sequences."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule.optim import lr_scheduler  # noqa: E402

STEPS = 25

# (optimiser name, lr, list of option dicts); every option of every optimiser appears.
CASES = [
    ("SGD", 0.05, [{}, {"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.5},
                   {"momentum": 0.8, "nesterov": True}, {"weight_decay": 0.1},
                   {"momentum": 0.9, "weight_decay": 0.1, "nesterov": True},
                   {"maximize": True}, {"momentum": 0.5, "maximize": True, "weight_decay": 0.05}]),
    ("Adagrad", 0.1, [{}, {"lr_decay": 0.1}, {"weight_decay": 0.1},
                      {"initial_accumulator_value": 0.5}, {"eps": 1e-3}, {"maximize": True},
                      {"lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.1}]),
    ("RMSprop", 0.01, [{}, {"alpha": 0.9}, {"eps": 1e-3}, {"weight_decay": 0.1},
                       {"momentum": 0.9}, {"centered": True},
                       {"centered": True, "momentum": 0.5, "weight_decay": 0.05},
                       {"maximize": True}]),
    ("Adadelta", 1.0, [{}, {"lr": 0.5}, {"rho": 0.5}, {"eps": 1e-3}, {"weight_decay": 0.1},
                       {"maximize": True}]),
    ("Adam", 0.05, [{}, {"betas": (0.8, 0.9)}, {"eps": 1e-3}, {"weight_decay": 0.1},
                    {"amsgrad": True}, {"maximize": True},
                    {"amsgrad": True, "weight_decay": 0.1, "betas": (0.5, 0.7)}]),
    ("AdamW", 0.05, [{}, {"betas": (0.8, 0.9)}, {"eps": 1e-3}, {"weight_decay": 0.3},
                     {"amsgrad": True}, {"maximize": True},
                     {"amsgrad": True, "weight_decay": 0.0}]),
]
PARAMS = [(name, lr, options) for name, lr, all_options in CASES for options in all_options]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}


def _initial_values():
    rng = np.random.default_rng(0)
    return [rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=2), rng.normal(size=3)]


def _scales():
    rng = np.random.default_rng(1)
    return [rng.uniform(0.5, 3.0, size=s) for s in [(3, 4), (4,), (2,), (3,)]]


def _loss(params, scales, t, lib):
    """An ill-conditioned quadratic with a bilinear coupling; the last parameter enters the loss
    only on even steps, so its grad is None (skipped) on odd ones."""
    W, b, c, d = params
    loss = (scales[0] * (W - 1.0) ** 2).sum() + (scales[1] * (b + 0.5) ** 2).sum()
    loss = loss + (scales[2] * c ** 2).sum() + 0.3 * (W @ b).sum() + 0.4 * c.sum() * b.sum()
    if t % 2 == 0:
        loss = loss + (scales[3] * (d - 2.0) ** 2).sum() + 0.2 * (d.sum() * b.sum())
    return loss


def _run(lib, name, lr, options, dtype):
    values, scales = _initial_values(), _scales()
    if lib == "torch":
        tdtype = torch.float64 if dtype == np.float64 else torch.float32
        params = [torch.tensor(v, dtype=tdtype, requires_grad=True) for v in values]
        scales = [torch.tensor(s, dtype=tdtype) for s in scales]
        make = getattr(torch.optim, name)
    else:
        params = [cr.tensor(v, dtype=dtype, requires_grad=True) for v in values]
        scales = [cr.tensor(s, dtype=dtype) for s in scales]
        make = getattr(cr.optim, name)
    options = dict(options)
    group_lr = options.pop("lr", lr)
    groups = [{"params": params[:2]}, {"params": params[2:], "lr": group_lr * 0.5}]
    opt = make(groups, lr=group_lr, **options)
    for t in range(STEPS):
        opt.zero_grad()
        _loss(params, scales, t, lib).backward()
        opt.step()
    if lib == "torch":
        return [p.detach().numpy() for p in params]
    return [p.numpy() for p in params]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name,lr,options", PARAMS,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in o.items()) or 'default'}"
                              for n, _, o in PARAMS])
def test_parameters_match_torch_after_25_steps(name, lr, options, dtype):
    ours = _run("cr", name, lr, options, dtype)
    theirs = _run("torch", name, lr, options, dtype)
    for a, b in zip(ours, theirs):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **TOL[dtype])


def test_parameters_moved():
    """Guards the parity test against vacuous agreement (nothing moving)."""
    for name, lr, options in [("SGD", 0.05, {}), ("Adam", 0.05, {}), ("Adadelta", 1.0, {})]:
        after = _run("cr", name, lr, options, np.float64)
        for a, b in zip(after, _initial_values()):
            assert np.abs(a - b).max() > 1e-3


# ---- schedulers -----------------------------------------------------------------------------
SCHEDULERS = [
    ("StepLR", dict(step_size=4, gamma=0.5)),
    ("StepLR", dict(step_size=1, gamma=0.9)),
    ("MultiStepLR", dict(milestones=[3, 10, 10, 22], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.85)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("LinearLR", dict(start_factor=0.1, total_iters=8)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.2, total_iters=12)),
    ("LinearLR", dict()),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1.0 / (1.0 + 0.3 * epoch))),
]


def _schedule(lib, name, kwargs, steps=30):
    if lib == "torch":
        a, b = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
        opt = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.02}], lr=0.1)
        sched = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
    else:
        a, b = cr.zeros(2, requires_grad=True), cr.zeros(3, requires_grad=True)
        opt = cr.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.02}], lr=0.1)
        sched = getattr(lr_scheduler, name)(opt, **kwargs)
    lrs = [sched.get_last_lr()]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        assert lrs[-1] == [g["lr"] for g in opt.param_groups]
    return np.array(lrs)


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in
                                                         enumerate(SCHEDULERS)])
def test_scheduler_matches_torch(name, kwargs):
    ours, theirs = _schedule("cr", name, kwargs), _schedule("torch", name, kwargs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-15)
    assert len(np.unique(ours[:, 0])) > 1  # the schedule actually changes the rate


PLATEAU_METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.89, 0.9, 0.9, 0.9, 0.9, 0.7, 0.7, 0.7,
                   0.71, 0.72, 0.6999, 0.7, 0.7, 0.7, 0.65, 0.65, 0.65, 0.65, 0.65, 0.66, 0.67,
                   0.68, 0.69, 0.7]


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(patience=2),
    dict(patience=1, factor=0.5, cooldown=2),
    dict(patience=0, factor=0.5, min_lr=[0.02, 0.001]),
    dict(mode="max", patience=1, factor=0.3),
    dict(patience=1, threshold=0.05, threshold_mode="abs", factor=0.5),
    dict(mode="max", patience=2, threshold=0.01, threshold_mode="abs", cooldown=1),
    dict(patience=1, threshold=0.02, factor=0.5),
])
def test_reduce_on_plateau_matches_torch(kwargs):
    def run(lib):
        mod = torch if lib == "torch" else cr
        a, b = mod.zeros(2, requires_grad=True), mod.zeros(3, requires_grad=True)
        opt = mod.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.04}], lr=0.1)
        sched = (torch.optim.lr_scheduler if lib == "torch" else lr_scheduler) \
            .ReduceLROnPlateau(opt, **kwargs)
        lrs = []
        for metric in PLATEAU_METRICS:
            opt.step()
            sched.step(metric)
            lrs.append([g["lr"] for g in opt.param_groups])
            assert sched.get_last_lr() == lrs[-1]
        return np.array(lrs), sched

    (ours, sched), (theirs, tsched) = run("cr"), run("torch")
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert sched.best == tsched.best and sched.num_bad_epochs == tsched.num_bad_epochs

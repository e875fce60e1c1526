"""Learning-rate schedules: worked sequences, state_dict round trips, validation."""

import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adam, lr_scheduler


def make_optimizer(lrs=(0.1,)):
    groups = [{"params": [cr.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return SGD(groups, lr=lrs[0])


def sequence(scheduler, steps):
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    return lrs


@pytest.mark.parametrize("make,expected", [
    (lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
     [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]),
    (lambda o: lr_scheduler.MultiStepLR(o, milestones=[4, 1], gamma=0.1),
     [0.1, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001]),
    (lambda o: lr_scheduler.ExponentialLR(o, gamma=0.5),
     [0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125, 0.0015625]),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4),
     [0.1, 0.1 * (1 + math.cos(math.pi / 4)) / 2, 0.05, 0.1 * (1 - math.cos(math.pi / 4)) / 2,
      0.0, 0.1 * (1 - math.cos(math.pi / 4)) / 2, 0.05]),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=3),
     [0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.1]),
    (lambda o: lr_scheduler.LambdaLR(o, lambda epoch: 1 / (epoch + 1)),
     [0.1, 0.05, 0.1 / 3, 0.025, 0.02, 0.1 / 6, 0.1 / 7]),
], ids=["step", "multistep", "exponential", "cosine", "linear", "lambda"])
def test_worked_sequences(make, expected):
    np.testing.assert_allclose(sequence(make(make_optimizer()), 6), expected, rtol=1e-12,
                               atol=1e-15)


def test_each_group_scales_its_own_initial_rate():
    opt = make_optimizer((0.1, 1.0))
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    opt.step()
    sched.step()
    assert sched.get_last_lr() == [0.05, 0.5]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 1.0]


def test_scheduler_drives_the_optimiser_step():
    w = cr.tensor([0.0], requires_grad=True)
    opt = SGD([w], lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        w.grad = cr.ones(1)
        opt.step()
        sched.step()
    np.testing.assert_allclose(w.numpy(), [-(1.0 + 0.5 + 0.25)])


ALL = [
    lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.3),
    lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
    lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.001),
    lambda o: lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=7),
    lambda o: lr_scheduler.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: 1.0 / (1 + e)]),
]


@pytest.mark.parametrize("make", ALL, ids=["step", "multistep", "exp", "cosine", "linear",
                                           "lambda"])
def test_state_dict_round_trip_continues_identically(make):
    opt = make_optimizer((0.1, 0.3))
    sched = make(opt)
    sequence(sched, 5)
    lrs_at_snapshot = [g["lr"] for g in opt.param_groups]
    state = json.loads(json.dumps({"opt": opt.state_dict(), "sched": sched.state_dict()}))
    expected = sequence(sched, 10)

    opt2 = make_optimizer((7.0, 7.0))
    sched2 = make(opt2)
    opt2.load_state_dict(state["opt"])
    sched2.load_state_dict(state["sched"])
    assert [g["lr"] for g in opt2.param_groups] == lrs_at_snapshot
    assert sched2.get_last_lr() == lrs_at_snapshot
    assert sequence(sched2, 10) == expected
    assert "optimizer" not in state["sched"] and "lr_lambdas" not in state["sched"]


def test_reduce_on_plateau_worked_sequence():
    opt = make_optimizer((1.0,))
    sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    lrs = []
    for loss in [5, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3]:
        sched.step(loss)
        lrs.append(sched.get_last_lr()[0])
    # 4 after 4: one bad epoch; a second (> patience) halves the rate and starts a cooldown
    # epoch in which bad epochs do not count; 3 is an improvement; min_lr stops 0.125 at 0.2.
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2]


def test_reduce_on_plateau_max_mode_state_round_trip():
    opt = make_optimizer((1.0,))
    sched = lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=0)
    sched.step(0.5)
    sched.step(0.4)
    assert sched.get_last_lr() == [0.1] and sched.best == 0.5
    state = json.loads(json.dumps(sched.state_dict()))
    sched2 = lr_scheduler.ReduceLROnPlateau(make_optimizer((0.1,)), mode="max", factor=0.1,
                                            patience=0)
    sched2.load_state_dict(state)
    assert sched2.best == 0.5 and sched2.last_epoch == 2
    sched2.step(0.6)
    assert sched2.best == 0.6 and sched2.get_last_lr() == [0.1]


@pytest.mark.parametrize("make,message", [
    (lambda o: lr_scheduler.StepLR(o, step_size=0), "step_size must be a positive integer, got 0"),
    (lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=-0.5), "gamma must be positive"),
    (lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, -1]), "non-negative integers"),
    (lambda o: lr_scheduler.ExponentialLR(o, gamma=0.0), "gamma must be positive, got 0.0"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), "T_max must be a positive integer"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=3, eta_min=-1), "eta_min must be >= 0"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0.0), r"start_factor must be in \(0, 1\]"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), r"end_factor must be in \[0, 1\]"),
    (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0] * 3), "expected 1 lr_lambdas"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), r"factor must be in \(0, 1\)"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="best"), "mode must be 'min' or 'max'"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="x"), "threshold_mode"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=-1), "patience must be"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), "expected 1 min_lr"),
])
def test_invalid_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make(make_optimizer())


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="expected an Optimizer"):
        lr_scheduler.StepLR("sgd", step_size=1)
    with pytest.raises(TypeError, match="callable"):
        lr_scheduler.LambdaLR(make_optimizer(), 0.5)


def test_scheduler_works_with_adam_and_explicit_epoch():
    opt = Adam([cr.zeros(1, requires_grad=True)], lr=0.01)
    sched = lr_scheduler.StepLR(opt, step_size=10, gamma=0.1)
    sched.step(25)
    assert sched.last_epoch == 25
    np.testing.assert_allclose(sched.get_last_lr(), [0.0001])
    assert "StepLR" in repr(sched)

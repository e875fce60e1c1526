"""The learning-rate callbacks adapt the schedulers of chainrule.optim.lr_scheduler: Keras'
schedule(epoch, lr) and Keras' plateau rule, for every optimiser of a trainer, across resumes."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn, optim
from chainrule.models.gan import GAN, GANTrainer
from chainrule.models.mlp import MLP
from chainrule.train import Callback, LearningRateScheduler, ReduceLROnPlateau, Trainer


def _data(n=40):
    return cr.datasets.make_blobs(n, centers=2, seed=0)


def _trainer(callbacks=(), lr=0.05):
    cr.manual_seed(0)
    model = MLP([2, 4, 2])
    return Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr),
                   metrics=["accuracy"], callbacks=list(callbacks))


class Scripted(Callback):
    """Puts a scripted value into the epoch logs."""

    def __init__(self, values, key="val_loss"):
        self.values, self.key = values, key

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def test_learning_rate_scheduler_callback():
    schedule = LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    X, y = _data()
    history = _trainer([schedule]).fit((X, y), epochs=3, verbose=0)
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    bad = LearningRateScheduler(lambda epoch, lr: -1.0)
    with pytest.raises(ValueError, match="invalid learning rate -1.0"):
        _trainer([bad]).fit((X, y), epochs=1, verbose=0)
    with pytest.raises(TypeError, match="schedule must be callable"):
        LearningRateScheduler(0.1)


def test_learning_rate_scheduler_continues_a_resumed_run():
    """Keras calls schedule(epoch, current lr) at the start of each epoch, from initial_epoch."""
    seen = []

    def halve(epoch, lr):
        seen.append(epoch)
        return lr * 0.5 if epoch else lr

    X, y = _data()
    trainer = _trainer([LearningRateScheduler(halve)], lr=0.1)
    trainer.fit((X, y), epochs=2, verbose=0)
    history = trainer.fit((X, y), epochs=4, initial_epoch=2, verbose=0)
    assert seen == [0, 1, 2, 3]
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])


def test_reduce_lr_on_plateau_callback_with_cooldown():
    script = Scripted([1.0] * 8)
    reduce = ReduceLROnPlateau(patience=2, factor=0.5, cooldown=1, min_lr=0.02)
    X, y = _data()
    history = _trainer([script, reduce], lr=0.1).fit((X, y), epochs=8, verbose=0)
    # Keras' rule: epochs 1, 2 bad -> reduce after 2; the cooldown epoch 3 resets the count,
    # which restarts at once (3, 4 bad) -> reduce after 4; 5, 6 -> reduce to the floor min_lr
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02])
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.5)


def keras_plateau_rates(values, lr, factor, patience, cooldown, min_delta, min_lr, mode):
    """The rate of every epoch under Keras' ReduceLROnPlateau, written out plainly."""
    if mode == "min":
        better, best = (lambda a, b: a < b - min_delta), math.inf
    else:
        better, best = (lambda a, b: a > b + min_delta), -math.inf
    wait = cooldown_counter = 0
    rates = []
    for value in values:
        rates.append(lr)
        if cooldown_counter > 0:
            cooldown_counter -= 1
            wait = 0
        if better(value, best):
            best, wait = value, 0
        elif cooldown_counter == 0:
            wait += 1
            if wait >= patience:
                lr = max(lr * factor, min_lr)
                cooldown_counter, wait = cooldown, 0
    return rates


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=14), st.integers(0, 3),
       st.integers(0, 3), st.sampled_from([0.0, 0.5, 1.5]), st.sampled_from(["min", "max"]))
def test_reduce_lr_on_plateau_follows_keras_rule(values, patience, cooldown, min_delta, mode):
    """The scheduler gets patience - 1 and cooldown - 1: the rates are Keras' exactly."""
    params = [cr.zeros(1, requires_grad=True)]
    trainer = Trainer(MLP([1, 1]), optimizer=optim.SGD(params, lr=1.0))
    reduce = ReduceLROnPlateau("score", factor=0.5, patience=patience, mode=mode,
                               min_delta=min_delta, cooldown=cooldown, min_lr=0.1)
    reduce.set_trainer(trainer)
    reduce.on_train_begin({})
    rates = []
    for epoch, value in enumerate(values):
        rates.append(trainer.optimizer.param_groups[0]["lr"])
        reduce.on_epoch_end(epoch, {"score": float(value)})
    expected = keras_plateau_rates(values, 1.0, 0.5, patience, cooldown, min_delta, 0.1, mode)
    assert rates == pytest.approx(expected)


def test_the_callbacks_set_the_rate_of_every_optimizer():
    """A GANTrainer has two optimisers: both follow the schedule and the plateau rule."""
    cr.manual_seed(0)
    X = cr.randn(32, 2)
    gan = GAN(2, latent_dim=2, hidden=4)
    trainer = GANTrainer(gan, optim.Adam(gan.generator.parameters(), lr=1.0),
                         optim.Adam(gan.discriminator.parameters(), lr=1.0),
                         callbacks=[LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch),
                                    Scripted([1.0] * 3, key="score"),
                                    ReduceLROnPlateau("score", factor=0.5, patience=1)])
    trainer.fit(X, epochs=3, batch_size=16, verbose=0)
    for optimizer in (trainer.optimizer_g, trainer.optimizer_d):
        # epoch 2 set 0.025 at its start; the plateau (epochs 1, 2 bad) halved it at its end
        assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0125)

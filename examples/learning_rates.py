"""Learning rates: too low, too high, about right, and decaying ones (SPEC 6).

The same network (2 -> 32 -> 32 -> 2, tanh) learns the same two moons from the same initial
weights with mini-batch SGD, w <- w - lr dL/dw, for several learning rates:

* too low (0.005): every step is safe and tiny, the loss creeps down;
* about right (0.5): fast and stable;
* too high (5): the steps overshoot the valleys of the loss and it stays high.

Then from a large rate (2, fast at first, noisy later) four schedules shrink it as training goes:
StepLR (lr_0 gamma^floor(t / step_size)), ExponentialLR (lr_0 gamma^t), CosineAnnealingLR
(lr_0 (1 + cos(pi t / T)) / 2) and ReduceLROnPlateau (lr * factor after ``patience`` epochs
without progress). Large steps first and small steps later reach a lower loss than the
constant rate. One picture shows the loss curves and the schedules.

Run:  python examples/learning_rates.py [--fast] [--epochs N] [--out DIR]
"""

import argparse
import os

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.models import MLP
from chainrule.optim import lr_scheduler
from chainrule.train import Trainer

RATES = {"too low": 0.005, "about right": 0.5, "too high": 5.0}
DECAY_START = 2.0


def schedules(epochs):
    """Builders optimizer -> scheduler (None: a constant rate), all starting at DECAY_START."""
    return {
        "constant": None,
        "StepLR": lambda opt: lr_scheduler.StepLR(opt, step_size=max(1, epochs // 4), gamma=0.5),
        "ExponentialLR": lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.93),
        "CosineAnnealingLR": lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=epochs),
        "ReduceLROnPlateau": lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=0.5,
                                                                        patience=2),
    }


def train(X, y, lr, epochs, make_scheduler=None, seed=0):
    """Train a fresh network (the same initial weights for every run); return its History."""
    cr.manual_seed(seed)
    model = MLP([2, 32, 32, 2], activation="tanh")
    optimizer = cr.optim.SGD(model.parameters(), lr=lr)
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, scheduler=scheduler)
    return trainer.fit((X, y), epochs=epochs, batch_size=32, seed=seed, verbose=0)


def figure(ncols, width=4.8, height=4.0):
    """A matplotlib Figure (no pyplot: works without a display) and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def plot(by_rate, by_schedule, path):
    fig, (left, middle, right) = figure(3)
    for name, history in by_rate.items():
        loss = np.asarray(history["loss"])
        left.plot(np.arange(1, loss.size + 1), loss, label=f"lr = {RATES[name]:g} ({name})")
    left.set(yscale="log", xlabel="epoch", ylabel="training loss (cross-entropy)",
             title="constant learning rates")
    for name, history in by_schedule.items():
        loss = np.asarray(history["loss"])
        epochs = np.arange(1, loss.size + 1)
        style = "k--" if name == "constant" else "-"
        middle.plot(epochs, loss, style, label=name)
        right.plot(epochs, history["lr"], style, label=name)
    middle.set(yscale="log", xlabel="epoch", ylabel="training loss (cross-entropy)",
               title=f"decay from lr = {DECAY_START:g}")
    right.set(xlabel="epoch", ylabel="learning rate", title="the schedules")
    for ax in (left, middle, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=72)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer epochs")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("examples", "output", "learning_rates"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    epochs = args.epochs or (20 if args.fast else 40)
    X, y = cr.datasets.make_moons(512, noise=0.2, seed=args.seed)

    by_rate = {name: train(X, y, lr, epochs, seed=args.seed) for name, lr in RATES.items()}
    print(f"mini-batch SGD, {epochs} epochs: training loss after the first and last epoch")
    for name, history in by_rate.items():
        print(f"  lr = {RATES[name]:<6g} ({name:<11}) {history['loss'][0]:8.4f} -> "
              f"{history['loss'][-1]:.4f}")

    by_schedule = {name: train(X, y, DECAY_START, epochs, make, seed=args.seed)
                   for name, make in schedules(epochs).items()}
    print(f"from lr = {DECAY_START:g}: final learning rate and training loss")
    for name, history in by_schedule.items():
        print(f"  {name:<18} lr {history['lr'][-1]:.4f}  loss {history['loss'][-1]:.4f}")

    path = os.path.join(args.out, "learning_rates.png")
    plot(by_rate, by_schedule, path)
    print(f"written {path}")
    return {"by_rate": by_rate, "by_schedule": by_schedule}


if __name__ == "__main__":
    main()

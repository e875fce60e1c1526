"""The training workloads of the benchmarks, written once for chainrule and PyTorch.

Every builder takes ``lib`` (the ``chainrule`` or the ``torch`` module) and uses only names the two
share, so the same lines train both. This module imports NumPy alone: a process that times
PyTorch never loads chainrule, and the other way round.

``build(name, lib, quick)`` returns ``(step, n_steps)``: ``step(i)`` trains on batch
``i % len(batches)`` and returns the loss tensor; ``n_steps`` steps make one pass of the workload.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from common import as_batches, training_step


@dataclass(frozen=True)
class Workload:
    """One row of the user-view tables: what it trains, and how much of it."""

    title: str  # with ``{size}`` where the size goes
    size: int  # samples (mlp, lenet) or training steps (the others) of a full pass
    quick_size: int  # the same, for a smoke test that takes moments

    def describe(self, quick=False) -> str:
        return self.title.format(size=f"{self.quick_size if quick else self.size:,}")


WORKLOADS = {
    "mlp": Workload("MLP 784-256-128-10, batch 128, SGD momentum, {size} samples", 60_000, 1280),
    "lenet": Workload("LeNet-5, 1x28x28, batch 64, SGD momentum, {size} samples", 10_000, 640),
    "rnn": Workload("Elman RNN 32->128, T=50, batch 64, SGD, {size} steps", 100, 5),
    "gru": Workload("GRU 32->128, T=50, batch 64, SGD, {size} steps", 100, 5),
    "lstm": Workload("LSTM 32->128, T=50, batch 64, SGD, {size} steps", 100, 5),
    "tiny": Workload("tiny MLP 2-16-16-1 tanh, batch 32, SGD, {size} steps", 10_000, 200),
}


# --- models: the same code for both frameworks (``nn`` is chainrule.nn or torch.nn) ---

def mlp_model(nn):
    """784-256-128-10 with ReLU: the MNIST-sized classifier."""
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def lenet(nn):
    """LeNet-5 with max pooling, for 1x28x28 images (the first convolution pads by 2)."""
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def tiny_mlp_model(nn):
    """2-16-16-1 with tanh: small enough that the framework's per-op overhead dominates."""
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 1))


def recurrent_classifier(nn, cell, input_size=32, hidden_size=128, classes=10):
    """``cell`` ("RNN", "GRU" or "LSTM") over the sequence; its last hidden state -> classes."""

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(nn, cell)(input_size, hidden_size, batch_first=True)
            self.head = nn.Linear(hidden_size, classes)

        def forward(self, x):
            _, h_n = self.rnn(x)
            if isinstance(h_n, tuple):  # the LSTM returns (h_n, c_n)
                h_n = h_n[0]
            return self.head(h_n[-1])

    return Classifier()


# --- data: random, seeded, float32 inputs and int64 class targets ---

def classification_data(samples, shape, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, *shape)).astype(np.float32)
    y = rng.integers(0, classes, samples).astype(np.int64)
    return x, y


def regression_data(n_batches=100, batch=32, seed=0):
    """Inputs in the plane, targets sin(x1 + x2): the tiny MLP's task."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_batches, batch, 2)).astype(np.float32)
    y = np.sin(x.sum(-1, keepdims=True)).astype(np.float32)
    return x, y


# --- the workloads ---

def build(name, lib, quick=False):
    """``(step, n_steps)`` for the workload ``name`` in ``lib``, seeded the same way."""
    size = WORKLOADS[name].quick_size if quick else WORKLOADS[name].size
    lib.manual_seed(0)
    nn = lib.nn
    if name in ("mlp", "lenet"):
        batch = 128 if name == "mlp" else 64
        model = mlp_model(nn) if name == "mlp" else lenet(nn)
        x, y = classification_data(size, (784,) if name == "mlp" else (1, 28, 28))
        batches = as_batches(lib, x, y, batch)
        opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        return training_step(model, opt, nn.CrossEntropyLoss(), batches), len(batches)
    if name in ("rnn", "gru", "lstm"):
        model = recurrent_classifier(nn, name.upper())
        x, y = classification_data(4 * 64, (50, 32))  # four batches, cycled
        batches = as_batches(lib, x, y, 64)
        opt = lib.optim.SGD(model.parameters(), lr=0.01)
        return training_step(model, opt, nn.CrossEntropyLoss(), batches), size
    if name == "tiny":
        model = tiny_mlp_model(nn)
        x, y = regression_data()
        batches = [(lib.from_numpy(xb), lib.from_numpy(yb)) for xb, yb in zip(x, y)]
        opt = lib.optim.SGD(model.parameters(), lr=0.01)
        return training_step(model, opt, nn.MSELoss(), batches), size
    raise ValueError(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")

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
    "gpt": Workload("GPT 4 layers, d=128, 4 heads, T=128, batch 32, AdamW, {size} steps", 20, 2),
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


def gpt_model(lib, vocab_size=96, block_size=128, n_layer=4, n_head=4, n_embd=128):
    """A decoder-only transformer language model from ``lib.nn`` modules alone.

    Token and position embeddings, ``n_layer`` pre-norm blocks (x + attn(ln_1(x)) with
    ``nn.MultiheadAttention`` under a causal mask, then x + mlp(ln_2(x)), MLP 4x with GELU), a
    final LayerNorm and a head tied to the token embedding. Logits (B, T, V) are returned as
    (B * T, V), ready for ``nn.CrossEntropyLoss`` against targets flattened to (B * T,).
    """
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
            self.attn = nn.MultiheadAttention(n_embd, n_head, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(),
                                     nn.Linear(4 * n_embd, n_embd))

        def forward(self, x, mask):
            h = self.ln_1(x)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False, is_causal=True)[0]
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab_size, n_embd)
            self.wpe = nn.Embedding(block_size, n_embd)
            self.blocks = nn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd)
            self.head = nn.Linear(n_embd, vocab_size, bias=False)
            self.head.weight = self.wte.weight
            for table in (self.wte.weight, self.wpe.weight):  # GPT-2's small embeddings
                nn.init.normal_(table, 0.0, 0.02)

        def forward(self, idx):
            T = idx.shape[1]
            mask = lib.triu(lib.ones(T, T, dtype=lib.bool), diagonal=1)
            x = self.wte(idx) + self.wpe(lib.arange(T))
            for block in self.blocks:
                x = block(x, mask)
            return self.head(self.ln_f(x)).reshape(-1, vocab_size)

    return GPT()


def token_data(n_batches=4, batch=32, block_size=128, vocab_size=96, seed=0):
    """Random windows of tokens and the windows shifted by one, flattened targets: (x, y)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab_size, (n_batches, batch, block_size + 1)).astype(np.int64)
    return ids[..., :-1].copy(), ids[..., 1:].reshape(n_batches, -1).copy()


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

def _on(device, model, batches):
    """The model and the batches moved to ``device`` (None: left where they are)."""
    if device is None:
        return model, batches
    return model.to(device), [(x.to(device), y.to(device)) for x, y in batches]


def build(name, lib, quick=False, device=None):
    """``(step, n_steps)`` for the workload ``name`` in ``lib``, seeded the same way; with
    ``device`` ("cuda"), the model and the batches are moved there first."""
    size = WORKLOADS[name].quick_size if quick else WORKLOADS[name].size
    lib.manual_seed(0)
    nn = lib.nn
    if name in ("mlp", "lenet"):
        batch = 128 if name == "mlp" else 64
        model = mlp_model(nn) if name == "mlp" else lenet(nn)
        x, y = classification_data(size, (784,) if name == "mlp" else (1, 28, 28))
        model, batches = _on(device, model, as_batches(lib, x, y, batch))
        opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        return training_step(model, opt, nn.CrossEntropyLoss(), batches), len(batches)
    if name in ("rnn", "gru", "lstm"):
        model = recurrent_classifier(nn, name.upper())
        x, y = classification_data(4 * 64, (50, 32))  # four batches, cycled
        model, batches = _on(device, model, as_batches(lib, x, y, 64))
        opt = lib.optim.SGD(model.parameters(), lr=0.01)
        return training_step(model, opt, nn.CrossEntropyLoss(), batches), size
    if name == "tiny":
        model = tiny_mlp_model(nn)
        x, y = regression_data()
        model, batches = _on(device, model, [(lib.from_numpy(xb), lib.from_numpy(yb))
                                             for xb, yb in zip(x, y)])
        opt = lib.optim.SGD(model.parameters(), lr=0.01)
        return training_step(model, opt, nn.MSELoss(), batches), size
    if name == "gpt":
        model = gpt_model(lib)
        x, y = token_data()
        model, batches = _on(device, model, [(lib.from_numpy(xb), lib.from_numpy(yb))
                                             for xb, yb in zip(x, y)])
        opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
        return training_step(model, opt, nn.CrossEntropyLoss(), batches), size
    raise ValueError(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")

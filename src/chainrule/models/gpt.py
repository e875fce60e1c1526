"""A small decoder-only transformer (GPT) that predicts the next character of a text.

The model reads a window of token indices idx_1 .. idx_T and gives, at every position t, the
logits of the next token, computed from idx_1 .. idx_t only:

    x_0 = E[idx_t] + P[t]                                   token and position embeddings
    x <- x + Attn(LN_1(x))                                  causal multi-head self-attention
    x <- x + MLP(LN_2(x)),  MLP(h) = W_2 GELU(W_1 h + b_1) + b_2,  W_1: 4d x d
    logits = LN_f(x) E^T                                    the head shares E (weight tying)

with one ``(Attn, MLP)`` pair per block ("pre-norm": each sub-layer sees a normalised input and
adds its output to the residual stream x). Self-attention is ``nn.MultiheadAttention`` with
query = key = value = LN_1(x) and a causal mask, so that position t attends to positions
s <= t only:

    A = softmax(Q K^T / sqrt(d_head) + M),   M_ts = 0 for s <= t, -inf for s > t,   out = A V

The loss is the cross-entropy of the next token, averaged over every position of every window
(:func:`sequence_cross_entropy`).
"""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.backend import default_generator
from chainrule.nn import functional as F


def sequence_cross_entropy(logits, targets):
    """The mean cross-entropy of the next token over all positions.

        L = -1/(B T) sum_{b, t} log softmax(logits[b, t])[targets[b, t]]

    Args:
        logits: (B, T, V) scores of the V tokens at every position.
        targets: (B, T) int64 indices of the true next tokens.

    Returns:
        The scalar loss, in nats per token (divide by log 2 for bits).

    Example:
        >>> sequence_cross_entropy(model(x), y)           # x, y: (B, T) windows
    """
    if logits.ndim != 3 or tuple(targets.shape) != tuple(logits.shape[:2]):
        raise ValueError(f"sequence_cross_entropy: expected logits (B, T, V) and targets (B, T), "
                         f"got {tuple(logits.shape)} and {tuple(targets.shape)}")
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def causal_mask(size: int, device=None):
    """The (T, T) boolean mask of future positions: True above the diagonal (s > t), where
    attention is not allowed. It is PyTorch's ``generate_square_subsequent_mask`` as booleans."""
    return cr.triu(cr.ones(size, size, dtype=cr.bool, device=device), diagonal=1)


class Block(nn.Module):
    """One pre-norm transformer block: x + Attn(LN_1(x)), then x + MLP(LN_2(x)).

    Args:
        n_embd: the width d of the residual stream.
        n_head: attention heads (d must be a multiple of it); each has d / n_head dimensions.
        dropout: dropout on the attention weights and on each sub-layer's output.
        bias: biases in the Linear and LayerNorm layers.
    """

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = nn.MultiheadAttention(n_embd, n_head, dropout=dropout, bias=bias,
                                          batch_first=True)
        self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd, bias=bias), nn.GELU(),
                                 nn.Linear(4 * n_embd, n_embd, bias=bias))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, need_weights: bool = False):
        """(x after the block, per-head attention weights (B, n_head, T, T) or None)."""
        h = self.ln_1(x)
        mask = causal_mask(x.shape[1], x.device)
        a, weights = self.attn(h, h, h, need_weights=need_weights, attn_mask=mask,
                               average_attn_weights=False, is_causal=True)
        x = x + self.dropout(a)
        x = x + self.dropout(self.mlp(self.ln_2(x)))
        return x, weights


class GPT(nn.Module):
    """A decoder-only transformer language model over a vocabulary of ``vocab_size`` tokens.

    Token embedding E (V x d, ``nn.Embedding``) plus a learned position embedding P
    (block_size x d, ``nn.LearnedPositionalEmbedding``), ``n_layer`` pre-norm :class:`Block`\\ s,
    a final LayerNorm, and a linear head whose weight is E itself when ``tie_weights`` (the same
    Parameter, so the input and output representations of a token are learned together, and
    V d parameters are saved). Weights start as in GPT-2: N(0, 0.02^2), the projections back
    into the residual stream N(0, (0.02 / sqrt(2 n_layer))^2), biases 0.

    Args:
        vocab_size: V, the number of tokens (characters).
        block_size: the longest context T the model reads (position embeddings for 0 .. T-1).
        n_layer: transformer blocks.
        n_head: attention heads per block.
        n_embd: the width d of the model (a multiple of ``n_head``).
        dropout: dropout of embeddings, attention weights and sub-layer outputs.
        bias: biases in the Linear and LayerNorm layers.
        tie_weights: share the token embedding with the output head.

    Shape:
        idx (B, T) int64 with T <= block_size; logits (B, T, V).

    Example:
        >>> model = GPT(vocab_size=65, block_size=64, n_layer=2, n_head=2, n_embd=64)
        >>> logits = model(idx)                                 # (B, T, 65)
        >>> loss = model.loss(idx, targets)                      # next-token cross-entropy
        >>> model.generate(cr.tensor([[0]]), 100, temperature=0.8, top_k=10)
    """

    def __init__(self, vocab_size: int, block_size: int = 128, n_layer: int = 4,
                 n_head: int = 4, n_embd: int = 128, dropout: float = 0.0, bias: bool = True,
                 tie_weights: bool = True):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"GPT: n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
        self.vocab_size, self.block_size = int(vocab_size), int(block_size)
        self.n_layer, self.n_head, self.n_embd = int(n_layer), int(n_head), int(n_embd)
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.LearnedPositionalEmbedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(n_embd, n_head, dropout, bias) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        if tie_weights:
            self.lm_head.weight = self.wte.weight
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2's initialisation (see the class docstring), from chainrule's generator."""
        residual_std = 0.02 / math.sqrt(2 * self.n_layer)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif name.startswith("ln") or ".ln_" in name:
                nn.init.ones_(p)
            elif name.endswith("out_proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, 0.0, residual_std)
            else:
                nn.init.normal_(p, 0.0, 0.02)

    def _embed(self, idx):
        if idx.ndim != 2:
            raise ValueError(f"GPT: expected token indices of shape (B, T), got "
                             f"{tuple(idx.shape)}")
        T = idx.shape[1]
        if T > self.block_size:
            raise ValueError(f"GPT: a sequence of {T} tokens is longer than block_size "
                             f"{self.block_size}")
        return self.drop(self.wpe(self.wte(idx)))

    def forward(self, idx):
        """The logits of the next token at every position: (B, T) -> (B, T, V)."""
        x = self._embed(idx)
        for block in self.blocks:
            x, _ = block(x)
        return self.lm_head(self.ln_f(x))

    def loss(self, idx, targets):
        """The next-token cross-entropy :func:`sequence_cross_entropy` of ``self(idx)``."""
        return sequence_cross_entropy(self(idx), targets)

    @cr.no_grad()
    def attention_maps(self, idx) -> list:
        """The attention weights of every head of every block, for pictures.

        Args:
            idx: one sequence (T,) or a batch (B, T) of token indices.

        The model runs in evaluation mode (no dropout) and is given back in its mode.

        Returns:
            A list with one float NumPy array per block: (n_head, T, T) for one sequence,
            (B, n_head, T, T) for a batch; row t holds the weights A_ts of position t over the
            positions s <= t (each row sums to 1; the upper triangle is 0).
        """
        single = idx.ndim == 1
        idx = idx.to(self.wte.weight.device)
        was_training = self.training
        self.eval()                                  # no dropout in the pictures
        try:
            x = self._embed(idx.unsqueeze(0) if single else idx)
            maps = []
            for block in self.blocks:
                x, weights = block(x, need_weights=True)
                maps.append(weights.numpy()[0] if single else weights.numpy())
        finally:
            self.train(was_training)
        return maps

    @cr.no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k=None,
                 generator: np.random.Generator | None = None):
        """Continue each sequence of ``idx`` by ``max_new_tokens`` sampled tokens.

        At every step the model reads the last ``block_size`` tokens (the context is cropped),
        and the next token is drawn from p = softmax(z / temperature) of the last position's
        logits z, restricted to the ``top_k`` likeliest tokens when given. A temperature below 1
        sharpens the distribution towards the likeliest tokens, above 1 flattens it; 0 picks
        the likeliest token every time (greedy decoding).

        Args:
            idx: (B, T) int64 prompt(s), T >= 1.
            max_new_tokens: tokens to add.
            temperature: >= 0.
            top_k: sample among the k likeliest tokens only (None: all of them).
            generator: a ``numpy.random.Generator`` (default chainrule's, seeded by
                ``cr.manual_seed``).

        Returns:
            (B, T + max_new_tokens) int64 Tensor: the prompts and their continuations.
        """
        if temperature < 0:
            raise ValueError(f"generate: temperature must be >= 0, got {temperature}")
        if top_k is not None and int(top_k) < 1:
            raise ValueError(f"generate: top_k must be >= 1, got {top_k}")
        rng = generator if generator is not None else default_generator()
        was_training = self.training
        self.eval()
        tokens = np.array(idx.numpy(), dtype=np.int64, ndmin=2)
        device = self.wte.weight.device
        try:
            for _ in range(int(max_new_tokens)):
                context = cr.tensor(tokens[:, -self.block_size:], device=device)
                logits = self(context).numpy()[:, -1].astype(np.float64)
                nxt = _sample(logits, temperature, top_k, rng)
                tokens = np.concatenate([tokens, nxt[:, None]], axis=1)
        finally:
            self.train(was_training)
        return cr.tensor(tokens, device=device)


def _sample(logits: np.ndarray, temperature: float, top_k, rng) -> np.ndarray:
    """One index per row of (B, V) ``logits``, drawn from softmax(logits / T) over the top k."""
    if temperature == 0:
        return logits.argmax(axis=1)
    z = logits / temperature
    if top_k is not None and int(top_k) < z.shape[1]:
        kth = np.partition(z, -int(top_k), axis=1)[:, -int(top_k)][:, None]
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    u = rng.random((len(z), 1))
    return np.minimum((cdf < u).sum(axis=1), z.shape[1] - 1)

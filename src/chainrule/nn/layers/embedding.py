"""`Embedding`: a lookup table from integer indices (tokens, characters, ids) to vectors.

y[..., :] = W[x[...], :], i.e. a one-hot vector times W without building the one-hot matrix;
the gradient of W adds up the output gradients of every position that looked a row up.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.autograd.mode import no_grad
from chainrule.creation import from_numpy
from chainrule.nn import functional as F
from chainrule.nn.checks import check_dtype
from chainrule.nn.init import normal_
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor


class Embedding(Module):
    """A table of ``num_embeddings`` learnable vectors of size ``embedding_dim``.

    y = W[x]: each integer of the input selects a row of W (a one-hot vector times W).
    W is initialised from N(0, 1), as in PyTorch; the row ``padding_idx`` is zero and gets no
    gradient, so padded positions of a batch of sequences contribute nothing.

    Args:
        num_embeddings: size of the vocabulary V.
        embedding_dim: size of each vector D.
        padding_idx: an index whose row is zero and never updated (negative counts from V).
        max_norm: renormalise looked-up rows to at most this norm (see ``F.embedding``).
        norm_type: the p of the p-norm for ``max_norm``.
        dtype: parameter dtype (default float32).

    Shape:
        input (*) integers -> output (*, D).

    Example:
        >>> emb = nn.Embedding(10, 3, padding_idx=0)
        >>> emb(cr.tensor([[1, 2, 0], [4, 0, 0]])).shape     # (2, 3, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, dtype=None, _weight=None):
        super().__init__()
        for label, value in (("num_embeddings", num_embeddings),
                             ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"Embedding: {label} must be a positive integer, got {value!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within "
                                 f"[-{num_embeddings}, {num_embeddings})")
            padding_idx = int(padding_idx) % num_embeddings
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        if _weight is None:
            dtype = np.dtype(dtype if dtype is not None else backend.DEFAULT_FLOAT)
            self.weight = Parameter(from_numpy(np.zeros((self.num_embeddings, self.embedding_dim),
                                                   dtype=dtype)))
            self.reset_parameters()
        else:
            shape = tuple(_weight.shape)
            if shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight of shape {shape} does not match "
                                 f"({self.num_embeddings}, {self.embedding_dim})")
            self.weight = _weight if isinstance(_weight, Parameter) else Parameter(_weight)

    def reset_parameters(self) -> None:
        """W ~ N(0, 1), with the padding row set to zero."""
        normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0):
        """An Embedding holding the given (V, D) vectors, frozen unless ``freeze=False``."""
        data = embeddings if isinstance(embeddings, Tensor) else from_numpy(np.asarray(embeddings))
        if data.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{data.shape}")
        weight = Parameter(from_numpy(data.data.copy()), requires_grad=not freeze)
        return cls(data.shape[0], data.shape[1], padding_idx, max_norm, norm_type,
                   _weight=weight)

    def forward(self, input):
        check_dtype(self, input, self.weight, indices=True)
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s

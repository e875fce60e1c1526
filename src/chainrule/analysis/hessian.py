"""Second derivatives of a loss: Hessian-vector products and the dense Hessian.

The Hessian H = d^2 L / dW dW of a loss L(W) is never formed for a real network; what the
analysis tools need is its action on a vector, the Hessian-vector product (Pearlmutter 1994):

    H v = d/dW ( (dL/dW) . v )

one backward pass with ``create_graph=True`` gives the gradient g(W) as a differentiable
function, a second backward of the scalar g . v gives H v. H is symmetric when the second partial
derivatives are continuous, so u . Hv == v . Hu, which the tests check.
"""

from __future__ import annotations

import numpy as np

from chainrule import Tensor, as_tensor, from_numpy
from chainrule.analysis._common import (
    batch_loss,
    batches_of,
    from_vector,
    parameters_of,
    to_vector,
)
from chainrule.autograd import grad


def _dot(grads, vs):
    """sum_i <g_i, v_i> over the gradients that depend on the parameters (None if none do)."""
    total = None
    for g, v in zip(grads, vs):
        if g is None or not g.requires_grad:
            continue  # a gradient that is constant in W contributes nothing to H v
        term = (g * v).sum()
        total = term if total is None else total + term
    return total


def _second_backward(grads, params, vs, retain_graph):
    """H v as arrays, one per parameter, from first-order gradients built with create_graph."""
    dot = _dot(grads, vs)
    if dot is None:
        return [p.data * 0 for p in params]
    hv = grad(dot, params, retain_graph=retain_graph, allow_unused=True)
    return [p.data * 0 if h is None else h.data for p, h in zip(params, hv)]


def _first_backward(loss, params):
    return grad(loss, params, create_graph=True, allow_unused=True)


class HessianOperator:
    """The Hessian of a loss as a linear operator on flat parameter vectors: v -> H v.

    With one batch (or a closure) the gradient graph is built once and reused by every product,
    so k products cost one forward pass, one first backward and k second backward passes. Over
    several batches (a DataLoader) the Hessian of the mean loss sum_b (n_b / N) H_b is applied
    batch by batch, rebuilding each graph, so memory stays that of one batch.

    The model's current mode (train or eval) is used; the spectrum tools choose eval by default.

    Args:
        model: a module (``parameters()``) or a sequence of Tensors that require grad.
        loss_fn: ``loss_fn(model(inputs), targets)`` per batch, or a zero-argument closure
            when ``data`` is None.
        data: None, one ``(inputs, targets)`` batch, or an iterable of such batches.

    Attributes:
        params: the Tensors differentiated against, in order.
        n: the number of scalar parameters (H is n x n).

    Example:
        >>> op = HessianOperator(model, nn.MSELoss(), (X, y))
        >>> hv = op.matvec(np.ones(op.n))          # flat float64 NumPy vector
    """

    def __init__(self, model, loss_fn, data=None):
        self.model = model
        self.loss_fn = loss_fn
        self.params = parameters_of(model)
        self.n = int(sum(p.data.size for p in self.params))
        self.batches = batches_of(data)
        self._grads = None
        if isinstance(self.batches, list) and len(self.batches) == 1:
            loss, _ = batch_loss(model, loss_fn, self.batches[0])
            self._grads = _first_backward(loss, self.params)

    @property
    def dtype(self):
        """The dtype of the computation (that of the first parameter)."""
        return self.params[0].dtype

    def matvec(self, v) -> np.ndarray:
        """H v for a flat vector ``v`` of size n; returns a flat float64 NumPy vector."""
        vs = [from_numpy(a) for a in from_vector(v, self.params)]
        if self._grads is not None:
            return to_vector([from_numpy(h) for h in
                              _second_backward(self._grads, self.params, vs, True)])
        total, count = np.zeros(self.n), 0
        for batch in self.batches:
            loss, size = batch_loss(self.model, self.loss_fn, batch)
            grads = _first_backward(loss, self.params)
            hv = _second_backward(grads, self.params, vs, False)
            total += size * to_vector([from_numpy(h) for h in hv])
            count += size
        if count == 0:
            raise ValueError("HessianOperator: data holds no batch")
        return total / count

    __call__ = matvec

    def dense(self) -> np.ndarray:
        """The explicit n x n Hessian, one product with each unit vector (small models only)."""
        out = np.empty((self.n, self.n))
        e = np.zeros(self.n)
        for i in range(self.n):
            e[i] = 1.0
            out[:, i] = self.matvec(e)
            e[i] = 0.0
        return out


def _structure(params, v):
    """Split ``v`` like ``params``; remember whether the caller gave one flat vector."""
    if isinstance(v, (list, tuple)):
        if len(v) != len(params):
            raise ValueError(f"hvp: {len(v)} vectors for {len(params)} parameters")
        vs = []
        for p, x in zip(params, v):
            x = as_tensor(x, dtype=p.dtype) if not isinstance(x, Tensor) else x
            if tuple(x.shape) != tuple(p.shape):
                raise ValueError(f"hvp: vector of shape {tuple(x.shape)} for a parameter of "
                                 f"shape {tuple(p.shape)}")
            vs.append(x.detach())
        return vs, "list"
    if len(params) == 1 and tuple(getattr(v, "shape", ())) == tuple(params[0].shape):
        x = v if isinstance(v, Tensor) else as_tensor(v, dtype=params[0].dtype)
        return [x.detach()], "tensor"
    return [from_numpy(a) for a in from_vector(v, params)], "flat"


def hvp(loss_fn, params, v):
    """Exact Hessian-vector product H v of a loss through double backward.

    H v = d/dW ( (dL/dW) . v ), computed as ``grad(grad(L, W, create_graph=True) . v, W)``.

    Args:
        loss_fn: a zero-argument callable returning the scalar loss L (it is called once).
        params: a Tensor or a sequence of Tensors W (or a module: its parameters).
        v: a vector of the same structure as ``params`` (one Tensor per parameter, or a Tensor
            for a single parameter) or one flat vector of all parameters.

    Returns:
        H v in the structure of ``v``: a tuple of Tensors, a Tensor, or a flat 1-D Tensor.

    Example:
        >>> w = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
        >>> hvp(lambda: (w ** 3).sum(), w, cr.ones(2, dtype=cr.float64))   # 6 w * v = [6, 12]
    """
    single = isinstance(params, Tensor)
    params = parameters_of(params)
    vs, form = _structure(params, v)
    loss = loss_fn()
    if not isinstance(loss, Tensor) or loss.data.size != 1:
        raise ValueError(f"hvp: loss_fn must return a scalar Tensor, got "
                         f"{getattr(loss, 'shape', type(loss).__name__)}")
    hv = _second_backward(_first_backward(loss, params), params, vs, False)
    if form == "flat":
        return from_numpy(np.concatenate([h.ravel() for h in hv]))
    if form == "tensor" and single:
        return from_numpy(hv[0])
    return tuple(from_numpy(h) for h in hv)


def hessian(loss_fn, params) -> np.ndarray:
    """The dense Hessian H_ij = d^2 L / dw_i dw_j of a loss over all parameters, flattened.

    Built column by column from n Hessian-vector products (one graph, n second backward
    passes), so it suits small models: n = a few thousand parameters at most.

    Args:
        loss_fn: a zero-argument callable returning the scalar loss.
        params: a Tensor, a sequence of Tensors or a module; the order of
            ``parameters()`` fixes the order of the rows.

    Returns:
        An n x n float64 NumPy array (symmetric up to rounding).

    Example:
        >>> x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
        >>> hessian(lambda: x[0] ** 2 * x[1], x)     # [[2 x1, 2 x0], [2 x0, 0]] = [[4, 2], [2, 0]]
    """
    return HessianOperator(params, loss_fn).dense()

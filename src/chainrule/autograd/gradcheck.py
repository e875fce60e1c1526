"""Gradient checks against central finite differences, to first and second order.

The analytical Jacobian J (from backward) is compared with the numerical one,
J_ik ~ (f_i(x + eps e_k) - f_i(x - eps e_k)) / (2 eps), element by element, or along random
directions u, v: v . J u ~ v . (f(x + eps u) - f(x - eps u)) / (2 eps), which costs two forward
passes per direction whatever the sizes. Inputs must be float64: float32 has too few digits for
finite differences.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.engine import grad
from chainrule.autograd.mode import enable_grad, no_grad
from chainrule.tensor import Tensor, wrap


class GradcheckError(RuntimeError):
    """Raised when analytical and numerical derivatives disagree."""


def _as_tuple(x):
    if isinstance(x, (tuple, list)):
        return tuple(x)
    return (x,)


def _float_outputs(fn, inputs):
    return tuple(o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor)
                 and o.data.dtype.kind == "f")


def _evaluate(fn, inputs):
    with no_grad():
        return np.concatenate([o.data.ravel() for o in _float_outputs(fn, inputs)] or
                              [np.zeros(0)])


def _check_inputs(inputs, who):
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not diff:
        raise ValueError(f"{who}: no input requires grad")
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise ValueError(f"{who}: input {i} has dtype {t.dtype}; finite differences need "
                             "float64 (use .double())")
    return diff


def _analytical_vjp(outs, diff, vs):
    """sum_o v_o . d out_o / d inputs, one array per input (zeros where unused)."""
    pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    if not pairs:
        return [np.zeros(t.shape) for t in diff]
    gs = grad([o for o, _ in pairs], diff, [wrap(v) for _, v in pairs], retain_graph=True,
              allow_unused=True)
    return [np.zeros(t.shape) if g is None else g.data.astype(np.float64) for g, t in
            zip(gs, diff)]


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              n_directions=None, seed=0):
    """Check the gradients of ``fn`` at ``inputs`` against finite differences.

    Args:
        fn: a function of the inputs returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple; those with ``requires_grad`` (float64) are checked.
        eps: the finite-difference step.
        atol, rtol: pass when |analytical - numerical| <= atol + rtol |numerical|.
        raise_exception: raise :class:`GradcheckError` on failure (else return False).
        n_directions: check along this many random directions instead of every element.
        seed: seed of the random directions.

    Returns:
        True when every derivative agrees.
    """
    inputs = _as_tuple(inputs)
    diff = _check_inputs(inputs, "gradcheck")
    for t in diff:
        t.data = np.array(t.data, dtype=np.float64)  # own, writeable storage to perturb
    outs = _float_outputs(fn, inputs)
    sizes = [o.data.size for o in outs]
    if n_directions:
        return _check_directions(fn, inputs, diff, outs, sizes, eps, atol, rtol,
                                 raise_exception, n_directions, seed)
    total = sum(sizes)
    for j, t in enumerate(diff):
        numerical = np.zeros((total, t.data.size))
        flat = t.data.reshape(-1)
        for k in range(flat.size):
            old = flat[k]
            flat[k] = old + eps
            plus = _evaluate(fn, inputs)
            flat[k] = old - eps
            minus = _evaluate(fn, inputs)
            flat[k] = old
            numerical[:, k] = (plus - minus) / (2 * eps)
        analytical = np.zeros_like(numerical)
        row = 0
        for o_idx, size in enumerate(sizes):
            for m in range(size):
                vs = [np.zeros(o.shape, dtype=o.dtype) for o in outs]
                vs[o_idx].reshape(-1)[m] = 1
                analytical[row] = _analytical_vjp(outs, diff, vs)[j].ravel()
                row += 1
        bad = np.abs(analytical - numerical) > atol + rtol * np.abs(numerical)
        if bad.any():
            r, k = np.argwhere(bad)[0]
            which = [id(x) for x in inputs].index(id(t))
            return _fail(
                f"gradcheck: Jacobian mismatch for input {which} (shape {t.shape}) at "
                f"output element {r}, input element {k}: analytical {analytical[r, k]:.8g}, "
                f"numerical {numerical[r, k]:.8g} (max |diff| "
                f"{np.abs(analytical - numerical).max():.3g})", raise_exception)
    return True


def _check_directions(fn, inputs, diff, outs, sizes, eps, atol, rtol, raise_exception, n,
                      seed):
    rng = np.random.default_rng(seed)
    for d in range(n):
        us = [rng.standard_normal(t.shape) for t in diff]
        vs = [rng.standard_normal(o.shape) for o in outs]
        analytical = sum(float((g * u).sum()) for g, u in
                         zip(_analytical_vjp(outs, diff, vs), us))
        originals = [t.data for t in diff]
        for t, u in zip(diff, us):
            t.data = t.data + eps * u
        plus = _evaluate(fn, inputs)
        for t, u, o in zip(diff, us, originals):
            t.data = o - eps * u
        minus = _evaluate(fn, inputs)
        for t, o in zip(diff, originals):
            t.data = o
        v = np.concatenate([x.ravel() for x in vs]) if vs else np.zeros(0)
        numerical = float(v @ (plus - minus)) / (2 * eps)
        if abs(analytical - numerical) > atol + rtol * abs(numerical):
            return _fail(f"gradcheck: directional derivative {d} mismatch: analytical "
                         f"{analytical:.8g}, numerical {numerical:.8g}", raise_exception)
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, n_directions=None, seed=0):
    """Check second derivatives: gradcheck of (inputs, v) -> v . d fn / d inputs.

    The backward pass is run with ``create_graph=True`` and its result is differentiated again,
    with respect to the inputs and to the vector ``v`` (``grad_outputs``; random when omitted).
    """
    inputs = _as_tuple(inputs)
    diff_mask = [isinstance(t, Tensor) and t.requires_grad for t in inputs]
    _check_inputs(inputs, "gradgradcheck")
    outs = _float_outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        grad_outputs = tuple(wrap(rng.standard_normal(o.shape)).requires_grad_()
                             for o in outs if o.requires_grad)
    grad_outputs = _as_tuple(grad_outputs)
    n = len(inputs)

    def first_derivative(*args):
        ins, gos = args[:n], args[n:]
        with enable_grad():
            outs = [o for o in _float_outputs(fn, ins) if o.requires_grad]
            diff = [t for t, m in zip(ins, diff_mask) if m]
            gs = grad(outs, diff, list(gos), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivative, inputs + grad_outputs, eps, atol, rtol,
                     raise_exception, n_directions, seed)

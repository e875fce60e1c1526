"""The op table: one row per operation drives every generic test of the operations.

A row gives the op's name, the chainrule callable, the NumPy reference, the PyTorch reference,
the cases (input shapes, broadcasting and 0-d inputs included, plus keyword arguments), the
input domain, and a hypothesis strategy of further cases where shapes may vary freely.
``test_op_table.py`` checks forward values against NumPy, float64 gradients (gradcheck), second
derivatives (gradgradcheck) and dtype preservation; ``tests/interop/test_ops_parity.py`` checks
values and gradients against PyTorch. A new op is one new row.

Calling conventions: ``fn(*tensors, **kwargs)``, ``ref(*arrays, **kwargs)`` and
``torch_fn(torch, *torch_tensors, **kwargs)`` (the torch module is passed in so that this table
does not import torch). Inputs whose domain gives booleans are constants; float inputs are
differentiated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr


class Case(NamedTuple):
    """One call of an op: the shapes of its inputs and its keyword arguments."""

    shapes: tuple
    kwargs: dict

    def label(self) -> str:
        shapes = ",".join(str(s) for s in self.shapes)
        extra = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{shapes}{'|' + extra if extra else ''}"


def case(*shapes, **kwargs) -> Case:
    return Case(tuple(tuple(s) for s in shapes), kwargs)


# ---- input domains: (rng, shape) -> array ---------------------------------------------------
def normal(rng, shape):
    return np.asarray(rng.standard_normal(shape), dtype=np.float64)


def positive(rng, shape):
    """Away from 0 and from the poles of log, sqrt, 1/x: U(0.5, 2)."""
    return np.asarray(rng.uniform(0.5, 2.0, shape), dtype=np.float64)


def nonzero(rng, shape):
    """Random sign times U(0.2, 2): away from the kink at 0 (relu, abs) and from 1/0."""
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return np.asarray(sign * rng.uniform(0.2, 2.0, shape), dtype=np.float64)


def distinct(offset=0.0):
    """Values spaced 0.25 apart (no ties within an input) on the grid offset + 0.25 k.

    Two inputs drawn with offsets 0 and 0.125 never tie either, so max, min, maximum and
    minimum stay away from their kinks by more than any finite-difference step.
    """

    def sample(rng, shape):
        size = int(np.prod(shape, dtype=np.int64))
        values = (rng.permutation(size) - size // 2) * 0.25 + offset
        return np.asarray(values, dtype=np.float64).reshape(shape)

    return sample


def small_ints(rng, shape):
    """Integers in [-2, 2] as floats: comparisons see many ties."""
    return np.asarray(rng.integers(-2, 3, shape), dtype=np.float64)


def boolean(rng, shape):
    return np.asarray(rng.random(shape) < 0.5)


# ---- hypothesis strategies of cases ---------------------------------------------------------
def unary_cases(min_dims=0):
    shapes = hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=4)
    return shapes.map(lambda s: Case((s,), {}))


def broadcast_cases(num_shapes=2):
    shapes = hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=0, max_dims=3,
                                               min_side=1, max_side=3)
    return shapes.map(lambda b: Case(tuple(b.input_shapes), {}))


def reduce_cases(dims="any", keepdim=True, min_side=1, **fixed):
    """A shape with a ``dim`` to reduce: None, an int or a tuple (``dims`` says which)."""

    @st.composite
    def draw(draw_):
        shape = draw_(hnp.array_shapes(min_dims=1, max_dims=3, min_side=min_side, max_side=4))
        n = len(shape)
        choices = [st.integers(-n, n - 1)]
        if dims in ("any", "int_or_none"):
            choices.append(st.none())
        if dims == "any":
            choices.append(st.lists(st.integers(0, n - 1), min_size=1, max_size=n,
                                    unique=True).map(tuple))
        kwargs = {"dim": draw_(st.one_of(*choices)), **fixed}
        if keepdim:
            kwargs["keepdim"] = draw_(st.booleans())
        return Case((shape,), kwargs)

    return draw()


@dataclass(frozen=True)
class Op:
    """One row of the table (see the module docstring)."""

    name: str
    fn: Callable
    ref: Callable
    torch_fn: Callable | None
    cases: tuple
    domain: Callable | tuple = normal
    differentiable: bool = True
    strategy: Callable | None = None
    atol: float = 1e-5

    def domains(self, n_inputs):
        return self.domain if isinstance(self.domain, tuple) else (self.domain,) * n_inputs


def sample_inputs(op: Op, c: Case, seed: int = 0) -> list:
    """Float64 (or boolean) input arrays for one case, from the op's domain."""
    rng = np.random.default_rng(seed)
    return [d(rng, s) for d, s in zip(op.domains(len(c.shapes)), c.shapes)]


# ---- NumPy references -----------------------------------------------------------------------
def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_extremum(largest):
    def ref(x, dim=None, keepdim=False):
        value = x.max if largest else x.min
        arg = x.argmax if largest else x.argmin
        if dim is None:
            return value(keepdims=keepdim)
        return value(axis=dim, keepdims=keepdim), arg(axis=dim, keepdims=keepdim)

    return ref


def _torch_extremum(largest):
    def ref(t, x, dim=None, keepdim=False):
        if dim is None:  # torch.max(x) has no keepdim; amax over all dims is the same value
            return (t.amax if largest else t.amin)(x, dim=(), keepdim=keepdim)
        return tuple((t.max if largest else t.min)(x, dim=dim, keepdim=keepdim))

    return ref


def _np_logsumexp(x, dim=None, keepdim=False):
    return np.log(np.exp(x).sum(axis=dim, keepdims=keepdim))


def _np_softmax(x, dim=-1):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _np_log_softmax(x, dim=-1):
    return np.log(_np_softmax(x, dim))


def _np_split(x, sizes, dim=0):
    if isinstance(sizes, int):
        sizes = [sizes] * (-(-x.shape[dim] // sizes))
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=dim))


def _np_pad(x, pad, value=0.0):
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return np.pad(x, widths, constant_values=value)


def _np_linear(x, w, b=None):
    return x @ w.T + (0 if b is None else b)


def _np_cdist(a, b, p=2.0):
    difference = np.abs(a[..., :, None, :] - b[..., None, :, :])
    if p == np.inf:
        return difference.max(-1)
    return (difference ** p).sum(-1) ** (1 / p)


def _expanded_shape(shape, sizes):
    """PyTorch's ``expand`` sizes with -1 replaced by the existing size."""
    lead = len(sizes) - len(shape)
    return tuple(shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))


def _np_sum_to(x, shape):
    lead = x.ndim - len(shape)
    x = x.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and x.shape[i] != 1)
    return x.sum(axis=axes, keepdims=True)


# ---- indexing along a dim: the index constants are derived from the shapes -----------------
def _index(shape, dim, high, distinct=False):
    """An int64 index of ``shape`` with values in [0, high), with repeats, or ``distinct`` along
    ``dim`` (then shape[dim] <= high) so that ``scatter`` never writes an element twice."""
    shape, rng = tuple(shape), np.random.default_rng(7)
    if not distinct:
        return rng.integers(0, high, shape)
    keys = rng.random(shape[:dim] + (high,) + shape[dim + 1:])
    return np.argsort(keys, axis=dim).take(np.arange(shape[dim]), axis=dim)


def _along(shape, dim, n):
    """``shape`` with size ``n`` along ``dim``."""
    d = dim % len(shape)
    return tuple(shape[:d]) + (n,) + tuple(shape[d + 1:])


def _gather_index(shape, dim):
    """One more index than ``shape`` has entries on ``dim``, so that some repeat."""
    return _index(_along(shape, dim, shape[dim] + 1), dim, shape[dim])


def _gather(m, x, dim):
    return m.gather(x, dim, m.tensor(_gather_index(x.shape, dim)))  # m: chainrule or torch


def _scatter(m, x, src, dim, add):
    index = m.tensor(_index(src.shape, dim % x.ndim, x.shape[dim], distinct=not add))
    return (m.scatter_add if add else m.scatter)(x, dim, index, src)


def _scatter_value(m, x, dim):
    """``m.scatter`` of the number -1.5 at two distinct places along ``dim``."""
    index = _index(_along(x.shape, dim, 2), dim % x.ndim, x.shape[dim], distinct=True)
    return m.scatter(x, dim, m.tensor(index), value=-1.5)


def _np_gather(x, dim):
    d, index = dim % x.ndim, _gather_index(x.shape, dim)
    out = np.empty(index.shape, dtype=x.dtype)
    for pos in np.ndindex(index.shape):
        out[pos] = x[pos[:d] + (index[pos],) + pos[d + 1:]]
    return out


def _np_scatter(x, src, dim, add):
    d = dim % x.ndim
    index, out = _index(src.shape, d, x.shape[d], distinct=not add), x.copy()
    for pos in np.ndindex(index.shape):
        target = pos[:d] + (index[pos],) + pos[d + 1:]
        out[target] = out[target] + src[pos] if add else src[pos]
    return out


def _select(n):
    return np.array([n - 1, 0, n - 1])


def tri_cases():
    shapes = hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4)
    return st.tuples(shapes, st.integers(-4, 4)).map(lambda p: Case((p[0],), {"diagonal": p[1]}))


MASK = np.array([[True, False, True, True], [False, False, True, False],
                 [True, True, False, True]])
REPEATS = np.array([0, 2, 0, 0])

BINARY = (case((3, 4), (3, 4)), case((3, 1), (1, 4)), case((5,), (2, 5)), case((), (2, 3)),
          case((2, 3), ()), case((), ()), case((2, 1, 3), (4, 1)))
UNARY = (case((3, 4)), case(()), case((2, 1, 3)))
COMPARE = (case((3, 4), (4,)), case((), (2, 2)))
REDUCE = (case((2, 3, 4)), case((2, 3, 4), dim=1), case((2, 3, 4), dim=(0, 2)),
          case((2, 3, 4), dim=-1, keepdim=True), case((3,), dim=0), case(()))
EXTREMUM = (case((3, 4)), case((3, 4), dim=1), case((2, 3, 4), dim=0, keepdim=True),
            case((2, 3, 4), dim=-1), case((5,), dim=0))
ALONG = (case((3, 4)), case((3, 4), dim=0), case((2, 3, 4), dim=1), case((5,), dim=0))


def _unary(name, fn, ref, torch_fn, domain=normal, **extra):
    return Op(name, fn, ref, torch_fn, UNARY, domain, strategy=unary_cases, **extra)


def _binary(name, fn, ref, torch_fn, domain=normal, **extra):
    return Op(name, fn, ref, torch_fn, BINARY, domain, strategy=broadcast_cases, **extra)


def _compare(name, fn, ref):
    return Op(name, fn, ref, lambda t, a, b: fn(a, b), COMPARE, small_ints,
              differentiable=False, strategy=broadcast_cases)


ELEMENTWISE = [
    _binary("add", lambda a, b: a + b, np.add, lambda t, a, b: a + b),
    _binary("sub", lambda a, b: a - b, np.subtract, lambda t, a, b: a - b),
    _binary("mul", lambda a, b: a * b, np.multiply, lambda t, a, b: a * b),
    _binary("div", lambda a, b: a / b, np.divide, lambda t, a, b: a / b, (normal, nonzero)),
    _binary("pow_tensor_exponent", lambda a, b: a ** b, np.power, lambda t, a, b: a ** b,
            (positive, normal)),
    _unary("add_scalar", lambda x: 2.5 + x, lambda x: 2.5 + x, lambda t, x: 2.5 + x),
    _unary("rsub_scalar", lambda x: 1.5 - x, lambda x: 1.5 - x, lambda t, x: 1.5 - x),
    _unary("mul_scalar", lambda x: x * -3.0, lambda x: x * -3.0, lambda t, x: x * -3.0),
    _unary("rdiv_scalar", lambda x: 2.0 / x, lambda x: 2.0 / x, lambda t, x: 2.0 / x, nonzero),
    _unary("pow_int", lambda x: x ** 3, lambda x: x ** 3, lambda t, x: x ** 3),
    _unary("pow_fractional", lambda x: x ** 2.5, lambda x: x ** 2.5, lambda t, x: x ** 2.5,
           positive),
    _unary("pow_negative", lambda x: x ** -1.5, lambda x: x ** -1.5, lambda t, x: x ** -1.5,
           positive),
    _unary("rpow_scalar_base", lambda x: 2.0 ** x, lambda x: 2.0 ** x, lambda t, x: 2.0 ** x),
    _unary("neg", lambda x: -x, np.negative, lambda t, x: -x),
    _unary("abs", cr.abs, np.abs, lambda t, x: t.abs(x), nonzero),
    _unary("exp", cr.exp, np.exp, lambda t, x: t.exp(x)),
    _unary("log", cr.log, np.log, lambda t, x: t.log(x), positive),
    _unary("sqrt", cr.sqrt, np.sqrt, lambda t, x: t.sqrt(x), positive),
    _unary("sin", cr.sin, np.sin, lambda t, x: t.sin(x)),
    _unary("cos", cr.cos, np.cos, lambda t, x: t.cos(x)),
    _unary("tanh", cr.tanh, np.tanh, lambda t, x: t.tanh(x)),
    _unary("sigmoid", cr.sigmoid, _np_sigmoid, lambda t, x: t.sigmoid(x)),
    _unary("relu", cr.relu, lambda x: np.maximum(x, 0), lambda t, x: t.relu(x), nonzero),
    _unary("square", cr.square, np.square, lambda t, x: t.square(x)),
    _unary("reciprocal", cr.reciprocal, np.reciprocal, lambda t, x: t.reciprocal(x), nonzero),
    _unary("rsqrt", cr.rsqrt, lambda x: 1 / np.sqrt(x), lambda t, x: t.rsqrt(x), positive),
    _unary("log1p", cr.log1p, np.log1p, lambda t, x: t.log1p(x), positive),
    _unary("expm1", cr.expm1, np.expm1, lambda t, x: t.expm1(x)),
    _unary("clamp", lambda x: cr.clamp(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
           lambda t, x: t.clamp(x, -0.5, 0.5), distinct(0.125)),
    _unary("clamp_min", lambda x: x.clamp(min=-0.5), lambda x: np.maximum(x, -0.5),
           lambda t, x: x.clamp(min=-0.5), distinct(0.125)),
    _unary("clamp_max", lambda x: x.clamp(max=0.5), lambda x: np.minimum(x, 0.5),
           lambda t, x: x.clamp(max=0.5), distinct(0.125)),
    _binary("maximum", cr.maximum, np.maximum, lambda t, a, b: t.maximum(a, b),
            (distinct(0.0), distinct(0.125))),
    _binary("minimum", cr.minimum, np.minimum, lambda t, a, b: t.minimum(a, b),
            (distinct(0.0), distinct(0.125))),
    Op("where", cr.where, np.where, lambda t, c, a, b: t.where(c, a, b),
       (case((3, 4), (3, 4), (3, 4)), case((3, 1), (1, 4), (3, 4)), case((3, 4), (), (4,)),
        case((), (2,), ())),
       (boolean, normal, normal), strategy=lambda: broadcast_cases(3)),
    _unary("sign", cr.sign, np.sign, lambda t, x: t.sign(x), nonzero, differentiable=False),
    _compare("lt", lambda a, b: a < b, np.less),
    _compare("le", lambda a, b: a <= b, np.less_equal),
    _compare("gt", lambda a, b: a > b, np.greater),
    _compare("ge", lambda a, b: a >= b, np.greater_equal),
    _compare("eq", lambda a, b: a == b, np.equal),
    _compare("ne", lambda a, b: a != b, np.not_equal),
]

REDUCTIONS = [
    Op("sum", cr.sum, lambda x, dim=None, keepdim=False: x.sum(axis=dim, keepdims=keepdim),
       lambda t, x, dim=None, keepdim=False: t.sum(x, dim=dim, keepdim=keepdim), REDUCE,
       strategy=reduce_cases),
    Op("mean", cr.mean, lambda x, dim=None, keepdim=False: x.mean(axis=dim, keepdims=keepdim),
       lambda t, x, dim=None, keepdim=False: t.mean(x, dim=dim, keepdim=keepdim), REDUCE,
       strategy=reduce_cases),
    Op("max", cr.max, _np_extremum(True), _torch_extremum(True), EXTREMUM, distinct(),
       strategy=lambda: reduce_cases("int_or_none")),
    Op("min", cr.min, _np_extremum(False), _torch_extremum(False), EXTREMUM, distinct(),
       strategy=lambda: reduce_cases("int_or_none")),
    Op("amax", cr.amax, lambda x, dim=None, keepdim=False: x.max(axis=dim, keepdims=keepdim),
       lambda t, x, dim=None, keepdim=False: t.amax(x, dim=() if dim is None else dim,
                                                    keepdim=keepdim),
       REDUCE[:4], distinct(), strategy=reduce_cases),
    Op("var", cr.var,
       lambda x, dim=None, correction=1, keepdim=False: x.var(axis=dim, ddof=correction,
                                                              keepdims=keepdim),
       lambda t, x, dim=None, correction=1, keepdim=False: t.var(x, dim=dim,
                                                                 correction=correction,
                                                                 keepdim=keepdim),
       REDUCE[:4] + (case((3, 4), dim=1, correction=0),), strategy=lambda: reduce_cases(
           min_side=2)),
    Op("std", cr.std,
       lambda x, dim=None, correction=1, keepdim=False: x.std(axis=dim, ddof=correction,
                                                              keepdims=keepdim),
       lambda t, x, dim=None, correction=1, keepdim=False: t.std(x, dim=dim,
                                                                 correction=correction,
                                                                 keepdim=keepdim),
       REDUCE[:4] + (case((3, 4), dim=0, correction=0),), strategy=lambda: reduce_cases(
           min_side=2)),
    Op("logsumexp", cr.logsumexp, _np_logsumexp,
       lambda t, x, dim=None, keepdim=False: t.logsumexp(
           x, dim=tuple(range(x.ndim)) if dim is None else dim, keepdim=keepdim),
       REDUCE, strategy=reduce_cases),
    Op("softmax", cr.softmax, _np_softmax, lambda t, x, dim=-1: t.softmax(x, dim=dim), ALONG,
       strategy=lambda: reduce_cases("int", keepdim=False)),
    Op("log_softmax", cr.log_softmax, _np_log_softmax,
       lambda t, x, dim=-1: t.log_softmax(x, dim=dim), ALONG,
       strategy=lambda: reduce_cases("int", keepdim=False)),
    Op("norm", cr.norm,
       lambda x, p=2, dim=None: np.linalg.norm(x.reshape(-1) if dim is None else x, ord=p,
                                               axis=dim),
       lambda t, x, p=2, dim=None: t.linalg.vector_norm(x, ord=p, dim=dim),
       (case((3, 4)), case((3, 4), dim=1), case((3, 4), p=1),
        case((3, 4), p=float("inf"), dim=0), case((3, 4), p=3, dim=1)),
       distinct(0.0625)),
    Op("argmax", cr.argmax,
       lambda x, dim=None, keepdim=False: np.argmax(x, axis=dim, keepdims=keepdim),
       lambda t, x, dim=None, keepdim=False: t.argmax(x, dim=dim, keepdim=keepdim),
       EXTREMUM, distinct(), differentiable=False,
       strategy=lambda: reduce_cases("int_or_none")),
    Op("argmin", cr.argmin,
       lambda x, dim=None, keepdim=False: np.argmin(x, axis=dim, keepdims=keepdim),
       lambda t, x, dim=None, keepdim=False: t.argmin(x, dim=dim, keepdim=keepdim),
       EXTREMUM, distinct(), differentiable=False,
       strategy=lambda: reduce_cases("int_or_none")),
]

MOVEMENT = [
    Op("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape),
       lambda t, x, shape: x.reshape(shape),
       (case((2, 3, 4), shape=(6, 4)), case((2, 3, 4), shape=(-1,)),
        case((2, 3, 4), shape=(4, -1, 3)), case((), shape=(1, 1)), case((1,), shape=()))),
    Op("view", lambda x: x.view(3, 8), lambda x: x.reshape(3, 8), lambda t, x: x.view(3, 8),
       (case((2, 3, 4)),)),
    Op("flatten", cr.flatten, lambda x, start_dim=0, end_dim=-1: x.reshape(
        x.shape[:start_dim] + (-1,) + x.shape[end_dim % x.ndim + 1:]),
       lambda t, x, **kw: t.flatten(x, **kw),
       (case((2, 3, 4)), case((2, 3, 4), start_dim=1), case((2, 3, 4, 1), start_dim=0,
                                                             end_dim=1))),
    Op("transpose", cr.transpose, lambda x, dim0, dim1: np.swapaxes(x, dim0, dim1),
       lambda t, x, dim0, dim1: t.transpose(x, dim0, dim1),
       (case((2, 3, 4), dim0=0, dim1=2), case((3, 4), dim0=-1, dim1=-2))),
    Op("T", lambda x: x.T, lambda x: x.T, lambda t, x: x.permute(*reversed(range(x.ndim))),
       (case((3, 4)), case((2, 3, 4)))),
    Op("mT", lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2), lambda t, x: x.mT,
       (case((2, 3, 4)),)),
    Op("permute", lambda x, dims: x.permute(*dims), lambda x, dims: x.transpose(dims),
       lambda t, x, dims: x.permute(dims),
       (case((2, 3, 4), dims=(2, 0, 1)), case((2, 3, 4), dims=(-1, 0, 1)))),
    Op("squeeze", cr.squeeze, lambda x, dim=None: np.squeeze(x, axis=dim),
       lambda t, x, dim=None: x.squeeze() if dim is None else x.squeeze(dim),
       (case((1, 3, 1, 2)), case((1, 3, 1, 2), dim=2), case((1, 3, 1, 2), dim=-4))),
    Op("unsqueeze", cr.unsqueeze, lambda x, dim: np.expand_dims(x, dim),
       lambda t, x, dim: x.unsqueeze(dim),
       (case((3, 4), dim=0), case((3, 4), dim=-1), case((), dim=0))),
    Op("expand", lambda x, sizes: x.expand(*sizes),
       lambda x, sizes: np.broadcast_to(x, _expanded_shape(x.shape, sizes)),
       lambda t, x, sizes: x.expand(*sizes),
       (case((3, 1), sizes=(2, 3, 4)), case((3, 1), sizes=(-1, 5)), case((), sizes=(2, 2)))),
    Op("broadcast_to", lambda x, shape: cr.broadcast_to(x, shape), np.broadcast_to,
       lambda t, x, shape: t.broadcast_to(x, shape),
       (case((1, 3), shape=(4, 3)), case((), shape=(2, 2)), case((3,), shape=(2, 1, 3)))),
    Op("sum_to", cr.sum_to, _np_sum_to, lambda t, x, shape: x.sum_to_size(shape),
       (case((4, 3), shape=(1, 3)), case((2, 3, 4), shape=(3, 1)), case((2, 3), shape=()))),
    Op("getitem_slices", lambda x: x[1:, ::2], lambda x: x[1:, ::2], lambda t, x: x[1:, ::2],
       (case((3, 4)),)),
    Op("getitem_int_none_ellipsis", lambda x: x[1, ..., None], lambda x: x[1, ..., None],
       lambda t, x: x[1, ..., None], (case((3, 4, 2)),)),
    Op("getitem_reversed", lambda x: x[::-1], lambda x: x[::-1], lambda t, x: t.flip(x, [0]),
       (case((3, 4)),)),
    Op("getitem_repeated_ints", lambda x: x[REPEATS], lambda x: x[REPEATS],
       lambda t, x: x[t.from_numpy(REPEATS)], (case((3, 4)), case((3,)))),
    Op("getitem_tensor_index", lambda x: x[cr.tensor([1, 1, 2])], lambda x: x[[1, 1, 2]],
       lambda t, x: x[t.tensor([1, 1, 2])], (case((3, 4)),)),
    Op("getitem_int_pairs", lambda x: x[[1, 1, 0], [0, 0, 3]], lambda x: x[[1, 1, 0], [0, 0, 3]],
       lambda t, x: x[[1, 1, 0], [0, 0, 3]], (case((3, 4)),)),
    Op("getitem_bool_mask", lambda x: x[MASK], lambda x: x[MASK],
       lambda t, x: x[t.from_numpy(MASK)], (case((3, 4)),)),
    Op("getitem_bool_rows", lambda x: x[cr.tensor(MASK[:, 0])], lambda x: x[MASK[:, 0]],
       lambda t, x: x[t.from_numpy(MASK[:, 0])], (case((3, 4)),)),
    Op("cat", lambda *xs, dim=0: cr.cat(xs, dim), lambda *xs, dim=0: np.concatenate(xs, dim),
       lambda t, *xs, dim=0: t.cat(xs, dim),
       (case((2, 3), (1, 3)), case((2, 3), (2, 1), (2, 2), dim=1), case((2, 3), (2, 2), dim=-1),
        case((2,), (3,)))),
    Op("stack", lambda *xs, dim=0: cr.stack(xs, dim), lambda *xs, dim=0: np.stack(xs, dim),
       lambda t, *xs, dim=0: t.stack(xs, dim),
       (case((2, 3), (2, 3)), case((2, 3), (2, 3), (2, 3), dim=-1), case((), ()))),
    Op("split", lambda x, sizes, dim=0: cr.split(x, sizes, dim), _np_split,
       lambda t, x, sizes, dim=0: t.split(x, sizes, dim),
       (case((5, 3), sizes=2), case((2, 6), sizes=[1, 3, 2], dim=1),
        case((2, 6), sizes=3, dim=-1))),
    Op("chunk", cr.chunk, lambda x, chunks, dim=0: _np_split(x, -(-x.shape[dim] // chunks), dim),
       lambda t, x, chunks, dim=0: t.chunk(x, chunks, dim), (case((5, 3), chunks=2),)),
    Op("pad", cr.pad, _np_pad, lambda t, x, pad, value=0.0: t.nn.functional.pad(x, pad,
                                                                              value=value),
       (case((3, 4), pad=(1, 2)), case((3, 4), pad=(1, 0, 0, 2)),
        case((2, 3), pad=(2, 1), value=0.5))),
    Op("repeat", lambda x, sizes: x.repeat(*sizes), lambda x, sizes: np.tile(x, sizes),
       lambda t, x, sizes: x.repeat(*sizes),
       (case((2, 3), sizes=(2, 1)), case((3,), sizes=(2, 2)))),
    Op("clone", cr.clone, np.copy, lambda t, x: x.clone(), (case((3, 4)),)),
]

LINALG = [
    Op("matmul", cr.matmul, np.matmul, lambda t, a, b: a @ b,
       (case((3,), (3,)), case((3,), (3, 4)), case((2, 3), (3,)), case((2, 3), (3, 4)),
        case((5, 2, 3), (5, 3, 4)), case((2, 1, 2, 3), (4, 3, 2)), case((3,), (2, 3, 4)),
        case((2, 4, 3), (3,)))),
    Op("linear", cr.linear, _np_linear, lambda t, x, w, b: t.nn.functional.linear(x, w, b),
       (case((4, 3), (5, 3), (5,)), case((2, 4, 3), (5, 3), (5,)), case((3,), (5, 3), (5,)))),
    Op("linear_no_bias", cr.linear, _np_linear, lambda t, x, w: t.nn.functional.linear(x, w),
       (case((4, 3), (5, 3)),)),
    Op("cdist", cr.cdist, _np_cdist, lambda t, a, b, p=2.0: t.cdist(a, b, p=p),
       (case((4, 3), (5, 3)), case((2, 4, 3), (5, 3), p=1.0), case((2, 1, 4, 3), (3, 5, 3), p=3.0),
        case((3, 2), (4, 2), p=np.inf))),
]

INDEXING = [
    Op("gather", lambda x, dim: _gather(cr, x, dim), _np_gather,
       lambda t, x, dim: _gather(t, x, dim),
       (case((3, 4), dim=0), case((3, 4), dim=1), case((2, 3, 4), dim=-2), case((5,), dim=0)),
       strategy=lambda: reduce_cases("int", keepdim=False)),
    Op("scatter_add", lambda x, s, dim: _scatter(cr, x, s, dim, True),
       lambda x, s, dim: _np_scatter(x, s, dim, True),
       lambda t, x, s, dim: _scatter(t, x, s, dim, True),
       (case((3, 4), (5, 4), dim=0), case((3, 4), (2, 3), dim=0), case((3, 4), (3, 6), dim=-1),
        case((2, 3, 4), (2, 5, 4), dim=1), case((4,), (7,), dim=0))),
    Op("scatter", lambda x, s, dim: _scatter(cr, x, s, dim, False),
       lambda x, s, dim: _np_scatter(x, s, dim, False),
       lambda t, x, s, dim: _scatter(t, x, s, dim, False),
       (case((3, 4), (2, 4), dim=0), case((3, 4), (2, 3), dim=1), case((2, 3, 4), (2, 3, 3), dim=2),
        case((4,), (4,), dim=0))),
    Op("scatter_value", lambda x, dim: _scatter_value(cr, x, dim),
       lambda x, dim: _np_scatter(x, np.full(_along(x.shape, dim, 2), -1.5), dim, False),
       lambda t, x, dim: _scatter_value(t, x, dim), (case((3, 4), dim=0), case((3, 4), dim=1))),
    Op("index_select", lambda x, dim: cr.index_select(x, dim, cr.tensor(_select(x.shape[dim]))),
       lambda x, dim: np.take(x, _select(x.shape[dim]), axis=dim),
       lambda t, x, dim: x.index_select(dim, t.tensor(_select(x.shape[dim]))),
       (case((3, 4), dim=0), case((3, 4), dim=-1), case((2, 3, 4), dim=1), case((5,), dim=0)),
       strategy=lambda: reduce_cases("int", keepdim=False)),
    Op("masked_fill", lambda x, m: cr.masked_fill(x, m, -2.5), lambda x, m: np.where(m, -2.5, x),
       lambda t, x, m: t.masked_fill(x, m, -2.5),
       (case((3, 4), (3, 4)), case((3, 4), (4,)), case((4,), (3, 4)), case((), ())),
       (normal, boolean), strategy=broadcast_cases),
    Op("masked_fill_tensor_value", lambda x, m, v: x.masked_fill(m, v),
       lambda x, m, v: np.where(m, v, x), lambda t, x, m, v: x.masked_fill(m, v),
       (case((3, 4), (3, 4), ()), case((2, 3), (3,), ())), (normal, boolean, normal)),
    Op("tril", cr.tril, lambda x, diagonal=0: np.tril(x, diagonal),
       lambda t, x, diagonal=0: t.tril(x, diagonal),
       (case((3, 4)), case((4, 3), diagonal=1), case((2, 3, 4), diagonal=-1),
        case((3, 3), diagonal=-5)), strategy=tri_cases),
    Op("triu", lambda x, diagonal=0: x.triu(diagonal), lambda x, diagonal=0: np.triu(x, diagonal),
       lambda t, x, diagonal=0: x.triu(diagonal),
       (case((3, 4)), case((4, 3), diagonal=1), case((2, 3, 4), diagonal=-1),
        case((3, 3), diagonal=5)), strategy=tri_cases),
    Op("einsum", lambda *xs, equation: cr.einsum(equation, *xs),
       lambda *xs, equation: np.einsum(equation, *xs),
       lambda t, *xs, equation: t.einsum(equation, *xs),
       (case((2, 3), (3, 4), equation="ij,jk->ik"), case((2, 3), (3, 4), equation="ij,jk"),
        case((2, 3), equation="bA"), case((2, 3), equation=" i j -> j i "),
        case((2, 2, 3), (2, 3, 4), equation="bij,bjk->bik"),
        case((2, 1, 2, 3), (3, 3, 4), equation="...ij,...jk->...ik"),
        case((2, 1, 2, 3), (3, 3, 4), equation="...ij,...jk"),
        case((2, 3, 4), equation="i...->..."), case((3, 3), equation="ii"),
        case((3, 3), equation="ii->i"), case((3, 3, 2), equation="iij->ji"),
        case((3,), (4,), equation="i,j->ij"), case((3,), (3,), equation="i,i"),
        case((2, 3), equation="ij->"), case((), (3,), equation=",i->i"),
        case((2, 3), (3, 4), (4, 2), equation="ij,jk,kl->il"),
        case((3, 1), (3, 4), equation="ij,ij->ij"),
        case((2, 3), (4, 3, 5), (2, 5), equation="bn,anm,bm->ba"))),
]


# ---- running sums, products, sorting, rearranging, selecting --------------------------------
def with_zeros(rng, shape):
    """Normal values with some set to exactly 0 (prod's gradient there is the product of the
    others; with two zeros in a slice it is 0)."""
    x = normal(rng, shape)
    return np.where(rng.random(shape) < 0.3, 0.0, x)


def near_ints(rng, shape):
    """Integers in [-2, 2], some moved by 1e-9 (close but not equal)."""
    return small_ints(rng, shape) + np.where(rng.random(shape) < 0.3, 1e-9, 0.0)


def _np_prod(x, dim=None, keepdim=False):
    return x.prod(axis=dim, keepdims=keepdim)


def _torch_prod(t, x, dim=None, keepdim=False):
    if dim is None:  # torch.prod(x) has no keepdim
        return t.prod(x).reshape((1,) * x.ndim if keepdim else ())
    return t.prod(x, dim, keepdim=keepdim)


def _np_sort(x, dim=-1, descending=False):
    if x.ndim == 0:
        return x, np.asarray(0)
    index = np.argsort(-x if descending else x, axis=dim, kind="stable")
    return np.take_along_axis(x, index, dim), index


def _np_topk(x, k, dim=-1, largest=True):
    values, index = _np_sort(x, dim, descending=largest)
    return values.take(np.arange(k), dim), index.take(np.arange(k), dim)


def _np_cosine_similarity(a, b, dim=1, eps=1e-8):
    a, b = np.broadcast_arrays(a, b)
    na = np.maximum(np.linalg.norm(a, axis=dim, keepdims=True), eps)
    nb = np.maximum(np.linalg.norm(b, axis=dim, keepdims=True), eps)
    return ((a / na) * (b / nb)).sum(axis=dim)


def _np_masked_select(x, mask):
    x, mask = np.broadcast_arrays(x, mask)
    return x[mask]


def _np_unique(x, dim=None):
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True, axis=dim)
    return values, inverse.reshape(x.shape if dim is None else -1), counts


def _np_all_any(fn):
    return lambda x, dim=None, keepdim=False: fn(x, axis=dim, keepdims=keepdim)


def _torch_all_any(name):
    def ref(t, x, dim=None, keepdim=False):
        if dim is None:
            return getattr(t, name)(x)
        return getattr(t, name)(x, dim=dim, keepdim=keepdim)

    return ref


ALONG_DIM = (case((3, 4), dim=1), case((3, 4), dim=0), case((2, 3, 4), dim=-2), case((5,), dim=0),
             case((), dim=0))
PROD = (case((2, 3, 4)), case((2, 3, 4), dim=1), case((2, 3, 4), dim=-1, keepdim=True),
        case((3, 5), dim=0), case((7,), dim=0), case((), dim=0), case((3, 4), keepdim=True))
ROUNDING = (case((3, 4)), case(()), case((2, 1, 3)))


def _rounding(name, fn, ref, torch_fn):
    return Op(name, fn, ref, torch_fn, ROUNDING, strategy=unary_cases)


SCANS_AND_SORTING = [
    Op("cumsum", lambda x, dim: cr.cumsum(x, dim), lambda x, dim: np.cumsum(x, axis=dim % max(
        x.ndim, 1)).reshape(x.shape), lambda t, x, dim: t.cumsum(x, dim), ALONG_DIM,
       strategy=lambda: reduce_cases("int", keepdim=False)),
    Op("cumsum_method", lambda x, dim: x.cumsum(dim), lambda x, dim: np.cumsum(x, axis=dim),
       lambda t, x, dim: x.cumsum(dim), (case((3, 4), dim=-1),)),
    Op("prod", cr.prod, _np_prod, _torch_prod, PROD,
       strategy=lambda: reduce_cases("int_or_none")),
    Op("prod_with_zeros", lambda x, dim=None: x.prod(dim), lambda x, dim=None: x.prod(axis=dim),
       lambda t, x, dim=None: t.prod(x) if dim is None else x.prod(dim),
       (case((3, 5), dim=1), case((4, 6), dim=0), case((6,)), case((2, 3)))),
    Op("sort", cr.sort, _np_sort,
       lambda t, x, dim=-1, descending=False: tuple(t.sort(x, dim=dim, descending=descending)),
       (case((3, 4)), case((3, 4), dim=0), case((2, 3, 4), dim=1, descending=True),
        case((5,), descending=True), case(())), distinct(),
       strategy=lambda: reduce_cases("int", keepdim=False)),
    Op("sort_method", lambda x: x.sort(0, True), lambda x: _np_sort(x, 0, True),
       lambda t, x: tuple(x.sort(0, True)), (case((4, 3)),), distinct()),
    Op("argsort", cr.argsort, lambda x, dim=-1, descending=False: _np_sort(x, dim, descending)[1],
       lambda t, x, dim=-1, descending=False: t.argsort(x, dim=dim, descending=descending),
       (case((3, 4)), case((2, 3, 4), dim=0, descending=True)), distinct(), differentiable=False),
    Op("topk", cr.topk, lambda x, k, dim=-1, largest=True: _np_topk(x, k, dim, largest),
       lambda t, x, k, dim=-1, largest=True: tuple(t.topk(x, k, dim=dim, largest=largest)),
       (case((3, 5), k=2), case((3, 5), k=3, dim=0, largest=False), case((2, 3, 4), k=4),
        case((6,), k=6), case((6,), k=0)), distinct()),
    Op("topk_method", lambda x: x.topk(2), lambda x: _np_topk(x, 2), lambda t, x: tuple(x.topk(2)),
       (case((4, 3)),), distinct()),
]

ROUNDINGS = [
    _rounding("floor", cr.floor, np.floor, lambda t, x: t.floor(x)),
    _rounding("ceil", lambda x: x.ceil(), np.ceil, lambda t, x: x.ceil()),
    _rounding("trunc", cr.trunc, np.trunc, lambda t, x: t.trunc(x)),
    _rounding("round", cr.round, np.round, lambda t, x: t.round(x)),
    Op("round_decimals", lambda x, decimals: x.round(decimals=decimals),
       lambda x, decimals: np.round(x, decimals),
       lambda t, x, decimals: t.round(x, decimals=decimals),
       (case((3, 4), decimals=1), case((3, 4), decimals=-1), case((), decimals=2))),
    Op("log2", cr.log2, np.log2, lambda t, x: t.log2(x), UNARY, positive,
       strategy=unary_cases),
    Op("log10", lambda x: x.log10(), np.log10, lambda t, x: x.log10(), UNARY, positive,
       strategy=unary_cases),
]

REARRANGING = [
    Op("flip", cr.flip, lambda x, dims: np.flip(x, dims), lambda t, x, dims: t.flip(x, dims),
       (case((3, 4), dims=(0,)), case((2, 3, 4), dims=(0, -1)), case((5,), dims=[0]),
        case((), dims=()))),
    Op("flip_method", lambda x: x.flip(1, 0), lambda x: np.flip(x, (1, 0)),
       lambda t, x: x.flip(1, 0), (case((3, 4)),)),
    Op("roll", cr.roll, lambda x, shifts, dims=None: np.roll(x, shifts, dims),
       lambda t, x, shifts, dims=None: t.roll(x, shifts, dims),
       (case((3, 4), shifts=1), case((3, 4), shifts=-5, dims=1),
        case((2, 3, 4), shifts=(1, 2), dims=(0, 2)), case((3, 4), shifts=(3, 0), dims=(0, 1)),
        case((5,), shifts=7, dims=0))),
    Op("tile", cr.tile, lambda x, dims: np.tile(x, dims), lambda t, x, dims: t.tile(x, dims),
       (case((2, 3), dims=(2,)), case((2, 3), dims=(2, 1, 2)), case((3,), dims=(2, 2)),
        case((), dims=(3,)))),
    Op("tile_method", lambda x: x.tile(2, 2), lambda x: np.tile(x, (2, 2)),
       lambda t, x: x.tile(2, 2), (case((2, 3)),)),
    Op("unbind", cr.unbind, lambda x, dim=0: tuple(np.moveaxis(x, dim, 0)),
       lambda t, x, dim=0: t.unbind(x, dim),
       (case((3, 4)), case((3, 4), dim=1), case((2, 3, 4), dim=-1))),
    Op("hstack", lambda *xs: cr.hstack(xs), lambda *xs: np.hstack(xs),
       lambda t, *xs: t.hstack(xs),
       (case((2,), (3,)), case((2, 3), (2, 1)), case((), (2,)), case((2, 2, 3), (2, 1, 3)))),
    Op("vstack", lambda *xs: cr.vstack(xs), lambda *xs: np.vstack(xs),
       lambda t, *xs: t.vstack(xs),
       (case((3,), (3,)), case((2, 3), (1, 3), (3,)), case((), ()), case((2, 2, 3), (1, 2, 3)))),
    Op("concat", lambda *xs, dim=0: cr.concat(xs, dim), lambda *xs, dim=0: np.concatenate(xs, dim),
       lambda t, *xs, dim=0: t.concat(xs, dim),
       (case((2, 3), (1, 3)), case((2, 3), (2, 2), dim=1))),
    Op("meshgrid", lambda *xs, indexing: cr.meshgrid(*xs, indexing=indexing),
       lambda *xs, indexing: tuple(np.meshgrid(*xs, indexing=indexing)),
       lambda t, *xs, indexing: t.meshgrid(*xs, indexing=indexing),
       (case((2,), (3,), indexing="ij"), case((2,), (3,), indexing="xy"),
        case((2,), (3,), (4,), indexing="xy"), case((4,), indexing="ij"))),
]

SELECTING = [
    Op("masked_select", cr.masked_select, _np_masked_select, lambda t, x, m: t.masked_select(x, m),
       (case((3, 4), (3, 4)), case((3, 4), (4,)), case((4,), (3, 4)), case((), ())),
       (normal, boolean), strategy=broadcast_cases),
    Op("cosine_similarity", cr.cosine_similarity, _np_cosine_similarity,
       lambda t, a, b, dim=1: t.cosine_similarity(a, b, dim=dim),
       (case((3, 4), (3, 4)), case((2, 3, 4), (3, 1), dim=0), case((4,), (2, 4), dim=-1),
        case((3, 5), (3, 5), dim=0))),
    Op("F.cosine_similarity", lambda a, b: cr.nn.functional.cosine_similarity(a, b, 0),
       lambda a, b: _np_cosine_similarity(a, b, 0),
       lambda t, a, b: t.nn.functional.cosine_similarity(a, b, 0), (case((4,), (4,)),)),
    Op("all", cr.all, _np_all_any(np.all), _torch_all_any("all"), REDUCE[:4] + (case((3,)),),
       small_ints, differentiable=False),
    Op("any", lambda x, **kw: x.any(**kw), _np_all_any(np.any), _torch_all_any("any"),
       REDUCE[:4], boolean, differentiable=False),
    Op("count_nonzero", cr.count_nonzero,
       lambda x, dim=None: np.asarray(np.count_nonzero(x, axis=dim), dtype=np.int64),
       lambda t, x, dim=None: t.count_nonzero(x, dim=dim),
       (case((3, 4)), case((3, 4), dim=1), case((2, 3, 4), dim=(0, 2)), case(())), small_ints,
       differentiable=False),
    Op("isclose", cr.isclose, np.isclose, lambda t, a, b: t.isclose(a, b),
       (case((3, 4), (3, 4)), case((3, 4), (4,)), case((), (2, 2))), (small_ints, near_ints),
       differentiable=False),
    Op("nonzero", cr.nonzero, np.argwhere, lambda t, x: t.nonzero(x),
       (case((3, 4)), case((2, 3, 4)), case((5,))), small_ints, differentiable=False),
    Op("nonzero_as_tuple", lambda x: x.nonzero(as_tuple=True), np.nonzero,
       lambda t, x: x.nonzero(as_tuple=True), (case((3, 4)),), small_ints,
       differentiable=False),
    Op("unique", lambda x, dim=None: cr.unique(x, return_inverse=True, return_counts=True,
                                               dim=dim),
       _np_unique,
       lambda t, x, dim=None: t.unique(x, return_inverse=True, return_counts=True, dim=dim),
       (case((3, 4)), case((5,)), case((4, 3), dim=0), case((2, 4), dim=1)), small_ints,
       differentiable=False),
]

OPS = (ELEMENTWISE + REDUCTIONS + MOVEMENT + LINALG + INDEXING + SCANS_AND_SORTING + ROUNDINGS
       + REARRANGING + SELECTING)


def all_cases(ops=None):
    """(op, case) pairs of the table, for ``pytest.mark.parametrize``."""
    return [(op, c) for op in (OPS if ops is None else ops) for c in op.cases]


def case_id(pair) -> str:
    op, c = pair
    return f"{op.name}-{c.label()}"


# ---- helpers shared by the table-driven tests -----------------------------------------------
def to_tensors(arrays, dtype=np.float64, requires_grad=True) -> list:
    """chainrule inputs: float arrays in ``dtype`` (requiring grad), others as they are."""
    return [cr.tensor(a, dtype=dtype, requires_grad=requires_grad) if a.dtype.kind == "f"
            else cr.tensor(a) for a in arrays]


def as_tuple(result) -> tuple:
    """An op's result as a tuple of outputs (split and max with ``dim`` return several)."""
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)

"""Special functions as fused primitives: erf, softplus, and the piecewise-constant step/sign.

Each has a stable forward on arrays and a backward written with differentiable operations (so
``create_graph=True`` gives second derivatives). Activations of :mod:`chainrule.nn.functional`
are composed from these and the elementwise primitives.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from chainrule import backend
from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm

_vector_erf = np.vectorize(math.erf, otypes=[np.float64])
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@functools.cache
def _scipy_erf():
    """SciPy's erf (exact and vectorised), or None without SciPy (an optional dependency).

    NOTE: loaded on first use, not at import: importing scipy.special costs about 0.3 s.
    """
    try:
        from scipy.special import erf
    except ImportError:  # pragma: no cover - exercised only without SciPy
        return None
    return erf


def erf_array(x):
    """erf on a raw array, keeping its dtype (SciPy when installed, else ``math.erf``)."""
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if _scipy_erf() is not None and isinstance(x, np.ndarray):
        return _scipy_erf()(x)
    if backend.is_gpu_array(x):  # pragma: no cover - GPU only
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)
    return _vector_erf(x).astype(x.dtype, copy=False)


# Chebyshev fit of erfc(u) = t exp(-u^2 + P(t)), t = 1 / (1 + u/2), u >= 0, with a relative error
# below 1.2e-7 for every u (Press et al., Numerical Recipes, section 6.2).
_ERFC_FIT = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
             -1.13520398, 1.48851587, -0.82215223, 0.17087277)
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_BLOCK = 1 << 16  # elements per block of normal_cdf_array


def normal_cdf_array(x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2 on a raw array, keeping its dtype.

    float64 is exact (SciPy's ``erfc``, or ``math.erfc`` without SciPy). Narrower floats use the
    fit of erfc above, in the input's dtype: Phi(x) = erfc(|x|/sqrt 2) / 2 for x < 0 (relative
    error ~1e-7, also far in the tail) and 1 - erfc(|x|/sqrt 2) / 2 for x >= 0 (absolute error
    ~1e-7): float32 round-off, four times faster than SciPy's float32 erf.
    """
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if x.dtype == np.float64 or not isinstance(x, np.ndarray):
        return 0.5 * _erfc_array(-x * _SQRT_HALF)
    # NOTE: the twenty passes of the fit run block by block, so that a block's temporaries stay
    # in the core's cache: 12.4 -> 7.7 ms for 2 M values. (Running the blocks on two threads
    # gave 4.9 ms alone but no gain in a whole GPT step, where BLAS's threads compete.)
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    for i in range(0, flat_x.size, _BLOCK):
        _normal_cdf_block(flat_x[i:i + _BLOCK], flat_out[i:i + _BLOCK])
    return out


def _normal_cdf_block(x, out):
    """Phi of the 1-D block ``x`` into ``out``, with two scratch arrays of its size."""
    u = np.abs(x)
    u *= _SQRT_HALF
    t = u * 0.5
    t += 1.0
    np.reciprocal(t, out=t)
    poly = out
    poly.fill(_ERFC_FIT[-1])
    for c in _ERFC_FIT[-2::-1]:  # Horner: P(t) = c0 + t (c1 + t (c2 + ...))
        poly *= t
        poly += c
    np.square(u, out=u)
    poly -= u
    np.exp(poly, out=poly)
    poly *= t
    poly *= 0.5  # erfc(|x| / sqrt 2) / 2 = Phi(-|x|)
    # NOTE: branch-free (np.where on random signs is 8 times slower): Phi(x) = Phi(-|x|) for
    # x < 0, exactly, and Phi(-|x|) + (1 - 2 Phi(-|x|)) = 1 - Phi(-|x|) for x >= 0.
    np.copyto(u, x >= 0)
    np.multiply(poly, -2.0, out=t)
    t += 1.0
    u *= t
    poly += u


def _erfc_array(x):
    scipy_erf = _scipy_erf()
    if scipy_erf is not None and isinstance(x, np.ndarray):
        from scipy.special import erfc

        return erfc(x)
    if backend.is_gpu_array(x):  # pragma: no cover - GPU only
        import cupyx.scipy.special

        return cupyx.scipy.special.erfc(x)
    return np.vectorize(math.erfc, otypes=[np.float64])(x).astype(x.dtype, copy=False)


class NormalCdf(Primitive):
    """z = Phi(x), the standard normal CDF ; dz/dx = phi(x) = e^{-x^2/2} / sqrt(2 pi)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return normal_cdf_array(x)

    @staticmethod
    def backward(ctx, g, x):
        return g * fm.exp(x * x * -0.5) * _INV_SQRT_2PI


class Erf(Primitive):
    """z = erf(x) = 2/sqrt(pi) int_0^x e^{-t^2} dt ; dz/dx = 2/sqrt(pi) e^{-x^2}."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return erf_array(x)

    @staticmethod
    def backward(ctx, g, x):
        return g * _TWO_OVER_SQRT_PI * fm.exp(-(x * x))


class Softplus(Primitive):
    """z = (1/beta) log(1 + e^{beta x}), and z = x where beta x > threshold.

    dz/dx = sigmoid(beta x) (1 in the linear region).

    NOTE: computed as max(beta x, 0) + log1p(e^{-|beta x|}), which never overflows:
    softplus(1000) == 1000 and softplus(-1000) == 0 (so log_sigmoid(-1000) == -1000).
    """

    @staticmethod
    def forward(ctx, x, beta, threshold):
        bx = x * beta if beta != 1 else x
        linear = bx > threshold
        ctx.save_for_backward(x)
        ctx.beta, ctx.linear = beta, linear
        out = np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))
        if beta != 1:
            out /= beta
        out = np.where(linear, x, out)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g, x):
        beta = ctx.beta
        slope = fm.sigmoid(x * beta if beta != 1 else x)
        return fm.where(ctx.linear, g, g * slope), None, None


class Heaviside(Primitive):
    """z = 0 for x < 0, ``value`` at x = 0, 1 for x > 0 ; dz/dx = 0 (almost everywhere).

    The zero gradient flows (rather than cutting the graph), so a network containing a step
    still backpropagates, as the perceptron discussion of the decks expects.
    """

    @staticmethod
    def forward(ctx, x, value):
        dtype = x.dtype if x.dtype.kind == "f" else np.float32
        return np.where(x == 0, value, x > 0).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return g * 0, None


class Signum(Primitive):
    """z = sign(x) in {-1, 0, 1} ; dz/dx = 0 (almost everywhere)."""

    @staticmethod
    def forward(ctx, x):
        return np.sign(x)

    @staticmethod
    def backward(ctx, g):
        return g * 0


def erf(x):
    """The error function erf(x) = 2/sqrt(pi) int_0^x e^{-t^2} dt, differentiable twice over."""
    return Erf.apply(x)


def normal_cdf(x):
    """Phi(x) = P(N(0, 1) <= x) = (1 + erf(x / sqrt 2)) / 2 (``torch.special.ndtr``)."""
    return NormalCdf.apply(x)


def softplus(x, beta=1.0, threshold=20.0):
    """(1/beta) log(1 + e^{beta x}), linear above ``threshold``; stable for any x."""
    if beta <= 0:
        raise ValueError(f"softplus: beta must be positive, got {beta}")
    return Softplus.apply(x, beta, threshold)


def heaviside(x, value=0.5):
    """The unit step: 0 below zero, ``value`` at zero, 1 above; zero gradient."""
    return Heaviside.apply(x, value)


def signum(x):
    """sign(x) in {-1, 0, 1} with a zero gradient that still flows through the graph."""
    return Signum.apply(x)

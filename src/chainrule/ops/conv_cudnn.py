"""Convolution through cuDNN on a GPU, with the im2col + cuBLAS path as the fallback.

CuPy 13 exposes cuDNN's convolutions in ``cupyx.cudnn``: ``convolution_forward``,
``convolution_backward_data`` and ``convolution_backward_filter``, each writing into an output
array that the caller allocates (C-contiguous, NCHW), with symmetric padding, stride, dilation
and groups. :func:`convolution` picks the primitive for a convolution: :class:`CudnnConv`
when the images are CuPy arrays of float32 or float64, the padding is the same on both sides of
each axis and cuDNN loads (checked once); otherwise :class:`chainrule.ops.window.Conv`, the
im2col path that runs everywhere (NumPy, or CuPy without cuDNN).

``CudnnConv`` has ``Conv``'s formulas: y = conv(x, W) + b, dx = conv_transpose(g, W),
dW = conv_grad_weight(x, g), db = sum g. Its backward runs cuDNN on arrays (the usual backward)
and the differentiable window primitives on Tensors (``create_graph=True``), so second
derivatives work as for ``Conv``.

NOTE: cuDNN may run float32 convolutions in TF32 on Ampere and later GPUs (as PyTorch does by
default), which rounds the products to about 1e-3 relative; ``NVIDIA_TF32_OVERRIDE=0`` turns
that off. float64 is exact to round-off.
"""

from __future__ import annotations

import functools

import numpy as np

from chainrule import backend
from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.formula import formula
from chainrule.ops.window import Conv, ConvGradWeight, ConvTranspose
from chainrule.ops.window_kernels import window_counts

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_OPTIONS = dict(auto_tune=False, tensor_core="never")


@functools.cache
def cudnn():
    """``cupyx.cudnn`` when CuPy imports and finds the cuDNN library, else None (checked once)."""
    try:
        from cupy.cuda import cudnn as library

        if not library.available:
            return None
        import cupyx.cudnn
    except Exception:  # no CuPy, or a CuPy without a loadable libcudnn
        return None
    return cupyx.cudnn


def supported(x, geom) -> bool:
    """True when cuDNN can run a convolution of the array ``x`` with window ``geom``: a CuPy
    array of float32/float64, padding equal on both sides of each axis, and cuDNN present."""
    return (backend.is_gpu_array(x) and x.dtype in _DTYPES
            and all(lo == hi for lo, hi in geom.padding) and cudnn() is not None)


def convolution(x, geom):
    """The convolution primitive for the Tensor ``x``: :class:`CudnnConv` where
    :func:`supported`, else :class:`chainrule.ops.window.Conv`."""
    return CudnnConv if supported(x.data, geom) else Conv


def _padding(geom) -> tuple:
    return tuple(lo for lo, _ in geom.padding)


# ---- array functions ---------------------------------------------------------------------------
def conv_array(x, weight, bias, geom, groups):
    """y[n, o, p, q] = b[o] + sum_{c, i, j} W[o, c, i, j] x_pad[n, c', s p + d i, s q + d j]
    (cudnnConvolutionForward, then the bias added by cudnnAddTensor)."""
    xp = backend.namespace(x)
    out = window_counts(x.shape[2:], weight.shape[2:], geom)
    y = xp.empty((x.shape[0], weight.shape[0]) + tuple(out), x.dtype)
    cudnn().convolution_forward(x, weight, bias, y, _padding(geom), geom.stride, geom.dilation,
                                groups, **_OPTIONS)
    return y


def conv_transpose_array(g, weight, geom, groups, size):
    """dx = conv_transpose(g, W), the adjoint of :func:`conv_array` in x, of spatial ``size``
    (cudnnConvolutionBackwardData)."""
    xp = backend.namespace(g)
    dx = xp.empty((g.shape[0], weight.shape[1] * groups) + tuple(size), g.dtype)
    cudnn().convolution_backward_data(weight, g, None, dx, _padding(geom), geom.stride,
                                      geom.dilation, groups, deterministic=False, **_OPTIONS)
    return dx


def conv_grad_weight_array(x, g, geom, groups, kernel):
    """dW[o, c, i, j] = sum_{n, p, q} g[n, o, p, q] x_pad[n, c', s p + d i, s q + d j]
    (cudnnConvolutionBackwardFilter)."""
    xp = backend.namespace(x)
    dw = xp.empty((g.shape[1], x.shape[1] // groups) + tuple(kernel), x.dtype)
    cudnn().convolution_backward_filter(x, g, dw, _padding(geom), geom.stride, geom.dilation,
                                        groups, deterministic=False, **_OPTIONS)
    return dw


# ---- formula functions: cuDNN on arrays, the window primitives on Tensors -----------------------
@formula(conv_transpose_array)
def cudnn_convolve_transpose(g, weight, geom, groups, size):
    """conv_transpose(g, W): cuDNN on arrays, :class:`ConvTranspose` on Tensors."""
    return ConvTranspose.apply(g, weight, None, geom, groups, size)


@formula(conv_grad_weight_array)
def cudnn_convolve_grad_weight(x, g, geom, groups, kernel):
    """conv_grad_weight(x, g): cuDNN on arrays, :class:`ConvGradWeight` on Tensors."""
    return ConvGradWeight.apply(x, g, geom, groups, kernel)


class CudnnConv(Primitive):
    """y = conv(x, W) + b by cuDNN ; dx = conv_transpose(g, W), dW = conv_grad_weight(x, g),
    db = sum g."""

    @staticmethod
    def forward(ctx, x, weight, bias, geom, groups):
        ctx.geom, ctx.groups = geom, groups
        ctx.save_for_backward(x, weight)
        return conv_array(x, weight, bias, geom, groups)

    @staticmethod
    def backward(ctx, g, x, w):
        nx, nw, nb = ctx.needs_input_grad[:3]
        geom, groups = ctx.geom, ctx.groups
        gx = fm.cudnn_convolve_transpose(g, w, geom, groups, x.shape[2:]) if nx else None
        gw = fm.cudnn_convolve_grad_weight(x, g, geom, groups, w.shape[2:]) if nw else None
        gb = fm.sum(g, (0, 2, 3)) if nb else None
        return gx, gw, gb, None, None

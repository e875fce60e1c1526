"""Convolution layers: `Conv1d`, `Conv2d` and `ConvTranspose2d`.

A convolutional layer slides ``out_channels`` filters of size in_channels x kH x kW over the
image; each filter gives one output channel (feature map) of size
floor((h + 2p - d(k - 1) - 1) / s) + 1 per axis. Its parameters are the filters and one bias
per filter, whatever the image size: far fewer than a fully connected layer with the same
input and output sizes.
"""

from __future__ import annotations

import math

from chainrule import creation
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.checks import check_dtype
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.window import conv_output_size, ntuple


class _ConvNd(Module):
    """What Conv1d, Conv2d and ConvTranspose2d share: arguments, parameters, checks, repr."""

    _spatial = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, dtype, output_padding=0):
        super().__init__()
        name, n = type(self).__name__, self._spatial
        if in_channels < 1 or out_channels < 1 or groups < 1:
            raise ValueError(f"{name}: in_channels={in_channels}, out_channels={out_channels} "
                             f"and groups={groups} must be positive")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels={in_channels} and out_channels={out_channels} "
                             f"must both be divisible by groups={groups}")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", name)
        self.stride = ntuple(stride, n, "stride", name)
        self.dilation = ntuple(dilation, n, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("valid", "same") or self._transposed:
                allowed = "an int or a tuple" + ("" if self._transposed else ", 'valid', 'same'")
                raise ValueError(f"{name}: padding must be {allowed}, got {padding!r}")
            if padding == "same" and max(self.stride) != 1:
                raise ValueError(f"{name}: padding='same' needs stride 1, got {self.stride}")
            self.padding = padding
        else:
            self.padding = ntuple(padding, n, "padding", name)
        self.output_padding = ntuple(output_padding, n, "output_padding", name)
        self.groups, self.padding_mode = int(groups), padding_mode
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(creation.empty(*shape, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: W ~ U(-b, b), b = 1/sqrt(fan_in) (kaiming_uniform_ with a =
        sqrt(5)), and bias ~ U(-b, b) with the same fan_in = weight.shape[1] * kH * kW."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            if fan_in:
                bound = 1.0 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _check(self, input) -> None:
        """Reject an input whose rank, channel count, dtype or size does not fit the layer.

        The errors name the layer and the input's shape (the checks of ``F.conv2d`` and its
        siblings name the function instead, for direct calls).
        """
        n, name = self._spatial, f"{type(self).__name__}({self.extra_repr()})"
        if input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{name}: expected a {n + 2}-D input (N, C, ...) or a {n + 1}-D "
                             f"unbatched one, got shape {tuple(input.shape)}")
        channels = input.shape[-n - 1]
        if channels != self.in_channels:
            raise ValueError(f"{name}: input has {channels} channels, shape "
                             f"{tuple(input.shape)}, expected in_channels={self.in_channels}")
        check_dtype(self, input, self.weight)
        if self.padding == "same":
            return  # the output has the input's size
        padding = (0,) * n if self.padding == "valid" else self.padding
        size = tuple(input.shape[-n:])
        if self._transposed:
            # NOTE: the transposed size (h - 1) s - 2p + d (k - 1) + output_padding + 1
            out = [(h - 1) * s - 2 * p + d * (k - 1) + op + 1 for h, k, s, p, d, op in
                   zip(size, self.kernel_size, self.stride, padding, self.dilation,
                       self.output_padding)]
        else:
            out = [conv_output_size(h, k, s, p, d) for h, k, s, p, d in
                   zip(size, self.kernel_size, self.stride, padding, self.dilation)]
        if min(out) < 1:
            raise ValueError(f"{name}: input of spatial size {size} (shape "
                             f"{tuple(input.shape)}) is too small for kernel "
                             f"{self.kernel_size} with padding {self.padding} and dilation "
                             f"{self.dilation}")

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
            f"stride={self.stride}"
        if self.padding != (0,) * self._spatial:
            s += f", padding={self.padding!r}"
        if self.dilation != (1,) * self._spatial:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._spatial:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution layer: y[n, o] = b[o] + sum_c W[o, c] * x[n, c] (cross-correlation).

    Args:
        in_channels: channels C_in of the input (3 for colour images).
        out_channels: number of filters, i.e. channels C_out of the output.
        kernel_size: filter size (an int or a pair).
        stride, dilation: an int or a pair.
        padding: an int, a pair, 'valid' or 'same' (stride 1).
        groups: split the channels into independent groups (C_in and C_out divisible by it).
        bias: learn one bias per filter.
        padding_mode: only 'zeros'.
        dtype: parameter dtype (float32 by default).

    Shape:
        (N, C_in, H, W) -> (N, C_out, H_out, W_out),
        H_out = floor((H + 2 p - d (kH - 1) - 1) / s) + 1 (12x12 with 3x3 gives 10x10).

    Attributes:
        weight: (C_out, C_in / groups, kH, kW), U(-b, b) with b = 1 / sqrt(C_in / groups kH kW).
        bias: (C_out,), U(-b, b).

    Example:
        >>> conv = nn.Conv2d(3, 10, 3)
        >>> conv(cr.randn(1, 3, 39, 39)).shape
        (1, 10, 37, 37)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype)

    def forward(self, input):
        self._check(input)
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv1d(_ConvNd):
    """1-D convolution layer over sequences: (N, C_in, L) -> (N, C_out, L_out).

    The same arguments as :class:`Conv2d` with one spatial axis; weight (C_out, C_in / groups,
    k). L_out = floor((L + 2 p - d (k - 1) - 1) / s) + 1.

    Example:
        >>> nn.Conv1d(2, 4, 5, padding="same")(cr.randn(8, 2, 100)).shape
        (8, 4, 100)
    """

    _spatial = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype)

    def forward(self, input):
        self._check(input)
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution ("up-convolution"): the gradient of Conv2d in its input.

    Each input pixel adds its value times the filter into the output, so a stride s enlarges
    the image: H_out = (H - 1) s - 2 p + d (kH - 1) + output_padding + 1. Used by decoders and
    generators.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias: as
            :class:`Conv2d` (padding an int or a pair).
        output_padding: extra rows/columns at the end, smaller than the stride.

    Attributes:
        weight: (C_in, C_out / groups, kH, kW) (PyTorch's layout), U(-b, b) with
            b = 1 / sqrt(C_out / groups kH kW).
        bias: (C_out,).

    Example:
        >>> up = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
        >>> up(cr.randn(1, 16, 7, 7)).shape
        (1, 8, 14, 14)
    """

    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, output_padding)

    def forward(self, input):
        self._check(input)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)

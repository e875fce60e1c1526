"""Pooling layers: max, average and adaptive average pooling (no parameters).

Pooling summarises each window of a feature map by one number (its maximum or its mean),
shrinking the map (a 2x2 window with stride 2 halves each side) and making the network less
sensitive to small shifts of the input.
"""

from __future__ import annotations

from chainrule.nn import functional as F
from chainrule.nn.module import Module


class _Pool(Module):
    """Shared checks: errors name the layer and the input's shape.

    The layer checks the input's rank itself; the window geometry is checked once, by the
    pooling function, whose error is re-raised with the layer's name and the input's shape.
    """

    _spatial = 2

    def _call(self, fn, input, *args):
        n = self._spatial
        if input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{type(self).__name__}({self.extra_repr()}): expected a "
                             f"{n + 2}-D input (N, C, ...) or a {n + 1}-D unbatched one, got "
                             f"shape {tuple(input.shape)}")
        try:
            return fn(input, *args)
        except ValueError as err:
            raise ValueError(f"{type(self).__name__}({self.extra_repr()}): {err}; input shape "
                             f"{tuple(input.shape)}") from None


class MaxPool2d(_Pool):
    """2-D max pooling: y[n, c, p, q] = max of x[n, c] over window (p, q).

    Only the (first) maximum of each window receives the gradient.

    Args:
        kernel_size: window size, an int or a pair.
        stride: step between windows (default ``kernel_size``).
        padding: implicit -inf padding, at most half the kernel.
        dilation: spacing between window taps.
        return_indices: also return the flat index of every maximum (h * W + w).
        ceil_mode: round the output size up instead of down.

    Shape:
        (N, C, H, W) -> (N, C, H_out, W_out), H_out = floor((H + 2p - d(k - 1) - 1) / s) + 1.

    Example:
        >>> nn.MaxPool2d(2)(cr.randn(1, 6, 28, 28)).shape
        (1, 6, 14, 14)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, input):
        return self._call(F.max_pool2d, input, self.kernel_size, self.stride, self.padding,
                          self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(MaxPool2d):
    """1-D max pooling of (N, C, L) sequences; the arguments of :class:`MaxPool2d`.

    Example:
        >>> nn.MaxPool1d(3)(cr.randn(2, 4, 9)).shape
        (2, 4, 3)
    """

    _spatial = 1

    def forward(self, input):
        return self._call(F.max_pool1d, input, self.kernel_size, self.stride, self.padding,
                          self.dilation, self.ceil_mode, self.return_indices)


class AvgPool2d(_Pool):
    """2-D average pooling: y[n, c, p, q] = mean of x[n, c] over window (p, q).

    Args:
        kernel_size, stride (default ``kernel_size``), padding: as :class:`MaxPool2d` (zero
            padding).
        ceil_mode: round the output size up.
        count_include_pad: count the zero padding in the window size (PyTorch's default).
        divisor_override: divide each window's sum by this number instead.

    Example:
        >>> nn.AvgPool2d(2)(cr.ones(1, 1, 4, 4)).shape
        (1, 1, 2, 2)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return self._call(F.avg_pool2d, input, self.kernel_size, self.stride, self.padding,
                          self.ceil_mode, self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_Pool):
    """1-D average pooling of (N, C, L) sequences; see :class:`AvgPool2d`.

    Example:
        >>> nn.AvgPool1d(2)(cr.randn(2, 3, 10)).shape
        (2, 3, 5)
    """

    _spatial = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):
        return self._call(F.avg_pool1d, input, self.kernel_size, self.stride, self.padding,
                          self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(_Pool):
    """Average pooling to a fixed output size (h, w), whatever the input size.

    Bin (i, j) averages rows [floor(i H / h), ceil((i + 1) H / h)) and the matching columns;
    ``AdaptiveAvgPool2d(1)`` is global average pooling.

    Args:
        output_size: an int or a pair (None keeps that input size).

    Example:
        >>> nn.AdaptiveAvgPool2d((5, 7))(cr.randn(1, 64, 8, 9)).shape
        (1, 64, 5, 7)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return self._call(F.adaptive_avg_pool2d, input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_Pool):
    """Average pooling of (N, C, L) sequences to a fixed length ``output_size``.

    Example:
        >>> nn.AdaptiveAvgPool1d(4)(cr.randn(2, 3, 10)).shape
        (2, 3, 4)
    """

    _spatial = 1

    def __init__(self, output_size: int):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return self._call(F.adaptive_avg_pool1d, input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

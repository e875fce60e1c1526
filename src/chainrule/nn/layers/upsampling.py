"""Upsampling layers: `Upsample` and its fixed-mode forms, shells over ``F.interpolate``."""

from __future__ import annotations

from chainrule.nn import functional as F
from chainrule.nn.module import Module


class Upsample(Module):
    """Resize (N, C, L) sequences or (N, C, H, W) images to ``size`` or by ``scale_factor``.

    Output position i along an axis reads the input at a source coordinate: floor(i in / out)
    for ``nearest``; u = i (in - 1) / (out - 1) with ``align_corners=True`` or
    u = (i + 1/2) in / out - 1/2 otherwise for ``linear``/``bilinear``, interpolated between
    its two neighbours. See :func:`chainrule.nn.functional.interpolate`. No parameters.

    Args:
        size: the output size (an int, or one per spatial axis).
        scale_factor: a multiplier of the spatial size (a float, or one per axis).
        mode: ``"nearest"`` (default), ``"nearest-exact"``, ``"linear"`` (3-D input),
            ``"bilinear"`` (4-D input) or ``"area"``.
        align_corners: for ``linear``/``bilinear`` only (default False).
        recompute_scale_factor: compute the coordinates from the output size rather than from
            ``scale_factor``.

    Shape:
        (N, C, L) -> (N, C, L_out) or (N, C, H, W) -> (N, C, H_out, W_out), with
        L_out = size or floor(L * scale_factor).

    Example:
        >>> up = nn.Upsample(scale_factor=2, mode="bilinear")
        >>> up(cr.randn(1, 3, 8, 8)).shape
        (1, 3, 16, 16)
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None \
            else f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode="nearest")`` for (N, C, H, W) images."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode="bilinear", align_corners=True)`` for images."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)

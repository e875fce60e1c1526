"""Normalisation layers: `BatchNorm1d`, `BatchNorm2d` (with running statistics), `LayerNorm`
and `GroupNorm`."""

from __future__ import annotations

import numpy as np

from chainrule import creation
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.checks import check_dtype
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter


class BatchNormBase(Module):
    """Shared code of BatchNorm1d, BatchNorm2d and SyncBatchNorm (they differ in the accepted
    ranks, and SyncBatchNorm in where its batch statistics come from)."""

    _ranks: tuple = ()
    _layout: str = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None, *,
                 bias: bool = True):
        super().__init__()
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(creation.empty(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(creation.empty(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", creation.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        """gamma = 1, beta = 0, and fresh running statistics."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        name = f"{type(self).__name__}(num_features={self.num_features})"
        if input.ndim not in self._ranks:
            raise ValueError(f"{name}: expected a {self._layout} input, got shape "
                             f"{tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{name}: input has {input.shape[1]} channels, shape "
                             f"{tuple(input.shape)}")
        if self.weight is not None:
            check_dtype(self, input, self.weight)
        elif self.running_mean is not None:
            check_dtype(self, input, self.running_mean, weight_name="running_mean")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.data)
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return self._normalize(input, self.running_mean if track else None,
                               self.running_var if track else None, use_batch_stats, factor)

    def _normalize(self, input, running_mean, running_var, use_batch_stats, factor):
        """The normalisation itself (SyncBatchNorm takes the statistics of all ranks)."""
        return F.batch_norm(input, running_mean, running_var, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(BatchNormBase):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C.

    x_hat = (x - mu_B) / sqrt(sigma_B^2 + eps), y = gamma x_hat + beta, with mu_B and sigma_B^2
    the batch mean and (biased) variance in training. The running estimates
    r <- (1 - momentum) r + momentum * batch statistic (unbiased variance) replace them in
    ``eval()`` mode; ``momentum=None`` uses the cumulative average over
    ``num_batches_tracked`` batches.

    Args:
        num_features: the number of channels C.
        eps: added to the variance.
        momentum: weight of each new batch in the running statistics (or None).
        affine: learn gamma (``weight``, init 1) and beta (``bias``, init 0).
        bias: learn beta (when ``affine``); keyword-only, as in PyTorch.
        track_running_stats: keep running statistics; when False, batch statistics are used
            in evaluation too.
        dtype: parameter and buffer dtype.

    Example:
        >>> bn = nn.BatchNorm1d(4)
        >>> sorted(bn.state_dict())
        ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']
    """

    _ranks = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(BatchNormBase):
    """Batch normalisation of (N, C, H, W) images, per channel; see :class:`BatchNorm1d`."""

    _ranks = (4,)
    _layout = "(N, C, H, W)"


def _affine_parameters(module, shape, affine, bias, dtype, device=None) -> None:
    """Register gamma (``weight``, 1) and beta (``bias``, 0) of ``shape``, or None for each."""
    if affine:
        module.weight = Parameter(creation.ones(shape, dtype=dtype, device=device))
        if bias:
            module.bias = Parameter(creation.zeros(shape, dtype=dtype, device=device))
            return
    else:
        module.register_parameter("weight", None)
    module.register_parameter("bias", None)


def _reset_affine(module) -> None:
    """gamma = 1, beta = 0 (where the module has them)."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class LayerNorm(Module):
    """Layer normalisation: each sample normalised over its trailing ``normalized_shape`` axes.

    y = (x - mean) / sqrt(var + eps) * gamma + beta (biased variance); the same in training and
    evaluation (no running statistics).

    Args:
        normalized_shape: an int or the tuple of trailing dimensions to normalise over.
        eps: added to the variance.
        elementwise_affine: learn gamma (init 1) and beta (init 0) of shape normalized_shape.
        bias: learn beta (when elementwise_affine).
        dtype: parameter dtype.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, dtype)

    def reset_parameters(self) -> None:
        """gamma = 1, beta = 0."""
        _reset_affine(self)

    def forward(self, input):
        k = len(self.normalized_shape)
        if input.ndim < k or tuple(input.shape[input.ndim - k:]) != self.normalized_shape:
            trailing = tuple(input.shape[max(input.ndim - k, 0):])
            raise ValueError(f"LayerNorm(normalized_shape={self.normalized_shape}): input has "
                             f"trailing shape {trailing}, shape {tuple(input.shape)}")
        if self.weight is not None:
            check_dtype(self, input, self.weight)
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalisation: each sample's channels split into groups normalised separately.

    For x of shape (N, C, *) and G = ``num_groups``, every sample's C / G consecutive channels
    form a group; y = (x - mean) / sqrt(var + eps) * gamma_c + beta_c with the mean and
    (biased) variance over the group's channels and positions. It does not depend on the batch
    (the same in training and evaluation); G = 1 is layer norm over (C, *), G = C instance norm.

    Args:
        num_groups: G, a divisor of ``num_channels``.
        num_channels: the number of channels C.
        eps: added to the variance.
        affine: learn gamma (``weight``, init 1) and beta (``bias``, init 0), one per channel.
        device: where the parameters live (``"cpu"`` or ``"cuda"``).
        dtype: parameter dtype.
        bias: learn beta (when ``affine``); keyword-only, as in PyTorch.

    Shape:
        (N, C, *) -> (N, C, *).

    Example:
        >>> gn = nn.GroupNorm(2, 6)
        >>> gn(cr.randn(4, 6, 10)).shape
        (4, 6, 10)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups = int(num_groups)
        self.num_channels = int(num_channels)
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, (num_channels,), affine, bias, dtype, device)

    def reset_parameters(self) -> None:
        """gamma = 1, beta = 0."""
        _reset_affine(self)

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm(num_groups={self.num_groups}, num_channels="
                             f"{self.num_channels}): expected an (N, {self.num_channels}, *) "
                             f"input, got shape {tuple(input.shape)}")
        if self.weight is not None:
            check_dtype(self, input, self.weight)
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")

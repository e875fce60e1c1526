"""`SyncBatchNorm`: batch normalisation whose statistics are those of the whole global batch.

In data-parallel training each rank sees only its shard of a batch; BatchNorm would normalise
by the shard's statistics, SyncBatchNorm by the statistics of all shards together.
"""

from __future__ import annotations

import numpy as np

from chainrule import distributed as dist
from chainrule.creation import from_numpy
from chainrule.distributed.functional import all_gather
from chainrule.nn.layers.normalization import BatchNorm1d, BatchNorm2d, BatchNormBase
from chainrule.ops import cat

__all__ = ["SyncBatchNorm", "sync_batch_norm"]


def sync_batch_norm(input, running_mean, running_var, weight=None, bias=None, momentum=0.1,
                    eps=1e-5):
    """Batch normalisation in training with the statistics of every rank's batch together.

    Each rank r computes its shard's per-channel mean m_r and (biased) variance v_r over n_r
    values; one all-gather of (m_r, v_r, n_r) gives every rank the global statistics (Chan et
    al.'s parallel variance, without the cancellation of E[x^2] - E[x]^2):

        n = sum_r n_r,  mu = sum_r n_r m_r / n,  sigma^2 = sum_r n_r (v_r + (m_r - mu)^2) / n

    then y = gamma (x - mu) / sqrt(sigma^2 + eps) + beta, and the running statistics (when
    given) are updated in place with mu and the unbiased sigma^2 n / (n - 1). The gather is a
    differentiable collective whose backward all-reduces the gradients of the statistics (the
    sums of dL/dy and of dL/dy x_hat of every rank), so dL/dx is the full-batch gradient.

    Args:
        input: (N_r, C, *) tensor, this rank's shard (every rank calls it, in the same order).
        running_mean, running_var: (C,) tensors, or None.
        weight, bias: gamma and beta, (C,) each, or None.
        momentum: weight of the new statistics in the running averages.
        eps: added to the variance for stability.

    Raises:
        ValueError: for an input with fewer than 2 axes, or 1 value per channel in all.
    """
    if input.ndim < 2:
        raise ValueError(f"sync_batch_norm: expected a (N, C, ...) input, got shape "
                         f"{tuple(input.shape)}")
    c = input.shape[1]
    axes = (0,) + tuple(range(2, input.ndim))
    n_local = input.data.size // max(c, 1)
    count = from_numpy(np.full((1,), n_local, dtype=input.dtype))
    if n_local > 0:
        mean = input.mean(axes)
        centered = input - _channels(mean, input.ndim)
        var = (centered * centered).mean(axes)
    else:  # an empty shard takes part in the gather with n_r = 0
        mean = var = from_numpy(np.zeros(c, dtype=input.dtype))
    stats = all_gather(cat([mean, var, count]))          # (world, 2C + 1)
    means, variances, counts = stats[:, :c], stats[:, c:2 * c], stats[:, 2 * c:]
    n = float(counts.data.sum())
    if n <= 1:
        raise ValueError(f"sync_batch_norm: expected more than 1 value per channel over all "
                         f"ranks, got {int(n)} (input of shape {tuple(input.shape)})")
    mu = (counts * means).sum(0) / n
    spread = means - mu
    sigma2 = (counts * (variances + spread * spread)).sum(0) / n
    out = (input - _channels(mu, input.ndim)) * _channels((sigma2 + eps) ** -0.5, input.ndim)
    for buffer, value in ((running_mean, mu.data), (running_var, sigma2.data * (n / (n - 1)))):
        if buffer is not None:
            buffer.data[...] = (1 - momentum) * buffer.data + momentum * value
            buffer._version += 1
    if weight is not None:
        out = out * _channels(weight, input.ndim)
    if bias is not None:
        out = out + _channels(bias, input.ndim)
    return out


def _channels(t, ndim: int):
    """A (C,) tensor shaped to broadcast over (N, C, *)."""
    return t if ndim == 2 else t.reshape((1, -1) + (1,) * (ndim - 2))


class SyncBatchNorm(BatchNormBase):
    """Batch normalisation over the global batch of all ranks (PyTorch's ``SyncBatchNorm``).

    In training, x_hat = (x - mu) / sqrt(sigma^2 + eps) and y = gamma x_hat + beta with mu and
    sigma^2 the mean and (biased) variance of the channel over every rank's shard together (see
    :func:`sync_batch_norm`); the running statistics, weights and evaluation are BatchNorm's.
    In a world of one process (or in ``eval()``) it computes exactly what BatchNorm computes.
    Every rank must call it in training, in the same order (it communicates).

    Args:
        num_features: the number of channels C.
        eps: added to the variance.
        momentum: weight of each new batch in the running statistics (or None: cumulative).
        affine: learn gamma (``weight``, init 1) and beta (``bias``, init 0).
        track_running_stats: keep running statistics.
        process_group: accepted for PyTorch code; only the whole world is supported (None).
        device: where the parameters and buffers live (``"cpu"`` or ``"cuda"``).
        dtype: parameter and buffer dtype.
        bias: learn beta (when ``affine``); keyword-only.

    Shape:
        (N, C, *) -> (N, C, *).

    Example:
        >>> model = nn.SyncBatchNorm.convert_sync_batchnorm(model)   # every BatchNorm replaced
        >>> model = nn.parallel.DistributedDataParallel(model)
    """

    _ranks = tuple(range(2, 33))
    _layout = "(N, C, *)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None, *, bias: bool = True):
        if process_group is not None:
            raise ValueError("SyncBatchNorm: only the whole world is supported "
                             "(process_group=None)")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype,
                         bias=bias)
        if device is not None:
            self.to(device)

    def _normalize(self, input, running_mean, running_var, use_batch_stats, factor):
        if use_batch_stats and dist.world_size() > 1:
            return sync_batch_norm(input, running_mean, running_var, self.weight, self.bias,
                                   factor, self.eps)
        return super()._normalize(input, running_mean, running_var, use_batch_stats, factor)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm1d and BatchNorm2d replaced by a SyncBatchNorm that
        shares its parameters and buffers (and training mode); returns the new root (a
        SyncBatchNorm when ``module`` itself is a BatchNorm, else ``module``, changed in place).
        """
        if isinstance(module, (BatchNorm1d, BatchNorm2d)):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group,
                            bias=module.bias is not None)
            for name in ("weight", "bias"):
                if getattr(module, name) is not None:
                    setattr(converted, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                setattr(converted, name, getattr(module, name))
            return converted.train(module.training)
        for name, child in list(module.named_children()):
            converted = cls.convert_sync_batchnorm(child, process_group)
            if converted is not child:
                setattr(module, name, converted)
        return module

"""``chainrule.utils.data.distributed``: where PyTorch scripts import ``DistributedSampler``
from (``from torch.utils.data.distributed import DistributedSampler``)."""

from chainrule.data.distributed import DistributedSampler  # noqa: F401

__all__ = ["DistributedSampler"]

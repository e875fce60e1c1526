"""`Parameter`: a Tensor that a Module registers as one of its learnable weights."""

from __future__ import annotations

import numpy as np

from chainrule.creation import from_numpy, to_array
from chainrule.tensor import Tensor


class Parameter(Tensor):
    """A learnable tensor: ``requires_grad=True`` and registered by ``Module.__setattr__``.

    Assigning a Parameter to an attribute of a :class:`~chainrule.nn.Module` adds it to
    ``module.parameters()`` under the attribute's name. Operations on a Parameter return plain
    Tensors.

    Args:
        data: a Tensor (its array is shared, dtype kept) or array-like (Python floats and
            float64 arrays become float32, as in :func:`chainrule.tensor`). None gives an empty
            float32 parameter.
        requires_grad: whether the optimiser should train it.

    Example:
        >>> w = nn.Parameter(cr.zeros(3, 2))
        >>> w.requires_grad
        True
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            array = np.empty(0, dtype=np.float32)
        elif isinstance(data, Tensor):
            array = data.data
        else:
            array = to_array(data)
        self.data = array
        self.grad = None
        self._node = None
        self._versions = [0]
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.data, self.requires_grad, self.grad))


def _rebuild_parameter(data, requires_grad, grad):
    p = Parameter(from_numpy(data), requires_grad)  # keeps the dtype (float64 stays float64)
    p.grad = grad
    return p

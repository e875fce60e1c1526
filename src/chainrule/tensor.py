"""`Tensor`: an array, its gradient, and the graph node that produced it.

A Tensor wraps a NumPy (or CuPy) array in ``.data``. When ``requires_grad`` is True, operations on
it record graph nodes (see :mod:`chainrule.autograd.function`) and ``backward()`` fills the
``.grad`` of the leaves. Operators broadcast like NumPy (they are defined in
:mod:`chainrule.tensor_operators`); every method here is a thin call into :mod:`chainrule.ops`,
where the forward/backward pairs live.
"""

from __future__ import annotations

import weakref
from collections import namedtuple

import numpy as np

from chainrule import backend
from chainrule.tensor_operators import TensorOperators

try:  # pragma: no cover
    import cupy as _cupy

    ARRAY_TYPES = (np.ndarray, _cupy.ndarray)
except Exception:
    ARRAY_TYPES = (np.ndarray,)

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])

# PyTorch's names of the tensor types, by dtype (``x.type()``).
_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def wrap(array, node=None, versions=None):
    """The engine's constructor: a Tensor around ``array``, with no copy and no checks.

    This is the one place a Tensor is made from an array that is already right (an op's result,
    a gradient). The graph machinery (``autograd``) and the ops use it; other packages use the
    public creation functions (``cr.from_numpy``, ``cr.tensor``), which check their input.

    Args:
        array: a NumPy or CuPy array, used as it is.
        node: the graph node (a ``Function``) that produced it; None for a leaf.
        versions: the version counter to share (that of the tensor whose memory ``array``
            views); by default the new tensor gets a counter of its own.
    """
    t = Tensor.__new__(Tensor)
    t.data = array
    t.grad = None
    t._node = node
    t.requires_grad = node is not None
    t._versions = [0] if versions is None else versions
    t._hooks = None
    return t


class HookHandle:
    """What ``register_hook`` returns: ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self) -> None:
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


def tensor_method(op, name=None):
    """Make the op ``op(x, ...)`` also the Tensor method ``x.name(...)``, as in PyTorch.

    Used as a decorator where the op is defined, so that an op is declared in one place.
    ``name`` defaults to the op's own name (give it for an alias such as ``clip``).
    """
    setattr(Tensor, name or op.__name__, op)
    return op


def shape_arg(shape):
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


class Tensor(TensorOperators):
    """A multi-dimensional array that records the operations applied to it.

    Args:
        data: array-like; Python floats and float64 arrays become float32 unless ``dtype`` says
            otherwise (see :func:`chainrule.tensor`).
        requires_grad: record operations for automatic differentiation.
        dtype: the NumPy dtype to store.

    Example:
        >>> x = Tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad                       # tensor([2., 4.])
    """

    # NOTE: ``_versions`` is a one-element list, the version counter: a tensor, its detach()
    # and the views of its memory share one, so an in-place change through any of them is seen
    # by every graph node that saved one of the others.
    __slots__ = ("data", "grad", "requires_grad", "_node", "_versions", "_hooks", "__weakref__")

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = to_array(data, dtype)
        self.grad = None
        self._node = None
        self._versions = [0]
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ---- attributes ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> backend.device:
        """Where the data lives: ``device(type='cpu')`` or ``device(type='cuda')``."""
        return backend.device(backend.device_of(self.data))

    @property
    def is_cuda(self) -> bool:
        """True when the data lives on a GPU (a CuPy array)."""
        return backend.is_gpu_array(self.data)

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user (not by a recorded operation)."""
        return self._node is None

    @property
    def grad_fn(self):
        """The graph node that produced this tensor, or None for a leaf."""
        return self._node

    @property
    def T(self) -> Tensor:
        return _ops.permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self) -> Tensor:
        return _ops.transpose(self, -2, -1)

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def is_floating_point(self) -> bool:
        """True for float16, float32 and float64 tensors."""
        return self.data.dtype.kind == "f"

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ---- conversion ---------------------------------------------------------------------------
    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors convert to a Python scalar, got "
                             f"shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shares memory on the CPU)."""
        return backend.to_numpy(self.data)

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data.item())

    def __array__(self, dtype=None, copy=None):
        arr = backend.to_numpy(self.data)
        return arr if dtype is None else arr.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(backend.to_numpy(self.data), separator=", ", precision=4,
                               prefix="tensor(")
        extra = ""
        if self.dtype != np.float32 and self.dtype != np.int64 and self.dtype != np.bool_:
            extra += f", dtype={self.dtype}"
        if self._node is not None:
            extra += f", grad_fn=<{self._node.name}Backward>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def to(self, *args, **kwargs) -> Tensor:
        """Convert dtype and/or device: ``t.to(cr.float64)``, ``t.to("cuda")``."""
        dtype = kwargs.get("dtype")
        device = kwargs.get("device")
        for a in args:
            if isinstance(a, (str, backend.device)):
                device = a
            elif isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            else:
                dtype = a
        out = self
        if dtype is not None and np.dtype(dtype) != self.dtype:
            out = _ops.cast(out, dtype)
        if device is not None and backend.device_of(out.data) != str(device).split(":")[0]:
            moved = wrap(backend.to_device(out.data, device))
            moved.requires_grad = out.requires_grad and out.is_leaf
            out = moved
        return out

    def type(self, dtype=None):  # noqa: A003 - PyTorch's name
        """With no argument, the type's name ("chainrule.FloatTensor"); else ``to(dtype)``.

        ``dtype`` may be a dtype or a name such as "torch.DoubleTensor" or "chainrule.LongTensor".
        """
        if dtype is None:
            return f"chainrule.{_TYPE_NAMES.get(self.dtype.name, self.dtype.name)}Tensor"
        if isinstance(dtype, str):
            name = dtype.rsplit(".", 1)[-1].removesuffix("Tensor")
            names = {v: k for k, v in _TYPE_NAMES.items()}
            if name not in names:
                raise ValueError(f"type: unknown tensor type {dtype!r}")
            dtype = np.dtype(names[name])
        return self.to(dtype)

    # ---- new tensors like this one (PyTorch's new_* methods) ----------------------------------
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        """Zeros of ``size``, with this tensor's dtype and device unless given."""
        return _creation.zeros(*size, dtype=dtype or self.dtype, device=device or self.device,
                               requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        """Ones of ``size``, with this tensor's dtype and device unless given."""
        return _creation.ones(*size, dtype=dtype or self.dtype, device=device or self.device,
                              requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
        """``fill_value`` in ``size``, with this tensor's dtype and device unless given."""
        return _creation.full(size, fill_value, dtype=dtype or self.dtype,
                              device=device or self.device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        """An uninitialised tensor of ``size``, with this tensor's dtype and device."""
        return _creation.empty(*size, dtype=dtype or self.dtype, device=device or self.device,
                               requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False) -> Tensor:
        """A copy of ``data``, with this tensor's dtype and device unless given."""
        return _creation.tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                                requires_grad=requires_grad)

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def half(self) -> Tensor:
        return self.to(np.float16)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    def byte(self) -> Tensor:
        return self.to(np.uint8)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    # ---- autograd -----------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate the gradient of this tensor into the ``.grad`` of the leaves.

        See :func:`chainrule.autograd.backward`; a scalar needs no ``gradient``.
        """
        _engine.backward(self, gradient, retain_graph, create_graph, inputs)

    @property
    def _version(self) -> int:
        """How many times the memory of this tensor was changed in place (shared with its
        views and detached copies)."""
        return self._versions[0]

    @_version.setter
    def _version(self, value: int) -> None:
        self._versions[0] = value

    def detach(self) -> Tensor:
        """A tensor sharing the data (and its version counter) but cut from the graph."""
        return wrap(self.data, versions=self._versions)

    def detach_(self) -> Tensor:
        self._node = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind not in "fc":
            raise RuntimeError(f"only floating-point tensors can require gradients, got dtype "
                               f"{self.dtype}")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_(False) is only allowed on leaves; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def register_hook(self, hook) -> HookHandle:
        """Call ``hook(grad)`` each time the gradient with respect to this tensor is computed.

        As in PyTorch: the hook receives the total gradient (a Tensor) and may return a
        replacement, which is then used (and accumulated into ``.grad`` for a leaf) instead.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Example:
            >>> h = w.register_hook(lambda g: g.clamp(-1, 1))     # clip this gradient
        """
        if not self.requires_grad:
            raise RuntimeError(f"register_hook: the tensor of shape {self.shape} does not "
                               "require grad, so no gradient will reach the hook")
        owner = self if self._node is None else self._node
        if owner._hooks is None:
            owner._hooks = []
        owner._hooks.append(hook)
        return HookHandle(owner._hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor during backward."""
        if self._node is not None:
            self._node._retained = weakref.ref(self)


def is_tensor(obj) -> bool:
    """True if ``obj`` is a chainrule Tensor (PyTorch's ``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def is_floating_point(input) -> bool:  # noqa: A002 - PyTorch's name
    """True if ``input`` has a floating-point dtype (float16, float32, float64)."""
    return input.is_floating_point()


def numel(input) -> int:  # noqa: A002 - PyTorch's name
    """The number of elements of ``input``: the product of its shape (1 for a 0-d tensor)."""
    return input.numel()


def detach(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input.detach()``: the same data (and version counter), cut from the graph."""
    return input.detach()


# NOTE: chainrule's one import cycle. A Tensor's methods are calls into the ops, the engine and
# the creation functions, and those are built on Tensor; so they are imported here, once Tensor
# exists (``chainrule/__init__.py`` imports this module first).
from chainrule import creation as _creation  # noqa: E402
from chainrule import ops as _ops  # noqa: E402
from chainrule.autograd import engine as _engine  # noqa: E402
from chainrule.creation import to_array  # noqa: E402

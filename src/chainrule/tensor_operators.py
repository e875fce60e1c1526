"""Python's operators on a Tensor: ``a + b``, ``a @ b``, ``-a``, ``a[i]``, ``a < b``, ``~a``, ...

Each operator is one call into :mod:`chainrule.ops` (a reflected operator such as ``2 - a``
swaps the arguments), so ``a + b`` and ``cr.add(a, b)`` record the same graph node.
:class:`~chainrule.tensor.Tensor` derives from :class:`TensorOperators`; the in-place operators
(``a += b``, ``a[i] = v``) are declared with their ops in :mod:`chainrule.ops.inplace`.
"""

from __future__ import annotations

# NOTE: the ops are built on Tensor, and this module is imported while Tensor is being defined
# (the import cycle explained at the bottom of ``tensor.py``). So the operators name the ops
# through the package, ``chainrule.ops``, which is complete before any operator can run.
import chainrule


class TensorOperators:
    """The arithmetic, matrix, indexing, comparison and logical operators of a Tensor.

    ``==`` compares elementwise and returns a bool tensor, as in PyTorch, so tensors hash by
    identity (``__hash__``) and can still be dictionary keys and set members.
    """

    __slots__ = ()
    __array_ufunc__ = None  # make NumPy defer to Tensor's reflected operators
    __hash__ = object.__hash__

    # ---- arithmetic ---------------------------------------------------------------------------
    def __add__(self, other):
        return chainrule.ops.add(self, other)

    def __radd__(self, other):
        return chainrule.ops.add(other, self)

    def __sub__(self, other):
        return chainrule.ops.sub(self, other)

    def __rsub__(self, other):
        return chainrule.ops.sub(other, self)

    def __mul__(self, other):
        return chainrule.ops.mul(self, other)

    def __rmul__(self, other):
        return chainrule.ops.mul(other, self)

    def __truediv__(self, other):
        return chainrule.ops.div(self, other)

    def __rtruediv__(self, other):
        return chainrule.ops.div(other, self)

    def __floordiv__(self, other):
        return chainrule.ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return chainrule.ops.floor_divide(other, self)

    def __pow__(self, other):
        return chainrule.ops.pow(self, other)

    def __rpow__(self, other):
        return chainrule.ops.pow(other, self)

    def __matmul__(self, other):
        return chainrule.ops.matmul(self, other)

    def __rmatmul__(self, other):
        return chainrule.ops.matmul(other, self)

    def __neg__(self):
        return chainrule.ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return chainrule.ops.abs(self)

    # ---- indexing and selection ---------------------------------------------------------------
    def __getitem__(self, index):
        return chainrule.ops.getitem(self, index)

    def where(self, condition, other):
        """``self`` where ``condition`` holds, else ``other`` (PyTorch's ``Tensor.where``)."""
        return chainrule.ops.where(condition, self, other)

    # ---- comparison and logic -----------------------------------------------------------------
    def __lt__(self, other):
        return chainrule.ops.lt(self, other)

    def __le__(self, other):
        return chainrule.ops.le(self, other)

    def __gt__(self, other):
        return chainrule.ops.gt(self, other)

    def __ge__(self, other):
        return chainrule.ops.ge(self, other)

    def __eq__(self, other):
        return chainrule.ops.eq(self, other)

    def __ne__(self, other):
        return chainrule.ops.ne(self, other)

    def __invert__(self):
        return chainrule.ops.logical_not(self)

    def __and__(self, other):
        return chainrule.ops.logical_and(self, other)

    def __or__(self, other):
        return chainrule.ops.logical_or(self, other)

"""Einstein summation: ``einsum`` parses PyTorch's equations, one primitive contracts.

``einsum`` turns an equation (implicit output, ``...`` ellipsis, size-1 dims that broadcast,
repeated subscripts on one operand) into an explicit one with a letter per dimension and sizes
that agree, then calls the ``Einsum`` primitive. Its backward is again an einsum: the gradient
of an operand contracts ``grad_output`` with the other operands, so it is differentiable to any
order. Subscripts that appear only on that operand get a constant vector of ones, and a
repeated subscript (a diagonal) a constant identity matrix.
"""

from __future__ import annotations

import string

import numpy as np

from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.formula import formula
from chainrule.tensor import Tensor

# NOTE: uppercase first, so that sorting letters gives this order (the implicit output's).
LETTERS = string.ascii_uppercase + string.ascii_lowercase
ELLIPSIS = "..."


def contract_array(spec, *operands):
    """``np.einsum`` of an explicit equation (no ellipsis) on arrays."""
    return np.einsum(spec, *operands, optimize=len(operands) > 1)


def _operand_gradient(g, terms, output, operands, k):
    """The gradient of operand ``k``: an einsum of ``g`` with the other operands.

    d out / d x_k contracts ``g`` (subscripts ``output``) with every other operand, giving
    x_k's subscripts; a subscript found nowhere else is broadcast (an operand of ones) and a
    repeated one is put on the diagonal (an identity matrix pairs it with a fresh subscript).
    """
    term = terms[k]
    others = [i for i in range(len(terms)) if i != k]
    elsewhere = set(output).union(*(terms[i] for i in others))
    fresh = iter(c for c in LETTERS if c not in set(",".join(terms) + output))
    target, helpers, seen = [], [], set()
    for label, n in zip(term, operands[k].shape):
        if label in seen:
            new = next(fresh)
            target.append(new)
            helpers.append((label + new, np.eye(n, dtype=g.dtype)))
            continue
        seen.add(label)
        target.append(label)
        if label not in elsewhere and term.count(label) == 1:
            helpers.append((label, np.ones(n, dtype=g.dtype)))
    inputs = [output] + [terms[i] for i in others] + [s for s, _ in helpers]
    spec = ",".join(inputs) + "->" + "".join(target)
    return fm.contract(spec, g, *(operands[i] for i in others), *(h for _, h in helpers))


class Einsum(Primitive):
    """z = einsum(spec, x_1, ..., x_n) ; dx_k = einsum(g, x_j for j != k) to x_k's subscripts."""

    @staticmethod
    def forward(ctx, spec, *operands):
        ctx.spec = spec
        ctx.save_for_backward(*operands)
        return contract_array(spec, *operands)

    @staticmethod
    def backward(ctx, g, *operands):
        inputs, output = ctx.spec.split("->")
        terms = inputs.split(",")
        grads = [None]
        for k, needed in enumerate(ctx.needs_input_grad[1:]):
            grads.append(_operand_gradient(g, terms, output, operands, k) if needed else None)
        return tuple(grads)


@formula(contract_array)
def contract(spec, *operands):
    """einsum of an explicit equation (a letter per dim, sizes that agree): the primitive."""
    return Einsum.apply(spec, *operands)


# ---- parsing -------------------------------------------------------------------------------
def _parse_term(term, which):
    """A term's subscripts as a list of letters, with ``...`` kept as one item."""
    items, i = [], 0
    while i < len(term):
        if term.startswith(ELLIPSIS, i):
            if ELLIPSIS in items:
                raise ValueError(f"einsum: {which} has more than one ellipsis")
            items.append(ELLIPSIS)
            i += 3
            continue
        c = term[i]
        if c == ".":
            raise ValueError(f"einsum: {which} has a '.' that is not part of an ellipsis '...'")
        if c not in LETTERS:
            raise ValueError(f"einsum: invalid subscript {c!r} in {which}; subscripts are "
                             "letters a-z and A-Z")
        items.append(c)
        i += 1
    return items


def _operand_labels(items, shape, k):
    """One label per dim of operand ``k``: its letters, and the ints -d .. -1 for its d ellipsis
    dims (counted from the right, so that they line up across operands as in broadcasting)."""
    letters = len(items) - (ELLIPSIS in items)
    extra = len(shape) - letters
    if extra < 0 or (extra and ELLIPSIS not in items):
        raise ValueError(f"einsum: {letters} subscripts given for operand {k} of shape {shape}"
                         f"{'' if ELLIPSIS in items else ' and no ellipsis'}")
    labels = []
    for item in items:
        labels += [-(extra - j) for j in range(extra)] if item == ELLIPSIS else [item]
    return labels


def _sizes(labels, shapes):
    """The size of every label; a size-1 dim broadcasts against another size."""
    sizes = {}
    for k, (own, shape) in enumerate(zip(labels, shapes)):
        within = {}
        for label, n in zip(own, shape):
            if within.setdefault(label, n) != n:
                raise ValueError(f"einsum: subscript {label} is repeated for operand {k} of "
                                 f"shape {shape} with different sizes {within[label]} and {n}")
        for label, n in within.items():
            if sizes.get(label, 1) == 1:
                sizes[label] = n
            elif n not in (1, sizes[label]):
                name = "an ellipsis dim" if isinstance(label, int) else f"subscript {label}"
                raise ValueError(f"einsum: {name} has size {n} for operand {k} of shape {shape}, "
                                 f"which does not broadcast with size {sizes[label]}")
    return sizes


def _output_labels(rhs, explicit, letters, broadcast):
    """The output's labels: as written after ``->``, else PyTorch's implicit output (the
    ellipsis dims, then the letters that appear once, sorted)."""
    if not explicit:
        return broadcast + sorted(c for c in set(letters) if letters.count(c) == 1)
    output = []
    for item in _parse_term(rhs, "the output"):
        if item == ELLIPSIS:
            output += broadcast
        elif item not in letters:
            raise ValueError(f"einsum: output subscript {item} does not appear in any operand")
        elif item in output:
            raise ValueError(f"einsum: output subscript {item} appears more than once")
        else:
            output.append(item)
    return output


def explicit_equation(equation, shapes):
    """PyTorch's einsum ``equation`` for operands of ``shapes``, as an explicit equation.

    The result names every dim with a letter and has no ellipsis; a size-1 dim that broadcasts
    gets a letter of its own (summed away), so that equal letters have equal sizes.
    """
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} has {len(terms)} operands, "
                         f"{len(shapes)} given")
    items = [_parse_term(t, f"operand {k}") for k, t in enumerate(terms)]
    labels = [_operand_labels(it, s, k) for k, (it, s) in enumerate(zip(items, shapes))]
    ellipsis_dims = max((-label for own in labels for label in own if isinstance(label, int)),
                        default=0)
    letters = [c for it in items for c in it if c != ELLIPSIS]
    output = _output_labels(rhs, arrow, letters, list(range(-ellipsis_dims, 0)))
    sizes = _sizes(labels, shapes)
    # NOTE: a size-1 dim broadcast against a larger one is a different index: it gets a key
    # (and a letter) of its own, the same for every place it takes in its operand.
    keys = [[(k, label) if n == 1 and sizes[label] != 1 else label
             for label, n in zip(own, shape)] for k, (own, shape) in enumerate(zip(labels, shapes))]
    unnamed = [key for key in dict.fromkeys(sum(keys, []) + output) if not isinstance(key, str)]
    free = [c for c in LETTERS if c not in letters]
    if len(unnamed) > len(free):
        raise ValueError(f"einsum: {equation!r} needs more than {len(LETTERS)} distinct "
                         "subscripts")
    names = dict(zip(unnamed, free))

    def spell(term):
        return "".join(key if isinstance(key, str) else names[key] for key in term)

    return ",".join(spell(term) for term in keys) + "->" + spell(output)


def _sublist_equation(args):
    """``einsum(x, [0, 1], y, [1, 2], [0, 2])`` as the operands and an equation."""
    operands, sublists = list(args[0:-1:2] if len(args) % 2 else args[0::2]), args[1::2]

    def term(sublist):
        out = ""
        for s in sublist:
            if s is Ellipsis:
                out += ELLIPSIS
            elif isinstance(s, (int, np.integer)) and 0 <= s < len(LETTERS):
                out += LETTERS[s]
            else:
                raise ValueError(f"einsum: subscript {s!r} in a sublist is not in [0, 52) or "
                                 "Ellipsis")
        return out

    equation = ",".join(term(s) for s in sublists[:len(operands)])
    if len(args) % 2:
        equation += "->" + term(args[-1])
    return equation, operands


def einsum(equation, *operands):
    """Sums of products of the operands' entries over the subscripts an equation names.

    ``einsum("ij,jk->ik", a, b)`` is ``a @ b``: out[i, k] = sum_j a[i, j] b[j, k]. Each operand
    has one subscript (a letter) per dim; subscripts missing from the output (after ``->``) are
    summed over. As in PyTorch:

    - without ``->`` the output is the subscripts that appear exactly once, sorted (uppercase
      first), after the ellipsis dims;
    - ``...`` stands for the remaining dims, which broadcast across operands; an output without
      ``...`` sums them;
    - a subscript repeated on one operand takes its diagonal (``"ii->i"``, trace ``"ii"``);
    - a dim of size 1 broadcasts against the same subscript's size on another operand;
    - the operands may be given as one list, and the sublist form
      ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` (ints in [0, 52), ``Ellipsis``) is accepted.

    Args:
        equation: the subscripts, e.g. ``"bij,bjk->bik"`` (spaces are ignored).
        operands: tensors of one dtype, one per comma-separated term.

    Returns:
        The contracted tensor, differentiable to any order (its gradients are einsums).

    Example:
        >>> a, b = cr.randn(2, 3), cr.randn(3, 4)
        >>> cr.einsum("ij,jk->ik", a, b).shape       # (2, 4), a @ b
        >>> cr.einsum("ii", cr.eye(3))                # tensor(3.)
    """
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation, *operands))
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for k, x in enumerate(operands):
        if not isinstance(x, Tensor):
            raise TypeError(f"einsum: operand {k} must be a tensor, got {type(x).__name__}")
    dtypes = {x.dtype for x in operands}
    if len(dtypes) > 1:
        raise RuntimeError(f"einsum: expected operands of one dtype, got "
                           f"{[str(x.dtype) for x in operands]} (shapes "
                           f"{[x.shape for x in operands]}); convert them with .to()")
    spec = explicit_equation(equation, [x.shape for x in operands])
    return contract(spec, *operands)


# The ops that chainrule exports as ``cr.<name>``.
__all__ = ["einsum"]

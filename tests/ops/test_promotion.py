"""PyTorch's type promotion, table-driven: every pair of dtypes and kinds of operand, every op
family, compared with PyTorch itself (skipped without it) and with worked cases (always run)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
KINDS = ["dim", "zero-dim", "python"]  # a (2, 3) tensor, a 0-d tensor, a Python number
PYTHON_VALUES = {"bool": True, "int": 2, "float": 1.5}

ELEMENTWISE = {
    "add": lambda lib, a, b: a + b,
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / b,
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "where": lambda lib, a, b: lib.where(lib.ones((2, 3), dtype=lib.bool) > 0, a, b),
}
COMPARISON = {"eq": lambda lib, a, b: a == b, "lt": lambda lib, a, b: a < b}


def _operand(lib, dtype, kind):
    if kind == "python":
        return PYTHON_VALUES[dtype]
    values = np.array([[1, 2, 3], [2, 1, 3]]) if kind == "dim" else np.array(2)
    return lib.tensor(values.astype(dtype), dtype=getattr(lib, dtype))


def _pairs():
    """(dtype, kind) pairs: tensors of every dtype, Python numbers of each type."""
    tensors = [(d, k) for d in DTYPES for k in ("dim", "zero-dim")]
    return tensors + [(p, "python") for p in PYTHON_VALUES]


CASES = [(a, b) for a, b in itertools.product(_pairs(), repeat=2)
         if "dim" in (a[1], b[1])]  # at least one dimensioned tensor, as in a model


def _result(lib, fn, a, b):
    try:
        out = fn(lib, _operand(lib, *a), _operand(lib, *b))
    except (RuntimeError, TypeError, ValueError):
        return "error"
    return str(out.dtype).replace("torch.", "")


@pytest.mark.parametrize("family", [ELEMENTWISE, COMPARISON], ids=["elementwise", "comparison"])
def test_result_dtype_matches_pytorch_for_every_pair(family):
    torch = pytest.importorskip("torch")
    mismatches = []
    for name, fn in family.items():
        for a, b in CASES:
            want = _result(torch, fn, a, b)
            if want == "error":
                continue  # e.g. bool - bool: PyTorch refuses; not a promotion question
            got = _result(cr, fn, a, b)
            if got != want:
                mismatches.append(f"{name}{a}{b}: chainrule {got}, torch {want}")
    assert mismatches == []


def test_result_type_function_matches_torch_result_type():
    torch = pytest.importorskip("torch")
    for a, b in CASES:
        want = torch.result_type(_operand(torch, *a), _operand(torch, *b))
        got = cr.result_type(_operand(cr, *a), _operand(cr, *b))
        assert str(want).replace("torch.", "") == np.dtype(got).name, (a, b)


def test_matmul_requires_equal_dtypes_like_pytorch():
    torch = pytest.importorskip("torch")
    for da, db in itertools.product(["int64", "float32", "float64"], repeat=2):
        results = []
        for lib in (cr, torch):
            a = lib.ones((2, 3), dtype=getattr(lib, da))
            b = lib.ones((3, 2), dtype=getattr(lib, db))
            try:
                results.append(str((a @ b).dtype).replace("torch.", ""))
            except RuntimeError:
                results.append("error")
        assert results[0] == results[1], (da, db, results)


@pytest.mark.parametrize("dtype", DTYPES)
def test_reduction_dtypes_match_pytorch(dtype):
    torch = pytest.importorskip("torch")
    for name in ("sum", "mean", "amax"):
        results = []
        for lib in (cr, torch):
            x = lib.tensor(np.array([[1, 0, 1]]).astype(dtype), dtype=getattr(lib, dtype))
            try:
                results.append(str(getattr(lib, name)(x).dtype).replace("torch.", ""))
            except RuntimeError:
                results.append("error")
        assert results[0] == results[1], (name, dtype, results)


@pytest.mark.parametrize("a, b, expected", [
    (("float32", "dim"), ("float64", "zero-dim"), "float32"),   # a dimensioned tensor wins
    (("int64", "dim"), ("float64", "zero-dim"), "float64"),     # a higher category wins
    (("int64", "dim"), ("float", "python"), "float32"),         # a Python float: default float
    (("float32", "dim"), ("int64", "dim"), "float32"),          # float32 + int64 tensor
    (("int32", "dim"), ("int64", "zero-dim"), "int32"),         # same category: dim wins
    (("bool", "dim"), ("int", "python"), "int64"),
    (("uint8", "dim"), ("int8", "dim"), "int16"),
    (("int64", "dim"), ("float16", "dim"), "float16"),          # not NumPy's float64
])
def test_worked_promotions(a, b, expected):
    assert _result(cr, ELEMENTWISE["add"], a, b) == expected


def test_int_division_and_float_powers_give_the_default_float():
    i = cr.tensor([1, 2, 3])
    assert (i / 2).dtype == cr.float32 and (i / i).dtype == cr.float32
    assert (i * 1.5).dtype == cr.float32
    assert (cr.ones(3) ** cr.tensor([1, 2, 3])).dtype == cr.float32
    assert cr.exp(i).dtype == cr.float32


def test_gradient_flows_through_a_promotion():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    y = cr.ones(2) * x                      # float32 * float64 -> float64
    y.sum().backward()
    assert y.dtype == cr.float64 and x.grad.dtype == cr.float64
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])

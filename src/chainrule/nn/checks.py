"""Input checks shared by the layers of :mod:`chainrule.nn`: one message per kind of mistake.

Where each check lives:

* A layer's ``forward`` checks its input against the layer's own configuration (features,
  channels, normalised shape, rank) and its parameters' dtype, before calling
  :mod:`chainrule.nn.functional`, so a bad input to a layer raises one error that names the
  layer (``Linear(in_features=4): input has 5 features, shape (2, 5)``).
* :mod:`chainrule.nn.functional` and :mod:`chainrule.ops` keep only the checks a direct caller
  needs (window geometry, index range, operand shapes); the layers do not repeat them.
* A dtype mismatch between an input and a layer's parameters is reported by
  :func:`check_dtype` only, so the wording and the suggested fix are the same for every layer.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_dtype", "layer_name"]

# Tensor and Module methods converting to each dtype (the fix the error message suggests).
_TENSOR_CAST = {"float32": "float", "float64": "double", "int64": "long", "int32": "int"}
_MODEL_CAST = {"float16": "half", "float32": "float", "float64": "double"}


def layer_name(layer) -> str:
    """The name an error message gives ``layer``: its class name, or the string itself.

    Args:
        layer: a Module (``Linear(...)`` gives ``"Linear"``) or a ready-made name such as
            ``"LSTM(input_size=4, hidden_size=3)"`` or ``"embedding"``.

    Returns:
        The name as a string.
    """
    return layer if isinstance(layer, str) else type(layer).__name__


def _dtype_of(input) -> np.dtype:
    dtype = getattr(input, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.asarray(input).dtype


def _cast(var: str, dtype: np.dtype, methods: dict) -> str:
    """The expression converting ``var`` to ``dtype``: ``x.float()``, or ``x.to(cr.float16)``."""
    method = methods.get(dtype.name)
    return f"{var}.{method}()" if method else f"{var}.to(cr.{dtype.name})"


def check_dtype(layer, input, weight, *, indices=False, input_name="input",
                weight_name="weight") -> None:
    """Raise one ``TypeError`` naming the layer, both dtypes and the fix when they disagree.

    The rule is PyTorch's: a layer computes in its parameters' dtype and never converts its
    input silently, so dtype(input) must equal dtype(weight) (an integer or bool input to a
    float layer is a mismatch too). With ``indices=True`` (``Embedding``) the input holds row
    indices into ``weight`` instead, and dtype(input) must be an integer type.

    Args:
        layer: the Module raising the error, or its name (see :func:`layer_name`).
        input: the Tensor (or array) given to the layer.
        weight: the parameter whose dtype the input must match; ignored when ``indices``.
        indices: check for integer indices instead of a dtype equal to the weight's.
        input_name: what the message calls the input (``"h_0"`` for a hidden state).
        weight_name: what the message calls the weight (``"running_mean"`` when there is no
            affine weight).

    Raises:
        TypeError: e.g. ``Linear: input dtype float64 does not match weight dtype float32;
            convert the input with x.float() (or the model with model.double())``.

    Example:
        >>> layer = nn.Linear(3, 2)
        >>> check_dtype(layer, cr.zeros(4, 3), layer.weight)             # float32: passes
        >>> check_dtype(layer, cr.zeros(4, 3).double(), layer.weight)
        Traceback (most recent call last):
        TypeError: Linear: input dtype float64 does not match weight dtype float32; ...
    """
    if not indices and getattr(input, "dtype", None) == getattr(weight, "dtype", 0):
        return  # the common case, cheaply
    got = _dtype_of(input)
    var = "x" if input_name == "input" else input_name
    if indices:
        if got.kind in "iu":
            return
        raise TypeError(f"{layer_name(layer)}: {input_name} dtype {got} is not an index dtype; "
                        f"indices must be integers, convert the {input_name} with {var}.long()")
    want = _dtype_of(weight)
    if got == want:
        return
    fix = f"convert the {input_name} with {_cast(var, want, _TENSOR_CAST)}"
    if got.kind == "f":
        fix += f" (or the model with {_cast('model', got, _MODEL_CAST)})"
    raise TypeError(f"{layer_name(layer)}: {input_name} dtype {got} does not match "
                    f"{weight_name} dtype {want}; {fix}")

"""What travels between the server and the page: JSON text and packed pictures.

JSON has no NaN or infinity, and a diverging run produces both; :func:`dumps` writes them as
``null`` (the page shows "diverged") instead of text the browser's ``JSON.parse`` rejects.
Pictures (a grid of values per neuron) travel as bytes in base64: value v in [-1, 1] becomes
round((v + 1) * 127.5), so a 20 x 20 neuron costs 536 characters instead of ~3,000 as numbers.

Example:
    >>> dumps({"loss": float("nan"), "step": 3})
    '{"loss":null,"step":3}'
    >>> pack(np.array([-1.0, 0.0, 1.0]))
    'AID/'
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np


def jsonable(obj):
    """``obj`` with NumPy values turned into Python ones and non-finite floats into None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


def dumps(obj) -> str:
    """Compact JSON text of ``obj`` in which NaN and infinities are ``null``."""
    return json.dumps(jsonable(obj), separators=(",", ":"), allow_nan=False)


def pack(values) -> str:
    """Values in [-1, 1] (clipped; NaN as 0) as base64 bytes round((v + 1) * 127.5)."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64).ravel(), nan=0.0)
    data = np.rint((np.clip(v, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return base64.b64encode(data.tobytes()).decode("ascii")


def unpack(text: str) -> np.ndarray:
    """The inverse of :func:`pack`, to within 1/255: float values in [-1, 1]."""
    data = np.frombuffer(base64.b64decode(text), dtype=np.uint8)
    return data.astype(np.float64) / 127.5 - 1.0


def rounded(array, digits: int = 4) -> list:
    """A float array as nested lists rounded to ``digits`` decimals (short JSON)."""
    return np.round(np.asarray(array, dtype=np.float64), digits).tolist()

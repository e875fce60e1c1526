"""Targets of datasets read from files: classification or regression, class indices and names.

Text labels are classes; so are numbers that are all integers with at most
``MAX_AUTO_CLASSES`` distinct values, and arrays of integer or bool dtype (PyTorch's convention);
other numbers are regression targets. Non-negative integer labels are the class indices
themselves (names "0", "1", ...); other labels are numbered in sorted order.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_AUTO_CLASSES", "check_task", "guess_task", "encode_classes", "dataset_info"]

MAX_AUTO_CLASSES = 20


def check_task(task):
    """Refuse a task other than "classification", "regression" or None (guess)."""
    if task not in (None, "classification", "regression"):
        raise ValueError(f"task must be 'classification', 'regression' or None, got {task!r}")


def guess_task(numbers, integer_dtype: bool = False) -> str:
    """Classification for text (``numbers`` None), integer dtypes and few distinct integers."""
    if numbers is None or integer_dtype:
        return "classification"
    integral = bool(np.all(numbers == np.round(numbers)))
    few = len(np.unique(numbers)) <= MAX_AUTO_CLASSES
    return "classification" if integral and few else "regression"


def encode_classes(keys: np.ndarray, where, class_names, source: str):
    """Class indices and names of labels ``keys`` (ints or strings); see the module docstring."""
    uniques, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.reshape(-1)
    if class_names is not None:
        names = [str(c) for c in class_names]
        index = {name: i for i, name in enumerate(names)}
        for k, label in enumerate(uniques):
            if str(label) not in index:
                first = int(np.flatnonzero(inverse == k)[0])
                raise ValueError(f"{source}: {where(first)}: label {str(label)!r} is not one of "
                                 f"the classes {', '.join(names)}")
        lookup = np.array([index[str(label)] for label in uniques], dtype=np.int64)
        return lookup[inverse], names
    if keys.dtype.kind in "iu" and uniques[0] >= 0:
        return keys.astype(np.int64), [str(i) for i in range(int(uniques[-1]) + 1)]
    return inverse.astype(np.int64), [str(label) for label in uniques]


def dataset_info(source, fmt, task, class_names=None, **extra) -> dict:
    """The ``info`` dict of a loaded dataset: source, format, task, classes and ``extra``."""
    names = list(class_names or [])
    return {"source": source, "format": fmt, "task": task, "class_names": names,
            "num_classes": len(names) if task == "classification" else None, **extra}

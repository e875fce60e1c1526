"""Datasets from files: CSV tables, NumPy arrays (``.npz``, ``.npy`` pairs) and image folders.

Every loader returns ``(x, y, info)``: ``x`` float32 inputs, (N, features) for tables and
(N, C, H, W) in [0, 1] for images; ``y`` int64 class indices (N,), float32 regression targets
(N, k), or None when the file holds none and none were required; ``info`` a dict of plain values
(a checkpoint can store it): ``source``, ``format``, ``task``, ``class_names`` (the name of each
class index), ``num_classes``, and ``target``, ``feature_names`` (CSV) or ``files``,
``image_size``, ``channels`` (images).

Classification or regression? Text labels are classes; so are numbers that are all integers
with at most 20 distinct values (CSV columns, float arrays) and arrays of integer or bool dtype
(PyTorch's convention, :mod:`.targets`); other numbers are regression targets. ``task=``
overrides the guess. Non-negative integer labels are the class indices themselves (names "0",
"1", ...); other labels (text, negative numbers) and class folders are numbered in sorted
order. To read a test
file as its training file was read (same classes, columns, image size), pass the training
``info`` as ``like=`` to :func:`load_data_file`.

Example:
    >>> x, y, info = load_csv("iris.csv", target="species")
    >>> info["class_names"]                    # ['setosa', 'versicolor', 'virginica']
    >>> x_test, y_test, _ = load_data_file("iris-test.csv", like=info)
"""

from __future__ import annotations

import csv
import os
import zipfile

import numpy as np

from chainrule.creation import as_tensor
from chainrule.data.images import IMAGE_SUFFIXES, load_image_folder
from chainrule.data.targets import check_task, dataset_info, encode_classes, guess_task

__all__ = ["load_csv", "load_npz", "load_npy", "load_image_folder", "load_data_file",
           "is_data_path", "IMAGE_SUFFIXES"]

_TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t"}
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_KINDS = {"csv": "a CSV file", "npz": "an .npz file", "npy": "a .npy file",
          "images": "an image folder"}


# ---- CSV --------------------------------------------------------------------------------------
def _parse_floats(values):
    """Finite float64 numbers of ``values`` (strings), or None if one is not."""
    try:
        numbers = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        return None
    return numbers if np.all(np.abs(numbers) <= _FLOAT32_MAX) else None


def _floats(values, column: str, lines, path: str) -> np.ndarray:
    """The float32 numbers of a CSV column; the error names the line, column and value."""
    numbers = _parse_floats(values)
    if numbers is not None:
        return numbers.astype(np.float32)
    for value, line in zip(values, lines):
        try:
            number = float(value)
        except ValueError:
            empty = " (an empty field)" if not value.strip() else ""
            raise ValueError(f"{path}: line {line}, column {column!r}: {value!r} is not a "
                             f"number{empty}") from None
        if not abs(number) <= _FLOAT32_MAX:
            raise ValueError(f"{path}: line {line}, column {column!r}: {value!r} is not a "
                             "finite float32 number")
    raise AssertionError(f"{path}: column {column!r} failed to parse as a whole only")


def _csv_targets(values, column, lines, path, task, class_names):
    numbers = _parse_floats(values)
    task = task or guess_task(numbers)
    if task == "regression":
        return _floats(values, column, lines, path)[:, None], task, None
    if numbers is not None and np.all(numbers == np.round(numbers)):
        keys = numbers.astype(np.int64)
    else:
        keys = np.array([v.strip() for v in values])
    y, names = encode_classes(keys, lambda i: f"line {lines[i]}, column {column!r}",
                               class_names, path)
    return y, task, names


def _read_rows(path: str, delimiter: str):
    """Header and data rows (with their line numbers) of a CSV file, every row checked."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = next((row for row in reader if any(v.strip() for v in row)), None)
            if header is None:
                raise ValueError(f"{path}: the file is empty (a CSV file needs a header row "
                                 "naming its columns, then one line per sample)")
            rows, lines = [], []
            for row in reader:
                if not any(v.strip() for v in row):
                    continue  # blank lines, a trailing newline
                if len(row) != len(header):
                    raise ValueError(f"{path}: line {reader.line_num} has {len(row)} fields, "
                                     f"expected {len(header)} as in the header")
                rows.append(row)
                lines.append(reader.line_num)
    except csv.Error as err:
        raise ValueError(f"{path}: line {reader.line_num}: {err}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a CSV text file (it is not UTF-8 text)") from None
    return [name.strip() for name in header], rows, lines


def load_csv(path: str | os.PathLike, target: str | None = None, *,
             features: list | None = None, task: str | None = None, class_names=None,
             delimiter: str = ",", require_targets: bool = True):
    """A table with a header row (required): one column of targets, the others inputs.

    The first non-blank line names the columns (a line of numbers only is refused as a missing
    header); every other non-blank line is a sample with as many fields. Inputs must be finite
    numbers; targets may be text. Read with the standard ``csv`` module, as UTF-8.

    Args:
        path: the file.
        target: the name of the target column.
        features: the input columns, in order (default: every column but the target).
        task: "classification" or "regression" (default: guessed, see the module docstring).
        class_names: the classes in index order (default: from the labels).
        delimiter: the field separator.
        require_targets: when False, no ``target`` (or no such column) gives ``y = None``.

    Returns:
        (x, y, info): x float32 (N, features); y int64 (N,), float32 (N, 1) or None.

    Raises:
        ValueError: naming the file, the line and the problem: an empty file, a ragged line, a
            missing column (listing those present), a value that is not a number, a class
            not in ``class_names``.
    """
    path = os.fspath(path)
    check_task(task)
    names, rows, lines = _read_rows(path, delimiter)
    present = ", ".join(repr(n) for n in names)
    if _parse_floats(names) is not None:
        raise ValueError(f"{path}: the first line holds only numbers; a CSV file needs a "
                         "header row naming its columns")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{path}: the header names column {repeated[0]!r} more than once")
    if not rows:
        raise ValueError(f"{path}: no data lines after the header ({present})")
    if target is None and require_targets:
        raise ValueError(f"{path}: name the target column (target=..., --target on the command "
                         f"line); the columns are {present}")
    if target is not None and target not in names and require_targets:
        raise ValueError(f"{path}: no column {target!r}; the columns are {present}")
    has_target = target is not None and target in names
    features = [n for n in names if n != target] if features is None else list(features)
    missing = [repr(n) for n in features if n not in names]
    if missing:
        raise ValueError(f"{path}: missing input column{'s' * (len(missing) > 1)} "
                         f"{', '.join(missing)}; the columns are {present}")
    if not features:
        raise ValueError(f"{path}: no input columns besides the target {target!r}")
    if has_target and target in features:
        raise ValueError(f"{path}: column {target!r} cannot be both the target and an input")
    columns = dict(zip(names, zip(*rows)))
    x = np.stack([_floats(columns[n], n, lines, path) for n in features], axis=1)
    y, names_of_classes = None, None
    if has_target:
        y, task, names_of_classes = _csv_targets(columns[target], target, lines, path, task,
                                                 class_names)
    info = dataset_info(path, "csv", task if has_target else None, names_of_classes, target=target,
                 feature_names=features)
    return as_tensor(x), (None if y is None else as_tensor(y)), info


# ---- NumPy arrays -----------------------------------------------------------------------------
def _array_targets(y: np.ndarray, name: str, task, class_names):
    """Targets from an array: class indices or float32 regression targets (N, k)."""
    kind = y.dtype.kind
    if kind not in "biufUS":
        raise ValueError(f"{name} has dtype {y.dtype}; targets must be numbers or text")
    text = kind in "US"
    numbers = None if text else y.astype(np.float64)
    if task is None and y.ndim > 1 and y[0].size != 1:
        task = "regression"  # several targets per sample
    task = task or guess_task(numbers, integer_dtype=kind in "biu")
    if task == "regression":
        if text:
            raise ValueError(f"{name} holds text labels; regression needs numbers")
        y = y.reshape(len(y), -1)
        with np.errstate(over="ignore", invalid="ignore"):
            y = y.astype(np.float32)
        _check_finite(y, name)
        return y, task, None
    if y.ndim > 1 and y[0].size != 1:
        raise ValueError(f"{name} has shape {y.shape}; class labels need one per sample")
    y = y.reshape(-1)
    flat = numbers.reshape(-1) if not text else None
    bad = [] if text else np.flatnonzero(~np.isfinite(flat) | (flat != np.round(flat)))
    if len(bad):
        raise ValueError(f"{name}: sample {bad[0]} has label {y[bad[0]]}; class labels must be "
                         "integers or text")
    keys = y.astype(str) if text else y.astype(np.int64)
    labels, names = encode_classes(keys, lambda i: f"sample {i}", class_names, name)
    return labels, task, names


def _check_finite(a: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(a.reshape(len(a), -1)).all(axis=1)
    if bad.any():
        raise ValueError(f"{name} holds NaN or infinite values (first in sample "
                         f"{int(np.argmax(bad))}), or numbers too large for float32")


def _from_arrays(x, y, x_name, y_name, fmt, source, task, class_names, **extra):
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{x_name} has dtype {x.dtype}; inputs must be numbers")
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"{x_name} holds no samples (shape {x.shape})")
    x = x[:, None] if x.ndim == 1 else x
    with np.errstate(over="ignore", invalid="ignore"):
        x = np.ascontiguousarray(x, dtype=np.float32)
    _check_finite(x, x_name)
    names = None
    if y is not None:
        if y.ndim == 0 or len(y) != len(x):
            raise ValueError(f"{x_name} holds {len(x)} samples but {y_name} holds "
                             f"{len(y) if y.ndim else 'a single value'}")
        y, task, names = _array_targets(y, y_name, task, class_names)
    info = dataset_info(source, fmt, task if y is not None else None, names, **extra)
    return as_tensor(x), (None if y is None else as_tensor(y)), info


def _np_load(path: str):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: cannot read it as a NumPy file without unpickling "
                         f"({type(err).__name__}: {err})") from None


def load_npz(path: str | os.PathLike, *, task: str | None = None, class_names=None,
             require_targets: bool = True):
    """Arrays ``x`` (inputs, (N, ...)) and ``y`` (targets) of ``numpy.savez(path, x=, y=)``.

    Values become float32 unchanged (uint8 pixels are not rescaled); a 1-D ``x`` is N samples
    of one feature. Nothing is unpickled. ``task``, ``class_names``, ``require_targets``: as
    for :func:`load_csv`.

    Raises:
        ValueError: for a file that is not an archive, missing arrays (listing those present),
            lengths that differ, non-numeric or non-finite inputs.
    """
    path = os.fspath(path)
    check_task(task)
    archive = _np_load(path)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: holds a single array, not the arrays 'x' and 'y' of an .npz "
                         "archive")
    with archive:
        present = ", ".join(repr(n) for n in archive.files) or "none"
        wanted = ("x", "y") if require_targets else ("x",)
        if any(name not in archive.files for name in wanted):
            raise ValueError(f"{path}: expected arrays 'x' (inputs) and 'y' (targets); the "
                             f"archive holds {present}")
        try:
            x = archive["x"]
            y = archive["y"] if "y" in archive.files else None
        except (OSError, ValueError, zipfile.BadZipFile) as err:
            raise ValueError(f"{path}: cannot read its arrays without unpickling ({err})") \
                from None
    return _from_arrays(x, y, f"{path}: array 'x'", f"{path}: array 'y'", "npz", path, task,
                        class_names)


def load_npy(path: str | os.PathLike, labels: str | os.PathLike | None = None, *,
             task: str | None = None, class_names=None, require_targets: bool = True):
    """Inputs (N, ...) from ``path`` and targets (N,) or (N, k) from a second file, ``labels``.

    As :func:`load_npz` otherwise. Raises ValueError without ``labels`` when targets are
    required, and for files of different lengths (naming both).
    """
    path = os.fspath(path)
    check_task(task)
    if labels is None and require_targets:
        raise ValueError(f"{path}: a .npy file holds inputs only; give a second .npy file of "
                         "targets (labels=..., --labels on the command line), or an .npz file "
                         "holding arrays x and y")
    arrays = [_np_load(p) for p in (path, labels) if p is not None]
    for p, a in zip((path, labels), arrays):
        if not isinstance(a, np.ndarray):
            raise ValueError(f"{os.fspath(p)}: an .npz archive, not a .npy array")
    y_name = os.fspath(labels) if labels is not None else ""
    return _from_arrays(arrays[0], arrays[1] if labels is not None else None, path, y_name,
                        "npy", path, task, class_names,
                        **({"labels": y_name} if labels is not None else {}))


# ---- any of them ------------------------------------------------------------------------------
def is_data_path(spec: str) -> bool:
    """Whether ``spec`` names a data file or folder (a path) rather than a registered dataset."""
    spec = os.fspath(spec)
    return os.path.exists(spec) or "/" in spec or os.sep in spec or \
        os.path.splitext(spec)[1].lower() in (*_TABLE_SUFFIXES, ".npz", ".npy")


def load_data_file(spec: str | os.PathLike, target: str | None = None,
                   labels: str | os.PathLike | None = None, image_size=None, *,
                   like: dict | None = None, task: str | None = None, class_names=None,
                   channels: int | None = None, delimiter: str | None = None,
                   require_targets: bool = True):
    """A dataset from a path: a folder of images, ``.csv`` (``.tsv``), ``.npz`` or ``.npy``.

    Args:
        spec: the path.
        target: the target column (CSV).
        labels: the ``.npy`` file of targets (with an ``.npy`` file of inputs).
        image_size, channels: for image folders.
        like: the ``info`` of a training set, whose task, classes, target and input columns,
            image size and channels are reused where they apply (explicit arguments win).
        task, class_names, require_targets: as for :func:`load_csv`.
        delimiter: the CSV field separator (default: from the suffix).

    Returns:
        (x, y, info), from :func:`load_csv`, :func:`load_npz`, :func:`load_npy` or
        :func:`load_image_folder`.

    Raises:
        FileNotFoundError: when nothing exists at ``spec``.
        ValueError: for an unknown suffix, an argument that does not apply to this kind of
            data, or any error of the loader.
    """
    path = os.fspath(spec)
    if not os.path.exists(path):
        raise FileNotFoundError(f"data file {path!r} does not exist")
    suffix = os.path.splitext(path)[1].lower()
    kind = "images" if os.path.isdir(path) else "csv" if suffix in _TABLE_SUFFIXES else \
        suffix[1:] if suffix in (".npz", ".npy") else None
    if kind is None:
        raise ValueError(f"{path}: unknown kind of data file; expected a .csv, .tsv, .npz or "
                         ".npy file, or a folder of images with one sub-folder per class")
    given = {"target": target, "delimiter": delimiter, "labels": labels,
             "image_size": image_size, "channels": channels}
    applies = {"csv": ("target", "delimiter"), "npz": (), "npy": ("labels",),
               "images": ("image_size", "channels")}[kind]
    for name, value in given.items():
        if value is not None and name not in applies:
            raise ValueError(f"{path}: {name} does not apply to {_KINDS[kind]}")
    like = like or {}
    common = {"task": task or like.get("task"), "require_targets": require_targets,
              "class_names": class_names if class_names is not None else
              (like.get("class_names") or None)}
    if kind == "csv":
        return load_csv(path, target if target is not None else like.get("target"),
                        features=like.get("feature_names"),
                        delimiter=delimiter or _TABLE_SUFFIXES[suffix], **common)
    if kind == "npz":
        return load_npz(path, **common)
    if kind == "npy":
        return load_npy(path, labels, **common)
    if common.pop("task") == "regression":
        raise ValueError(f"{path}: the class folders of an image folder give classes, not "
                         "regression targets")
    return load_image_folder(path, image_size or like.get("image_size"),
                             channels=channels or like.get("channels"), **common)

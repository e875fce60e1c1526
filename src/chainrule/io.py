"""Saving and loading: weights and whole training checkpoints as safetensors files.

``cr.save(obj, path)`` writes arrays and tensors as safetensors tensors and everything around them
(nested dicts, lists, tuples, numbers, strings, None) as JSON in the file's metadata; so a file
is a valid ``.safetensors`` file any tool can read, and loading it runs no code: nothing is
unpickled. ``cr.load(path)`` returns the same structure, with Tensors where Tensors were saved.

Guarantees (each tested):

- exact round trip of every array, whatever its memory layout (transposed, Fortran-ordered and
  strided arrays are made contiguous first: safetensors 0.8.0 silently corrupts them otherwise);
- atomic writes: the data go to a temporary file in the same folder, which is flushed, fsynced
  and renamed over the target with ``os.replace``; a save that fails or is killed midway leaves the
  previous file intact;
- a truncated or corrupted file raises :class:`CheckpointError` naming the file (every tensor
  carries a CRC-32 checksum in the metadata), never garbage.

Example:
    >>> cr.save(model, "weights.safetensors")                 # a Module saves its state_dict
    >>> model.load_state_dict(cr.load("weights.safetensors"))
    >>> cr.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
    ...          "epoch": 5, "rng_state": cr.get_rng_state()}, "checkpoint.safetensors")
"""

from __future__ import annotations

import json
import math
import os
import secrets
import zlib

import numpy as np

from chainrule import backend
from chainrule.creation import from_numpy
from chainrule.tensor import ARRAY_TYPES, Tensor

__all__ = ["save", "load", "atomic_write", "CheckpointError"]

FORMAT = "chainrule"
VERSION = "1"


class CheckpointError(ValueError):
    """A file that cannot be loaded: truncated, corrupted, or not a safetensors file."""


def _safetensors():
    try:
        import safetensors.numpy as st
    except ImportError:
        raise ImportError("saving and loading need the safetensors package: "
                          "pip install 'chainrule[weights]' (or pip install safetensors)") from None
    return st


# ---- the structure around the arrays, as JSON -------------------------------------------------
class _Encoder:
    """Replaces arrays by references and non-JSON values by tagged objects."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def _name(self, path: str) -> str:
        name, k = path or "tensor", 1
        while name in self.arrays:
            k += 1
            name = f"{path}#{k}"
        return name

    def encode(self, value, path: str = ""):
        if isinstance(value, Tensor):
            return {"__tensor__": self._store(value.data, path)}
        if isinstance(value, ARRAY_TYPES):
            return {"__array__": self._store(value, path)}
        if isinstance(value, np.generic):
            return {"__scalar__": self.encode(value.item(), path), "dtype": value.dtype.str}
        if value is None or isinstance(value, (bool, str, int)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v, f"{path}.{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(v, f"{path}.{i}".lstrip(".")) for i, v in enumerate(value)]
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: self.encode(v, f"{path}.{k}".lstrip(".")) for k, v in value.items()}
            return {"__dict__": [[self.encode(k, path), self.encode(v, f"{path}.{k}".lstrip("."))]
                                 for k, v in value.items()]}
        raise TypeError(f"cr.save: cannot store a value of type {type(value).__name__} at "
                        f"{path or 'the top level'!r}; only tensors, arrays, numbers, strings, "
                        "None, lists, tuples and dicts are saved (nothing is pickled)")

    def _store(self, array, path: str) -> str:
        array = backend.to_numpy(array)
        if not array.flags.c_contiguous:  # NOTE: not ascontiguousarray, which turns 0-d into 1-d
            array = array.copy(order="C")
        if array.dtype.kind not in "biuf":
            raise TypeError(f"cr.save: cannot store an array of dtype {array.dtype} at {path!r}")
        name = self._name(path)
        self.arrays[name] = array
        return name


def _decode(node, tensors: dict):
    if isinstance(node, list):
        return [_decode(v, tensors) for v in node]
    if not isinstance(node, dict):
        return node
    if "__tensor__" in node:
        return from_numpy(tensors[node["__tensor__"]])
    if "__array__" in node:
        return tensors[node["__array__"]]
    if "__scalar__" in node:
        return np.dtype(node["dtype"]).type(_decode(node["__scalar__"], tensors))
    if "__float__" in node:
        return float(node["__float__"])
    if "__tuple__" in node:
        return tuple(_decode(v, tensors) for v in node["__tuple__"])
    if "__dict__" in node:
        return {_hashable(_decode(k, tensors)): _decode(v, tensors) for k, v in node["__dict__"]}
    return {k: _decode(v, tensors) for k, v in node.items()}


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


# ---- atomic write -----------------------------------------------------------------------------
def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, fsync it, then rename it over."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    # os.open with mode 0o666 lets the umask choose the permissions, as for an ordinary file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# ---- public API -------------------------------------------------------------------------------
def save(obj, path: str | os.PathLike) -> None:
    """Save tensors, a module's weights or a whole checkpoint to a safetensors file, atomically.

    Args:
        obj: a Module or Optimizer (its ``state_dict()`` is saved), a tensor, an array, or nested
            dicts / lists / tuples of them with numbers, strings and None.
        path: the file to write (conventionally ``*.safetensors``); its folder must exist.

    Raises:
        TypeError: for a value that cannot be saved without pickling, naming where it sits.

    Example:
        >>> cr.save(model, "mlp.safetensors")
    """
    st = _safetensors()
    if not isinstance(obj, (dict, list, tuple, Tensor, *ARRAY_TYPES)) and \
            callable(getattr(obj, "state_dict", None)):
        obj = obj.state_dict()
    encoder = _Encoder()
    structure = encoder.encode(obj)
    checksums = {name: zlib.crc32(a.reshape(-1).view(np.uint8)) if a.size else 0
                 for name, a in encoder.arrays.items()}
    metadata = {"format": FORMAT, "version": VERSION, "structure": json.dumps(structure),
                "crc32": json.dumps(checksums)}
    atomic_write(os.fspath(path), st.save(encoder.arrays, metadata=metadata))


def _read_header(raw: bytes, path: str) -> dict:
    if len(raw) < 8:
        raise CheckpointError(f"cr.load: {path!r} is truncated ({len(raw)} bytes): not a "
                              "safetensors file")
    size = int.from_bytes(raw[:8], "little")
    if size > len(raw) - 8:
        raise CheckpointError(f"cr.load: {path!r} is truncated or corrupted: its header "
                              f"announces {size} bytes but the file holds {len(raw)}")
    try:
        header = json.loads(raw[8:8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"cr.load: {path!r} is corrupted: unreadable header ({err})") \
            from None
    if not isinstance(header, dict):
        raise CheckpointError(f"cr.load: {path!r} is corrupted: the header is not a JSON object")
    return header


def load(path: str | os.PathLike):
    """Load what :func:`save` wrote (or the tensors of any safetensors file).

    Returns:
        The saved structure, Tensors where Tensors (and state dicts) were saved, NumPy arrays
        where arrays were. A safetensors file written by another tool gives a flat dict of
        name -> Tensor.

    Raises:
        FileNotFoundError: when the file does not exist.
        CheckpointError: when the file is truncated, corrupted, or not a safetensors file.

    Example:
        >>> model.load_state_dict(cr.load("mlp.safetensors"))
    """
    st = _safetensors()
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    header = _read_header(raw, path)
    try:
        tensors = st.load(raw)
    except Exception as err:  # safetensors raises its own SafetensorError
        raise CheckpointError(f"cr.load: {path!r} is truncated or corrupted ({err})") from None
    tensors = {k: v if v.flags.writeable else v.copy() for k, v in tensors.items()}
    metadata = header.get("__metadata__") or {}
    if metadata.get("format") != FORMAT:
        return {name: from_numpy(array) for name, array in tensors.items()}
    try:
        checksums = json.loads(metadata["crc32"])
        structure = json.loads(metadata["structure"])
    except (KeyError, json.JSONDecodeError) as err:
        raise CheckpointError(f"cr.load: {path!r} is corrupted: damaged metadata ({err})") \
            from None
    for name, array in tensors.items():
        expected = checksums.get(name)
        actual = zlib.crc32(array.reshape(-1).view(np.uint8)) if array.size else 0
        if expected != actual:
            raise CheckpointError(f"cr.load: {path!r} is corrupted: tensor {name!r} fails its "
                                  "checksum")
    try:
        return _decode(structure, tensors)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"cr.load: {path!r} is corrupted: damaged structure ({err})") \
            from None

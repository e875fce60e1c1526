"""Text as a sequence of characters, cut into windows for next-character prediction.

A character language model reads a window of T characters c_1 .. c_T and predicts, at every
position t, the next character c_{t+1}. :class:`CharDataset` turns a text into such pairs:

    x = ids[i : i + T],    y = ids[i + 1 : i + T + 1]

where ``ids`` are the characters' indices in a vocabulary ``itos`` (index to string, the sorted
distinct characters) and ``stoi`` its inverse. :func:`char_datasets` splits a text by position,
the first 90% for training and the last 10% for validation, with one vocabulary for both.

:func:`load_text` reads the user's file, or, without one, a default corpus that ships with
Python itself: the sources of the top-level modules of its standard library (``os.py``,
``string.py``, ...), read at run time in sorted order, so nothing is downloaded or stored.

:func:`unigram_cross_entropy` is the yardstick a model must beat: the loss of predicting every
character by its frequency alone, H = -mean_t log p(c_t).

Example:
    >>> text = load_text(max_chars=100_000)             # Python's own sources
    >>> train, val = char_datasets(text, block_size=64)
    >>> x, y = train[0]                                 # (64,) int64 each; y is x shifted by one
    >>> train.decode(x.tolist())[:20], train.vocab_size
"""

from __future__ import annotations

import glob
import math
import os

import numpy as np

from chainrule.creation import from_numpy
from chainrule.data.dataset import Dataset

DEFAULT_MAX_CHARS = 2_000_000  # characters of the default corpus at most (about 2 MB)


def stdlib_sources() -> list[str]:
    """The paths of the top-level ``.py`` modules of Python's standard library, sorted by name.

    They sit next to ``os.py`` (``os.path.dirname(os.__file__)``) in every CPython installation;
    sub-packages (``email/``, ``json/``, ...) are left out.

    Returns:
        The sorted list of paths.
    """
    folder = os.path.dirname(os.path.abspath(os.__file__))
    return sorted(glob.glob(os.path.join(folder, "*.py")), key=os.path.basename)


def load_text(path: str | os.PathLike | None = None, max_chars: int | None = None) -> str:
    """A text to learn from: the file at ``path``, or Python's own sources by default.

    Without ``path`` the text is the concatenation, in sorted order of their names, of the
    standard library's top-level modules (:func:`stdlib_sources`), cut at ``max_chars``
    (default :data:`DEFAULT_MAX_CHARS`). The same Python version gives the same text.

    Args:
        path: a UTF-8 text file (undecodable bytes are replaced by U+FFFD).
        max_chars: keep at most this many characters (the first ones).

    Returns:
        The text.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: when ``max_chars`` is below 2 or the text is shorter than 2 characters.

    Example:
        >>> load_text(max_chars=60)[:60]                  # the start of __future__.py
    """
    if max_chars is not None and int(max_chars) < 2:
        raise ValueError(f"load_text: max_chars must be at least 2, got {max_chars}")
    if path is not None:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"load_text: no text file {os.fspath(path)!r}")
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(max_chars) if max_chars is not None else f.read()
    else:
        limit = int(max_chars) if max_chars is not None else DEFAULT_MAX_CHARS
        parts, size = [], 0
        for source in stdlib_sources():
            with open(source, encoding="utf-8", errors="replace") as f:
                parts.append(f.read())
            size += len(parts[-1])
            if size >= limit:
                break
        text = "".join(parts)[:limit]
    if len(text) < 2:
        raise ValueError(f"load_text: {os.fspath(path) if path else 'the corpus'} holds "
                         f"{len(text)} character(s); at least 2 are needed")
    return text


class CharDataset(Dataset):
    """Windows of a text for next-character prediction: ``(x, y)`` with y = x shifted by one.

    Sample i starts at character s = i * stride:

        x = ids[s : s + T],    y = ids[s + 1 : s + T + 1]    (T = block_size)

    so that a model predicting y_t from x_1 .. x_t learns p(c_{t+1} | c_1 .. c_t) at every
    position of the window at once.

    Args:
        text: the text.
        block_size: T, the characters per window (the model's context).
        vocabulary: the characters, in index order (default: the sorted distinct characters of
            ``text``); every character of ``text`` must be in it.
        stride: characters between the starts of two windows: 1 (default) gives every window,
            ``block_size`` non-overlapping ones.

    Attributes:
        itos: the vocabulary, a list of characters (index to string).
        stoi: ``{character: index}`` (string to index).
        ids: the text as an int64 NumPy array of indices.

    Shape:
        Each sample is a pair of int64 Tensors of shape (T,); a batch of N is (N, T) each.

    Example:
        >>> ds = CharDataset("hello world", block_size=4)
        >>> ds.decode(ds[0][0].tolist()), ds.decode(ds[0][1].tolist())     # ('hell', 'ello')
    """

    def __init__(self, text: str, block_size: int, vocabulary=None, stride: int = 1):
        if int(block_size) < 1 or int(stride) < 1:
            raise ValueError(f"CharDataset: block_size and stride must be >= 1, got "
                             f"{block_size} and {stride}")
        self.block_size, self.stride = int(block_size), int(stride)
        self.itos = list(vocabulary) if vocabulary is not None else sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("CharDataset: the vocabulary repeats a character")
        self.ids = np.asarray(self.encode(text), dtype=np.int64)
        if len(self.ids) < self.block_size + 1:
            raise ValueError(f"CharDataset: a text of {len(self.ids)} characters has no window "
                             f"of {self.block_size} + 1; give a longer text or a smaller "
                             "block_size")

    @property
    def vocab_size(self) -> int:
        """The number of distinct characters V."""
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        """The indices of the characters of ``text``.

        Raises:
            ValueError: naming the characters that are not in the vocabulary.
        """
        missing = sorted(set(text) - self.stoi.keys())
        if missing:
            raise ValueError(f"characters not in the vocabulary: {''.join(missing)!r}")
        return [self.stoi[c] for c in text]

    def decode(self, ids) -> str:
        """The text of a sequence of indices."""
        return "".join(self.itos[int(i)] for i in ids)

    def __len__(self) -> int:
        return (len(self.ids) - self.block_size - 1) // self.stride + 1

    def _starts(self, indices) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64)
        n = len(self)
        if np.any((indices < -n) | (indices >= n)):
            raise IndexError(f"CharDataset: index out of range for {n} windows")
        return (indices % n) * self.stride

    def __getitem__(self, index):
        start = int(self._starts(index))
        x = self.ids[start:start + self.block_size]
        y = self.ids[start + 1:start + self.block_size + 1]
        return from_numpy(x.copy()), from_numpy(y.copy())

    def __getitems__(self, indices):
        """A whole batch: one fancy-indexing, ``ids[start + arange(T)]``."""
        rows = self._starts(indices)[:, None] + np.arange(self.block_size)
        return from_numpy(self.ids[rows]), from_numpy(self.ids[rows + 1])

    def tensors(self) -> tuple:
        """Every window at once: ``(X, Y)``, int64 Tensors of shape (len(self), T)."""
        return self.__getitems__(np.arange(len(self)))


def char_datasets(text: str, block_size: int, val_fraction: float = 0.1,
                  stride: int = 1) -> tuple[CharDataset, CharDataset]:
    """Split ``text`` by position into training and validation windows, one vocabulary for both.

    The first ``1 - val_fraction`` of the characters train, the rest validate: the model is
    judged on text that comes after everything it saw. The vocabulary holds the characters of
    the whole text, so that every validation character has an index.

    Args:
        text: the text.
        block_size: T, the characters per window.
        val_fraction: the share of the text, at its end, for validation (0.1: a 90/10 split).
        stride: as :class:`CharDataset`.

    Returns:
        ``(train, val)`` :class:`CharDataset`\\ s.

    Raises:
        ValueError: when ``val_fraction`` is not in (0, 1) or a part is shorter than a window.

    Example:
        >>> train, val = char_datasets(load_text(max_chars=50_000), block_size=32)
    """
    if not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"char_datasets: val_fraction must be in (0, 1), got {val_fraction}")
    vocabulary = sorted(set(text))
    cut = int(round(len(text) * (1.0 - float(val_fraction))))
    return (CharDataset(text[:cut], block_size, vocabulary, stride),
            CharDataset(text[cut:], block_size, vocabulary, stride))


def unigram_cross_entropy(train_ids, eval_ids=None, vocab_size: int | None = None) -> float:
    """The loss of predicting every character by its frequency in the training text alone.

    With counts n_c of each character c in the training ids (N of them) and add-one smoothing,
    so that a character unseen in training still has a probability,

        p(c) = (n_c + 1) / (N + V),    H = -1/M sum_{t=1}^{M} log p(c_t)

    over the M evaluated ids (the training ids themselves by default): the cross-entropy, in
    nats, of a model that ignores the context. A language model whose loss is not below H has
    learned nothing beyond the character frequencies. Divide by log 2 for bits per character.

    Args:
        train_ids: the training text's indices (an array, a list or a Tensor).
        eval_ids: the indices to evaluate on (default ``train_ids``).
        vocab_size: V (default: one more than the largest index seen).

    Returns:
        H in nats, a float.

    Example:
        >>> train, val = char_datasets(text, 64)
        >>> unigram_cross_entropy(train.ids, val.ids, train.vocab_size)
    """
    train_ids = _ids(train_ids)
    eval_ids = train_ids if eval_ids is None else _ids(eval_ids)
    if train_ids.size == 0 or eval_ids.size == 0:
        raise ValueError("unigram_cross_entropy: empty ids")
    size = int(max(train_ids.max(), eval_ids.max())) + 1
    vocab_size = size if vocab_size is None else int(vocab_size)
    if vocab_size < size:
        raise ValueError(f"unigram_cross_entropy: vocab_size {vocab_size} is below the largest "
                         f"index + 1 ({size})")
    counts = np.bincount(train_ids, minlength=vocab_size).astype(np.float64)
    log_p = np.log(counts + 1.0) - math.log(train_ids.size + vocab_size)
    return float(-log_p[eval_ids].mean())


def _ids(ids) -> np.ndarray:
    ids = ids.numpy() if hasattr(ids, "numpy") else ids  # a Tensor
    return np.asarray(ids, dtype=np.int64).ravel()

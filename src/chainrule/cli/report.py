"""What the ``chainrule`` command prints: result lines, the confusion matrix, and a note when
pictures cannot be drawn. The pictures themselves come from :mod:`chainrule.viz`."""

from __future__ import annotations

import sys

import numpy as np


def format_results(results: dict, n_samples: int, prefix: str = "test") -> str:
    """One line of results, integers as they are and other values to four decimals.

    Args:
        results: metric name -> value, e.g. ``Trainer.evaluate``'s dict.
        n_samples: the number of samples the results were computed on.
        prefix: the first word of the line.

    Returns:
        The line, without a newline.

    Example:
        >>> format_results({"loss": 0.0712, "accuracy": 0.98056}, 360)
        'test loss: 0.0712 - accuracy: 0.9806 (360 samples)'
    """
    values = " - ".join(f"{k}: {v}" if isinstance(v, int) else f"{k}: {v:.4f}"
                        for k, v in results.items())
    return f"{prefix} {values} ({n_samples} samples)"


def format_confusion_matrix(matrix: np.ndarray, class_names=None) -> str:
    """A text table: one row per true class, one column per predicted class.

    Args:
        matrix: (C, C) counts, ``matrix[i, j]`` the samples of class i predicted as j.
        class_names: C names for the rows and columns (default 0 .. C-1).

    Returns:
        The table as lines joined by newlines, under a one-line caption.

    Example:
        >>> print(format_confusion_matrix(np.array([[5, 1], [0, 4]]), ["cat", "dog"]))
    """
    names = [str(c) for c in (class_names or range(len(matrix)))]
    width = max(max(len(n) for n in names), len(str(int(matrix.max(initial=0))))) + 1
    lines = ["confusion matrix (rows: true class, columns: predicted class)",
             " " * width + "".join(n.rjust(width + 1) for n in names)]
    for name, row in zip(names, matrix):
        lines.append(name.rjust(width) + "".join(str(int(v)).rjust(width + 1) for v in row))
    return "\n".join(lines)


def can_draw() -> bool:
    """Whether :mod:`chainrule.viz` can draw; if not, say so on stderr (pictures are optional).

    Returns:
        True when matplotlib imports; False, after a note on stderr naming the ``plot`` extra,
        otherwise.

    Example:
        >>> if can_draw():
        ...     viz.plot_history(history, "learning_curves.png", title="learning curves")
    """
    from chainrule.viz import require_matplotlib

    try:
        require_matplotlib()
    except ImportError as err:
        print(f"note: pictures not drawn: {err}", file=sys.stderr)
        return False
    return True

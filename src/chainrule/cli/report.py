"""What the ``chainrule`` command shows and draws: result lines, confusion matrix, curves."""

from __future__ import annotations

import sys

import numpy as np


def format_results(results: dict, n_samples: int, prefix: str = "test") -> str:
    """``"test loss: 0.0712 - accuracy: 0.9806 (360 samples)"``."""
    values = " - ".join(f"{k}: {v:.4f}" for k, v in results.items())
    return f"{prefix} {values} ({n_samples} samples)"


def format_confusion_matrix(matrix: np.ndarray, class_names=None) -> str:
    """A text table: one row per true class, one column per predicted class."""
    names = [str(c) for c in (class_names or range(len(matrix)))]
    width = max(max(len(n) for n in names), len(str(int(matrix.max(initial=0))))) + 1
    lines = ["confusion matrix (rows: true class, columns: predicted class)",
             " " * width + "".join(n.rjust(width + 1) for n in names)]
    for name, row in zip(names, matrix):
        lines.append(name.rjust(width) + "".join(str(int(v)).rjust(width + 1) for v in row))
    return "\n".join(lines)


def plot_learning_curves(history: dict, path: str) -> bool:
    """Draw loss (and the first metric) per epoch, train against validation, to a PNG.

    Returns:
        False (after a note on stderr) when matplotlib is not installed, True otherwise.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: learning curves not drawn: matplotlib is not installed "
              "(pip install 'chainrule[plot]')", file=sys.stderr)
        return False
    keys = [k for k in history if not k.startswith("val_") and k != "lr"]
    fig, axes = plt.subplots(1, len(keys[:2]), figsize=(5 * len(keys[:2]), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys[:2]):
        epochs = np.arange(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], marker=".", label=f"train {key}")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], marker=".", label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("learning curves")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True

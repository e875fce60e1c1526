"""What the ``chainrule`` command shows and draws: result lines, confusion matrix, curves."""

from __future__ import annotations

import sys

import numpy as np


def format_results(results: dict, n_samples: int, prefix: str = "test") -> str:
    """``"test loss: 0.0712 - accuracy: 0.9806 (360 samples)"``."""
    values = " - ".join(f"{k}: {v}" if isinstance(v, int) else f"{k}: {v:.4f}"
                        for k, v in results.items())
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


# ---- pictures of autoencoders and GANs --------------------------------------------------------
def _plotting() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("note: pictures not drawn: matplotlib is not installed "
              "(pip install 'chainrule[plot]')", file=sys.stderr)
        return False
    return True


def mosaic(images, ncol: int, gap: int = 1) -> np.ndarray:
    """Tile images (N, C, H, W), C = 1 or 3, into one picture of ``ncol`` per row, scaled to
    [0, 1] together (x - min) / (max - min), with ``gap`` white pixels between them.

    Returns:
        (rows * (H + gap) + gap, ncol * (W + gap) + gap) grey, or (..., ..., 3) colour.
    """
    x = np.asarray(images, dtype=np.float64)
    n, c, h, w = x.shape
    low, high = min(x.min(), 0.0), max(x.max(), 1.0)
    x = (x - low) / (high - low)
    rows = -(-n // ncol)
    canvas = np.ones((c, rows * (h + gap) + gap, ncol * (w + gap) + gap))
    for i in range(n):
        top, left = gap + (i // ncol) * (h + gap), gap + (i % ncol) * (w + gap)
        canvas[:, top:top + h, left:left + w] = x[i]
    return canvas[0] if c == 1 else canvas.transpose(1, 2, 0)


def _image_figure(images, ncol: int, title: str, path: str) -> bool:
    """One picture of a mosaic of images: a single ``imshow``, so fast enough to draw every few
    epochs (a grid of one Axes per image takes a second or more)."""
    from matplotlib.figure import Figure

    shape = images.shape
    if shape[1] not in (1, 3):  # several channels: show the first
        images = images[:, :1]
    picture = mosaic(images, ncol)
    height, width = picture.shape[:2]
    scale = 5.0 / max(height, width)
    fig = Figure(figsize=(max(3.0, width * scale), max(1.5, height * scale) + 0.4),
                 layout="constrained")
    ax = fig.subplots()
    ax.imshow(picture, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize=10)
    fig.savefig(path, dpi=100)
    return True


def _scatter_figure(title: str):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 4.6), layout="constrained")
    ax = fig.subplots()
    ax.set_title(title)
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.3)
    return fig, ax


def plot_reconstructions(inputs, reconstructions, image_shape, path: str) -> bool:
    """Inputs above their reconstructions: a grid of images (one row of each, 8 per row) when
    ``image_shape`` is (C, H, W), a scatter of points joined to their reconstructions when the
    samples are 2-D points; nothing (False) for other samples or without matplotlib."""
    x = np.asarray(inputs, dtype=np.float64)
    r = np.asarray(reconstructions, dtype=np.float64)
    if image_shape is None and x.reshape(len(x), -1).shape[1] != 2:
        return False
    if not _plotting():
        return False
    if image_shape is not None:
        n = min(len(x), 8)
        images = np.concatenate([x[:n], r[:n]]).reshape(2 * n, *image_shape)
        return _image_figure(images, n, "inputs (top) and their reconstructions (bottom)",
                             path)
    x, r = x.reshape(-1, 2), r.reshape(-1, 2)
    fig, ax = _scatter_figure("test points and their reconstructions")
    ax.plot(np.stack([x[:, 0], r[:, 0]]), np.stack([x[:, 1], r[:, 1]]), c="0.7", lw=0.5)
    ax.scatter(x[:, 0], x[:, 1], s=6, label="input")
    ax.scatter(r[:, 0], r[:, 1], s=6, label="reconstruction")
    ax.legend()
    fig.savefig(path, dpi=100)
    return True


def plot_codes(codes, labels, path: str, title: str = "codes of the test samples") -> bool:
    """A scatter of 2-D codes, coloured by class when ``labels`` are integers."""
    if not _plotting():
        return False
    codes = np.asarray(codes, dtype=np.float64)
    fig, ax = _scatter_figure(title)
    labels = None if labels is None else np.asarray(labels)
    if labels is not None and labels.dtype.kind in "iu" and labels.ndim == 1:
        for k in np.unique(labels):
            mask = labels == k
            ax.scatter(codes[mask, 0], codes[mask, 1], s=8, label=str(k), color=f"C{k % 10}")
        ax.legend(title="class", fontsize=7, markerscale=1.5, loc="center left",
                  bbox_to_anchor=(1.0, 0.5))
    else:
        ax.scatter(codes[:, 0], codes[:, 1], s=8)
    ax.set_xlabel("code 1")
    ax.set_ylabel("code 2")
    fig.savefig(path, dpi=100)
    return True


def plot_samples(samples, image_shape, path: str, title: str, real=None) -> bool:
    """Generated samples: a grid of images when ``image_shape`` is (C, H, W), a scatter over
    the ``real`` points when they are 2-D; nothing (False) otherwise or without matplotlib."""
    s = np.asarray(samples, dtype=np.float64)
    if image_shape is None and s.reshape(len(s), -1).shape[1] != 2:
        return False
    if not _plotting():
        return False
    if image_shape is not None:
        return _image_figure(s.reshape(len(s), *image_shape),
                             max(1, int(np.ceil(np.sqrt(len(s))))), title, path)
    fig, ax = _scatter_figure(title)
    if real is not None:
        real = np.asarray(real, dtype=np.float64).reshape(-1, 2)
        ax.scatter(real[:, 0], real[:, 1], s=4, c="0.75", label="real")
    s = s.reshape(-1, 2)
    ax.scatter(s[:, 0], s[:, 1], s=4, c="C3", label="generated")
    ax.legend()
    fig.savefig(path, dpi=100)
    return True

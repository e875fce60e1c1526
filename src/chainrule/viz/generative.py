"""Pictures of generative models: inputs above their reconstructions, generated samples, and
the 2-D codes of an autoencoder.

Samples are either images (shown with :func:`~chainrule.viz.image_grid`, all on one scale so
that they compare fairly) or 2-D points (shown as a scatter); other samples raise ValueError.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.viz._figure import finish, new_figure, to_numpy
from chainrule.viz.images import image_grid


def _samples(x, image_shape, caller):
    """``x`` as images (N, C, H, W) / (N, H, W), or as points (N, 2); ``is_image`` says which."""
    x = np.asarray(to_numpy(x), dtype=np.float64)
    if image_shape is not None:
        return x.reshape(len(x), *image_shape), True
    if x.ndim in (3, 4):
        return x, True
    points = x.reshape(len(x), -1)
    if points.shape[1] != 2:
        raise ValueError(f"{caller}: samples of shape {x.shape[1:]} are neither images (pass "
                         "image_shape=(C, H, W)) nor 2-D points")
    return points, False


def _first_channel(images):
    """Images with 1 or 3 channels as they are; of other channel counts, the first channel."""
    return images[:, :1] if images.ndim == 4 and images.shape[1] not in (1, 3) else images


def _scatter_axes(title):
    fig, ax = new_figure((5.2, 4.6))
    ax.set_title(title)
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.3)
    return fig, ax


def plot_reconstructions(inputs, reconstructions, path=None, image_shape=None, n=8,
                         title=None):
    """Inputs next to what an autoencoder makes of them.

    Images show as two rows, the first ``n`` inputs above their reconstructions, on one grey
    scale; 2-D points show as a scatter, each point joined to its reconstruction by a line.

    Args:
        inputs: (N, ...) samples: images (N, C, H, W) or (N, H, W), flat samples with
            ``image_shape``, or 2-D points (N, 2).
        reconstructions: the model's outputs for ``inputs``, of the same shape.
        path: where to save; nothing is saved when None.
        image_shape: (C, H, W) to read flat samples as images.
        n: the number of images shown (all points are shown).
        title: the figure title.

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: when the samples are neither images nor 2-D points.

    Example:
        >>> with cr.no_grad():
        ...     plot_reconstructions(X[:8], model(X[:8]), "reconstructions.png")
    """
    x, is_image = _samples(inputs, image_shape, "plot_reconstructions")
    r, _ = _samples(reconstructions, image_shape, "plot_reconstructions")
    if is_image:
        n = min(len(x), n)
        images = _first_channel(np.concatenate([x[:n], r[:n]]))
        return image_grid(images, path, nrow=n, scale_each=False,
                          title=title or "inputs (top) and their reconstructions (bottom)")
    fig, ax = _scatter_axes(title or "inputs and their reconstructions")
    ax.plot(np.stack([x[:, 0], r[:, 0]]), np.stack([x[:, 1], r[:, 1]]), c="0.7", lw=0.5)
    ax.scatter(x[:, 0], x[:, 1], s=6, label="input")
    ax.scatter(r[:, 0], r[:, 1], s=6, label="reconstruction")
    ax.legend()
    return finish(fig, path)


def plot_samples(samples, path=None, image_shape=None, real=None, title=None):
    """Samples of a generative model: a square grid of images, or 2-D points over real ones.

    Args:
        samples: generated samples: images (N, C, H, W) or (N, H, W), flat samples with
            ``image_shape``, or 2-D points (N, 2).
        path: where to save; nothing is saved when None.
        image_shape: (C, H, W) to read flat samples as images.
        real: for 2-D points, real points (M, 2) drawn in grey underneath.
        title: the figure title.

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: when the samples are neither images nor 2-D points.

    Example:
        >>> plot_samples(gan.sample(64), "samples.png", image_shape=(1, 8, 8))
    """
    s, is_image = _samples(samples, image_shape, "plot_samples")
    if is_image:
        return image_grid(_first_channel(s), path, nrow=math.ceil(math.sqrt(len(s))),
                          scale_each=False, title=title or "generated samples")
    fig, ax = _scatter_axes(title or "generated samples")
    if real is not None:
        real = np.asarray(to_numpy(real), dtype=np.float64).reshape(-1, 2)
        ax.scatter(real[:, 0], real[:, 1], s=4, c="0.75", label="real")
    ax.scatter(s[:, 0], s[:, 1], s=4, c="C3", label="generated")
    ax.legend()
    return finish(fig, path)


def plot_codes(codes, labels=None, path=None, title=None):
    """A scatter of 2-D codes (an autoencoder's bottleneck), coloured by class.

    Args:
        codes: (N, 2) codes, e.g. ``model.encode(X)``.
        labels: (N,) integer class labels colouring the points (with a legend); other labels
            (such as regression targets) or None draw every point in one colour.
        path: where to save; nothing is saved when None.
        title: the figure title.

    Returns:
        The matplotlib Figure.

    Example:
        >>> with cr.no_grad():
        ...     plot_codes(model.encode(X_test), y_test, "codes.png")
    """
    codes = np.asarray(to_numpy(codes), dtype=np.float64)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"plot_codes: codes must have shape (N, 2), got {codes.shape}")
    fig, ax = _scatter_axes(title or "codes")
    labels = None if labels is None else np.asarray(to_numpy(labels))
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
    return finish(fig, path)

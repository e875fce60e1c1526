"""Images in a grid: samples, reconstructions, generated images, conv filters, feature maps.

:func:`make_grid` tiles the images into one array; :func:`image_grid` shows that array with a
single ``imshow``, so that even 64 images draw in a tenth of a second (one Axes per image takes
ten times longer), fast enough to draw samples every few epochs.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.viz._figure import blank_figure, finish, to_numpy


def _as_images(images, channel):
    """(N, H, W) grey or (N, H, W, 3) colour images from NCHW / NHW arrays (or filters)."""
    a = np.asarray(to_numpy(images), dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    elif a.ndim == 4:
        if channel is not None:
            a = a[:, channel]
        elif a.shape[1] == 1:
            a = a[:, 0]
        elif a.shape[1] == 3:
            a = a.transpose(0, 2, 3, 1)
        else:
            a = a.reshape(-1, a.shape[2], a.shape[3])  # every channel of every image, in order
    elif a.ndim != 3:
        raise ValueError(f"expected images of shape (N, H, W), (N, C, H, W) or (H, W), got "
                         f"{a.shape}")
    if len(a) == 0:
        raise ValueError("no image to show")
    return a


def _scaled(images, normalize, scale_each):
    """Pixel values in [0, 1]: see ``normalize`` and ``scale_each`` of :func:`make_grid`."""
    if not normalize:
        return np.clip(images, 0.0, 1.0)
    if scale_each:
        axes = tuple(range(1, images.ndim))
        low = images.min(axis=axes, keepdims=True)
        high = images.max(axis=axes, keepdims=True)
    else:
        low = min(float(images.min()), 0.0)
        high = max(float(images.max()), 1.0)
    span = high - low
    # NOTE: a constant image (span 0) shows as black rather than dividing by zero.
    return np.where(span > 0, (images - low) / np.where(span > 0, span, 1.0), 0.0)


def _tile(images, ncol, padding, pad_value):
    """The canvas holding ``images`` (N, H, W[, 3]) row by row, ``padding`` pixels apart."""
    n, h, w = images.shape[:3]
    rows = math.ceil(n / ncol)
    canvas = np.full((rows * (h + padding) + padding, ncol * (w + padding) + padding,
                      *images.shape[3:]), float(pad_value))
    for i, image in enumerate(images):
        top, left = padding + (i // ncol) * (h + padding), padding + (i % ncol) * (w + padding)
        canvas[top:top + h, left:left + w] = image
    return canvas


def _columns(n, nrow):
    """Images per row: ``nrow`` (at most n), or about sqrt(n)."""
    return min(nrow, n) if nrow else math.ceil(math.sqrt(n))


def make_grid(images, nrow=None, padding=1, normalize=True, scale_each=True, channel=None,
              pad_value=1.0):
    """Tile images into one picture, ``nrow`` per row, with values in [0, 1].

    Args:
        images: (N, H, W), (N, C, H, W) (C = 1 grey, C = 3 colour, otherwise every channel is
            shown as its own grey image) or (H, W); a Tensor or an array. A conv weight
            (out, in, kh, kw) shows its filters the same way.
        nrow: images per row (default about sqrt(N)).
        padding: pixels between the images and around them.
        normalize: map values to [0, 1] (see ``scale_each``); False clips them to [0, 1].
        scale_each: with ``normalize``, stretch each image by its own min and max (filters
            and feature maps have any sign and scale); False puts every image on one scale
            spanning their values and [0, 1], so images already in [0, 1] show unchanged,
            tanh outputs in [-1, 1] fill it, and images stay comparable with each other.
        channel: take only this channel of 4-D input.
        pad_value: the value of the padding (1.0 is white).

    Returns:
        A NumPy array of shape (rows * (H + padding) + padding, ncol * (W + padding) +
        padding) for grey images, with a last axis of 3 for colour ones.

    Example:
        >>> make_grid(np.zeros((6, 1, 8, 8)), nrow=3).shape
        (19, 28)
    """
    imgs = _scaled(_as_images(images, channel), normalize, scale_each)
    return _tile(imgs, _columns(len(imgs), nrow), padding, pad_value)


def image_grid(images, path=None, nrow=None, titles=None, cmap="gray", normalize=True,
               scale_each=True, channel=None, title=None, padding=1):
    """Show images in a grid: samples, generated images, conv filters, feature maps.

    The picture is :func:`make_grid` of the images, drawn as one image; per-image titles are
    written above each tile (the gaps grow to make room for them).

    Args:
        images: (N, H, W), (N, C, H, W) or (H, W), as in :func:`make_grid`.
        path: where to save; nothing is saved when None.
        nrow: images per row (default about sqrt(N)).
        titles: one title per image (e.g. predicted labels).
        cmap: the colour map for grey images.
        normalize: map each image to [0, 1]; False clips the values to [0, 1].
        scale_each: with ``normalize``, each image by its own min and max; False puts all
            images on one scale spanning their values and [0, 1] (as in :func:`make_grid`).
        channel: show only this channel of 4-D input.
        title: the figure title.
        padding: pixels between the images.

    Returns:
        The matplotlib Figure.

    Example:
        >>> image_grid(model.conv1.weight, "filters.png")
    """
    imgs = _scaled(_as_images(images, channel), normalize, scale_each)
    n, h, w = imgs.shape[:3]
    ncol = _columns(n, nrow)
    if titles is not None:
        padding = max(padding, math.ceil(h / 4))  # room for a line of text above each tile
    picture = _tile(imgs, ncol, padding, 1.0)
    height, width = picture.shape[:2]
    scale = min(1.3 / max(h, w), 8.0 / max(height, width))  # inches per pixel
    fig = blank_figure((max(3.0, width * scale), max(1.5, height * scale) + 0.4 * bool(title)))
    ax = fig.subplots()
    ax.imshow(picture, cmap=None if picture.ndim == 3 else cmap, vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_axis_off()
    for i, text in enumerate(titles[:n] if titles is not None else ()):
        top, left = padding + (i // ncol) * (h + padding), padding + (i % ncol) * (w + padding)
        ax.text(left + (w - 1) / 2, top - 0.6, str(text), ha="center", va="bottom", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return finish(fig, path)

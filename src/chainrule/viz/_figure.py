"""Figures without global state: matplotlib's object API with the Agg canvas (headless).

The plotting functions build a ``matplotlib.figure.Figure`` directly instead of going through
``pyplot``, so they work on servers without a display, never change the user's backend, and do
not accumulate open figures. Notebooks display the returned Figure as usual.
"""

from __future__ import annotations

import os


def require_matplotlib():
    """Import matplotlib, or raise a clear error naming the optional extra.

    This is chainrule's one check that pictures can be drawn; every plotting function makes it.

    Returns:
        The ``matplotlib`` module.

    Raises:
        ImportError: when matplotlib is not installed (the message names ``chainrule[plot]``).

    Example:
        >>> try:
        ...     viz.require_matplotlib()
        ... except ImportError as err:
        ...     print(f"note: no pictures: {err}")
    """
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        raise ImportError(
            "chainrule.viz needs matplotlib: pip install 'chainrule[plot]' (or pip install "
            "matplotlib)"
        ) from None
    import matplotlib

    return matplotlib


def new_figure(figsize=(6.4, 4.8), nrows=1, ncols=1, projection=None, squeeze=True):
    """A Figure on an Agg canvas and its axes (one Axes, or an array as ``Figure.subplots``)."""
    fig = blank_figure(figsize)
    axes = fig.subplots(nrows, ncols, squeeze=squeeze, subplot_kw={"projection": projection})
    return fig, axes


def blank_figure(figsize=(6.4, 4.8)):
    """A Figure on an Agg canvas with no axes yet."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def finish(fig, path=None, dpi=100):
    """Save ``fig`` to ``path`` (format from the suffix) when given; return the figure."""
    if path is not None:
        folder = os.path.dirname(os.path.abspath(os.fspath(path)))
        os.makedirs(folder, exist_ok=True)
        fig.savefig(path, dpi=dpi)
    return fig


def to_numpy(x):
    """A Tensor, CuPy or NumPy array (or a list) as a NumPy array."""
    import numpy as np

    from chainrule import backend

    data = getattr(x, "data", None)
    if data is not None and hasattr(x, "requires_grad"):
        x = data
    return np.asarray(backend.to_numpy(x)) if hasattr(x, "shape") else np.asarray(x)

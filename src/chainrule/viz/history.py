"""Curves recorded during training: learning curves per epoch and gradient flow per layer."""

from __future__ import annotations

import math

import numpy as np

from chainrule.viz._figure import finish, new_figure


def plot_history(history, path=None, keys=None, title=None):
    """Learning curves: each metric per epoch, training and validation (``val_*``) together.

    Over- and under-fitting show here: a validation loss that turns up while the training loss
    keeps falling is over-fitting; both high and flat is under-fitting. Up to three panels sit
    in one row; more are laid out in rows of ``ceil(len(keys) / 2)``.

    Args:
        history: a ``History`` (its ``.history`` dict) or a dict name -> per-epoch values, as
            ``Trainer.fit`` returns (keys "loss", "val_loss", "accuracy", ...).
        path: where to save; nothing is saved when None.
        keys: the metrics to draw (default: every key without the ``val_`` prefix, except
            the learning rate ``lr``).
        title: the figure title.

    Returns:
        The matplotlib Figure, one panel per metric (training solid, validation dashed).

    Example:
        >>> plot_history(trainer.fit(train, val, epochs=30), "curves.png")
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError("plot_history: expected a History or a non-empty dict of lists")
    if keys is None:  # every metric, once; the learning rate only when asked for
        keys = [k for k in logs if not k.startswith("val_") and k != "lr"]
        keys += [k[4:] for k in logs if k.startswith("val_") and k[4:] not in logs]
    ncols = len(keys) if len(keys) <= 3 else math.ceil(len(keys) / 2)
    nrows = math.ceil(len(keys) / ncols)
    fig, axes = new_figure((5 * ncols, 3.8 * nrows), nrows=nrows, ncols=ncols, squeeze=False)
    for ax in axes.ravel()[len(keys):]:
        ax.remove()
    for ax, key in zip(axes.ravel(), keys):
        for name, style in ((key, "-"), (f"val_{key}", "--")):
            if name in logs:
                values = np.asarray(logs[name], dtype=np.float64)
                ax.plot(np.arange(1, values.size + 1), values, style, marker=".", label=name)
        ax.locator_params(axis="x", integer=True)  # ticks at whole epochs
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return finish(fig, path)


def plot_gradient_flow(flow, path=None, log_scale=True, title=None):
    """Gradient magnitudes per layer: vanishing or exploding gradients at a glance.

    Args:
        flow: a :class:`~chainrule.analysis.GradientFlow` (one backward pass: bars of the mean
            and max |dL/dW| per parameter), or a sequence of them / a
            :class:`~chainrule.analysis.GradientFlowCallback` (lines of ||dL/dW|| per parameter
            over the recorded steps).
        path: where to save; nothing is saved when None.
        log_scale: a logarithmic magnitude axis.
        title: the figure title.

    Returns:
        The matplotlib Figure.

    Example:
        >>> loss.backward(); plot_gradient_flow(gradient_flow(model), "flow.png")
    """
    records = getattr(flow, "history", flow)
    if hasattr(records, "grad_norm"):
        return _flow_bars(records, path, log_scale, title)
    records = list(records)
    if not records:
        raise ValueError("plot_gradient_flow: no gradient-flow record to plot")
    fig, ax = new_figure((8, 4.5))
    names = records[0].names
    norms = np.array([r.grad_norm for r in records])
    steps = np.arange(1, len(records) + 1)
    for i, name in enumerate(names):
        ax.plot(steps, norms[:, i], label=name, color=_layer_color(i, len(names)))
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("record (batch or epoch)")
    ax.set_ylabel("||dL/dW||")
    ax.set_title(title or "gradient norm per parameter during training")
    ax.legend(fontsize=7, ncols=max(1, len(names) // 8))
    return finish(fig, path)


def _layer_color(i, n):
    from matplotlib import colormaps

    return colormaps["viridis"](i / max(n - 1, 1))


def _flow_bars(flow, path, log_scale, title):
    n = len(flow.names)
    fig, ax = new_figure((max(6.0, 0.6 * n + 2), 4.5))
    x = np.arange(n)
    ax.bar(x, flow.grad_abs_max, width=0.8, alpha=0.35, color="tab:cyan", label="max |grad|")
    ax.bar(x, flow.grad_abs_mean, width=0.8, alpha=0.9, color="tab:blue", label="mean |grad|")
    ax.plot(x, flow.grad_norm, "o", color="tab:red", label="||grad||")
    ax.set_xticks(x, flow.names, rotation=60, ha="right", fontsize=8)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("parameter (input side left)")
    ax.set_ylabel("gradient magnitude")
    ax.set_title(title or "gradient flow")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    return finish(fig, path)

"""What a network computes: the decision regions of a 2-D classifier, and the activation
functions with their derivatives. Each function returns the matplotlib Figure and saves it when
given a path (the format follows the suffix: .png, .svg, .pdf)."""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr
from chainrule.viz._figure import finish, new_figure, to_numpy


def _predict(model, points):
    """Model outputs on a batch of 2-D points, without a graph, in eval mode (restored after)."""
    from chainrule.analysis import preserved

    parameters = getattr(model, "parameters", None)
    first = next(iter(parameters()), None) if callable(parameters) else None
    # NOTE: the inputs take the dtype of the model's parameters; a model without parameters
    # (or a plain function) gets chainrule's default float dtype.
    x = cr.as_tensor(points, dtype=None if first is None else first.dtype)
    with cr.no_grad():
        if callable(getattr(model, "train", None)):
            with preserved(model, train_mode=False, parameters=False):
                out = model(x)
        else:
            out = model(x)
    return np.asarray(to_numpy(out), dtype=np.float64)


def plot_decision_boundary(model, X, y=None, path=None, output="logits", resolution=200,
                           margin=0.5, title=None):
    """The regions a 2-D classifier assigns to each class, with the data on top.

    Args:
        model: a callable mapping an (N, 2) Tensor to class scores: (N, C) with C >= 2 (the
            class is the argmax), or (N,) / (N, 1) for a binary classifier.
        X: (N, 2) inputs; y: their labels (colours the points), optional.
        path: where to save; nothing is saved when None.
        output: for a binary model, "logits" (p = sigmoid(score), boundary at score 0) or
            "probs" (the score already is p, boundary at 0.5).
        resolution: grid points per axis.
        margin: space around the data.
        title: the axes title.

    Returns:
        The matplotlib Figure.

    Example:
        >>> X, y = cr.datasets.make_moons(200, noise=0.1, seed=0)
        >>> plot_decision_boundary(model, X, y, "moons.png")
    """
    if output not in ("logits", "probs"):
        raise ValueError(f"plot_decision_boundary: output must be 'logits' or 'probs', got "
                         f"{output!r}")
    X = np.asarray(to_numpy(X), dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (N, 2), got {X.shape}")
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    scores = _predict(model, np.stack([xx.ravel(), yy.ravel()], axis=1))
    fig, ax = new_figure((6, 5))
    if scores.ndim == 2 and scores.shape[1] >= 2:
        n_classes = scores.shape[1]
        classes = scores.argmax(axis=1).reshape(xx.shape)
        ax.contourf(xx, yy, classes, levels=np.arange(n_classes + 1) - 0.5, cmap="tab10",
                    vmin=0, vmax=9, alpha=0.35)
        ax.contour(xx, yy, classes, levels=np.arange(n_classes) + 0.5, colors="k",
                   linewidths=0.8)
    else:
        s = scores.reshape(xx.shape)
        p = 1.0 / (1.0 + np.exp(-np.clip(s, -500, 500))) if output == "logits" else s
        cs = ax.contourf(xx, yy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        ax.contour(xx, yy, p, levels=[0.5], colors="k", linewidths=1.2)
        fig.colorbar(cs, ax=ax, label="p(class 1)")
    if y is not None:
        labels = np.asarray(to_numpy(y)).ravel()
        ax.scatter(X[:, 0], X[:, 1], c=labels, cmap="tab10", vmin=0, vmax=9, s=14,
                   edgecolors="k", linewidths=0.4)
    else:
        ax.scatter(X[:, 0], X[:, 1], s=10, color="k")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title or "decision boundary")
    return finish(fig, path)


def activation_functions() -> dict:
    """The activations of SPEC 2 (and the usual extras) as name -> f(z) on a 1-D Tensor.

    Softmax and log-softmax act on vectors; their 1-D graphs are those of the first component
    of softmax([z, 0]) (which is sigmoid(z)) and of log_softmax([z, 0]) (log sigmoid(z)).

    Returns:
        A dict name -> callable, in the order :func:`plot_activations` draws them.

    Example:
        >>> activation_functions()["ReLU"](cr.tensor([-1.0, 2.0]))      # tensor([0., 2.])
    """
    from chainrule.nn import functional as F

    def pair(fn):
        return lambda z: fn(cr.stack([z, cr.zeros_like(z)], -1), -1)[..., 0]

    return {
        "identity": F.identity,
        "step": F.step,
        "sign": F.sign,
        "piecewise linear": F.piecewise_linear,
        "sigmoid": F.sigmoid,
        "tanh": F.tanh,
        "ReLU": F.relu,
        "leaky ReLU (0.1)": lambda z: F.leaky_relu(z, 0.1),
        "softmax([z, 0])[0]": pair(F.softmax),
        "ELU": F.elu,
        "GELU": F.gelu,
        "softplus": F.softplus,
        "log-softmax([z, 0])[0]": pair(F.log_softmax),
    }


def plot_activations(names=None, path=None, z_range=(-4.0, 4.0), num=401, ncols=4):
    """The graph of every activation function and of its derivative (by autograd).

    For each f, z = linspace(z_range) with requires_grad, y = f(z), and y.sum().backward()
    gives f'(z) in z.grad (each y_i depends on z_i only). Kinks show the subgradient chainrule
    picks (ReLU'(0) = 0); step and sign have derivative 0 everywhere.

    Args:
        names: the activations to draw (keys of :func:`activation_functions`; default all).
        path: where to save; nothing is saved when None.
        z_range: the interval of z.
        num: points per curve.
        ncols: panels per row.

    Returns:
        The matplotlib Figure, one panel per activation (f solid, f' dashed).

    Example:
        >>> plot_activations(["sigmoid", "tanh", "ReLU"], "activations.png")
    """
    table = activation_functions()
    names = list(table) if names is None else list(names)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"plot_activations: unknown activations {unknown}; choose from "
                         f"{list(table)}")
    ncols = min(ncols, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = new_figure((3.2 * ncols, 2.6 * nrows), nrows=nrows, ncols=ncols, squeeze=False)
    for ax in axes.ravel()[len(names):]:
        ax.set_axis_off()
    for ax, name in zip(axes.ravel(), names):
        z = cr.linspace(z_range[0], z_range[1], num, dtype=np.float64, requires_grad=True)
        y = table[name](z)
        y.sum().backward()
        zs = z.numpy()
        ax.plot(zs, y.detach().numpy(), color="tab:blue", label="f(z)")
        ax.plot(zs, z.grad.numpy(), "--", color="tab:orange", label="f'(z)")
        ax.axhline(0, color="gray", lw=0.5)
        ax.axvline(0, color="gray", lw=0.5)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    axes.ravel()[0].legend(fontsize=8)
    return finish(fig, path)

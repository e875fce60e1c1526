"""Plots of training and of what a network computes: learning curves, decision boundaries,
gradient flow and image grids. Each function returns the matplotlib Figure and saves it when
given a path (the format follows the suffix: .png, .svg, .pdf)."""

from __future__ import annotations

import math

import numpy as np

from chainrule.viz._figure import finish, new_figure, to_numpy


def plot_history(history, path=None, keys=None, title=None):
    """Learning curves: each metric per epoch, training and validation (``val_*``) together.

    Over- and under-fitting show here: a validation loss that turns up while the training loss
    keeps falling is over-fitting; both high and flat is under-fitting.

    Args:
        history: a ``History`` (its ``.history`` dict) or a dict name -> per-epoch values, as
            ``Trainer.fit`` returns (keys "loss", "val_loss", "accuracy", ...).
        path: where to save; nothing is saved when None.
        keys: the metrics to draw (default: every key without the ``val_`` prefix, except
            the learning rate ``lr``).
        title: the figure title.

    Returns:
        The matplotlib Figure, one panel per metric.

    Example:
        >>> plot_history(trainer.fit(train, val, epochs=30), "curves.png")
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError("plot_history: expected a History or a non-empty dict of lists")
    if keys is None:  # every metric, once; the learning rate only when asked for
        keys = [k for k in logs if not k.startswith("val_") and k != "lr"]
        keys += [k[4:] for k in logs if k.startswith("val_") and k[4:] not in logs]
    fig, axes = new_figure((5 * len(keys), 3.8), ncols=len(keys), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for name, style in ((key, "-"), (f"val_{key}", "--")):
            if name in logs:
                values = np.asarray(logs[name], dtype=np.float64)
                ax.plot(np.arange(1, values.size + 1), values, style, marker=".", label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return finish(fig, path)


def _predict(model, points):
    """Model outputs on a batch of 2-D points, without a graph, in eval mode."""
    from chainrule.analysis._common import is_model, parameters_of, preserved
    from chainrule.autograd.mode import no_grad
    from chainrule.creation import as_tensor

    dtype = np.float32
    if is_model(model):
        try:
            dtype = parameters_of(model)[0].dtype
        except ValueError:
            dtype = np.float32  # a model without parameters takes the default dtype
    x = as_tensor(points, dtype=dtype)
    with no_grad():
        if is_model(model) and callable(getattr(model, "train", None)):
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


def _as_images(images, channel):
    """(N, H, W) gray or (N, H, W, 3) colour images from NCHW / NHW arrays (or filters)."""
    a = np.asarray(to_numpy(images), dtype=np.float64)
    if a.ndim == 2:
        return a[None]
    if a.ndim == 3:
        return a
    if a.ndim != 4:
        raise ValueError(f"image_grid: expected (N, H, W) or (N, C, H, W), got {a.shape}")
    if channel is not None:
        return a[:, channel]
    if a.shape[1] == 1:
        return a[:, 0]
    if a.shape[1] == 3:
        return a.transpose(0, 2, 3, 1)
    return a.reshape(-1, a.shape[2], a.shape[3])  # every channel of every image, in order


def image_grid(images, path=None, nrow=None, titles=None, cmap="gray", normalize=True,
               channel=None, title=None):
    """Show images in a grid: samples, generated images, conv filters, feature maps.

    Args:
        images: (N, H, W), (N, C, H, W) (C = 1 grey, C = 3 colour, otherwise every channel is
            shown as its own grey image) or (H, W); a conv weight (out, in, kh, kw) shows its
            filters the same way.
        path: where to save; nothing is saved when None.
        nrow: images per row (default about sqrt(N)).
        titles: one title per image (e.g. predicted labels).
        cmap: the colour map for grey images.
        normalize: scale each image to [0, 1] by its own min and max (filters have any sign).
        channel: show only this channel of 4-D input.
        title: the figure title.

    Returns:
        The matplotlib Figure.

    Example:
        >>> image_grid(model.conv1.weight, "filters.png")
    """
    imgs = _as_images(images, channel)
    n = imgs.shape[0]
    if n == 0:
        raise ValueError("image_grid: no image to show")
    ncol = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / ncol)
    fig, axes = new_figure((1.3 * ncol + 0.4, 1.3 * rows + (0.4 if title else 0.1)), nrows=rows,
                           ncols=ncol, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i >= n:
            continue
        img = imgs[i]
        if normalize:
            lo, hi = img.min(), img.max()
            img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        else:
            img = np.clip(img, 0.0, 1.0) if img.ndim == 3 else img
        ax.imshow(img, cmap=None if img.ndim == 3 else cmap, interpolation="nearest",
                  vmin=0 if normalize else None, vmax=1 if normalize else None)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    return finish(fig, path)


def activation_functions() -> dict:
    """The activations of SPEC 2 (and the usual extras) as name -> f(z) on a 1-D Tensor.

    Softmax and log-softmax act on vectors; their 1-D graphs are those of the first component
    of softmax([z, 0]) (which is sigmoid(z)) and of log_softmax([z, 0]) (log sigmoid(z)).
    """
    from chainrule.creation import zeros_like
    from chainrule.nn import functional as F
    from chainrule.ops import stack

    def pair(fn):
        return lambda z: fn(stack([z, zeros_like(z)], -1), -1)[..., 0]

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
    from chainrule.creation import linspace

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
        z = linspace(z_range[0], z_range[1], num, dtype=np.float64, requires_grad=True)
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

"""Pictures of the loss surface: landscapes, optimiser paths over contours, Hessian spectra."""

from __future__ import annotations

import os

import numpy as np

from chainrule.viz._figure import blank_figure, finish, new_figure, to_numpy

_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
           "tab:pink", "tab:gray", "tab:olive", "tab:cyan")


def _levels(Z, n):
    """Contour levels: log-spaced for a positive surface spanning decades, else linear."""
    finite = Z[np.isfinite(Z)]
    lo, hi = float(finite.min()), float(finite.max())
    if lo >= 0 and hi > 0 and hi / max(lo, hi * 1e-6) > 100:
        return np.geomspace(max(lo, hi * 1e-6), hi, n)
    if hi == lo:
        return n
    return np.linspace(lo, hi, n)


def plot_landscape(landscape, path=None, kind="both", levels=30, log_scale=False,
                   trajectory=None, title=None):
    """Draw a loss landscape: a curve (1-D) or contour lines and a 3-D surface (2-D).

    Args:
        landscape: a :class:`~chainrule.analysis.Landscape2D` or ``(alphas, betas, losses)``
            from ``loss_landscape_2d``, or ``(alphas, losses)`` from ``loss_landscape_1d``.
        path: where to save (PNG, SVG, PDF: from the suffix); nothing is saved when None.
        kind: "contour", "surface" or "both" (2-D only).
        levels: the number of contour levels.
        log_scale: plot log10 of the loss (for losses spanning decades).
        trajectory: optional (T, 2) coordinates (e.g. ``training_trajectory(...).coords``)
            drawn over the contours.
        title: the figure title.

    Returns:
        The matplotlib Figure.

    Example:
        >>> plot_landscape(loss_landscape_2d(model, loss_fn, (X, y), seed=0), "surface.png")
    """
    parts = tuple(landscape)[:3]
    if len(parts) == 2:
        alphas, losses = (to_numpy(p) for p in parts[:2])
        fig, ax = new_figure((6, 4))
        ax.plot(alphas, np.log10(losses) if log_scale else losses, color="tab:blue")
        ax.axvline(0.0, color="gray", lw=0.8, ls=":")
        ax.axvline(1.0, color="gray", lw=0.8, ls=":")
        ax.set_xlabel("alpha")
        ax.set_ylabel("log10 loss" if log_scale else "loss")
        ax.set_title(title or "loss along (1 - alpha) theta_a + alpha theta_b")
        return finish(fig, path)
    if kind not in ("contour", "surface", "both"):
        raise ValueError(f"plot_landscape: kind must be 'contour', 'surface' or 'both', got "
                         f"{kind!r}")
    alphas, betas, losses = (to_numpy(p) for p in parts)
    Z = np.log10(np.maximum(losses, 1e-300)).T if log_scale else losses.T
    X, Y = np.meshgrid(alphas, betas)
    panels = ["contour", "surface"] if kind == "both" else [kind]
    fig = blank_figure((6 * len(panels), 5))
    for i, panel in enumerate(panels):
        if panel == "contour":
            ax = fig.add_subplot(1, len(panels), i + 1)
            cs = ax.contourf(X, Y, Z, levels=levels, cmap="viridis")
            ax.contour(X, Y, Z, levels=levels, colors="k", linewidths=0.3)
            fig.colorbar(cs, ax=ax, label="log10 loss" if log_scale else "loss")
            ax.plot([0], [0], marker="*", color="white", markersize=12, markeredgecolor="k")
            if trajectory is not None:
                t = to_numpy(trajectory)
                ax.plot(t[:, 0], t[:, 1], "o-", color="tab:red", markersize=3, lw=1.2)
            ax.set_xlabel("alpha (d1)")
            ax.set_ylabel("beta (d2)")
        else:
            ax = fig.add_subplot(1, len(panels), i + 1, projection="3d")
            ax.plot_surface(X, Y, Z, cmap="viridis", linewidth=0, antialiased=True)
            ax.set_box_aspect(None, zoom=0.85)  # room for the axis labels
            ax.set_xlabel("alpha")
            ax.set_ylabel("beta")
            ax.set_zlabel("log10 loss" if log_scale else "loss")
    fig.suptitle(title or "loss landscape")
    return finish(fig, path)


def _contours(ax, fn, bounds, levels):
    if hasattr(fn, "grid"):
        X, Y, Z = fn.grid(200, bounds)
    else:
        (x0, x1), (y0, y1) = bounds
        X, Y = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
        Z = np.asarray(fn(np.stack([X, Y], axis=-1)))
    ax.contourf(X, Y, Z, levels=_levels(Z, levels), cmap="Greys", alpha=0.5)
    ax.contour(X, Y, Z, levels=_levels(Z, levels), colors="k", linewidths=0.3, alpha=0.6)
    minimum = getattr(fn, "minimum", None)
    if minimum is not None:
        ax.plot(*minimum, marker="*", color="gold", markersize=16, markeredgecolor="k",
                zorder=5)
    ax.set_xlim(*bounds[0])
    ax.set_ylim(*bounds[1])
    ax.set_xlabel("w1")
    ax.set_ylabel("w2")


def _bounds(fn, paths, bounds):
    if bounds is not None:
        return bounds
    if getattr(fn, "bounds", None) is not None:
        return fn.bounds
    pts = np.concatenate([p for p in paths.values() if len(p)])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1.0)
    return ((lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1]))


def plot_trajectories(fn, paths, path=None, bounds=None, levels=30, title=None, fps=20,
                      frames=100):
    """Draw optimiser paths over the contour lines of f; a ``.gif`` path makes an animation.

    Args:
        fn: a :class:`~chainrule.analysis.TestFunction` (or a callable on arrays of shape
            (..., 2)) whose contours are drawn.
        paths: a dict name -> (T, 2) array, as ``optimizer_trajectories`` returns.
        path: where to save. A ``.gif`` suffix writes an animation (the paths growing step by
            step, with matplotlib's PillowWriter); other suffixes write a still picture.
        bounds: ((x_min, x_max), (y_min, y_max)); default ``fn.bounds`` or the paths' extent.
        levels: the number of contour levels (log-spaced for valleys such as Rosenbrock's).
        title: the figure title (default the function's formula).
        fps, frames: frames per second and the number of frames of an animation.

    Returns:
        The matplotlib Figure (showing the whole paths).

    Example:
        >>> paths = optimizer_trajectories(rosenbrock, None, optimizers, steps=300)
        >>> plot_trajectories(rosenbrock, paths, "race.gif")
    """
    paths = {k: np.asarray(to_numpy(v), dtype=np.float64) for k, v in paths.items()}
    bounds = _bounds(fn, paths, bounds)
    fig, ax = new_figure((7, 6))
    _contours(ax, fn, bounds, levels)
    lines, heads = {}, {}
    for (name, p), color in zip(paths.items(), _COLORS * 10):
        (lines[name],) = ax.plot(p[:, 0], p[:, 1], "-", color=color, lw=1.6, label=name)
        (heads[name],) = ax.plot(p[-1:, 0], p[-1:, 1], "o", color=color, markersize=6)
        ax.plot(p[:1, 0], p[:1, 1], "s", color="k", markersize=5)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title or getattr(fn, "formula", "optimiser paths"))
    if path is not None and os.fspath(path).lower().endswith(".gif"):
        _animate(fig, paths, lines, heads, path, fps, frames)
        return fig
    return finish(fig, path)


def _animate(fig, paths, lines, heads, path, fps, frames):
    from matplotlib.animation import FuncAnimation, PillowWriter

    longest = max(len(p) for p in paths.values())
    steps = np.unique(np.linspace(1, longest, min(frames, longest)).astype(int))

    def update(t):
        for name, p in paths.items():
            q = p[: min(t, len(p))]
            lines[name].set_data(q[:, 0], q[:, 1])
            heads[name].set_data(q[-1:, 0], q[-1:, 1])
        return [*lines.values(), *heads.values()]

    os.makedirs(os.path.dirname(os.path.abspath(os.fspath(path))), exist_ok=True)
    anim = FuncAnimation(fig, update, frames=steps, blit=False)
    anim.save(path, writer=PillowWriter(fps=fps), dpi=80)
    update(longest)  # leave the figure showing the whole paths


def plot_spectrum(spectra, path=None, sigma=None, log_scale=True, title=None, bins=50):
    """Draw a Hessian eigenvalue density (or a histogram of eigenvalues).

    Args:
        spectra: a :class:`~chainrule.analysis.SpectralDensity` (from ``hessian_spectrum``), a
            1-D array of eigenvalues, or a dict label -> either (several on one axes).
        path: where to save; nothing is saved when None.
        sigma: the Gaussian width of the density (default: the density's own).
        log_scale: a logarithmic density axis (the bulk near zero dwarfs the outliers).
        title: the figure title.
        bins: histogram bins for arrays of eigenvalues.

    Returns:
        The matplotlib Figure.

    Example:
        >>> plot_spectrum({"small": hessian_spectrum(small, ...),
        ...                "large": hessian_spectrum(large, ...)}, "spectra.png")
    """
    if not isinstance(spectra, dict):
        spectra = {None: spectra}
    fig, ax = new_figure((7, 4.5))
    peak = 0.0
    for (label, spec), color in zip(spectra.items(), _COLORS * 10):
        if hasattr(spec, "density"):
            grid, phi = spec.density(sigma=sigma)
            peak = max(peak, float(phi.max()))
            ax.plot(grid, np.maximum(phi, 1e-300) if log_scale else phi, color=color,
                    label=label)
        else:
            values = np.asarray(to_numpy(spec), dtype=np.float64).ravel()
            counts, _, _ = ax.hist(values, bins=bins, density=True, alpha=0.6, color=color,
                                   label=label)
            peak = max(peak, float(np.max(counts)))
    if log_scale:
        ax.set_yscale("log")
        if peak > 0:  # six decades below the highest peak: the tails, not rounding noise
            ax.set_ylim(bottom=peak * 1e-6, top=peak * 3)
    ax.axvline(0.0, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density")
    ax.set_title(title or "Hessian eigenvalue density")
    if any(label is not None for label in spectra):
        ax.legend()
    return finish(fig, path)

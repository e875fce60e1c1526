"""``inspect_model``: one report on a trained model (what ``chainrule inspect CKPT`` prints).

It gathers the tools of this package on one model and one data set: the top Hessian
eigenvalues (curvature; a negative one means a saddle direction, not a minimum), Hutchinson's
trace, the eigenvalue density, the gradient flow per layer and a 2-D loss landscape, prints a
summary, and writes the plots and a JSON summary to a folder.
"""

from __future__ import annotations

import json
import os

from chainrule.analysis._common import (
    batch_loss,
    batches_of,
    mean_loss,
    named_parameters_of,
    parameters_of,
)
from chainrule.analysis.gradients import gradient_flow
from chainrule.analysis.landscape import loss_landscape_2d
from chainrule.analysis.spectrum import hessian_eigenvalues, hessian_spectrum, hessian_trace
from chainrule.analysis.state import preserved


def _flow_after_backward(model, loss_fn, data):
    """Gradient flow of the mean loss over ``data``, leaving the caller's ``.grad`` as it was."""
    params = [p for _, p in named_parameters_of(model)]
    saved = [p.grad for p in params]
    for p in params:
        p.grad = None
    try:
        batches = list(batches_of(data))
        sizes = []
        with preserved(model, train_mode=False, parameters=False):
            for batch in batches:
                loss, size = batch_loss(model, loss_fn, batch)
                sizes.append(size)
                (loss * size).backward()
            total = float(sum(sizes))
            for p in params:  # sum_b n_b grad L_b / N: the gradient of the mean loss
                if p.grad is not None:
                    p.grad = p.grad / total
            return gradient_flow(model)
    finally:
        for p, g in zip(params, saved):
            p.grad = g


def inspect_model(model, loss_fn, data, out_dir, k=5, n_samples=50, spectrum_iter=30,
                  spectrum_runs=3, landscape_steps=15, seed=0, plots=True, verbose=True) -> dict:
    """Print and save a report on a model: Hessian eigenvalues and trace, gradient flow, plots.

    Args:
        model: a module.
        loss_fn: ``loss_fn(model(inputs), targets)``.
        data: one ``(inputs, targets)`` batch or an iterable of batches (e.g. the test split).
        out_dir: the folder for ``summary.json`` and the plots (created if needed).
        k: how many top eigenvalues (Lanczos when SciPy is installed, else power iteration).
        n_samples: Hutchinson samples for the trace.
        spectrum_iter, spectrum_runs: Lanczos steps and runs of the eigenvalue density.
        landscape_steps: grid points per axis of the loss landscape (0 to skip it).
        seed: seed of every random vector, so the report is repeatable.
        plots: write ``spectrum.png``, ``gradient_flow.png`` and ``landscape.png``
            (needs matplotlib).
        verbose: print the summary.

    Returns:
        The summary dict (also written to ``out_dir/summary.json``): loss, n_parameters,
        eigenvalue method and values, trace, per-parameter gradient flow, written files.

    Example:
        >>> inspect_model(model, nn.CrossEntropyLoss(), (X_test, y_test), "runs/inspect")
    """
    os.makedirs(out_dir, exist_ok=True)
    n = int(sum(p.numel() for p in parameters_of(model)))
    with preserved(model, train_mode=False, parameters=False):
        loss = mean_loss(model, loss_fn, data)
    try:
        import scipy.sparse.linalg  # noqa: F401

        method = "lanczos"
    except ImportError:
        method = "power"
    k = max(1, min(k, n - 1))
    top = hessian_eigenvalues(model, loss_fn, data, k=k, which="LA", method=method, seed=seed)
    bottom = hessian_eigenvalues(model, loss_fn, data, k=1, which="SA", method=method,
                                 seed=seed)
    trace = hessian_trace(model, loss_fn, data, n_samples=n_samples, seed=seed)
    spectrum = hessian_spectrum(model, loss_fn, data, n_iter=spectrum_iter,
                                n_runs=spectrum_runs, seed=seed)
    flow = _flow_after_backward(model, loss_fn, data)
    summary = {
        "loss": loss,
        "n_parameters": n,
        "eigenvalue_method": method,
        "top_eigenvalues": [float(v) for v in top],
        "smallest_eigenvalue": float(bottom[0]),
        "trace": trace,
        "gradient_flow": flow.as_dict(),
        "files": [],
    }
    if plots:
        from chainrule import viz

        files = {"spectrum.png": lambda p: viz.plot_spectrum(spectrum, p),
                 "gradient_flow.png": lambda p: viz.plot_gradient_flow(flow, p)}
        if landscape_steps:
            surf = loss_landscape_2d(model, loss_fn, data, steps=landscape_steps, seed=seed)
            files["landscape.png"] = lambda p: viz.plot_landscape(surf, p)
        for name, draw in files.items():
            draw(os.path.join(out_dir, name))
            summary["files"].append(name)
    with open(os.path.join(out_dir, "summary.json"), "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2, default=float)
    if verbose:
        _print(summary, flow, out_dir)
    return summary


def _print(summary, flow, out_dir):
    print(f"loss {summary['loss']:.6g} over {summary['n_parameters']:,} parameters")
    values = ", ".join(f"{v:.4g}" for v in summary["top_eigenvalues"])
    print(f"top Hessian eigenvalues ({summary['eigenvalue_method']}): {values}")
    smallest = summary["smallest_eigenvalue"]
    note = "  (negative: the loss curves down along it: not a minimum)" if smallest < 0 else ""
    print(f"smallest Hessian eigenvalue: {smallest:.4g}{note}")
    print(f"Hessian trace (Hutchinson): {summary['trace']:.4g}")
    width = max(len(name) for name in flow.names)
    print(f"{'parameter':<{width}}  {'||grad||':>10}  {'||W||':>10}  {'ratio':>10}")
    for name, g, w, r in zip(flow.names, flow.grad_norm, flow.weight_norm, flow.ratio):
        print(f"{name:<{width}}  {g:10.3e}  {w:10.3e}  {r:10.3e}")
    if summary["files"]:
        print(f"plots written to {out_dir}: {', '.join(summary['files'])}")

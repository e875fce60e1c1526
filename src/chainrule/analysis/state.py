"""Giving a model back as it was: its mode, its parameter values and its buffers.

Every analysis tool evaluates the model in a chosen mode (eval by default) and may move its
parameters (a loss landscape visits points around them); :func:`preserved` restores all of it
afterwards, so that looking at a model never changes it. Plots that run a model use it too.
"""

from __future__ import annotations

from contextlib import contextmanager

from chainrule.analysis._common import parameters_of, set_parameters


@contextmanager
def preserved(model, train_mode: bool | None = False, parameters: bool = True):
    """Run a block with the model in a chosen mode; restore mode, parameters and buffers after.

    On exit, even after an exception, every sub-module gets back its own ``training`` flag,
    buffers (BatchNorm's running statistics, which train-mode forward passes update) get back
    their values, and with ``parameters=True`` the parameters too.

    Args:
        model: a module or a sequence of Tensors.
        train_mode: True for ``model.train()``, False for ``model.eval()``, None to leave it.
        parameters: also snapshot the parameter values and write them back on exit.

    Yields:
        None: the block runs with the model in the chosen mode.

    Example:
        >>> with preserved(model, train_mode=False, parameters=False), cr.no_grad():
        ...     scores = model(X)                   # eval mode; the model's mode comes back
    """
    modules = list(model.modules()) if callable(getattr(model, "modules", None)) else []
    flags = [getattr(m, "training", None) for m in modules]
    params = parameters_of(model) if parameters else []
    saved = [p.data.copy() for p in params]
    buffers = list(model.buffers()) if callable(getattr(model, "buffers", None)) else []
    saved_buffers = [b.data.copy() for b in buffers]
    if train_mode is not None and callable(getattr(model, "train", None)):
        model.train(bool(train_mode))
    try:
        yield
    finally:
        for m, flag in zip(modules, flags):
            if flag is not None:
                m.training = flag
        if parameters:
            set_parameters(params, saved)
        for b, data in zip(buffers, saved_buffers):
            if b.data.shape == data.shape:
                b.data[...] = data
            else:
                b.data = data

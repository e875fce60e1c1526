"""Progress display for ``Trainer.fit``, kept apart from the loop (a callback feeding a widget).

- ``verbose=0``: silent.
- ``verbose=1``: on a terminal, a tqdm bar per epoch with the running loss and metrics; when the
  stream is not a terminal (a pipe, a log file, a notebook's captured output) or tqdm is not
  installed, the bar stays quiet and only the epoch summary line is written.
- ``verbose=2``: one summary line per epoch:
  ``Epoch 3/10 - 0.4s - loss: 0.2311 - accuracy: 0.9333 - val_loss: 0.2540 - ...``.

Output goes to ``sys.stderr`` (looked up when training starts) unless ``file`` is given, so the
results a program prints on stdout stay clean.
"""

from __future__ import annotations

import sys
import time

from chainrule.train.callbacks import Callback


def format_value(value) -> str:
    """Four decimals, or scientific notation for very small or large magnitudes."""
    value = float(value)
    if value != 0 and not 1e-3 <= abs(value) < 1e5:
        return f"{value:.4e}"
    return f"{value:.4f}"


def format_logs(logs: dict) -> str:
    """``"loss: 0.1234 - accuracy: 0.9500"``."""
    return " - ".join(f"{k}: {format_value(v)}" for k, v in logs.items())


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressBar(Callback):
    """Show training progress (see the module docstring for the ``verbose`` levels).

    Args:
        verbose: 0, 1 or 2.
        file: the stream to write to (default ``sys.stderr``).
    """

    def __init__(self, verbose: int = 1, file=None):
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        self.verbose, self.file = verbose, file
        self.bar = None

    def on_train_begin(self, logs=None):
        self.stream = self.file if self.file is not None else sys.stderr
        params = getattr(self.trainer, "params", {})
        self.epochs, self.steps = params.get("epochs"), params.get("steps")
        self.use_bar = False
        if self.verbose == 1 and _is_terminal(self.stream):
            try:
                import tqdm  # noqa: F401
                self.use_bar = True
            except ImportError:
                pass

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        if self.use_bar:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.steps, desc=f"Epoch {epoch + 1}/{self.epochs}",
                            file=self.stream, unit="batch", leave=True, dynamic_ncols=True)

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.set_postfix_str(format_logs(logs or {}), refresh=False)
            self.bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose == 0:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(format_logs(logs or {}), refresh=False)
            self.bar.close()
            self.bar = None
            return
        seconds = time.perf_counter() - self.start
        print(f"Epoch {epoch + 1}/{self.epochs} - {seconds:.1f}s - {format_logs(logs or {})}",
              file=self.stream, flush=True)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

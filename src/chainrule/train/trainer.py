"""`Trainer`: Keras' fit / evaluate / predict around the six-line PyTorch loop.

The whole of training is this loop, which stays just as natural to write by hand::

    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()          # forget the previous gradients
            loss = loss_fn(model(x), y)    # forward pass and loss
            loss.backward()                # backward pass: dL/dw for every parameter
            optimizer.step()               # update: w <- w - lr * dL/dw (or Adam, ...)

``Trainer.fit`` runs exactly that, adding metrics, validation, a learning-rate scheduler, a
progress display and callbacks at Keras' hook points, and returns a :class:`History`.
"""

from __future__ import annotations

import copy

import numpy as np

from chainrule import backend
from chainrule.autograd.mode import no_grad
from chainrule.creation import from_numpy
from chainrule.data.dataset import Dataset, TensorDataset
from chainrule.data.loader import DataLoader
from chainrule.tensor import ARRAY_TYPES, Tensor
from chainrule.train.callbacks import CallbackList
from chainrule.train.history import History
from chainrule.train.metrics import get_metric
from chainrule.train.progress import ProgressBar


def as_loader(data, batch_size: int = 32, shuffle: bool = False, seed: int | None = None,
              name: str = "data") -> DataLoader:
    """A DataLoader from a DataLoader (returned as is), a Dataset, an ``(X, y)`` pair or ``X``.

    Raises:
        TypeError: for anything else, naming the argument.
    """
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size, shuffle=shuffle, seed=seed)
    if isinstance(data, (tuple, list)) and len(data) in (1, 2):
        return DataLoader(TensorDataset(*data), batch_size, shuffle=shuffle, seed=seed)
    if isinstance(data, (Tensor, *ARRAY_TYPES)):
        return DataLoader(TensorDataset(data), batch_size, shuffle=shuffle, seed=seed)
    raise TypeError(f"{name} must be a DataLoader, a Dataset, an (X, y) pair or an array, got "
                    f"{type(data).__name__}")


def _split_batch(batch):
    """(inputs, targets) of a batch: ``(x, y)``, ``(x,)`` or a bare ``x``."""
    if isinstance(batch, (tuple, list)):
        if len(batch) == 2:
            return batch[0], batch[1]
        if len(batch) == 1:
            return batch[0], None
        raise ValueError(f"a batch must be (inputs, targets) or (inputs,), got {len(batch)} "
                         "items; use a tuple of inputs as the first item for several inputs")
    return batch, None


def _batch_len(x) -> int:
    while isinstance(x, (tuple, list)):
        x = x[0]
    if isinstance(x, dict):
        return _batch_len(next(iter(x.values())))
    return len(x)


def _resolve_loss(loss):
    if isinstance(loss, str):
        from chainrule.nn import functional as F  # nn sits above train; imported on use

        if not callable(getattr(F, loss, None)):
            raise ValueError(f"unknown loss {loss!r}: give a loss module or function, or the name "
                             "of one in chainrule.nn.functional (e.g. 'cross_entropy', "
                             "'mse_loss')")
        return getattr(F, loss)
    if not callable(loss):
        raise TypeError(f"loss must be callable (loss(output, target)), got {type(loss).__name__}")
    return loss


class Trainer:
    """Train, evaluate and use a model: Keras' ``fit``/``evaluate``/``predict`` for chainrule.

    Args:
        model: a ``chainrule.nn.Module`` (anything callable with ``train()``, ``eval()``,
            ``parameters()``, ``state_dict()`` and ``load_state_dict()``).
        loss: ``loss(output, target) -> scalar Tensor``: a loss module, a function, or the name
            of a function of ``chainrule.nn.functional``.
        optimizer: a ``chainrule.optim`` optimiser over the model's parameters.
        metrics: names (``"accuracy"``, ``"f1"``, ``"mae"``, ...), Metric objects or functions
            ``fn(y_pred, y_true)``; see :mod:`chainrule.train.metrics`.
        callbacks: :class:`~chainrule.train.callbacks.Callback` objects used by every ``fit``.
        scheduler: a ``chainrule.optim.lr_scheduler`` scheduler, stepped once per epoch
            (``ReduceLROnPlateau`` with ``val_loss``, or ``loss`` without validation data).
        device: move every batch there ("cpu" or "cuda") before the forward pass.

    Attributes:
        history: the :class:`History` of the last ``fit``.
        epoch: the number of completed epochs (also the index of the epoch in progress).
        stop_training: set by a callback to end ``fit`` after the current batch.

    Example:
        >>> trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
        ...                   metrics=["accuracy"])
        >>> history = trainer.fit((X, y), val=(X_val, y_val), epochs=20, batch_size=32, seed=0)
        >>> trainer.evaluate((X_test, y_test))            # {'loss': ..., 'accuracy': ...}
        >>> trainer.predict(X_test).argmax(dim=1)
    """

    def __init__(self, model, loss, optimizer=None, metrics=None, callbacks=None,
                 scheduler=None, device: str | None = None):
        self.model = model
        self.loss_fn = _resolve_loss(loss)
        self.optimizer = optimizer
        self.metrics = list(metrics or [])
        for spec in self.metrics:
            get_metric(spec)  # validate names now rather than after the first epoch
        self.callbacks = list(callbacks or [])
        self.scheduler = scheduler
        self.device = device
        self.history = History()
        self.params: dict = {}
        self.epoch = 0
        self.stop_training = False
        self.train_loader: DataLoader | None = None
        self._loader_state = None

    # ---- one step -----------------------------------------------------------------------------
    def _to_device(self, x):
        if self.device is None or x is None:
            return x
        if isinstance(x, Tensor):
            return x.to(self.device)
        if isinstance(x, (tuple, list)):
            return type(x)(self._to_device(v) for v in x)
        if isinstance(x, dict):
            return {k: self._to_device(v) for k, v in x.items()}
        return x

    def forward(self, x):
        """The model's output for a batch of inputs (a tuple of inputs is unpacked)."""
        if isinstance(x, (tuple, list)):
            return self.model(*x)
        if isinstance(x, dict):
            return self.model(**x)
        return self.model(x)

    def train_step(self, x, y):
        """One update on a batch: zero_grad, forward, loss, backward, step.

        Returns:
            (loss, output) of the batch; override to customise a step (Keras' ``train_step``).
        """
        self.optimizer.zero_grad()
        output = self.forward(x)
        loss = self.loss_fn(output, y)
        loss.backward()
        self.optimizer.step()
        return loss, output

    # ---- fit ----------------------------------------------------------------------------------
    def _fresh_metrics(self):
        return [copy.deepcopy(get_metric(spec)) for spec in self.metrics]

    def _logs(self, total: float, count: int, metrics) -> dict:
        logs = {"loss": total / count if count else float("nan")}
        logs.update((m.name, m.compute()) for m in metrics)
        return logs

    def _train_epoch(self, loader, metrics, callbacks) -> dict:
        self.model.train()
        for m in metrics:
            m.reset()
        total, count, logs = 0.0, 0, {}
        for index, batch in enumerate(loader):
            callbacks.on_train_batch_begin(index, {})
            x, y = _split_batch(batch)
            x, y = self._to_device(x), self._to_device(y)
            loss, output = self.train_step(x, y)
            n = _batch_len(x)
            total += float(loss.item()) * n
            count += n
            for m in metrics:
                m.update(output.data, y.data if isinstance(y, Tensor) else y)
            logs = self._logs(total, count, metrics)
            callbacks.on_train_batch_end(index, logs)
            if self.stop_training:
                break
        return logs

    def _step_scheduler(self, logs: dict) -> None:
        if self.scheduler is None:
            return
        from chainrule.optim.lr_scheduler import ReduceLROnPlateau  # optim sits above train

        if isinstance(self.scheduler, ReduceLROnPlateau):
            self.scheduler.step(logs.get("val_loss", logs["loss"]))
        else:
            self.scheduler.step()

    def fit(self, train, val=None, epochs: int = 1, batch_size: int = 32, shuffle: bool = True,
            seed: int | None = None, verbose: int = 1, initial_epoch: int = 0,
            callbacks=None) -> History:
        """Train for ``epochs - initial_epoch`` epochs and return the :class:`History`.

        Args:
            train: a DataLoader, a Dataset, or an ``(X, y)`` pair (batched with ``batch_size``,
                shuffled every epoch when ``shuffle``, from a private generator when ``seed``).
            val: validation data of the same kinds, evaluated after every epoch (``val_*`` logs).
            epochs: the index of the last epoch (Keras semantics: with ``initial_epoch=k`` the
                run trains epochs k .. epochs - 1).
            batch_size, shuffle, seed: used when ``train`` / ``val`` are not DataLoaders.
            verbose: 0 silent, 1 progress bar (on a terminal), 2 one line per epoch.
            initial_epoch: the epoch to start from when resuming (history kept up to it).
            callbacks: extra callbacks for this run only.

        Returns:
            The :class:`History`: ``history.history[key]`` has one entry per epoch, for ``loss``,
            every metric, ``val_`` counterparts when ``val`` is given, and ``lr``.
        """
        if self.optimizer is None:
            raise ValueError("Trainer.fit needs an optimizer: Trainer(model, loss, optimizer)")
        if not isinstance(epochs, (int, np.integer)) or not 0 <= initial_epoch <= epochs:
            raise ValueError(f"Trainer.fit: need 0 <= initial_epoch <= epochs, got "
                             f"initial_epoch={initial_epoch}, epochs={epochs}")
        loader = as_loader(train, batch_size, shuffle, seed, "train")
        val_loader = as_loader(val, batch_size, False, None, "val") if val is not None else None
        if self._loader_state is not None:
            loader.load_state_dict(self._loader_state)
            self._loader_state = None
        self.train_loader = loader
        if initial_epoch == 0:
            self.history = History()
        else:
            self.history.truncate(initial_epoch)
        self.params = {"epochs": epochs, "steps": len(loader), "verbose": verbose}
        self.history.params = dict(self.params)
        cbs = CallbackList([*self.callbacks, *(callbacks or []), ProgressBar(verbose)], self)
        metrics = self._fresh_metrics()
        self.stop_training = False
        self.epoch = initial_epoch
        logs: dict = {}
        cbs.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            self.epoch = epoch
            cbs.on_epoch_begin(epoch, {})
            lr = float(self.optimizer.param_groups[0]["lr"])
            logs = self._train_epoch(loader, metrics, cbs)
            if val_loader is not None:
                val_logs = self._evaluate(val_loader, cbs)
                logs.update((f"val_{k}", v) for k, v in val_logs.items())
            logs["lr"] = lr
            self.epoch = epoch + 1
            self._step_scheduler(logs)
            self.history.append(epoch, logs)
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        return self.history

    # ---- evaluate and predict -----------------------------------------------------------------
    def _evaluate(self, loader, callbacks) -> dict:
        metrics = self._fresh_metrics()
        was_training = getattr(self.model, "training", False)
        self.model.eval()
        total, count = 0.0, 0
        callbacks.on_test_begin({})
        try:
            with no_grad():
                for index, batch in enumerate(loader):
                    callbacks.on_test_batch_begin(index, {})
                    x, y = _split_batch(batch)
                    x, y = self._to_device(x), self._to_device(y)
                    output = self.forward(x)
                    n = _batch_len(x)
                    total += float(self.loss_fn(output, y).item()) * n
                    count += n
                    for m in metrics:
                        m.update(output.data, y.data if isinstance(y, Tensor) else y)
                    callbacks.on_test_batch_end(index, self._logs(total, count, metrics))
        finally:
            self.model.train(was_training)
        logs = self._logs(total, count, metrics)
        callbacks.on_test_end(logs)
        return logs

    def evaluate(self, data, batch_size: int = 32, callbacks=None) -> dict:
        """Loss and metrics on ``data`` (a DataLoader, Dataset or ``(X, y)``), in eval mode.

        Returns:
            ``{"loss": ..., "<metric>": ...}``, means over all samples.
        """
        loader = as_loader(data, batch_size, False, None, "data")
        return self._evaluate(loader, CallbackList(callbacks or [], self))

    def predict(self, data, batch_size: int = 32) -> Tensor:
        """The model's outputs for ``data`` (``X``, ``(X, y)``, a Dataset or a DataLoader).

        Runs in eval mode without recording a graph; the outputs of all batches are
        concatenated along the first axis.
        """
        loader = as_loader(data, batch_size, False, None, "data")
        was_training = getattr(self.model, "training", False)
        self.model.eval()
        outputs = []
        try:
            with no_grad():
                for batch in loader:
                    x, _ = _split_batch(batch)
                    outputs.append(self.forward(self._to_device(x)).data)
        finally:
            self.model.train(was_training)
        return from_numpy(backend.namespace(*outputs).concatenate(outputs))

    # ---- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to resume exactly: model, optimiser and scheduler states, completed
        epochs, history, the global random state and the training loader's generator state."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict() if self.optimizer is not None else None,
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "epoch": self.epoch,
            "history": self.history.state_dict(),
            "rng_state": backend.get_rng_state(),
            "train_loader": self.train_loader.state_dict() if self.train_loader else {},
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; the next ``fit(initial_epoch=trainer.epoch)`` resumes."""
        self.model.load_state_dict(state["model"])
        if self.optimizer is not None and state.get("optimizer") is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.history = History()
        self.history.load_state_dict(state["history"])
        backend.set_rng_state(state["rng_state"])
        self._loader_state = state.get("train_loader") or None

    def save_checkpoint(self, path, **extra) -> None:
        """Save :meth:`state_dict` (plus ``extra`` entries) atomically with ``cr.save``."""
        from chainrule import io  # io sits below train in the layering; imported on use

        io.save({**self.state_dict(), **extra}, path)

    def load_checkpoint(self, path) -> dict:
        """Load a checkpoint written by :meth:`save_checkpoint`; returns the whole dict."""
        from chainrule import io

        state = io.load(path)
        self.load_state_dict(state)
        return state

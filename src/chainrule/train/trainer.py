"""`Trainer`: Keras' fit / evaluate / predict around the six-line PyTorch loop.

The whole of training is this loop, which stays just as natural to write by hand::

    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()          # forget the previous gradients
            loss = loss_fn(model(x), y)    # forward pass and loss
            loss.backward()                # backward pass: dL/dw for every parameter
            optimizer.step()               # update: w <- w - lr * dL/dw (or Adam, ...)

The inner four lines are :meth:`Trainer.update_step` (compiled by ``cr.compile`` with
``Trainer(..., compile=True)``), which :meth:`Trainer.train_step` calls on every batch; a
model trained otherwise (a GAN's two alternating updates, say) overrides ``train_step`` in a
subclass, as in Keras, and keeps everything else: metrics, validation, a learning-rate
scheduler, callbacks at Keras' hook points, a progress display, a :class:`History` and
checkpoints that resume exactly. Under ``mpiexec -n N`` (N > 1), ``fit`` trains data-parallel,
each rank on its shard of every batch (:mod:`chainrule.train.distributed`).
"""

from __future__ import annotations

import copy

import numpy as np

from chainrule import backend
from chainrule.autograd.mode import no_grad
from chainrule.compile import compile as compile_function
from chainrule.creation import from_numpy
from chainrule.data.loader import DataLoader
from chainrule.nn.utils import clip_grad_norm_
from chainrule.tensor import Tensor
from chainrule.train.batches import as_loader, batch_len, split_batch
from chainrule.train.callbacks import CallbackList
from chainrule.train.distributed import data_parallel
from chainrule.train.history import History
from chainrule.train.metrics import get_metric
from chainrule.train.progress import ProgressBar


def _resolve_loss(loss):
    if loss is None:
        return None
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

    ``fit`` calls :meth:`train_step` on every batch, ``evaluate`` calls :meth:`test_step` and
    ``predict`` :meth:`predict_step`. To train a model otherwise, override the steps in a
    subclass (Keras' ``train_step``): a step returns the logs of the epoch so far, which
    :meth:`update_means` keeps as means over the samples. A subclass with several optimisers
    names them in :meth:`named_optimizers`, and checkpoints save and restore each.

    Args:
        model: a ``chainrule.nn.Module`` (anything callable with ``train()``, ``eval()``,
            ``parameters()``, ``state_dict()`` and ``load_state_dict()``).
        loss: ``loss(output, target) -> scalar Tensor``: a loss module, a function, or the name
            of a function of ``chainrule.nn.functional``; None for a subclass whose steps
            compute their own losses.
        optimizer: a ``chainrule.optim`` optimiser over the model's parameters (None for a
            trainer that only evaluates and predicts).
        metrics: names (``"accuracy"``, ``"f1"``, ``"mae"``, ...), Metric objects or functions
            ``fn(y_pred, y_true)``; see :mod:`chainrule.train.metrics`.
        callbacks: :class:`~chainrule.train.callbacks.Callback` objects used by every ``fit``.
        scheduler: a ``chainrule.optim.lr_scheduler`` scheduler, stepped once per epoch
            (``ReduceLROnPlateau`` with ``val_loss``, or ``loss`` without validation data).
        device: move every batch there ("cpu" or "cuda") before the step.
        compile: run :meth:`update_step` through ``cr.compile`` (traced once per batch shape, then
            replayed as array operations); metrics are computed outside, on its results.
        gradient_clip_val: clip the gradients' joint 2-norm to this value after every backward
            (``nn.utils.clip_grad_norm_``: g <- g * min(1, c / ||g||)), as Lightning's Trainer.

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

    def __init__(self, model, loss=None, optimizer=None, metrics=None, callbacks=None,
                 scheduler=None, device: str | None = None, compile: bool = False,
                 gradient_clip_val: float | None = None):
        self.model = model
        self.loss_fn = _resolve_loss(loss)
        self.optimizer = optimizer
        self.metrics = list(metrics or [])
        for spec in self.metrics:
            get_metric(spec)  # validate names now rather than after the first epoch
        self.callbacks = list(callbacks or [])
        self.scheduler = scheduler
        self.device = device
        self.compile = compile
        if gradient_clip_val is not None and not gradient_clip_val > 0:
            raise ValueError(f"Trainer: gradient_clip_val must be positive, got "
                             f"{gradient_clip_val}")
        self.gradient_clip_val = gradient_clip_val
        self._update_step = compile_function(self.update_step) if compile else self.update_step
        self.history = History()
        self.params: dict = {}
        self.epoch = 0
        self.stop_training = False
        self.train_loader: DataLoader | None = None
        self._loader_state = None
        self._means: dict = {}
        self._parallel = self._step_model = None  # data-parallel fit: train/distributed.py
        self.reset_metrics()

    def named_optimizers(self) -> dict:
        """The optimisers by the key of their state in a checkpoint: ``{"optimizer": ...}``
        here; a subclass with several returns each (``GANTrainer``: generator, discriminator)."""
        return {"optimizer": self.optimizer}

    # ---- running means of the logs ------------------------------------------------------------
    def reset_metrics(self) -> None:
        """Start new running means and fresh metrics: ``fit`` calls it at the start of every
        epoch and of every validation, ``evaluate`` once."""
        self._means = {}
        self._metrics = [copy.deepcopy(get_metric(spec)) for spec in self.metrics]

    def update_means(self, values: dict, n: int) -> dict:
        """Fold a batch's values into the running means; return the means so far.

        mean_k = sum_b n_b v_kb / sum_b n_b over the batches b since :meth:`reset_metrics`, so
        that an epoch's value is the mean over its samples.

        Args:
            values: ``{name: value}`` for the batch (numbers, or one-element Tensors).
            n: the number of samples in the batch.

        Returns:
            ``{name: mean}`` for every name seen since the reset.
        """
        for key, value in values.items():
            value = float(value.item() if isinstance(value, Tensor) else value)
            total, count = self._means.get(key, (0.0, 0))
            self._means[key] = (total + value * n, count + n)
        return {key: total / count if count else float("nan")
                for key, (total, count) in self._means.items()}

    def compute_metrics(self, loss, output, target, n: int) -> dict:
        """The logs after a batch: the running mean of ``loss``, then every metric updated with
        (output, target) and computed over the samples so far."""
        logs = self.update_means({"loss": loss}, n)
        for m in self._metrics:
            m.update(output.data, target.data if isinstance(target, Tensor) else target)
        logs.update((m.name, m.compute()) for m in self._metrics)
        return logs

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
        model = self.model if self._step_model is None else self._step_model
        if isinstance(x, (tuple, list)):
            return model(*x)
        if isinstance(x, dict):
            return model(**x)
        return model(x)

    def compute_loss(self, output, target):
        """The loss of a batch, ``loss(output, target)``."""
        if self.loss_fn is None:
            raise ValueError(f"{type(self).__name__} has no loss: give one, Trainer(model, loss, "
                             "optimizer), or override train_step and test_step")
        return self.loss_fn(output, target)

    def train_step(self, batch) -> dict:
        """One update on a batch: zero_grad, forward, loss, backward, step.

        Override it to train otherwise (Keras' ``train_step``); ``fit`` calls it on every
        batch, in train mode, after ``on_train_batch_begin``.

        Args:
            batch: what the loader yields, on ``device``: ``(x, y)``, ``(x,)`` or ``x``.

        Returns:
            The logs of the epoch so far: ``{"loss": ..., "<metric>": ...}``, means over its
            samples (see :meth:`compute_metrics`).
        """
        x, y = split_batch(batch)
        loss, output = self._update_step(x, y)
        return self.compute_metrics(loss, output, y, batch_len(x))

    def update_step(self, x, y) -> tuple:
        """zero_grad, forward, loss, backward, (clipping,) step on one batch; returns (loss,
        output)."""
        self.optimizer.zero_grad()
        output = self.forward(x)
        loss = self.compute_loss(output, y)
        loss.backward()
        if self.gradient_clip_val is not None:
            clip_grad_norm_(self.model.parameters(), self.gradient_clip_val)
        self.optimizer.step()
        return loss, output

    def test_step(self, batch) -> dict:
        """Loss and metrics of a batch, without an update (``evaluate`` and validation call it
        in eval mode, without a graph); returns the logs so far, as :meth:`train_step`."""
        x, y = split_batch(batch)
        output = self.forward(x)
        return self.compute_metrics(self.compute_loss(output, y), output, y, batch_len(x))

    def predict_step(self, batch):
        """The model's output for a batch (targets, if the batch has any, are ignored)."""
        x, _ = split_batch(batch)
        return self.forward(x)

    # ---- fit ----------------------------------------------------------------------------------
    def _train_epoch(self, loader, callbacks) -> dict:
        """One pass over ``loader``, :meth:`train_step` on every batch; the epoch's logs."""
        self.model.train()
        self.reset_metrics()
        logs: dict = {}
        parallel = self._parallel
        for index, batch in enumerate(loader):
            callbacks.on_train_batch_begin(index, {})
            if parallel is None:
                logs = dict(self.train_step(self._to_device(batch)))
            else:  # this rank's shard, through DistributedDataParallel
                logs = parallel.train_step(self, batch, logs)
            callbacks.on_train_batch_end(index, logs)
            if parallel is not None:
                self.stop_training = parallel.agree(self.stop_training)
            if self.stop_training:
                break
        return logs if parallel is None else parallel.finish_epoch(self)

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

        Every epoch: :meth:`train_step` on every batch of ``train``, :meth:`test_step` on every
        batch of ``val``, the scheduler's step, then ``on_epoch_end`` with the epoch's logs.

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
            The :class:`History`: ``history.history[key]`` has one entry per epoch, for every
            log of the steps (``loss`` and the metrics), their ``val_`` counterparts when
            ``val`` is given, and ``lr``.
        """
        missing = [key for key, opt in self.named_optimizers().items() if opt is None]
        if missing:
            raise ValueError(f"{type(self).__name__}.fit has no {' and no '.join(missing)}: "
                             f"give {'it' if len(missing) == 1 else 'them'} to the constructor")
        if not isinstance(epochs, (int, np.integer)) or not 0 <= initial_epoch <= epochs:
            raise ValueError(f"{type(self).__name__}.fit: need 0 <= initial_epoch <= epochs, got "
                             f"initial_epoch={initial_epoch}, epochs={epochs}")
        loader = as_loader(train, batch_size, shuffle, seed, "train")
        val_loader = as_loader(val, batch_size, False, None, "val") if val is not None else None
        if self._loader_state is not None:
            loader.load_state_dict(self._loader_state)
            self._loader_state = None
        self.train_loader = loader
        self._parallel = self._parallel or data_parallel(self)
        if initial_epoch == 0:
            self.history = History()
        else:
            self.history.truncate(initial_epoch)
        self.params = {"epochs": epochs, "steps": len(loader), "verbose": verbose}
        self.history.params = dict(self.params)
        cbs = [*self.callbacks, *(callbacks or []), ProgressBar(verbose)]
        cbs = CallbackList(cbs if self._parallel is None else self._parallel.callbacks(cbs), self)
        self.stop_training = False
        self.epoch = initial_epoch
        logs: dict = {}
        cbs.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            self.epoch = epoch
            cbs.on_epoch_begin(epoch, {})
            lr = {"lr": float(self.optimizer.param_groups[0]["lr"])} \
                if self.optimizer is not None else {}  # the rate this epoch trains with
            logs = self._train_epoch(loader, cbs)
            if val_loader is not None:
                val_logs = self._evaluate(val_loader, cbs, self._parallel)
                logs.update((f"val_{k}", v) for k, v in val_logs.items())
            logs.update(lr)
            self.epoch = epoch + 1
            self._step_scheduler(logs)
            self.history.append(epoch, logs)
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        return self.history

    # ---- evaluate and predict -----------------------------------------------------------------
    def _evaluate(self, loader, callbacks, parallel=None) -> dict:
        was_training = getattr(self.model, "training", False)
        self.model.eval()
        self.reset_metrics()
        logs: dict = {}
        callbacks.on_test_begin({})
        try:
            with no_grad():
                for index, batch in enumerate(loader):
                    if parallel is not None and (batch := parallel.shard(batch)[0]) is None:
                        continue  # a batch smaller than the world: no rows for this rank
                    callbacks.on_test_batch_begin(index, {})
                    logs = dict(self.test_step(self._to_device(batch)))
                    callbacks.on_test_batch_end(index, logs)
        finally:
            self.model.train(was_training)
        logs = logs if parallel is None else parallel.merged_logs(self)
        callbacks.on_test_end(logs)
        return logs

    def evaluate(self, data, batch_size: int = 32, callbacks=None) -> dict:
        """Loss and metrics on ``data`` (a DataLoader, Dataset or ``(X, y)``), in eval mode:
        :meth:`test_step` on every batch, without a graph.

        Returns:
            ``{"loss": ..., "<metric>": ...}``, means over all samples.
        """
        loader = as_loader(data, batch_size, False, None, "data")
        return self._evaluate(loader, CallbackList(callbacks or [], self))

    def predict(self, data, batch_size: int = 32) -> Tensor:
        """The model's outputs for ``data`` (``X``, ``(X, y)``, a Dataset or a DataLoader).

        Runs :meth:`predict_step` in eval mode without recording a graph; the outputs of all
        batches are concatenated along the first axis.
        """
        loader = as_loader(data, batch_size, False, None, "data")
        was_training = getattr(self.model, "training", False)
        self.model.eval()
        outputs = []
        try:
            with no_grad():
                for batch in loader:
                    outputs.append(self.predict_step(self._to_device(batch)).data)
        finally:
            self.model.train(was_training)
        return from_numpy(backend.namespace(*outputs).concatenate(outputs))

    # ---- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to resume exactly, the one checkpoint layout of every model:

        ``model``; one entry per optimiser of :meth:`named_optimizers` (``optimizer``, or
        ``optimizer_g`` and ``optimizer_d`` for a GAN); ``scheduler``; ``epoch`` (completed
        epochs); ``history``; ``rng_state`` (the global random state); ``train_loader`` (the
        training loader's generator state).
        """
        optimizers = {key: opt.state_dict() if opt is not None else None
                      for key, opt in self.named_optimizers().items()}
        return {
            "model": self.model.state_dict(),
            **optimizers,
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "epoch": self.epoch,
            "history": self.history.state_dict(),
            "rng_state": backend.get_rng_state(),
            "train_loader": self.train_loader.state_dict() if self.train_loader else {},
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; the next ``fit(initial_epoch=trainer.epoch)`` resumes."""
        self.model.load_state_dict(state["model"])
        for key, optimizer in self.named_optimizers().items():
            if optimizer is not None and state.get(key) is not None:
                optimizer.load_state_dict(state[key])
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

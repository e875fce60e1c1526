"""`TensorBoard`: Keras' callback that writes a training run for TensorBoard, with tensorboardX.

As in Keras, two runs go under ``log_dir``: ``train`` (the training logs, learning rates,
weight and gradient histograms, the top Hessian eigenvalue, the model's summary and graph) and
``validation`` (the ``val_*`` logs under the names of their training counterparts, so that
TensorBoard draws the two curves in one chart). Epoch values are tagged ``epoch_<name>`` and
stepped by the 0-based epoch; batch values (``update_freq``) are tagged ``batch_<name>`` and
stepped by the batches trained so far. ``tensorboard --logdir DIR`` then shows them.

tensorboardX is an optional extra (``pip install 'chainrule[tensorboard]'``): it writes the
event files with NumPy and protobuf alone, without TensorFlow or PyTorch.
"""

from __future__ import annotations

import importlib.util
import os
import re

import numpy as np

from chainrule import backend
from chainrule.tensor import Tensor
from chainrule.train.batches import as_loader, batch_len, split_batch
from chainrule.train.callbacks import Callback
from chainrule.train.trainer import Trainer

_INSTALL = "pip install 'chainrule[tensorboard]'"
_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9_.\-/]")


def _summary_writer_class():
    """tensorboardX's ``SummaryWriter``, or an ImportError that says how to install it."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError(f"the TensorBoard callback needs tensorboardX, an optional extra: "
                          f"{_INSTALL} (or pip install tensorboardX)") from None
    return SummaryWriter


def _finite_values(x):
    """The finite values of a Tensor as a flat float64 NumPy array (None when there are none)."""
    values = np.asarray(backend.to_numpy(x.data), dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    return values if values.size else None


class TensorBoard(Callback):
    """Write losses, metrics, learning rates, histograms, curvature and the graph for TensorBoard.

    Every epoch it writes the numbers of the ``logs`` dict (``loss``, the metrics, and their
    ``val_`` counterparts in the ``validation`` run) and the learning rate of every parameter
    group of every optimiser (``epoch_learning_rate``; with several optimisers or groups,
    ``epoch_learning_rate/<optimiser key>/group<i>``), the rate each epoch trained with.
    Every ``histogram_freq`` epochs (epochs 0, f, 2f, ...) it writes a histogram of every
    parameter (``weights/<name>``) and of its gradient as last computed, the last batch's
    (``gradients/<name>``); non-finite values are left out of histograms. Every
    ``hessian_freq`` epochs it writes the largest eigenvalue of the Hessian of the training loss
    on one batch (``epoch_hessian_top_eigenvalue``), lambda_max of d^2 L / dW dW, from
    :func:`chainrule.analysis.hessian_eigenvalues` in eval mode with a fixed seed. With
    ``write_graph`` it writes once, at the start, the model's summary table as text
    (``model/summary``) and the computational graph of the loss on one batch as a GraphDef, for
    TensorBoard's Graphs tab (parameters named by their dotted names, ``.`` read as ``/``, so
    that a layer's parameters and the operations that use them share a box).

    The batch for the Hessian and the graph is ``hessian_data`` or else the first batch of the
    training data, read once at the start of ``fit`` without moving the loader's shuffling or
    the global random state: a run with this callback trains exactly as one without it.
    Writers are flushed after every epoch and closed at the end of training. A trainer without
    a loss (``GANTrainer``, whose steps compute their own) gets the summary but no graph.

    Args:
        log_dir: the directory of the runs (``train`` and ``validation`` go under it).
        histogram_freq: write histograms every this many epochs (0: never).
        write_graph: write the model summary and the computational graph.
        hessian_freq: write the top Hessian eigenvalue every this many epochs (0: never). Each
            costs a few dozen Hessian-vector products (Lanczos, with SciPy; power iteration
            without).
        update_freq: "epoch" (epoch values only), "batch" (also every batch's running means),
            or an integer N (every N batches).
        hessian_data: an ``(inputs, targets)`` batch for the Hessian and the graph, instead of
            the first training batch.

    Attributes:
        top_eigenvalues: ``{epoch: lambda_max}`` for the epochs where the Hessian was computed.

    Raises:
        ImportError: when tensorboardX is not installed (``pip install 'chainrule[tensorboard]'``).
        ValueError: for a bad argument; at the start of ``fit``, for ``hessian_freq`` with a
            trainer that has no loss.

    Example:
        >>> trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
        ...                   metrics=["accuracy"],
        ...                   callbacks=[TensorBoard("runs/mlp", hessian_freq=5)])
        >>> trainer.fit((X, y), val=(X_val, y_val), epochs=20)   # then: tensorboard --logdir runs
    """

    rank_zero_only = True  # one writer of the event files in data-parallel training

    def __init__(self, log_dir="logs", histogram_freq: int = 1, write_graph: bool = True,
                 hessian_freq: int = 0, update_freq="epoch", hessian_data=None):
        self._writer_class = _summary_writer_class()
        for name, value in (("histogram_freq", histogram_freq), ("hessian_freq", hessian_freq)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"TensorBoard: {name} must be an integer >= 0, got {value!r}")
        if update_freq == "epoch":
            every = None
        elif update_freq == "batch":
            every = 1
        elif isinstance(update_freq, (int, np.integer)) and not isinstance(update_freq, bool) \
                and update_freq >= 1:
            every = int(update_freq)
        else:
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or an integer "
                             f">= 1, got {update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq, self.hessian_freq = int(histogram_freq), int(hessian_freq)
        self.write_graph, self.update_freq = bool(write_graph), update_freq
        self.hessian_data = hessian_data
        self.top_eigenvalues: dict = {}
        self._every = every
        self._writers: dict = {}
        self._batch = None
        self._rates: dict = {}
        self._step = 0

    def _writer(self, run: str):
        """The SummaryWriter of ``run`` ("train" or "validation"), opened on first use."""
        if run not in self._writers:
            self._writers[run] = self._writer_class(logdir=os.path.join(self.log_dir, run))
        return self._writers[run]

    # ---- hooks --------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._step = self.trainer.epoch * int(self.trainer.params.get("steps", 0))
        self._batch = None
        has_loss = self.trainer.loss_fn is not None \
            or type(self.trainer).compute_loss is not Trainer.compute_loss
        if self.hessian_freq and not has_loss:
            raise ValueError(f"TensorBoard: hessian_freq needs the training loss, and this "
                             f"{type(self.trainer).__name__} has none (loss=None)")
        if has_loss and (self.write_graph or self.hessian_freq):
            self._batch = self._probe_batch()
        if self.write_graph:
            self._write_graph()

    def on_epoch_begin(self, epoch, logs=None):
        self._rates = self._learning_rates()

    def on_train_batch_end(self, batch, logs=None):
        if self._every is None:
            return
        self._step += 1
        if self._step % self._every == 0:
            writer = self._writer("train")
            for key, value in _numbers(logs):
                writer.add_scalar(f"batch_{key}", value, self._step)

    def on_epoch_end(self, epoch, logs=None):
        train = self._writer("train")
        for key, value in _numbers(logs):
            if key == "lr":  # written below, for every optimiser and group
                continue
            if key.startswith("val_"):
                self._writer("validation").add_scalar(f"epoch_{key[4:]}", value, epoch)
            else:
                train.add_scalar(f"epoch_{key}", value, epoch)
        for tag, rate in self._rates.items():
            train.add_scalar(tag, rate, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_histograms(train, epoch)
        if self.hessian_freq and epoch % self.hessian_freq == 0 and self._batch is not None:
            value = self._top_eigenvalue()
            self.top_eigenvalues[epoch] = value
            train.add_scalar("epoch_hessian_top_eigenvalue", value, epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
        self._batch = None

    # ---- what is written ----------------------------------------------------------------------
    def _learning_rates(self) -> dict:
        """``{tag: lr}`` for every parameter group of every optimiser of the trainer."""
        optimizers = {key: opt for key, opt in self.trainer.named_optimizers().items()
                      if opt is not None}
        rates = {}
        for key, opt in optimizers.items():
            groups = opt.param_groups
            for i, group in enumerate(groups):
                tag = "epoch_learning_rate"
                if len(optimizers) > 1:
                    tag += f"/{key}"
                if len(groups) > 1:
                    tag += f"/group{i}"
                rates[tag] = float(group["lr"])
        return rates

    def _write_histograms(self, writer, epoch: int) -> None:
        for name, p in self.model.named_parameters():
            weights = _finite_values(p)
            if weights is not None:
                writer.add_histogram(f"weights/{name}", weights, epoch)
            grads = _finite_values(p.grad) if p.grad is not None else None
            if grads is not None:
                writer.add_histogram(f"gradients/{name}", grads, epoch)

    def _probe_batch(self):
        """(inputs, targets) on the trainer's device: ``hessian_data`` or the first training
        batch, read with the loader's and the global random states put back afterwards."""
        if self.hessian_data is not None:
            inputs = split_batch(self.hessian_data)[0]
            loader = as_loader(self.hessian_data, batch_len(inputs), False, None, "hessian_data")
        else:
            loader = self.trainer.train_loader
        if loader is None:
            return None
        loader_state, rng_state = loader.state_dict(), backend.get_rng_state()
        try:
            batch = next(iter(loader), None)
        finally:
            loader.load_state_dict(loader_state)
            backend.set_rng_state(rng_state)
        if batch is None:
            return None
        return split_batch(self.trainer._to_device(batch))

    def _loss_closure(self):
        x, y = self._batch
        return lambda: self.trainer.compute_loss(self.trainer.forward(x), y)

    def _top_eigenvalue(self) -> float:
        from chainrule.analysis import hessian_eigenvalues  # analysis sits above train

        method = "lanczos" if importlib.util.find_spec("scipy") is not None else "power"
        values = hessian_eigenvalues(self.model, self._loss_closure(), k=1, which="LA",
                                     method=method, seed=0)
        return float(values[0])

    def _write_graph(self) -> None:
        writer = self._writer("train")
        writer.add_text("model/summary", _as_markdown_code(self._summary_text()), 0)
        if self._batch is not None:
            from tensorboardX.proto.event_pb2 import Event

            proto = self._graph_def()
            writer.file_writer.add_event(Event(graph_def=proto.SerializeToString()))

    def _summary_text(self) -> str:
        if not callable(getattr(self.model, "summary", None)):
            return repr(self.model)
        x = self._batch[0] if self._batch is not None else None
        if isinstance(x, Tensor) and x.device.type == "cpu":
            table = self.model.summary((1, *x.shape[1:]), dtype=x.dtype, print_fn=None)
        else:  # several inputs, or a device the summary's probe input is not on
            table = self.model.summary(print_fn=None)
        return str(table)

    def _graph_def(self):
        """The GraphDef of the loss on the probe batch, from :func:`chainrule.analysis.graph`."""
        from chainrule.analysis import graph, preserved  # analysis sits above train

        x, y = self._batch
        params = dict(self.model.named_parameters())
        named = {**params, **{k: v for k, v in (("input", x), ("target", y))
                              if isinstance(v, Tensor)}}
        with preserved(self.model, train_mode=False, parameters=False):
            loss = self._loss_closure()()
        return graph_def(graph(loss, named), set(params))


def _numbers(logs):
    """The (key, float) pairs of ``logs`` whose values are numbers."""
    for key, value in (logs or {}).items():
        if isinstance(value, Tensor) and value.data.size == 1:
            value = value.item()
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            yield key, float(value)


def _as_markdown_code(text: str) -> str:
    """Indent every line by four spaces: TensorBoard's text tab renders Markdown."""
    return "\n".join("    " + line for line in text.splitlines())


def graph_def(g, param_names=()):
    """A TensorFlow ``GraphDef`` (tensorboardX's protobuf) of a chainrule :class:`Graph`.

    Nodes are named for TensorBoard, where ``/`` nests names into boxes: a parameter
    ``fc1.weight`` becomes ``fc1/weight``, an operation whose parameter inputs all belong to one
    layer goes into that layer's box (``fc1/Linear_6``), the leaves named ``input`` and
    ``target`` keep their names, and the graph's output is ``output``. Every node carries its
    output shape (``_output_shapes``), which TensorBoard prints on the edges.

    Args:
        g: a :class:`chainrule.analysis.Graph`, e.g. ``analysis.graph(loss, params)``.
        param_names: the dotted names of the parameters among the graph's leaf labels.

    Returns:
        A ``tensorboardX.proto.graph_pb2.GraphDef``.

    Example:
        >>> g = analysis.graph(loss, dict(model.named_parameters()))
        >>> writer.file_writer.add_event(Event(graph_def=graph_def(g).SerializeToString()))
    """
    from tensorboardX.proto.attr_value_pb2 import AttrValue
    from tensorboardX.proto.graph_pb2 import GraphDef
    from tensorboardX.proto.node_def_pb2 import NodeDef
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboardX.proto.versions_pb2 import VersionDef

    param_names = set(param_names)
    inputs = {n.id: [] for n in g.nodes}
    for source, target in g.edges:
        inputs[target].append(source)
    names, kinds = {}, {}
    for n in g.nodes:  # leaves first: an operation's box comes from its parameters' names
        title = n.label.split("\n")[0]
        if n.kind == "leaf" and title in param_names:
            names[n.id], kinds[n.id] = title.replace(".", "/"), "Parameter"
        elif n.kind != "op" and title in ("input", "target"):
            names[n.id], kinds[n.id] = title, "Input"
        elif n.kind == "output":
            names[n.id], kinds[n.id] = "output", "Output"
        elif n.kind != "op":
            names[n.id], kinds[n.id] = f"{n.kind}_{n.id}", "Constant"
    for n in g.nodes:
        if n.kind != "op":
            continue
        title = n.label.split("\n")[0]
        boxes = {names[i].rsplit("/", 1)[0] for i in inputs[n.id]
                 if kinds.get(i) == "Parameter" and "/" in names[i]}
        box = f"{boxes.pop()}/" if len(boxes) == 1 else ""
        names[n.id], kinds[n.id] = f"{box}{title}_{n.id.lstrip('n')}", title
    nodes = []
    for n in g.nodes:
        attr = {}
        if n.shape is not None:
            dims = [TensorShapeProto.Dim(size=int(s)) for s in n.shape]
            shapes = AttrValue.ListValue(shape=[TensorShapeProto(dim=dims)])
            attr["_output_shapes"] = AttrValue(list=shapes)
        nodes.append(NodeDef(name=_NOT_IN_NAMES.sub("_", names[n.id]), op=kinds[n.id],
                             input=[_NOT_IN_NAMES.sub("_", names[i]) for i in inputs[n.id]],
                             attr=attr))
    return GraphDef(node=nodes, versions=VersionDef(producer=22))

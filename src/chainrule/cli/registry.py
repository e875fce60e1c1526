"""Registries of the ``chainrule`` command: datasets, models, tasks and optimisers, by name.

Registering a new one is one call::

    register_dataset("sine-seq", lambda seed, **kw: split(*make_sine_sequences(seed=seed, **kw),
                                                           seed=seed))
    register_model("lenet", lambda in_shape, out_features: LeNet(in_shape[0], out_features))

- A dataset builder is ``builder(seed, **options) -> TaskData``; :func:`split` makes one from
  ``(X, y)``.
- A model builder is ``builder(in_shape, out_features, **options) -> Module``; ``in_shape`` is
  the shape of one sample, ``out_features`` the number of classes (classification) or of target
  columns (regression). A checkpoint stores the model's name and these arguments, so that
  ``chainrule evaluate`` and ``predict`` rebuild it.
- A task names the loss and the metrics: ``classification`` and ``regression`` come from a
  dataset's targets; a model may impose its own by a ``task`` attribute of its builder
  (``reconstruction`` for the autoencoder, trained on (x, x) pairs; ``generation`` for the GAN,
  trained by its own adversarial loop instead of the Trainer).

The model families and the samples they take:

- ``mlp``, ``linear``: any samples (images and sequences are flattened);
- ``cnn`` (LeNet): images (C, H, W), or flat vectors of H * H values, such as the 64 pixels of
  ``digits``, which the model itself unflattens to (1, H, H) (an ``nn.Unflatten`` first layer),
  so that every model of a dataset takes the same inputs, checkpoints and ``.npy`` files;
- ``rnn``, ``lstm``, ``gru``: sequences (T, F), batch first, such as ``sine-seq``;
- ``autoencoder``, ``gan``: any samples; pictures of images are drawn for image-like ones;
- ``gpt``: windows of characters of the ``text`` dataset (the "language" task).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field

import numpy as np

from chainrule.data.dataset import TensorDataset, random_split


class Registry:
    """A mapping from names to builders, with one-line registration and clear errors."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, tuple] = {}

    def register(self, name: str, builder=None, help: str = ""):  # noqa: A002
        """Register ``builder`` under ``name`` (also usable as a decorator)."""
        if builder is None:
            return lambda fn: self.register(name, fn, help)
        help = help or (inspect.getdoc(builder) or "").split("\n")[0]
        self._entries[name] = (builder, help.replace("``", "").rstrip("."))
        return builder

    def __getitem__(self, name: str):
        if name not in self._entries:
            raise KeyError(f"unknown {self.kind} {name!r}; choose from: {', '.join(self.names())}")
        return self._entries[name][0]

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        return sorted(self._entries)

    def help(self, name: str) -> str:
        return self._entries[name][1]

    def options(self, name: str) -> list[str] | None:
        """The keyword options a builder accepts (None when it takes any ``**options``)."""
        params = inspect.signature(self[name]).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return None
        return [p.name for p in params
                if p.default is not inspect.Parameter.empty and p.name != "seed"]


DATASETS = Registry("dataset")
MODELS = Registry("model")
TASKS = Registry("task")
OPTIMIZERS = Registry("optimizer")

register_dataset = DATASETS.register
register_model = MODELS.register
register_task = TASKS.register
register_optimizer = OPTIMIZERS.register


def model_task(name: str) -> str | None:
    """The task a model imposes (its builder's ``task`` attribute), or None: the dataset's."""
    return getattr(MODELS[name], "task", None)


# ---- data -------------------------------------------------------------------------------------
@dataclass
class TaskData:
    """Train and test splits of a dataset, with its task.

    Attributes:
        train, test: ``(X, y)`` pairs of Tensors.
        task: a registered task name ("classification" or "regression").
        num_classes: classes of a classification task.
        class_names: optional names of the classes.
        score_samples: optional ``fn(samples) -> dict`` of measures of generated samples (how
            many modes of a mixture a GAN covers).
        vocabulary: the characters of a text dataset, in index order (None for other data).
    """

    train: tuple
    test: tuple
    task: str = "classification"
    num_classes: int | None = None
    class_names: list = field(default_factory=list)
    score_samples: object = None
    vocabulary: str | None = None

    @property
    def in_shape(self) -> tuple:
        return tuple(self.train[0].shape[1:])


def split(X, y, seed: int = 0, test_fraction: float = 0.2, task: str | None = None) -> TaskData:
    """Split ``(X, y)`` at random into train and test parts (``test_fraction`` for the test).

    The task is "classification" for integer targets, "regression" otherwise, unless given.
    """
    task = task or ("classification" if y.dtype.kind in "iu" else "regression")
    train, test = random_split(TensorDataset(X, y), [1 - test_fraction, test_fraction],
                               seed=seed)
    pick = [ds.__getitems__(np.arange(len(ds))) for ds in (train, test)]
    num_classes = int(y.numpy().max()) + 1 if task == "classification" else None
    return TaskData(pick[0], pick[1], task, num_classes)


def _digits(seed: int = 0, test_fraction: float = 0.2) -> TaskData:
    """The 8x8 handwritten digits that ship with scikit-learn (1,797 images, 10 classes)"""
    from chainrule.data.datasets import load_digits

    return split(*load_digits(), seed=seed, test_fraction=test_fraction)


def _mnist(seed: int = 0, root: str | None = None) -> TaskData:
    """MNIST from IDX files in a local folder (--data-dir DIR); nothing is downloaded"""
    from chainrule.data.datasets import load_mnist

    if root is None:
        raise ValueError("the mnist dataset needs --data-dir DIR, a folder holding the MNIST "
                         "IDX files (train-images-idx3-ubyte[.gz], ...)")
    train = load_mnist(root, train=True, flatten=False)
    test = load_mnist(root, train=False, flatten=False)
    return TaskData(train, test, "classification", 10)


def _generated(make, **defaults):
    """A dataset builder around a generator of :mod:`chainrule.data.datasets`.

    Its options are the generator's keyword arguments (with ``defaults`` overriding theirs).
    """

    def builder(seed: int = 0, **options):
        return split(*make(**{**defaults, **options}, seed=seed), seed=seed)

    params = [inspect.Parameter("seed", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=0)]
    params += [p.replace(default=defaults.get(p.name, p.default))
               for p in inspect.signature(make).parameters.values() if p.name != "seed"]
    builder.__signature__ = inspect.Signature(params)
    builder.__doc__ = (inspect.getdoc(make) or "").split("\n")[0].rstrip(".")
    return builder


def _mixture(seed: int = 0, n_samples: int = 2000, modes: int = 8, radius: float = 2.0,
             std: float = 0.05) -> TaskData:
    """Gaussians on a ring in the plane, the usual test of a GAN's mode coverage"""
    from chainrule.data.generative import make_gaussian_mixture, ring_centers
    from chainrule.models.gan import mode_coverage

    data = split(*make_gaussian_mixture(n_samples, modes, radius, std, seed=seed), seed=seed)
    centers = ring_centers(modes, radius)

    def score(samples) -> dict:
        coverage = mode_coverage(samples, centers, std)
        return {"modes_covered": coverage.covered, "quality": coverage.quality}

    data.score_samples = score
    return data


def _text(seed: int = 0, path: str | None = None, max_chars: int = 300_000,
          block_size: int = 128, val_fraction: float = 0.1) -> TaskData:
    """Characters of a text for language models (path=FILE; default: Python's own sources)

    Non-overlapping windows of ``block_size`` characters, each with the window shifted by one
    as its targets; the last ``val_fraction`` of the text is the test split.
    """
    from chainrule.data.text import char_datasets, load_text

    train, test = char_datasets(load_text(path, max_chars), block_size, val_fraction,
                                stride=block_size)
    return TaskData(train.tensors(), test.tensors(), "language", train.vocab_size,
                    vocabulary="".join(train.itos))


def _register_datasets():
    from chainrule.data import datasets as d

    register_dataset("digits", _digits)
    register_dataset("mnist", _mnist)
    register_dataset("moons", _generated(d.make_moons, n_samples=1000, noise=0.1))
    register_dataset("circles", _generated(d.make_circles, n_samples=1000, noise=0.05))
    register_dataset("spirals", _generated(d.make_spirals, n_samples=900, noise=0.2))
    register_dataset("blobs", _generated(d.make_blobs, n_samples=1000))
    register_dataset("xor", _generated(d.make_xor, n_samples=1000))
    register_dataset("sine", _generated(d.make_sine, n_samples=1000, noise=0.05))
    register_dataset("sine-seq", _generated(d.make_sine_sequences, n_samples=1000, length=50))
    register_dataset("mixture", _mixture)
    register_dataset("text", _text)


# ---- models -----------------------------------------------------------------------------------
def _mlp(in_shape, out_features, hidden=(128,), activation="relu", dropout=0.0,
         batch_norm=False):
    """Multi-layer perceptron: Linear -> activation for each hidden width, then Linear"""
    from chainrule import nn
    from chainrule.models.mlp import MLP

    hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
    mlp = MLP([int(np.prod(in_shape)), *hidden, out_features], activation=activation,
              dropout=dropout, batch_norm=batch_norm)
    return mlp if len(in_shape) == 1 else nn.Sequential(nn.Flatten(), mlp)


def _linear(in_shape, out_features):
    """One Linear layer: softmax regression or linear regression"""
    from chainrule import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(in_shape)), out_features))


def image_shape(in_shape) -> tuple | None:
    """(C, H, W) of image samples: ``in_shape`` itself when it has three axes, (1, H, H) for flat
    vectors of H * H values (H >= 2, a grey square image), else None."""
    in_shape = tuple(int(s) for s in in_shape)
    if len(in_shape) == 3:
        return in_shape
    if len(in_shape) == 1 and in_shape[0] >= 4 and math.isqrt(in_shape[0]) ** 2 == in_shape[0]:
        side = math.isqrt(in_shape[0])
        return (1, side, side)
    return None


def _needs_images(in_shape, model: str) -> tuple:
    shape = image_shape(in_shape)
    if shape is None:
        raise ValueError(f"{model} needs images, samples of shape (C, H, W) or of H * H pixels; "
                         f"these samples have shape {tuple(in_shape)}")
    return shape


def _cnn(in_shape, out_features, channels=(6, 16), hidden=(120, 84), kernel_size=5,
         activation="relu", pool="max"):
    """LeNet: two convolutions with pooling, then three Linear layers (images, or H*H vectors)"""
    from chainrule import nn
    from chainrule.models.lenet import LeNet

    shape = _needs_images(in_shape, "cnn")
    lenet = LeNet(out_features, in_channels=shape[0], input_size=shape[1:],
                  channels=tuple(channels), hidden=tuple(hidden), kernel_size=kernel_size,
                  activation=activation, pool=pool)
    return lenet if len(in_shape) == 3 else nn.Sequential(nn.Unflatten(1, shape), lenet)


def _recurrent(cell: str):
    def build(in_shape, out_features, hidden_size=64, num_layers=1, bidirectional=False,
              dropout=0.0):
        from chainrule.models.rnn import RNNClassifier

        if len(in_shape) != 2:
            raise ValueError(f"{cell} needs sequences, samples of shape (T, F) (time steps, "
                             f"features); these samples have shape {tuple(in_shape)}")
        return RNNClassifier(in_shape[-1], hidden_size, out_features, cell=cell,
                             num_layers=num_layers, bidirectional=bidirectional,
                             dropout=dropout)

    build.__doc__ = f"{cell.upper()} over the sequence (N, T, F), Linear on its last hidden state"
    return build


def output_activation_for(X) -> str | None:
    """The output activation that fits data ``X``: "sigmoid" for values in [0, 1], "tanh" in
    [-1, 1], otherwise None (a linear output)."""
    x = X.numpy() if hasattr(X, "numpy") else np.asarray(X)
    low, high = float(x.min()), float(x.max())
    if low >= 0.0 and high <= 1.0:
        return "sigmoid"
    return "tanh" if low >= -1.0 and high <= 1.0 else None


def _activation(name):
    return None if name in (None, "auto", "none", "None") else name


def _autoencoder(in_shape, out_features, code_size=2, hidden=(128, 32), conv=False,
                 output_activation="auto"):
    """Autoencoder: encoder to a small code, decoder back, trained on (x, x) (MSE)

    ``conv=True`` uses strided convolutions (images, or H*H vectors unflattened inside).
    ``output_activation="auto"`` is chosen by ``chainrule train`` from the training data (see
    :func:`output_activation_for`); a direct call takes it as linear.
    """
    from chainrule import nn
    from chainrule.models.autoencoder import Autoencoder, ConvAutoencoder

    activation = _activation(output_activation)
    if not conv:
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        return Autoencoder(in_shape, code_size=code_size, hidden=hidden,
                           output_activation=activation)
    shape = _needs_images(in_shape, "autoencoder with conv=True")
    model = ConvAutoencoder(shape[0], shape[1:], code_size=code_size,
                            output_activation=activation)
    if len(in_shape) == 1:  # flat vectors in and out: the codes stay those of the images
        model.encoder.insert(0, nn.Unflatten(1, shape))
        model.decoder.append(nn.Flatten())
    return model


def _gan(in_shape, out_features, latent_dim=32, hidden=(128, 256), label_smoothing=0.1,
         output_activation="auto"):
    """GAN: MLP generator and discriminator, trained adversarially (Adam, lr of --lr)

    ``output_activation="auto"`` is chosen by ``chainrule train`` from the training data (see
    :func:`output_activation_for`); a direct call takes it as linear.
    """
    from chainrule.models.gan import GAN

    hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
    return GAN(tuple(in_shape), latent_dim=latent_dim, hidden=hidden,
               output_activation=_activation(output_activation),
               label_smoothing=label_smoothing)


def _gpt(in_shape, out_features, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=True,
         tie_weights=True):
    """GPT: a decoder-only transformer predicting the next character (--data text)"""
    from chainrule.models.gpt import GPT

    if len(in_shape) != 1:
        raise ValueError(f"gpt needs windows of tokens, samples of shape (T,); these samples "
                         f"have shape {tuple(in_shape)}")
    return GPT(out_features, block_size=in_shape[0], n_layer=n_layer, n_head=n_head,
               n_embd=n_embd, dropout=dropout, bias=bias, tie_weights=tie_weights)


_autoencoder.task = "reconstruction"
_gan.task = "generation"
_gpt.task = "language"


# ---- tasks and optimisers ---------------------------------------------------------------------
@dataclass
class Task:
    """What training a dataset means: its loss (a factory) and the metrics to report."""

    loss: object
    metrics: tuple
    out_features: object  # TaskData -> int


def _cross_entropy():
    from chainrule import nn

    return nn.CrossEntropyLoss()


def _mse():
    from chainrule import nn

    return nn.MSELoss()


def _sequence_cross_entropy():
    from chainrule.models.gpt import sequence_cross_entropy

    return sequence_cross_entropy


def _optimizer(name):
    def build(params, **options):
        from chainrule import optim

        return getattr(optim, name)(params, **options)

    build.__doc__ = f"chainrule.optim.{name}"
    return build


register_model("mlp", _mlp)
register_model("linear", _linear)
register_model("cnn", _cnn)
for _cell in ("rnn", "lstm", "gru"):
    register_model(_cell, _recurrent(_cell))
register_model("autoencoder", _autoencoder)
register_model("gan", _gan)
register_model("gpt", _gpt)
register_task("classification", Task(_cross_entropy, ("accuracy",), lambda d: d.num_classes))
register_task("regression", Task(_mse, ("mae", "r2"),
                                 lambda d: int(np.prod(d.train[1].shape[1:]) or 1)))
register_task("reconstruction", Task(_mse, ("mae",), lambda d: None))
register_task("generation", Task(None, (), lambda d: None))  # the GAN's own two losses
register_task("language", Task(_sequence_cross_entropy, (), lambda d: d.num_classes))
for _name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"):
    register_optimizer(_name.lower(), _optimizer(_name))
_register_datasets()

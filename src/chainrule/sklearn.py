"""scikit-learn estimators around a chainrule network: `NeuralNetClassifier`, `NeuralNetRegressor`.

A network becomes an estimator like any other of scikit-learn: ``fit(X, y)``, ``predict``,
``predict_proba``, ``score``, ``get_params`` / ``set_params``, so that it drops into a
``Pipeline``, ``GridSearchCV`` or ``cross_val_score``. Training is ``cr.train.Trainer.fit``,
the one training loop of chainrule; the estimator only turns arrays into a network, an
optimiser and a loss, and the network's outputs back into labels or values.

The constructor takes the *recipe* of the network, not the network, because the numbers of
input features and of outputs are known only in ``fit``:

- ``module=None`` (default) or ``module=cr.models.MLP``, or any class or factory whose first
  parameter is ``sizes``: called as ``module([n_features, *hidden_sizes, n_outputs], ...)``,
  with ``hidden_sizes`` from ``module__hidden_sizes`` (default ``(100,)``);
- any other class or factory: called as ``module(n_features, n_outputs, **module_params)``,
  as ``nn.Linear`` or ``def make_net(n_features, n_outputs, hidden=32): ...``;
- a ``Module`` instance: a copy of it is trained at every ``fit``, so every fit starts from
  the same weights.

Parameters named ``module__<name>``, ``optimizer__<name>`` and ``loss__<name>`` go to the
module, the optimiser class and the loss class; they are hyper-parameters like the others
(``get_params``, ``set_params``, ``clone``, grid searches). With ``random_state`` set, the
initial weights, the shuffling, dropout and the validation split are drawn from chainrule's
generator seeded with it (:func:`chainrule.manual_seed`), so a fit repeats exactly; the global
generator is restored afterwards.

Both estimators pass scikit-learn's ``check_estimator`` (scikit-learn >= 1.6) with no check
skipped.

Example:
    >>> from sklearn.model_selection import GridSearchCV
    >>> from chainrule.sklearn import NeuralNetClassifier
    >>> net = NeuralNetClassifier(max_epochs=20, lr=0.01, random_state=0)
    >>> search = GridSearchCV(net, {"lr": [1e-3, 1e-2], "module__hidden_sizes": [(32,), (64,)]})
    >>> search.fit(X, y).best_params_
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import numbers

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data
except ImportError:
    raise ImportError("chainrule.sklearn needs scikit-learn >= 1.6: pip install -U scikit-learn") \
        from None

from chainrule import backend, nn
from chainrule.optim import Adam
from chainrule.train.trainer import Trainer

_PREFIXES = ("module__", "optimizer__", "loss__")
_PREDICT_BATCH_SIZE = 1024  # predictions need no small batches: fewer, larger matrix products


@contextlib.contextmanager
def _seeded(seed):
    """Draw from chainrule's generator seeded with ``seed`` (None: as it is), then restore it."""
    if seed is None:
        yield
        return
    state = backend.get_rng_state()
    backend.manual_seed(seed)
    try:
        yield
    finally:
        backend.set_rng_state(state)


def build_module(module, n_features: int, n_outputs: int, params: dict):
    """The network of an estimator, from its ``module`` recipe and ``module__*`` parameters.

    Args:
        module: None (an MLP), a class or factory, or a Module instance (see the module's
            documentation for how each is called).
        n_features: the number of input features found in ``fit``.
        n_outputs: the number of outputs: classes, or regression targets.
        params: the ``module__*`` parameters, without the prefix.

    Returns:
        The ``nn.Module`` to train.

    Raises:
        ValueError: for parameters given with a Module instance.
        TypeError: for a ``module`` that is not callable.
    """
    if isinstance(module, nn.Module):
        if params:
            raise ValueError(f"module__ parameters {sorted(params)} need a module class or "
                             "factory, not a Module instance")
        return copy.deepcopy(module)
    if module is None:
        from chainrule.models.mlp import MLP  # models sit above train; loaded on use

        module = MLP
    if not callable(module):
        raise TypeError(f"module must be a Module class, a factory or a Module, got "
                        f"{type(module).__name__}")
    params = dict(params)
    try:
        first = next(iter(inspect.signature(module).parameters), None)
    except (TypeError, ValueError):  # no signature to read (a builtin)
        first = None
    if first == "sizes":
        if "sizes" in params:  # every width given: module__sizes=[n_features, ..., n_outputs]
            return module(**params)
        hidden = params.pop("hidden_sizes", (100,))
        hidden = (hidden,) if isinstance(hidden, numbers.Integral) else tuple(hidden)
        return module([n_features, *hidden, n_outputs], **params)
    return module(n_features, n_outputs, **params)


class _NeuralNet(BaseEstimator):
    """What the classifier and the regressor share: parameters, ``fit`` and the forward pass."""

    _default_loss = None
    _metrics: tuple = ()

    def __init__(self, module=None, *, optimizer=Adam, lr: float = 0.001, loss=None,
                 max_epochs: int = 100, batch_size: int = 32, shuffle: bool = True,
                 validation_fraction=None, callbacks=None, random_state=None,
                 verbose: int = 0, device=None, **kwargs):
        self.module = module
        self.optimizer = optimizer
        self.lr = lr
        self.loss = loss
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.validation_fraction = validation_fraction
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        self.device = device
        # NOTE: the module__/optimizer__/loss__ parameters are kept as given and checked in fit
        # (scikit-learn's rule: __init__ and set_params store, fit validates).
        self._nested_params = kwargs

    # ---- parameters ---------------------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict:
        """The constructor's parameters, and the ``module__``/``optimizer__``/``loss__`` ones."""
        return {**super().get_params(deep=deep), **self._nested_params}

    def set_params(self, **params):
        """Set parameters, nested ``module__*``, ``optimizer__*`` and ``loss__*`` ones included.

        Returns:
            The estimator.
        """
        nested = {key: value for key, value in params.items()
                  if key.startswith(_PREFIXES) or key in self._nested_params}
        self._nested_params = {**self._nested_params, **nested}
        super().set_params(**{k: v for k, v in params.items() if k not in nested})
        return self

    def _params_of(self, prefix: str) -> dict:
        return {key[len(prefix):]: value for key, value in self._nested_params.items()
                if key.startswith(prefix)}

    def _check_params(self) -> None:
        name = type(self).__name__
        unknown = sorted(key for key in self._nested_params if not key.startswith(_PREFIXES))
        if unknown:
            raise TypeError(f"{name} got unexpected parameters {unknown}; nested parameters start "
                            f"with {', '.join(_PREFIXES)}")
        for key in ("max_epochs", "batch_size"):
            value = getattr(self, key)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: {key} must be a positive integer, got {value!r}")
        fraction = self.validation_fraction
        if fraction is not None and not (isinstance(fraction, numbers.Real) and 0 < fraction < 1):
            raise ValueError(f"{name}: validation_fraction must be None or in (0, 1), got "
                             f"{fraction!r}")

    def _seed(self):
        """The seed of chainrule's generator for a fit: the int ``random_state``, a draw from a
        ``RandomState``, or None."""
        if self.random_state is None:
            return None
        if isinstance(self.random_state, numbers.Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _build_loss(self):
        params = self._params_of("loss__")
        loss = self._default_loss if self.loss is None else self.loss
        if isinstance(loss, type):
            return loss(**params)
        if params:
            raise ValueError(f"loss__ parameters {sorted(params)} need a loss class, got "
                             f"{loss!r}")
        return loss

    # ---- fit ----------------------------------------------------------------------------------
    def _fit(self, X, targets, n_outputs: int):
        """Train a new network on (X, targets) with the Trainer; set the fitted attributes."""
        self._check_params()
        seed = self._seed()
        with _seeded(seed):
            val = None
            if self.validation_fraction is not None:
                n_val = int(round(self.validation_fraction * len(X)))
                if not 1 <= n_val < len(X):
                    raise ValueError(f"{type(self).__name__}: validation_fraction="
                                     f"{self.validation_fraction} of {len(X)} samples leaves "
                                     f"{n_val} for validation")
                order = backend.default_generator().permutation(len(X))
                val = (X[order[:n_val]], targets[order[:n_val]])
                X, targets = X[order[n_val:]], targets[order[n_val:]]
            module = build_module(self.module, X.shape[1], n_outputs, self._params_of("module__"))
            if self.device is not None:
                module.to(self.device)
            optimizer = self.optimizer(module.parameters(), lr=self.lr,
                                       **self._params_of("optimizer__"))
            trainer = Trainer(module, self._build_loss(), optimizer, metrics=self._metrics,
                              callbacks=copy.deepcopy(self.callbacks), device=self.device)
            history = trainer.fit((X, targets), val=val, epochs=self.max_epochs,
                                  batch_size=self.batch_size, shuffle=self.shuffle, seed=seed,
                                  verbose=self.verbose)
        self.module_ = module
        self.history_ = history
        self.n_iter_ = len(history)
        return self

    def _forward(self, X) -> np.ndarray:
        """The network's outputs for X, as a float64 array of shape (n_samples, n_outputs)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        trainer = Trainer(self.module_, device=self.device)
        output = trainer.predict(X, batch_size=_PREDICT_BATCH_SIZE).numpy()
        return output.reshape(len(X), -1).astype(np.float64)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "module_")


_PARAMETERS = """
    Args:
        module: the network's recipe: None (an MLP with ``module__hidden_sizes``, default
            ``(100,)``, and ReLU), a class or factory called with the numbers of features and
            outputs and the ``module__*`` parameters, or a Module instance (copied at each fit);
            see :mod:`chainrule.sklearn`. The network outputs one value per {outputs}.
        optimizer: a ``chainrule.optim`` class (or factory ``(params, lr, **kwargs)``), given the
            ``optimizer__*`` parameters (``optimizer__weight_decay=1e-4``, ...).
        lr: the learning rate.
        loss: ``None`` for {loss}; a loss class (given the ``loss__*`` parameters);
            a loss module or function ``loss(output, target)``; or the name of a function
            of ``chainrule.nn.functional``.
        max_epochs: the number of epochs (fewer when a callback stops training).
        batch_size: samples per mini-batch.
        shuffle: draw a new order of the samples every epoch.
        validation_fraction: a fraction of the samples held out of training and evaluated after
            every epoch (``val_*`` entries of ``history_``, seen by callbacks such as
            ``EarlyStopping``); None for none.
        callbacks: ``chainrule.train`` callbacks, copied at each fit.
        random_state: an int or a ``numpy.random.RandomState`` seeding initialisation,
            shuffling, dropout and the validation split; None draws from chainrule's global
            generator.
        verbose: 0 silent, 1 a progress bar, 2 one line per epoch (on stderr).
        device: None or "cpu" to train on the CPU, "cuda" for the GPU (with CuPy).
        **kwargs: ``module__*``, ``optimizer__*`` and ``loss__*`` parameters.

    Attributes:
        module_: the trained ``nn.Module``.
        history_: the ``chainrule.train.History`` of the fit (``history_["loss"]``, ...).
        n_iter_: the number of epochs trained.
        n_features_in_: the number of features seen in ``fit``.
        feature_names_in_: the column names, when X was a DataFrame with string names."""


class NeuralNetClassifier(ClassifierMixin, _NeuralNet):
    """A chainrule network as a scikit-learn classifier.

    The network maps a sample to one logit per class; training minimises the cross-entropy
    -log softmax(f(x))_y by mini-batch gradient descent with ``cr.train.Trainer``;
    ``predict_proba`` is the softmax of the logits and ``predict`` the class of highest
    probability. Labels may be anything ``numpy.unique`` sorts (integers, strings): they are
    mapped to the indices 0 .. C - 1 of ``classes_``, which the network learns.
    {parameters}
        classes_: the labels, sorted; column k of ``predict_proba`` is ``classes_[k]``.

    Example:
        >>> from sklearn.datasets import load_digits
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = NeuralNetClassifier(module__hidden_sizes=(64,), max_epochs=20, random_state=0)
        >>> clf.fit(X / 16, y).score(X / 16, y)                  # training accuracy
    """

    _default_loss = nn.CrossEntropyLoss
    _metrics = ("accuracy",)

    def fit(self, X, y):
        """Train a new network on the samples X (n_samples, n_features) and labels y.

        Returns:
            The fitted classifier.

        Raises:
            ValueError: for invalid data, continuous targets, or a single class.
        """
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, indices = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes, got one "
                             f"class: {self.classes_[0]!r}")
        return self._fit(X, indices.astype(np.int64), len(self.classes_))

    def predict_log_proba(self, X) -> np.ndarray:
        """log P(class k | x), the log-softmax of the logits: shape (n_samples, n_classes)."""
        logits = self._forward(X)
        # NOTE: shift by the maximum so that exp never overflows (log-sum-exp).
        shifted = logits - logits.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def predict_proba(self, X) -> np.ndarray:
        """P(class k | x), the softmax of the logits: shape (n_samples, n_classes), rows sum
        to 1, columns in the order of ``classes_``."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X) -> np.ndarray:
        """The most probable label of every sample, shape (n_samples,)."""
        indices = self._forward(X).argmax(axis=1)
        return self.classes_[indices]


class NeuralNetRegressor(RegressorMixin, _NeuralNet):
    """A chainrule network as a scikit-learn regressor.

    The network maps a sample to one value per target; training minimises the mean squared
    error mean (f(x) - y)^2 by mini-batch gradient descent with ``cr.train.Trainer``. Targets
    may be one column (``predict`` returns shape (n_samples,)) or several (``predict`` returns
    (n_samples, n_targets)). Scale the targets (``TransformedTargetRegressor``) when they are
    far from unit size: the network starts with outputs near 0.
    {parameters}
        n_outputs_: the number of targets.

    Example:
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> reg = make_pipeline(StandardScaler(), NeuralNetRegressor(lr=0.01, random_state=0))
        >>> reg.fit(X, y).score(X, y)                            # R^2
    """

    _default_loss = nn.MSELoss

    def fit(self, X, y):
        """Train a new network on the samples X (n_samples, n_features) and targets y
        (n_samples,) or (n_samples, n_targets).

        Returns:
            The fitted regressor.
        """
        X, y = validate_data(self, X, y, dtype=np.float32, multi_output=True, y_numeric=True)
        targets = y.astype(np.float32).reshape(len(y), -1)
        self.n_outputs_ = targets.shape[1]
        return self._fit(X, targets, self.n_outputs_)

    def predict(self, X) -> np.ndarray:
        """The predicted targets, float64 of shape (n_samples,) for one target, else
        (n_samples, n_targets)."""
        output = self._forward(X)
        return output.ravel() if self.n_outputs_ == 1 else output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


NeuralNetClassifier.__doc__ = NeuralNetClassifier.__doc__.format(
    parameters=_PARAMETERS.format(outputs="class", loss="``CrossEntropyLoss``"))
NeuralNetRegressor.__doc__ = NeuralNetRegressor.__doc__.format(
    parameters=_PARAMETERS.format(outputs="target", loss="``MSELoss``"))

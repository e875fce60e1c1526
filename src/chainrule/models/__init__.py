"""Ready-made architectures built only from chainrule's public API.

``Perceptron`` (the classic learning rule), ``MLP``, ``LeNet``, recurrent classifiers and
regressors, ``Autoencoder``, ``GAN`` and ``GPT`` (a small transformer language model). Each
loads on first use.
"""

import importlib

_WHERE = {
    "Perceptron": "perceptron",
    "MLP": "mlp",
    "LeNet": "lenet",
    "RNNClassifier": "rnn",
    "RNNRegressor": "rnn",
    "Autoencoder": "autoencoder",
    "ConvAutoencoder": "autoencoder",
    "GAN": "gan",
    "GPT": "gpt",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"chainrule.models.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'chainrule.models' has no attribute {name!r}")


def __dir__():
    return __all__

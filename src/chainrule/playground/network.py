"""The network tab's model: input features, an MLP built with chainrule.nn, and its loss.

The network is f(x) = W_L g(... g(W_1 phi(x) + b_1) ...) + b_L, where phi(x) are the chosen
features of the point x = (x1, x2) (x1, x2, x1^2, x2^2, x1 x2, sin x1, sin x2) and each hidden
layer is ``Linear -> [BatchNorm1d] -> activation -> [Dropout]``. Two classes give one output
logit z (p = sigmoid(z)); three or more give one logit per class (p = softmax(z)).

Its forward pass is written once, as a function of the parameter list
(:meth:`PlaygroundNet.forward_with`), so that the same code trains the network and evaluates it
at theta + alpha d1 + beta d2 with (alpha, beta) a differentiable tensor (the descent tab's race
over the network's own loss surface).

Losses, for labels y and logits z (binary: target t = y in {0, 1}, sign s = 2y - 1):

* cross-entropy: -[t log p + (1 - t) log(1 - p)] (``F.binary_cross_entropy_with_logits``), or
  -log softmax(z)_y for several classes (``F.cross_entropy``);
* MSE: (p - t)^2, or sum_k (p_k - [k = y])^2 / K over the softmax probabilities;
* hinge: max(0, 1 - s z), or sum_{k != y} max(0, 1 - z_y + z_k) / K (PyTorch's
  ``MultiMarginLoss``), composed from chainrule operations.

Example:
    >>> net = PlaygroundNet(2, [4, 4], 1, "tanh", generator=np.random.default_rng(0))
    >>> objective = Objective("cross_entropy", classes=2)
    >>> loss = objective(net(cr.tensor(x)), objective.prepare(y))
"""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

FEATURE_FUNCTIONS = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}


def feature_matrix(points: np.ndarray, names) -> np.ndarray:
    """phi(x) for each point: an (N, len(names)) float32 array, one column per feature.

    Args:
        points: (N, 2) coordinates (x1, x2).
        names: feature names of ``FEATURE_FUNCTIONS`` ("x1", "x1^2", "sin(x2)", ...).
    """
    x1, x2 = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    return np.stack([FEATURE_FUNCTIONS[n](x1, x2) for n in names], axis=1).astype(np.float32)


class PlaygroundNet(nn.Module):
    """A multi-layer perceptron whose layers can be seen one neuron at a time.

    Args:
        in_features: the number of input features.
        hidden: the sizes of the hidden layers (may be empty: logistic regression).
        out_features: 1 for two classes, else the number of classes.
        activation: a name of ``nn.get_activation`` ("tanh", "relu", "step", ...).
        dropout: the dropout probability after each hidden activation.
        batch_norm: put a ``BatchNorm1d`` between each hidden Linear and its activation.
        generator: the ``numpy.random.Generator`` of the initial weights and dropout masks.

    Weights start as ``nn.Linear``'s: W, b ~ U(-k, k) with k = 1 / sqrt(fan_in), drawn from
    ``generator`` so that sessions do not share chainrule's global generator.
    """

    def __init__(self, in_features: int, hidden, out_features: int, activation: str = "tanh",
                 dropout: float = 0.0, batch_norm: bool = False, generator=None):
        super().__init__()
        sizes = [in_features, *hidden, out_features]
        self.linears = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.norms = nn.ModuleList([nn.BatchNorm1d(n) for n in hidden]) if batch_norm else None
        self.activation = nn.get_activation(activation)
        self.dropout = nn.Dropout(dropout, generator=generator)
        self.sizes = sizes
        generator = generator if generator is not None else np.random.default_rng()
        for linear in self.linears:
            nn.init.kaiming_uniform_(linear.weight, a=math.sqrt(5), generator=generator)
            bound = 1.0 / math.sqrt(linear.in_features)
            nn.init.uniform_(linear.bias, -bound, bound, generator=generator)

    def set_activation(self, name: str) -> None:
        """Swap the activation; the weights stay (their shapes do not depend on it)."""
        self.activation = nn.get_activation(name)

    def forward(self, x):
        """The logits z of inputs x (N, in_features): ``forward_with`` the own parameters."""
        return self.forward_with(x, list(self.parameters()))[0]

    def forward_with(self, x, params, keep_hidden: bool = False):
        """The forward pass with the given parameters, in the order of ``parameters()``.

        h_0 = x, h_l = dropout(g(BN(W_l h_{l-1} + b_l))), z = W_L h_{L-1} + b_L.

        Args:
            x: (N, in_features) inputs.
            params: Tensors shaped like ``list(self.parameters())`` (the parameters themselves,
                or tensors computed from others, which then get the gradients).
            keep_hidden: also return each hidden layer's activations g(.) before dropout.

        Returns:
            (logits of shape (N, out_features), list of (N, size) hidden activations).
        """
        params = list(params)
        last = len(self.linears) - 1
        affine, scales = params[:2 * (last + 1)], params[2 * (last + 1):]  # registration order
        hidden = []
        h = x
        for i in range(last + 1):
            h = F.linear(h, affine[2 * i], affine[2 * i + 1])
            if i == last:
                break
            if self.norms is not None:
                bn = self.norms[i]
                h = F.batch_norm(h, bn.running_mean, bn.running_var, scales[2 * i],
                                 scales[2 * i + 1], training=self.training,
                                 momentum=bn.momentum, eps=bn.eps)
            h = self.activation(h)
            if keep_hidden:
                hidden.append(h)
            h = self.dropout(h)
        return h, hidden


class Objective:
    """The data loss of the network tab: ``objective(logits, target)`` is a scalar Tensor.

    Args:
        loss: "cross_entropy", "mse" or "hinge" (formulas in the module docstring).
        classes: the number of classes (2: one logit; more: one logit per class).
    """

    def __init__(self, loss: str, classes: int):
        if loss not in ("cross_entropy", "mse", "hinge"):
            raise ValueError(f"unknown loss {loss!r}")
        self.loss = loss
        self.classes = int(classes)

    @property
    def out_features(self) -> int:
        """The number of logits the network needs: 1 for two classes, else one per class."""
        return 1 if self.classes == 2 else self.classes

    def prepare(self, y: np.ndarray):
        """The target Tensor this loss compares the logits with, from int class labels."""
        y = np.asarray(y, dtype=np.int64)
        if self.classes == 2:
            return cr.tensor(y.astype(np.float32))
        if self.loss == "cross_entropy":
            return cr.tensor(y)
        return cr.tensor(np.eye(self.classes, dtype=np.float32)[y])

    def __call__(self, logits, target):
        if self.classes == 2:
            z = logits.reshape(-1)
            if self.loss == "cross_entropy":
                return F.binary_cross_entropy_with_logits(z, target)
            if self.loss == "mse":
                return F.mse_loss(cr.sigmoid(z), target)
            return cr.relu(1.0 - (2.0 * target - 1.0) * z).mean()
        if self.loss == "cross_entropy":
            return F.cross_entropy(logits, target)
        if self.loss == "mse":
            return F.mse_loss(logits.softmax(-1), target)
        true_logit = (logits * target).sum(-1, keepdim=True)
        margins = cr.relu(1.0 - true_logit + logits) * (1.0 - target)
        return margins.sum(-1).mean() / self.classes

    def probabilities(self, logits) -> np.ndarray:
        """p(class 1) of shape (N,) for two classes, else softmax probabilities (N, K)."""
        z = np.asarray(logits.numpy(), dtype=np.float64)
        if self.classes == 2:
            return 0.5 * (1.0 + np.tanh(0.5 * z[:, 0]))  # sigmoid without overflow
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predictions(self, logits) -> np.ndarray:
        """The predicted class of each sample: [z > 0] or argmax_k z_k."""
        z = logits.numpy()
        return (z[:, 0] > 0).astype(np.int64) if self.classes == 2 else z.argmax(axis=1)

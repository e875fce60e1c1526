"""Pictures of a network over the plane: the decision map and each neuron's own view.

Every frame evaluates the network, in eval mode and without a graph, on a G x G grid of the
plane [-6, 6]^2 (rows from top, x2 = +6, to bottom, so the page can draw them as they come):

* the decision map: p(class 1) (two classes) or the softmax probability of each class;
* each neuron's picture on every other grid point: the input features phi_j(x), the hidden
  activations g(.) and the outputs. A picture whose values leave [-1, 1] (ReLU, x1^2) is
  divided by its largest |value|, so that its shape shows; the colour is the sign.

Example:
    >>> view = network_view(net, ["x1", "x2"], objective)
    >>> sorted(view)                    # ['boundary', 'grid', 'layers', 'pictures', ...]
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.playground.datasets import EXTENT
from chainrule.playground.network import feature_matrix
from chainrule.playground.protocol import pack, rounded

GRID = 64  # points per side of the decision map; the neurons' pictures use every other one


def plane_grid(size: int = GRID) -> np.ndarray:
    """The centres of a size x size grid over [-6, 6]^2, row by row from the top: (size^2, 2)."""
    centres = (np.arange(size) + 0.5) / size * 2 * EXTENT - EXTENT
    x1, x2 = np.meshgrid(centres, centres[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1).astype(np.float32)


def _scaled(values: np.ndarray) -> np.ndarray:
    """Values divided by their largest magnitude when it exceeds 1 (else as they are)."""
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    return values / top if top > 1.0 else values


def _small(column: np.ndarray, size: int) -> np.ndarray:
    return column.reshape(size, size)[::2, ::2]


def network_view(net, features, objective, size: int = GRID) -> dict:
    """The decision map, every neuron's picture and every weight, for one frame.

    Args:
        net: a :class:`chainrule.playground.network.PlaygroundNet`.
        features: the names of its input features.
        objective: its :class:`chainrule.playground.network.Objective`.
        size: the side G of the grid (neuron pictures are G/2 on a side).

    Returns:
        A dict: ``grid`` (G), ``boundary`` (packed 2p - 1 per class shown: one map for two
        classes, one per class otherwise), ``layers`` (neurons per layer, the features first),
        ``pictures`` (per layer, per neuron, packed), ``weights`` and ``biases`` (per Linear,
        rounded) and ``features``.
    """
    points = plane_grid(size)
    inputs = feature_matrix(points, features)
    was_training = net.training
    net.eval()
    try:
        with cr.no_grad():
            logits, hidden = net.forward_with(cr.tensor(inputs), list(net.parameters()),
                                              keep_hidden=True)
    finally:
        net.train(was_training)
    probs = objective.probabilities(logits)
    maps = [probs] if probs.ndim == 1 else [probs[:, k] for k in range(probs.shape[1])]
    columns = [[_scaled(inputs[:, j]) for j in range(inputs.shape[1])]]
    for h in hidden:
        acts = np.asarray(h.numpy(), dtype=np.float64)
        columns.append([_scaled(acts[:, j]) for j in range(acts.shape[1])])
    columns.append([2.0 * m - 1.0 for m in maps])
    pictures = [[pack(_small(c, size)) for c in layer] for layer in columns]
    linears = list(net.linears)
    return {
        "grid": size,
        "boundary": [pack(2.0 * m - 1.0) for m in maps],
        "features": list(features),
        "layers": [len(layer) for layer in columns],
        "pictures": pictures,
        "weights": [rounded(lin.weight.numpy(), 3) for lin in linears],
        "biases": [rounded(lin.bias.numpy(), 3) for lin in linears],
    }

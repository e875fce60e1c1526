"""`MLP`: a multi-layer perceptron (feed-forward network) built from the public nn API."""

from __future__ import annotations

from chainrule import nn


class MLP(nn.Sequential):
    """A feed-forward network f(x) = g_L(W_L g_{L-1}(... g_1(W_1 x + b_1) ...) + b_L).

    ``sizes = [n, h_1, ..., h_k, out]`` gives k hidden layers. Each hidden layer is
    Linear -> [BatchNorm1d] -> activation -> [Dropout]; the last is Linear -> [output
    activation]. The network has sum over layers of (fan_in + 1) * fan_out parameters.
    Without activations (``activation=None``) it collapses to one linear map.

    Args:
        sizes: layer widths, input first, at least two entries.
        activation: hidden activation: a name ("relu", "tanh", "sigmoid", ...; see
            ``nn.get_activation``), a Module class or factory, or None for none.
        output_activation: the same for the output (None: linear output, e.g. logits).
        dropout: dropout probability after each hidden activation (0 disables it).
        batch_norm: insert BatchNorm1d after each hidden Linear.

    Example:
        >>> model = MLP([2, 4, 1], activation="tanh")          # the XOR network
        >>> [type(m).__name__ for m in model]
        ['Linear', 'Tanh', 'Linear']
        >>> model.num_parameters()                              # (2 + 1) * 4 + (4 + 1) * 1
        17
    """

    def __init__(self, sizes, activation="relu", output_activation=None, dropout: float = 0.0,
                 batch_norm: bool = False):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or any(s <= 0 for s in sizes):
            raise ValueError(f"MLP: sizes must list at least two positive widths, got {sizes}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout}")
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out))
            if i == len(sizes) - 2:
                if output_activation is not None:
                    layers.append(nn.get_activation(output_activation))
                break
            if batch_norm:
                layers.append(nn.BatchNorm1d(fan_out))
            if activation is not None:
                layers.append(nn.get_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        super().__init__(*layers)
        self.sizes = tuple(sizes)

    @property
    def linear_layers(self) -> list:
        """The Linear layers, input to output."""
        return [m for m in self if isinstance(m, nn.Linear)]

    def extra_repr(self) -> str:
        return f"sizes={list(self.sizes)}"

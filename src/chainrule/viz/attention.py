"""Pictures of attention: where every position of a sequence looks, head by head.

An attention head mixes the values of a sequence with weights A_ts = softmax_s(q_t . k_s /
sqrt(d)); row t of A says how much position t takes from each position s (each row sums to 1).
:func:`plot_attention` draws these matrices as heat maps, one panel per head, one row of panels
per layer, with the tokens along both axes: the query position t down the side, the attended
position s along the top. Under a causal mask the upper triangle (the future) is empty.
"""

from __future__ import annotations

import numpy as np

from chainrule.viz._figure import finish, new_figure, to_numpy

# Characters that would be invisible or break a tick label, and what shows instead.
VISIBLE = {" ": "\u00b7", "\n": "\\n", "\t": "\\t", "\r": "\\r", "$": "\\$"}


def token_labels(tokens) -> list[str]:
    """Tick labels for ``tokens``: a string (one label per character) or a list of strings,
    with spaces, newlines and tabs made visible (a middle dot, ``\\n``, ``\\t``)."""
    return ["".join(VISIBLE.get(c, c) for c in str(token)) for token in tokens]


def _as_maps(maps) -> np.ndarray:
    """(L, H, T, T) from one head (T, T), one layer (H, T, T), or a list of layers."""
    if isinstance(maps, (list, tuple)):
        maps = np.stack([np.asarray(to_numpy(m), dtype=np.float64) for m in maps])
    a = np.asarray(to_numpy(maps), dtype=np.float64)
    a = a.reshape((1,) * (4 - a.ndim) + a.shape) if 2 <= a.ndim <= 4 else a
    if a.ndim != 4 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"plot_attention: expected attention weights (T, T), (H, T, T) or "
                         f"(L, H, T, T), got shape {a.shape}")
    return a


def plot_attention(maps, tokens=None, path=None, title=None, layer_names=None, size=3.2):
    """Heat maps of attention weights: one panel per head, one row per layer.

    Panel (l, h) shows A[l, h], the weights of head h of layer l: row t (the query position)
    over columns s (the attended positions), darker for larger weights. For a causal language
    model the diagonal and below hold all the weight; a head that looks at the previous
    character shows a line just under the diagonal, one that looks at the start of the
    sequence a dark first column.

    Args:
        maps: attention weights: (T, T) for one head, (H, T, T) for the heads of one layer,
            or (L, H, T, T) / a list of L arrays (H, T, T) for every layer (e.g.
            ``GPT.attention_maps(idx)``); Tensors or arrays.
        tokens: T labels of the positions: a string (one character each) or a list of
            strings; None numbers the positions.
        path: where to save; nothing is saved when None.
        title: the figure title.
        layer_names: L row names (default "layer 1", "layer 2", ...).
        size: inches per panel.

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: for weights of another shape, or as many tokens as positions.

    Example:
        >>> maps = model.attention_maps(cr.tensor(dataset.encode("def f(x):")))
        >>> plot_attention(maps, "def f(x):", "attention.png")
    """
    a = _as_maps(maps)
    n_layers, n_heads, T = a.shape[0], a.shape[1], a.shape[-1]
    labels = token_labels(tokens) if tokens is not None else [str(i) for i in range(T)]
    if len(labels) != T:
        raise ValueError(f"plot_attention: {len(labels)} tokens for {T} positions")
    names = list(layer_names) if layer_names is not None else \
        [f"layer {i + 1}" for i in range(n_layers)]
    fig, axes = new_figure((size * n_heads + 0.8, size * n_layers + 0.6), n_layers, n_heads,
                           squeeze=False)
    fontsize = min(8.0, max(3.0, 7.0 * 32.0 / T * size / 3.2))  # 7 points for 32 tokens
    image = None
    for layer in range(n_layers):
        for head in range(n_heads):
            ax = axes[layer, head]
            image = ax.imshow(a[layer, head], cmap="Blues", vmin=0.0, vmax=1.0,
                              interpolation="nearest")
            ax.set_xticks(range(T), labels, fontsize=fontsize, rotation=90)
            ax.set_yticks(range(T), labels, fontsize=fontsize)
            ax.tick_params(length=0, pad=1)
            ax.set_title(f"{names[layer]}, head {head + 1}", fontsize=9)
    fig.colorbar(image, ax=axes, shrink=0.6, label="attention weight")
    fig.suptitle(title or "attention weights (rows attend to columns)")
    return finish(fig, path)

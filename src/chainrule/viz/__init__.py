"""Plots for looking inside networks (matplotlib, an optional extra: ``chainrule[plot]``).

Every picture chainrule draws comes from here, the ``chainrule`` command's included. Every
function builds a matplotlib Figure without pyplot (headless, on the Agg canvas; the user's
backend is never changed), saves it when given a ``path`` (format from the suffix; a ``.gif``
path animates optimiser paths) and returns it. Without matplotlib they raise ImportError naming
the extra; :func:`require_matplotlib` makes that check alone.

- training: :func:`plot_history` (learning curves), :func:`plot_gradient_flow`;
- images: :func:`image_grid` (and :func:`make_grid`, the tiled array it shows);
- generative models: :func:`plot_reconstructions`, :func:`plot_samples`, :func:`plot_codes`;
- what a network computes: :func:`plot_decision_boundary`, :func:`plot_activations`,
  :func:`plot_attention` (the attention weights of every head);
- the computational graph: :func:`plot_graph` (values and gradients, no Graphviz needed);
- the loss surface: :func:`plot_landscape`, :func:`plot_trajectories`, :func:`plot_spectrum`.

Example:
    >>> from chainrule import viz
    >>> viz.plot_history(history, "curves.png")
    >>> viz.plot_trajectories(analysis.rosenbrock, paths, "race.gif")
"""

from chainrule.viz._figure import require_matplotlib  # noqa: F401
from chainrule.viz.attention import plot_attention  # noqa: F401
from chainrule.viz.generative import plot_codes, plot_reconstructions, plot_samples  # noqa: F401
from chainrule.viz.graph import plot_graph  # noqa: F401
from chainrule.viz.history import plot_gradient_flow, plot_history  # noqa: F401
from chainrule.viz.images import image_grid, make_grid  # noqa: F401
from chainrule.viz.plots import (  # noqa: F401
    activation_functions,
    plot_activations,
    plot_decision_boundary,
)
from chainrule.viz.surfaces import plot_landscape, plot_spectrum, plot_trajectories  # noqa: F401

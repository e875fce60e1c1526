"""Plots for looking inside networks (matplotlib, an optional extra: ``chainrule[plot]``).

Every function builds a matplotlib Figure without pyplot (headless, on the Agg canvas; the
user's backend is never changed), saves it when given a ``path`` (format from the suffix; a
``.gif`` path animates optimiser paths) and returns it.

Example:
    >>> from chainrule import viz
    >>> viz.plot_history(history, "curves.png")
    >>> viz.plot_trajectories(analysis.rosenbrock, paths, "race.gif")
"""

from chainrule.viz._figure import require_matplotlib  # noqa: F401
from chainrule.viz.plots import (  # noqa: F401
    activation_functions,
    image_grid,
    plot_activations,
    plot_decision_boundary,
    plot_gradient_flow,
    plot_history,
)
from chainrule.viz.surfaces import plot_landscape, plot_spectrum, plot_trajectories  # noqa: F401

"""Looking inside a network: Hessians and their spectra, loss landscapes, optimiser paths,
gradient flow and the computational graph (SPEC section 8).

Every tool is a client of the public API: Hessian-vector products come from
``cr.autograd.grad(..., create_graph=True)``, parameters travel as flat vectors, and models are
given back in the mode and with the parameter values they had.

Example:
    >>> from chainrule import analysis
    >>> analysis.hessian_eigenvalues(model, nn.CrossEntropyLoss(), (X, y), k=3, seed=0)
    >>> analysis.graph(loss, dict(model.named_parameters())).render("graph.svg")
"""

from chainrule.analysis.gradients import (  # noqa: F401
    GradientFlow,
    GradientFlowCallback,
    gradient_flow,
)
from chainrule.analysis.graph import (  # noqa: F401
    Graph,
    GraphNode,
    GraphvizNotFoundError,
    graph,
)
from chainrule.analysis.hessian import HessianOperator, hessian, hvp  # noqa: F401
from chainrule.analysis.landscape import (  # noqa: F401
    Landscape2D,
    loss_landscape_1d,
    loss_landscape_2d,
    random_directions,
)
from chainrule.analysis.report import inspect_model  # noqa: F401
from chainrule.analysis.spectrum import (  # noqa: F401
    SpectralDensity,
    hessian_eigenvalues,
    hessian_spectrum,
    hessian_trace,
    lanczos,
)
from chainrule.analysis.state import preserved  # noqa: F401
from chainrule.analysis.trajectories import (  # noqa: F401
    FUNCTIONS,
    TestFunction,
    Trajectory,
    TrajectoryRecorder,
    beale,
    optimizer_trajectories,
    quadratic,
    rosenbrock,
    saddle,
    training_trajectory,
)

"""Optimisers and learning-rate schedules.

Every optimiser follows PyTorch's interface (``step``, ``zero_grad``, ``state_dict``,
``load_state_dict``, param groups) and shows its equations in its docstring.

Example:
    >>> opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    >>> for x, y in loader:
    ...     opt.zero_grad()
    ...     loss_fn(model(x), y).backward()
    ...     opt.step()
"""

from chainrule.optim import lr_scheduler
from chainrule.optim.adadelta import Adadelta
from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.lbfgs import LBFGS
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "LBFGS",
           "lr_scheduler"]

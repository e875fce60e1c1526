"""Differentiable operations: the only place where forward/backward pairs live.

``elementwise``, ``unary``, ``reduce``, ``movement``, ``broadcast``, ``accumulate`` (cumsum),
``sampling`` (the zero gradient of a random sample) and ``linalg`` hold the primitives (a few
dozen ``Primitive`` subclasses); every other operation is a composition of them.
Each module lists in ``__all__`` the ops that ``chainrule`` exports, so a new op is declared in
its own module only; ``inplace`` declares the in-place Tensor methods (``+=``, ``add_``,
``x[i] = v``).
"""

from chainrule.ops import (
    accumulate,
    broadcast,
    compare,
    contraction,
    elementwise,
    indexing,
    inplace,  # noqa: F401 - registers the in-place Tensor methods
    linalg,
    movement,
    promotion,
    rearrange,
    reduce,
    sampling,
    selection,
    slicing,
    sorting,
    unary,
)
from chainrule.ops.accumulate import *  # noqa: F403
from chainrule.ops.broadcast import *  # noqa: F403
from chainrule.ops.compare import *  # noqa: F403
from chainrule.ops.contraction import *  # noqa: F403
from chainrule.ops.elementwise import *  # noqa: F403
from chainrule.ops.indexing import *  # noqa: F403
from chainrule.ops.linalg import *  # noqa: F403
from chainrule.ops.movement import *  # noqa: F403
from chainrule.ops.promotion import *  # noqa: F403
from chainrule.ops.rearrange import *  # noqa: F403
from chainrule.ops.reduce import *  # noqa: F403
from chainrule.ops.sampling import *  # noqa: F403
from chainrule.ops.selection import *  # noqa: F403
from chainrule.ops.slicing import *  # noqa: F403
from chainrule.ops.sorting import *  # noqa: F403
from chainrule.ops.unary import *  # noqa: F403

__all__ = [*compare.__all__, *elementwise.__all__, *linalg.__all__, *movement.__all__,
           *promotion.__all__, *reduce.__all__, *unary.__all__, *contraction.__all__,
           *indexing.__all__, *slicing.__all__, *broadcast.__all__, *accumulate.__all__,
           *sorting.__all__, *rearrange.__all__,
           *selection.__all__, *sampling.__all__]

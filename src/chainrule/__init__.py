"""chainrule: a readable deep-learning library with a reverse-mode autodiff engine over NumPy.

Example:
    >>> import chainrule as cr
    >>> w = cr.tensor([2.0], requires_grad=True)
    >>> loss = ((cr.tensor([3.0]) * w - 4) ** 2).sum()
    >>> loss.backward()
    >>> w.grad                                   # tensor([12.])
"""

# NOTE: tensor first: it imports the ops and the engine once Tensor is defined (the one cycle).
from chainrule.tensor import Tensor  # noqa: F401, I001
from chainrule.tensor import detach, is_floating_point, is_tensor, numel  # noqa: F401
from chainrule import autograd  # noqa: F401
from chainrule.autograd import (  # noqa: F401
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from chainrule.backend import (  # noqa: F401
    bool_,
    device,
    float16,
    float32,
    float64,
    get_rng_state,
    int8,
    int16,
    int32,
    int64,
    manual_seed,
    set_rng_state,
    uint8,
)

# PyTorch's other names of the dtypes: cr.float is float32, cr.long is int64, ...
from chainrule.backend import bool_ as bool  # noqa: E402, F401, A004
from chainrule.backend import float16 as half  # noqa: E402, F401
from chainrule.backend import float32 as float  # noqa: E402, F401, A004
from chainrule.backend import float64 as double  # noqa: E402, F401
from chainrule.backend import int16 as short  # noqa: E402, F401
from chainrule.backend import int32 as int  # noqa: E402, F401, A004
from chainrule.backend import int64 as long  # noqa: E402, F401
from chainrule.creation import (  # noqa: F401
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    get_default_dtype,
    initial_seed,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    seed,
    tensor,
    zeros,
    zeros_like,
)
from chainrule.ops import *  # noqa: F401,F403
from chainrule.ops import abs, all, any, max, min, pow, round, sum  # noqa: F401,A004


from chainrule import memory as _memory  # noqa: E402
from chainrule.compile import compile  # noqa: E402, F401, A004 - PyTorch's name

__version__ = "0.1.0"


_memory.apply_default()

# Sub-packages load on first use (``cr.nn``, ``cr.optim``, ...), keeping ``import chainrule`` fast.
_SUBMODULES = {"nn", "optim", "data", "train", "analysis", "viz", "models", "io", "backend",
               "cli", "cuda", "utils", "linalg", "sklearn", "distributed", "onnx"}
_ALIASES = {"datasets": "chainrule.data.datasets"}
_LAZY = {"save": "chainrule.io", "load": "chainrule.io"}


def __getattr__(name):
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"chainrule.{name}")
    if name in _ALIASES:
        return importlib.import_module(_ALIASES[name])
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")

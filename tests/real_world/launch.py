"""Run a PyTorch script under PyTorch or under chainrule, with the same random numbers.

Usage:
    python tests/real_world/launch.py --framework {torch,chainrule} SCRIPT.py [--seed N]

With ``--framework chainrule`` an import hook answers every ``import torch...`` with the
chainrule module of the same path (``torch.nn.functional`` -> ``chainrule.nn.functional``,
``torch.utils.data`` -> ``chainrule.utils.data``, or ``chainrule.data`` while there is no
``chainrule.utils``), so the script runs unchanged.

In both frameworks the launcher then makes the two runs start from the same numbers:

- the public random functions (``manual_seed``, ``randn``, ``rand``, ``randint``,
  ``randn_like``, ``rand_like``, ``randperm``, ``normal``) draw from one seeded NumPy generator
  and become tensors through ``from_numpy(...).to(dtype)``;
- when an optimiser is built, every parameter it holds is refilled, in order, with
  U(-1/sqrt(fan_in), 1/sqrt(fan_in)) values from that generator (fan_in: the size of dimension 1
  times the receptive field for a matrix or kernel, the length for a vector).

Randomness inside the framework (dropout masks, shuffling) is left alone: the scripts avoid it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.util
import math
import runpy
import sys
import types

import numpy as np

SEED = 0


class ChainruleAsTorch(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers ``import torch`` and ``import torch.<path>`` with chainrule's modules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torch" or fullname.startswith("torch."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None  # a placeholder: exec_module puts the chainrule module in its place

    def exec_module(self, module):
        # NOTE: the import system returns whatever sys.modules holds after exec_module.
        sys.modules[module.__name__] = self.target(module.__name__)

    @staticmethod
    def target(name: str):
        rest = name[len("torch"):]
        if rest.startswith(".utils") and importlib.util.find_spec("chainrule.utils") is None:
            if rest == ".utils":
                utils = types.ModuleType("torch.utils", "Stand-in: chainrule has no utils yet")
                utils.__path__ = []
                return utils
            if rest.startswith(".utils.data"):
                rest = ".data" + rest[len(".utils.data"):]
        try:
            return importlib.import_module("chainrule" + rest)
        except ImportError as error:
            raise ModuleNotFoundError(
                f"no chainrule module for {name} (looked for chainrule{rest}): {error}"
            ) from error


class SharedRandom:
    """The NumPy generator behind both frameworks' random functions and initial weights."""

    def __init__(self, torch, seed: int = SEED):
        self.torch = torch
        self.generator = np.random.default_rng(seed)

    def tensor(self, array, dtype=None, requires_grad=False):
        out = self.torch.from_numpy(np.ascontiguousarray(array))
        if dtype is not None:
            out = out.to(dtype)
        if requires_grad:
            out.requires_grad_(True)
        return out

    @staticmethod
    def shape(size) -> tuple:
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = size[0]
        return tuple(int(s) for s in size)

    def install(self) -> None:
        """Replace the module's random functions and wrap ``optim.Optimizer.__init__``."""
        torch, draw = self.torch, self
        float32, int64 = torch.float32, torch.int64
        original_seed = torch.manual_seed

        def manual_seed(seed):
            draw.generator = np.random.default_rng(int(seed))
            return original_seed(seed)

        def randn(*size, dtype=None, requires_grad=False, **_):
            values = draw.generator.standard_normal(draw.shape(size))
            return draw.tensor(values, dtype or float32, requires_grad)

        def rand(*size, dtype=None, requires_grad=False, **_):
            values = draw.generator.random(draw.shape(size))
            return draw.tensor(values, dtype or float32, requires_grad)

        def randint(*args, low=0, high=None, size=None, dtype=None, **_):
            # randint(high, size), randint(low, high, size), or any of them by keyword
            args = list(args)
            if size is None:
                size = args.pop()
            if len(args) == 2:
                low, high = args
            elif len(args) == 1:
                low, high = (args[0], high) if high is not None else (low, args[0])
            values = draw.generator.integers(low, high, size=draw.shape((size,)))
            return draw.tensor(values.astype(np.int64), dtype or int64)

        def randn_like(input, dtype=None, **_):  # noqa: A002 (PyTorch's name)
            return randn(tuple(input.shape), dtype=dtype or input.dtype)

        def rand_like(input, dtype=None, **_):  # noqa: A002
            return rand(tuple(input.shape), dtype=dtype or input.dtype)

        def randperm(n, dtype=None, **_):
            values = draw.generator.permutation(int(n)).astype(np.int64)
            return draw.tensor(values, dtype or int64)

        def normal(mean, std, size=None, **_):
            if size is not None:
                return randn(size) * std + mean
            like = mean if hasattr(mean, "shape") else std
            return randn_like(like) * std + mean

        for function in (manual_seed, randn, rand, randint, randn_like, rand_like, randperm,
                         normal):
            setattr(torch, function.__name__, function)
        self.wrap_optimizer()

    def reinitialise(self, params) -> None:
        with self.torch.no_grad():
            for param in params:
                shape = tuple(param.shape)
                fan_in = shape[0] if len(shape) == 1 else math.prod(shape[1:])
                bound = 1.0 / math.sqrt(max(fan_in, 1))
                values = self.generator.uniform(-bound, bound, size=shape)
                param.copy_(self.tensor(values, param.dtype))

    def wrap_optimizer(self) -> None:
        optimizer_class = self.torch.optim.Optimizer
        original_init = optimizer_class.__init__
        shared = self

        def __init__(self, *args, **kwargs):
            original_init(self, *args, **kwargs)
            shared.reinitialise([p for group in self.param_groups for p in group["params"]])

        optimizer_class.__init__ = __init__


def load_framework(name: str):
    """Import ``torch`` (the real one, or chainrule through the import hook)."""
    if name == "chainrule":
        sys.meta_path.insert(0, ChainruleAsTorch())
    elif name != "torch":
        raise ValueError(f"unknown framework {name!r}: expected 'torch' or 'chainrule'")
    import torch
    import torch.optim

    if name == "torch":
        torch.set_num_threads(1)
    return torch


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=("torch", "chainrule"), required=True)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("script")
    args = parser.parse_args(argv)
    torch = load_framework(args.framework)
    SharedRandom(torch, args.seed).install()
    sys.argv = [args.script]
    runpy.run_path(args.script, run_name="__main__")


if __name__ == "__main__":
    main()

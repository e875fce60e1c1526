"""The checkpoints of ``chainrule train`` and the models in them.

A checkpoint holds the run's configuration under ``"config"`` beside the model's state dict
under ``"model"``; the configuration names the model and the arguments of its builder, so
``evaluate``, ``predict``, ``inspect`` and ``export`` rebuild the trained model from the file
alone (:func:`rebuild`), and ``train`` builds a new run's model the same way
(:func:`model_args`, then :func:`build_model`).
"""

from __future__ import annotations

import os

import chainrule as cr
from chainrule.cli import UsageError
from chainrule.cli.registry import MODELS, TASKS, TaskData, output_activation_for


def load_checkpoint(path: str) -> dict:
    """The contents of the checkpoint at ``path``; a usage error if it is missing or was not
    written by ``chainrule train`` (it holds no run configuration)."""
    if not os.path.isfile(path):
        raise UsageError(f"checkpoint {path!r} does not exist")
    state = cr.load(path)
    if not isinstance(state, dict) or "config" not in state or "model" not in state:
        raise UsageError(f"{path!r} is not a checkpoint written by 'chainrule train' (it holds no "
                         "run configuration)")
    return state


def model_args(config: dict, data: TaskData) -> dict:
    """The builder's arguments: sample shape, outputs, options ("auto" output activation
    resolved from the range of the training inputs)."""
    args = {"in_shape": data.in_shape,
            "out_features": TASKS[config["task"]].out_features(data),
            **config["model_options"]}
    if "output_activation" in (MODELS.options(config["model"]) or ()) \
            and args.get("output_activation", "auto") == "auto":
        args["output_activation"] = output_activation_for(data.train[0])
    return args


def build_model(config: dict, fresh: bool = False):
    """Build the model of ``config``; for a new run (``fresh``) a failure is a usage error (the
    options or the dataset do not suit the model)."""
    args = dict(config["model_args"])
    args["in_shape"] = tuple(args["in_shape"])
    try:
        return MODELS[config["model"]](**args)
    except (ValueError, TypeError) as err:
        if fresh:
            raise UsageError(f"cannot build model {config['model']!r} for dataset "
                             f"{config['data']!r}: {err}") from None
        raise ValueError(f"cannot rebuild model {config['model']!r}: {err}") from None


def rebuild(path: str) -> tuple:
    """(the trained model of the checkpoint at ``path``, in eval mode; its run configuration)."""
    state = load_checkpoint(path)
    config = state["config"]
    model = build_model(config)
    model.load_state_dict(state["model"])
    model.eval()
    return model, config

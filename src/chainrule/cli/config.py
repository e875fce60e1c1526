"""A run's configuration: what ``chainrule train`` saves under ``"config"`` in every checkpoint.

A new run's configuration comes from the command's arguments (:func:`new_config`, with
:data:`DEFAULTS` for those not given); ``train --resume`` takes the saved one back
(:func:`resumed_config`), so that the run continues exactly and only ``--epochs`` may grow.
``--model-arg`` and ``--data-arg`` options are ``KEY=VALUE`` pairs (:func:`parse_options`).
"""

from __future__ import annotations

import ast

from chainrule.cli import UsageError, datafiles, generative
from chainrule.cli.registry import DATASETS, MODELS, model_task

DEFAULTS = {"model": "mlp", "epochs": 30, "batch_size": 32, "optimizer": "adam", "lr": 1e-3,
            "scheduler": "none", "val_split": 0.1, "seed": 0, "clip_grad_norm": None}


def parse_options(pairs, registry, name: str, flag: str) -> dict:
    """``["hidden=256,128", "activation=tanh"]`` -> ``{"hidden": (256, 128), ...}``, checked
    against the options the builder accepts."""
    options = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} expects KEY=VALUE, got {pair!r}")
        try:
            options[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[key] = text
    allowed = registry.options(name)
    unknown = sorted(set(options) - set(allowed)) if allowed is not None else []
    if unknown:
        raise UsageError(f"{registry.kind} {name!r} has no option {unknown[0]!r}; its options: "
                         f"{', '.join(allowed) or 'none'}")
    return options


def new_config(args) -> dict:
    """The configuration of a new run from the arguments of ``train`` (with :data:`DEFAULTS`
    for those not given): data, model options, optimiser arguments, patience, ..."""
    if args.data is None:
        raise UsageError(f"--data is required, one of: {', '.join(DATASETS.names())}")
    config = {k: getattr(args, k) if getattr(args, k) is not None else v
              for k, v in DEFAULTS.items()}
    datafiles.check_name(args.data)
    config["data"] = args.data
    if args.data in DATASETS:
        datafiles.refuse_file_flags(args, args.data)
        config["data_args"] = parse_options(args.data_arg, DATASETS, args.data, "--data-arg")
    else:
        config["data_args"] = datafiles.file_args(args, model_task(config["model"]))
    if args.data_dir is not None:
        config["data_args"]["root"] = args.data_dir
    config["model_options"] = parse_options(args.model_arg, MODELS, config["model"],
                                            "--model-arg")
    optimizer_args = {"lr": config["lr"]}
    if args.momentum is not None:
        if config["optimizer"] not in ("sgd", "rmsprop"):
            raise UsageError(f"--momentum applies to sgd and rmsprop, not {config['optimizer']}")
        optimizer_args["momentum"] = args.momentum
    if args.weight_decay is not None:
        optimizer_args["weight_decay"] = args.weight_decay
    config["optimizer_args"] = optimizer_args
    config["patience"] = args.patience
    if model_task(config["model"]) == "generation":
        generative.check_gan_args(args)
    return config


def resumed_config(args, state: dict) -> dict:
    """The configuration saved in the checkpoint ``state`` of ``train --resume``, with a larger
    ``--epochs`` if given; a usage error for any other option given."""
    config = dict(state["config"])
    fixed = ("data", "model", "batch_size", "optimizer", "lr", "momentum", "weight_decay",
             "scheduler", "val_split", "patience", "seed", "data_dir", "target", "labels",
             "image_size", "clip_grad_norm")
    given = [f"--{k.replace('_', '-')}" for k in fixed if getattr(args, k, None) is not None]
    if given or args.model_arg or args.data_arg:
        extra = ", ".join(given) or "--model-arg/--data-arg"
        raise UsageError(f"--resume continues the saved run (data {config['data']}, model "
                         f"{config['model']}); leave out {extra} (only --epochs, --out, "
                         "--verbose and --device may change)")
    if args.epochs is not None:
        if args.epochs < int(state["epoch"]):
            raise UsageError(f"--epochs {args.epochs} is below the {state['epoch']} epochs "
                             "already done in the checkpoint")
        config["epochs"] = args.epochs
    return config

"""``--data PATH``: datasets read from the user's own files.

A ``--data`` that is not a registered dataset name is a path, read by
:func:`chainrule.data.files.load_data_file`: a ``.csv``/``.tsv`` file (with ``--target
COLUMN``), an ``.npz`` file (arrays ``x`` and ``y``), a ``.npy`` file of inputs (with ``--labels
FILE.npy``), or a folder of images with one sub-folder per class (``--image-size N|HxW``).
``train`` splits it at random into train and test parts, as it does a registered dataset, and
saves the loader's ``info`` (task, class names, target and input columns, image size) in the
checkpoint as ``config["data_info"]``; ``evaluate``, ``inspect`` and ``predict`` read other
files the same way, and ``predict`` prints class names.
"""

from __future__ import annotations

import os

import numpy as np

import chainrule as cr
from chainrule.cli import UsageError
from chainrule.cli.registry import DATASETS, TaskData, split
from chainrule.data.files import is_data_path, load_data_file

FILE_OPTIONS = ("task", "delimiter", "channels")  # --data-arg KEY=VALUE of a data file
FLAGS = ("target", "labels", "image_size")


def check_name(name: str) -> None:
    """A registered dataset or something that looks like a path, else a usage error."""
    if name not in DATASETS and not is_data_path(name):
        raise UsageError(f"unknown dataset {name!r}: give one of {', '.join(DATASETS.names())}, "
                         "or the path of a .csv, .tsv, .npz or .npy file or of a folder of "
                         "images")


def run_name(name: str) -> str:
    """The name of a run's default folder: the dataset, or the data file's name."""
    return name if name in DATASETS else \
        os.path.splitext(os.path.basename(os.path.normpath(name)))[0]


def refuse_file_flags(args, name: str) -> None:
    """--target, --labels and --image-size belong to data files, not to registered datasets."""
    given = [f"--{k.replace('_', '-')}" for k in FLAGS if getattr(args, k, None) is not None]
    if given:
        raise UsageError(f"{given[0]} applies to data files, not to the dataset {name!r}")


def file_args(args, model_task: str | None) -> dict:
    """The loader's arguments of ``train --data PATH``, as saved in ``config["data_args"]``."""
    if args.data_dir is not None:
        raise UsageError("--data-dir applies to datasets read from a folder (mnist); give the "
                         "data file itself to --data")
    options = {k: getattr(args, k) for k in FLAGS if getattr(args, k, None) is not None}
    for pair in args.data_arg:
        key, _, value = pair.partition("=")
        if key not in FILE_OPTIONS or not value:
            raise UsageError(f"--data-arg of a data file is one of "
                             f"{', '.join(k + '=VALUE' for k in FILE_OPTIONS)}, got {pair!r}")
        options[key] = value
    if "channels" in options:
        if options["channels"] not in ("1", "3"):
            raise UsageError(f"--data-arg channels= is 1 or 3, got {options['channels']!r}")
        options["channels"] = int(options["channels"])
    if model_task is not None:  # autoencoders and GANs learn from inputs alone
        options["require_targets"] = False
    return options


def _task_data(x, y, info, task=None, like=None) -> TaskData:
    like = like or info
    if y is None:  # unused labels: an autoencoder or a GAN learns without targets
        y = cr.zeros(len(x), dtype=cr.int64)
    data = TaskData((x, y), (x, y), task or info["task"] or "classification",
                    like["num_classes"], like["class_names"])
    data.info = {k: v for k, v in info.items() if k != "files"}
    return data


def load(path: str, seed: int, options: dict) -> TaskData:
    """Train and test splits (80% / 20%, at random) of the data file of ``train``."""
    x, y, info = load_data_file(path, **options)
    data = _task_data(x, y, info)
    pick = split(*data.train, seed=seed, task=data.task)
    data.train, data.test = pick.train, pick.test
    return data


def evaluation_data(args, config: dict) -> TaskData:
    """``evaluate`` and ``inspect`` on ``--data PATH``: the training file gives its test split
    again; another file is test data from end to end, read as the training file was."""
    name = args.data or config["data"]
    check_name(name)
    if args.data_arg or args.data_dir is not None:
        raise UsageError("--data-arg and --data-dir apply to registered datasets; a data file "
                         "is read as the training file was")
    labels = getattr(args, "labels", None)
    if name == config["data"] and labels is None:
        return load(name, config["seed"], config["data_args"])
    like = config.get("data_info") or {}
    supervised = config["task"] in ("classification", "regression")
    x, y, info = load_data_file(name, labels=labels, like=like, require_targets=supervised)
    return _task_data(x, y, info, config["task"], like or info)


def predict_inputs(path: str, config: dict, in_shape: tuple):
    """The inputs of ``predict --data PATH``, read as the training file was (targets, if any,
    are ignored), and the image files they come from (None for other files)."""
    x, _, info = load_data_file(path, like=config.get("data_info"), require_targets=False)
    if tuple(x.shape[1:]) != tuple(in_shape):
        raise UsageError(f"{path!r} has samples of shape {tuple(x.shape[1:])}, the model "
                         f"expects {tuple(in_shape)}")
    return x.numpy(), info.get("files")


def print_classes(labels: np.ndarray, config: dict, files=None) -> bool:
    """Print one class name per line (after its image file); False when the classes have no
    names (a registered dataset)."""
    names = (config.get("data_info") or {}).get("class_names")
    if not names:
        return False
    for i, label in enumerate(labels):
        print(f"{files[i]}\t{names[label]}" if files else names[label])
    return True

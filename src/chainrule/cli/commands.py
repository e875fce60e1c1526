"""What ``chainrule train``, ``evaluate``, ``predict`` and ``list`` do, on parsed arguments.

A run's configuration (dataset, model name and constructor arguments, task, optimiser, schedule,
seed, ...) is saved in every checkpoint under ``"config"``, so that ``evaluate`` and ``predict``
rebuild the model and ``train --resume`` continues the run exactly. The configuration is made in
:mod:`chainrule.cli.config`, checkpoints are read and models built in
:mod:`chainrule.cli.checkpoints`, and ``train --nproc N`` runs again under ``mpiexec`` through
:mod:`chainrule.cli.launch`.

The task decides what training means: classification and regression fit inputs to targets;
``reconstruction`` (the autoencoder) fits inputs to themselves; ``generation`` (the GAN) makes
the alternating updates of a GANTrainer (:mod:`chainrule.cli.generative`); ``language`` (the
GPT) predicts the next character of windows of text (:mod:`chainrule.cli.language`). All train
through ``Trainer.fit``, so every checkpoint has one layout and every run resumes alike.
"""

from __future__ import annotations

import os
import sys

import numpy as np

import chainrule as cr
from chainrule import distributed
from chainrule.cli import UsageError, datafiles, generative, language
from chainrule.cli.checkpoints import build_model, load_checkpoint, model_args, rebuild
from chainrule.cli.config import DEFAULTS as DEFAULTS  # re-exported: the name commands had
from chainrule.cli.config import new_config, parse_options, resumed_config
from chainrule.cli.launch import launch
from chainrule.cli.registry import (
    DATASETS,
    MODELS,
    OPTIMIZERS,
    TASKS,
    TaskData,
    image_shape,
    model_task,
)
from chainrule.cli.report import can_draw, format_confusion_matrix, format_results
from chainrule.cli.schedules import WarmupCosine, epoch_scheduler
from chainrule.data import DataLoader, TensorDataset, random_split
from chainrule.train import (
    CSVLogger,
    EarlyStopping,
    ModelCheckpoint,
    TensorBoard,
    Trainer,
    confusion_matrix,
)

CHECKPOINT, LOG, CURVES = "checkpoint.safetensors", "log.csv", "learning_curves.png"


# ---- data -------------------------------------------------------------------------------------
def _data(name: str, seed: int, options: dict) -> TaskData:
    if name not in DATASETS:  # a data file (checked by datafiles.check_name)
        return datafiles.load(name, seed, options)
    data = DATASETS[name](seed=seed, **options)
    if data.task not in TASKS:
        raise ValueError(f"dataset {name!r} has task {data.task!r}; known tasks: "
                         f"{', '.join(TASKS.names())}")
    return data


def _pairs(split: tuple, task: str) -> tuple:
    """(inputs, targets) of a split: the inputs are their own targets for reconstruction."""
    return (split[0], split[0]) if task == "reconstruction" else split


# ---- commands ---------------------------------------------------------------------------------
def _supervised_trainer(model, data: TaskData, config: dict, device: str,
                        callbacks: list, compile: bool = False) -> tuple:  # noqa: A002
    """The Trainer of a classification, regression or reconstruction run (the optimiser and
    schedule of ``config``; early stopping with ``--patience``) and its train and validation
    loaders (``--val-split`` of the training split)."""
    if device != "cpu":
        model.to(device)
    optimizer = OPTIMIZERS[config["optimizer"]](model.parameters(), **config["optimizer_args"])
    scheduler = epoch_scheduler(config["scheduler"], optimizer, config["epochs"])
    train_set = TensorDataset(*_pairs(data.train, config["task"]))
    val_set = None
    if config["val_split"] > 0:
        train_set, val_set = random_split(train_set, [1 - config["val_split"],
                                                      config["val_split"]], seed=config["seed"])
    if config["scheduler"] == "warmup-cosine":  # stepped at every batch, not every epoch
        callbacks.append(WarmupCosine())
    if config["patience"] and val_set is not None:
        callbacks.append(EarlyStopping("val_loss", patience=config["patience"],
                                       restore_best_weights=True))
    task = TASKS[config["task"]]
    trainer = Trainer(model, task.loss(), optimizer, metrics=list(task.metrics),
                      callbacks=callbacks, scheduler=scheduler,
                      device=None if device == "cpu" else device, compile=compile,
                      gradient_clip_val=config.get("clip_grad_norm"))
    loader = DataLoader(train_set, config["batch_size"], shuffle=True, seed=config["seed"])
    val_loader = DataLoader(val_set, 256) if val_set is not None else None
    return trainer, loader, val_loader


def train(args) -> int | None:
    """``chainrule train``: train, report on the test split, save checkpoint, log and curves.

    Every model trains through a Trainer's ``fit`` (a GANTrainer for the GAN), with the same
    callbacks (``log.csv``, a checkpoint per epoch, the progress display) and the same resume.
    With ``--nproc N`` the command runs again in N processes under ``mpiexec``, which train
    data-parallel; rank 0 alone writes and prints; the job's exit status is returned.
    """
    state = load_checkpoint(args.resume) if args.resume else None
    config = resumed_config(args, state) if state else new_config(args)
    if args.nproc is not None and args.nproc > 1 and not distributed.is_mpi_launched():
        if model_task(config["model"]) == "generation":
            raise UsageError("model 'gan' trains in one process; leave out --nproc")
        return launch(args)  # the arguments were checked here, once
    rank = distributed.rank()
    run = f"{datafiles.run_name(config['data'])}-{config['model']}"
    out = args.out or (os.path.dirname(os.path.abspath(args.resume)) if args.resume else
                       os.path.join("runs", run))

    cr.manual_seed(config["seed"])
    data = _data(config["data"], config["seed"], config["data_args"])
    if state is None:
        config["task"] = model_task(config["model"]) or data.task
        config["data_info"] = getattr(data, "info", {})
        language.prepare(config, data)
        config["model_args"] = model_args(config, data)
    model = build_model(config, fresh=state is None)
    if distributed.world_size() > 1:  # BatchNorm over the global batch, as in one process
        model = cr.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    generation = config["task"] == "generation"
    if generation and args.device != "cpu":
        raise UsageError("model 'gan' trains on the CPU; leave out --device cuda")
    if generation and distributed.world_size() > 1:
        raise UsageError("model 'gan' trains in one process; leave out --nproc")
    os.makedirs(out, exist_ok=True)
    callbacks = [CSVLogger(os.path.join(out, LOG), append=state is not None)]
    if args.tensorboard:
        try:
            callbacks.append(TensorBoard(args.tensorboard))
        except ImportError as err:
            raise UsageError(str(err)) from None
    if generation:
        trainer, loader = generative.gan_trainer(model, data, config, out, callbacks)
        val_loader = None
    else:
        if config["task"] == "language":
            callbacks.append(language.sample_callback(data, config, out))
            callbacks[-1].rank_zero_only = True
        trainer, loader, val_loader = _supervised_trainer(model, data, config, args.device,
                                                          callbacks, compile=args.compile)
    trainer.callbacks.append(ModelCheckpoint(os.path.join(out, CHECKPOINT),
                                             extra={"config": config}))
    if state is not None:
        trainer.load_state_dict(state)
        if trainer.epoch >= config["epochs"] and rank == 0:
            print(f"the checkpoint has already trained {trainer.epoch} epochs; pass a larger "
                  "--epochs to train more", file=sys.stderr)
    history = trainer.fit(loader, val=val_loader, epochs=config["epochs"], verbose=args.verbose,
                          initial_epoch=trainer.epoch)
    if rank != 0:  # rank 0 reports and draws
        return
    if generation:
        generative.report_gan(model, data, config)
    else:
        _report(trainer, data, config)
    written = [os.path.join(out, CHECKPOINT), os.path.join(out, LOG)]
    curves = os.path.join(out, CURVES)
    if len(history) and can_draw():
        cr.viz.plot_history(history, curves, title="learning curves")
        written.append(curves)
    if config["task"] == "reconstruction":
        written += generative.autoencoder_pictures(model.to("cpu"), data, out)
    if generation:
        written += generative.gan_written(trainer)
    if config["task"] == "language":
        written += [os.path.join(out, language.SAMPLES),
                    *language.attention_pictures(model.to("cpu"), data, out)]
    print(f"wrote {', '.join(written[:-1])} and {written[-1]}")


def _report(trainer: Trainer, data: TaskData, config: dict) -> None:
    X, y = _pairs(data.test, config["task"])
    results = trainer.evaluate((X, y), batch_size=256)
    print(format_results(results, len(X)))
    if config["task"] == "language":
        print(language.baseline_line(data, results))
    if config["task"] == "classification":
        scores = trainer.predict(X, batch_size=256)
        matrix = confusion_matrix(scores, y, num_classes=data.num_classes)
        print(format_confusion_matrix(matrix, data.class_names or None))


def _test_data(args, config: dict) -> TaskData:
    """The dataset of ``--data`` (default: the checkpoint's), checked against the model."""
    name = args.data or config["data"]
    if name not in DATASETS:
        data = datafiles.evaluation_data(args, config)
        expected = tuple(config["model_args"]["in_shape"])
        if data.in_shape != expected:
            raise UsageError(f"{name!r} has samples of shape {data.in_shape}, the model in "
                             f"{args.checkpoint!r} expects {expected}")
        return data
    datafiles.refuse_file_flags(args, name)
    options = dict(config["data_args"]) if name == config["data"] else {}
    options.update(parse_options(args.data_arg, DATASETS, name, "--data-arg"))
    if args.data_dir is not None:
        options["root"] = args.data_dir
    data = _data(name, config["seed"], options)
    expected = tuple(config["model_args"]["in_shape"])
    if data.in_shape != expected:
        raise UsageError(f"dataset {name!r} has samples of shape {data.in_shape}, the model in "
                         f"{args.checkpoint!r} expects {expected}")
    language.check_vocabulary(config, data)
    return data


def evaluate(args) -> None:
    """``chainrule evaluate CKPT``: loss, metrics and confusion matrix on a test split (for a
    GAN: its losses and D's mean outputs on test and generated samples)."""
    model, config = rebuild(args.checkpoint)
    data = _test_data(args, config)
    if config["task"] == "generation":
        generative.report_gan(model, data, config)
        return
    task = TASKS[config["task"]]
    trainer = Trainer(model, task.loss(), metrics=list(task.metrics))
    _report(trainer, data, config)


def _inputs(path: str, in_shape: tuple) -> np.ndarray:
    if not os.path.isfile(path):
        raise UsageError(f"input file {path!r} does not exist")
    try:
        X = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise UsageError(f"cannot read {path!r} as a .npy array without pickling: {err}") \
            from None
    size = int(np.prod(in_shape))
    if X.ndim >= 1 and int(np.prod(X.shape[1:])) == size:  # a batch: (N, *in_shape) or (N, size)
        X = X.reshape(len(X), *in_shape)
    elif X.size == size:  # one sample, in any shape of the right size (an 8x8 image)
        X = X.reshape(1, *in_shape)
    else:
        raise UsageError(f"input of shape {X.shape} does not fit the model, which expects "
                         f"samples of shape {in_shape} (or a batch of them)")
    if X.dtype.kind not in "biuf":
        raise UsageError(f"input of dtype {X.dtype} is not numeric")
    return X.astype(np.float32)


def predict(args) -> None:
    """``chainrule predict CKPT --input FILE.npy``: print (or save) the predictions.

    Class labels (or probabilities) of a classifier, values of a regression, reconstructions of
    an autoencoder; for a GAN, samples G(z) of ``--samples N`` noise vectors (seeded by
    ``--seed``) or of the noise vectors z in ``--input``. An ``--output`` ending in ``.png``
    draws the reconstructions or samples instead of saving them. A language model (``gpt``)
    prints ``--prompt`` and ``--generate N`` characters after it instead.
    """
    if args.input is None and args.samples is None and args.generate is None \
            and args.data is None:
        raise UsageError("one of the arguments --input --samples is required (--generate N for "
                         "a language model)")
    model, config = rebuild(args.checkpoint)
    task, in_shape = config["task"], tuple(config["model_args"]["in_shape"])
    if args.generate is not None or task == "language":
        return language.generate(args, model, config)
    if args.probabilities and task != "classification":
        raise UsageError(f"--probabilities applies to classifiers, not to model "
                         f"{config['model']!r} ({task})")
    picture = bool(args.output) and args.output.lower().endswith(".png")
    if picture and task not in ("reconstruction", "generation"):
        raise UsageError("an --output .png is drawn for autoencoders and GANs; save the "
                         "predictions of this model to a .npy file")
    files = None  # the image files of --data FOLDER, printed before their classes
    if task == "generation":
        if args.data is not None:
            raise UsageError("a GAN draws samples from --samples N or from the noise vectors "
                             "of --input FILE.npy, not from --data")
        z = generative.noise(args.samples, model.latent_dim, args.seed) if args.samples else \
            cr.tensor(_inputs(args.input, (model.latent_dim,)))
        X, result = None, model.sample(z=z).numpy()
    else:
        if args.input is None and args.data is None:
            raise UsageError(f"--samples draws samples from a GAN; model {config['model']!r} "
                             "predicts from --input FILE.npy or --data PATH")
        if args.data is not None:
            X, files = datafiles.predict_inputs(args.data, config, in_shape)
        else:
            X = _inputs(args.input, in_shape)
        outputs = Trainer(model, TASKS[task].loss()).predict(X, batch_size=args.batch_size)
        result = outputs.numpy()
        if task == "classification":
            result = outputs.softmax(dim=1).numpy() if args.probabilities else \
                result.argmax(axis=1)
    if picture:
        shape = image_shape(in_shape)
        if not generative.drawable(in_shape):
            raise UsageError(f"samples of shape {in_shape} are neither images nor 2-D points: "
                             "save them to a .npy file")
        if X is not None:
            cr.viz.plot_reconstructions(X, result, args.output, image_shape=shape)
        else:
            cr.viz.plot_samples(result, args.output, image_shape=shape,
                                title=f"{len(result)} generated samples")
        what = "generated samples" if X is None else "inputs and their reconstructions"
        print(f"wrote a picture of {len(result)} {what} to {args.output}")
        return
    if args.output:
        np.save(args.output, result)
        print(f"wrote {len(result)} {'samples' if X is None else 'predictions'} to "
              f"{args.output}")
        return
    if task == "classification" and not args.probabilities and \
            datafiles.print_classes(result, config, files):
        return
    for row in result:
        print(" ".join(f"{v:.6g}" for v in np.atleast_1d(row).ravel()))


def inspect(args) -> None:
    """``chainrule inspect CKPT``: the report of :func:`chainrule.analysis.report.inspect_model`
    (Hessian eigenvalues and trace, eigenvalue density, gradient flow, loss landscape)."""
    from chainrule.analysis.report import inspect_model

    model, config = rebuild(args.checkpoint)
    if config["task"] == "generation":
        raise UsageError("inspect needs one loss of (input, target) pairs; the two "
                         "adversarial losses of a GAN are not supported")
    data = _test_data(args, config)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.checkpoint)), "inspect")
    quick = {"n_samples": 10, "spectrum_iter": 15, "spectrum_runs": 1, "landscape_steps": 7} \
        if args.fast else {}
    try:
        import matplotlib  # noqa: F401
        plots = True
    except ImportError:
        print("note: plots not drawn: matplotlib is not installed (pip install "
              "'chainrule[plot]')", file=sys.stderr)
        plots = False
    inspect_model(model, TASKS[config["task"]].loss(), _pairs(data.test, config["task"]), out,
                  k=args.top, seed=config["seed"], plots=plots, **quick)


def list_registries(args) -> None:
    """``chainrule list``: the names the other commands accept."""
    registries = (("datasets", DATASETS), ("models", MODELS), ("optimizers", OPTIMIZERS))
    width = max(len(name) for _, registry in registries for name in registry.names())
    for title, registry in registries:
        print(f"{title}:")
        for name in registry.names():
            options = registry.options(name)
            extra = f" [options: {', '.join(options)}]" if options else ""
            print(f"  {name:<{width}} {registry.help(name)}{extra}")

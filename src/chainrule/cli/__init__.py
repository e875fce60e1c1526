"""The ``chainrule`` command: train, evaluate and use models from the shell.

Examples::

    chainrule train --data digits --model mlp --epochs 30 --out runs/digits-mlp
    chainrule evaluate runs/digits-mlp/checkpoint.safetensors --data digits
    chainrule predict runs/digits-mlp/checkpoint.safetensors --input images.npy
    chainrule train --resume runs/digits-mlp/checkpoint.safetensors --epochs 40
    chainrule inspect runs/digits-mlp/checkpoint.safetensors
    chainrule list

Every model family trains with the same command:

- convolutional network (LeNet) on the digits, whose flat 64 pixels the model itself reshapes to
  1 x 8 x 8 images (so its checkpoint takes the same inputs as the MLP's)::

    chainrule train --data digits --model cnn --epochs 15

- recurrent networks (rnn, lstm, gru) on sequences (N, T, F), here noisy sines labelled by
  their frequency::

    chainrule train --data sine-seq --model gru --lr 0.01 --epochs 20
    chainrule train --data sine-seq --model lstm --model-arg hidden_size=32

- autoencoder, trained to give back its input (loss: MSE); writes ``reconstructions.png`` and,
  for a 2-D code, ``codes.png``; ``evaluate`` prints the test reconstruction error and
  ``predict`` the reconstructions (or draws them, with ``--output FILE.png``)::

    chainrule train --data digits --model autoencoder --lr 0.003 --model-arg code_size=2
    chainrule train --data digits --model autoencoder --model-arg conv=True

- GAN, trained adversarially (Adam on both networks at ``--lr``); writes
  ``samples_epoch_NNN.png`` every few epochs and ``log.csv`` with loss_d, loss_g, d_real and
  d_fake; ``--resume`` continues exactly; ``evaluate`` prints the losses and D's mean outputs
  on test and generated samples (and the modes covered, on ``mixture``); ``predict --samples
  N`` draws samples::

    chainrule train --data digits --model gan --epochs 100
    chainrule train --data mixture --model gan --lr 0.002 --batch-size 128
    chainrule predict runs/digits-gan/checkpoint.safetensors --samples 64 --output fake.png

- GPT, a small transformer that predicts the next character of a text (Python's own sources
  by default, or ``--data-arg path=FILE``); writes ``samples.txt`` (generated text after every
  epoch) and ``attention.png`` (every head's attention weights); ``predict --generate N``
  continues a prompt::

    chainrule train --data text --model gpt --optimizer adamw --lr 0.003 --epochs 5 \\
        --weight-decay 0.1 --scheduler warmup-cosine --clip-grad-norm 1.0
    chainrule predict runs/text-gpt/checkpoint.safetensors --generate 500 --prompt "def " \\
        --temperature 0.8 --top-k 20

Datasets, models, tasks and optimisers come from the registries of
:mod:`chainrule.cli.registry`. A bad argument gives a one-line error naming what is wrong and
what is allowed, with exit status 2; a failure while running (a missing data file, a damaged
checkpoint) gives a one-line error with exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys

from chainrule.cli.registry import DATASETS, MODELS, OPTIMIZERS

SCHEDULERS = ("none", "cosine", "step", "plateau", "warmup-cosine")


class UsageError(Exception):
    """A bad command-line argument found after parsing (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``chainrule train: error: ...`` and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(kind, low, high=None, low_inclusive=True):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") \
                from None
        too_low = value < low if low_inclusive else value <= low
        if too_low or (high is not None and value >= high):
            bound = f"in [{low}, {high})" if high is not None else \
                f"{'>=' if low_inclusive else '>'} {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _choices(registry):
    return f"one of: {', '.join(registry.names())}"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="chainrule", description="Train, evaluate and use chainrule models.")
    from chainrule import __version__

    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    train = commands.add_parser(
        "train", help="train a model on a dataset",
        epilog="Models: mlp and linear take any samples; cnn takes images (C, H, W) or flat "
               "vectors of H*H pixels; rnn, lstm and gru take sequences (T, F); autoencoder "
               "learns to give back its inputs; gan trains a generator against a "
               "discriminator (Adam at --lr for both; --optimizer, --momentum, --scheduler, "
               "--patience and --val-split do not apply) and, like every run, resumes "
               "exactly with --resume; gpt learns the next character of --data text (Python's "
               "own sources, or --data-arg path=FILE). 'chainrule list' shows every name and "
               "option.")
    train.add_argument("--data", metavar="NAME|PATH",
                       help=f"dataset, {_choices(DATASETS)}; or a data file: .csv (with "
                            "--target), .npz (arrays x and y), .npy (with --labels), or a "
                            "folder of images, one sub-folder per class")
    train.add_argument("--target", metavar="COLUMN",
                       help="--data FILE.csv: the column to predict (text labels are classes)")
    train.add_argument("--labels", metavar="FILE.npy",
                       help="--data FILE.npy: the targets of its samples, in a second file")
    train.add_argument("--image-size", metavar="N|HxW",
                       help="--data FOLDER: the size images are resized to (default: the "
                            "first image's)")
    train.add_argument("--model", choices=MODELS.names(), metavar="NAME",
                       help=f"model, {_choices(MODELS)} (default mlp)")
    train.add_argument("--epochs", type=_number(int, 1), help="epochs (default 30)")
    train.add_argument("--batch-size", type=_number(int, 1), help="batch size (default 32)")
    train.add_argument("--optimizer", choices=OPTIMIZERS.names(), metavar="NAME",
                       help=f"optimiser, {_choices(OPTIMIZERS)} (default adam)")
    train.add_argument("--lr", type=_number(float, 0.0, low_inclusive=False),
                       help="learning rate (default 0.001)")
    train.add_argument("--momentum", type=_number(float, 0.0, 1.0),
                       help="momentum (sgd and rmsprop only)")
    train.add_argument("--weight-decay", type=_number(float, 0.0), help="L2 weight decay")
    train.add_argument("--clip-grad-norm", type=_number(float, 0.0, low_inclusive=False),
                       metavar="MAX", help="clip the gradients' joint 2-norm to MAX at every "
                       "step (transformers train steadier with 1.0)")
    train.add_argument("--scheduler", choices=SCHEDULERS, metavar="NAME",
                       help=f"learning-rate schedule, one of: {', '.join(SCHEDULERS)} "
                            "(default none; warmup-cosine changes it at every batch)")
    train.add_argument("--val-split", type=_number(float, 0.0, 1.0),
                       help="share of the training data held out for validation (default 0.1)")
    train.add_argument("--patience", type=_number(int, 1),
                       help="stop early after this many epochs without a better val_loss, "
                            "keeping the best weights")
    train.add_argument("--seed", type=_number(int, 0), help="random seed (default 0)")
    train.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="a model option, e.g. hidden=256,128 (repeatable)")
    train.add_argument("--data-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="a dataset option, e.g. noise=0.2 or path=FILE (repeatable)")
    train.add_argument("--data-dir", metavar="DIR", help="folder of data files (mnist)")
    train.add_argument("--out", metavar="DIR", help="output folder (default runs/DATA-MODEL)")
    train.add_argument("--tensorboard", metavar="DIR",
                       help="also write TensorBoard logs to DIR (pip install "
                            "'chainrule[tensorboard]'; view with tensorboard --logdir DIR)")
    train.add_argument("--resume", metavar="CKPT", help="continue the run saved in CKPT")
    train.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    train.add_argument("--compile", action="store_true",
                       help="replay each training step compiled (cr.compile)")
    train.add_argument("--nproc", type=_number(int, 1), metavar="N",
                       help="train data-parallel in N processes on this machine (mpiexec; pip "
                            "install 'chainrule[distributed]')")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                       help="0 silent, 1 progress bar, 2 one line per epoch")

    evaluate = commands.add_parser("evaluate", help="evaluate a checkpoint on a test set")
    evaluate.add_argument("checkpoint", metavar="CKPT")
    evaluate.add_argument("--data", metavar="NAME|PATH",
                          help=f"dataset (default: the one it was trained on), "
                               f"{_choices(DATASETS)}, or a data file read as the training "
                               "file was")
    evaluate.add_argument("--labels", metavar="FILE.npy", help="targets of --data FILE.npy")
    evaluate.add_argument("--data-arg", action="append", default=[], metavar="KEY=VALUE")
    evaluate.add_argument("--data-dir", metavar="DIR", help="folder of data files (mnist)")
    evaluate.add_argument("--batch-size", type=_number(int, 1), default=256)

    predict = commands.add_parser("predict", help="predict with a checkpoint on a .npy file")
    predict.add_argument("checkpoint", metavar="CKPT")
    source = predict.add_mutually_exclusive_group()  # one is required: checked by predict
    source.add_argument("--input", metavar="FILE.npy",
                        help="inputs: one sample or a batch of samples (for a GAN: noise "
                             "vectors z)")
    source.add_argument("--data", metavar="PATH",
                        help="inputs: a .csv, .npz or .npy file or a folder of images, read "
                             "as the training file was (classes are printed by name)")
    source.add_argument("--samples", type=_number(int, 1), metavar="N",
                        help="GAN checkpoints: draw N samples")
    source.add_argument("--generate", type=_number(int, 1), metavar="N",
                        help="language models (gpt): print --prompt and N generated characters")
    predict.add_argument("--prompt", metavar="TEXT",
                         help="the text --generate continues (default: a new line)")
    predict.add_argument("--temperature", type=_number(float, 0.0), default=1.0,
                         help="--generate draws from softmax(logits / T); 0 picks the likeliest "
                              "character (default 1)")
    predict.add_argument("--top-k", type=_number(int, 1), metavar="K",
                         help="--generate draws among the K likeliest characters only")
    predict.add_argument("--seed", type=_number(int, 0), default=0,
                         help="seed of the noise of --samples and of --generate (default 0)")
    predict.add_argument("--output", metavar="FILE", help="save the predictions here (.npy); "
                         "a .png draws reconstructions or samples")
    predict.add_argument("--probabilities", action="store_true",
                         help="output class probabilities instead of labels")
    predict.add_argument("--batch-size", type=_number(int, 1), default=256)

    inspect = commands.add_parser("inspect", help="Hessian spectrum, gradient flow and loss "
                                  "landscape of a checkpoint's model on its test split")
    inspect.add_argument("checkpoint", metavar="CKPT")
    inspect.add_argument("--data", metavar="NAME|PATH",
                         help="dataset or data file (default: the one it was trained on)")
    inspect.add_argument("--labels", metavar="FILE.npy", help="targets of --data FILE.npy")
    inspect.add_argument("--data-arg", action="append", default=[], metavar="KEY=VALUE")
    inspect.add_argument("--data-dir", metavar="DIR", help="folder of data files (mnist)")
    inspect.add_argument("--out", metavar="DIR", help="report folder (default: CKPT's folder/"
                         "inspect)")
    inspect.add_argument("--top", type=_number(int, 1), default=5,
                         help="how many top Hessian eigenvalues (default 5)")
    inspect.add_argument("--fast", action="store_true",
                         help="fewer random vectors and a coarse landscape, for a quick look")

    export = commands.add_parser("export", help="export a checkpoint's model to ONNX")
    export.add_argument("checkpoint", metavar="CKPT")
    export.add_argument("--onnx", metavar="FILE.onnx", required=True,
                        help="the ONNX file to write (pip install 'chainrule[onnx]')")
    export.add_argument("--opset", type=_number(int, 7), default=17,
                        help="ONNX opset version (default 17)")
    export.add_argument("--static-batch", action="store_true",
                        help="fix the batch size to 1 (default: a dynamic batch axis)")

    playground = commands.add_parser(
        "playground", help="serve the interactive playground page in a browser")
    playground.add_argument("--port", type=_number(int, 0, 65536), default=8000,
                            help="port (default 8000)")
    playground.add_argument("--host", default="127.0.0.1",
                            help="address to listen on (default 127.0.0.1: this machine only)")
    playground.add_argument("--open", action="store_true", help="open the page in a browser")

    commands.add_parser("list", help="list the registered datasets, models and optimisers")
    return parser


def _export(args):
    from chainrule.cli.export import export

    export(args)


def _playground(args):
    from chainrule.cli.playground import playground

    playground(args)


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    from chainrule.cli import commands
    from chainrule.io import CheckpointError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_usage(sys.stderr)
        return 2
    run = {"train": commands.train, "evaluate": commands.evaluate, "predict": commands.predict,
           "inspect": commands.inspect, "list": commands.list_registries,
           "export": _export, "playground": _playground}[args.command]
    try:
        status = run(args)
    except UsageError as err:
        print(f"chainrule {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (CheckpointError, FileNotFoundError, ImportError, ValueError) as err:
        print(f"chainrule {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a program that stopped reading (| head)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return status or 0

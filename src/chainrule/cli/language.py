"""What ``chainrule train``, ``evaluate`` and ``predict`` add for character language models.

The ``text`` dataset holds windows of T characters and their next characters (the "language"
task, loss: the cross-entropy of the next character at every position); ``gpt`` is the model
that learns it. A run stores the vocabulary (the characters, in index order) in its checkpoint,
so that ``predict --generate`` can turn the model's token indices back into text.

- During training, :class:`TextSamples` appends to ``samples.txt`` a piece of generated text
  after every epoch (from a generator of its own, so the run's random state is untouched and
  ``--resume`` stays exact).
- After training, ``attention.png`` shows the attention weights of every head of every layer
  for the start of one held-out window (:func:`chainrule.viz.plot_attention`).
- ``train`` and ``evaluate`` print the test loss beside the unigram baseline, the loss of
  predicting every character by its frequency alone, which a model must beat.
- ``predict CKPT --generate N --prompt TEXT --temperature T --top-k K`` prints the prompt and
  N generated characters.
"""

from __future__ import annotations

import math
import os

import numpy as np

import chainrule as cr
from chainrule.cli.registry import TaskData, model_task
from chainrule.cli.report import can_draw
from chainrule.data.text import unigram_cross_entropy
from chainrule.train import Callback

SAMPLES, ATTENTION = "samples.txt", "attention.png"
SAMPLE_CHARS, PROMPT_CHARS, SHOWN_CHARS = 300, 32, 32  # per epoch; prompt; attention picture


def prepare(config: dict, data: TaskData) -> None:
    """Check that the model and the dataset are a language model and a text, or neither;
    store the vocabulary in ``config`` (and so in every checkpoint)."""
    from chainrule.cli import UsageError

    language_model = model_task(config["model"]) == "language"
    if language_model and data.vocabulary is None:
        raise UsageError(f"model {config['model']!r} learns text: use --data text (with "
                         "--data-arg path=FILE for your own)")
    if data.vocabulary is not None and not language_model:
        raise UsageError(f"dataset {config['data']!r} holds characters for a language model: "
                         "use --model gpt")
    if data.vocabulary is not None:
        config["vocabulary"] = data.vocabulary


def check_vocabulary(config: dict, data: TaskData) -> None:
    """Refuse to evaluate a language model on a text whose characters it does not index."""
    from chainrule.cli import UsageError

    if config["task"] == "language" and data.vocabulary != config["vocabulary"]:
        raise UsageError("this text's characters differ from the vocabulary of the model "
                         f"({len(config['vocabulary'])} characters); the indices would not match")


def encode(vocabulary: str, text: str) -> list:
    """The indices of the characters of ``text`` in ``vocabulary``."""
    from chainrule.cli import UsageError

    index = {c: i for i, c in enumerate(vocabulary)}
    missing = sorted(set(text) - index.keys())
    if missing:
        raise UsageError(f"the prompt has characters the model never saw: {''.join(missing)!r}")
    return [index[c] for c in text]


def decode(vocabulary: str, ids) -> str:
    return "".join(vocabulary[int(i)] for i in ids)


class TextSamples(Callback):
    """After every epoch, append to ``path`` a continuation of ``prompt`` by the model.

    Args:
        prompt: token indices the samples start from (the same every epoch).
        vocabulary: the characters, in index order.
        path: the text file.
        seed: the seed of the sampling generator (epoch e draws with seed + e).
        length: characters generated per sample.
        temperature, top_k: as ``GPT.generate``.
    """

    def __init__(self, prompt, vocabulary: str, path: str, seed: int = 0,
                 length: int = SAMPLE_CHARS, temperature: float = 0.8, top_k: int | None = 20):
        self.prompt, self.vocabulary, self.path = list(prompt), vocabulary, path
        self.seed, self.length, self.temperature, self.top_k = seed, length, temperature, top_k

    def on_epoch_end(self, epoch, logs=None):
        rng = np.random.default_rng(self.seed + epoch)
        ids = self.model.generate(cr.tensor([self.prompt]), self.length, self.temperature,
                                  self.top_k, generator=rng)
        logs = logs or {}
        key = "val_loss" if "val_loss" in logs else "loss"
        heading = f"--- epoch {epoch + 1}" + (f", {key} {logs[key]:.4f}" if key in logs else "")
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(f"{heading} ---\n{decode(self.vocabulary, ids.numpy()[0])}\n\n")


def sample_callback(data: TaskData, config: dict, out: str) -> TextSamples:
    """The :class:`TextSamples` of a run: it continues the first characters of the test text."""
    prompt = data.test[0].numpy()[0, :PROMPT_CHARS]
    return TextSamples(prompt, data.vocabulary, os.path.join(out, SAMPLES), config["seed"])


def attention_pictures(model, data: TaskData, out: str) -> list:
    """Draw ``attention.png`` (every head of every layer, for the first characters of the
    first test window); return the paths written."""
    if not can_draw():
        return []
    ids = data.test[0].numpy()[0, :SHOWN_CHARS]
    maps = model.attention_maps(cr.tensor(ids))
    path = os.path.join(out, ATTENTION)
    cr.viz.plot_attention(maps, decode(data.vocabulary, ids), path,
                          title="attention weights for the start of a test window")
    return [path]


def baseline_line(data: TaskData, results: dict) -> str:
    """The test loss in bits per character against the unigram baseline's (what a model must
    beat: each character predicted by its frequency in the training text)."""
    baseline = unigram_cross_entropy(data.train[0], data.test[1], len(data.vocabulary))
    loss = results["loss"]
    return (f"test loss {loss:.4f} nats = {loss / math.log(2):.3f} bits per character; unigram "
            f"baseline {baseline:.4f} nats = {baseline / math.log(2):.3f} bits per character")


def generate(args, model, config: dict) -> None:
    """``predict CKPT --generate N``: print the prompt and N generated characters."""
    from chainrule.cli import UsageError

    if config["task"] != "language":
        raise UsageError(f"--generate continues text with a language model; model "
                         f"{config['model']!r} predicts from --input FILE.npy")
    if args.generate is None:
        raise UsageError(f"model {config['model']!r} writes text: use --generate N "
                         "[--prompt TEXT --temperature T --top-k K]")
    vocabulary = config["vocabulary"]
    prompt = args.prompt if args.prompt is not None else ("\n" if "\n" in vocabulary else
                                                           vocabulary[0])
    if not prompt:
        raise UsageError("--prompt must hold at least one character")
    ids = model.generate(cr.tensor([encode(vocabulary, prompt)]), args.generate,
                         temperature=args.temperature, top_k=args.top_k,
                         generator=np.random.default_rng(args.seed))
    print(decode(vocabulary, ids.numpy()[0]))

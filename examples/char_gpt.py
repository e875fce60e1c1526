"""A character-level GPT on Python's own sources: attention, heads and sampling (SPEC 11).

The text is the source code of Python's standard library, read from this installation (nothing
is downloaded). A small decoder-only transformer (``cr.models.GPT``) reads windows of T
characters and predicts, at every position, the next character:

    x = E[c_t] + P[t]  ->  n_layer x (x + Attn(LN(x)), x + MLP(LN(x)))  ->  logits = LN(x) E^T

Each attention head computes A = softmax(Q K^T / sqrt(d) + M) with a causal mask M (no position
sees the future) and mixes the values, out = A V. Training: AdamW, a learning rate that rises
linearly over the first 5% of the updates and then follows half a cosine down to a tenth,
gradient clipping at norm 1. The yardstick is the unigram baseline, the loss of predicting
every character by its frequency alone.

Writes ``loss.png`` (training and validation loss against the baseline), ``attention.png``
(every head of every layer on one validation window) and ``samples.txt``.

Run:  python examples/char_gpt.py [--fast] [--steps N] [--out DIR]
"""

import argparse
import math
import os
import time

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader
from chainrule.data.text import char_datasets, load_text, unigram_cross_entropy
from chainrule.models import GPT

FULL = {"chars": 300_000, "block_size": 128, "n_layer": 4, "n_head": 4, "n_embd": 128,
        "steps": 300, "eval_every": 25}
FAST = {"chars": 30_000, "block_size": 32, "n_layer": 2, "n_head": 2, "n_embd": 32,
        "steps": 80, "eval_every": 40}


def schedule(warmup, total, final=0.1):
    """The factor of the learning rate at update s: a linear rise, then half a cosine."""
    def factor(s):
        if s < warmup:
            return (s + 1) / warmup
        progress = min(1.0, (s - warmup) / max(1, total - warmup))
        return final + (1 - final) * (1 + math.cos(math.pi * progress)) / 2
    return factor


@cr.no_grad()
def evaluate(model, dataset, batch_size=64):
    """The mean next-character loss over every window of ``dataset`` (nats)."""
    model.eval()
    X, Y = dataset.tensors()
    total = 0.0
    for i in range(0, len(X), batch_size):
        x, y = X[i:i + batch_size], Y[i:i + batch_size]
        total += model.loss(x, y).item() * len(x)
    model.train()
    return total / len(X)


def train(model, train_set, val_set, steps, eval_every, batch_size, lr, seed):
    optimizer = cr.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.1)
    scheduler = cr.optim.lr_scheduler.LambdaLR(optimizer,
                                               schedule(max(1, steps // 20), steps))
    loader = DataLoader(train_set, batch_size, shuffle=True, drop_last=True, seed=seed)
    losses, val_losses, step = [], [], 0
    while step < steps:
        for x, y in loader:                      # x, y: (B, T) characters and next characters
            optimizer.zero_grad()
            loss = model.loss(x, y)              # cross-entropy at all B * T positions
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            scheduler.step()                     # one step of the schedule per update
            losses.append(loss.item())
            step += 1
            if step % eval_every == 0 or step == steps:
                val_losses.append((step, evaluate(model, val_set)))
                print(f"step {step:4d}/{steps}: train loss {losses[-1]:.4f}, "
                      f"validation loss {val_losses[-1][1]:.4f} nats")
            if step == steps:
                break
    return losses, val_losses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a tiny model, a few steps")
    parser.add_argument("--steps", type=int, default=None, help="training updates")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("examples", "output", "char_gpt"))
    args = parser.parse_args(argv)
    setting = dict(FAST if args.fast else FULL)
    steps = args.steps or setting["steps"]
    os.makedirs(args.out, exist_ok=True)
    cr.manual_seed(args.seed)

    text = load_text(max_chars=setting["chars"])
    T = setting["block_size"]
    train_set, val_set = char_datasets(text, T, stride=T)     # 90% / 10% by position
    baseline = unigram_cross_entropy(train_set.ids, val_set.ids, train_set.vocab_size)
    print(f"{len(text):,} characters of Python's sources, {train_set.vocab_size} distinct; "
          f"{len(train_set)} training and {len(val_set)} validation windows of {T}")
    print(f"unigram baseline: {baseline:.4f} nats = {baseline / math.log(2):.3f} bits per "
          "character")
    model = GPT(train_set.vocab_size, T, setting["n_layer"], setting["n_head"],
                setting["n_embd"])
    print(f"GPT: {setting['n_layer']} layers, {setting['n_head']} heads, width "
          f"{setting['n_embd']}, {model.num_parameters():,} parameters")
    start = time.perf_counter()
    losses, val_losses = train(model, train_set, val_set, steps, setting["eval_every"],
                               args.batch_size, args.lr, args.seed)
    seconds = time.perf_counter() - start
    val_loss = val_losses[-1][1]
    print(f"validation loss {val_loss:.4f} nats = {val_loss / math.log(2):.3f} bits per "
          f"character after {steps} updates ({seconds:.0f} s); the baseline is {baseline:.4f}")

    rng = np.random.default_rng(args.seed)
    samples = []
    for temperature, top_k in ((0.8, 20), (1.0, None)):
        prompt = cr.tensor([train_set.encode("def ")])
        ids = model.generate(prompt, 100 if args.fast else 400, temperature, top_k,
                             generator=rng)
        samples.append(f"--- temperature {temperature}, top_k {top_k} ---\n"
                       f"{train_set.decode(ids.numpy()[0])}\n")
        print(samples[-1])
    with open(os.path.join(args.out, "samples.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(samples))

    window = val_set[0][0][:32]                               # 32 characters of validation text
    maps = model.attention_maps(window)                        # n_layer arrays (H, 32, 32)
    plot(losses, val_losses, baseline, maps, val_set.decode(window.tolist()), args.out)
    return {"baseline": baseline, "val_loss": val_loss, "val_losses": val_losses,
            "losses": losses, "samples": samples, "maps": maps, "seconds": seconds,
            "model": model}


def plot(losses, val_losses, baseline, maps, tokens, out):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(np.arange(1, len(losses) + 1), losses, lw=0.8, alpha=0.6, label="training batch")
    steps, values = zip(*val_losses)
    ax.plot(steps, values, "o-", label="validation")
    ax.axhline(baseline, color="tab:red", ls="--", label="unigram baseline")
    ax.set(title="character GPT on Python's sources", xlabel="update",
           ylabel="cross-entropy (nats per character)")
    ax.legend()
    fig.savefig(os.path.join(out, "loss.png"), dpi=100)
    cr.viz.plot_attention(maps, tokens, os.path.join(out, "attention.png"),
                          title="attention weights on 32 characters of validation text")
    print(f"written {os.path.join(out, 'loss.png')}, {os.path.join(out, 'attention.png')} "
          f"and {os.path.join(out, 'samples.txt')}")


if __name__ == "__main__":
    main()

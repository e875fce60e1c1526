"""A character-level language model on the Zen of Python, sampled with a temperature (SPEC 10).

The text ships with Python: the ``this`` module holds it ROT13-encoded. An embedding, an LSTM and
a linear layer predict every next character (many-to-many):

    e_t = E[c_t],  (h_t, c_t) = LSTM(e_t, (h_{t-1}, c_{t-1})),  p(c_{t+1}) = softmax(W h_t + b).

Training uses truncated back-propagation through time: the text is cut into parallel streams
and read in chunks of ``--bptt`` characters; the state is carried from one chunk to the next
but detached, so gradients flow back at most one chunk. Gradient clipping by norm bounds the
update. Sampling is one-to-many: the model's own output, drawn from softmax(logits / T), is its
next input; a low temperature T gives safe, repetitive text, a high one more surprising text.

Run:  python examples/char_lm.py [--fast] [--epochs N] [--out DIR]
"""

import argparse
import codecs
import contextlib
import io
import math
import os

import numpy as np

import chainrule as cr
from chainrule import nn


def zen_of_python() -> str:
    with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the poem
        import this
    return codecs.decode(this.s, "rot13")


class CharLM(nn.Module):
    """Embedding -> LSTM -> Linear over the vocabulary."""

    def __init__(self, vocab_size, embedding_dim=32, hidden_size=128, num_layers=1):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens, state=None):
        output, state = self.lstm(self.embedding(tokens), state)
        return self.head(output), state


def batchify(ids, streams):
    """Cut the token sequence into ``streams`` equal rows read side by side: (streams, L)."""
    length = len(ids) // streams
    return ids[:streams * length].reshape(streams, length)


def train(model, data, epochs, bptt, lr):
    optimizer = cr.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    vocab = model.head.out_features
    history = []
    for epoch in range(epochs):
        state, total, count = None, 0.0, 0
        for start in range(0, data.shape[1] - 1, bptt):
            stop = min(start + bptt, data.shape[1] - 1)
            x = cr.tensor(data[:, start:stop])
            y = cr.tensor(data[:, start + 1:stop + 1])
            if state is not None:  # truncated BPTT: keep the state, cut the graph
                state = tuple(s.detach() for s in state)
            optimizer.zero_grad()
            logits, state = model(x, state)
            loss = loss_fn(logits.reshape(-1, vocab), y.reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            total += loss.item() * y.numel()
            count += y.numel()
        history.append(total / count / math.log(2))  # bits per character
        if epoch % 25 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:4d}/{epochs}: {history[-1]:.3f} bits per character")
    return history


@cr.no_grad()
def sample(model, chars, prompt, length, temperature, rng):
    """Generate ``length`` characters after ``prompt``, drawing from softmax(logits / T)."""
    model.eval()
    index = {c: i for i, c in enumerate(chars)}
    logits, state = model(cr.tensor([[index[c] for c in prompt]]))
    text = prompt
    for _ in range(length):
        z = logits.numpy()[0, -1].astype(np.float64) / temperature
        p = np.exp(z - z.max())
        nxt = int(rng.choice(len(chars), p=p / p.sum()))
        text += chars[nxt]
        logits, state = model(cr.tensor([[nxt]]), state)
    model.train()
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a few epochs and short samples")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--bptt", type=int, default=32, help="characters per truncated chunk")
    parser.add_argument("--streams", type=int, default=8, help="parallel streams (batch size)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("examples", "output", "char_lm"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    cr.manual_seed(args.seed)
    epochs = args.epochs or (3 if args.fast else 150)

    text = zen_of_python()
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in text], dtype=np.int64)
    print(f"{len(text)} characters, vocabulary of {len(chars)}")
    model = CharLM(len(chars))
    history = train(model, batchify(ids, args.streams), epochs, args.bptt, lr=5e-3)

    rng = np.random.default_rng(args.seed)
    samples = []
    for temperature in (0.5, 1.0):
        s = sample(model, chars, "Beautiful is", 60 if args.fast else 300, temperature, rng)
        samples.append(f"--- temperature {temperature} ---\n{s}\n")
        print(samples[-1])
    with open(os.path.join(args.out, "samples.txt"), "w") as f:
        f.write("\n".join(samples))
    plot(history, args.out)
    return {"bits_per_char": history, "samples": samples}


def plot(history, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.arange(1, len(history) + 1), history)
    ax.set(title="character language model on the Zen of Python", xlabel="epoch",
           ylabel="training loss (bits per character)")
    fig.tight_layout()
    path = os.path.join(out, "loss.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"written {path} and {os.path.join(out, 'samples.txt')}")


if __name__ == "__main__":
    main()

"""A GRU tells which frequency a noisy signal carries: sequence classification (SPEC 10, 12).

Each sequence is a sine wave of one of ``--classes`` frequencies with a random amplitude and
phase, buried in Gaussian noise (``make_sine_sequences``). To show how batches of sequences of
different lengths work, every sequence is also cut to a random length between half and all of
its steps and zero-padded back: the GRU gets the true ``lengths``, so its final state is the
state at each sequence's own last step (many-to-one), and a linear layer maps it to the class:

    r, z = s(W_r [x_t, h]), s(W_z [x_t, h]),  n = tanh(W_in x_t + r * W_hn h),
    h_t = (1 - z) * n + z * h_{t-1},          logits = W h_L + b.

Run:  python examples/sequence_classification.py [--fast] [--classes 4] [--out DIR]
"""

import argparse
import os

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset
from chainrule.data.sequences import make_sine_sequences
from chainrule.models.rnn import RNNClassifier


def make_data(n, length, classes, seed):
    """Sine sequences cut to random lengths in [length / 2, length], zero-padded."""
    X, y = make_sine_sequences(n, length, classes, noise=0.5, seed=seed)
    rng = np.random.default_rng(seed + 1)
    lengths = rng.integers(length // 2, length + 1, size=n)
    X = X.numpy() * (np.arange(length)[None, :, None] < lengths[:, None, None])
    return cr.tensor(X), cr.tensor(lengths), y


def accuracy(model, X, lengths, y):
    model.eval()
    with cr.no_grad():
        predicted = model(X, lengths=lengths).numpy().argmax(1)
    model.train()
    return float((predicted == y.numpy()).mean()), predicted


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="little data and two epochs")
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--length", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("examples", "output",
                                                      "sequence_classification"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    cr.manual_seed(args.seed)
    epochs = args.epochs or (2 if args.fast else 25)
    n_train, n_test = (200, 100) if args.fast else (2000, 500)

    X, lengths, y = make_data(n_train + n_test, args.length, args.classes, args.seed)
    train = DataLoader(TensorDataset(X[:n_train], lengths[:n_train], y[:n_train]),
                       batch_size=64, shuffle=True, seed=args.seed)
    test = (X[n_train:], lengths[n_train:], y[n_train:])

    model = RNNClassifier(1, 32, args.classes, cell="gru")
    optimizer = cr.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    history = {"loss": [], "test_accuracy": []}
    for epoch in range(epochs):
        total = 0.0
        for xb, lb, yb in train:
            optimizer.zero_grad()
            loss = loss_fn(model(xb, lengths=lb), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            total += loss.item() * len(yb)
        history["loss"].append(total / n_train)
        history["test_accuracy"].append(accuracy(model, *test)[0])
        print(f"epoch {epoch + 1:3d}/{epochs}: loss {history['loss'][-1]:.4f}, "
              f"test accuracy {history['test_accuracy'][-1]:.3f}")

    acc, predicted = accuracy(model, *test)
    confusion = np.zeros((args.classes, args.classes), dtype=int)
    np.add.at(confusion, (test[2].numpy(), predicted), 1)
    print(f"test accuracy {acc:.3f} (chance {1 / args.classes:.3f})")
    print("confusion matrix (rows: true frequency class, columns: predicted):")
    print(confusion)
    plot(test, history, confusion, args.out)
    return {"accuracy": acc, "history": history, "confusion": confusion}


def plot(test, history, confusion, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, lengths, y = (t.numpy() for t in test)
    classes = confusion.shape[0]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for k in range(classes):
        i = int(np.flatnonzero(y == k)[0])
        axes[0].plot(X[i, :lengths[i], 0] + 3 * k, label=f"class {k} ({k + 2} cycles)")
    axes[0].set(title="one test sequence per class (offset)", xlabel="t", yticks=[])
    axes[0].legend(fontsize=8)
    epochs = np.arange(1, len(history["loss"]) + 1)
    axes[1].plot(epochs, history["loss"], label="training loss")
    axes[1].plot(epochs, history["test_accuracy"], label="test accuracy")
    axes[1].set(title="training", xlabel="epoch")
    axes[1].legend()
    axes[2].imshow(confusion, cmap="Blues")
    for (i, j), v in np.ndenumerate(confusion):
        axes[2].text(j, i, str(v), ha="center", va="center")
    axes[2].set(title="confusion matrix", xlabel="predicted", ylabel="true",
                xticks=range(classes), yticks=range(classes))
    fig.tight_layout()
    path = os.path.join(out, "classification.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"written {path}")


if __name__ == "__main__":
    main()

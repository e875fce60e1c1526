"""Fraud detection: a binary classifier for rare positives, with and without a positive weight.

SPEC 12 lists fraud detection among the applications: the frauds are a small share of the
transactions (2% here), so a classifier that calls everything "legitimate" is 98% accurate and
useless. Accuracy is the wrong measure; precision (of the transactions flagged, how many are
frauds) and recall (of the frauds, how many are flagged) are the right ones.

The data are generated: 8 features per transaction, legitimate ones from one Gaussian, frauds
from a second one whose mean is shifted along a few features, so that the two classes overlap.
The same MLP (8 -> 32 -> 1) is trained three times with binary cross-entropy on logits:

* plain: L = -[y log s(z) + (1 - y) log(1 - s(z))],
* weighted: L = -[pw y log s(z) + (1 - y) log(1 - s(z))] (``cr.nn.BCEWithLogitsLoss(pos_weight=
  ...)``), with pw = r = #legitimate / #frauds, which makes the frauds weigh as much as all the
  legitimate transactions together, and with pw = sqrt(r), a compromise.

A positive weight trades precision for recall: it moves the scores of both classes up, so more
frauds cross the threshold 0.5, and more legitimate transactions with them.

For each, the test accuracy, precision, recall and F1 at the threshold 0.5 are printed, and a
picture shows the scores of test frauds and legitimate transactions.

Run:  python examples/fraud_detection.py [--fast] [--out examples/output/fraud_detection]
"""

import argparse
import os

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.train import Trainer, f1_score, precision, recall


def make_transactions(n, fraud_rate=0.02, seed=0):
    """(n, 8) float32 features and (n, 1) float32 labels, 1 for a fraud."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < fraud_rate).astype(np.float32)
    X = rng.standard_normal((n, 8))
    shift = np.array([1.6, -1.2, 1.0, 0.0, 0.0, 0.8, 0.0, 0.0])
    X += y[:, None] * shift
    return X.astype(np.float32), y[:, None]


def train(X, y, pos_weight, epochs, seed=0):
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
    weight = None if pos_weight is None else cr.tensor([pos_weight])
    loss = nn.BCEWithLogitsLoss(pos_weight=weight)
    trainer = Trainer(model, loss, cr.optim.Adam(model.parameters(), lr=3e-3))
    trainer.fit((X, y), epochs=epochs, batch_size=128, seed=seed, verbose=0)
    return model


def scores(model, X):
    """P(fraud | x) = sigmoid(z) for every row of X."""
    model.eval()
    with cr.no_grad():
        return cr.sigmoid(model(cr.tensor(X))).numpy()[:, 0]


def plot(results, y_test, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.2), sharey=True)
    bins = np.linspace(0, 1, 26)
    for ax, (name, result) in zip(axes, results.items()):
        s = result["scores"]
        ax.hist(s[y_test == 0], bins, color="tab:blue", alpha=0.7, label="legitimate")
        ax.hist(s[y_test == 1], bins, color="tab:red", alpha=0.8, label="fraud")
        ax.axvline(0.5, color="k", lw=1, ls="--")
        ax.set_yscale("log")
        ax.set_title(f"{name}: precision {result['precision']:.2f}, "
                     f"recall {result['recall']:.2f}")
        ax.set_xlabel("predicted P(fraud)")
    axes[0].set_ylabel("test transactions")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer transactions and epochs")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("examples", "output", "fraud_detection"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    n, epochs = (6000, 4) if args.fast else (20000, 15)
    epochs = args.epochs or epochs

    X, y = make_transactions(n, seed=args.seed)
    split = n * 3 // 4
    (X_train, y_train), (X_test, y_test) = (X[:split], y[:split]), (X[split:], y[split:, 0])
    frauds = int(y_train.sum())
    pos_weight = (len(y_train) - frauds) / frauds
    print(f"{len(y_train)} training transactions, {frauds} frauds "
          f"({frauds / len(y_train):.1%}); pos_weight = {pos_weight:.1f}")
    print(f"{'run':<10} {'accuracy':>8} {'precision':>9} {'recall':>6} {'F1':>5}")
    results = {}
    runs = (("plain", None), ("pw=sqrt(r)", np.sqrt(pos_weight)), ("pw=r", pos_weight))
    for name, weight in runs:
        s = scores(train(X_train, y_train, weight, epochs, args.seed), X_test)
        flagged = (s >= 0.5).astype(np.int64)
        labels = y_test.astype(np.int64)
        results[name] = result = {
            "scores": s, "accuracy": float(np.mean(flagged == labels)),
            "precision": precision(flagged, labels), "recall": recall(flagged, labels),
            "f1": f1_score(flagged, labels)}
        print(f"{name:<10} {result['accuracy']:8.3f} {result['precision']:9.3f} "
              f"{result['recall']:6.3f} {result['f1']:5.3f}")
    everything_legitimate = float(np.mean(y_test == 0))
    print(f"calling every transaction legitimate: accuracy {everything_legitimate:.3f}, "
          "recall 0")
    plot(results, y_test, os.path.join(args.out, "scores.png"))
    results["baseline_accuracy"] = everything_legitimate
    return results


if __name__ == "__main__":
    main()

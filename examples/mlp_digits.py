"""A multi-layer perceptron on the 8x8 handwritten digits, trained with the Trainer (SPEC 3, 7).

The network 64 -> 64 -> 10 computes f(x) = W_2 relu(W_1 x + b_1) + b_2 (logits), has
(64 + 1) * 64 + (64 + 1) * 10 = 4,810 parameters, and is trained on the cross-entropy
-log softmax(f(x))_y with Adam in mini-batches of 32. The 1,797 digits (they ship with
scikit-learn: nothing is downloaded) are split 70 / 15 / 15 into training, validation and test
sets. ``Trainer.fit`` returns the History whose learning curves are drawn; EarlyStopping ends
the run when the validation loss has not improved for 10 epochs and then restores the weights of
the best epoch; the test set is used once, at the end.

Run:  python examples/mlp_digits.py [--fast] [--epochs N] [--hidden 64] [--out DIR]
"""

import argparse
import os

import numpy as np

import chainrule as cr
from chainrule import nn, viz
from chainrule.data import TensorDataset, random_split
from chainrule.models import MLP
from chainrule.train import EarlyStopping, Trainer, confusion_matrix


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a few epochs")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--hidden", type=int, default=64, help="hidden units")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("examples", "output", "mlp_digits"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    epochs = args.epochs or (8 if args.fast else 60)
    cr.manual_seed(args.seed)

    X, y = cr.datasets.load_digits()                         # (1797, 64) in [0, 1], labels 0..9
    train, val, test = random_split(TensorDataset(X, y), [0.7, 0.15, 0.15], seed=args.seed)
    print(f"digits: {len(train)} training, {len(val)} validation, {len(test)} test samples")

    model = MLP([64, args.hidden, 10], activation="relu")
    model.summary(input_shape=(1, 64))
    trainer = Trainer(model, nn.CrossEntropyLoss(), cr.optim.Adam(model.parameters(), lr=args.lr),
                      metrics=["accuracy"],
                      callbacks=[EarlyStopping(patience=10, restore_best_weights=True)])
    history = trainer.fit(train, val=val, epochs=epochs, batch_size=32, seed=args.seed,
                          verbose=2)

    scores = trainer.evaluate(test)
    print(f"test: loss {scores['loss']:.4f}, accuracy {scores['accuracy']:.4f}")
    X_test, y_test = X[test.indices], y.numpy()[test.indices]
    predicted = trainer.predict(X_test).numpy().argmax(axis=1)
    print("confusion matrix (rows: true digit, columns: predicted):")
    print(confusion_matrix(predicted, y_test, num_classes=10))

    curves = os.path.join(args.out, "learning_curves.png")
    fig = viz.plot_history(history, keys=["loss", "accuracy"],
                           title=f"MLP 64-{args.hidden}-10 on digits")
    fig.savefig(curves, dpi=70)
    wrong = np.flatnonzero(predicted != y_test)[:16]
    if wrong.size:
        mistakes = os.path.join(args.out, "mistakes.png")
        fig = viz.image_grid(X_test.numpy()[wrong].reshape(-1, 8, 8), nrow=8,
                             titles=[f"{y_test[i]} as {predicted[i]}" for i in wrong],
                             title="test digits the network gets wrong (true as predicted)")
        fig.savefig(mistakes, dpi=70)
        print(f"written {curves} and {mistakes}")
    else:
        print(f"written {curves} (no test digit misclassified)")
    return {"history": history, "test": scores, "model": model}


if __name__ == "__main__":
    main()

"""Over-fitting and its remedies: train vs validation curves with and without L2, dropout and
batch normalisation (SPEC 7).

A wide MLP (64 -> 256 -> 256 -> 10) sees only 150 of the digits for training: it drives the
training loss towards zero while the validation loss turns up again, the mark of over-fitting
(high variance). Each remedy is trained on the same data with the same seed:

* L2 regularisation, here as Adam's weight decay (g <- g + lambda w),
* dropout (p = 0.5 after each hidden layer),
* batch normalisation after each hidden Linear,

and the learning curves of every run are saved. The table gives, per run, the last epoch's
losses, their gap (validation minus training: the variance), and the best validation loss with
its epoch (where early stopping would have stopped).

Run:  python examples/overfitting.py [--fast] [--out DIR]
"""

import argparse
import os

import chainrule as cr
from chainrule import nn, viz
from chainrule.models.mlp import MLP
from chainrule.train import Trainer

VARIANTS = {
    "plain": dict(),
    "L2": dict(weight_decay=1e-3),
    "dropout": dict(dropout=0.5),
    "batch_norm": dict(batch_norm=True),
}


def run(name, options, train, val, epochs, seed=0):
    cr.manual_seed(seed)
    model = MLP([64, 256, 256, 10], dropout=options.get("dropout", 0.0),
                batch_norm=options.get("batch_norm", False))
    opt = cr.optim.Adam(model.parameters(), lr=1e-3,
                        weight_decay=options.get("weight_decay", 0.0))
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, metrics=["accuracy"])
    return trainer.fit(train, val=val, epochs=epochs, batch_size=32, seed=seed, verbose=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a few epochs")
    parser.add_argument("--out", default=os.path.join("examples", "output", "overfitting"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    X, y = cr.datasets.load_digits()
    train, val = (X[:150], y[:150]), (X[1000:1500], y[1000:1500])
    epochs = 8 if args.fast else 150

    print(f"{'run':<11} {'train loss':>10} {'val loss':>9} {'gap':>7} {'best val':>9} "
          f"{'at epoch':>8} {'val acc':>8}")
    histories = {}
    for name, options in VARIANTS.items():
        history = run(name, options, train, val, epochs).history
        histories[name] = history
        train_loss, val_loss = history["loss"][-1], history["val_loss"][-1]
        best = min(history["val_loss"])
        print(f"{name:<11} {train_loss:10.4f} {val_loss:9.4f} {val_loss - train_loss:7.4f} "
              f"{best:9.4f} {history['val_loss'].index(best) + 1:8d} "
              f"{history['val_accuracy'][-1]:8.3f}")
        viz.plot_history(history, os.path.join(args.out, f"curves_{name}.png"),
                         title=f"{name}: 150 training digits, 500 validation digits")
    print(f"learning curves written to {args.out}")
    return histories


if __name__ == "__main__":
    main()

"""LeNet reads the handwritten digits: filters, feature maps and a confusion matrix (SPEC 9).

The 1,797 8x8 digits that ship with scikit-learn (nothing is downloaded) are enlarged to the
28x28 of MNIST (every pixel becomes a 3x3 block, plus a border of 2) so that the classic
LeNet-5 applies unchanged: conv 5x5 (6 maps) -> ReLU -> max pool 2 -> conv 5x5 (16 maps) ->
ReLU -> max pool 2 -> 400 -> 120 -> 84 -> 10. It is trained on 80 % of the digits with SGD
(momentum 0.9, weight decay 5e-4) and a cosine learning-rate schedule, and tested on the rest.

The summary shows where the 61,706 parameters sit: 2,572 in the convolutions (their filters are
shared across the image) and the rest in the dense layers; a fully connected 784-300-100-10
network has 266,610. The script writes

* ``filters.png``: the six 5x5 filters the first convolution learned;
* ``feature_maps.png``: one test digit and what each stage of the network makes of it (the six
  maps of conv 1 after ReLU, their pooled 14x14 versions, the sixteen 10x10 maps of conv 2);
* ``confusion_matrix.png``: test digits by true (rows) and predicted (columns) class.

Run:  python examples/cnn_digits.py [--fast] [--epochs 20] [--size 28|8] [--out DIR]
"""

import argparse
import math
import os

import numpy as np
from matplotlib.figure import Figure

import chainrule as cr
from chainrule import nn, viz
from chainrule.data import TensorDataset, random_split
from chainrule.models import LeNet
from chainrule.train import LearningRateScheduler, Trainer, confusion_matrix


def enlarge(images):
    """8x8 -> 28x28: every pixel becomes a 3x3 block, then a border of 2 zeros."""
    return np.pad(np.kron(images, np.ones((1, 1, 3, 3), dtype=images.dtype)),
                  ((0, 0), (0, 0), (2, 2), (2, 2)))


def plot_feature_maps(model, image, label, path):
    """The input, the maps after conv 1 + ReLU, after pooling, and after conv 2 + ReLU."""
    model.eval()
    with cr.no_grad():
        maps = [m.numpy()[0] for m in model.feature_maps(cr.tensor(image[None]))]
    rows = [("input", image), ("conv 1 + ReLU", maps[1]), ("max pool", maps[2]),
            ("conv 2 + ReLU", maps[4][:8]), ("", maps[4][8:])]
    fig = Figure(figsize=(9, 6.2), layout="constrained")
    axes = fig.subplots(len(rows), 8)
    for r, (name, stack) in enumerate(rows):
        for c in range(8):
            ax = axes[r, c]
            ax.set_axis_off()
            if c < len(stack):
                ax.imshow(stack[c], cmap="viridis" if r else "gray")
        if name:
            axes[r, 0].set_title(name, loc="left", fontsize=9)
    fig.suptitle(f"what LeNet sees in a test digit ({label})")
    fig.savefig(path, dpi=80)


def plot_confusion(matrix, path):
    fig = Figure(figsize=(5.2, 4.6), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(matrix, cmap="Blues")
    for i, j in np.ndindex(matrix.shape):
        if matrix[i, j]:
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    accuracy = np.trace(matrix) / matrix.sum()
    ax.set_title(f"test confusion matrix (accuracy {accuracy:.2%})")
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.savefig(path, dpi=80)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="8x8 inputs, a few epochs")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--size", type=int, choices=(8, 28), default=None,
                        help="image size: 28 (enlarged, the classic LeNet) or 8 (as shipped)")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("examples", "output", "cnn_digits"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    size = args.size or (8 if args.fast else 28)
    epochs = args.epochs or (3 if args.fast else 20)
    cr.manual_seed(args.seed)

    X, y = cr.datasets.load_digits(images=True)           # (1797, 1, 8, 8) in [0, 1]
    images = X.numpy() if size == 8 else enlarge(X.numpy())
    train, test = random_split(TensorDataset(cr.tensor(images), y), [0.8, 0.2], seed=args.seed)
    print(f"digits: {len(train)} training and {len(test)} test images of {size}x{size}")

    model = LeNet(input_size=size)
    model.summary(input_shape=(1, 1, size, size))
    optimizer = cr.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    cosine = LearningRateScheduler(
        lambda epoch, lr: args.lr * (1 + math.cos(math.pi * epoch / epochs)) / 2)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, metrics=["accuracy"],
                      callbacks=[cosine])
    history = trainer.fit(train, epochs=epochs, batch_size=32, seed=args.seed, verbose=2)

    scores = trainer.evaluate(test)
    print(f"test: loss {scores['loss']:.4f}, accuracy {scores['accuracy']:.4f}")
    x_test, y_test = images[test.indices], y.numpy()[test.indices]
    predicted = trainer.predict(cr.tensor(x_test)).numpy().argmax(axis=1)
    matrix = confusion_matrix(predicted, y_test, num_classes=10)
    print("confusion matrix (rows: true digit, columns: predicted):")
    print(matrix)

    paths = {name: os.path.join(args.out, f"{name}.png")
             for name in ("filters", "feature_maps", "confusion_matrix")}
    fig = viz.image_grid(model.features[0].weight.numpy(), nrow=6,
                         titles=[f"filter {i + 1}" for i in range(6)],
                         title="first-layer filters (5x5)")
    fig.savefig(paths["filters"], dpi=80)
    plot_feature_maps(model, x_test[0], int(y_test[0]), paths["feature_maps"])
    plot_confusion(matrix, paths["confusion_matrix"])
    print("written " + ", ".join(paths.values()))
    return {"history": history, "test": scores, "model": model, "confusion": matrix,
            "paths": paths}


if __name__ == "__main__":
    main()

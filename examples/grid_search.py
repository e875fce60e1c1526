"""A grid search over the learning rate and the hidden width of an MLP on the digits.

``chainrule.sklearn.NeuralNetClassifier`` makes a chainrule network a scikit-learn estimator,
so scikit-learn's model selection works on it unchanged: a ``Pipeline`` standardises the 64
pixels and trains the network 64 -> h -> 10 (ReLU, Adam, cross-entropy) with
``cr.train.Trainer``; ``GridSearchCV`` fits it for every learning rate and hidden width h with
k-fold cross-validation on the training digits, keeps the pair with the best mean validation
accuracy, and refits it on all training digits. The test digits (25%, split off first) are used
once, at the end. Nested parameters reach the network through their prefixes:
``net__lr`` is the estimator's learning rate, ``net__module__hidden_sizes`` the MLP's widths.

Run:  python examples/grid_search.py [--fast] [--epochs N] [--folds K] [--seed S]
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from chainrule.sklearn import NeuralNetClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a smaller grid, fewer epochs")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--folds", type=int, default=None, help="cross-validation folds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = args.epochs or (6 if args.fast else 30)
    folds = args.folds or (2 if args.fast else 3)
    grid = {"net__lr": [1e-4, 1e-2] if args.fast else [1e-4, 1e-3, 1e-2, 1e-1],
            "net__module__hidden_sizes": [(16,), (64,)] if args.fast else [(16,), (64,), (256,)]}

    X, y = load_digits(return_X_y=True)                         # (1797, 64) pixels 0..16
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=args.seed)
    print(f"digits: {len(X_train)} training and {len(X_test)} test samples; {folds}-fold "
          f"cross-validation of {len(grid['net__lr']) * len(grid['net__module__hidden_sizes'])} "
          f"settings, {epochs} epochs each")

    pipe = Pipeline([("scale", StandardScaler()),
                     ("net", NeuralNetClassifier(max_epochs=epochs, batch_size=32,
                                                 random_state=args.seed))])
    search = GridSearchCV(pipe, grid, cv=folds)
    start = time.perf_counter()
    search.fit(X_train, y_train)
    print(f"grid search took {time.perf_counter() - start:.1f}s")

    results = search.cv_results_
    print(f"{'lr':>8} {'hidden':>7} {'accuracy (mean +- std over folds)':>36}")
    for params, mean, std in zip(results["params"], results["mean_test_score"],
                                 results["std_test_score"]):
        print(f"{params['net__lr']:>8g} {params['net__module__hidden_sizes'][0]:>7d} "
              f"{mean:>28.4f} +- {std:.4f}")
    best = search.best_params_
    print(f"best parameters: lr={best['net__lr']:g}, hidden width="
          f"{best['net__module__hidden_sizes'][0]} (cross-validated accuracy "
          f"{search.best_score_:.4f})")

    test_accuracy = search.score(X_test, y_test)               # the refitted best pipeline
    print(f"test accuracy of the best setting, refitted on all training digits: "
          f"{test_accuracy:.4f}")
    return {"search": search, "best_params": best, "test_accuracy": test_accuracy,
            "mean_scores": np.asarray(results["mean_test_score"])}


if __name__ == "__main__":
    main()

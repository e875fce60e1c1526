"""From a single neuron to the perceptron (SPEC 1).

1. The artificial neuron y = f(sum_i w_i x_i + b): with w = [0.2, 0.3, 0.9], b = 0.5 and
   x = [0.5, 0.6, 0.1] the net input is 0.87 and y = sigmoid(0.87) = 0.7047. A neuron with n
   inputs has n + 1 parameters.
2. Rosenblatt's perceptron o = step(w.x + b), trained by its own rule
   w <- w + eta x (t - o): it converges on linearly separable data and never on XOR, which one
   hidden layer (an MLP trained by gradient descent) separates.
3. One hidden layer of growing width fits any continuous function on an interval (universal
   approximation): here |sin 2x| with 1, 3, 10 and 50 tanh units.
4. The same neuron with a sigmoid output trained by gradient descent on L = (t - o)^2 / 2:
   dL/dw_i = -(t - o) o (1 - o) x_i. The factor o (1 - o) = sigmoid'(z) is largest at o = 0.5,
   so for the same error the update is largest there and vanishes as o saturates at 0 or 1.

Run:  python examples/neuron.py [--fast] [--out examples/output/neuron]
"""

import argparse
import os
import warnings

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.models import MLP, Perceptron

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_T = np.array([0, 1, 1, 0])


def single_neuron():
    """The neuron of SPEC 1, as a Linear(3, 1) layer followed by a sigmoid."""
    neuron = nn.Linear(3, 1)
    with cr.no_grad():
        neuron.weight.copy_(cr.tensor([[0.2, 0.3, 0.9]]))
        neuron.bias.copy_(cr.tensor([0.5]))
    x = cr.tensor([[0.5, 0.6, 0.1]])
    z = neuron(x)                      # z = w.x + b = 0.87
    y = cr.sigmoid(z)                  # y = 1 / (1 + e^-z)
    print(f"neuron: z = w.x + b = {z.item():.2f}, y = sigmoid(z) = {y.item():.4f}, "
          f"{neuron.num_parameters()} parameters (n + 1 with n = 3)")
    return y.item()


def perceptron_rule(n_samples, seed):
    """The perceptron rule on separable data (converges) and on XOR (cannot)."""
    X, y = cr.datasets.make_linearly_separable(n_samples, margin=0.1, seed=seed)
    separable = Perceptron(activation="step").fit(X, y, epochs=100)
    print(f"perceptron rule, separable data: converged={separable.converged_} after "
          f"{separable.epochs_} epochs, errors per epoch {separable.errors_}, "
          f"accuracy {separable.score(X, y):.2f}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # the ConvergenceWarning is the point here
        xor = Perceptron(activation="step").fit(XOR_X, XOR_T, epochs=20)
    print(f"perceptron rule, XOR: converged={xor.converged_} after {xor.epochs_} epochs, "
          f"errors in the last epoch {xor.errors_[-1]}, accuracy {xor.score(XOR_X, XOR_T):.2f}")
    return (X, y, separable), xor


def xor_by_mlp(steps, seed):
    """One hidden layer of four tanh units, trained by gradient descent, separates XOR."""
    cr.manual_seed(seed)
    model = MLP([2, 4, 1], activation="tanh")
    X, t = cr.tensor(XOR_X), cr.tensor(XOR_T[:, None], dtype=cr.float32)
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = cr.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(X), t)
        loss.backward()
        optimizer.step()
    with cr.no_grad():
        predicted = (model(X).numpy()[:, 0] > 0).astype(int)
    accuracy = float(np.mean(predicted == XOR_T))
    print(f"MLP 2-4-1 (tanh) on XOR after {steps} Adam steps: loss {loss.item():.4f}, "
          f"predictions {predicted.tolist()}, accuracy {accuracy:.2f}")
    return accuracy


def universal_approximation(widths, steps, seed):
    """One hidden layer of growing width fits a continuous function with kinks, |sin 2x|."""
    x = cr.linspace(-np.pi, np.pi, 200).reshape(-1, 1)
    target = cr.abs(cr.sin(2 * x))
    fits = {}
    for width in widths:
        cr.manual_seed(seed)
        model = MLP([1, width, 1], activation="tanh")
        optimizer = cr.optim.Adam(model.parameters(), lr=0.02)
        for _ in range(steps):
            optimizer.zero_grad()
            loss = ((model(x) - target) ** 2).mean()
            loss.backward()
            optimizer.step()
        with cr.no_grad():
            fits[width] = (loss.item(), model(x).numpy()[:, 0])
    print("one hidden layer fitting |sin 2x| on [-pi, pi]: mean squared error by width "
          + ", ".join(f"{w}: {mse:.4f}" for w, (mse, _) in fits.items()))
    return x.numpy()[:, 0], target.numpy()[:, 0], fits


def check_sigmoid_mse_gradient():
    """Autograd's dL/dw equals the formula -(t - o) o (1 - o) x for L = (t - o)^2 / 2."""
    x = cr.tensor([0.5, 0.6, 0.1], dtype=cr.float64)
    w = cr.tensor([0.2, 0.3, 0.9], dtype=cr.float64, requires_grad=True)
    t = 1.0
    o = cr.sigmoid((w * x).sum() + 0.5)
    ((t - o) ** 2 / 2).backward()
    o = o.item()
    formula = -(t - o) * o * (1 - o) * x.numpy()
    print(f"dL/dw by autograd {np.round(w.grad.numpy(), 6)}, by the formula "
          f"{np.round(formula, 6)}")
    return float(np.abs(w.grad.numpy() - formula).max())


def sigmoid_slope():
    """sigmoid'(z) = o (1 - o) by autograd over a range of z, and where it peaks."""
    z = cr.linspace(-8.0, 8.0, 401, dtype=cr.float64).requires_grad_()
    o = cr.sigmoid(z)
    (slope,) = cr.autograd.grad(o.sum(), z)     # each o_i depends on z_i only
    o, slope = o.detach().numpy(), slope.numpy()
    peak = o[np.argmax(slope)]
    print(f"o (1 - o) = sigmoid'(z) peaks at o = {peak:.3f} (value {slope.max():.3f}); "
          f"at o = 0.99 it is {0.99 * 0.01:.4f}, {slope.max() / (0.99 * 0.01):.0f} times smaller")
    return o, slope, float(peak)


def sigmoid_neuron_descent(X, y, epochs, lr):
    """Batch gradient descent on L = mean (t - o)^2 / 2 for one sigmoid neuron."""
    neuron = nn.Linear(2, 1)
    nn.init.zeros_(neuron.weight)
    nn.init.zeros_(neuron.bias)
    t = y.to(cr.float32).reshape(-1, 1)
    optimizer = cr.optim.SGD(neuron.parameters(), lr=lr)   # w <- w - lr dL/dw
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        o = cr.sigmoid(neuron(X))
        loss = ((t - o) ** 2 / 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with cr.no_grad():
        accuracy = float(np.mean((cr.sigmoid(neuron(X)).numpy()[:, 0] > 0.5) == y.numpy()))
    print(f"sigmoid neuron by gradient descent ({epochs} epochs, lr {lr}): loss "
          f"{losses[0]:.4f} -> {losses[-1]:.4f}, accuracy {accuracy:.2f}")
    return losses, accuracy


def figure(ncols, width=4.6, height=4.0):
    """A matplotlib Figure (no pyplot: works without a display) and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def plot_perceptrons(separable, xor, path):
    X, y, model = separable
    X, y = X.numpy(), y.numpy()
    fig, (left, middle, right) = figure(3)
    left.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=14, edgecolors="k", linewidths=0.3)
    (w1, w2), b = model.weight_, model.bias_
    xs = np.linspace(-1, 1, 2)
    left.plot(xs, -(w1 * xs + b) / w2, "k-", label="w.x + b = 0")
    left.set(xlim=(-1, 1), ylim=(-1, 1), xlabel="x1", ylabel="x2",
             title=f"perceptron rule: converged in {model.epochs_} epochs")
    left.legend(loc="lower left")
    middle.scatter(XOR_X[:, 0], XOR_X[:, 1], c=XOR_T, cmap="coolwarm", s=120, edgecolors="k")
    (w1, w2), b = xor.weight_, xor.bias_
    xs = np.linspace(-0.5, 1.5, 2)
    if abs(w2) > 1e-12:
        middle.plot(xs, -(w1 * xs + b) / w2, "k--", label="the rule's last line")
    elif abs(w1) > 1e-12:
        middle.axvline(-b / w1, color="k", ls="--", label="the rule's last line")
    if middle.get_legend_handles_labels()[0]:
        middle.legend(loc="upper center")
    middle.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), xlabel="x1", ylabel="x2",
               title="XOR: no line separates the classes")
    right.plot(np.arange(1, model.epochs_ + 1), model.errors_, "o-", label="separable")
    right.plot(np.arange(1, xor.epochs_ + 1), xor.errors_, "s-", label="XOR")
    right.set(xlabel="epoch", ylabel="updates (misclassified samples)",
              title="errors per epoch")
    right.grid(alpha=0.3)
    right.legend()
    fig.savefig(path, dpi=80)


def plot_sigmoid_descent(o, slope, losses, path):
    fig, (left, right) = figure(2)
    left.plot(o, slope, label="o (1 - o) = sigmoid'(z)")
    left.axvline(0.5, color="gray", ls="--", label="o = 0.5")
    left.set(xlabel="output o", ylabel="size of the update per unit error",
             title="dL/dw = -(t - o) o (1 - o) x")
    left.grid(alpha=0.3)
    left.legend()
    right.plot(np.arange(1, len(losses) + 1), losses)
    right.set(xlabel="epoch", ylabel="L = mean (t - o)^2 / 2",
              title="sigmoid neuron, batch gradient descent")
    right.grid(alpha=0.3)
    fig.savefig(path, dpi=80)


def plot_universal(x, target, fits, path):
    fig, (ax,) = figure(1, width=6.0)
    ax.plot(x, target, "k", lw=3, alpha=0.3, label="|sin 2x|")
    for width, (mse, prediction) in fits.items():
        ax.plot(x, prediction, label=f"{width} hidden units (MSE {mse:.4f})")
    ax.set(xlabel="x", ylabel="f(x)", title="one hidden layer of growing width")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=80)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer samples and epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("examples", "output", "neuron"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    cr.manual_seed(args.seed)

    y = single_neuron()
    separable, xor = perceptron_rule(100 if args.fast else 200, args.seed)
    xor_accuracy = xor_by_mlp(300 if args.fast else 1000, args.seed)
    x, target, fits = universal_approximation((1, 3, 10, 50), 800 if args.fast else 4000,
                                              args.seed)
    gradient_error = check_sigmoid_mse_gradient()
    o, slope, peak = sigmoid_slope()
    X, labels, _ = separable
    losses, accuracy = sigmoid_neuron_descent(X, labels, 200 if args.fast else 1000, lr=2.0)

    plot_perceptrons(separable, xor, os.path.join(args.out, "perceptron.png"))
    plot_universal(x, target, fits, os.path.join(args.out, "universal_approximation.png"))
    plot_sigmoid_descent(o, slope, losses, os.path.join(args.out, "sigmoid_update.png"))
    print(f"written perceptron.png, universal_approximation.png and sigmoid_update.png "
          f"in {args.out}")
    return {"neuron_output": y, "separable": separable[2], "xor": xor,
            "xor_mlp_accuracy": xor_accuracy,
            "approximation_errors": {w: mse for w, (mse, _) in fits.items()},
            "gradient_error": gradient_error,
            "slope_peak": peak, "losses": losses, "sigmoid_accuracy": accuracy}


if __name__ == "__main__":
    main()

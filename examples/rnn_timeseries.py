"""Predict the next value of a share-price-like series with a recurrent network (SPEC 10, 12).

The series is a random walk with a trend and a seasonal cycle (``make_price_series``). Windows of
the past ``--window`` prices are the inputs, the next price the target (many-to-one):

    h_t = LSTM(x_t, h_{t-1}) over the window,   y = W_yh h_T + b_y,   loss = MSE(y, x_{T+1}).

Back-propagation through time runs through every step of the window; gradient clipping by norm
keeps the occasional large gradient from derailing training. The first 80% of the series
trains, the last 20% tests (chronological split, no look-ahead). The honest yardstick for a
random walk is the naive forecast "tomorrow = today"; the network should come close to it,
and can use the trend and the season to beat it slightly.

Run:  python examples/rnn_timeseries.py [--fast] [--cell lstm|gru|rnn] [--out DIR]
"""

import argparse
import os

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset
from chainrule.data.sequences import make_price_series, sliding_windows
from chainrule.models.rnn import RNNRegressor


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a short series and few epochs")
    parser.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("examples", "output", "rnn_timeseries"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    cr.manual_seed(args.seed)
    epochs = args.epochs or (3 if args.fast else 40)

    prices = make_price_series(600 if args.fast else 2000, seed=args.seed).numpy()
    split = int(0.8 * len(prices))
    # Each window is expressed relative to its last price, in units of the typical daily move:
    # x_t = log(p_t / p_last) / s and the target log(p_next / p_last) / s. The network then sees
    # shapes, not levels, and never has to extrapolate to prices it was not trained on.
    X, y = sliding_windows(np.log(prices), args.window)
    last = X.numpy()[:, -1:, :]
    scale = float(np.std(np.diff(np.log(prices[:split]))))  # training part only
    X = cr.tensor((X.numpy() - last) / scale)
    y = cr.tensor((y.numpy() - last[:, :, 0]) / scale)
    n_train = split - args.window
    train = DataLoader(TensorDataset(X[:n_train], y[:n_train]), batch_size=64, shuffle=True,
                       seed=args.seed)
    X_test, y_test, last_test = X[n_train:], y[n_train:], last[n_train:, 0, 0]

    model = RNNRegressor(1, 32, cell=args.cell)
    optimizer = cr.optim.Adam(model.parameters(), lr=5e-3)
    loss_fn = nn.MSELoss()
    history = []
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in train:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            total += loss.item() * len(xb)
        history.append(total / n_train)
        if epoch % 10 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:3d}/{epochs}: train MSE {history[-1]:.4f} (in daily moves^2)")

    model.eval()
    with cr.no_grad():
        predicted = np.exp(last_test + model(X_test).numpy()[:, 0] * scale)
    truth = np.exp(last_test + y_test.numpy()[:, 0] * scale)
    naive = np.exp(last_test)  # tomorrow = today
    mse = float(np.mean((predicted - truth) ** 2))
    naive_mse = float(np.mean((naive - truth) ** 2))
    print(f"test MSE {mse:.4f} (price units^2); naive 'tomorrow = today' {naive_mse:.4f}")
    plot(prices, split, args.window, predicted, history, args.out, args.cell)
    return {"test_mse": mse, "naive_mse": naive_mse, "history": history}


def plot(prices, split, window, predicted, history, out, cell):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 1]})
    t = np.arange(len(prices))
    ax1.plot(t, prices, color="0.6", lw=1, label="series")
    ax1.plot(t[split:], predicted,
             color="C1", lw=1.2, label=f"{cell.upper()} one-step prediction")
    ax1.axvline(split, color="k", ls="--", lw=0.8)
    ax1.set(title=f"next-value prediction from the last {window} prices", xlabel="t",
            ylabel="price")
    ax1.legend(loc="upper left")
    ax2.plot(np.arange(1, len(history) + 1), history)
    ax2.set(title="training loss", xlabel="epoch", ylabel="MSE (daily moves^2)")
    fig.tight_layout()
    path = os.path.join(out, "prediction.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"written {path}")


if __name__ == "__main__":
    main()

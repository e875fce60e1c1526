"""Generated sequence data for recurrent networks: labelled noisy sines and a share-price series.

Like :mod:`chainrule.data.datasets`, each generator takes a ``seed`` (a private generator) or
draws from chainrule's global generator, and returns Tensors: sequences are batch-first,
(n_samples, length, features), float32; class labels are int64.

Example:
    >>> X, y = make_sine_sequences(500, length=40, seed=0)      # (500, 40, 1), (500,)
    >>> prices = make_price_series(1000, seed=0)                 # (1000,)
    >>> X, y = sliding_windows(prices, window=30)                # (970, 30, 1), (970, 1)
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.creation import as_tensor
from chainrule.tensor import Tensor

__all__ = ["make_sine_sequences", "make_price_series", "sliding_windows"]


def _generator(seed):
    return np.random.default_rng(seed) if seed is not None else backend.default_generator()


def _positive_int(value, name, who, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{who}: {name} must be an integer >= {minimum}, got {value!r}")


def make_sine_sequences(n_samples: int = 1000, length: int = 50, n_classes: int = 3,
                        noise: float = 0.5, seed: int | None = None):
    """Noisy sine waves labelled by their frequency: which of ``n_classes`` tones is present.

    x_t = a sin(2 pi f_k t / length + phi) + noise * e_t, t = 0 .. length-1, with class k's
    frequency f_k = k + 2 cycles per sequence, a random amplitude a ~ U(0.5, 1.5), a random phase
    phi ~ U(0, 2 pi) and Gaussian noise e_t. No single time step tells the class; the network
    must integrate over the sequence (a many-to-one task).

    Args:
        n_samples: number of sequences (classes are balanced up to one sample).
        length: time steps per sequence.
        n_classes: number of frequencies to tell apart (at least 2).
        noise: standard deviation of the additive noise.
        seed: seed of a private generator (default: the global generator).

    Returns:
        (X, y): float32 (n_samples, length, 1) and int64 (n_samples,) in 0 .. n_classes-1.
    """
    who = "make_sine_sequences"
    _positive_int(n_samples, "n_samples", who)
    _positive_int(length, "length", who, 2)
    _positive_int(n_classes, "n_classes", who, 2)
    if noise < 0:
        raise ValueError(f"{who}: noise must be non-negative, got {noise}")
    rng = _generator(seed)
    y = rng.permutation(np.arange(n_samples) % n_classes)
    freq = (y + 2.0)[:, None]
    amplitude = rng.uniform(0.5, 1.5, size=(n_samples, 1))
    phase = rng.uniform(0.0, 2 * np.pi, size=(n_samples, 1))
    t = np.arange(length)[None, :]
    X = amplitude * np.sin(2 * np.pi * freq * t / length + phase)
    X = X + noise * rng.standard_normal(X.shape)
    return (as_tensor(X[:, :, None].astype(np.float32)), as_tensor(y.astype(np.int64)))


def make_price_series(length: int = 1000, start: float = 100.0, trend: float = 5e-4,
                      volatility: float = 0.01, season_period: int = 50,
                      season_amplitude: float = 0.03, seed: int | None = None):
    """A share-price-like series: a random walk with a trend and a seasonal cycle.

    log p_t = log(start) + trend * t + sum_{s <= t} volatility * e_s
              + season_amplitude * sin(2 pi t / season_period),  e_s ~ N(0, 1),

    i.e. geometric Brownian motion with drift (prices stay positive, returns are noisy)
    multiplied by a periodic factor.

    Args:
        length: number of time steps.
        start: the price at t = 0 (before the seasonal factor).
        trend: drift of the log price per step.
        volatility: standard deviation of the log return per step.
        season_period: steps per seasonal cycle.
        season_amplitude: amplitude of the seasonal factor on the log price.
        seed: seed of a private generator (default: the global generator).

    Returns:
        float32 Tensor of shape (length,).
    """
    who = "make_price_series"
    _positive_int(length, "length", who, 2)
    _positive_int(season_period, "season_period", who)
    if start <= 0 or volatility < 0:
        raise ValueError(f"{who}: start must be positive and volatility non-negative, got "
                         f"start={start}, volatility={volatility}")
    rng = _generator(seed)
    t = np.arange(length)
    steps = volatility * rng.standard_normal(length)
    steps[0] = 0.0
    log_p = np.log(start) + trend * t + np.cumsum(steps)
    log_p += season_amplitude * np.sin(2 * np.pi * t / season_period)
    return as_tensor(np.exp(log_p).astype(np.float32))


def sliding_windows(series, window: int, horizon: int = 1):
    """Cut a series into (past window, future values) pairs for next-value prediction.

    Sample i is x = series[i : i + window] and y = series[i + window : i + window + horizon].

    Args:
        series: 1-D (length,) or 2-D (length, features) Tensor or array.
        window: number of past steps the model sees.
        horizon: number of future steps to predict (of the first feature).

    Returns:
        (X, y): float32 (N, window, features) and (N, horizon), N = length - window - horizon + 1.
    """
    who = "sliding_windows"
    _positive_int(window, "window", who)
    _positive_int(horizon, "horizon", who)
    data = series.data if isinstance(series, Tensor) else np.asarray(series)
    data = backend.to_numpy(data)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise ValueError(f"{who}: series must be 1-D or 2-D, got shape {data.shape}")
    n = data.shape[0] - window - horizon + 1
    if n < 1:
        raise ValueError(f"{who}: a series of length {data.shape[0]} is too short for window "
                         f"{window} and horizon {horizon}")
    idx = np.arange(n)[:, None]
    X = data[idx + np.arange(window)[None, :]]
    y = data[idx + window + np.arange(horizon)[None, :], 0]
    return as_tensor(X.astype(np.float32)), as_tensor(y.astype(np.float32))

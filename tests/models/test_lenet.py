"""LeNet: its architecture, and its accuracy on the handwritten digits that ship with scikit-learn.

The digits are 8x8 images; LeNet takes them as they are (``input_size=8``) or enlarged to
the 28x28 of MNIST (each pixel repeated 3x3, then a border of 2), where the classic network
applies unchanged. Training is plain SGD with momentum, weight decay and a cosine schedule,
with fixed seeds; BLAS runs on one thread so that the timing does not depend on the machine's
load.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.models.lenet import LeNet
from chainrule.models.mlp import MLP
from chainrule.optim.lr_scheduler import CosineAnnealingLR

pytest.importorskip("sklearn")
threadpoolctl = pytest.importorskip("threadpoolctl")

N_TEST = 360


@pytest.fixture(scope="module")
def digits():
    """(x_train, y_train, x_test, y_test) as NumPy arrays: a fixed random 1437 / 360 split."""
    x, y = cr.datasets.load_digits(images=True)
    x, y = x.numpy(), y.numpy()
    order = np.random.default_rng(0).permutation(len(y))
    test, train = order[:N_TEST], order[N_TEST:]
    return x[train], y[train], x[test], y[test]


def to_28x28(x):
    """Enlarge 8x8 images to 28x28: every pixel becomes a 3x3 block, then a border of 2."""
    return np.pad(np.kron(x, np.ones((1, 1, 3, 3), dtype=x.dtype)),
                  ((0, 0), (0, 0), (2, 2), (2, 2)))


def fit(model, x, y, epochs, lr=0.05, batch_size=32, seed=0):
    """SGD (momentum 0.9, weight decay 5e-4), a cosine schedule, mini-batches in random order."""
    opt = cr.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    schedule = CosineAnnealingLR(opt, T_max=epochs)
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            batch = order[start:start + batch_size]
            loss = nn.functional.cross_entropy(model(cr.tensor(x[batch])), cr.tensor(y[batch]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        schedule.step()
    return model


def accuracy(model, x, y) -> float:
    model.eval()
    with cr.no_grad():
        return float((model(cr.tensor(x)).numpy().argmax(axis=1) == y).mean())


# ---- architecture ----------------------------------------------------------------------------
def test_classic_lenet_for_28x28():
    model = LeNet()
    assert model(cr.randn(2, 1, 28, 28)).shape == (2, 10)
    s = model.summary((1, 1, 28, 28), print_fn=None)
    shapes = {r.name: r.output_shape for r in s.rows}
    assert shapes["features.0"] == (1, 6, 28, 28)
    assert shapes["features.2"] == (1, 6, 14, 14)
    assert shapes["features.3"] == (1, 16, 10, 10)
    assert shapes["features.5"] == (1, 16, 5, 5)
    assert shapes["classifier.0"] == (1, 400)
    # 156 + 2,416 (convolutions) + 48,120 + 10,164 + 850 (dense)
    assert s.total_params == 61_706


def test_lenet_for_8x8_digits():
    model = LeNet(input_size=8)
    assert model(cr.randn(3, 1, 8, 8)).shape == (3, 10)
    s = model.summary((1, 1, 8, 8), print_fn=None)
    assert {r.name: r.output_shape for r in s.rows}["classifier.0"] == (1, 64)
    assert s.total_params == 156 + 2416 + 65 * 120 + 121 * 84 + 85 * 10


def test_options_and_errors():
    model = LeNet(num_classes=3, in_channels=3, input_size=(32, 28), activation="tanh",
                  pool="avg")
    assert model(cr.randn(2, 3, 32, 28)).shape == (2, 3)
    assert [type(m).__name__ for m in model.features][1:3] == ["Tanh", "AvgPool2d"]
    assert len(model.feature_maps(cr.randn(1, 3, 32, 28))) == 6
    with pytest.raises(ValueError, match="pool must be"):
        LeNet(pool="min")
    with pytest.raises(ValueError, match="too small"):
        LeNet(input_size=3)
    with pytest.raises(ValueError, match=r"Conv2d\(1, 6.*input has 3 channels"):
        LeNet()(cr.randn(1, 3, 28, 28))


# ---- accuracy on the digits ------------------------------------------------------------------
def test_lenet_reaches_98_percent_with_fewer_parameters_than_an_mlp(digits):
    """LeNet on 28x28 digits against the 784-300-100-10 network of LeCun et al. (1998)."""
    x_train, y_train, x_test, y_test = digits
    x_train, x_test = to_28x28(x_train), to_28x28(x_test)
    with threadpoolctl.threadpool_limits(1):
        cr.manual_seed(0)
        lenet = fit(LeNet(), x_train, y_train, epochs=20)
        cr.manual_seed(0)
        mlp = fit(nn.Sequential(nn.Flatten(), MLP([784, 300, 100, 10])), x_train, y_train,
                  epochs=20)
        lenet_acc, mlp_acc = accuracy(lenet, x_test, y_test), accuracy(mlp, x_test, y_test)
    assert lenet_acc >= 0.98, f"LeNet test accuracy {lenet_acc:.4f}"
    assert mlp_acc >= 0.97, f"MLP test accuracy {mlp_acc:.4f}"
    assert lenet_acc >= mlp_acc - 0.005  # at least as accurate (within 2 of 360 images)
    lenet_params = lenet.summary((1, 1, 28, 28), print_fn=None).total_params
    mlp_params = mlp.summary((1, 1, 28, 28), print_fn=None).total_params
    assert (lenet_params, mlp_params) == (61_706, 266_610)  # 4.3x fewer


def test_lenet_on_8x8_digits_fast(digits):
    x_train, y_train, x_test, y_test = digits
    cr.manual_seed(0)
    with threadpoolctl.threadpool_limits(1):
        model = fit(LeNet(input_size=8), x_train, y_train, epochs=30)
        acc = accuracy(model, x_test, y_test)
    assert acc >= 0.97, f"LeNet (8x8) test accuracy {acc:.4f}"


def test_cnn_digits_example_writes_its_pictures(tmp_path, guide_pictures):
    """examples/cnn_digits.py in its fast mode: filters, feature maps, confusion matrix."""
    pytest.importorskip("matplotlib")
    path = Path(__file__).resolve().parents[2] / "examples" / "cnn_digits.py"
    spec = importlib.util.spec_from_file_location("example_cnn_digits", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    with threadpoolctl.threadpool_limits(1):
        result = example.main(["--fast", "--out", str(tmp_path)])
    for name in ("filters", "feature_maps", "confusion_matrix"):
        data = (tmp_path / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5_000, name
    assert result["confusion"].sum() == 359  # the 20 % test split of the 1,797 digits
    assert len(result["history"]["loss"]) == 3
    assert guide_pictures("cnn_digits", tmp_path) >= {"filters.png", "feature_maps.png",
                                                      "confusion_matrix.png"}

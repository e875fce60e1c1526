"""chainrule.sklearn: scikit-learn's estimator checks, nested parameters, reproducibility, and
the estimators inside Pipeline, GridSearchCV and cross_val_score."""

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.sklearn import NeuralNetClassifier, NeuralNetRegressor  # noqa: E402
from chainrule.train import EarlyStopping  # noqa: E402


def two_layer_net(n_features, n_outputs, hidden=8):
    """A module factory (at module level, so that fitted estimators pickle)."""
    return nn.Sequential(nn.Linear(n_features, hidden), nn.Tanh(), nn.Linear(hidden, n_outputs))


OPTIMIZER_CALLS = []


def recording_sgd(params, lr, **kwargs):
    OPTIMIZER_CALLS.append((lr, kwargs))
    return cr.optim.SGD(params, lr=lr, **kwargs)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_classification(n_samples=120, n_features=6, n_informative=4, n_classes=3,
                               n_clusters_per_class=1, class_sep=2.0, random_state=0)
    return StandardScaler().fit_transform(X), y


# The default MLP recipe (with nested module__ parameters) and a factory; no check is skipped.
@parametrize_with_checks([
    NeuralNetClassifier(module__hidden_sizes=(16,), max_epochs=20, lr=0.05),
    NeuralNetRegressor(two_layer_net, module__hidden=16, max_epochs=20, lr=0.05),
])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_classifier_maps_any_labels_to_indices(blobs):
    X, y = blobs
    labels = np.array(["cat", "dog", "emu"])[y]
    clf = NeuralNetClassifier(module__hidden_sizes=(16,), max_epochs=30, lr=0.02, random_state=0)
    clf.fit(X, labels)
    assert list(clf.classes_) == ["cat", "dog", "emu"] and clf.n_features_in_ == 6
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X))
    assert (clf.predict(X) == clf.classes_[proba.argmax(axis=1)]).all()
    assert clf.score(X, labels) > 0.9
    assert clf.n_iter_ == 30 and len(clf.history_["loss"]) == 30
    assert clf.history_["loss"][-1] < clf.history_["loss"][0]
    assert isinstance(clf.module_, cr.models.MLP) and clf.module_.sizes == (6, 16, 3)


def test_random_state_repeats_a_fit_and_leaves_the_global_generator_alone(blobs):
    X, y = blobs
    clf = NeuralNetClassifier(module__hidden_sizes=(8,), max_epochs=3, random_state=7)
    cr.manual_seed(123)
    expected_next = cr.rand(3).numpy()
    cr.manual_seed(123)
    first = clf.fit(X, y).predict_proba(X)
    assert (cr.rand(3).numpy() == expected_next).all()      # global stream untouched
    second = clone(clf).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    other = clone(clf).set_params(random_state=8).fit(X, y).predict_proba(X)
    assert not np.allclose(first, other)


def test_nested_parameters_clone_and_set_params():
    clf = NeuralNetClassifier(module__hidden_sizes=(32,), optimizer__weight_decay=1e-4, lr=0.1)
    params = clf.get_params()
    assert params["module__hidden_sizes"] == (32,) and params["optimizer__weight_decay"] == 1e-4
    twin = clone(clf)
    assert twin.get_params() == params and twin is not clf
    twin.set_params(module__hidden_sizes=(4,), module__activation="tanh", max_epochs=5)
    assert twin.get_params()["module__hidden_sizes"] == (4,) and twin.max_epochs == 5
    assert clf.get_params()["module__hidden_sizes"] == (32,)      # the original is unchanged
    assert "module__activation" in repr(twin)
    with pytest.raises(ValueError, match="Invalid parameter"):
        twin.set_params(max_epoch=3)


def test_unexpected_parameters_and_bad_values_fail_in_fit(blobs):
    X, y = blobs
    with pytest.raises(TypeError, match="unexpected parameters"):
        NeuralNetClassifier(hiden=3).fit(X, y)
    with pytest.raises(ValueError, match="max_epochs"):
        NeuralNetClassifier(max_epochs=0).fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction"):
        NeuralNetClassifier(validation_fraction=1.5).fit(X, y)
    with pytest.raises(ValueError, match="Module instance"):
        NeuralNetClassifier(nn.Linear(6, 3), module__bias=False).fit(X, y)


def test_module_recipes(blobs):
    X, y = blobs
    fit = dict(max_epochs=2, random_state=0)
    linear = NeuralNetClassifier(nn.Linear, module__bias=False, **fit).fit(X, y)
    assert isinstance(linear.module_, nn.Linear) and linear.module_.bias is None
    made = NeuralNetClassifier(two_layer_net, module__hidden=5, **fit).fit(X, y)
    assert made.module_[0].weight.shape == (5, 6)
    given = nn.Linear(6, 3)
    before = given.weight.numpy().copy()
    trained = NeuralNetClassifier(given, **fit).fit(X, y)
    assert trained.module_ is not given and (given.weight.numpy() == before).all()
    sizes = NeuralNetClassifier(cr.models.MLP, module__sizes=[6, 4, 4, 3], **fit).fit(X, y)
    assert sizes.module_.sizes == (6, 4, 4, 3)
    width = NeuralNetClassifier(module__hidden_sizes=7, module__activation="tanh", **fit)
    assert width.fit(X, y).module_.sizes == (6, 7, 3)
    assert type(width.module_[1]).__name__ == "Tanh"


def test_loss_and_optimizer_recipes(blobs):
    X, y = blobs
    OPTIMIZER_CALLS.clear()
    clf = NeuralNetClassifier(optimizer=recording_sgd, lr=0.05, optimizer__momentum=0.9,
                              loss=nn.CrossEntropyLoss, loss__label_smoothing=0.1,
                              max_epochs=2, random_state=0).fit(X, y)
    assert OPTIMIZER_CALLS == [(0.05, {"momentum": 0.9})]
    assert clf.history_["lr"] == [0.05, 0.05]
    by_name = NeuralNetClassifier(loss="cross_entropy", max_epochs=1, random_state=0).fit(X, y)
    assert by_name.history_["loss"][0] > 0
    with pytest.raises(ValueError, match="loss class"):
        NeuralNetClassifier(loss=nn.CrossEntropyLoss(), loss__weight=None).fit(X, y)


def test_validation_fraction_and_callbacks(blobs):
    X, y = blobs
    stop = EarlyStopping(monitor="val_loss", patience=2)
    clf = NeuralNetClassifier(module__hidden_sizes=(32,), lr=0.05, max_epochs=200,
                              validation_fraction=0.25, callbacks=[stop], random_state=0)
    clf.fit(X, y)
    assert {"val_loss", "val_accuracy", "accuracy"} <= set(clf.history_.history)
    assert clf.n_iter_ < 200                   # stopped early
    assert clf.callbacks[0] is stop and not hasattr(stop, "stopped_epoch")   # a copy trained


def test_regressor_one_and_several_targets():
    X, y = make_regression(n_samples=100, n_features=4, n_targets=2, noise=0.1, random_state=0)
    y = y / y.std(axis=0)
    reg = NeuralNetRegressor(module__hidden_sizes=(32,), lr=0.01, max_epochs=40, random_state=0)
    reg.fit(X, y)
    assert reg.n_outputs_ == 2 and reg.predict(X).shape == (100, 2)
    assert reg.score(X, y) > 0.9
    one = clone(reg).set_params(device="cpu").fit(X, y[:, 0])
    assert one.predict(X).shape == (100,) and one.predict(X).dtype == np.float64
    restored = pickle.loads(pickle.dumps(one))
    np.testing.assert_array_equal(restored.predict(X), one.predict(X))


def test_pipeline_grid_search_and_cross_validation(blobs):
    X, y = blobs
    pipe = Pipeline([("scale", StandardScaler()),
                     ("net", NeuralNetClassifier(max_epochs=15, random_state=0))])
    assert pipe.fit(X, y).score(X, y) > 0.9
    grid = GridSearchCV(pipe, {"net__lr": [1e-4, 1e-2], "net__module__hidden_sizes": [(4,), (16,)]},
                        cv=2)
    grid.fit(X, y)
    assert grid.best_params_["net__lr"] == 1e-2            # 15 epochs at 1e-4 barely move
    assert len(grid.cv_results_["params"]) == 4 and grid.best_score_ > 0.8
    best = grid.best_estimator_.named_steps["net"]
    assert best.module_.sizes[1] == grid.best_params_["net__module__hidden_sizes"][0]
    scores = cross_val_score(NeuralNetClassifier(max_epochs=15, lr=0.01, random_state=0), X, y,
                             cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8

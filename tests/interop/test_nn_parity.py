"""PyTorch parity of chainrule.nn: layers, activations, losses, initialisation, state dicts."""

import math
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402
from chainrule import nn  # noqa: E402

TF = torch.nn.functional
RNG = np.random.default_rng(0)


def pair(array, requires_grad=True):
    """The same float64 data as a chainrule tensor and a torch tensor."""
    array = np.asarray(array)
    c = cr.tensor(array, dtype=array.dtype, requires_grad=requires_grad)
    t = torch.tensor(array, requires_grad=requires_grad)
    return c, t


def check(c_out, t_out, c_inputs, t_inputs, rtol=1e-6, atol=1e-8, seed=1):
    """Equal outputs, and equal gradients for a random upstream gradient."""
    t_val = t_out.detach().numpy()
    np.testing.assert_allclose(c_out.numpy(), t_val, rtol=rtol, atol=atol)
    g = np.random.default_rng(seed).standard_normal(t_val.shape)
    c_grads = cr.autograd.grad(c_out, c_inputs, cr.tensor(g, dtype=c_out.dtype))
    t_grads = torch.autograd.grad(t_out, t_inputs, torch.tensor(g, dtype=t_out.dtype))
    for cg, tg in zip(c_grads, t_grads):
        np.testing.assert_allclose(cg.numpy(), tg.numpy(), rtol=rtol, atol=atol)


# ---- activations -----------------------------------------------------------------------------
ACTIVATIONS = [
    ("step", F.step, lambda t: (torch.sign(t) + 1) / 2),  # heaviside has no torch gradient
    ("sign", F.sign, torch.sign),
    ("piecewise_linear", F.piecewise_linear, lambda t: torch.clamp(t + 0.5, 0, 1)),
    ("sigmoid", F.sigmoid, torch.sigmoid),
    ("tanh", F.tanh, torch.tanh),
    ("relu", F.relu, TF.relu),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda t: TF.leaky_relu(t, 0.2)),
    ("elu", lambda x: F.elu(x, 0.7), lambda t: TF.elu(t, 0.7)),
    ("gelu", F.gelu, TF.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, "tanh"), lambda t: TF.gelu(t, approximate="tanh")),
    ("softplus", F.softplus, TF.softplus),
    ("softplus_beta", lambda x: F.softplus(x, 2.0, 3.0), lambda t: TF.softplus(t, 2.0, 3.0)),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid),
    ("softmax0", lambda x: F.softmax(x, 0), lambda t: TF.softmax(t, 0)),
    ("softmax", F.softmax, lambda t: TF.softmax(t, -1)),
    ("log_softmax", lambda x: F.log_softmax(x, 1), lambda t: TF.log_softmax(t, 1)),
]


@pytest.mark.parametrize("name,fn,ref", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activation_parity(name, fn, ref, dtype):
    data = (RNG.standard_normal((4, 5)) * 3).astype(dtype)
    data[0, :3] = [0.0, 0.5, -0.5]  # kinks: subgradient choices must match too
    data[1, :2] = [40.0, -40.0]
    c, t = pair(data)
    tol = dict(rtol=1e-6, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=1e-6)
    check(fn(c), ref(t), [c], [t], **tol)


MODULES = [
    (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()), (nn.ReLU(), torch.nn.ReLU()),
    (nn.LeakyReLU(0.3), torch.nn.LeakyReLU(0.3)), (nn.ELU(2.0), torch.nn.ELU(2.0)),
    (nn.GELU(), torch.nn.GELU()), (nn.GELU("tanh"), torch.nn.GELU("tanh")),
    (nn.Softplus(0.5, 10.0), torch.nn.Softplus(0.5, 10.0)),
    (nn.LogSigmoid(), torch.nn.LogSigmoid()),
    (nn.Softmax(1), torch.nn.Softmax(1)), (nn.LogSoftmax(0), torch.nn.LogSoftmax(0)),
    (nn.Identity(), torch.nn.Identity()),
]


@pytest.mark.parametrize("module,ref", MODULES, ids=[repr(m[0]) for m in MODULES])
def test_activation_module_parity(module, ref):
    c, t = pair(RNG.standard_normal((3, 4)))
    check(module(c), ref(t), [c], [t])
    assert repr(module) == repr(ref)


# ---- layers ----------------------------------------------------------------------------------
def load_from_torch(c_module, t_module):
    c_module.load_state_dict({k: v.numpy() for k, v in t_module.state_dict().items()})


def test_linear_parity_and_names():
    tl = torch.nn.Linear(5, 3).double()
    cl = nn.Linear(5, 3).double()
    assert list(cl.state_dict()) == list(tl.state_dict())
    load_from_torch(cl, tl)
    c, t = pair(RNG.standard_normal((2, 4, 5)))
    check(cl(c), tl(t), [c, cl.weight, cl.bias], [t, tl.weight, tl.bias])
    assert repr(cl) == repr(tl)
    nb_c, nb_t = nn.Linear(5, 3, bias=False).double(), torch.nn.Linear(5, 3, bias=False).double()
    load_from_torch(nb_c, nb_t)
    check(nb_c(c), nb_t(t), [c, nb_c.weight], [t, nb_t.weight])


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 5, 2))])
@pytest.mark.parametrize("options", [{}, {"momentum": None}, {"affine": False},
                                     {"track_running_stats": False}, {"eps": 1e-2,
                                                                      "momentum": 0.3}])
def test_batch_norm_parity(cls, shape, options):
    cb = getattr(nn, cls)(3, **options).double()
    tb = getattr(torch.nn, cls)(3, **options).double()
    if options.get("affine", True):
        with torch.no_grad():
            tb.weight.uniform_(0.5, 1.5)
            tb.bias.uniform_(-1, 1)
    load_from_torch(cb, tb)
    assert list(cb.state_dict()) == list(tb.state_dict())
    params_c = [p for p in (cb.weight, cb.bias) if p is not None]
    params_t = [p for p in (tb.weight, tb.bias) if p is not None]
    for step in range(3):  # training steps update the running statistics
        c, t = pair(RNG.standard_normal(shape) * 2 + step)
        check(cb(c), tb(t), [c] + params_c, [t] + params_t)
    for k, v in tb.state_dict().items():
        np.testing.assert_allclose(cb.state_dict()[k].numpy(), v.numpy(), rtol=1e-12)
    cb.eval()
    tb.eval()
    c, t = pair(RNG.standard_normal(shape))
    check(cb(c), tb(t), [c] + params_c, [t] + params_t)
    assert repr(cb) == repr(tb)


@pytest.mark.parametrize("shape,normalized,options", [
    ((4, 6), 6, {}), ((2, 3, 4, 5), (4, 5), {}), ((3, 5), 5, {"elementwise_affine": False}),
    ((3, 5), [5], {"bias": False, "eps": 1e-3})])
def test_layer_norm_parity(shape, normalized, options):
    cl = nn.LayerNorm(normalized, **options).double()
    tl = torch.nn.LayerNorm(normalized, **options).double()
    if tl.weight is not None:
        with torch.no_grad():
            tl.weight.uniform_(0.5, 1.5)
            if tl.bias is not None:
                tl.bias.uniform_(-1, 1)
    load_from_torch(cl, tl)
    c, t = pair(RNG.standard_normal(shape) * 3 + 1)
    cps = [p for p in (cl.weight, cl.bias) if p is not None]
    tps = [p for p in (tl.weight, tl.bias) if p is not None]
    check(cl(c), tl(t), [c] + cps, [t] + tps)
    assert repr(cl) == repr(tl)


@pytest.mark.parametrize("c_layer,t_layer,shape", [
    (nn.Flatten(), torch.nn.Flatten(), (2, 3, 4, 5)),
    (nn.Flatten(0, 2), torch.nn.Flatten(0, 2), (2, 3, 4, 5)),
    (nn.Unflatten(1, (3, 4)), torch.nn.Unflatten(1, (3, 4)), (2, 12)),
    (nn.Unflatten(-1, (2, -1)), torch.nn.Unflatten(-1, (2, -1)), (5, 3, 8)),
])
def test_reshape_layer_parity(c_layer, t_layer, shape):
    c, t = pair(RNG.standard_normal(shape))
    check(c_layer(c), t_layer(t), [c], [t])
    assert repr(c_layer) == repr(t_layer)


def test_dropout_matches_torch_statistics_and_modes():
    cr.manual_seed(0)
    cd, td = nn.Dropout(0.3), torch.nn.Dropout(0.3)
    x = np.ones((200, 100))
    c_out = cd(cr.tensor(x, dtype=np.float64)).numpy()
    t_out = td(torch.tensor(x)).numpy()
    np.testing.assert_allclose(np.unique(c_out), np.unique(t_out), rtol=1e-15)
    np.testing.assert_allclose(np.unique(c_out), [0.0, 1 / 0.7], rtol=1e-15)
    assert abs((c_out == 0).mean() - 0.3) < 0.01
    assert abs(c_out.mean() - 1.0) < 0.02
    cd.eval()
    td.eval()
    c, t = pair(RNG.standard_normal((3, 4)))
    check(cd(c), td(t), [c], [t])
    assert repr(cd) == repr(td)


# ---- losses ----------------------------------------------------------------------------------
REDUCTIONS = ["none", "mean", "sum"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,options", [("mse_loss", {}), ("l1_loss", {}),
                                          ("huber_loss", {}), ("huber_loss", {"delta": 0.4})])
def test_regression_loss_parity(name, options, reduction):
    c, t = pair(RNG.standard_normal((4, 3)))
    ct, tt = pair(RNG.standard_normal((4, 3)))
    c_out = getattr(F, name)(c, ct, reduction=reduction, **options)
    t_out = getattr(TF, name)(t, tt, reduction=reduction, **options)
    check(c_out, t_out, [c, ct], [t, tt])
    module = {"mse_loss": "MSELoss", "l1_loss": "L1Loss", "huber_loss": "HuberLoss"}[name]
    c_mod = getattr(nn, module)(reduction=reduction, **options)
    np.testing.assert_allclose(c_mod(c, ct).numpy(), t_out.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_weight", [False, True])
def test_bce_parity(reduction, with_weight):
    p = RNG.uniform(0.02, 0.98, (5, 3))
    c, t = pair(p)
    ct, tt = pair(RNG.uniform(0, 1, (5, 3)))
    w = RNG.uniform(0.5, 2, (3,)) if with_weight else None
    c_out = F.binary_cross_entropy(c, ct, None if w is None else cr.tensor(w, dtype=np.float64),
                                   reduction=reduction)
    t_out = TF.binary_cross_entropy(t, tt, None if w is None else torch.tensor(w),
                                    reduction=reduction)
    check(c_out, t_out, [c, ct], [t, tt], rtol=1e-6)
    c_mod = nn.BCELoss(None if w is None else cr.tensor(w, dtype=np.float64), reduction)
    np.testing.assert_allclose(c_mod(c, ct).numpy(), t_out.detach().numpy(), rtol=1e-12)


def test_bce_parity_at_saturated_probabilities():
    # log 0 is clamped at -100 and the input gradient's denominator p (1 - p) at 1e-12. (For
    # the target gradient PyTorch returns -logit(p) = +-inf there; chainrule differentiates the
    # clamped forward and gives +-100.)
    c, t = pair(np.array([0.0, 1.0, 0.0, 1.0, 0.5]))
    target = np.array([1.0, 0.0, 0.0, 1.0, 0.3])
    c_out = F.binary_cross_entropy(c, cr.tensor(target, dtype=np.float64), reduction="none")
    t_out = TF.binary_cross_entropy(t, torch.tensor(target), reduction="none")
    check(c_out, t_out, [c], [t])
    np.testing.assert_allclose(c_out.numpy(), [100, 100, 0, 0, -0.3 * np.log(0.5) -
                                               0.7 * np.log(0.5)], rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight,pos_weight", [(False, False), (True, False), (False, True),
                                               (True, True)])
def test_bce_with_logits_parity(reduction, weight, pos_weight):
    z = RNG.standard_normal((6, 4)) * 4
    z[0, :2] = [200.0, -200.0]
    c, t = pair(z)
    ct, tt = pair(RNG.uniform(0, 1, (6, 4)))
    w = RNG.uniform(0.5, 2, (6, 1)) if weight else None
    pw = RNG.uniform(0.5, 3, (4,)) if pos_weight else None

    def opt(a, lib):
        return None if a is None else (cr.tensor(a, dtype=np.float64) if lib == "cr"
                                       else torch.tensor(a))

    c_out = F.binary_cross_entropy_with_logits(c, ct, opt(w, "cr"), reduction, opt(pw, "cr"))
    t_out = TF.binary_cross_entropy_with_logits(t, tt, opt(w, "t"), reduction=reduction,
                                                pos_weight=opt(pw, "t"))
    check(c_out, t_out, [c, ct], [t, tt])
    c_mod = nn.BCEWithLogitsLoss(opt(w, "cr"), reduction, opt(pw, "cr"))
    np.testing.assert_allclose(c_mod(c, ct).numpy(), t_out.detach().numpy(), rtol=1e-12)


CE_CASES = [
    ({}, (5, 4)), ({"weight": True}, (5, 4)), ({"ignore_index": 2}, (6, 4)),
    ({"weight": True, "ignore_index": 1}, (6, 4)), ({"label_smoothing": 0.2}, (5, 4)),
    ({"label_smoothing": 0.1, "weight": True, "ignore_index": 0}, (7, 4)),
    ({}, (3, 4, 2, 5)), ({"weight": True, "label_smoothing": 0.3}, (3, 4, 5)), ({}, (4,)),
]


def _class_weight(options, c):
    if not options.get("weight"):
        return {}, {}
    w = RNG.uniform(0.5, 2.0, (c,))
    return {"weight": cr.tensor(w, dtype=np.float64)}, {"weight": torch.tensor(w)}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options,shape", CE_CASES)
def test_cross_entropy_indices_parity(options, shape, reduction):
    c, t = pair(RNG.standard_normal(shape) * 3)
    n_classes = shape[1] if len(shape) > 1 else shape[0]
    target_shape = (shape[:1] + shape[2:]) if len(shape) > 1 else ()
    y = RNG.integers(0, n_classes, target_shape)
    cw, tw = _class_weight(options, n_classes)
    extra = {k: v for k, v in options.items() if k != "weight"}
    c_out = F.cross_entropy(c, cr.tensor(y), reduction=reduction, **cw, **extra)
    t_out = TF.cross_entropy(t, torch.tensor(y), reduction=reduction, **tw, **extra)
    check(c_out, t_out, [c], [t])
    c_mod = nn.CrossEntropyLoss(reduction=reduction, **cw, **extra)
    np.testing.assert_allclose(c_mod(c, cr.tensor(y)).numpy(), t_out.detach().numpy(),
                               rtol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options,shape", [({}, (5, 4)), ({"weight": True}, (5, 4)),
                                           ({"label_smoothing": 0.25}, (5, 4)),
                                           ({"weight": True, "label_smoothing": 0.1},
                                            (3, 4, 2))])
def test_cross_entropy_probabilities_parity(options, shape, reduction):
    c, t = pair(RNG.standard_normal(shape) * 2)
    probs = RNG.dirichlet(np.ones(shape[1]), (shape[0],) + shape[2:])
    probs = np.moveaxis(probs, -1, 1)
    ct, tt = pair(probs)
    cw, tw = _class_weight(options, shape[1])
    extra = {k: v for k, v in options.items() if k != "weight"}
    c_out = F.cross_entropy(c, ct, reduction=reduction, **cw, **extra)
    t_out = TF.cross_entropy(t, tt, reduction=reduction, **tw, **extra)
    check(c_out, t_out, [c, ct], [t, tt])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options,shape", [({}, (5, 4)), ({"weight": True}, (5, 4)),
                                           ({"ignore_index": 3}, (8, 4)),
                                           ({"weight": True, "ignore_index": 0}, (3, 4, 2)),
                                           ({}, (4,))])
def test_nll_loss_parity(options, shape, reduction):
    c, t = pair(RNG.standard_normal(shape))
    n_classes = shape[1] if len(shape) > 1 else shape[0]
    y = RNG.integers(0, n_classes, (shape[:1] + shape[2:]) if len(shape) > 1 else ())
    cw, tw = _class_weight(options, n_classes)
    extra = {k: v for k, v in options.items() if k != "weight"}
    c_out = F.nll_loss(c, cr.tensor(y), reduction=reduction, **cw, **extra)
    t_out = TF.nll_loss(t, torch.tensor(y), reduction=reduction, **tw, **extra)
    check(c_out, t_out, [c], [t])
    c_mod = nn.NLLLoss(reduction=reduction, **cw, **extra)
    np.testing.assert_allclose(c_mod(c, cr.tensor(y)).numpy(), t_out.detach().numpy(),
                               rtol=1e-12)


def test_cross_entropy_float32_matches_torch():
    logits = (RNG.standard_normal((64, 10)) * 5).astype(np.float32)
    y = RNG.integers(0, 10, 64)
    c, t = pair(logits)
    check(F.cross_entropy(c, cr.tensor(y)), TF.cross_entropy(t, torch.tensor(y)), [c], [t],
          rtol=1e-5, atol=1e-7)


# ---- initialisation --------------------------------------------------------------------------
@pytest.mark.parametrize("nonlinearity,param", [("linear", None), ("sigmoid", None),
                                                ("tanh", None), ("relu", None),
                                                ("leaky_relu", None), ("leaky_relu", 0.2),
                                                ("selu", None), ("conv2d", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param))


@pytest.mark.parametrize("shape", [(300, 200), (64, 16, 3, 3)])
@pytest.mark.parametrize("name,kwargs", [
    ("xavier_uniform_", {}), ("xavier_normal_", {"gain": 2.0}), ("kaiming_uniform_", {}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}), ("kaiming_normal_", {"mode": "fan_out"}),
    ("kaiming_normal_", {"nonlinearity": "relu"}), ("uniform_", {"a": -2.0, "b": 1.0}),
    ("normal_", {"mean": 1.0, "std": 0.5})])
def test_init_statistics_match_torch(shape, name, kwargs):
    cr.manual_seed(0)
    torch.manual_seed(0)
    c = getattr(nn.init, name)(cr.empty(shape), **kwargs).numpy()
    t = getattr(torch.nn.init, name)(torch.empty(shape), **kwargs).numpy()
    assert c.dtype == np.float32
    n = c.size
    assert abs(c.mean() - t.mean()) < 6 * t.std() / math.sqrt(n)
    assert c.std() == pytest.approx(t.std(), rel=0.03)
    if "uniform" in name:
        assert c.min() >= t.min() - 0.02 * t.std() and c.max() <= t.max() + 0.02 * t.std()
        assert c.max() - c.min() == pytest.approx(t.max() - t.min(), rel=0.01)


@pytest.mark.parametrize("c_layer,t_layer", [(nn.Linear(400, 300), torch.nn.Linear(400, 300)),
                                             (nn.LayerNorm(7), torch.nn.LayerNorm(7)),
                                             (nn.BatchNorm1d(5), torch.nn.BatchNorm1d(5))])
def test_default_layer_initialisation_matches_torch(c_layer, t_layer):
    for (cn, cp), (tn, tp) in zip(c_layer.named_parameters(), t_layer.named_parameters()):
        assert cn == tn and cp.shape == tuple(tp.shape)
        c, t = cp.numpy(), tp.detach().numpy()
        assert c.dtype == np.float32
        c, t = c.astype(np.float64), t.astype(np.float64)   # statistics as Python-float scalars
        tol = 4 / math.sqrt(c.size)  # a few standard errors of the sample statistics
        assert c.std() == pytest.approx(t.std(), rel=tol, abs=1e-7)
        assert np.abs(c).max() <= np.abs(t).max() * 1.05 + 1e-7
        assert c.mean() == pytest.approx(t.mean(), abs=tol * t.std() + 1e-7)


# ---- state dict round trip -------------------------------------------------------------------
def _torch_mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(OrderedDict([
        ("fc1", torch.nn.Linear(6, 8)), ("bn", torch.nn.BatchNorm1d(8)),
        ("act", torch.nn.ReLU()), ("fc2", torch.nn.Linear(8, 3)), ("ln", torch.nn.LayerNorm(3))]))


def _cr_mlp():
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(6, 8)), ("bn", nn.BatchNorm1d(8)), ("act", nn.ReLU()),
        ("fc2", nn.Linear(8, 3)), ("ln", nn.LayerNorm(3))]))


def test_torch_state_dict_round_trip():
    tm = _torch_mlp()
    x = RNG.standard_normal((16, 6)).astype(np.float32)
    tm.train()
    for _ in range(2):  # move the running statistics away from their initial values
        tm(torch.tensor(x * 2 + 1))
    cm = _cr_mlp()
    assert list(cm.state_dict()) == list(tm.state_dict())
    result = cm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    assert not any(result)
    tm.eval()
    cm.eval()
    np.testing.assert_allclose(cm(cr.tensor(x)).numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    fresh = _torch_mlp()
    fresh.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                           for k, v in cm.state_dict().items()})
    for k, v in tm.state_dict().items():
        assert np.array_equal(fresh.state_dict()[k].numpy(), v.numpy()), k
        assert cm.state_dict()[k].dtype == v.numpy().dtype, k
    cm.train()
    tm.train()
    np.testing.assert_allclose(cm(cr.tensor(x)).numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_mlp_parameter_names_equal_torch_sequential():
    from chainrule.models.mlp import MLP

    model = MLP([4, 8, 8, 2], activation="relu", batch_norm=True, dropout=0.1)
    ref = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                              torch.nn.Dropout(0.1), torch.nn.Linear(8, 8),
                              torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                              torch.nn.Linear(8, 2))
    assert list(model.state_dict()) == list(ref.state_dict())
    assert model.num_parameters() == sum(p.numel() for p in ref.parameters())
    model.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    model.eval()
    ref.eval()
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(model(cr.tensor(x)).numpy(),
                               ref(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_clip_grad_norm_matches_torch():
    grads = [RNG.standard_normal(s) for s in [(3, 4), (4,), (2, 2)]]
    for norm_type in (2.0, 1.0, float("inf")):
        cps = [nn.Parameter(cr.zeros(g.shape, dtype=np.float64)) for g in grads]
        tps = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
        for cp, tp, g in zip(cps, tps, grads):
            cp.grad = cr.tensor(g, dtype=np.float64)
            tp.grad = torch.tensor(g)
        c_total = nn.utils.clip_grad_norm_(cps, 0.5, norm_type)
        t_total = torch.nn.utils.clip_grad_norm_(tps, 0.5, norm_type)
        assert c_total.item() == pytest.approx(t_total.item(), rel=1e-12)
        for cp, tp in zip(cps, tps):
            np.testing.assert_allclose(cp.grad.numpy(), tp.grad.numpy(), rtol=1e-12)

"""PyTorch parity of everyday tools: cr.utils.data, autograd.functional, LBFGS, GroupNorm,
interpolate / Upsample and module hooks, on the same data in both libraries."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.autograd import functional as AF  # noqa: E402

TF = torch.nn.functional
TAF = torch.autograd.functional
RNG = np.random.default_rng(0)


def pair(array, requires_grad=False):
    array = np.asarray(array)
    return (cr.tensor(array, dtype=array.dtype, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def same(ours, theirs, rtol=1e-10, atol=1e-12):
    """Equal nested structures (tuples in the same places) with equal values."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            same(o, t, rtol, atol)
        return
    assert isinstance(ours, cr.Tensor) and ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)


# ---- cr.utils.data ----------------------------------------------------------------------------
def test_loader_batches_and_split_sizes_match():
    X, y = RNG.standard_normal((10, 3)).astype(np.float32), np.arange(10)
    ours = cr.utils.data.DataLoader(cr.utils.data.TensorDataset(cr.tensor(X), cr.tensor(y)),
                                    batch_size=4, drop_last=False)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(y)), batch_size=4)
    assert len(ours) == len(theirs)
    for (xo, yo), (xt, yt) in zip(ours, theirs):
        np.testing.assert_array_equal(xo.numpy(), xt.numpy())
        np.testing.assert_array_equal(yo.numpy(), yt.numpy())
    ds = list(range(11))
    ours = cr.utils.data.random_split(ds, [0.5, 0.3, 0.2], generator=np.random.default_rng(0))
    theirs = torch.utils.data.random_split(ds, [0.5, 0.3, 0.2])
    assert [len(s) for s in ours] == [len(s) for s in theirs]


# ---- autograd.functional ----------------------------------------------------------------------
A = RNG.standard_normal((3, 2))


def f64(lib, array):
    """A float64 tensor of ``lib`` (chainrule's default float is float32, like torch's)."""
    return lib.tensor(np.asarray(array, dtype=np.float64), dtype=lib.float64)


def f_one(lib):
    return lambda x: lib.tanh(f64(lib, A) @ lib.sin(x))


def f_two(lib):
    return lambda x, y: (x * y.sum() ** 2, lib.exp(x).sum() * y)


def scalar_one(lib):
    return lambda x: (lib.sin(x) * x ** 2).sum()


def scalar_two(lib):
    return lambda x, y: (x ** 2 * y.sum()).sum() + lib.cos(y).sum() ** 2


X2, Y3, V2, V3 = (RNG.standard_normal(n) for n in (2, 3, 2, 3))


def ins(lib, *arrays):
    tensors = tuple(f64(lib, a) for a in arrays)
    return tensors if len(tensors) > 1 else tensors[0]


@pytest.mark.parametrize("create_graph", [False, True])
def test_functional_matches_torch(create_graph):
    kw = dict(create_graph=create_graph)
    for fn_of, arrays in [(f_one, (X2,)), (f_two, (X2, Y3))]:
        same(AF.jacobian(fn_of(cr), ins(cr, *arrays), **kw),
             TAF.jacobian(fn_of(torch), ins(torch, *arrays), **kw))
    same(AF.vjp(f_one(cr), ins(cr, X2), ins(cr, V3), **kw),
         TAF.vjp(f_one(torch), ins(torch, X2), ins(torch, V3), **kw))
    same(AF.jvp(f_one(cr), ins(cr, X2), ins(cr, V2), **kw),
         TAF.jvp(f_one(torch), ins(torch, X2), ins(torch, V2), **kw))
    v = (np.ones(2), V3)
    same(AF.vjp(f_two(cr), ins(cr, X2, Y3), ins(cr, *v), **kw),
         TAF.vjp(f_two(torch), ins(torch, X2, Y3), ins(torch, *v), **kw))
    same(AF.jvp(f_two(cr), ins(cr, X2, Y3), ins(cr, V2, V3), **kw),
         TAF.jvp(f_two(torch), ins(torch, X2, Y3), ins(torch, V2, V3), **kw))
    same(AF.hessian(scalar_one(cr), ins(cr, X2), **kw),
         TAF.hessian(scalar_one(torch), ins(torch, X2), **kw))
    same(AF.hessian(scalar_two(cr), ins(cr, X2, Y3), **kw),
         TAF.hessian(scalar_two(torch), ins(torch, X2, Y3), **kw))
    for fn in ("hvp", "vhp"):
        same(getattr(AF, fn)(scalar_one(cr), ins(cr, X2), ins(cr, V2), **kw),
             getattr(TAF, fn)(scalar_one(torch), ins(torch, X2), ins(torch, V2), **kw))
        same(getattr(AF, fn)(scalar_two(cr), ins(cr, X2, Y3), ins(cr, V2, V3), **kw),
             getattr(TAF, fn)(scalar_two(torch), ins(torch, X2, Y3), ins(torch, V2, V3), **kw))


def test_functional_strict_mode_matches_torch():
    a, b = X2, Y3
    for lib, fn_lib in ((cr, AF), (torch, TAF)):
        with pytest.raises(RuntimeError, match="independent of input 1"):
            fn_lib.jacobian(lambda x, y: x * 2, ins(lib, a, b), strict=True)
        zeros = fn_lib.jacobian(lambda x, y: x * 2, ins(lib, a, b))[1]
        assert tuple(zeros.shape) == (2, 3) and float(abs(zeros).sum()) == 0.0


# ---- LBFGS ------------------------------------------------------------------------------------
def _rosenbrock(w):
    return (100 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2).sum()


M8, B8 = RNG.standard_normal((8, 3)), RNG.standard_normal(8)


def _least_squares(w):
    lib = torch if isinstance(w, torch.Tensor) else cr
    r = f64(lib, M8) @ w - f64(lib, B8)
    return (r * r).sum()


def _lbfgs_paths(lib, opt_cls, loss_fn, w0, steps, **options):
    w = lib.tensor(w0, requires_grad=True) if lib is torch else \
        cr.tensor(w0, dtype=np.float64, requires_grad=True)
    opt = opt_cls([w], **options)

    def closure():
        opt.zero_grad()
        loss = loss_fn(w)
        loss.backward()
        return loss

    path, losses = [], []
    for _ in range(steps):
        losses.append(opt.step(closure).item())
        path.append(w.detach().numpy().copy())
    state = opt.state[w]
    return np.array(path), losses, (state["n_iter"], state["func_evals"]), opt, w, closure


@pytest.mark.parametrize("loss_fn,w0,options", [
    (_rosenbrock, [-1.2, 1.0, -0.5, 0.8, 1.3], dict(line_search_fn="strong_wolfe")),
    (_rosenbrock, [-1.2, 1.0, 0.3], dict(line_search_fn="strong_wolfe", history_size=3,
                                         max_iter=7)),
    (_rosenbrock, [0.5, 0.2, 0.9], dict(line_search_fn="strong_wolfe", lr=0.5, max_eval=9)),
    (_least_squares, [1.0, -2.0, 0.5], dict()),
    (_least_squares, [1.0, -2.0, 0.5], dict(lr=0.3, max_iter=5, history_size=2)),
])
def test_lbfgs_iterates_match_torch(loss_fn, w0, options):
    w0 = np.array(w0)
    ours = _lbfgs_paths(cr, cr.optim.LBFGS, loss_fn, w0, 6, **options)
    theirs = _lbfgs_paths(torch, torch.optim.LBFGS, loss_fn, w0, 6, **options)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-14)
    assert ours[2] == theirs[2]   # the same iteration and evaluation counts


def test_lbfgs_loads_a_torch_state_dict():
    w0 = np.array([-1.2, 1.0, 0.3])
    options = dict(line_search_fn="strong_wolfe", max_iter=3)
    *_, t_opt, t_w, t_closure = _lbfgs_paths(torch, torch.optim.LBFGS, _rosenbrock, w0, 2,
                                             **options)
    state = t_opt.state_dict()
    converted = {"param_groups": state["param_groups"], "state": {
        k: {name: ([None if x is None else x.numpy() for x in v] if isinstance(v, list) else
                   v.numpy() if isinstance(v, torch.Tensor) else v) for name, v in s.items()}
        for k, s in state["state"].items()}}
    c_w = cr.tensor(t_w.detach().numpy(), dtype=np.float64, requires_grad=True)
    c_opt = cr.optim.LBFGS([c_w], **options)
    c_opt.load_state_dict(converted)

    def c_closure():
        c_opt.zero_grad()
        loss = _rosenbrock(c_w)
        loss.backward()
        return loss

    t_opt.step(t_closure)
    c_opt.step(c_closure)
    np.testing.assert_allclose(c_w.numpy(), t_w.detach().numpy(), rtol=1e-10)


# ---- GroupNorm --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,groups,affine", [((4, 6), 3, True), ((2, 6, 5), 2, True),
                                                 ((2, 4, 3, 3), 4, False), ((3, 4, 2, 5), 1, True)])
def test_group_norm_matches_torch(shape, groups, affine):
    x = RNG.standard_normal(shape) * 2 + 1
    ours, theirs = nn.GroupNorm(groups, shape[1], affine=affine).double(), \
        torch.nn.GroupNorm(groups, shape[1], affine=affine).double()
    if affine:
        w, b = RNG.standard_normal(shape[1]), RNG.standard_normal(shape[1])
        ours.load_state_dict({"weight": w, "bias": b})
        theirs.load_state_dict({"weight": torch.tensor(w), "bias": torch.tensor(b)})
    assert repr(ours) == repr(theirs)
    xc, xt = pair(x, requires_grad=True)
    yc, yt = ours(xc), theirs(xt)
    g = RNG.standard_normal(shape)
    yc.backward(cr.tensor(g, dtype=np.float64))
    yt.backward(torch.tensor(g))
    same(yc, yt)
    same(xc.grad, xt.grad, rtol=1e-9)
    if affine:
        same(ours.weight.grad, theirs.weight.grad, rtol=1e-9)
        same(ours.bias.grad, theirs.bias.grad, rtol=1e-9)


# ---- interpolate / Upsample -------------------------------------------------------------------
CASES = [((2, 3, 5), mode, kw) for mode in ("nearest", "nearest-exact", "linear", "area")
         for kw in (dict(size=9), dict(size=2), dict(scale_factor=1.7), dict(scale_factor=0.6),
                    dict(scale_factor=2.3, recompute_scale_factor=True))]
CASES += [((2, 2, 4, 7), mode, kw) for mode in ("nearest", "nearest-exact", "bilinear", "area")
          for kw in (dict(size=(9, 5)), dict(size=3), dict(scale_factor=2),
                     dict(scale_factor=(1.7, 0.6)), dict(scale_factor=3))]


@pytest.mark.parametrize("shape,mode,kwargs", CASES)
def test_interpolate_matches_torch(shape, mode, kwargs):
    for align_corners in ([False, True] if mode in ("linear", "bilinear") else [None]):
        x = RNG.standard_normal(shape)
        xc, xt = pair(x, requires_grad=True)
        yc = F.interpolate(xc, mode=mode, align_corners=align_corners, **kwargs)
        yt = TF.interpolate(xt, mode=mode, align_corners=align_corners, **kwargs)
        g = RNG.standard_normal(tuple(yt.shape))
        yc.backward(cr.tensor(g, dtype=np.float64))
        yt.backward(torch.tensor(g))
        same(yc, yt)
        same(xc.grad, xt.grad)
        x32 = x.astype(np.float32)
        y32 = F.interpolate(cr.tensor(x32), mode=mode, align_corners=align_corners, **kwargs)
        t32 = TF.interpolate(torch.tensor(x32), mode=mode, align_corners=align_corners, **kwargs)
        assert y32.dtype == np.float32
        same(y32, t32, rtol=1e-5, atol=1e-6)


def test_upsample_layers_match_torch():
    x = RNG.standard_normal((1, 2, 3, 4))
    for ours, theirs in [
        (nn.Upsample(scale_factor=2, mode="bilinear"),
         torch.nn.Upsample(scale_factor=2, mode="bilinear")),
        (nn.Upsample(size=(5, 7)), torch.nn.Upsample(size=(5, 7))),
        (nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
        (nn.UpsamplingBilinear2d(size=(6, 5)), torch.nn.UpsamplingBilinear2d(size=(6, 5))),
    ]:
        assert repr(ours) == repr(theirs)
        xc, xt = pair(x)
        same(ours(xc), theirs(xt))


# ---- module hooks -----------------------------------------------------------------------------
def _hooked_run(lib, module_lib):
    class Two(module_lib.Module):
        def forward(self, a, scale, b):
            return a * b * scale, lib.tanh(a - b)

    seen = []
    m = Two()
    m.register_full_backward_pre_hook(
        lambda mod, go: (seen.append([g.detach().numpy().copy() for g in go]),
                         (go[0] * 2, go[1]))[1])
    m.register_full_backward_hook(
        lambda mod, gi, go: (seen.append([None if g is None else g.detach().numpy().copy()
                                          for g in gi]), (gi[0] + 1, None, gi[2]))[1])
    m.register_forward_hook(lambda mod, args, kwargs, out: (out[0] + 1, out[1]),
                            with_kwargs=True)
    a = f64(lib, [1.0, 2.0]).requires_grad_()
    b = f64(lib, [[3.0], [-4.0]]).requires_grad_()
    p, q = m(a, 0.5, b)
    (p.sum() * 2 + (q ** 2).sum()).backward()
    return seen, p.detach().numpy(), a.grad.numpy(), b.grad.numpy()


def test_module_hooks_match_torch():
    ours, theirs = _hooked_run(cr, nn), _hooked_run(torch, torch.nn)
    assert len(ours[0]) == len(theirs[0]) == 2
    for o, t in zip(ours[0], theirs[0]):
        assert [x is None for x in o] == [x is None for x in t]
        for x, y in zip(o, t):
            if x is not None:
                np.testing.assert_allclose(x, y, rtol=1e-12)
    for o, t in zip(ours[1:], theirs[1:]):
        np.testing.assert_allclose(o, t, rtol=1e-12)

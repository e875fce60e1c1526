"""cr.compile: a compiled training step gives eager execution's results, for every layer kind.

Each test trains two copies of a model from the same seed, one with the plain step and one with
the compiled step, on the same batches, and compares the losses and the parameters after every
step: a replay runs the very array operations of eager execution in the same order, so they are
equal to the last bit, in float32 too.
"""

import gc
import tracemalloc
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import Trainer

RNG = np.random.default_rng(0)


def _batches(n, x_shape, y_of, dtype=np.float32):
    rng = np.random.default_rng(1)
    out = []
    for _ in range(n):
        x = rng.standard_normal(x_shape).astype(dtype) if dtype != np.int64 else \
            rng.integers(0, 10, x_shape)
        out.append((cr.from_numpy(x), cr.from_numpy(y_of(rng, x))))
    return out


def _classes(k):
    return lambda rng, x: rng.integers(0, k, x.shape[0])


def _targets(shape):
    return lambda rng, x: rng.standard_normal((x.shape[0], *shape)).astype(x.dtype)


def _step(model, opt, loss_fn):
    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def _twins(build, batches, steps=6, expect_traces=1):
    """Train ``build()`` eagerly and compiled on ``batches``; compare after every step."""
    models, fns = [], []
    for compiled in (False, True):
        cr.manual_seed(0)
        model, opt, loss_fn = build()
        step = _step(model, opt, loss_fn)
        models.append(model)
        fns.append(cr.compile(step) if compiled else step)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for i in range(steps):
            x, y = batches[i % len(batches)]
            eager, compiled = fns[0](x, y), fns[1](x, y)
            assert eager.item() == compiled.item(), f"step {i}"
            for (name, a), b in zip(models[0].state_dict().items(),
                                    models[1].state_dict().values()):
                assert np.array_equal(a.numpy(), b.numpy()), f"step {i}: {name}"
    assert fns[1].disabled is None
    assert fns[1].traces == expect_traces
    return fns[1]


class Head(nn.Module):
    """A recurrent or embedding body, then a linear head on the mean over time."""

    def __init__(self, body, width, classes=3):
        super().__init__()
        self.body, self.head = body, nn.Linear(width, classes)

    def forward(self, x):
        h = self.body(x)
        h = h[0] if isinstance(h, tuple) else h
        return self.head(h.mean(1))


class Attend(nn.Module):
    """Causal self-attention over a sequence (the mask is made once, a constant)."""

    def __init__(self, length=7, width=8):
        super().__init__()
        self.embed, self.head = nn.Linear(3, width), nn.Linear(width, 3)
        self.attn = nn.MultiheadAttention(width, 2, batch_first=True)
        self.mask = cr.from_numpy(np.triu(np.ones((length, length), dtype=bool), 1))

    def forward(self, x):
        h = self.embed(x)
        a, _ = self.attn(h, h, h, attn_mask=self.mask, need_weights=False)
        return self.head((h + a).mean(1))


def _sgd(model):
    return optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


MODELS = {
    "mlp": (lambda: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(),
                                  nn.Linear(8, 2)), nn.MSELoss(), (16, 4), _targets((2,))),
    "lenet": (lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                    nn.Conv2d(4, 6, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                    nn.Linear(24, 3)),
              nn.CrossEntropyLoss(), (8, 1, 12, 12), _classes(3)),
    "batchnorm1d": (lambda: nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(),
                                          nn.Linear(8, 3)),
                    nn.CrossEntropyLoss(), (16, 4), _classes(3)),
    "batchnorm2d_cumulative": (lambda: nn.Sequential(nn.Conv2d(1, 3, 3),
                                                     nn.BatchNorm2d(3, momentum=None),
                                                     nn.Flatten(), nn.Linear(48, 3)),
                               nn.CrossEntropyLoss(), (8, 1, 6, 6), _classes(3)),
    "layernorm": (lambda: nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.GELU(),
                                        nn.Linear(8, 2)), nn.MSELoss(), (16, 4), _targets((2,))),
    "embedding": (lambda: Head(nn.Embedding(10, 6), 6), nn.CrossEntropyLoss(), (8, 5),
                  _classes(3)),
    "rnn": (lambda: Head(nn.RNN(3, 5, batch_first=True), 5), nn.CrossEntropyLoss(), (4, 7, 3),
            _classes(3)),
    "lstm": (lambda: Head(nn.LSTM(3, 5, batch_first=True), 5), nn.CrossEntropyLoss(),
             (4, 7, 3), _classes(3)),
    "gru": (lambda: Head(nn.GRU(3, 5, num_layers=2, batch_first=True), 5),
            nn.CrossEntropyLoss(), (4, 7, 3), _classes(3)),
    "attention": (Attend, nn.CrossEntropyLoss(), (4, 7, 3), _classes(3)),
}


@pytest.mark.parametrize("kind", MODELS)
def test_compiled_training_equals_eager(kind):
    make, loss_fn, x_shape, y_of = MODELS[kind]
    dtype = np.int64 if kind == "embedding" else np.float32
    batches = _batches(3, x_shape, y_of, dtype)
    _twins(lambda: (lambda m: (m, _sgd(m), loss_fn))(make()), batches)


def test_batchnorm_running_statistics_are_updated():
    make, loss_fn, x_shape, y_of = MODELS["batchnorm1d"]
    cr.manual_seed(0)
    model = make()
    step = cr.compile(_step(model, _sgd(model), loss_fn))
    for x, y in _batches(4, x_shape, y_of):
        step(x, y)
    bn = model[1]
    assert int(bn.num_batches_tracked.item()) == 4
    assert not np.allclose(bn.running_mean.numpy(), 0.0)  # compared with eager by _twins


def test_batchnorm_in_eval_mode_runs_eagerly():
    # NOTE: in eval mode batch_norm computes its scale from the running statistics with NumPy;
    # a replay would keep the values of the first call, so the forward runs eagerly
    make, loss_fn, x_shape, y_of = MODELS["batchnorm1d"]
    cr.manual_seed(0)
    model = make()
    step, forward = cr.compile(_step(model, _sgd(model), loss_fn)), cr.compile(model)
    batches = _batches(3, x_shape, y_of)
    for i in range(6):
        model.train()
        step(*batches[i % 3])
        model.eval()
        with pytest.warns(RuntimeWarning, match="batch_norm") if i == 0 else \
                warnings.catch_warnings():
            out = forward(batches[0][0])
        assert np.array_equal(out.numpy(), model(batches[0][0]).numpy())
    assert step.disabled is None and step.traces == 1


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop"])
def test_optimizers(optimizer):
    make = MODELS["mlp"][0]
    opts = {"sgd": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                       weight_decay=1e-3),
            "adam": lambda p: optim.Adam(p, lr=0.01), "adamw": lambda p: optim.AdamW(p, lr=0.01),
            "rmsprop": lambda p: optim.RMSprop(p, lr=0.01)}
    batches = _batches(3, (16, 4), _targets((2,)))
    _twins(lambda: (lambda m: (m, opts[optimizer](m.parameters()), nn.MSELoss()))(make()),
           batches, steps=8)


def test_float64_and_dropout_in_eval_mode():
    def build():
        m = nn.Sequential(nn.Linear(4, 8, dtype=np.float64), nn.Dropout(0.5), nn.Tanh(),
                          nn.Linear(8, 2, dtype=np.float64))
        m.eval()
        return m, optim.Adam(m.parameters(), lr=0.01), nn.MSELoss()

    _twins(build, _batches(2, (16, 4), _targets((2,)), np.float64))


def test_a_new_shape_traces_again():
    make, loss_fn, _, y_of = MODELS["mlp"]
    batches = _batches(2, (16, 4), y_of) + _batches(2, (5, 4), y_of)
    step = _twins(lambda: (lambda m: (m, _sgd(m), loss_fn))(make()), batches, steps=8,
                  expect_traces=2)
    assert len(step.cache) == 2


def _branching(compiled):
    """Losses and weights of a step whose Python branch follows the sign of a tensor."""
    cr.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        out = model(x).sum()
        loss = out * out if out > 0 else -out  # a branch on a tensor's value: a guard
        loss.backward()
        opt.step()
        return loss

    fn = cr.compile(step) if compiled else step
    losses = [fn(cr.full((2, 3), s * 5.0)).item() for s in (1, 1, -1, -1, 1, -1, 1)]
    return losses, model.weight.numpy().copy(), fn


def test_a_branch_on_a_value_retraces_and_matches_eager():
    losses, weight, _ = _branching(False)
    compiled_losses, compiled_weight, fn = _branching(True)
    assert compiled_losses == losses
    assert np.array_equal(compiled_weight, weight)
    assert fn.traces == 2 and fn.disabled is None  # one tape per branch, both kept


def test_returned_values_and_accuracy_inside_the_step():
    cr.manual_seed(0)
    model = nn.Linear(4, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)

    @cr.compile
    def step(x, y):
        opt.zero_grad()
        out = model(x)
        loss = nn.functional.cross_entropy(out, y)
        loss.backward()
        opt.step()
        return {"loss": loss, "correct": (out.argmax(1) == y).sum(), "out": out}

    for i, (x, y) in enumerate(_batches(5, (8, 4), _classes(3))):
        w, b = model.weight.numpy().copy(), model.bias.numpy().copy()
        logs = step(x, y)
        out = x.numpy() @ w.T + b  # the logits, before this step's update
        assert np.allclose(logs["out"].numpy(), out, atol=1e-6)
        assert logs["correct"].item() == (out.argmax(1) == y.numpy()).sum()
        assert logs["loss"].requires_grad == (i < 2)  # trace, check, then replays: no graph
    assert step.traces == 1 and step.disabled is None


def test_randomness_runs_eagerly_with_a_warning():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    step = cr.compile(_step(model, _sgd(model), nn.MSELoss()))
    batches = _batches(3, (16, 4), _targets((1,)))
    with pytest.warns(RuntimeWarning, match="random"):
        step(*batches[0])
    state = cr.backend.get_rng_state()
    step(*batches[1])  # eagerly: dropout draws a new mask
    assert cr.backend.get_rng_state() != state
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        step(*batches[2])  # in eval mode the step draws nothing: traced anew, and replayed
        step(*batches[0])
    assert step.traces == 2


class Cube(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g


def test_modules_fullgraph_and_disable():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Tanh())
    x = cr.randn(2, 3)
    with pytest.raises(RuntimeError, match="fullgraph=True.*random numbers"):
        cr.compile(model, fullgraph=True)(x)
    assert cr.compile(model, disable=True) is model
    model.eval()
    forward = cr.compile(model, fullgraph=True)  # inference: a forward pass only
    with cr.no_grad():
        outs = [forward(x) for _ in range(3)]
    assert all(np.array_equal(out.numpy(), model(x).numpy()) for out in outs)
    assert forward.traces == 1


def _unusual(case, compiled):
    """Results of a step doing something a tape cannot hold (``case``)."""
    cr.manual_seed(0)
    w = cr.randn(3, requires_grad=True)
    lin = nn.Linear(3, 3)
    if case == "module_hook":
        lin.register_forward_hook(lambda m, i, o: o * 2)
    if case == "tensor_hook":
        w.register_hook(lambda g: g * 2)

    def step(x):
        y = lin(x * w)
        y = Cube.apply(y) if case == "function" else y
        loss = (y * y).sum()
        if case == "create_graph":
            (g,) = cr.autograd.grad(loss, w, create_graph=True)
            loss = (g * g).sum()
        loss.backward()
        if case == "read_after_update":
            assert float(w.grad.sum()) == float(w.grad.sum())  # a value read after backward
        with cr.no_grad():
            if case == "numpy_update":
                w.data -= 0.1 * w.grad.data  # NumPy on .data: invisible to the tracer
            else:
                w.sub_(0.1 * w.grad)  # an in-place operation
        w.grad = None
        return loss

    fn = cr.compile(step) if compiled else step
    with cr.autograd.set_detect_anomaly(case == "anomaly"), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        losses = [fn(cr.full((3,), float(i + 1))).item() for i in range(4)]
    return losses, w.numpy().copy(), [str(w.message) for w in caught]


@pytest.mark.parametrize("case", ["anomaly", "create_graph", "tensor_hook", "module_hook",
                                  "function", "inplace", "numpy_update", "read_after_update"])
def test_what_cannot_be_replayed_runs_eagerly(case):
    losses, weights, _ = _unusual(case, False)
    compiled_losses, compiled_weights, caught = _unusual(case, True)
    assert compiled_losses == losses
    assert np.array_equal(compiled_weights, weights)
    assert len([m for m in caught if "runs eagerly" in m]) == 1, caught  # warned once


def test_an_attention_mask_given_as_argument_is_not_a_constant():
    """A boolean mask passed to the compiled function is read at every call (the call runs
    eagerly, warned once), never written into the tape as the first call's mask."""
    rng = np.random.default_rng(0)
    q = cr.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)

    def step(mask):
        out = nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=mask).sum()
        out.backward()
        return out

    compiled = cr.compile(step)
    masks = [cr.tensor(rng.random((4, 4)) > 0.5) for _ in range(2)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for mask in (masks[0], masks[0], masks[1], masks[1]):
            q.grad = None
            got, got_grad = compiled(mask).item(), q.grad.numpy().copy()
            q.grad = None
            assert got == step(mask).item()
            np.testing.assert_array_equal(got_grad, q.grad.numpy())
    assert len([w for w in caught if "runs eagerly" in str(w.message)]) == 1


def _clipped(compiled):
    """A step with clipping and a scheduler inside: losses, parameters and the final rate."""
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    opt = optim.SGD(model.parameters(), lr=0.5)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    def step(x, y):
        model.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
        opt.step()
        sched.step()
        return loss

    fn = cr.compile(step) if compiled else step
    losses = [fn(x * 3, y).item() for x, y in _batches(8, (16, 4), _targets((2,)))]
    return losses, [p.numpy().copy() for p in model.parameters()], opt.param_groups[0]["lr"], fn


def test_host_calls_clipping_and_scheduler():
    losses, params, lr, _ = _clipped(False)
    compiled_losses, compiled_params, compiled_lr, fn = _clipped(True)
    assert compiled_losses == losses
    assert all(np.array_equal(a, b) for a, b in zip(params, compiled_params))
    assert compiled_lr == lr == 0.5 * 0.5 ** 4
    assert fn.traces == 1 and fn.disabled is None


def _accumulating(compiled):
    """Gradients accumulated over two halves (zeroed in place), a second backward through a
    retained graph, and autograd.grad: the returned gradients and the final weights."""
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1))
    opt = optim.Adam(model.parameters(), lr=0.01)

    def step(x, y):
        opt.zero_grad(set_to_none=False)
        for half in (slice(0, 8), slice(8, 16)):
            loss = nn.functional.mse_loss(model(x[half]), y[half])
            loss.backward(retain_graph=True)
        (loss * 0.5).backward()
        grads = cr.autograd.grad(nn.functional.mse_loss(model(x), y), list(model.parameters()))
        opt.step()
        return loss, grads

    fn = cr.compile(step) if compiled else step
    out = [fn(x, y) for x, y in _batches(5, (16, 4), _targets((1,)))]
    values = [(loss.item(), [g.numpy().copy() for g in grads]) for loss, grads in out]
    return values, [p.numpy().copy() for p in model.parameters()], fn


def test_accumulation_retained_graphs_and_autograd_grad():
    values, params, _ = _accumulating(False)
    compiled_values, compiled_params, fn = _accumulating(True)
    for (loss, grads), (compiled_loss, compiled_grads) in zip(values, compiled_values):
        assert loss == compiled_loss
        assert all(np.array_equal(a, b) for a, b in zip(grads, compiled_grads))
    assert all(np.array_equal(a, b) for a, b in zip(params, compiled_params))
    assert fn.traces == 1 and fn.disabled is None


def test_replays_do_not_grow_memory():
    make, loss_fn, x_shape, y_of = MODELS["lenet"]
    cr.manual_seed(0)
    model = make()
    step = cr.compile(_step(model, _sgd(model), loss_fn))
    batches = _batches(2, x_shape, y_of)

    def arrays_and_objects():
        gc.collect()
        numpy_domain = tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)
        traces = tracemalloc.take_snapshot().filter_traces([numpy_domain])
        return sum(t.size for t in traces.traces), len(gc.get_objects())

    tracemalloc.start()
    try:
        for i in range(20):
            step(*batches[i % 2])
        arrays, objects = arrays_and_objects()
        for i in range(200):
            step(*batches[i % 2])
        arrays_after, objects_after = arrays_and_objects()
    finally:
        tracemalloc.stop()
    assert arrays_after - arrays <= 0
    assert objects_after - objects < 20
    assert step.traces == 1


def test_trainer_compile_gives_the_same_history():
    X, y = cr.datasets.make_blobs(100, centers=3, cluster_std=2.0, seed=0)
    histories = []
    for compiled in (False, True):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
        trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), 0.01),
                          metrics=["accuracy"], compile=compiled)
        histories.append(trainer.fit((X, y), epochs=3, batch_size=32, seed=1, verbose=0).history)
    assert histories[0] == histories[1]


@pytest.mark.parametrize("name", ["sort", "topk", "argsort", "count_nonzero", "nonzero",
                                  "unique"])
def test_orders_and_selections_follow_the_values_at_every_call(name):
    """sort/topk/argsort/count_nonzero run again at each replay (as argmax); nonzero and unique,
    whose result's size depends on the values, make the call run eagerly."""
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    weights = cr.tensor([1.0, 10.0, 100.0])
    reads = {
        "sort": lambda y: (cr.sort(y).values * weights).sum() + cr.sort(y, 0, True).indices[0],
        "topk": lambda y: cr.topk(y, 2).values.sum() + cr.topk(y, 1, largest=False).indices[0],
        "argsort": lambda y: y[cr.argsort(y)[0]] + cr.argsort(y, descending=True)[0],
        "count_nonzero": lambda y: cr.count_nonzero(y > 1.5) + y.sum(),
        "nonzero": lambda y: cr.nonzero(y > 1.5).sum() + y.sum(),
        "unique": lambda y: cr.unique(y.detach()).sum() * y.sum(),
    }

    def step(x):
        out = reads[name](x * w)
        out.backward()
        return out

    compiled = cr.compile(step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x in ([3.0, 1.0, 2.0], [3.0, 1.0, 2.0], [1.0, 5.0, 0.1], [1.0, 5.0, 0.1]):
            w.grad = None
            got, got_grad = compiled(cr.tensor(x)).item(), w.grad.numpy().copy()
            w.grad = None
            assert got == step(cr.tensor(x)).item()
            np.testing.assert_array_equal(got_grad, w.grad.numpy())

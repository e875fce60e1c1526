"""The GPT language model: shapes, causality, weight tying, sampling, attention maps, the
looking-inside tools on it, and parity with the same model written with PyTorch."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.analysis import gradient_flow, hessian_eigenvalues
from chainrule.models import GPT
from chainrule.models.gpt import causal_mask, sequence_cross_entropy


def tiny(vocab=11, block_size=8, n_layer=1, n_head=2, n_embd=16, seed=0, **kw):
    cr.manual_seed(seed)
    return GPT(vocab, block_size=block_size, n_layer=n_layer, n_head=n_head, n_embd=n_embd, **kw)


def tokens(shape, vocab=11, seed=0):
    return cr.tensor(np.random.default_rng(seed).integers(0, vocab, shape))


def test_shapes_parameter_count_and_tied_weights():
    V, T, L, d = 11, 8, 2, 16
    model = tiny(V, T, L, n_embd=d)
    assert tuple(model(tokens((3, 5))).shape) == (3, 5, V)
    assert model.lm_head.weight is model.wte.weight                    # one Parameter
    per_block = (2 * 2 * d) + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) \
        + (4 * d * d + d)                       # two LayerNorms, attention, MLP
    expected = V * d + T * d + L * per_block + 2 * d                   # + final LayerNorm
    assert model.num_parameters() == expected
    untied = tiny(V, T, L, n_embd=d, tie_weights=False)
    assert untied.num_parameters() == expected + V * d
    assert model.blocks[0].attn.batch_first and isinstance(model.blocks[0].mlp[1], nn.GELU)
    with pytest.raises(ValueError, match="longer than block_size"):
        model(tokens((1, T + 1)))
    with pytest.raises(ValueError, match="multiple of n_head"):
        GPT(V, n_head=3, n_embd=16)


def test_no_position_sees_the_future():
    model = tiny(n_layer=2)
    x = tokens((2, 8)).numpy()
    base = model(cr.tensor(x)).numpy()
    for t in (0, 3, 7):
        changed = x.copy()
        changed[:, t] = (changed[:, t] + 1) % 11
        out = model(cr.tensor(changed)).numpy()
        np.testing.assert_allclose(out[:, :t], base[:, :t], atol=1e-6)   # the past is the same
        assert not np.allclose(out[:, t:], base[:, t:])                 # from t on it changes
    assert causal_mask(3).tolist() == [[False, True, True], [False, False, True],
                                       [False, False, False]]


def test_loss_starts_near_log_v_and_equals_the_mean_over_positions():
    model = tiny(vocab=50)
    x, y = tokens((4, 8), 50, seed=1), tokens((4, 8), 50, seed=2)
    loss = model.loss(x, y)
    assert abs(loss.item() - math.log(50)) < 0.1                # small initial weights
    logits = model(x)
    by_hand = np.mean([cr.nn.functional.cross_entropy(logits[b], y[b]).item() for b in range(4)])
    assert loss.item() == pytest.approx(by_hand, rel=1e-5)
    with pytest.raises(ValueError, match=r"\(B, T, V\)"):
        sequence_cross_entropy(logits[0], y[0])


def test_learns_a_repeating_text():
    text = "abcde" * 40
    ids = np.array([ord(c) - ord("a") for c in text])
    x = cr.tensor(np.stack([ids[i:i + 8] for i in range(0, 150, 5)]))
    y = cr.tensor(np.stack([ids[i + 1:i + 9] for i in range(0, 150, 5)]))
    model = tiny(vocab=5, n_embd=32)
    opt = cr.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        loss = model.loss(x, y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    out = model.generate(cr.tensor([[0, 1]]), 10, temperature=0).numpy()[0]
    assert "".join(chr(ord("a") + i) for i in out) == "abcdeabcdeab"


def test_generate_crops_the_context_is_seeded_and_leaves_no_graph():
    model = tiny(block_size=4)
    model.train()
    prompt = tokens((2, 6))
    a = model.generate(prompt, 7, temperature=0.8, top_k=3, generator=np.random.default_rng(5))
    b = model.generate(prompt, 7, temperature=0.8, top_k=3, generator=np.random.default_rng(5))
    assert tuple(a.shape) == (2, 13) and a.dtype == cr.int64 and not a.requires_grad
    assert a.tolist() == b.tolist() and a.numpy()[:, :6].tolist() == prompt.tolist()
    assert model.training                                         # mode restored
    greedy = model.generate(prompt, 5, temperature=0).numpy()
    top1 = model.generate(prompt, 5, temperature=2.0, top_k=1).numpy()
    np.testing.assert_array_equal(greedy, top1)
    with pytest.raises(ValueError, match="temperature"):
        model.generate(prompt, 1, temperature=-1.0)


def test_top_k_keeps_only_the_k_likeliest_tokens():
    from chainrule.models.gpt import _sample

    logits = np.array([[0.0, 5.0, 1.0, 4.0, -2.0]])
    rng = np.random.default_rng(0)
    drawn = {int(_sample(logits, 10.0, 2, rng)[0]) for _ in range(200)}
    assert drawn == {1, 3}
    counts = np.bincount([int(_sample(logits, 1.0, None, rng)[0]) for _ in range(4000)],
                         minlength=5) / 4000
    p = np.exp(logits[0]) / np.exp(logits[0]).sum()
    np.testing.assert_allclose(counts, p, atol=0.03)


def test_attention_maps_are_causal_distributions_per_head():
    model = tiny(n_layer=2, n_head=2)
    maps = model.attention_maps(tokens((6,)))
    assert len(maps) == 2 and maps[0].shape == (2, 6, 6)
    for a in maps:
        np.testing.assert_allclose(a.sum(-1), 1.0, rtol=1e-5)
        assert np.all(np.triu(a, k=1) == 0)
    batch = model.attention_maps(tokens((3, 6)))
    assert batch[1].shape == (3, 2, 6, 6)
    dropped = tiny(n_layer=1, dropout=0.5)
    dropped.train()
    a, b = (dropped.attention_maps(tokens((6,)))[0] for _ in range(2))
    np.testing.assert_array_equal(a, b)                     # no dropout in the pictures
    assert dropped.training


def test_gradients_flow_through_every_block():
    model = tiny(n_layer=3, n_embd=16)
    model.loss(tokens((4, 8)), tokens((4, 8), seed=1)).backward()
    flow = gradient_flow(model)
    assert "blocks.0.attn.in_proj_weight" in flow.names and "wte.weight" in flow.names
    assert np.all(np.isfinite(flow.grad_norm)) and np.all(flow.grad_norm > 0)
    first = flow.grad_norm[flow.names.index("blocks.0.mlp.0.weight")]
    last = flow.grad_norm[flow.names.index("blocks.2.mlp.0.weight")]
    assert 0.1 < first / last < 10          # the residual stream keeps the gradients alive


def test_top_hessian_eigenvalue_of_a_tiny_gpt_is_finite_and_repeatable():
    model = tiny(n_layer=1, n_embd=16).to(cr.float64)
    batch = (tokens((4, 8)), tokens((4, 8), seed=1))
    values = [hessian_eigenvalues(model, sequence_cross_entropy, batch, k=1, method="power",
                                  seed=0, tol=1e-6)[0] for _ in range(2)]
    assert np.isfinite(values[0]) and values[0] == pytest.approx(values[1], rel=1e-5)
    assert abs(values[0]) > 1e-3


def test_logits_match_the_same_model_written_with_pytorch():
    torch = pytest.importorskip("torch")
    model = tiny(n_layer=2, n_head=2, n_embd=16)
    reference = _torch_gpt(torch, model)
    x = tokens((3, 8))
    ours = model(x).numpy()
    with torch.no_grad():
        theirs = reference(torch.from_numpy(x.numpy())).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def _torch_gpt(torch, model):
    """The same architecture from torch.nn modules, with ``model``'s weights."""
    tnn = torch.nn
    d, T = model.n_embd, model.block_size

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = tnn.LayerNorm(d), tnn.LayerNorm(d)
            self.attn = tnn.MultiheadAttention(d, model.n_head, batch_first=True)
            self.mlp = tnn.Sequential(tnn.Linear(d, 4 * d), tnn.GELU(), tnn.Linear(4 * d, d))

        def forward(self, x):
            h = self.ln_1(x)
            mask = torch.triu(torch.ones(x.shape[1], x.shape[1], dtype=torch.bool), 1)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False, is_causal=True)[0]
            return x + self.mlp(self.ln_2(x))

    class Reference(tnn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = tnn.Embedding(model.vocab_size, d), tnn.Embedding(T, d)
            self.blocks = tnn.ModuleList(Block() for _ in range(model.n_layer))
            self.ln_f = tnn.LayerNorm(d)

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.ln_f(x) @ self.wte.weight.T

    reference = Reference()
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()
             if k != "lm_head.weight"}
    reference.load_state_dict(state)
    return reference.eval()

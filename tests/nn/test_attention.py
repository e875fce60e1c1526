"""F.scaled_dot_product_attention and nn.MultiheadAttention: the formula, first and second
derivatives, masks, fully masked rows, parameters and initialisation, and error messages."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.nn import functional as F


def f64(*shape, seed=0, requires_grad=True):
    data = np.random.default_rng(seed).standard_normal(shape)
    return cr.tensor(data, dtype=np.float64, requires_grad=requires_grad)


def reference(q, k, v, mask=None, scale=None):
    """softmax(Q K^T * scale + M) V in NumPy."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale
    if mask is not None:
        scores = np.where(mask, scores, -np.inf) if mask.dtype == bool else scores + mask
    e = np.exp(scores - scores.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True) @ v


# ---- scaled_dot_product_attention ------------------------------------------------------------
def test_sdpa_matches_the_formula():
    q, k, v = f64(2, 3, 4, 5), f64(2, 3, 6, 5, seed=1), f64(2, 3, 6, 2, seed=2)
    out = F.scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 4, 2)
    np.testing.assert_allclose(out.numpy(), reference(q.numpy(), k.numpy(), v.numpy()),
                               rtol=1e-12)


def test_sdpa_causal_is_the_lower_triangular_mask():
    q, k, v = f64(2, 4, 3), f64(2, 6, 3, seed=1), f64(2, 6, 3, seed=2)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    want = reference(q.numpy(), k.numpy(), v.numpy(), np.tri(4, 6, dtype=bool))
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-12)


def test_sdpa_bool_and_float_masks_agree():
    q, k, v = f64(3, 4, 5), f64(3, 6, 5, seed=1), f64(3, 6, 5, seed=2)
    keep = np.random.default_rng(3).random((4, 6)) > 0.4
    keep[:, 0] = True
    out_bool = F.scaled_dot_product_attention(q, k, v, attn_mask=cr.tensor(keep))
    out_float = F.scaled_dot_product_attention(q, k, v, attn_mask=np.where(keep, 0.0, -np.inf))
    np.testing.assert_allclose(out_bool.numpy(), out_float.numpy(), rtol=1e-12)
    np.testing.assert_allclose(out_bool.numpy(), reference(q.numpy(), k.numpy(), v.numpy(),
                                                           keep), rtol=1e-12)


def test_sdpa_fully_masked_row_gives_zero_and_no_nan_gradient():
    q, k, v = f64(2, 3, 4), f64(2, 5, 4, seed=1), f64(2, 5, 4, seed=2)
    keep = np.ones((3, 5), dtype=bool)
    keep[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    assert np.all(out.numpy()[:, 1] == 0.0)
    out.sum().backward()
    for t in (q, k, v):
        assert np.isfinite(t.grad.numpy()).all()
    assert np.all(q.grad.numpy()[:, 1] == 0.0)


@pytest.mark.parametrize("options", [
    {}, {"is_causal": True}, {"scale": 0.7},
    {"attn_mask": np.array([[True, False, True, True, False]] * 3)},
    {"attn_mask": np.array([[True] * 5, [False] * 5, [True, False] * 2 + [True]])},
    {"attn_mask": np.random.default_rng(5).standard_normal((2, 1, 3, 5))},
], ids=["plain", "causal", "scale", "bool", "dead-row", "float"])
def test_sdpa_gradcheck_and_gradgradcheck(options):
    q, k, v = f64(2, 2, 3, 4), f64(2, 2, 5, 4, seed=1), f64(2, 2, 5, 3, seed=2)

    def fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, **options)

    assert gradcheck(fn, (q, k, v))
    assert gradgradcheck(fn, (q, k, v))


@pytest.mark.parametrize("options", [
    {}, {"is_causal": True},
    {"attn_mask": np.array([[True] * 5, [False] * 5, [True, False] * 2 + [True]])},
    {"attn_mask": np.random.default_rng(5).standard_normal((2, 1, 3, 5))},
], ids=["plain", "causal", "dead-row", "float"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_attention_node_equals_the_composition(options, dtype):
    """need_weights=False runs one Attention node; the weights path runs the composition."""
    from chainrule.nn.functional_attention import attention_with_weights

    results = []
    for need_weights in (False, True):
        q, k, v = (cr.tensor(f64(2, 2, *shape, seed=seed).numpy(), dtype=dtype,
                             requires_grad=True)
                   for shape, seed in (((3, 4), 0), ((5, 4), 1), ((5, 3), 2)))
        out, weights = attention_with_weights(q, k, v, need_weights=need_weights, **options)
        assert (weights is None) == (not need_weights)
        assert (out.grad_fn.name == "Attention") == (not need_weights)
        (out * cr.tensor(np.arange(out.numel(), dtype=dtype).reshape(out.shape))).sum().backward()
        results.append([out.numpy()] + [t.grad.numpy() for t in (q, k, v)])
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for fused, composed in zip(*results):
        assert fused.dtype == dtype
        np.testing.assert_allclose(fused, composed, rtol=tol, atol=tol)


def test_sdpa_float_mask_tensor_gets_a_gradient():
    q, k, v, mask = f64(3, 4), f64(5, 4, seed=1), f64(5, 2, seed=2), f64(3, 5, seed=3)
    assert gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
                     (q, k, v, mask))


def test_sdpa_grouped_query_attention_repeats_key_heads():
    q, k, v = f64(2, 4, 3, 5), f64(2, 2, 6, 5, seed=1), f64(2, 2, 6, 5, seed=2)
    out = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    want = reference(q.numpy(), np.repeat(k.numpy(), 2, axis=1), np.repeat(v.numpy(), 2, 1))
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-12)
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                     (q, k, v))


def test_sdpa_dropout_keeps_the_expectation_and_zero_p_is_exact():
    q, k, v = f64(64, 4, 3), f64(64, 6, 3, seed=1), f64(64, 6, 3, seed=2)
    plain = F.scaled_dot_product_attention(q, k, v).numpy()
    cr.manual_seed(0)
    dropped = np.mean([F.scaled_dot_product_attention(q, k, v, dropout_p=0.3).numpy()
                       for _ in range(200)], axis=0)
    assert np.abs(dropped - plain).mean() < 0.05
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)
                                  .numpy(), plain)


def test_sdpa_errors_name_the_function_and_shapes():
    q, k, v = f64(2, 3, 4), f64(2, 5, 4, seed=1), f64(2, 5, 4, seed=2)
    with pytest.raises(RuntimeError, match="attn_mask should not be set when is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), bool), is_causal=True)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 5\).*\(2, 3, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), bool))
    with pytest.raises(ValueError, match=r"same last dim E.*\(2, 3, 4\).*\(2, 5, 3\)"):
        F.scaled_dot_product_attention(q, f64(2, 5, 3), v)
    with pytest.raises(ValueError, match=r"same length S.*\(2, 6, 4\)"):
        F.scaled_dot_product_attention(q, k, f64(2, 6, 4))
    with pytest.raises(TypeError, match="same dtype"):
        F.scaled_dot_product_attention(q, k, v.float())
    with pytest.raises(TypeError, match="boolean or floating"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), np.int64))
    with pytest.raises(ValueError, match="multiple of the key/value heads"):
        F.scaled_dot_product_attention(f64(1, 3, 2, 4), f64(1, 2, 2, 4), f64(1, 2, 2, 4),
                                       enable_gqa=True)


# ---- MultiheadAttention ----------------------------------------------------------------------
def test_mha_parameters_and_initialisation():
    mha = nn.MultiheadAttention(12, 3)
    shapes = {name: p.shape for name, p in mha.named_parameters()}
    assert shapes == {"in_proj_weight": (36, 12), "in_proj_bias": (36,),
                      "out_proj.weight": (12, 12), "out_proj.bias": (12,)}
    assert mha.head_dim == 4 and mha.q_proj_weight is None and mha.bias_k is None
    bound = math.sqrt(6.0 / (36 + 12))  # xavier_uniform_ of a (3E, E) matrix
    assert np.abs(mha.in_proj_weight.numpy()).max() <= bound
    assert not mha.in_proj_bias.numpy().any() and not mha.out_proj.bias.numpy().any()


def test_mha_separate_projections_and_bias_kv():
    mha = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True, bias=False)
    shapes = {name: p.shape for name, p in mha.named_parameters()}
    assert shapes == {"q_proj_weight": (8, 8), "k_proj_weight": (8, 3), "v_proj_weight": (8, 5),
                      "bias_k": (1, 1, 8), "bias_v": (1, 1, 8), "out_proj.weight": (8, 8)}
    assert mha.in_proj_weight is None and mha.in_proj_bias is None
    out, weights = mha(cr.randn(4, 2, 8), cr.randn(6, 2, 3), cr.randn(6, 2, 5))
    assert out.shape == (4, 2, 8) and weights.shape == (2, 4, 7)


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_shapes_and_weights(batch_first):
    mha = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    q = cr.randn(*((2, 4, 8) if batch_first else (4, 2, 8)))
    kv = cr.randn(*((2, 6, 8) if batch_first else (6, 2, 8)))
    out, weights = mha(q, kv, kv)
    assert out.shape == q.shape and weights.shape == (2, 4, 6)
    np.testing.assert_allclose(weights.numpy().sum(-1), 1.0, rtol=1e-5)
    out, per_head = mha(q, kv, kv, average_attn_weights=False)
    assert per_head.shape == (2, 2, 4, 6)
    np.testing.assert_allclose(per_head.numpy().mean(1), weights.numpy(), rtol=1e-5)
    assert mha(q, kv, kv, need_weights=False)[1] is None
    out, weights = mha(q[0] if batch_first else q[:, 0], kv[0] if batch_first else kv[:, 0],
                       kv[0] if batch_first else kv[:, 0])
    assert out.shape == (4, 8) and weights.shape == (4, 6)


def test_mha_key_padding_mask_ignores_padded_keys():
    mha = nn.MultiheadAttention(8, 2, batch_first=True).double()
    x = f64(2, 5, 8)
    pad = np.array([[False, False, False, True, True]] * 2)
    out, weights = mha(x, x, x, key_padding_mask=pad)
    assert np.all(weights.numpy()[..., 3:] == 0.0)
    changed = x.numpy().copy()
    changed[:, 3:] += 10.0
    out2, _ = mha(x, cr.tensor(changed, dtype=np.float64), cr.tensor(changed, dtype=np.float64),
                  key_padding_mask=pad)
    np.testing.assert_allclose(out.numpy(), out2.numpy(), rtol=1e-12)


def test_mha_fully_padded_sequence_gives_the_output_bias_without_nan():
    mha = nn.MultiheadAttention(8, 2, batch_first=True).double()
    nn.init.normal_(mha.out_proj.bias)
    x = f64(2, 3, 8)
    pad = np.array([[False, True, True], [True, True, True]])
    out, weights = mha(x, x, x, key_padding_mask=pad)
    np.testing.assert_allclose(out.numpy()[1], np.tile(mha.out_proj.bias.numpy(), (3, 1)))
    assert np.all(weights.numpy()[1] == 0.0)
    out.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_mha_gradcheck_with_masks():
    mha = nn.MultiheadAttention(4, 2, kdim=3, vdim=2).double()
    q, k, v = f64(3, 2, 4), f64(5, 2, 3, seed=1), f64(5, 2, 2, seed=2)
    pad = np.array([[False, False, False, True, True], [False, True, False, False, False]])
    causal = nn.Transformer.generate_square_subsequent_mask(5, dtype=np.float64)[:3]

    def fn(q, k, v):
        return mha(q, k, v, key_padding_mask=pad, attn_mask=causal)

    assert gradcheck(fn, (q, k, v))
    assert gradgradcheck(fn, (q, k, v))


def test_mha_dropout_only_in_training():
    mha = nn.MultiheadAttention(8, 2, dropout=0.5).double()
    x = f64(4, 2, 8)
    cr.manual_seed(0)
    a, b = mha(x, x, x)[1], mha(x, x, x)[1]
    assert not np.allclose(a.numpy(), b.numpy())
    mha.eval()
    np.testing.assert_array_equal(mha(x, x, x)[0].numpy(), mha(x, x, x)[0].numpy())


def test_mha_errors_name_the_class_and_shapes():
    with pytest.raises(ValueError, match=r"MultiheadAttention: embed_dim \(10\) must be "
                                         r"divisible by num_heads \(4\)"):
        nn.MultiheadAttention(10, 4)
    with pytest.raises(ValueError, match="greater than 0"):
        nn.MultiheadAttention(0, 1)
    mha = nn.MultiheadAttention(8, 2)
    x = cr.randn(3, 2, 8)
    with pytest.raises(ValueError, match=r"MultiheadAttention\(embed_dim=8, num_heads=2\): "
                                         r"query has 6 features, expected 8.*\(3, 2, 6\)"):
        mha(cr.randn(3, 2, 6), x, x)
    with pytest.raises(ValueError, match=r"key has 5 features"):
        mha(x, cr.randn(3, 2, 5), x)
    with pytest.raises(ValueError, match="3-D \\(batched\\) or 2-D"):
        mha(cr.randn(2, 3, 2, 8), x, x)
    with pytest.raises(ValueError, match="same batch size"):
        mha(x, cr.randn(3, 4, 8), cr.randn(3, 4, 8))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(2, 3\).*\(2, 4\)"):
        mha(x, x, x, key_padding_mask=np.zeros((2, 4), bool))
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(3, 3\).*\(4, 3, 3\)"
                                         r".*got \(2, 3\)"):
        mha(x, x, x, attn_mask=np.zeros((2, 3), bool))
    with pytest.raises(RuntimeError, match="need attn_mask if specifying the is_causal hint"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(TypeError, match="query dtype float64 does not match weight dtype"):
        mha(x.double(), x, x)


def test_mha_loads_its_own_state_dict():
    a, b = nn.MultiheadAttention(8, 2, add_bias_kv=True), nn.MultiheadAttention(8, 2,
                                                                                add_bias_kv=True)
    b.load_state_dict(a.state_dict())
    x = cr.randn(3, 2, 8)
    np.testing.assert_array_equal(a(x, x, x)[0].numpy(), b(x, x, x)[0].numpy())

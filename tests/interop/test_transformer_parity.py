"""PyTorch parity of attention and the Transformer: a torch state_dict loads into chainrule and
gives the same outputs, attention weights and gradients (inputs and every parameter) in
float64."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.nn import functional as F  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
RTOL, ATOL = 1e-10, 1e-12
E, H = 8, 2


def twins(ours, theirs, *args, **kwargs):
    """A torch module and a chainrule module holding the same (torch-initialised) weights."""
    torch.manual_seed(0)
    t_mod = theirs(*args, **kwargs).double()
    c_mod = ours(*args, **kwargs, dtype=np.float64)
    t_state = t_mod.state_dict()
    assert set(c_mod.state_dict()) == set(t_state)
    c_mod.load_state_dict({k: v.detach().numpy() for k, v in t_state.items()})
    return c_mod, t_mod


def to_lib(value, lib):
    if isinstance(value, np.ndarray):
        return cr.tensor(value, dtype=value.dtype) if lib is cr else torch.tensor(value)
    return value


def compare(c_mod, t_mod, arrays, call, **options):
    """Run ``call(module, inputs, options)`` in both libraries, weigh every output randomly,
    back-propagate, and compare outputs, input gradients and parameter gradients."""
    c_in = [cr.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    c_out = call(c_mod, c_in, {k: to_lib(v, cr) for k, v in options.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: mismatched mask types, nested tensors
        t_out = call(t_mod, t_in, {k: to_lib(v, torch) for k, v in options.items()})
    c_out = [o for o in (c_out if isinstance(c_out, tuple) else (c_out,)) if o is not None]
    t_out = [o for o in (t_out if isinstance(t_out, tuple) else (t_out,)) if o is not None]
    assert len(c_out) == len(t_out)
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(tuple(t.shape)) for t in t_out]
    sum((c * cr.tensor(w, dtype=np.float64)).sum() for c, w in zip(c_out, weights)).backward()
    sum((t * torch.tensor(w)).sum() for t, w in zip(t_out, weights)).backward()
    for c, t in zip(c_out, t_out):
        assert c.shape == tuple(t.shape)
        np.testing.assert_allclose(c.numpy(), t.detach().numpy(), rtol=RTOL, atol=ATOL)
    for i, (c, t) in enumerate(zip(c_in, t_in)):
        if t.grad is not None:
            np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=RTOL, atol=ATOL,
                                       err_msg=f"input {i}")
    t_params = dict(t_mod.named_parameters())
    for name, p in c_mod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), rtol=RTOL,
                                   atol=ATOL, err_msg=name)


def randn(*shape, seed=0):
    return np.random.default_rng(seed + len(shape) + sum(shape)).standard_normal(shape)


def attend(kind):
    """The call of a MultiheadAttention: self-attention (one input), query + memory, or three."""
    def call(mod, xs, options):
        if kind == "self":
            q = k = v = xs[0]
        elif kind == "kv":
            q, k, v = xs[0], xs[1], xs[1]
        else:
            q, k, v = xs
        return mod(q, k, v, **options)
    return call


# ---- scaled_dot_product_attention ------------------------------------------------------------
KEEP = np.array([[True, False, True, True, False, True]] * 4)
KEEP[1] = False  # a query with no key: output 0, no gradient


@pytest.mark.parametrize("options", [
    {}, {"is_causal": True}, {"attn_mask": KEEP}, {"attn_mask": np.where(KEEP, 0.0, -np.inf)},
    {"attn_mask": randn(2, 1, 4, 6)}, {"scale": 0.3},
], ids=["plain", "causal", "bool", "float-inf", "float-batch", "scale"])
def test_sdpa_parity(options):
    arrays = [randn(2, 3, 4, 5), randn(2, 3, 6, 5), randn(2, 3, 6, 3)]
    c_in = [cr.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    c_out = F.scaled_dot_product_attention(*c_in, **{k: to_lib(v, cr) for k, v in
                                                     options.items()})
    t_out = torch.nn.functional.scaled_dot_product_attention(
        *t_in, **{k: to_lib(v, torch) for k, v in options.items()})
    w = randn(*t_out.shape, seed=3)
    (c_out * cr.tensor(w, dtype=np.float64)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=RTOL, atol=ATOL)
    for c, t in zip(c_in, t_in):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_sdpa_grouped_query_parity():
    q, k, v = randn(2, 4, 3, 5), randn(2, 2, 6, 5), randn(2, 2, 6, 5)
    c = F.scaled_dot_product_attention(*(cr.tensor(a, dtype=np.float64) for a in (q, k, v)),
                                       is_causal=True, enable_gqa=True)
    t = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(a) for a in (q, k, v)), is_causal=True, enable_gqa=True)
    np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=RTOL, atol=ATOL)


# ---- MultiheadAttention ----------------------------------------------------------------------
PAD = np.array([[False, False, False, True, True], [False, True, False, False, False]])
BANNED = np.array([[False, True, False, False, True], [False, False, True, True, False],
                   [False, False, False, True, True]])
CAUSAL3 = np.triu(np.full((3, 3), -np.inf), 1)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("kind", ["self", "kv", "qkv"])
def test_mha_parity(kind, need_weights, average, batch_first):
    c_mod, t_mod = twins(nn.MultiheadAttention, torch.nn.MultiheadAttention, E, H,
                         batch_first=batch_first)
    shape = (lambda length: (2, length, E)) if batch_first else (lambda length: (length, 2, E))
    arrays = {"self": [randn(*shape(3))], "kv": [randn(*shape(3)), randn(*shape(5))],
              "qkv": [randn(*shape(3)), randn(*shape(5)), randn(*shape(5), seed=1)]}[kind]
    compare(c_mod, t_mod, arrays, attend(kind), need_weights=need_weights,
            average_attn_weights=average)


@pytest.mark.parametrize("options", [
    {"key_padding_mask": PAD},
    {"attn_mask": BANNED},
    {"attn_mask": np.where(BANNED, -np.inf, 0.0)},
    {"attn_mask": randn(3, 5)},
    {"attn_mask": randn(2 * H, 3, 5)},
    {"key_padding_mask": PAD, "attn_mask": BANNED},
    {"key_padding_mask": PAD, "attn_mask": randn(3, 5)},
    {"key_padding_mask": np.where(PAD, -np.inf, 0.0), "attn_mask": randn(2 * H, 3, 5)},
], ids=["kpm", "bool", "float-inf", "float", "float-3d", "kpm+bool", "kpm+float", "fkpm+3d"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_mask_parity(options, need_weights):
    c_mod, t_mod = twins(nn.MultiheadAttention, torch.nn.MultiheadAttention, E, H)
    compare(c_mod, t_mod, [randn(3, 2, E), randn(5, 2, E), randn(5, 2, E, seed=1)],
            attend("qkv"), need_weights=need_weights, **options)


@pytest.mark.parametrize("mask", [CAUSAL3, np.triu(np.ones((3, 3), dtype=bool), 1)],
                         ids=["float", "bool"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_causal_parity(mask, need_weights):
    c_mod, t_mod = twins(nn.MultiheadAttention, torch.nn.MultiheadAttention, E, H,
                         batch_first=True)
    compare(c_mod, t_mod, [randn(2, 3, E)], attend("self"), attn_mask=mask, is_causal=True,
            need_weights=need_weights)


@pytest.mark.parametrize("kwargs", [
    {"kdim": 3, "vdim": 5}, {"kdim": 3}, {"bias": False}, {"add_bias_kv": True},
    {"add_zero_attn": True}, {"add_bias_kv": True, "add_zero_attn": True, "kdim": 3},
], ids=["kdim-vdim", "kdim", "no-bias", "bias-kv", "zero-attn", "all"])
def test_mha_options_parity(kwargs):
    c_mod, t_mod = twins(nn.MultiheadAttention, torch.nn.MultiheadAttention, E, H, **kwargs)
    kdim, vdim = kwargs.get("kdim", E), kwargs.get("vdim", E)
    compare(c_mod, t_mod, [randn(3, 2, E), randn(5, 2, kdim), randn(5, 2, vdim, seed=1)],
            attend("qkv"), key_padding_mask=PAD, attn_mask=BANNED)


@pytest.mark.parametrize("options", [{}, {"key_padding_mask": PAD[0]},
                                     {"attn_mask": randn(H, 3, 5)},
                                     {"attn_mask": BANNED, "average_attn_weights": False}],
                         ids=["plain", "kpm", "mask-3d", "per-head"])
def test_mha_unbatched_parity(options):
    c_mod, t_mod = twins(nn.MultiheadAttention, torch.nn.MultiheadAttention, E, H)
    compare(c_mod, t_mod, [randn(3, E), randn(5, E), randn(5, E, seed=1)], attend("qkv"),
            **options)


def test_mha_fully_masked_rows_match_torch_without_weights():
    """All keys of a batch element padded: PyTorch's attention path gives out_proj.bias."""
    c_mod, t_mod = twins(nn.MultiheadAttention, torch.nn.MultiheadAttention, E, H)
    with torch.no_grad():
        t_mod.out_proj.bias.normal_()
    c_mod.load_state_dict({k: v.numpy() for k, v in t_mod.state_dict().items()})
    pad = PAD.copy()
    pad[1] = True
    compare(c_mod, t_mod, [randn(3, 2, E), randn(5, 2, E), randn(5, 2, E, seed=1)],
            attend("qkv"), key_padding_mask=pad, need_weights=False)


def test_mha_eval_with_dropout_parity():
    c_mod, t_mod = twins(nn.MultiheadAttention, torch.nn.MultiheadAttention, E, H, dropout=0.5)
    c_mod.eval()
    t_mod.eval()
    compare(c_mod, t_mod, [randn(3, 2, E)], attend("self"))


# ---- Transformer layers ----------------------------------------------------------------------
LAYER_CONFIGS = [(norm_first, activation, mode) for norm_first in (False, True)
                 for activation in ("relu", "gelu") for mode in ("train", "eval")]


def layer_twins(ours, theirs, norm_first, activation, mode, batch_first=False, **kwargs):
    c_mod, t_mod = twins(ours, theirs, E, H, dim_feedforward=16, dropout=0.0,
                         activation=activation, norm_first=norm_first, batch_first=batch_first,
                         **kwargs)
    c_mod.train(mode == "train")
    t_mod.train(mode == "train")
    return c_mod, t_mod


def seq(length, batch_first, seed=0):
    return randn(2, length, E, seed=seed) if batch_first else randn(length, 2, E, seed=seed)


@pytest.mark.parametrize("norm_first, activation, mode", LAYER_CONFIGS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_parity(norm_first, activation, mode, batch_first):
    c_mod, t_mod = layer_twins(nn.TransformerEncoderLayer, torch.nn.TransformerEncoderLayer,
                               norm_first, activation, mode, batch_first)
    causal = np.triu(np.full((5, 5), -np.inf), 1)
    compare(c_mod, t_mod, [seq(5, batch_first)], lambda m, xs, o: m(xs[0], **o),
            src_mask=causal, src_key_padding_mask=PAD)
    compare(c_mod, t_mod, [seq(5, batch_first)], lambda m, xs, o: m(xs[0], **o),
            src_mask=causal, is_causal=True)


@pytest.mark.parametrize("norm_first, activation, mode", LAYER_CONFIGS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_parity(norm_first, activation, mode, batch_first):
    c_mod, t_mod = layer_twins(nn.TransformerDecoderLayer, torch.nn.TransformerDecoderLayer,
                               norm_first, activation, mode, batch_first)
    causal = np.triu(np.full((3, 3), -np.inf), 1)
    compare(c_mod, t_mod, [seq(3, batch_first), seq(5, batch_first, seed=1)],
            lambda m, xs, o: m(xs[0], xs[1], **o), tgt_mask=causal, tgt_is_causal=True,
            memory_key_padding_mask=PAD, memory_mask=BANNED)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_unbatched_and_custom_activation(norm_first):
    c_mod, t_mod = twins(nn.TransformerEncoderLayer, torch.nn.TransformerEncoderLayer, E, H,
                         dim_feedforward=16, dropout=0.0, norm_first=norm_first)
    c_mod.activation, t_mod.activation = cr.tanh, torch.tanh
    compare(c_mod, t_mod, [randn(5, E)], lambda m, xs, o: m(xs[0], **o),
            src_key_padding_mask=PAD[0])


def test_encoder_layer_inference_fast_path_parity():
    """Without gradients PyTorch runs its fused inference path; the values still agree."""
    c_mod, t_mod = layer_twins(nn.TransformerEncoderLayer, torch.nn.TransformerEncoderLayer,
                               False, "relu", "eval", batch_first=True)
    x = seq(5, True)
    with torch.no_grad():
        t_out = t_mod(torch.tensor(x))
    with cr.no_grad():
        c_out = c_mod(cr.tensor(x, dtype=np.float64))
    np.testing.assert_allclose(c_out.numpy(), t_out.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("norm_first, mode", [(False, "train"), (True, "eval")])
def test_stacks_parity(norm_first, mode):
    layer_kwargs = {"dim_feedforward": 16, "dropout": 0.0, "norm_first": norm_first}
    torch.manual_seed(0)
    t_enc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, H, **layer_kwargs),
                                        2, norm=torch.nn.LayerNorm(E)).double()
    t_dec = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(E, H, **layer_kwargs),
                                        2, norm=torch.nn.LayerNorm(E)).double()
    c_enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, **layer_kwargs,
                                                             dtype=np.float64),
                                  2, norm=nn.LayerNorm(E, dtype=np.float64))
    c_dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, **layer_kwargs,
                                                             dtype=np.float64),
                                  2, norm=nn.LayerNorm(E, dtype=np.float64))
    for c_mod, t_mod in ((c_enc, t_enc), (c_dec, t_dec)):
        assert set(c_mod.state_dict()) == set(t_mod.state_dict())
        c_mod.load_state_dict({k: v.numpy() for k, v in t_mod.state_dict().items()})
        c_mod.train(mode == "train")
        t_mod.train(mode == "train")
    causal = np.triu(np.full((5, 5), -np.inf), 1)
    compare(c_enc, t_enc, [randn(5, 2, E)], lambda m, xs, o: m(xs[0], **o), mask=causal,
            src_key_padding_mask=PAD)
    compare(c_dec, t_dec, [randn(3, 2, E), randn(5, 2, E, seed=1)],
            lambda m, xs, o: m(xs[0], xs[1], **o), tgt_mask=causal[:3, :3],
            memory_key_padding_mask=PAD)


@pytest.mark.parametrize("norm_first, activation, batch_first", [
    (False, "relu", False), (True, "gelu", True)])
def test_transformer_parity(norm_first, activation, batch_first):
    c_mod, t_mod = twins(nn.Transformer, torch.nn.Transformer, d_model=E, nhead=H,
                         num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16,
                         dropout=0.0, activation=activation, norm_first=norm_first,
                         batch_first=batch_first)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=np.float64).numpy()
    np.testing.assert_array_equal(
        tgt_mask, torch.nn.Transformer.generate_square_subsequent_mask(3).numpy())
    compare(c_mod, t_mod, [seq(5, batch_first), seq(3, batch_first, seed=1)],
            lambda m, xs, o: m(xs[0], xs[1], **o), tgt_mask=tgt_mask,
            src_key_padding_mask=PAD, memory_key_padding_mask=PAD)


def test_transformer_initialisation_statistics():
    """Same shapes and the same Xavier bound for every matrix as PyTorch."""
    torch.manual_seed(0)
    t_mod = torch.nn.Transformer(E, H, 1, 1, 16)
    c_mod = nn.Transformer(E, H, 1, 1, 16)
    t_params = dict(t_mod.named_parameters())
    for name, p in c_mod.named_parameters():
        assert p.shape == tuple(t_params[name].shape), name
        if p.ndim > 1:
            bound = np.sqrt(6.0 / (p.shape[0] + p.shape[1]))
            assert np.abs(p.numpy()).max() <= bound, name

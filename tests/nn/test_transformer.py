"""nn.TransformerEncoderLayer / DecoderLayer, the stacks, nn.Transformer, the positional
encodings and weight tying: shapes, names, causality, gradients, errors."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import gradcheck
from chainrule.nn import functional as F


def f64(*shape, seed=0, requires_grad=True):
    data = np.random.default_rng(seed).standard_normal(shape)
    return cr.tensor(data, dtype=np.float64, requires_grad=requires_grad)


def small(cls, **kwargs):
    options = {"dim_feedforward": 16, "dropout": 0.0, "dtype": np.float64}
    options.update(kwargs)
    return cls(8, 2, **options)


def test_encoder_layer_names_match_pytorch():
    names = [name for name, _ in small(nn.TransformerEncoderLayer).named_parameters()]
    assert names == ["self_attn.in_proj_weight", "self_attn.in_proj_bias",
                     "self_attn.out_proj.weight", "self_attn.out_proj.bias", "linear1.weight",
                     "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight",
                     "norm1.bias", "norm2.weight", "norm2.bias"]
    dec = [name for name, _ in small(nn.TransformerDecoderLayer).named_modules()]
    assert dec == ["", "self_attn", "self_attn.out_proj", "multihead_attn",
                   "multihead_attn.out_proj", "linear1", "dropout", "linear2", "norm1", "norm2",
                   "norm3", "dropout1", "dropout2", "dropout3"]


def test_bias_false_removes_every_bias():
    layer = small(nn.TransformerDecoderLayer, bias=False)
    assert not [n for n, _ in layer.named_parameters() if n.endswith("bias")]


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_layer_shapes(norm_first, batch_first):
    enc = small(nn.TransformerEncoderLayer, norm_first=norm_first, batch_first=batch_first)
    dec = small(nn.TransformerDecoderLayer, norm_first=norm_first, batch_first=batch_first)
    src = f64(*((2, 5, 8) if batch_first else (5, 2, 8)))
    tgt = f64(*((2, 3, 8) if batch_first else (3, 2, 8)))
    assert enc(src).shape == src.shape
    assert dec(tgt, src).shape == tgt.shape
    assert enc(f64(5, 8)).shape == (5, 8)  # unbatched


def test_post_norm_output_is_normalised():
    out = small(nn.TransformerEncoderLayer)(f64(5, 2, 8)).numpy()
    np.testing.assert_allclose(out.mean(-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(-1), 1.0, rtol=1e-4)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_formula_post_and_pre_norm(norm_first):
    layer = small(nn.TransformerEncoderLayer, norm_first=norm_first)
    x = f64(5, 2, 8)

    def sa(h):
        return layer.self_attn(h, h, h, need_weights=False)[0]

    def ff(h):
        return layer.linear2(F.relu(layer.linear1(h)))

    if norm_first:
        h = x + sa(layer.norm1(x))
        want = h + ff(layer.norm2(h))
    else:
        h = layer.norm1(x + sa(x))
        want = layer.norm2(h + ff(h))
    np.testing.assert_allclose(layer(x).numpy(), want.numpy(), rtol=1e-12)


def test_activation_strings_and_callables():
    assert small(nn.TransformerEncoderLayer, activation="gelu").activation is F.gelu
    assert small(nn.TransformerEncoderLayer).activation is F.relu
    layer = small(nn.TransformerEncoderLayer, activation=nn.GELU(approximate="tanh"))
    assert "activation" in dict(layer.named_children())
    assert layer(f64(3, 2, 8)).shape == (3, 2, 8)
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        small(nn.TransformerEncoderLayer, activation="tanh")


def test_causal_mask_blocks_the_future():
    layer = small(nn.TransformerEncoderLayer, batch_first=True)
    x = f64(1, 6, 8)
    mask = nn.Transformer.generate_square_subsequent_mask(6, dtype=np.float64)
    out = layer(x, src_mask=mask, is_causal=True)
    (out[0, 2] * f64(8, seed=1, requires_grad=False)).sum().backward()
    grad = np.abs(x.grad.numpy()[0]).sum(-1)
    assert np.all(grad[3:] == 0.0) and np.all(grad[:3] > 0.0)


def test_generate_square_subsequent_mask():
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    assert mask.dtype == np.float32 and mask.shape == (4, 4)
    want = np.where(np.triu(np.ones((4, 4)), 1) > 0, -np.inf, 0.0)
    np.testing.assert_array_equal(mask.numpy(), want)
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=np.float64).dtype == \
        np.float64


def test_encoder_layer_gradcheck():
    layer = small(nn.TransformerEncoderLayer, activation="gelu")
    mask = np.array([[False, False, True], [False, False, False]])
    assert gradcheck(lambda x: layer(x, src_key_padding_mask=mask), (f64(3, 2, 8),),
                     n_directions=8)


def test_stacks_copy_the_layer_and_keep_dtype():
    layer = small(nn.TransformerEncoderLayer)
    enc = nn.TransformerEncoder(layer, num_layers=3, norm=nn.LayerNorm(8, dtype=np.float64))
    assert len(enc.layers) == 3 and enc.num_layers == 3
    first, second = enc.layers[0], enc.layers[1]
    assert first.linear1.weight is not second.linear1.weight
    assert first.linear1.weight is not layer.linear1.weight
    np.testing.assert_array_equal(first.linear1.weight.numpy(), layer.linear1.weight.numpy())
    assert all(p.dtype == np.float64 for p in enc.parameters())
    assert "layers.2.self_attn.in_proj_weight" in enc.state_dict()
    assert enc(f64(5, 2, 8)).shape == (5, 2, 8)
    dec = nn.TransformerDecoder(small(nn.TransformerDecoderLayer), num_layers=2)
    assert dec.norm is None and dec(f64(3, 2, 8), f64(5, 2, 8)).shape == (3, 2, 8)


def test_transformer_shapes_names_and_init():
    model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                           dim_feedforward=16, dropout=0.0, batch_first=True)
    names = set(model.state_dict())
    assert {"encoder.layers.1.linear2.bias", "encoder.norm.weight",
            "decoder.layers.0.multihead_attn.in_proj_weight", "decoder.norm.bias"} <= names
    for name, p in model.named_parameters():
        if p.ndim > 1:
            assert np.abs(p.numpy()).max() <= math.sqrt(6.0 / sum(p.shape)), name
    src, tgt = cr.randn(2, 7, 8), cr.randn(2, 5, 8)
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    out = model(src, tgt, tgt_mask=mask, src_key_padding_mask=np.zeros((2, 7), bool))
    assert out.shape == (2, 5, 8)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_transformer_custom_parts_and_errors():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 1)
    model = nn.Transformer(8, 2, num_decoder_layers=1, dim_feedforward=16, custom_encoder=enc)
    assert model.encoder is enc
    with pytest.raises(RuntimeError, match="batch number of src and tgt must be equal"):
        model(cr.randn(7, 2, 8), cr.randn(5, 3, 8))
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal to "
                                           "d_model=8"):
        model(cr.randn(7, 2, 8), cr.randn(5, 2, 6))


def test_training_step_reduces_the_loss():
    cr.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    x, y = cr.randn(4, 5, 8), cr.randn(4, 5, 8)
    opt = cr.optim.Adam(layer.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = F.mse_loss(layer(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0]


# ---- positional encodings --------------------------------------------------------------------
def test_sinusoidal_positional_encoding_formula():
    pos = nn.PositionalEncoding(6, max_len=50)
    pe = pos.pe.numpy()
    p, i = 7, 1
    assert math.isclose(pe[p, 2 * i], math.sin(p / 10000 ** (2 * i / 6)), rel_tol=1e-6)
    assert math.isclose(pe[p, 2 * i + 1], math.cos(p / 10000 ** (2 * i / 6)), rel_tol=1e-6)
    assert "pe" not in pos.state_dict() and not list(pos.parameters())
    x = f64(2, 5, 6)
    np.testing.assert_allclose(pos(x).numpy(), x.numpy() + pe[:5].astype(np.float64))
    np.testing.assert_allclose(pos(x, offset=3).numpy(), x.numpy() + pe[3:8])
    seq_first = nn.PositionalEncoding(6, batch_first=False)
    np.testing.assert_allclose(seq_first(f64(5, 2, 6)).numpy()[:, 1],
                               f64(5, 2, 6).numpy()[:, 1] + pe[:5], rtol=1e-6)
    assert nn.PositionalEncoding(5).pe.shape == (5000, 5)  # odd d_model


def test_positional_encoding_errors_and_dropout():
    pos = nn.PositionalEncoding(4, max_len=3, dropout=0.5)
    with pytest.raises(ValueError, match=r"PositionalEncoding\(max_len=3, d_model=4\).*exceed"):
        pos(cr.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="got shape \\(1, 2, 5\\)"):
        pos(cr.zeros(1, 2, 5))
    assert np.any(pos(cr.ones(1, 3, 4)).numpy() == 0.0)
    pos.eval()
    assert np.all(pos(cr.ones(1, 3, 4)).numpy() != 0.0)


def test_learned_positional_embedding():
    pos = nn.LearnedPositionalEmbedding(10, 4, dtype=np.float64)
    assert [n for n, _ in pos.named_parameters()] == ["weight"] and pos.weight.shape == (10, 4)
    x = f64(2, 3, 4)
    out = pos(x)
    np.testing.assert_allclose(out.numpy(), x.numpy() + pos.weight.numpy()[:3])
    out.sum().backward()
    want = np.zeros((10, 4))
    want[:3] = 2.0
    np.testing.assert_array_equal(pos.weight.grad.numpy(), want)
    with pytest.raises(ValueError, match="exceed max_len"):
        pos(f64(1, 11, 4))


# ---- weight tying ----------------------------------------------------------------------------
class TiedLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(11, 4, dtype=np.float64)
        self.head = nn.Linear(4, 11, bias=False, dtype=np.float64)
        self.head.weight = self.embed.weight

    def forward(self, tokens):
        return self.head(self.embed(tokens))


def test_tied_weight_appears_once_and_sums_both_gradients():
    model = TiedLM()
    assert [n for n, _ in model.named_parameters()] == ["embed.weight"]
    tokens = cr.tensor([[1, 2, 2], [5, 0, 1]])
    weights = np.random.default_rng(0).standard_normal((2, 3, 11))
    (model(tokens) * cr.tensor(weights, dtype=np.float64)).sum().backward()
    w = model.embed.weight.numpy()
    h = w[tokens.numpy()]                                  # (2, 3, 4) embeddings
    from_head = np.einsum("btv,btd->vd", weights, h)       # d/dW of h W^T
    from_embed = np.zeros_like(w)
    np.add.at(from_embed, tokens.numpy(), weights @ w)     # d/dW of the lookup
    np.testing.assert_allclose(model.embed.weight.grad.numpy(), from_head + from_embed,
                               rtol=1e-12)

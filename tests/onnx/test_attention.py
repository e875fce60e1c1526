"""MultiheadAttention written out with MatMul and Softmax, and the Transformer layers built on
it, exported and run in onnxruntime."""

import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.nn import functional as F  # noqa: E402


def three(shape_q, shape_kv, kdim=8, vdim=8, batch_axis=0):
    def make(n):
        q, kv = list(shape_q), list(shape_kv)
        q[batch_axis] = kv[batch_axis] = n
        return cr.randn(*q), cr.randn(*kv[:-1], kdim), cr.randn(*kv[:-1], vdim)

    return make


def test_batch_first_attention_returns_output_and_averaged_weights(check):
    cr.manual_seed(0)
    check(nn.MultiheadAttention(8, 2, batch_first=True), three((0, 5, 8), (0, 7, 8)))


def test_time_major_attention_with_other_key_and_value_sizes_and_no_bias(check):
    cr.manual_seed(0)
    mha = nn.MultiheadAttention(8, 4, bias=False, kdim=6, vdim=3)
    check(mha, three((5, 0, 8), (7, 0, 8), kdim=6, vdim=3, batch_axis=1), in_axes=1,
          out_axes=[1, 0])


def test_unbatched_self_attention(check):
    cr.manual_seed(0)
    x = cr.randn(5, 8)
    check(nn.MultiheadAttention(8, 2), lambda n: (x, x, x), in_axes=None, out_axes=None)


def test_self_attention_on_one_input_projects_it_once(tmp_path):
    import onnxruntime

    import chainrule.onnx  # noqa: F401

    cr.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=True).eval()

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = mha

        def forward(self, x):
            return self.mha(x, x, x)[0]

    @cr.onnx.register(SelfAttention)
    def self_attention(g, module, x):
        return g.call(module.mha, x, x, x)[0].name

    x = cr.randn(3, 4, 8)
    proto = cr.onnx.export(SelfAttention(), x, tmp_path / "sa.onnx")
    assert sum(node.op_type == "Transpose" for node in proto.graph.node) == 4  # 3 heads + out
    session = onnxruntime.InferenceSession(str(tmp_path / "sa.onnx"),
                                           providers=["CPUExecutionProvider"])
    assert abs(session.run(None, {"input": x.numpy()})[0] - mha(x, x, x)[0].numpy()).max() < 1e-5


def test_attention_with_bias_kv_is_refused_by_name(tmp_path):
    import chainrule.onnx

    mha = nn.MultiheadAttention(8, 2, add_bias_kv=True)
    x = cr.randn(5, 2, 8)
    with pytest.raises(chainrule.onnx.UnsupportedModuleError, match="add_bias_kv"):
        cr.onnx.export(mha, (x, x, x), tmp_path / "mha.onnx")


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", nn.Tanh()], ids=str)
def test_encoder_layer(activation, norm_first, check):
    cr.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, activation=activation, norm_first=norm_first,
                                       batch_first=True)
    check(layer, lambda n: cr.randn(n, 5, 8))


def test_encoder_stack_with_a_final_norm(check):
    cr.manual_seed(0)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, norm=nn.LayerNorm(8))
    check(encoder, lambda n: cr.randn(5, n, 8), in_axes=1, out_axes=1)


def test_whole_transformer(check):
    cr.manual_seed(0)
    model = nn.Transformer(8, 2, num_encoder_layers=1, num_decoder_layers=2, dim_feedforward=16,
                           batch_first=True, activation=F.gelu)
    check(model, lambda n: (cr.randn(n, 6, 8), cr.randn(n, 4, 8)))

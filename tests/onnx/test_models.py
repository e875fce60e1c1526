"""Every model of chainrule.models, exported and run in onnxruntime with another batch size."""

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import chainrule as cr  # noqa: E402
from chainrule import models  # noqa: E402


def randn(*shape):
    return lambda n: cr.randn(n, *shape)


def trained_statistics(model):
    """Running statistics away from 0 and 1, so that the test sees them."""
    for m in model.modules():
        if isinstance(m, cr.nn.BatchNorm1d):
            m.running_mean.data[:] = np.linspace(-1, 1, m.num_features)
            m.running_var.data[:] = np.linspace(0.5, 2, m.num_features)
    return model


MODELS = {
    "MLP": (lambda: models.MLP([4, 8, 8, 3], activation="tanh", output_activation="softmax"),
            randn(4)),
    "MLP with batch norm and dropout": (
        lambda: trained_statistics(models.MLP([4, 8, 3], batch_norm=True, dropout=0.5)),
        randn(4)),
    "LeNet 8x8": (lambda: models.LeNet(3, input_size=8, channels=(2, 4), hidden=(8, 6)),
                  randn(1, 8, 8)),
    "LeNet 28x28, average pooling": (
        lambda: models.LeNet(2, in_channels=2, input_size=28, channels=(2, 3), hidden=(6, 5),
                             activation="tanh", pool="avg"), randn(2, 28, 28)),
    "RNNClassifier lstm": (lambda: models.RNNClassifier(2, 5, 3), randn(6, 2)),
    "RNNClassifier gru, two layers, bidirectional": (
        lambda: models.RNNClassifier(2, 5, 3, cell="gru", num_layers=2, bidirectional=True),
        randn(6, 2)),
    "RNNClassifier rnn on tokens": (
        lambda: models.RNNClassifier(4, 5, 3, cell="rnn", num_embeddings=11, padding_idx=0),
        lambda n: cr.randint(0, 11, (n, 6))),
    "RNNRegressor": (lambda: models.RNNRegressor(2, 5, 2, cell="gru"), randn(6, 2)),
    "RNNRegressor many-to-many, bidirectional": (
        lambda: models.RNNRegressor(2, 5, 2, bidirectional=True, many_to_many=True),
        randn(6, 2)),
    "Autoencoder": (lambda: models.Autoencoder(10, code_size=2, hidden=(6,)), randn(10)),
    "Autoencoder of images": (lambda: models.Autoencoder((1, 4, 4), code_size=3, hidden=(5,)),
                              randn(1, 4, 4)),
    "ConvAutoencoder": (lambda: models.ConvAutoencoder(1, input_size=(8, 7), channels=(2, 3),
                                                       code_size=4), randn(1, 8, 7)),
    "GAN (its generator)": (lambda: models.GAN((1, 3, 3), latent_dim=4, hidden=(6,),
                                               output_activation="tanh"), randn(4)),
}


@pytest.mark.parametrize("name", MODELS)
def test_model(name, check):
    cr.manual_seed(0)
    make, inputs = MODELS[name]
    check(make(), inputs)


def test_gan_discriminator(check):
    cr.manual_seed(0)
    gan = models.GAN((1, 3, 3), latent_dim=4, hidden=(6,))
    check(gan.discriminator, randn(1, 3, 3))


def test_gpt_with_a_free_batch_and_sequence_length(tmp_path, ort_session):
    import chainrule.onnx  # noqa: F401

    cr.manual_seed(0)
    gpt = models.GPT(vocab_size=7, block_size=8, n_layer=2, n_head=2, n_embd=8).eval()
    path = tmp_path / "gpt.onnx"
    cr.onnx.export(gpt, cr.randint(0, 7, (2, 8)), path,
                   dynamic_axes={"input": {0: "batch", 1: "sequence"},
                                 "output": {0: "batch", 1: "sequence"}})
    session = ort_session(path)
    for shape in ((5, 8), (3, 4), (1, 1)):
        idx = cr.randint(0, 7, shape)
        got = session.run(None, {"input": idx.numpy()})[0]
        assert np.abs(got - gpt(idx).numpy()).max() < 1e-5


def test_gpt_block(check):
    cr.manual_seed(0)
    block = models.gpt.Block(8, 2)
    check(block, randn(5, 8))


def test_gpt_without_weight_tying_nor_biases(check):
    cr.manual_seed(0)
    gpt = models.GPT(vocab_size=7, block_size=6, n_layer=1, n_head=2, n_embd=8, bias=False,
                     tie_weights=False)
    check(gpt, lambda n: cr.randint(0, 7, (n, 6)))


@pytest.mark.parametrize("activation", ["sign", "step"])
def test_perceptron_gives_the_same_labels(activation, check):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 0, 0, 1]) if activation == "step" else np.array([-1, -1, -1, 1])
    perceptron = models.Perceptron(activation=activation).fit(X, y)
    check(perceptron, lambda n: cr.rand(n, 2) * 2 - 0.5,
          reference=lambda x: perceptron.predict(x))

"""nn.Embedding: lookup, gradients that add up over repeated indices, padding_idx, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck
from chainrule.nn.functional import embedding
from chainrule.nn.layers.embedding import Embedding


def test_lookup_is_one_hot_times_weight():
    cr.manual_seed(0)
    emb = Embedding(5, 3)
    idx = np.array([[4, 0, 4], [1, 2, 3]])
    out = emb(cr.tensor(idx))
    assert out.shape == (2, 3, 3) and out.dtype == np.float32
    one_hot = np.eye(5, dtype=np.float32)[idx]
    np.testing.assert_allclose(out.numpy(), one_hot @ emb.weight.numpy(), rtol=1e-6)


def test_gradient_adds_up_over_repeated_indices():
    emb = Embedding(4, 2)
    out = emb(cr.tensor([1, 3, 1, 1]))
    (out * cr.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy(),
                                  [[0, 0], [13.0, 16.0], [0, 0], [3.0, 4.0]])


def test_gradcheck():
    weight = cr.tensor(np.random.default_rng(0).standard_normal((6, 3)), dtype=np.float64,
                       requires_grad=True)
    idx = cr.tensor([[0, 5, 5], [2, 0, 1]])
    assert gradcheck(lambda w: embedding(idx, w) ** 2, (weight,))


def test_padding_idx_row_is_zero_and_gets_no_gradient():
    cr.manual_seed(1)
    emb = Embedding(5, 3, padding_idx=-1)  # negative: counted from the end, like PyTorch
    assert emb.padding_idx == 4
    assert not emb.weight.numpy()[4].any()
    with cr.no_grad():
        emb.weight.data[4] = 7.0  # a non-zero padding row is still looked up as it is
    out = emb(cr.tensor([[4, 1], [1, 4]]))
    np.testing.assert_array_equal(out.numpy()[0, 0], [7.0, 7.0, 7.0])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[4], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(emb.weight.grad.numpy()[1], [2.0, 2.0, 2.0])


def test_initialisation_is_standard_normal():
    cr.manual_seed(2)
    w = Embedding(2000, 10).weight.numpy()
    assert abs(w.mean()) < 0.02 and w.std() == pytest.approx(1.0, rel=0.03)


def test_from_pretrained_freezes_by_default():
    vectors = np.arange(6.0).reshape(3, 2)
    emb = Embedding.from_pretrained(vectors)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(cr.tensor([2])).numpy(), [[4.0, 5.0]])
    assert Embedding.from_pretrained(vectors, freeze=False).weight.requires_grad
    vectors[0, 0] = 99.0
    assert emb.weight.numpy()[0, 0] == 0.0  # a copy


def test_max_norm_rescales_looked_up_rows_in_place():
    emb = Embedding.from_pretrained(np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]]),
                                    max_norm=1.0)
    out = emb(cr.tensor([0, 1]))
    np.testing.assert_allclose(np.linalg.norm(out.numpy(), axis=1), [1.0, 0.5], rtol=1e-5)
    np.testing.assert_allclose(emb.weight.numpy()[2], [6.0, 8.0])  # not looked up: unchanged


def test_bad_indices_raise_clear_errors():
    emb = Embedding(4, 2)
    with pytest.raises(IndexError, match="index 4 is out of range for 4 embeddings"):
        emb(cr.tensor([0, 4]))
    with pytest.raises(IndexError, match="index -1"):
        emb(cr.tensor([-1, 2]))
    with pytest.raises(TypeError, match="integers"):
        emb(cr.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="padding_idx 5"):
        Embedding(4, 2, padding_idx=5)
    with pytest.raises(ValueError, match="embedding_dim must be a positive integer"):
        Embedding(4, 0)


def test_state_dict_and_repr():
    emb = Embedding(10, 3, padding_idx=0)
    assert list(emb.state_dict()) == ["weight"]
    assert repr(emb) == "Embedding(10, 3, padding_idx=0)"

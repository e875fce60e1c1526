"""SyncBatchNorm: BatchNorm in a world of one, gradients checked in float64, the global batch's
statistics across the ranks of a launch."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.nn.layers.sync_batchnorm import sync_batch_norm


@pytest.mark.parametrize("shape", [(6, 3), (5, 2, 4), (4, 2, 3, 3)])
def test_sync_batch_norm_gradients_in_float64(shape):
    cr.manual_seed(0)
    x = (cr.randn(*shape, dtype=cr.float64) * 2 + 1).requires_grad_()
    w = cr.randn(shape[1], dtype=cr.float64, requires_grad=True)
    b = cr.randn(shape[1], dtype=cr.float64, requires_grad=True)

    def fn(x, w, b):
        return sync_batch_norm(x, None, None, w, b)

    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))
    expected = nn.functional.batch_norm(x, None, None, w, b, training=True)
    assert np.abs(fn(x, w, b).numpy() - expected.numpy()).max() < 1e-12


@pytest.mark.parametrize("momentum", [0.1, None])
def test_in_a_world_of_one_it_is_batchnorm(momentum):
    cr.manual_seed(0)
    bn, sync = nn.BatchNorm2d(3, momentum=momentum), nn.SyncBatchNorm(3, momentum=momentum)
    sync.load_state_dict(bn.state_dict())
    for _ in range(3):
        x = cr.randn(4, 3, 2, 2)
        assert np.array_equal(bn(x).numpy(), sync(x).numpy())
    assert all(np.array_equal(v.numpy(), sync.state_dict()[k].numpy())
               for k, v in bn.state_dict().items())
    bn.eval(), sync.eval()
    x = cr.randn(4, 3, 2, 2)
    assert np.array_equal(bn(x).numpy(), sync(x).numpy())
    assert sorted(sync.state_dict()) == sorted(bn.state_dict())


def test_convert_sync_batchnorm_shares_parameters_and_buffers():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(),
                          nn.Sequential(nn.Flatten(), nn.BatchNorm1d(8, affine=False)))
    bn = model[1]
    model.eval()
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert converted is model and isinstance(model[1], nn.SyncBatchNorm)
    assert isinstance(model[3][1], nn.SyncBatchNorm) and model[3][1].weight is None
    assert model[1].weight is bn.weight and model[1].running_mean is bn.running_mean
    assert not model[1].training
    single = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(4, bias=False))
    assert isinstance(single, nn.SyncBatchNorm) and single.bias is None
    assert "SyncBatchNorm(2, eps=1e-05" in repr(model)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=r"SyncBatchNorm\(num_features=3\): input has 2 "
                       r"channels, shape \(4, 2\)"):
        nn.SyncBatchNorm(3)(cr.randn(4, 2))
    with pytest.raises(ValueError, match=r"expected a \(N, C, \*\) input, got shape \(3,\)"):
        nn.SyncBatchNorm(3)(cr.randn(3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        sync_batch_norm(cr.randn(1, 3), None, None)


@pytest.mark.parametrize("ranks", [2, 3])
def test_matches_batchnorm_on_the_global_batch_across_ranks(launch, ranks):
    assert "sync_batchnorm ok" in launch(ranks, "sync_batchnorm.py").stdout

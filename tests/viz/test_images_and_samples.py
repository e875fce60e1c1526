"""make_grid's tiling and scaling; the pictures of autoencoders and GANs; plot_history's rows."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import viz


def test_make_grid_tiles_row_by_row_with_white_padding():
    images = np.arange(6, dtype=np.float64).reshape(6, 1, 1, 1) / 10
    grid = viz.make_grid(images, nrow=4, padding=1, normalize=False)
    assert grid.shape == (2 * 2 + 1, 4 * 2 + 1)
    np.testing.assert_array_equal(grid[1, 1::2], [0.0, 0.1, 0.2, 0.3])
    np.testing.assert_array_equal(grid[3, 1:5:2], [0.4, 0.5])
    np.testing.assert_array_equal(grid[3, 5::2], [1.0, 1.0])  # empty places stay white
    np.testing.assert_array_equal(grid[0], 1.0)
    assert viz.make_grid(images, nrow=10).shape == (3, 13)  # at most N per row


def test_make_grid_scaling():
    x = np.stack([np.full((1, 2, 2), -1.0), np.full((1, 2, 2), 1.0), np.zeros((1, 2, 2))])
    x[2, 0, 0, 0] = 0.5
    together = viz.make_grid(x, nrow=3, padding=0, scale_each=False)  # [-1, 1] -> [0, 1]
    np.testing.assert_allclose(together[:, :2], 0.0)
    np.testing.assert_allclose(together[:, 2:4], 1.0)
    np.testing.assert_allclose(together[:, 4:], [[0.75, 0.5], [0.5, 0.5]])
    unit = np.random.default_rng(0).random((3, 1, 4, 4)) * 0.5  # in [0, 1]: shown unchanged
    np.testing.assert_allclose(viz.make_grid(unit, nrow=3, padding=0, scale_each=False),
                               np.concatenate(list(unit[:, 0]), axis=1))
    each = viz.make_grid(x, nrow=3, padding=0)  # constant images go black, the third 0..1
    np.testing.assert_allclose(each[:, :4], 0.0)
    np.testing.assert_allclose(each[:, 4:], [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(viz.make_grid(x, nrow=3, padding=0, normalize=False)[:, :2],
                                  0.0)  # clipped


@pytest.fixture
def matplotlib():
    return pytest.importorskip("matplotlib")


def test_reconstructions_of_images_and_of_points(tmp_path, matplotlib):
    rng = np.random.default_rng(0)
    x = rng.random((10, 16))
    fig = viz.plot_reconstructions(x, x * 0.5, tmp_path / "r.png", image_shape=(1, 4, 4))
    assert (tmp_path / "r.png").stat().st_size > 0
    assert fig.axes[0].images[0].get_array().shape == (2 * 5 + 1, 8 * 5 + 1)  # 8 over 8
    fig = viz.plot_reconstructions(cr.tensor(rng.random((5, 2, 3, 3))), rng.random((5, 2, 3, 3)),
                                   n=3)
    assert fig.axes[0].images[0].get_array().shape == (2 * 4 + 1, 3 * 4 + 1)  # channel 0 only
    points = rng.standard_normal((20, 2))
    fig = viz.plot_reconstructions(points, points + 0.1, tmp_path / "p.png")
    assert len(fig.axes[0].collections) == 2 and len(fig.axes[0].lines) == 20
    with pytest.raises(ValueError, match="neither images"):
        viz.plot_reconstructions(rng.random((4, 5)), rng.random((4, 5)))


def test_samples_and_codes(tmp_path, matplotlib):
    rng = np.random.default_rng(0)
    fig = viz.plot_samples(rng.random((10, 64)) * 2 - 1, tmp_path / "s.png",
                           image_shape=(1, 8, 8), title="epoch 1")
    assert fig.axes[0].images[0].get_array().shape == (3 * 9 + 1, 4 * 9 + 1)  # 4 per row
    assert fig.axes[0].get_title() == "epoch 1"
    fig = viz.plot_samples(cr.tensor(rng.standard_normal((30, 2))), real=rng.random((50, 2)))
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["real", "generated"]
    with pytest.raises(ValueError, match="neither images"):
        viz.plot_samples(rng.random((4, 3)))
    codes, labels = rng.standard_normal((30, 2)), np.arange(30) % 3
    fig = viz.plot_codes(codes, cr.tensor(labels), tmp_path / "c.png")
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["0", "1", "2"]
    assert len(viz.plot_codes(codes, labels * 0.5).axes[0].collections) == 1
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        viz.plot_codes(rng.random((5, 3)))


def test_plot_history_puts_many_panels_in_rows(matplotlib):
    logs = {k: [1.0, 0.5] for k in ("loss_d", "loss_g", "d_real", "d_fake", "lr")}
    fig = viz.plot_history(logs)
    assert len(fig.axes) == 4  # lr left out; a 2 x 2 grid
    assert len({ax.get_position().y0 for ax in fig.axes}) == 2
    assert len(viz.plot_history(logs, keys=["loss_d", "loss_g", "d_real", "d_fake", "lr"]).axes) \
        == 5

"""The TensorBoard callback: event files read back record by record, compared with the History.

An event file is a sequence of TFRecords: a little-endian uint64 length, its masked CRC-32C,
the serialised ``Event`` protobuf and the payload's masked CRC-32C. The reader below checks the
framing and parses each payload with tensorboardX's ``Event`` class, so no TensorBoard or
TensorFlow is needed.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import struct
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import analysis
from chainrule.train import TensorBoard, Trainer

needs_tensorboardx = pytest.mark.skipif(importlib.util.find_spec("tensorboardX") is None,
                                        reason="tensorboardX is not installed")


def _masked_crc(data: bytes) -> int:
    from tensorboardX.crc32c import crc32c

    crc = crc32c(data) & 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_events(run_dir) -> list:
    """Every Event of the event files of ``run_dir``, in file and record order."""
    from tensorboardX.proto.event_pb2 import Event

    events = []
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))):
        with open(path, "rb") as fh:
            data = fh.read()
        pos = 0
        while pos < len(data):
            header = data[pos:pos + 8]
            (length,) = struct.unpack("<Q", header)
            (header_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
            payload = data[pos + 12:pos + 12 + length]
            (payload_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
            assert header_crc == _masked_crc(header) and payload_crc == _masked_crc(payload)
            events.append(Event.FromString(payload))
            pos += 16 + length
    return events


def summaries(events, field: str) -> dict:
    """``{tag: {step: value}}`` for the summary values that set ``field``."""
    out: dict = {}
    for event in events:
        for value in event.summary.value:
            if value.HasField(field):
                out.setdefault(value.tag, {})[event.step] = getattr(value, field)
    return out


def moons_trainer(callbacks, lr=1e-2, optimizer=None):
    cr.manual_seed(0)
    model = cr.models.MLP([2, 8, 2], activation="tanh")
    optimizer = optimizer or cr.optim.Adam(model.parameters(), lr=lr)
    return Trainer(model, cr.nn.CrossEntropyLoss(), optimizer, metrics=["accuracy"],
                   callbacks=callbacks)


@pytest.fixture(scope="module")
def moons():
    X, y = cr.datasets.make_moons(64, noise=0.2, seed=0)
    X_val, y_val = cr.datasets.make_moons(32, noise=0.2, seed=1)
    return X, y, X_val, y_val


def test_without_tensorboardx_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[tensorboard\]'"):
        TensorBoard("unused")


@needs_tensorboardx
@pytest.mark.parametrize("kwargs", [{"update_freq": "step"}, {"update_freq": 0},
                                    {"histogram_freq": -1}, {"hessian_freq": 1.5}])
def test_bad_arguments_are_refused(kwargs, tmp_path):
    with pytest.raises(ValueError, match="TensorBoard"):
        TensorBoard(tmp_path, **kwargs)


@needs_tensorboardx
def test_epoch_scalars_equal_the_history(moons, tmp_path):
    X, y, X_val, y_val = moons
    trainer = moons_trainer([TensorBoard(tmp_path, histogram_freq=0, write_graph=False)])
    history = trainer.fit((X, y), val=(X_val, y_val), epochs=3, batch_size=16, seed=0,
                          verbose=0).history
    train = summaries(read_events(tmp_path / "train"), "simple_value")
    val = summaries(read_events(tmp_path / "validation"), "simple_value")
    for key in ("loss", "accuracy"):
        assert sorted(train[f"epoch_{key}"]) == [0, 1, 2]
        np.testing.assert_allclose([train[f"epoch_{key}"][e] for e in range(3)], history[key],
                                   rtol=1e-6)  # event scalars are float32
        np.testing.assert_allclose([val[f"epoch_{key}"][e] for e in range(3)],
                                   history[f"val_{key}"], rtol=1e-6)
    np.testing.assert_allclose([train["epoch_learning_rate"][e] for e in range(3)],
                               history["lr"], rtol=1e-6)
    assert not any(tag.startswith("val_") or tag == "epoch_lr" for tag in {*train, *val})


@needs_tensorboardx
def test_histograms_of_weights_and_gradients(moons, tmp_path):
    X, y, _, _ = moons
    trainer = moons_trainer([TensorBoard(tmp_path, histogram_freq=2, write_graph=False)])
    trainer.fit((X, y), epochs=3, batch_size=16, seed=0, verbose=0)
    histos = summaries(read_events(tmp_path / "train"), "histo")
    for name, p in trainer.model.named_parameters():
        assert sorted(histos[f"weights/{name}"]) == [0, 2]
        assert sorted(histos[f"gradients/{name}"]) == [0, 2]
        last = histos[f"weights/{name}"][2]  # written at the end of the last epoch
        assert last.num == p.data.size
        np.testing.assert_allclose([last.min, last.max], [p.data.min(), p.data.max()],
                                   rtol=1e-6)
        grad = histos[f"gradients/{name}"][2]
        np.testing.assert_allclose([grad.min, grad.max], [p.grad.data.min(), p.grad.data.max()],
                                   rtol=1e-6)  # the last batch's gradient


@needs_tensorboardx
def test_summary_text_and_graph_def(moons, tmp_path):
    from tensorboardX.proto.graph_pb2 import GraphDef

    X, y, _, _ = moons
    trainer = moons_trainer([TensorBoard(tmp_path, histogram_freq=0)])
    trainer.fit((X, y), epochs=1, batch_size=16, seed=0, verbose=0)
    events = read_events(tmp_path / "train")
    texts = summaries(events, "tensor")
    text = texts["model/summary/text_summary"][0].string_val[0].decode()
    assert "Total params: 42" in text and "(1, 8)" in text  # (2+1)*8 + (8+1)*2; shapes probed
    graphs = [GraphDef.FromString(e.graph_def) for e in events if e.graph_def]
    assert len(graphs) == 1
    nodes = {n.name: n for n in graphs[0].node}
    assert {"0/weight", "0/bias", "2/weight", "2/bias", "input", "target", "output"} <= set(nodes)
    assert [n.op for n in nodes.values()].count("Linear") == 2
    assert all(i in nodes for n in nodes.values() for i in n.input)  # every edge has both ends
    first = next(n for n in nodes.values() if n.op == "Linear" and "input" in n.input)
    assert first.name.startswith("0/")  # in the box of the layer whose parameters it uses
    assert set(first.input) == {"input", "0/weight", "0/bias"}
    shape = first.attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [16, 8]
    assert nodes["output"].op == "Output" and len(nodes["output"].input) == 1


@needs_tensorboardx
def test_top_hessian_eigenvalue(moons, tmp_path):
    X, y, _, _ = moons
    batch = (X[:16], y[:16])
    tb = TensorBoard(tmp_path, histogram_freq=0, write_graph=False, hessian_freq=2,
                     hessian_data=batch)
    trainer = moons_trainer([tb])
    trainer.fit((X, y), epochs=3, batch_size=16, seed=0, verbose=0)
    assert sorted(tb.top_eigenvalues) == [0, 2]
    scalars = summaries(read_events(tmp_path / "train"), "simple_value")
    logged = scalars["epoch_hessian_top_eigenvalue"]
    np.testing.assert_allclose([logged[0], logged[2]], [tb.top_eigenvalues[0],
                                                        tb.top_eigenvalues[2]], rtol=1e-6)
    expected = analysis.hessian_eigenvalues(trainer.model, cr.nn.CrossEntropyLoss(), batch,
                                            k=1, which="LA", seed=0)[0]
    np.testing.assert_allclose(tb.top_eigenvalues[2], expected, rtol=1e-3)
    assert tb.top_eigenvalues[2] > 0


@needs_tensorboardx
def test_training_is_unchanged_by_the_callback(moons, tmp_path):
    X, y, _, _ = moons

    def run(callbacks):
        trainer = moons_trainer(callbacks)
        # no fit seed: the loader shuffles with the global generator, which must be untouched
        return trainer.fit((X, y), epochs=2, batch_size=16, verbose=0).history["loss"]

    plain = run([])
    logged = run([TensorBoard(tmp_path, hessian_freq=1, update_freq="batch")])
    assert logged == plain


@needs_tensorboardx
def test_batch_scalars_every_n_batches(moons, tmp_path):
    X, y, _, _ = moons
    tb = TensorBoard(tmp_path, histogram_freq=0, write_graph=False, update_freq=2)
    trainer = moons_trainer([tb])
    trainer.fit((X, y), epochs=2, batch_size=16, seed=0, verbose=0)  # 4 batches an epoch
    scalars = summaries(read_events(tmp_path / "train"), "simple_value")
    assert sorted(scalars["batch_loss"]) == [2, 4, 6, 8]
    assert sorted(scalars["epoch_loss"]) == [0, 1]
    assert tb._writers == {}  # closed at the end of training


@needs_tensorboardx
def test_learning_rate_of_every_param_group(moons, tmp_path):
    X, y, _, _ = moons
    cr.manual_seed(0)
    model = cr.models.MLP([2, 8, 2])
    groups = [{"params": list(model[0].parameters()), "lr": 0.1},
              {"params": list(model[2].parameters())}]
    trainer = Trainer(model, cr.nn.CrossEntropyLoss(), cr.optim.SGD(groups, lr=0.01),
                      callbacks=[TensorBoard(tmp_path, histogram_freq=0, write_graph=False)])
    trainer.fit((X, y), epochs=1, batch_size=32, seed=0, verbose=0)
    scalars = summaries(read_events(tmp_path / "train"), "simple_value")
    np.testing.assert_allclose(scalars["epoch_learning_rate/group0"][0], 0.1, rtol=1e-6)
    np.testing.assert_allclose(scalars["epoch_learning_rate/group1"][0], 0.01, rtol=1e-6)


@needs_tensorboardx
def test_a_trainer_without_a_loss_gets_no_graph_and_no_hessian(tmp_path):
    from chainrule.models.gan import GAN, GANTrainer

    cr.manual_seed(0)
    gan = GAN(2, latent_dim=4, hidden=(8,))
    X = cr.randn(32, 2)

    def trainer(callback):
        return GANTrainer(gan, cr.optim.Adam(gan.generator.parameters(), lr=2e-4),
                          cr.optim.Adam(gan.discriminator.parameters(), lr=1e-3),
                          callbacks=[callback])

    trainer(TensorBoard(tmp_path)).fit(X, epochs=1, batch_size=16, seed=0, verbose=0)
    events = read_events(tmp_path / "train")
    scalars = summaries(events, "simple_value")
    np.testing.assert_allclose(scalars["epoch_learning_rate/optimizer_g"][0], 2e-4, rtol=1e-6)
    np.testing.assert_allclose(scalars["epoch_learning_rate/optimizer_d"][0], 1e-3, rtol=1e-6)
    assert "epoch_loss_d" in scalars and "model/summary/text_summary" in summaries(events, "tensor")
    assert not any(e.graph_def for e in events)
    with pytest.raises(ValueError, match="hessian_freq needs the training loss"):
        trainer(TensorBoard(tmp_path, hessian_freq=1)).fit(X, epochs=1, verbose=0)

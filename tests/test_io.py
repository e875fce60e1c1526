"""cr.save / cr.load: exact round trips, atomic writes, clear errors (RELIABILITY 23-25)."""

import os
import pickle
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import CheckpointError

pytest.importorskip("safetensors")


def _same(a, b):
    a = a.numpy() if isinstance(a, cr.Tensor) else a
    b = b.numpy() if isinstance(b, cr.Tensor) else b
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def test_nested_structure_round_trips_with_types(tmp_path):
    rng = cr.get_rng_state()
    obj = {
        "model": {"fc.weight": cr.randn(3, 4), "fc.bias": cr.zeros(3)},
        "optimizer": {"state": {0: {"step": np.float32(7), "exp_avg": np.ones((3, 4))}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1],
                                        "nesterov": False, "name": None}]},
        "epoch": 12, "best": float("inf"), "nan": float("nan"), "rng_state": rng,
        "tags": ["a", ("b", 2)], "__odd_key__": {"__tensor__": "not a tensor"},
    }
    path = tmp_path / "ckpt.safetensors"
    cr.save(obj, path)
    out = cr.load(path)
    assert isinstance(out["model"]["fc.weight"], cr.Tensor)
    assert _same(out["model"]["fc.weight"], obj["model"]["fc.weight"])
    state = out["optimizer"]["state"][0]
    assert type(state["step"]) is np.float32 and state["step"] == 7
    assert isinstance(state["exp_avg"], np.ndarray) and state["exp_avg"].dtype == np.float64
    group = out["optimizer"]["param_groups"][0]
    assert group == {"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False,
                     "name": None}
    assert out["epoch"] == 12 and out["best"] == float("inf") and np.isnan(out["nan"])
    assert out["rng_state"] == rng and out["tags"] == ["a", ("b", 2)]
    assert out["__odd_key__"] == {"__tensor__": "not a tensor"}


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.int16,
                                   np.int32, np.int64, np.uint8, np.bool_])
def test_every_dtype_and_odd_shapes_round_trip(tmp_path, dtype):
    arrays = {"matrix": (np.arange(12) % 5).astype(dtype).reshape(3, 4),
              "scalar": np.array(1, dtype=dtype), "empty": np.zeros((0, 3), dtype=dtype)}
    cr.save(arrays, tmp_path / "a.safetensors")
    out = cr.load(tmp_path / "a.safetensors")
    assert all(_same(out[k], v) for k, v in arrays.items())


def test_non_contiguous_parameters_round_trip_exactly(tmp_path):
    """safetensors 0.8.0 writes a non-contiguous array's memory, not its values: we fix that."""
    base = np.random.default_rng(0).standard_normal((6, 8)).astype(np.float32)
    layouts = {
        "transposed": base.T,
        "fortran": np.asfortranarray(base),
        "strided": base[::2, 1::3],
        "negative_stride": base[::-1],
        "tensor_transposed": cr.tensor(base).T,
        "tensor_strided": cr.Tensor(base[:, ::2]),
    }
    assert not any(v.data.flags.c_contiguous if isinstance(v, cr.Tensor) else v.flags.c_contiguous
                   for k, v in layouts.items() if k != "fortran")
    cr.save(layouts, tmp_path / "p.safetensors")
    out = cr.load(tmp_path / "p.safetensors")
    for name, value in layouts.items():
        assert _same(out[name], value), name


def test_a_file_is_plain_safetensors_with_readable_names(tmp_path):
    from safetensors.numpy import load_file

    cr.save({"fc.weight": cr.ones(2, 2), "fc.bias": cr.zeros(2)}, tmp_path / "w.safetensors")
    assert sorted(load_file(tmp_path / "w.safetensors")) == ["fc.bias", "fc.weight"]


def test_a_foreign_safetensors_file_loads_as_a_dict_of_tensors(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.arange(4, dtype=np.float32)}, tmp_path / "f.safetensors")
    out = cr.load(tmp_path / "f.safetensors")
    assert list(out) == ["w"] and isinstance(out["w"], cr.Tensor)
    assert out["w"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_loaded_arrays_are_writable(tmp_path):
    cr.save({"w": cr.ones(3)}, tmp_path / "w.safetensors")
    w = cr.load(tmp_path / "w.safetensors")["w"]
    w.add_(1.0)
    assert w.tolist() == [2.0, 2.0, 2.0]


def test_unsupported_values_are_refused_with_their_place(tmp_path):
    with pytest.raises(TypeError, match=r"function.*'optimizer.param_groups.0.lr_lambda'"):
        cr.save({"optimizer": {"param_groups": [{"lr_lambda": lambda e: e}]}},
                tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="dtype"):
        cr.save({"s": np.array(["a"])}, tmp_path / "x.safetensors")
    assert not os.listdir(tmp_path)


def test_nothing_is_unpickled(tmp_path, monkeypatch):
    cr.save({"w": cr.ones(2), "meta": {"epoch": 1}}, tmp_path / "w.safetensors")

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    assert cr.load(tmp_path / "w.safetensors")["meta"] == {"epoch": 1}


# ---- faults -----------------------------------------------------------------------------------
def test_failed_save_before_the_rename_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    cr.save({"w": cr.ones(4), "epoch": 1}, path)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full (injected)")

    monkeypatch.setattr(cr.io.os, "replace", crash)
    with pytest.raises(OSError, match="injected"):
        cr.save({"w": cr.zeros(4), "epoch": 2}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # the temporary file is gone
    assert cr.load(path)["epoch"] == 1


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_process_killed_midway_through_a_save_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    cr.save({"w": cr.ones(1000), "epoch": 1}, path)
    script = textwrap.dedent(f"""
        import os, signal
        import chainrule as cr
        def killed(fd):  # the data are written but not yet renamed: die here
            os.kill(os.getpid(), signal.SIGKILL)
        cr.io.os.fsync = killed
        cr.save({{"w": cr.zeros(1000), "epoch": 2}}, {str(path)!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == -signal.SIGKILL
    out = cr.load(path)
    assert out["epoch"] == 1 and out["w"].tolist() == [1.0] * 1000


def test_truncated_files_give_a_clear_error(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    cr.save({"w": cr.randn(50, 50), "epoch": 3}, path)
    raw = path.read_bytes()
    for size in (0, 5, 40, len(raw) // 2, len(raw) - 1):
        path.write_bytes(raw[:size])
        with pytest.raises(CheckpointError, match="truncated|corrupted"):
            cr.load(path)


def test_corrupted_data_fail_their_checksum(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    cr.save({"w": cr.randn(50, 50)}, path)
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="'w' fails its checksum"):
        cr.load(path)


def test_garbage_header_and_missing_file(tmp_path):
    path = tmp_path / "x.safetensors"
    path.write_bytes((20).to_bytes(8, "little") + b"\xff" * 20)
    with pytest.raises(CheckpointError, match="unreadable header"):
        cr.load(path)
    with pytest.raises(FileNotFoundError):
        cr.load(tmp_path / "missing.safetensors")


def test_missing_safetensors_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match="pip install"):
        cr.save({"w": cr.ones(1)}, tmp_path / "w.safetensors")


# ---- modules ----------------------------------------------------------------------------------
def test_a_module_saves_its_state_dict_and_loads_back(tmp_path):
    nn = pytest.importorskip("chainrule.nn")
    from chainrule.models.mlp import MLP

    cr.manual_seed(0)
    model = MLP([4, 6, 3], batch_norm=True)
    model(cr.randn(8, 4))  # update the batch-norm running statistics (buffers)
    with cr.no_grad():  # a transposed (non-contiguous) parameter, as after a weight tie
        model[0].weight.data = np.ascontiguousarray(model[0].weight.data.T).T
    assert not model[0].weight.data.flags.c_contiguous
    cr.save(model, tmp_path / "mlp.safetensors")
    cr.manual_seed(1)
    fresh = MLP([4, 6, 3], batch_norm=True)
    fresh.load_state_dict(cr.load(tmp_path / "mlp.safetensors"))
    for (name, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), name
    x = cr.randn(5, 4)
    model.eval()
    fresh.eval()
    assert np.array_equal(model(x).numpy(), fresh(x).numpy())
    assert isinstance(fresh, nn.Module)

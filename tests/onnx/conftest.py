"""Shared by the ONNX tests: export a model, check the file, run it in onnxruntime and compare.

Every check exports with a batch of 2 and runs the file on a batch of 5 (a dynamic batch axis),
then compares with chainrule's output in evaluation mode to 1e-5 (float32).
"""

import numpy as np
import pytest

import chainrule as cr

ATOL = 1e-5
DIFFERENCES = []  # the largest |onnxruntime - chainrule| of every check, for the summary


def _tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _flat(outputs):
    if outputs is None:
        return []
    if isinstance(outputs, cr.Tensor):
        return [outputs]
    return [t for item in outputs for t in _flat(item)]


def session(path):
    """An onnxruntime session of the file on the CPU."""
    import onnxruntime

    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def roundtrip(model, make_inputs, path, in_axes=0, out_axes=0, atol=ATOL, opset=17,
              reference=None):
    """Export ``model`` on ``make_inputs(2)``, run the file on ``make_inputs(5)``; return the
    onnxruntime outputs after checking them against chainrule's.

    Args:
        make_inputs: batch size -> a Tensor or a tuple of Tensors.
        in_axes, out_axes: the batch axis of every input / output (an int for all, or a list;
            None for an output without one).
        reference: inputs -> chainrule's outputs (default ``model(*inputs)`` in eval mode).
    """
    import chainrule.onnx  # noqa: F401
    import onnx

    example = _tuple(make_inputs(2))
    names = ["input"] if len(example) == 1 else [f"input_{i}" for i in range(len(example))]
    if hasattr(model, "eval"):
        model.eval()
    with cr.no_grad():
        expected = _flat(reference(*example) if reference else model(*example))
    out_names = ["output"] if len(expected) == 1 else \
        [f"output_{i}" for i in range(len(expected))]
    in_axes = in_axes if isinstance(in_axes, list) else [in_axes] * len(names)
    out_axes = out_axes if isinstance(out_axes, list) else [out_axes] * len(out_names)
    dynamic = {n: {a: "batch"} for n, a in zip(names + out_names, in_axes + out_axes)
               if a is not None}
    proto = cr.onnx.export(model, example, path, input_names=names, output_names=out_names,
                           dynamic_axes=dynamic, opset_version=opset)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert [o.name for o in proto.graph.output] == out_names
    inputs = _tuple(make_inputs(5))
    with cr.no_grad():
        expected = _flat(reference(*inputs) if reference else model(*inputs))
    got = session(path).run(None, {n: t.numpy() for n, t in zip(names, inputs)})
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        e = e.numpy()
        assert g.shape == e.shape and g.dtype == e.dtype
        finite = np.isfinite(e)
        assert (np.isfinite(g) == finite).all() and (g[~finite] == e[~finite]).all()
        difference = float(np.abs(g[finite] - e[finite]).max()) if finite.any() else 0.0
        DIFFERENCES.append(difference)
        assert difference <= atol, f"max |onnxruntime - chainrule| = {difference}"
    return got


@pytest.fixture
def check(tmp_path):
    """``check(model, make_inputs, ...)``: :func:`roundtrip` into a temporary file."""
    def run(model, make_inputs, **kwargs):
        return roundtrip(model, make_inputs, tmp_path / "model.onnx", **kwargs)

    return run


@pytest.fixture
def ort_session():
    """``ort_session(path)``: an onnxruntime session of a file on the CPU."""
    return session


def pytest_terminal_summary(terminalreporter):
    if DIFFERENCES:
        terminalreporter.write_line(f"onnx: {len(DIFFERENCES)} outputs compared, max "
                                    f"|onnxruntime - chainrule| = {max(DIFFERENCES):.3g}")

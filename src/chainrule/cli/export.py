"""``chainrule export CKPT --onnx FILE.onnx``: a checkpoint's model as an ONNX file.

The model is rebuilt from the checkpoint as ``evaluate`` and ``predict`` rebuild it, and exported
by :func:`chainrule.onnx.export` on an example input made from the run's configuration: a batch
of one sample of the training data's shape (noise vectors z for a GAN, int64 token indices for
a language model). The batch axis is dynamic unless ``--static-batch`` (a language model's
sequence axis too, up to its block size).
"""

from __future__ import annotations

import os

import numpy as np

import chainrule as cr
from chainrule.cli import UsageError
from chainrule.cli.checkpoints import rebuild


def example_input(model, config: dict) -> tuple:
    """(a batch of one example input, ``{axis: label}`` of its free axes) for the run's model."""
    in_shape = tuple(config["model_args"]["in_shape"])
    if config["task"] == "generation":  # the generator reads noise vectors z
        return cr.zeros(1, model.latent_dim), {0: "batch"}
    if config["task"] == "language":  # windows of token indices, up to block_size long
        return cr.zeros(1, *in_shape, dtype=cr.int64), {0: "batch", 1: "sequence"}
    dtype = next(iter(model.parameters())).dtype
    return cr.zeros(1, *in_shape, dtype=dtype), {0: "batch"}


def _describe(value) -> str:
    """``input float32[batch, 64]`` of a graph input or output."""
    import onnx

    dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type))
    dims = [d.dim_param or str(d.dim_value) for d in value.type.tensor_type.shape.dim]
    return f"{value.name} {dtype}[{', '.join(dims)}]"


def export(args) -> None:
    """Write the ONNX file of ``args.checkpoint``'s model and print one line saying what."""
    from chainrule.onnx import MIN_OPSET
    from chainrule.onnx import export as onnx_export

    try:
        import onnx
    except ImportError:
        raise ImportError("export needs the onnx package: pip install 'chainrule[onnx]'") \
            from None
    latest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= args.opset <= latest:
        raise UsageError(f"--opset must be in [{MIN_OPSET}, {latest}], got {args.opset}")
    folder = os.path.dirname(os.path.abspath(args.onnx))
    if not os.path.isdir(folder):
        raise UsageError(f"the folder of --onnx {args.onnx!r} does not exist")
    model, config = rebuild(args.checkpoint)
    example, axes = example_input(model, config)
    dynamic = None if args.static_batch else {"input": axes, "output": axes}
    proto = onnx_export(model, example, args.onnx, input_names=["input"],
                        output_names=["output"], dynamic_axes=dynamic, opset_version=args.opset)
    inputs = ", ".join(_describe(v) for v in proto.graph.input)
    outputs = ", ".join(_describe(v) for v in proto.graph.output)
    print(f"wrote {args.onnx}: {config['model']} model, {inputs} -> {outputs} (opset "
          f"{args.opset})")

"""`chainrule.onnx`: export models to ONNX, PyTorch's ``torch.onnx.export`` call.

Example:
    >>> import chainrule as cr
    >>> model = cr.models.MLP([4, 16, 3])
    >>> cr.onnx.export(model, cr.randn(1, 4), "mlp.onnx",
    ...                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    >>> import onnxruntime
    >>> session = onnxruntime.InferenceSession("mlp.onnx", providers=["CPUExecutionProvider"])
    >>> session.run(None, {"input": x.numpy()})[0]        # == model(x).numpy()

Importing this package needs nothing beyond chainrule; :func:`export` needs the ``onnx``
package (``pip install 'chainrule[onnx]'``). :func:`supported_modules` lists the module types
with a converter; :func:`register` adds one.
"""

from chainrule.onnx.exporter import MIN_OPSET, export  # noqa: F401
from chainrule.onnx.registry import (  # noqa: F401
    UnsupportedModuleError,
    register,
    supported_modules,
)
from chainrule.onnx.value import Value  # noqa: F401

__all__ = ["export", "register", "supported_modules", "UnsupportedModuleError", "Value",
           "MIN_OPSET"]

"""Export to other runtimes: ``export_onnx`` (needs ``pip install 'deltaprop[onnx]'``)."""
from .onnx import export_onnx, to_onnx_model

__all__ = ["export_onnx", "to_onnx_model"]

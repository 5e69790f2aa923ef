"""Search spaces: canonical arch strings, sampling, enumeration and ONNX builders.

Example::

    from fewlat.spaces import get_space
    nb201 = get_space("nb201")
    arch = nb201.supernet()
    onnx_bytes = nb201.to_onnx(arch)              # weightless
    runnable = nb201.to_onnx(arch, with_weights=True)
"""

from fewlat.spaces._base import Space
from fewlat.spaces._onnx_builder import OPSET, OnnxBuilder
from fewlat.spaces._registry import SPACE_NAMES, get_space

__all__ = ["OPSET", "SPACE_NAMES", "OnnxBuilder", "Space", "get_space"]

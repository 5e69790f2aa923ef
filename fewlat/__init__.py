"""fewlat: few-shot latency prediction for neural networks on unseen devices.

The subpackages follow the data flow of DESIGN.md: ``fewlat.spaces`` (search
spaces and ONNX builders), ``fewlat.meta`` (ONNX → graph → predictor, tables),
``fewlat.hwdesc`` (calibration suites, descriptors), ``fewlat.service`` (server
and admin CLI), ``fewlat.clients`` (SDK, runners, client CLI), ``fewlat.v1``
(generated protobuf code).
"""

from fewlat.exceptions import FewlatError

__all__ = ["FewlatError", "__version__"]

__version__ = "0.1.0"

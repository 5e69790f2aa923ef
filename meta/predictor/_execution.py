"""Which model a device's measurements describe: fewlat's ONNX or the eager reference.

A device whose table metadata names a ``runtime`` was measured by a fewlat
runner on the space's ONNX model (:meth:`Space.to_model`). Any other device,
e.g. every device of HELP's tables, is taken to have run the space's
reference implementation eagerly (:meth:`Space.eager_model`). The two differ
only for spaces with ``has_eager_variant`` (NB201).
"""

from __future__ import annotations

from fewlat.meta.tables import LatencyTable

__all__ = ["EXECUTIONS", "runs_eagerly"]

#: the values of the ``--execution`` option: decide per device, or force one model
EXECUTIONS = ("auto", "onnx", "eager")


def runs_eagerly(table: LatencyTable, device: str, execution: str = "auto") -> bool:
    """Whether ``device``'s measurements describe the eager model (see module docstring)."""
    if execution != "auto":
        return execution == "eager"
    return "runtime" not in table.device_info.get(device, {})

"""ONNX → :class:`ModelGraph`: the model reduced to what latency depends on.

Example::

    from fewlat.meta.graph import encode
    graph = encode(open("model.onnx", "rb").read())
    graph.macs, graph.params, graph.n_nodes
"""

from fewlat.meta.graph._costs import ELEMENTWISE_FLOPS
from fewlat.meta.graph._encode import encode
from fewlat.meta.graph._load import DEFAULT_MAX_BYTES, DEFAULT_MAX_NODES, load_model
from fewlat.meta.graph._model_graph import ModelGraph, Node, Shape

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_NODES",
    "ELEMENTWISE_FLOPS",
    "ModelGraph",
    "Node",
    "Shape",
    "encode",
    "load_model",
]

"""Generated protobuf and gRPC code of the ``fewlat.v1`` API.

The source of truth is ``proto/fewlat/v1/fewlat.proto``; ``python proto/generate.py``
rewrites ``fewlat_pb2.py``, ``fewlat_pb2.pyi`` and ``fewlat_pb2_grpc.py``.
"""

from fewlat.v1 import fewlat_pb2, fewlat_pb2_grpc

__all__ = ["fewlat_pb2", "fewlat_pb2_grpc"]

"""Generated protobuf and gRPC code of the ``fewlat.v1`` API (added with the service)."""

__all__: list[str] = []

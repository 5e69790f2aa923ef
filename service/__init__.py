"""Server side: gRPC servicers, handlers, store, settings, and the ``fewlat`` admin CLI."""

__all__: list[str] = []

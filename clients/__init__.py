"""Client side: SDK, runners and the ``fewlat-client`` CLI."""

__all__: list[str] = []

"""Server side: the gRPC server, its handlers, store, auth and settings; the ``fewlat`` CLI.

One request's path: :mod:`._servicer` (authenticate, convert) →
:mod:`.handlers` (logic) → :mod:`.store` (durable) and the adapted predictors →
:mod:`._convert` back to messages. Errors become status codes in one table,
:mod:`fewlat._status`.

Example::

    from fewlat.service import Server, Settings
    with Server(Settings(address="127.0.0.1:0")) as server:
        ...  # fewlat.clients.Client(server.address)
"""

from fewlat.service._auth import TokenBook, add_token, hash_token
from fewlat.service._server import SERVICE_NAME, Server
from fewlat.service._settings import Settings, default_db_url

__all__ = [
    "SERVICE_NAME",
    "Server",
    "Settings",
    "TokenBook",
    "add_token",
    "default_db_url",
    "hash_token",
]

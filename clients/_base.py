"""What the sync and the asyncio SDK clients share: their checked settings and the
mapping of a failed call to a :mod:`fewlat.exceptions` class."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import grpc

from fewlat._status import ERROR_METADATA, error_for_status
from fewlat._wire import DEFAULT_ADDRESS, MAX_MESSAGE_BYTES
from fewlat.clients._requests import MESSAGE_OVERHEAD_BYTES
from fewlat.exceptions import (
    AuthenticationError,
    FewlatError,
    ServiceUnavailableError,
    invalid_parameter,
)
from fewlat.v1 import fewlat_pb2_grpc

__all__ = ["DEFAULT_SERVER", "TOKEN_ENV", "ClientBase"]

#: where ``fewlat serve`` listens by default
DEFAULT_SERVER = DEFAULT_ADDRESS
#: the environment variable a token is read from when none is given
TOKEN_ENV = "FEWLAT_TOKEN"


class ClientBase:
    """Checked connection settings (the arguments of :class:`~fewlat.clients.Client`)
    and the channel that a subclass's :meth:`_open_channel` opens.

    Raises:
        InvalidParameterError: a bad ``server``, ``timeout_s`` or ``max_message_bytes``.
        OSError: ``tls_ca`` cannot be read.
    """

    def __init__(
        self,
        server: str = DEFAULT_SERVER,
        *,
        token: str | None = None,
        tls_ca: str | os.PathLike[str] | None = None,
        timeout_s: float = 60.0,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(server, str) or not server.strip():
            raise invalid_parameter("server", owner, "a HOST:PORT string", server)
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or timeout_s <= 0:
            raise invalid_parameter("timeout_s", owner, "a number of seconds > 0", timeout_s)
        least = 2 * MESSAGE_OVERHEAD_BYTES
        if (
            isinstance(max_message_bytes, bool)
            or not isinstance(max_message_bytes, int)
            or max_message_bytes < least
        ):
            raise invalid_parameter(
                "max_message_bytes", owner, f"an int >= {least}", max_message_bytes
            )
        self.server = server.strip()
        self.timeout_s = float(timeout_s)
        self.max_message_bytes = max_message_bytes
        if token is None:
            token = os.environ.get(TOKEN_ENV)
        token = (token or "").strip()
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None
        self._options = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
        ]
        self._credentials = (
            None
            if tls_ca is None
            else grpc.ssl_channel_credentials(root_certificates=Path(tls_ca).read_bytes())
        )
        self._channel = self._open_channel()
        self._stub = fewlat_pb2_grpc.FewlatStub(self._channel)

    def _open_channel(self) -> Any:
        """The channel to ``server`` with ``_credentials`` (TLS) or plaintext, and ``_options``."""
        raise NotImplementedError

    @property
    def has_token(self) -> bool:
        """Whether calls carry a bearer token."""
        return self._metadata is not None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.server!r}, token={'set' if self.has_token else None})"

    def _error(self, err: grpc.RpcError) -> FewlatError | None:
        """The fewlat exception for a failed call, or None to let ``err`` propagate."""
        code = err.code() if callable(getattr(err, "code", None)) else None
        details = (err.details() if callable(getattr(err, "details", None)) else None) or ""
        if code is None:
            return None
        if code == grpc.StatusCode.UNAVAILABLE:
            return ServiceUnavailableError(
                f"cannot reach the fewlat server at {self.server}: {details}. "
                "Is `fewlat serve` running there? Pass --server HOST:PORT otherwise. "
                + (
                    "Over TLS, HOST must be a name in the server's certificate and --tls-ca "
                    "the CA that signed it."
                    if self._credentials is not None
                    else "If it serves TLS, pass --tls-ca CA.pem (Client(tls_ca=...) in Python)."
                )
            )
        if code == grpc.StatusCode.UNAUTHENTICATED and not self.has_token:
            hint = f"set {TOKEN_ENV}, or pass --token-file F (Client(token=...) in Python)"
            said = "" if not details or TOKEN_ENV in details else f" ({details.rstrip('.')})"
            return AuthenticationError(
                f"the fewlat server at {self.server} needs a bearer token{said}: {hint}."
            )
        trailing = (
            err.trailing_metadata() if callable(getattr(err, "trailing_metadata", None)) else None
        )
        name = next((v for k, v in trailing or () if k == ERROR_METADATA), None)
        return error_for_status(code, details, name)

    def _raise(self, err: grpc.RpcError) -> NoReturn:
        mapped = self._error(err)
        if mapped is None:
            raise err
        raise mapped from None

"""Bearer-token authentication: tokens live in a file as SHA-256 hashes, never in clear.

The token file has one ``PRINCIPAL sha256:HEX`` line per token (``#`` starts a
comment). ``fewlat token add NAME --file F`` appends a line and prints the new
token once. A call authenticates with the metadata
``authorization: Bearer <token>``; the principal it maps to owns the devices it
registers (see :mod:`fewlat.service.handlers`).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

from fewlat._files import replace_atomically
from fewlat.exceptions import AuthenticationError, InvalidParameterError

__all__ = ["TokenBook", "add_token", "hash_token"]

_LINE = re.compile(r"^(?P<principal>[A-Za-z0-9._@+-]{1,100})\s+sha256:(?P<digest>[0-9a-f]{64})$")


def hash_token(token: str) -> str:
    """``sha256:HEX`` of a token, the form the token file stores."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


class TokenBook:
    """Principals by token hash, read from a token file.

    Args:
        entries: ``{sha256 hex digest: principal}``.
    """

    def __init__(self, entries: dict[str, str]) -> None:
        self._principals = dict(entries)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> TokenBook:
        """Parse a token file.

        Raises:
            InvalidParameterError: a line that is not ``PRINCIPAL sha256:HEX`` (with its
                number), or a file with no token.
            OSError: the file cannot be read.
        """
        entries = {}
        for number, raw in enumerate(Path(path).read_text().splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            match = _LINE.match(line)
            if match is None:
                raise InvalidParameterError(
                    f"{path}:{number} is not 'PRINCIPAL sha256:HEX'; make tokens with "
                    "`fewlat token add NAME --file FILE`, which stores only their hash."
                )
            entries[match["digest"]] = match["principal"]
        if not entries:
            raise InvalidParameterError(
                f"{path} holds no token; add one with `fewlat token add NAME --file {path}`."
            )
        return cls(entries)

    def principal(self, metadata: Iterable[tuple[str, str | bytes]]) -> str:
        """The principal of the call's ``authorization: Bearer …`` metadata.

        Raises:
            AuthenticationError: no bearer token, or a token not in the file.
        """
        header = next((str(v) for k, v in metadata if k == "authorization"), "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(
                "this server requires a bearer token: pass --token-file FILE to fewlat-client "
                "or set FEWLAT_TOKEN (the SDK sends 'authorization: Bearer <token>')."
            )
        principal = self._principals.get(hash_token(token.strip()).removeprefix("sha256:"))
        if principal is None:
            raise AuthenticationError("the bearer token is not known to this server.")
        return principal


def add_token(path: str | os.PathLike[str], principal: str) -> str:
    """Append a new random token for ``principal`` to the token file; return the token
    (shown once: the file keeps only its hash).

    Raises:
        InvalidParameterError: a principal name outside ``[A-Za-z0-9._@+-]{1,100}``.
    """
    token = secrets.token_urlsafe(32)
    line = f"{principal} {hash_token(token)}"
    if _LINE.match(line) is None:
        raise InvalidParameterError(
            f"The principal name must be 1-100 letters, digits or ._@+-. Got {principal!r} instead."
        )
    path = Path(path)
    existing = path.read_text() if path.exists() else ""
    if existing and not existing.endswith("\n"):
        existing += "\n"
    replace_atomically(path, existing + line + "\n")
    os.chmod(path, 0o600)
    return token

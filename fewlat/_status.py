"""The one table mapping fewlat's exceptions to gRPC status codes.

The server aborts a call with the code of the first row whose class the error
is an instance of, and ``details=str(error)``, and names the class in the
trailing metadata ``fewlat-error``; the client raises that class again (or,
for an unnamed one, the first row's class with the code), so a caller catches
the same :mod:`fewlat.exceptions` class on both sides of the wire.
"""

from __future__ import annotations

import grpc

from fewlat.exceptions import (
    AuthenticationError,
    FewlatError,
    InvalidArchError,
    InvalidMeasurementError,
    InvalidModelError,
    InvalidParameterError,
    ModelTooLargeError,
    NotCalibratedError,
    NotFittedError,
    PermissionDeniedError,
    ServiceUnavailableError,
    SuiteMismatchError,
    TableError,
    UnknownDeviceError,
    UnknownJobError,
)

__all__ = ["ERROR_METADATA", "STATUS_TABLE", "error_for_status", "status_for_error"]

#: trailing-metadata key naming the exception class of a failed call
ERROR_METADATA = "fewlat-error"

#: (exception class, status code), most specific first; the first match wins
STATUS_TABLE: tuple[tuple[type[FewlatError], grpc.StatusCode], ...] = (
    (InvalidParameterError, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidModelError, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidArchError, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidMeasurementError, grpc.StatusCode.INVALID_ARGUMENT),
    (TableError, grpc.StatusCode.INVALID_ARGUMENT),
    (UnknownDeviceError, grpc.StatusCode.NOT_FOUND),
    (UnknownJobError, grpc.StatusCode.NOT_FOUND),
    (NotCalibratedError, grpc.StatusCode.FAILED_PRECONDITION),
    (SuiteMismatchError, grpc.StatusCode.FAILED_PRECONDITION),
    (NotFittedError, grpc.StatusCode.FAILED_PRECONDITION),
    (ModelTooLargeError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (AuthenticationError, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (ServiceUnavailableError, grpc.StatusCode.UNAVAILABLE),
)


def status_for_error(error: FewlatError) -> grpc.StatusCode:
    """The status code of ``error`` (INTERNAL for a FewlatError with no row)."""
    for cls, code in STATUS_TABLE:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.INTERNAL


def error_for_status(
    code: grpc.StatusCode, details: str, name: str | None = None
) -> FewlatError | None:
    """The exception a client raises for a failed call, or None for codes with no row
    (deadlines, cancellations, INTERNAL): those stay :class:`grpc.RpcError`.

    Args:
        name: the class name the server sent (:data:`ERROR_METADATA`); used when it is
            a :mod:`fewlat.exceptions` class that maps to ``code``.
    """
    import fewlat.exceptions

    named = getattr(fewlat.exceptions, name or "", None)
    if (
        isinstance(named, type)
        and issubclass(named, FewlatError)
        and status_for_error(named(details)) == code
    ):
        return named(details)
    for cls, row_code in STATUS_TABLE:
        if row_code == code:
            return cls(details)
    return None

"""The one exception tree of fewlat.

Every error that fewlat raises on purpose is a :class:`FewlatError`. Each
subclass says what kind of input was wrong, and its message says what to do.
The service maps these classes to gRPC status codes in one table.

::

    FewlatError
    ├── InvalidParameterError (ValueError)    a bad argument at a public boundary
    │   └── UnknownSpaceError                 a search-space name that is not registered
    ├── InvalidArchError (ValueError)         an arch string that its space rejects
    ├── NotEnumerableError                    enumerate() on an infinite space
    ├── InvalidModelError (ValueError)        ONNX bytes that cannot be encoded
    │   ├── UnsafeModelError                  external data, or another thing never accepted
    │   ├── UnsupportedModelError             valid ONNX that fewlat cannot reduce (If/Loop …)
    │   └── SymbolicShapeError                an input with symbolic dims and no override
    ├── ModelTooLargeError                    over the byte-size or node-count limit
    ├── TableError (ValueError)               a latency table that is malformed or inconsistent
    │   └── TableEntryMissingError (KeyError) a (space, arch, device) the table does not hold
    ├── NotFittedError (ValueError, AttributeError)  predictor used before fit/adapt
    ├── MissingDependencyError (ImportError)  an optional extra that is not installed
    ├── InvalidMeasurementError (ValueError)  a timing that is not finite and > 0
    ├── UnknownDeviceError (KeyError)         a device name the store does not hold
    ├── UnknownJobError (KeyError)            a job id the store does not hold
    ├── NotCalibratedError                    predicting on a device with no calibration yet
    ├── SuiteMismatchError                    timings of a suite version the server does not serve
    ├── AuthenticationError                   no bearer token, or one that is not known
    ├── PermissionDeniedError                 a known token acting on another token's device
    └── ServiceUnavailableError               the client cannot reach the server
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "FewlatError",
    "InvalidArchError",
    "InvalidMeasurementError",
    "InvalidModelError",
    "InvalidParameterError",
    "MissingDependencyError",
    "ModelTooLargeError",
    "NotCalibratedError",
    "NotEnumerableError",
    "NotFittedError",
    "PermissionDeniedError",
    "ServiceUnavailableError",
    "SuiteMismatchError",
    "SymbolicShapeError",
    "TableEntryMissingError",
    "TableError",
    "UnknownDeviceError",
    "UnknownJobError",
    "UnknownSpaceError",
    "UnsafeModelError",
    "UnsupportedModelError",
    "invalid_parameter",
]


class FewlatError(Exception):
    """Base class of every error fewlat raises on purpose."""


class InvalidParameterError(FewlatError, ValueError):
    """A public function got an argument outside its documented domain."""


class UnknownSpaceError(InvalidParameterError):
    """A search-space name that is not registered."""


class InvalidArchError(FewlatError, ValueError):
    """An arch string that its search space does not accept."""


class NotEnumerableError(FewlatError):
    """``enumerate()`` was called on a space with no finite member list."""


class InvalidModelError(FewlatError, ValueError):
    """ONNX input that cannot be parsed or reduced to a ModelGraph."""


class UnsafeModelError(InvalidModelError):
    """ONNX input that fewlat refuses on principle, e.g. external-data references."""


class UnsupportedModelError(InvalidModelError):
    """Valid ONNX that uses a construct fewlat does not reduce, e.g. If/Loop subgraphs."""


class SymbolicShapeError(InvalidModelError):
    """A graph input has symbolic or unknown dims and no ``input_shapes`` override."""


class ModelTooLargeError(FewlatError):
    """The model is over the byte-size or node-count limit."""


class _MissingKey(FewlatError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class TableError(FewlatError, ValueError):
    """A latency table that is malformed, inconsistent or cannot be written."""


class TableEntryMissingError(TableError, _MissingKey):
    """The table holds no value for the requested (arch, device)."""


class NotFittedError(FewlatError, ValueError, AttributeError):
    """A predictor was used before ``fit``/``adapt``."""


class MissingDependencyError(FewlatError, ImportError):
    """An optional dependency is not installed; the message carries the pip hint."""


class InvalidMeasurementError(FewlatError, ValueError):
    """A submitted timing that is not a finite number of milliseconds > 0."""


class UnknownDeviceError(_MissingKey):
    """A device name that is not registered."""


class UnknownJobError(_MissingKey):
    """A job id that the store does not hold."""


class NotCalibratedError(FewlatError):
    """A device that has no calibration yet was asked for a prediction."""


class SuiteMismatchError(FewlatError):
    """Timings of a suite version (or model hash) other than the one the server serves."""


class AuthenticationError(FewlatError):
    """The call carries no bearer token, or a token the server does not know."""


class PermissionDeniedError(FewlatError):
    """A known token tried to change a device registered by another token."""


class ServiceUnavailableError(FewlatError):
    """The client could not reach the fewlat server."""


def invalid_parameter(name: str, owner: str, expected: str, got: object) -> InvalidParameterError:
    """Build the one-template parameter error.

    Example: ``The 'n' parameter of Space.sample must be an int >= 0. Got -1 instead.``
    """
    return InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {got!r} instead."
    )

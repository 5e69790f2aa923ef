"""ONNX → MNN conversion through the MNN wheel's compiled converter.

Only the C extension ``_tools`` is called. ``MNN.tools`` and the ``mnnconvert``
console script are never imported: their logging module runs
``pip install aliyun-log-python-sdk`` at import time, which downgrades protobuf
below what onnx needs.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile

from fewlat.exceptions import InvalidModelError, MissingDependencyError

__all__ = ["convert_onnx_to_mnn"]

_HINT = "MNN is not installed. Install it with: pip install 'fewlat[mnn]'"


#: runs the compiled converter in a child process (argv[1:] are its arguments)
_CHILD = "import sys, _tools; sys.exit(0 if _tools.mnnconvert(sys.argv[1:]) else 1)"


def convert_onnx_to_mnn(onnx_bytes: bytes, *, isolated: bool = False) -> bytes:
    """Convert a serialised ONNX model to MNN's flatbuffer format.

    Args:
        onnx_bytes: the ONNX model (with weights; MNN needs initializer data).
        isolated: run the converter in a child Python process, so that a
            converter crash on a hostile model cannot take this process down
            (default: in this process, which is faster).

    Returns:
        The ``.mnn`` model bytes.

    Raises:
        MissingDependencyError: the ``MNN`` wheel is not installed.
        InvalidModelError: the converter rejected the model.
    """
    try:
        import _tools  # the compiled converter shipped in the MNN wheel
    except ImportError as err:
        raise MissingDependencyError(_HINT) from err
    with tempfile.TemporaryDirectory(prefix="fewlat-mnn-") as tmp:
        src = os.path.join(tmp, "model.onnx")
        dst = os.path.join(tmp, "model.mnn")
        with open(src, "wb") as f:
            f.write(onnx_bytes)
        args = [
            "mnnconvert",
            "-f",
            "ONNX",
            "--modelFile",
            src,
            "--MNNModel",
            dst,
            "--bizCode",
            "fewlat",
        ]
        if isolated:
            child = subprocess.run(
                [sys.executable, "-c", _CHILD, *args], capture_output=True, check=False
            )
            ok = child.returncode == 0
        else:
            with _quiet_stdout():
                ok = _tools.mnnconvert(args)
        if not ok or not os.path.exists(dst) or os.path.getsize(dst) == 0:
            raise InvalidModelError("MNN's converter rejected the model (see its log above).")
        with open(dst, "rb") as f:
            return f.read()


@contextlib.contextmanager
def _quiet_stdout():
    """Silence the converter's progress lines, which it prints at the C level."""
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)

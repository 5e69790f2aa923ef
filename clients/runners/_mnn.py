"""``MnnRunner``: converts ONNX to MNN (cached by content hash) and times it with MNN."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fewlat.clients._mnn_convert import convert_onnx_to_mnn
from fewlat.clients.runners._base import ModelInput, Runner, Session
from fewlat.clients.runners._checks import check_choice, check_count
from fewlat.clients.runners._inputs import make_inputs, prepare_model
from fewlat.clients.runners._timing import TimingMethod
from fewlat.exceptions import InvalidModelError, MissingDependencyError

__all__ = ["MnnConversionCache", "MnnRunner"]

PRECISIONS = ("normal", "low", "high")
APIS = ("session", "module")
CONVERTERS = ("inprocess", "subprocess")


def _import_mnn() -> Any:
    try:
        import MNN
    except ImportError as err:
        raise MissingDependencyError(
            "The 'mnn' runner needs MNN, which is not installed. "
            "Install it with: pip install 'fewlat[mnn]'  (or: pip install MNN)"
        ) from err
    return MNN


class MnnConversionCache:
    """ONNX → ``.mnn`` files, keyed by the SHA-256 of the ONNX bytes.

    Files live in ``directory`` (default: a private temporary folder removed at
    exit); the least recently used beyond ``max_entries`` are deleted. Safe to
    share between runners and threads.

    Args:
        max_entries: most converted models kept (default 64).
        directory: where to keep them; kept across runs when given.
        isolated: convert in a child process (see :func:`convert_onnx_to_mnn`).
    """

    def __init__(
        self,
        max_entries: int = 64,
        directory: str | os.PathLike[str] | None = None,
        *,
        isolated: bool = False,
    ) -> None:
        self.max_entries = check_count(max_entries, "max_entries", "MnnConversionCache")
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fewlat-mnn-cache-")
            directory = self._tmp.name
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.isolated = isolated
        self._order: OrderedDict[str, Path] = OrderedDict()
        self._lock = threading.Lock()
        self.conversions = 0

    def path_for(self, onnx_bytes: bytes) -> Path:
        """The ``.mnn`` file of ``onnx_bytes``, converting only on a cache miss.

        Raises:
            MissingDependencyError: MNN is not installed.
            InvalidModelError: the converter rejected the model.
        """
        key = hashlib.sha256(onnx_bytes).hexdigest()
        path = self.directory / f"{key}.mnn"
        with self._lock:
            if key in self._order or path.is_file():
                self._order[key] = path
                self._order.move_to_end(key)
                return path
        converted = convert_onnx_to_mnn(onnx_bytes, isolated=self.isolated)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        partial.write_bytes(converted)
        os.replace(partial, path)
        with self._lock:
            self.conversions += 1
            self._order[key] = path
            while len(self._order) > self.max_entries:
                _, old = self._order.popitem(last=False)
                old.unlink(missing_ok=True)
        return path


_SHARED_CACHE: MnnConversionCache | None = None


def _shared_cache(converter: str) -> MnnConversionCache:
    global _SHARED_CACHE
    if converter == "subprocess":
        return MnnConversionCache(isolated=True)
    if _SHARED_CACHE is None:
        _SHARED_CACHE = MnnConversionCache()
    return _SHARED_CACHE


class MnnRunner(Runner):
    """Time models with MNN's CPU backend.

    Args:
        threads: ``numThread`` (default 1).
        precision: ``"normal"`` (default), ``"low"`` or ``"high"``; low
            precision only changes timings on CPUs with fp16/bf16 kernels.
        api: ``"session"`` (Interpreter/Session, default) or ``"module"`` (``MNN.nn``).
        converter: ``"inprocess"`` (default) or ``"subprocess"`` (a converter
            crash cannot kill this process).
        batch_size: the batch fed to the model (default 1).
        cache: the conversion cache (default: one shared by every in-process runner).
        method, pin_cpus: as :class:`Runner`.

    Raises:
        MissingDependencyError: MNN is not installed; the message has the pip command.
        InvalidParameterError: a setting outside the choices above.
    """

    kind = "mnn"

    def __init__(
        self,
        *,
        threads: int = 1,
        precision: str = "normal",
        api: str = "session",
        converter: str = "inprocess",
        batch_size: int = 1,
        cache: MnnConversionCache | None = None,
        method: TimingMethod | None = None,
        pin_cpus: Sequence[int] | None = None,
    ) -> None:
        super().__init__(method=method, pin_cpus=pin_cpus)
        owner = "MnnRunner"
        self.threads = check_count(threads, "threads", owner)
        self.precision = check_choice(precision, "precision", owner, PRECISIONS)
        self.api = check_choice(api, "api", owner, APIS)
        self.converter = check_choice(converter, "converter", owner, CONVERTERS)
        self.batch_size = check_count(batch_size, "batch_size", owner)
        self._mnn = _import_mnn()
        self.cache = cache or _shared_cache(self.converter)

    @property
    def settings(self) -> dict[str, Any]:
        return {
            "runtime": "mnn",
            "version": self._mnn.version(),
            "backend": "cpu",
            "threads": self.threads,
            "precision": self.precision,
            "api": self.api,
            "batch_size": self.batch_size,
        }

    def _open(self, model: ModelInput) -> Session:
        prepared = prepare_model(model.onnx_bytes(), batch_size=self.batch_size)
        path = str(self.cache.path_for(prepared.onnx_bytes))
        if len(prepared.inputs) != 1:
            raise InvalidModelError(
                f"The MNN runner feeds one input; this model has {len(prepared.inputs)}."
            )
        spec = prepared.inputs[0]
        data = make_inputs(prepared.inputs, self.method.seed)[spec.name]
        try:
            if self.api == "module":
                run = self._open_module(path, data)
            else:
                run = self._open_session(path, data)
            run()  # fail here, untimed, if the model cannot run at all
        except InvalidModelError:
            raise
        except Exception as err:  # MNN raises bare Exceptions
            raise InvalidModelError(f"MNN could not load or run the model: {err}") from err
        return Session(run)

    def _open_session(self, path: str, data: Any) -> Any:
        mnn = self._mnn
        interpreter = mnn.Interpreter(path)
        session = interpreter.createSession(
            {"numThread": self.threads, "precision": self.precision, "backend": "CPU"}
        )
        if session is None:
            raise InvalidModelError("MNN could not create a session for the model.")
        tensor = interpreter.getSessionInput(session)
        host = mnn.Tensor(
            tuple(data.shape),
            mnn.Halide_Type_Float,
            data.astype("float32"),
            mnn.Tensor_DimensionType_Caffe,
        )
        tensor.copyFrom(host)

        def run() -> None:
            interpreter.runSession(session)

        run.keep = (interpreter, session, host)  # type: ignore[attr-defined]
        return run

    def _open_module(self, path: str, data: Any) -> Any:
        import MNN.expr as expr
        import MNN.nn as nn

        runtime = nn.create_runtime_manager(
            ({"numThread": self.threads, "precision": self.precision, "backend": 0},)
        )
        module = nn.load_module_from_file(path, [], [], runtime_manager=runtime)
        x = expr.const(data.astype("float32"), list(data.shape), expr.NCHW)

        def run() -> None:
            y = module.forward(x)
            (y[0] if isinstance(y, list) else y).read()

        run.keep = (runtime, module, x)  # type: ignore[attr-defined]
        return run

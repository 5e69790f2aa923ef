"""``OnnxRuntimeRunner``: times ONNX models with onnxruntime (CPU, or CUDA when present)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fewlat.clients.runners._base import ModelInput, Runner, Session
from fewlat.clients.runners._checks import check_choice, check_count
from fewlat.clients.runners._inputs import make_inputs, prepare_model
from fewlat.clients.runners._timing import TimingMethod
from fewlat.exceptions import InvalidModelError, MissingDependencyError

__all__ = ["OnnxRuntimeRunner"]

OPTIMIZATIONS = ("all", "extended", "basic", "disabled")
EXECUTIONS = ("sequential", "parallel")
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as err:
        raise MissingDependencyError(
            "The 'ort' runner needs onnxruntime, which is not installed. "
            "Install it with: pip install 'fewlat[ort]'  (or: pip install onnxruntime)"
        ) from err
    return onnxruntime


class OnnxRuntimeRunner(Runner):
    """Time models with onnxruntime.

    Args:
        threads: intra-op threads (default 1).
        inter_op_threads: inter-op threads, used by ``execution="parallel"`` (default 1).
        optimization: graph optimisation level: ``"all"`` (default),
            ``"extended"``, ``"basic"`` or ``"disabled"``.
        execution: ``"sequential"`` (default) or ``"parallel"`` node execution.
        provider: ``"cpu"`` (default) or ``"cuda"``.
        batch_size: the batch fed to the model (default 1; the model's first
            input dim is rewritten).
        method, pin_cpus: as :class:`Runner`.

    Raises:
        MissingDependencyError: onnxruntime is not installed, or ``provider="cuda"``
            and this onnxruntime has no CUDA provider; the message has the pip command.
        InvalidParameterError: a setting outside the choices above.
    """

    kind = "ort"

    def __init__(
        self,
        *,
        threads: int = 1,
        inter_op_threads: int = 1,
        optimization: str = "all",
        execution: str = "sequential",
        provider: str = "cpu",
        batch_size: int = 1,
        method: TimingMethod | None = None,
        pin_cpus: Sequence[int] | None = None,
    ) -> None:
        super().__init__(method=method, pin_cpus=pin_cpus)
        owner = "OnnxRuntimeRunner"
        self.threads = check_count(threads, "threads", owner)
        self.inter_op_threads = check_count(inter_op_threads, "inter_op_threads", owner)
        self.optimization = check_choice(optimization, "optimization", owner, OPTIMIZATIONS)
        self.execution = check_choice(execution, "execution", owner, EXECUTIONS)
        self.provider = check_choice(provider, "provider", owner, tuple(PROVIDERS))
        self.batch_size = check_count(batch_size, "batch_size", owner)
        self._ort = _import_onnxruntime()
        if PROVIDERS[self.provider] not in self._ort.get_available_providers():
            raise MissingDependencyError(
                f"This onnxruntime has no {PROVIDERS[self.provider]} (it has "
                f"{', '.join(self._ort.get_available_providers())}). For CUDA install the GPU "
                "build: pip uninstall -y onnxruntime && pip install onnxruntime-gpu"
            )

    @property
    def exclusive_sessions(self) -> bool:  # type: ignore[override]
        """Multi-threaded sessions time one at a time: idle ones' worker threads spin."""
        return self.threads > 1 or self.inter_op_threads > 1

    @property
    def settings(self) -> dict[str, Any]:
        return {
            "runtime": "onnxruntime",
            "version": self._ort.__version__,
            "provider": self.provider,
            "threads": self.threads,
            "inter_op_threads": self.inter_op_threads,
            "optimization": self.optimization,
            "execution": self.execution,
            "batch_size": self.batch_size,
        }

    def _session_options(self) -> Any:
        ort = self._ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = self.inter_op_threads
        options.graph_optimization_level = {
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        }[self.optimization]
        options.execution_mode = (
            ort.ExecutionMode.ORT_PARALLEL
            if self.execution == "parallel"
            else ort.ExecutionMode.ORT_SEQUENTIAL
        )
        options.log_severity_level = 3
        return options

    def _open(self, model: ModelInput) -> Session:
        prepared = prepare_model(model.onnx_bytes(), batch_size=self.batch_size)
        try:
            session = self._ort.InferenceSession(
                prepared.onnx_bytes,
                self._session_options(),
                providers=[PROVIDERS[self.provider]],
            )
        except Exception as err:  # onnxruntime raises its own untyped errors
            raise InvalidModelError(f"onnxruntime could not load the model: {err}") from err
        feeds = make_inputs(prepared.inputs, self.method.seed)

        def run() -> None:
            session.run(None, feeds)

        try:
            run()  # fail here, untimed, if the model cannot run at all
        except Exception as err:
            raise InvalidModelError(f"onnxruntime could not run the model: {err}") from err
        return Session(run)

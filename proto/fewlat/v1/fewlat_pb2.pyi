from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterDeviceRequest(_message.Message):
    __slots__ = ("name", "description", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Device(_message.Message):
    __slots__ = ("name", "description", "labels", "status", "shots", "loo_error", "calibrated_at_s", "registered_at_s", "checkpoint_version", "measurement_count")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ShotsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    LOO_ERROR_FIELD_NUMBER: _ClassVar[int]
    CALIBRATED_AT_S_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_S_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_VERSION_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    labels: _containers.ScalarMap[str, str]
    status: str
    shots: _containers.ScalarMap[str, int]
    loo_error: float
    calibrated_at_s: float
    registered_at_s: float
    checkpoint_version: str
    measurement_count: int
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., status: _Optional[str] = ..., shots: _Optional[_Mapping[str, int]] = ..., loo_error: _Optional[float] = ..., calibrated_at_s: _Optional[float] = ..., registered_at_s: _Optional[float] = ..., checkpoint_version: _Optional[str] = ..., measurement_count: _Optional[int] = ...) -> None: ...

class GetCalibrationSuiteRequest(_message.Message):
    __slots__ = ("space", "shots", "without_onnx")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    WITHOUT_ONNX_FIELD_NUMBER: _ClassVar[int]
    space: str
    shots: int
    without_onnx: bool
    def __init__(self, space: _Optional[str] = ..., shots: _Optional[int] = ..., without_onnx: _Optional[bool] = ...) -> None: ...

class SuiteEntry(_message.Message):
    __slots__ = ("position", "arch", "sha256", "onnx_bytes")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    ONNX_BYTES_FIELD_NUMBER: _ClassVar[int]
    position: int
    arch: str
    sha256: str
    onnx_bytes: bytes
    def __init__(self, position: _Optional[int] = ..., arch: _Optional[str] = ..., sha256: _Optional[str] = ..., onnx_bytes: _Optional[bytes] = ...) -> None: ...

class CalibrationSuite(_message.Message):
    __slots__ = ("space", "version", "entries", "checkpoint_version", "size")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    space: str
    version: str
    entries: _containers.RepeatedCompositeFieldContainer[SuiteEntry]
    checkpoint_version: str
    size: int
    def __init__(self, space: _Optional[str] = ..., version: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[SuiteEntry, _Mapping]]] = ..., checkpoint_version: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class Timing(_message.Message):
    __slots__ = ("latency_ms", "p10_ms", "p90_ms", "repeats", "warmup_runs", "cv", "runner_json")
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    P10_MS_FIELD_NUMBER: _ClassVar[int]
    P90_MS_FIELD_NUMBER: _ClassVar[int]
    REPEATS_FIELD_NUMBER: _ClassVar[int]
    WARMUP_RUNS_FIELD_NUMBER: _ClassVar[int]
    CV_FIELD_NUMBER: _ClassVar[int]
    RUNNER_JSON_FIELD_NUMBER: _ClassVar[int]
    latency_ms: float
    p10_ms: float
    p90_ms: float
    repeats: int
    warmup_runs: int
    cv: float
    runner_json: str
    def __init__(self, latency_ms: _Optional[float] = ..., p10_ms: _Optional[float] = ..., p90_ms: _Optional[float] = ..., repeats: _Optional[int] = ..., warmup_runs: _Optional[int] = ..., cv: _Optional[float] = ..., runner_json: _Optional[str] = ...) -> None: ...

class SuiteMeasurement(_message.Message):
    __slots__ = ("position", "sha256", "timing")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    position: int
    sha256: str
    timing: Timing
    def __init__(self, position: _Optional[int] = ..., sha256: _Optional[str] = ..., timing: _Optional[_Union[Timing, _Mapping]] = ...) -> None: ...

class SubmitCalibrationRequest(_message.Message):
    __slots__ = ("device", "suite_version", "measurements", "request_id")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    SUITE_VERSION_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    device: str
    suite_version: str
    measurements: _containers.RepeatedCompositeFieldContainer[SuiteMeasurement]
    request_id: str
    def __init__(self, device: _Optional[str] = ..., suite_version: _Optional[str] = ..., measurements: _Optional[_Iterable[_Union[SuiteMeasurement, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CalibrationReport(_message.Message):
    __slots__ = ("device", "suite_version", "checkpoint_version", "shots", "loo_error", "loo_errors", "descriptor", "stored")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    SUITE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    LOO_ERROR_FIELD_NUMBER: _ClassVar[int]
    LOO_ERRORS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTOR_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    device: str
    suite_version: str
    checkpoint_version: str
    shots: int
    loo_error: float
    loo_errors: _containers.RepeatedScalarFieldContainer[float]
    descriptor: DescriptorSummary
    stored: int
    def __init__(self, device: _Optional[str] = ..., suite_version: _Optional[str] = ..., checkpoint_version: _Optional[str] = ..., shots: _Optional[int] = ..., loo_error: _Optional[float] = ..., loo_errors: _Optional[_Iterable[float]] = ..., descriptor: _Optional[_Union[DescriptorSummary, _Mapping]] = ..., stored: _Optional[int] = ...) -> None: ...

class DescriptorSummary(_message.Message):
    __slots__ = ("anchor_ms", "shots", "ratio_min", "ratio_max")
    ANCHOR_MS_FIELD_NUMBER: _ClassVar[int]
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    RATIO_MIN_FIELD_NUMBER: _ClassVar[int]
    RATIO_MAX_FIELD_NUMBER: _ClassVar[int]
    anchor_ms: float
    shots: int
    ratio_min: float
    ratio_max: float
    def __init__(self, anchor_ms: _Optional[float] = ..., shots: _Optional[int] = ..., ratio_min: _Optional[float] = ..., ratio_max: _Optional[float] = ...) -> None: ...

class ArchRef(_message.Message):
    __slots__ = ("space", "arch")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    space: str
    arch: str
    def __init__(self, space: _Optional[str] = ..., arch: _Optional[str] = ...) -> None: ...

class PredictRequest(_message.Message):
    __slots__ = ("device", "model_bytes", "arch")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    MODEL_BYTES_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    device: str
    model_bytes: bytes
    arch: ArchRef
    def __init__(self, device: _Optional[str] = ..., model_bytes: _Optional[bytes] = ..., arch: _Optional[_Union[ArchRef, _Mapping]] = ...) -> None: ...

class Prediction(_message.Message):
    __slots__ = ("latency_ms", "low_ms", "high_ms", "suite", "suite_version", "checkpoint_version", "space")
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    LOW_MS_FIELD_NUMBER: _ClassVar[int]
    HIGH_MS_FIELD_NUMBER: _ClassVar[int]
    SUITE_FIELD_NUMBER: _ClassVar[int]
    SUITE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SPACE_FIELD_NUMBER: _ClassVar[int]
    latency_ms: float
    low_ms: float
    high_ms: float
    suite: str
    suite_version: str
    checkpoint_version: str
    space: str
    def __init__(self, latency_ms: _Optional[float] = ..., low_ms: _Optional[float] = ..., high_ms: _Optional[float] = ..., suite: _Optional[str] = ..., suite_version: _Optional[str] = ..., checkpoint_version: _Optional[str] = ..., space: _Optional[str] = ...) -> None: ...

class PredictBatchRequest(_message.Message):
    __slots__ = ("device", "models", "space", "archs")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    SPACE_FIELD_NUMBER: _ClassVar[int]
    ARCHS_FIELD_NUMBER: _ClassVar[int]
    device: str
    models: _containers.RepeatedScalarFieldContainer[bytes]
    space: str
    archs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, device: _Optional[str] = ..., models: _Optional[_Iterable[bytes]] = ..., space: _Optional[str] = ..., archs: _Optional[_Iterable[str]] = ...) -> None: ...

class PredictBatchResponse(_message.Message):
    __slots__ = ("predictions",)
    PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    predictions: _containers.RepeatedCompositeFieldContainer[Prediction]
    def __init__(self, predictions: _Optional[_Iterable[_Union[Prediction, _Mapping]]] = ...) -> None: ...

class SubmitMeasurementsRequest(_message.Message):
    __slots__ = ("device", "measurements", "request_id")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    device: str
    measurements: _containers.RepeatedCompositeFieldContainer[Measurement]
    request_id: str
    def __init__(self, device: _Optional[str] = ..., measurements: _Optional[_Iterable[_Union[Measurement, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class Measurement(_message.Message):
    __slots__ = ("space", "arch", "sha256", "model_bytes", "timing")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    MODEL_BYTES_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    space: str
    arch: str
    sha256: str
    model_bytes: bytes
    timing: Timing
    def __init__(self, space: _Optional[str] = ..., arch: _Optional[str] = ..., sha256: _Optional[str] = ..., model_bytes: _Optional[bytes] = ..., timing: _Optional[_Union[Timing, _Mapping]] = ...) -> None: ...

class SubmitMeasurementsResponse(_message.Message):
    __slots__ = ("stored", "pool_size")
    STORED_FIELD_NUMBER: _ClassVar[int]
    POOL_SIZE_FIELD_NUMBER: _ClassVar[int]
    stored: int
    pool_size: int
    def __init__(self, stored: _Optional[int] = ..., pool_size: _Optional[int] = ...) -> None: ...

class ListDevicesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListDevicesResponse(_message.Message):
    __slots__ = ("devices",)
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    devices: _containers.RepeatedCompositeFieldContainer[Device]
    def __init__(self, devices: _Optional[_Iterable[_Union[Device, _Mapping]]] = ...) -> None: ...

class GetDeviceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class StartMetaTrainRequest(_message.Message):
    __slots__ = ("steps", "seed", "cv_folds")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    CV_FOLDS_FIELD_NUMBER: _ClassVar[int]
    steps: int
    seed: int
    cv_folds: int
    def __init__(self, steps: _Optional[int] = ..., seed: _Optional[int] = ..., cv_folds: _Optional[int] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "state", "progress", "phase", "message", "promoted", "checkpoint_version", "started_at_s", "finished_at_s")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PROMOTED_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_VERSION_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_S_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_S_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: str
    progress: float
    phase: str
    message: str
    promoted: bool
    checkpoint_version: str
    started_at_s: float
    finished_at_s: float
    def __init__(self, id: _Optional[str] = ..., state: _Optional[str] = ..., progress: _Optional[float] = ..., phase: _Optional[str] = ..., message: _Optional[str] = ..., promoted: _Optional[bool] = ..., checkpoint_version: _Optional[str] = ..., started_at_s: _Optional[float] = ..., finished_at_s: _Optional[float] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

"""The logic behind the RPCs; the gRPC servicer only converts messages and calls these.

* :class:`DataPlane`: devices, suites, calibration, prediction, measurements;
* :class:`PredictorHost`: the serving checkpoint and the adapted device predictors,
  with concurrent predictions combined onto one forward pass;
* :class:`JobRunner`: meta-training on the pooled data as a background job;
* :func:`cross_validate` / :func:`cv_spearman`: device-level cross-validation (``fewlat
  eval --cv``, promotion by CV ρ).
"""

from fewlat.service.handlers._catalog import SuiteCatalog
from fewlat.service.handlers._cv import (
    BENCHMARK_FOLD_STEPS,
    cross_validate,
    cv_spearman,
    fold_model,
    fold_models,
    folds_of,
    held_out_cases,
)
from fewlat.service.handlers._dataplane import DataPlane
from fewlat.service.handlers._jobs import JobRunner, add_store_measurements, held_out_score
from fewlat.service.handlers._predictors import (
    EXECUTION_LABEL,
    Predicted,
    PredictorHost,
    PredictQuery,
    runs_eagerly,
)
from fewlat.service.handlers._views import CalibrationReport, DeviceView, PredictionView

__all__ = [
    "BENCHMARK_FOLD_STEPS",
    "EXECUTION_LABEL",
    "CalibrationReport",
    "DataPlane",
    "DeviceView",
    "JobRunner",
    "PredictQuery",
    "Predicted",
    "PredictionView",
    "PredictorHost",
    "SuiteCatalog",
    "add_store_measurements",
    "cross_validate",
    "cv_spearman",
    "fold_model",
    "fold_models",
    "folds_of",
    "held_out_cases",
    "held_out_score",
    "runs_eagerly",
]

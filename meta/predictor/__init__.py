"""The meta-learned, hardware-conditioned latency predictor.

* :class:`GraphCache` turns arch strings or ONNX bytes into colour counts once
  (batches of bytes optionally in :class:`EncoderPool` worker processes);
* :class:`Trainer` meta-trains the GNN on pooled tables (episodes = devices);
* :class:`MetaPredictor` ``.adapt(suite_timings)`` → :class:`DevicePredictor`
  ``.predict…`` → :class:`Prediction` (milliseconds with an 80% interval,
  :class:`IntervalScales`);
* ONNX bytes carry no space name: :func:`recognise` reads it from their nodes
  (:meth:`GraphCache.spaces_of`);
* checkpoints are safetensors + JSON (:func:`save_checkpoint`, :func:`load_checkpoint`).
"""

from fewlat.meta.predictor._cache import GraphCache
from fewlat.meta.predictor._checkpoint import (
    CHECKPOINT_FORMAT,
    DEFAULT_CHECKPOINT,
    checkpoint_version,
    load_checkpoint,
    save_checkpoint,
)
from fewlat.meta.predictor._descriptor import MAX_SHOTS, descriptor_size, descriptor_vector
from fewlat.meta.predictor._encoder_pool import EncoderPool
from fewlat.meta.predictor._execution import EXECUTIONS, runs_eagerly
from fewlat.meta.predictor._fit import (
    DEVICE_STATE_LIMIT,
    RECIPE_VERSION,
    Progress,
    Watch,
    calibrate,
    calibration_groups,
    largest_device_state,
    meta_train,
    split_calibration_devices,
    table_hash,
)
from fewlat.meta.predictor._graphset import GraphSet
from fewlat.meta.predictor._intervals import (
    DEFAULT_OUTSIDE_HALF_WIDTH,
    IntervalScales,
    ShotRecord,
)
from fewlat.meta.predictor._model import LatencyGNN, ModelConfig
from fewlat.meta.predictor._predictor import METHODS, DevicePredictor, MetaPredictor, Prediction
from fewlat.meta.predictor._recognise import (
    RECOGNISED_SHARE,
    RECOGNISED_SPACES,
    VOCABULARY_ARCHS,
    NodeSignature,
    build_vocabulary,
    read_vocabularies,
    recognise,
    shares,
    vocabulary,
    write_vocabularies,
)
from fewlat.meta.predictor._train import SpaceData, TrainConfig, Trainer

__all__ = [
    "CHECKPOINT_FORMAT",
    "DEFAULT_CHECKPOINT",
    "DEFAULT_OUTSIDE_HALF_WIDTH",
    "DEVICE_STATE_LIMIT",
    "EXECUTIONS",
    "MAX_SHOTS",
    "METHODS",
    "RECIPE_VERSION",
    "RECOGNISED_SHARE",
    "RECOGNISED_SPACES",
    "VOCABULARY_ARCHS",
    "DevicePredictor",
    "EncoderPool",
    "GraphCache",
    "GraphSet",
    "IntervalScales",
    "LatencyGNN",
    "MetaPredictor",
    "ModelConfig",
    "NodeSignature",
    "Prediction",
    "Progress",
    "ShotRecord",
    "SpaceData",
    "TrainConfig",
    "Trainer",
    "Watch",
    "build_vocabulary",
    "calibrate",
    "calibration_groups",
    "checkpoint_version",
    "descriptor_size",
    "descriptor_vector",
    "largest_device_state",
    "load_checkpoint",
    "meta_train",
    "read_vocabularies",
    "recognise",
    "runs_eagerly",
    "save_checkpoint",
    "shares",
    "split_calibration_devices",
    "table_hash",
    "vocabulary",
    "write_vocabularies",
]

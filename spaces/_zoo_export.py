"""PyTorch module → in-memory ONNX for the zoo, and the weightless stripping.

BatchNorm is exported unfused on purpose (``TrainingMode.PRESERVE`` on a
module in eval mode: ``BatchNormalization`` with ``training_mode=0``). The
default export folds BN into the preceding conv; keeping it gives the same
Conv → BatchNormalization pattern as the builder-made spaces, and the ONNX
parameter count equals the module's parameters plus BN statistics. Runtimes
(onnxruntime, MNN) fold BN when they load the model, so latency is the same,
and fewlat's encoder folds it likewise (``keep_batch_norm=False`` gives the
default export, to check that).
"""

from __future__ import annotations

import io
import threading
import warnings
from typing import TYPE_CHECKING

import onnx
import torch
from torch import nn

from fewlat.spaces._zoo_models import build_module

if TYPE_CHECKING:
    from fewlat.spaces.zoo import ZooArch

__all__ = ["OPSET", "export_member", "export_module", "strip_float_data"]

#: opset of the exported models (same as :data:`fewlat.spaces.OPSET`)
OPSET = 17

# the legacy exporter keeps process-wide state while it runs: one export at a time
_EXPORT_LOCK = threading.Lock()


def export_member(
    member: ZooArch, *, seed: int = 0, keep_batch_norm: bool = True, opset: int = OPSET
) -> onnx.ModelProto:
    """Build the zoo ``member`` with weights seeded by ``seed`` and export it with
    :func:`export_module` (``keep_batch_norm`` and ``opset`` as there)."""
    module = build_module(member.family, member.width, member.resolution, seed=seed)
    shape = (1, 3, member.resolution, member.resolution)
    return export_module(
        module, shape, name=member.arch, keep_batch_norm=keep_batch_norm, opset=opset
    )


def export_module(
    module: nn.Module,
    input_shape: tuple[int, ...],
    *,
    name: str,
    keep_batch_norm: bool = True,
    opset: int = OPSET,
) -> onnx.ModelProto:
    """Trace ``module`` on a zero input of ``input_shape`` and export it to ONNX in memory.

    Uses the legacy TorchScript exporter (``dynamo=False``) with constant
    folding; its warnings are silenced inside this call only. Exports are
    serialised by a lock, since the exporter is not thread-safe.

    Args:
        module: the model, in eval mode.
        input_shape: NCHW input shape, e.g. ``(1, 3, 224, 224)``.
        name: graph name written into the model (the canonical arch).
        keep_batch_norm: export batch norm unfused (fewlat's zoo); ``False`` exports it
            as PyTorch does by default, folded into the conv before it.
        opset: the ONNX opset to export (default: :data:`OPSET`).

    Returns:
        The model with input ``"input"`` and output ``"logits"``, weights included.
    """
    buffer = io.BytesIO()
    with _EXPORT_LOCK, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(input_shape),),
            buffer,
            dynamo=False,
            opset_version=opset,
            do_constant_folding=True,
            training=torch.onnx.TrainingMode.PRESERVE
            if keep_batch_norm
            else torch.onnx.TrainingMode.EVAL,
            input_names=["input"],
            output_names=["logits"],
        )
    model = onnx.load_from_string(buffer.getvalue())
    model.graph.name = name
    return model


def strip_float_data(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop the values of every FLOAT initializer in place and return ``model``.

    Name, data type and dims stay, so shapes and parameter counts are intact;
    integer initializers (shape operands) keep their values.
    """
    for tensor in model.graph.initializer:
        if tensor.data_type == onnx.TensorProto.FLOAT:
            tensor.ClearField("raw_data")
            tensor.ClearField("float_data")
    return model

"""Model inputs for timing: shapes read from the ONNX graph, values from a fixed seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from fewlat.clients.runners._checks import check_count
from fewlat.exceptions import InvalidModelError, SymbolicShapeError
from fewlat.meta.graph import load_model

__all__ = ["InputSpec", "PreparedModel", "make_inputs", "prepare_model"]


@dataclass(frozen=True)
class InputSpec:
    """One graph input: its name, concrete shape and numpy dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype


@dataclass(frozen=True)
class PreparedModel:
    """A checked model ready for a runtime: its bytes (re-batched if asked) and inputs."""

    onnx_bytes: bytes
    inputs: tuple[InputSpec, ...]


def prepare_model(model_bytes: bytes, *, batch_size: int = 1) -> PreparedModel:
    """Check untrusted ONNX bytes and read the shapes of its graph inputs.

    With ``batch_size`` > 1, the first dim of every input becomes ``batch_size``
    and the outputs' first dim becomes symbolic, so the runtime re-infers it.

    Raises:
        InvalidModelError, UnsafeModelError, ModelTooLargeError: as
            :func:`fewlat.meta.graph.load_model`.
        SymbolicShapeError: an input dim other than the batch dim is not concrete.
        InvalidParameterError: ``batch_size`` < 1.
    """
    check_count(batch_size, "batch_size", "prepare_model")
    proto = load_model(model_bytes)
    weights = {t.name for t in proto.graph.initializer}
    graph_inputs = [i for i in proto.graph.input if i.name not in weights]
    if not graph_inputs:
        raise InvalidModelError("The model has no graph inputs to feed; nothing can be timed.")
    specs = []
    for value in graph_inputs:
        tensor = value.type.tensor_type
        dims = list(tensor.shape.dim)
        shape = []
        for axis, dim in enumerate(dims):
            if axis == 0 and batch_size > 1:
                shape.append(batch_size)
            elif dim.HasField("dim_value") and dim.dim_value > 0:
                shape.append(int(dim.dim_value))
            elif axis == 0:
                shape.append(batch_size)
            else:
                raise SymbolicShapeError(
                    f"Input {value.name!r} has a symbolic dim at axis {axis}; export the "
                    "model with concrete input shapes to time it."
                )
        try:
            dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type))
        except (KeyError, TypeError) as err:
            raise InvalidModelError(
                f"Input {value.name!r} has element type {tensor.elem_type}, which cannot be fed."
            ) from err
        specs.append(InputSpec(value.name, tuple(shape), dtype))
    if batch_size == 1:
        return PreparedModel(bytes(model_bytes), tuple(specs))
    for value, spec in zip(graph_inputs, specs, strict=True):
        value.type.tensor_type.shape.dim[0].dim_value = spec.shape[0]
    for value in proto.graph.output:
        if value.type.tensor_type.shape.dim:
            value.type.tensor_type.shape.dim[0].dim_param = "batch"
    del proto.graph.value_info[:]
    return PreparedModel(proto.SerializeToString(), tuple(specs))


def make_inputs(specs: tuple[InputSpec, ...], seed: int) -> dict[str, np.ndarray]:
    """Seeded input arrays: standard normal for floats, 0/1 for integers and booleans."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for spec in specs:
        if spec.dtype.kind == "f":
            arrays[spec.name] = rng.standard_normal(spec.shape).astype(spec.dtype)
        else:
            arrays[spec.name] = rng.integers(0, 2, size=spec.shape).astype(spec.dtype)
    return arrays

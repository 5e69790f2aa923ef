"""Run built models in real runtimes (onnxruntime, MNN) from tests."""

from __future__ import annotations

import numpy as np
import onnx


def run_onnxruntime(model_bytes: bytes, seed: int = 0) -> list[np.ndarray]:
    """Run the model once on random inputs of its declared shapes and return its outputs."""
    import onnxruntime as ort

    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    feeds = {
        i.name: rng.standard_normal([d if isinstance(d, int) else 1 for d in i.shape]).astype(
            np.float32
        )
        for i in sess.get_inputs()
    }
    return sess.run(None, feeds)


def convert_and_run_mnn(model_bytes: bytes) -> tuple[int, ...]:
    """Convert to MNN, run one inference, return the output shape."""
    import MNN

    from fewlat.clients._mnn_convert import convert_onnx_to_mnn

    mnn_bytes = convert_onnx_to_mnn(model_bytes)
    import os
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".mnn", delete=False) as f:
        f.write(mnn_bytes)
        path = f.name
    try:
        interp = MNN.Interpreter(path)
        session = interp.createSession()
        interp.runSession(session)
        return tuple(interp.getSessionOutput(session).getShape())
    finally:
        os.unlink(path)


def output_shape(model: onnx.ModelProto) -> tuple[int, ...]:
    """The declared static shape of the model's first output."""
    return tuple(d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim)

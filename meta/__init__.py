"""ONNX → ModelGraph → features; latency tables; (later) the meta-learned predictor."""

__all__: list[str] = []

"""Calibration suites and the hardware descriptor (built in the meta-learning issue)."""

__all__: list[str] = []

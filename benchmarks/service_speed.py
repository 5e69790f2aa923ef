"""Service speed over loopback: Predict latency, PredictBatch throughput, calibration, load.

    python benchmarks/service_speed.py [--out benchmarks/results/service_speed.json]

A real ``fewlat serve`` runs in its own process (SQLite in a temp dir; graphs
of arch strings from ``FEWLAT_CACHE_DIR`` when a saved cache is there); the
clients run here, in threads. Figures:

* ``predict_p50_ms`` / ``predict_p99_ms``: one nb201 ONNX model (bytes, cached
  on the server after the first call), 1 client and 16 concurrent clients;
* ``predict_cold_p50_ms``: a new ONNX model every call (parse + encode each time);
* ``batch_archs_per_s``: every nb201 arch string through ``PredictBatch`` (chunks
  of 1024), graphs warm; ``batch_models_per_s``: 1000 new nb201 ONNX models
  (encoded by the server's ``--encode-workers`` processes; ``--encode-workers 0``
  here measures in-process encoding);
* ``calibrate_ort_s``: ``fewlat-client calibrate --device bench-ort`` (10 shots,
  onnxruntime, default timing) wall time;
* ``load_50x200``: 50 concurrent clients × 200 Predicts: errors and p99.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fewlat.clients import Client
from fewlat.clients.runners import TableRunner
from fewlat.spaces import get_space

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(db: str, encode_workers: int | None) -> tuple[subprocess.Popen, str]:
    address = f"127.0.0.1:{_free_port()}"
    command = [sys.executable, "-m", "fewlat.service.cli", "serve", "--address", address]
    if encode_workers is not None:
        command += ["--encode-workers", str(encode_workers)]
    process = subprocess.Popen([*command, "--db", db], stderr=subprocess.DEVNULL)
    health = health_pb2_grpc.HealthStub(grpc.insecure_channel(address))
    for _ in range(600):
        try:
            if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                return process, address
        except grpc.RpcError:
            time.sleep(0.1)
    raise SystemExit("fewlat serve did not start")


def _percentiles(latencies_s: list[float]) -> dict[str, float]:
    ms = np.array(latencies_s) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def _concurrent(address: str, clients: int, requests: int, call) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        with Client(address) as client:
            own = []
            for j in range(requests):
                start = time.perf_counter()
                try:
                    call(client, i, j)
                except Exception as exc:  # counted, not raised
                    with lock:
                        errors.append(repr(exc))
                own.append(time.perf_counter() - start)
            with lock:
                latencies.extend(own)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {
        **_percentiles(latencies),
        "requests": len(latencies),
        "errors": len(errors),
        "requests_per_s": len(latencies) / wall,
        "first_error": errors[0] if errors else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/service_speed.json")
    parser.add_argument(
        "--encode-workers", type=int, default=None, help="the server's (default: its own)"
    )
    args = parser.parse_args()
    nb201 = get_space("nb201")
    rng = np.random.default_rng(0)
    figures: dict = {
        "encode_workers": "server default" if args.encode_workers is None else args.encode_workers,
        "cpu_count": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        process, address = _serve(f"sqlite:///{tmp}/bench.db", args.encode_workers)
        try:
            with Client(address) as client:
                board = TableRunner(REPO / "data/measured", "epyc-ort-1t-optall")
                client.calibrate("bench", runner=board, space="nb201", shots=10)
                model = nb201.to_onnx(nb201.sample(rng, 1)[0])
                client.predict("bench", model)  # graph cached from here on
                one = []
                for _ in range(300):
                    start = time.perf_counter()
                    client.predict("bench", model)
                    one.append(time.perf_counter() - start)
                figures["predict_1_client"] = _percentiles(one)
                cold_models = [nb201.to_onnx(a) for a in nb201.sample(rng, 200)]
                cold = []
                for m in cold_models:
                    start = time.perf_counter()
                    client.predict("bench", m)
                    cold.append(time.perf_counter() - start)
                figures["predict_cold_1_client"] = _percentiles(cold)
                figures["predict_16_clients"] = _concurrent(
                    address, 16, 100, lambda c, i, j: c.predict("bench", model)
                )
                archs = list(nb201.enumerate())
                start = time.perf_counter()
                client.predict_many("bench", space="nb201", archs=archs, chunk=1024)
                figures["batch_archs_first_s"] = time.perf_counter() - start
                runs = []
                for _ in range(3):
                    start = time.perf_counter()
                    client.predict_many("bench", space="nb201", archs=archs, chunk=1024)
                    runs.append(time.perf_counter() - start)
                figures["batch_archs_warm_s"] = statistics.median(runs)
                figures["batch_archs_per_s"] = len(archs) / statistics.median(runs)
                fresh = [nb201.to_onnx(a) for a in nb201.sample(np.random.default_rng(9), 1000)]
                start = time.perf_counter()
                client.predict_many("bench", fresh, chunk=64)
                figures["batch_models_per_s"] = len(fresh) / (time.perf_counter() - start)
                start = time.perf_counter()
                client.predict_many("bench", fresh, chunk=64)
                figures["batch_models_warm_per_s"] = len(fresh) / (time.perf_counter() - start)
                sample = nb201.sample(rng, 200)
                figures["load_50x200"] = _concurrent(
                    address,
                    50,
                    200,
                    lambda c, i, j: c.predict("bench", space="nb201", arch=sample[(i + j) % 200]),
                )
            start = time.perf_counter()
            subprocess.run(
                ["fewlat-client", "calibrate", "--device", "bench-ort", "--server", address],
                check=True,
                capture_output=True,
                env={**os.environ},
            )
            figures["calibrate_ort_s"] = time.perf_counter() - start
        finally:
            process.terminate()
            process.wait()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()

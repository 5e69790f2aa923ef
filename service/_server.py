"""``Server``: the gRPC server with the fewlat API, health checking and reflection.

Example::

    with Server(Settings(address="127.0.0.1:0", db="sqlite:////tmp/f.db")) as server:
        print(server.address)          # 127.0.0.1:PORT
"""

from __future__ import annotations

import logging
import threading
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from fewlat.exceptions import InvalidParameterError
from fewlat.meta.predictor import EncoderPool, load_checkpoint
from fewlat.service._auth import TokenBook
from fewlat.service._servicer import FewlatServicer
from fewlat.service._settings import Settings
from fewlat.service.handlers import DataPlane, JobRunner, PredictorHost
from fewlat.service.store import Store
from fewlat.v1 import fewlat_pb2, fewlat_pb2_grpc

__all__ = ["SERVICE_NAME", "Server"]

#: the full name of the API service, as health checks and reflection list it
SERVICE_NAME = fewlat_pb2.DESCRIPTOR.services_by_name["Fewlat"].full_name

log = logging.getLogger(__name__)


def _warm(pool: EncoderPool) -> None:
    try:
        pool.start()
    except RuntimeError as err:  # the first batch that needs the pool tries again
        log.warning("encoder workers did not start: %s", err)


class Server:
    """The fewlat gRPC server (start with :meth:`start` or ``with``).

    Args:
        settings: every knob (default: :class:`Settings` from ``FEWLAT_*`` variables).

    Attributes (after start):
        address: ``HOST:PORT`` actually bound (port 0 resolved).
        store, host, plane: the store, the predictor host and the handlers.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._grpc: grpc.Server | None = None

    def start(self) -> Server:
        """Open the store, load the checkpoint, bind and start serving.

        Raises:
            InvalidParameterError: a bad checkpoint, db URL or token file, or an
                address that cannot be bound.
            OSError: a TLS or token file that cannot be read.
        """
        s = self.settings
        tokens = TokenBook.read(s.auth_token_file) if s.auth_token_file else None
        self.store = Store(s.db)
        meta = load_checkpoint(self._checkpoint_folder())
        meta.cache.max_bytes, meta.cache.max_nodes = s.max_model_bytes, s.max_model_nodes
        meta.cache.max_entries = s.max_cached_models
        meta.cache.workers = s.encode_workers
        if s.cache_dir is not None:
            meta.cache.load(s.cache_dir)
        self.host = PredictorHost(meta, self.store)
        self.plane = DataPlane(self.store, self.host, max_batch_models=s.max_batch_models)
        self.jobs = JobRunner(self.store, self.host, s)
        self._health = health.HealthServicer()
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=s.workers, thread_name_prefix="fewlat-rpc"),
            options=[
                ("grpc.max_receive_message_length", s.max_message_bytes),
                ("grpc.max_send_message_length", s.max_message_bytes),
            ],
        )
        fewlat_pb2_grpc.add_FewlatServicer_to_server(
            FewlatServicer(self.plane, self.jobs, tokens), server
        )
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        try:
            if s.tls_cert is not None and s.tls_key is not None:
                credentials = grpc.ssl_server_credentials(
                    [(s.tls_key.read_bytes(), s.tls_cert.read_bytes())]
                )
                port = server.add_secure_port(s.address, credentials)
            else:
                port = server.add_insecure_port(s.address)
        except RuntimeError:  # recent grpcio raises where older versions returned 0
            port = 0
        except OSError:
            self.store.close()
            raise
        if port == 0:
            self.store.close()
            raise InvalidParameterError(
                f"cannot listen on {s.address}: the port is taken or the host is not local"
                + (
                    f", or {s.tls_cert} and {s.tls_key} are not a PEM certificate chain and "
                    "its matching private key"
                    if s.tls_cert is not None
                    else ""
                )
                + "; pass --address HOST:PORT with a free port."
            )
        server.start()
        self._grpc = server
        pool = meta.cache.encoder_pool()
        if pool is not None:  # warm up in the background (workers import torch: seconds),
            # once the port is bound: a start that fails before leaves no workers behind
            threading.Thread(target=_warm, args=(pool,), name="fewlat-enc", daemon=True).start()
        self.address = f"{s.address.rpartition(':')[0]}:{port}"
        for name in ("", SERVICE_NAME):
            self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "serving on %s",
            self.address,
            extra={
                "address": self.address,
                "checkpoint": self.host.version,
                "db": self.store.url,
                "auth": tokens is not None,
                "tls": s.tls_cert is not None,
            },
        )
        return self

    def _checkpoint_folder(self) -> Path | None:
        """``--checkpoint``; else the checkpoint a meta-training job promoted (so a
        promotion survives restarts); else None, the shipped one."""
        if self.settings.checkpoint is not None:
            return self.settings.checkpoint
        active = self.store.active_checkpoint()
        if active is not None and Path(active.path).is_dir():
            return Path(active.path)
        return None

    def stop(self, grace_s: float | None = None) -> None:
        """Stop taking calls, let in-flight calls finish (up to ``grace_s``, default
        the settings'), stop jobs and the encoder processes, and close the store."""
        if self._grpc is None:
            return
        self._health.enter_graceful_shutdown()
        self._grpc.stop(self.settings.grace_s if grace_s is None else grace_s).wait()
        self._grpc = None
        self.jobs.close()
        self.host.meta.cache.close()
        self.store.close()
        log.info("stopped", extra={"address": self.address})

    def wait(self) -> None:
        """Block until the server stops."""
        if self._grpc is not None:
            self._grpc.wait_for_termination()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""TLS end to end: a real ``Server`` with ``tls_cert``/``tls_key`` from a throwaway CA,
reached by the SDK (``Client(tls_ca=...)``), a raw TLS stub and ``fewlat-client``."""

from __future__ import annotations

import datetime
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from fewlat.clients import Client
from fewlat.clients.cli import app  # the `fewlat-client` console script
from fewlat.exceptions import InvalidParameterError, ServiceUnavailableError
from fewlat.service import Server
from fewlat.spaces import get_space
from fewlat.v1 import fewlat_pb2 as pb
from fewlat.v1 import fewlat_pb2_grpc as pb_grpc
from tests.service.conftest import TIMINGS_MS, calibrate, settings_for

cli = CliRunner()
NB201 = get_space("nb201")
BOARD = "tls-board"
#: a small nb201 member (one conv edge), cheap to export
ARCH = "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|"


@dataclass(frozen=True)
class Pki:
    """PEM files: the CA that signed the server certificate, and one that did not."""

    ca: Path
    other_ca: Path
    cert: Path
    key: Path
    other_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
) -> x509.Certificate:
    """A self-signed CA certificate, or (with ``issuer``) a ``localhost`` server certificate."""
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=0), critical=True
        ).add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        return builder.sign(key, hashes.SHA256())
    assert issuer_key is not None
    return (
        builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A test CA, a server certificate it signed for localhost / 127.0.0.1, and a second,
    unrelated CA."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key, other_key, server_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _certificate("fewlat test CA", ca_key)
    files = Pki(
        ca=folder / "ca.pem",
        other_ca=folder / "other-ca.pem",
        cert=folder / "server.pem",
        key=folder / "server.key",
        other_key=folder / "other.key",
    )
    pem = serialization.Encoding.PEM
    files.ca.write_bytes(ca.public_bytes(pem))
    files.other_ca.write_bytes(_certificate("another CA", other_key).public_bytes(pem))
    server_cert = _certificate("localhost", server_key, issuer=ca, issuer_key=ca_key)
    files.cert.write_bytes(server_cert.public_bytes(pem))
    files.key.write_bytes(_key_pem(server_key))
    files.other_key.write_bytes(_key_pem(other_key))
    return files


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Server]:
    settings = settings_for(tmp_path_factory.mktemp("tls"), tls_cert=pki.cert, tls_key=pki.key)
    with Server(settings) as running:
        yield running


@pytest.fixture(scope="module")
def address(tls_server: Server) -> str:
    """``localhost:PORT``: the host name the certificate is for."""
    return f"localhost:{tls_server.address.rpartition(':')[2]}"


@pytest.fixture(autouse=True)
def _no_env_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEWLAT_TOKEN", raising=False)


@pytest.fixture(scope="module")
def calibrated(address: str, pki: Pki) -> pb.CalibrationReport:
    """``BOARD`` calibrated through a raw gRPC stub over a TLS channel (conftest's helper)."""
    credentials = grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes())
    with grpc.secure_channel(address, credentials) as channel:
        report = calibrate(pb_grpc.FewlatStub(channel), BOARD)
    assert report.device == BOARD and report.shots == report.stored == len(TIMINGS_MS)
    return report


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_register_and_list_devices_over_tls(address: str, pki: Pki, host: str) -> None:
    """Both subjectAltNames of the certificate (DNS and IP) verify."""
    port = address.rpartition(":")[2]
    name = f"registered-via-{host}"
    with Client(f"{host}:{port}", tls_ca=pki.ca, timeout_s=30) as client:
        device = client.register(name, description="over TLS", labels={"via": host})
        assert (device.name, device.description, device.labels) == (
            name,
            "over TLS",
            {"via": host},
        )
        assert device.status == "registered"
        assert name in [d.name for d in client.devices()]
        assert client.device(name).labels == {"via": host}


def test_suite_stream_and_predict_over_tls(
    address: str, pki: Pki, calibrated: pb.CalibrationReport
) -> None:
    with Client(address, tls_ca=pki.ca, timeout_s=30) as client:
        suite = client.suite("nb201", shots=2)  # a server stream carrying ONNX bytes
        assert suite.version == calibrated.suite_version and len(suite.entries) == 2
        assert all(len(e.onnx_bytes) > 0 for e in suite.entries)
        device = client.device(BOARD)
        assert device.status == "calibrated" and device.shots == {"nb201": len(TIMINGS_MS)}
        by_arch = client.predict(BOARD, space="nb201", arch=ARCH)
        by_bytes = client.predict(BOARD, NB201.to_onnx(ARCH))
        many = client.predict_many(BOARD, space="nb201", archs=[ARCH, NB201.supernet()])
    assert 0 < by_arch.low_ms <= by_arch.latency_ms <= by_arch.high_ms
    assert by_arch.suite == "nb201" and by_arch.suite_version == calibrated.suite_version
    assert by_bytes.latency_ms == pytest.approx(by_arch.latency_ms, rel=1e-4)
    assert len(many) == 2 and many[0].latency_ms == pytest.approx(by_arch.latency_ms, rel=1e-4)
    # the anchor (supernet) was timed at TIMINGS_MS[0]; the small arch is cheaper
    assert calibrated.descriptor.anchor_ms == pytest.approx(TIMINGS_MS[0])
    assert many[1].latency_ms > by_arch.latency_ms


def test_a_plaintext_client_is_refused_with_a_tls_hint(address: str) -> None:
    with Client(address, timeout_s=10) as client, pytest.raises(ServiceUnavailableError) as err:
        client.devices()
    message = str(err.value)
    assert message.startswith(f"cannot reach the fewlat server at {address}: ")
    assert "If it serves TLS, pass --tls-ca CA.pem" in message
    assert err.value.__cause__ is None


def test_a_client_trusting_another_ca_is_refused(address: str, pki: Pki) -> None:
    with (
        Client(address, tls_ca=pki.other_ca, timeout_s=10) as client,
        pytest.raises(ServiceUnavailableError) as err,
    ):
        client.register("never-registered")
    message = str(err.value)
    assert message.startswith(f"cannot reach the fewlat server at {address}: ")
    assert "CERTIFICATE_VERIFY_FAILED" in message  # gRPC's reason is passed on
    assert "--tls-ca the CA that signed it" in message
    with Client(address, tls_ca=pki.ca, timeout_s=30) as trusted:
        assert "never-registered" not in [d.name for d in trusted.devices()]


def test_a_bad_tls_pair_is_an_invalid_parameter(tmp_path: Path, pki: Pki) -> None:
    """A key that is not the certificate's: a one-line fewlat error naming both files, not
    grpc's RuntimeError about binding."""
    settings = settings_for(tmp_path, tls_cert=pki.cert, tls_key=pki.other_key)
    with pytest.raises(InvalidParameterError) as err:
        Server(settings).start()
    message = str(err.value)
    assert f"cannot listen on {settings.address}" in message
    assert str(pki.cert) in message and str(pki.other_key) in message


def test_cli_predicts_over_tls(
    address: str, pki: Pki, calibrated: pb.CalibrationReport, tmp_path: Path
) -> None:
    model = tmp_path / "small.onnx"
    model.write_bytes(NB201.to_onnx(ARCH))
    argv = ["predict", str(model), "--device", BOARD, "--server", address, "--json"]
    result = cli.invoke(app, [*argv, "--tls-ca", str(pki.ca)])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["device"] == BOARD and answer["suite_version"] == calibrated.suite_version
    assert 0 < answer["low_ms"] <= answer["latency_ms"] <= answer["high_ms"]
    plaintext = cli.invoke(app, argv)
    assert plaintext.exit_code == 1
    assert plaintext.stderr.startswith(f"error: cannot reach the fewlat server at {address}")
    assert "--tls-ca" in plaintext.stderr


def test_cli_refuses_a_missing_tls_ca_file(address: str, tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"never sent")
    missing = tmp_path / "no-such-ca.pem"
    argv = ["predict", str(model), "--device", BOARD, "--server", address]
    result = cli.invoke(app, [*argv, "--tls-ca", str(missing)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: --tls-ca {missing} does not exist; give the server's CA certificate (PEM)."
    )

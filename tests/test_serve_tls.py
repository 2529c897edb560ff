"""`ccl serve` and transport security: HTTPS with --tls-cert/--tls-key; plain HTTP only on
loopback, or behind a proxy that does TLS (--behind-proxy). In process, with uvicorn.run
replaced by a recorder: nothing binds a port."""

import datetime

import pytest
from click.testing import CliRunner

from ccl.cli.main import cli
from test_node import ANA


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A founded workspace as the working folder, and what uvicorn.run would have been given."""
    import uvicorn

    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["init", "--founder", ANA.did]).exit_code == 0
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    return tmp_path, calls


def self_signed(folder):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "node.example")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "node.crt", folder / "node.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def serve(*args):
    return CliRunner().invoke(cli, ["serve", *args])


def test_tls_files_go_to_uvicorn(served):
    folder, calls = served
    cert, key = self_signed(folder)
    r = serve("--host", "0.0.0.0", "--port", "8443", "--tls-cert", cert, "--tls-key", key)
    assert r.exit_code == 0, r.output
    ((app, kw),) = calls
    assert kw["ssl_certfile"] == cert and kw["ssl_keyfile"] == key
    assert kw["host"] == "0.0.0.0" and kw["port"] == 8443
    assert "https://0.0.0.0:8443/api/v1" in r.output
    assert app.openapi()["components"]["securitySchemes"]          # the node's app, not a stand-in


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "node.example.org"])
def test_plain_http_beyond_loopback_is_refused(served, host):
    folder, calls = served
    r = serve("--host", host)
    assert r.exit_code == 2 and "U0700" in r.output and "--tls-cert" in r.output and "--behind-proxy" in r.output
    assert calls == [] and "Traceback" not in r.output


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_plain_http_on_loopback_is_served(served, host):
    folder, calls = served
    assert serve("--host", host).exit_code == 0
    ((app, kw),) = calls
    assert kw["host"] == host and "ssl_certfile" not in kw


def test_behind_a_proxy_plain_http_is_served_on_any_address(served):
    folder, calls = served
    r = serve("--host", "0.0.0.0", "--behind-proxy")
    assert r.exit_code == 0, r.output
    ((app, kw),) = calls
    assert "ssl_certfile" not in kw and kw["host"] == "0.0.0.0"


def test_a_certificate_without_its_key_is_a_usage_error(served):
    folder, calls = served
    cert, key = self_signed(folder)
    r = serve("--host", "0.0.0.0", "--tls-cert", cert)
    assert r.exit_code == 2 and "U0700" in r.output and "go together" in r.output
    r = serve("--tls-cert", cert, "--tls-key", str(folder / "missing.key"))
    assert r.exit_code == 2
    assert calls == []


def test_limits_are_set_on_the_command_line(served, monkeypatch):
    import ccl.node.app
    from ccl.node.limits import Limits

    folder, calls = served
    given = []
    real = ccl.node.app.create_app
    monkeypatch.setattr(ccl.node.app, "create_app", lambda *a, **kw: given.append(kw["limits"]) or real(*a, **kw))
    r = serve("--limit", "member_per_minute=6000", "--limit", "uploads_per_day=5")
    assert r.exit_code == 0, r.output
    assert given == [Limits(member_per_minute=6000, uploads_per_day=5)]


@pytest.mark.parametrize("arg, words", [("speed=5", "no limit `speed`"), ("ip_burst=-1", "whole number"),
                                        ("ip_burst=", "whole number"), ("ip_burst=٣", "whole number")])
def test_a_bad_limit_is_a_usage_error(served, arg, words):
    folder, calls = served
    r = serve("--limit", arg)
    assert r.exit_code == 2 and "U0700" in r.output and words in r.output, r.output
    assert calls == []

"""SMTP over STARTTLS and implicit TLS with login, against aiosmtpd with a test CA (trustme)."""
from __future__ import annotations

import ssl

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from digest import DeliveryAborted, build_digest, deliver_digest
from digest_kbdata import NOW
from digest_support import RecordingHandler, free_port, smtp_options
from kb.subscribers import add_subscriber

USER, PASSWORD = b"digest", b"s3cret pass"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (USER, PASSWORD)
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def ca(tmp_path):
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return server_ctx, str(ca_file)


@pytest.fixture
def tls_server(ca):
    server_ctx, _ = ca
    handler = RecordingHandler()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), tls_context=server_ctx, require_starttls=True,
        authenticator=_authenticator, auth_required=True, auth_require_tls=True,
    )
    controller.start()
    yield controller, handler
    controller.stop()


def test_starttls_with_login(seeded, options, tls_server, ca):
    controller, handler = tls_server
    add_subscriber(seeded, "ada@example.org")
    report = deliver_digest(seeded, build_digest(seeded, NOW.date(), options), options, smtp_options(
        controller.port, starttls=True, username=USER.decode(), password=PASSWORD.decode(), ca_file=ca[1]))
    assert report.sent == 1
    assert handler.by_rcpt() == {"ada@example.org": 1}


def test_wrong_password_aborts_with_a_clear_error(seeded, options, tls_server, ca):
    controller, handler = tls_server
    add_subscriber(seeded, "ada@example.org")
    with pytest.raises(DeliveryAborted, match="SMTP login refused: 535"):
        deliver_digest(seeded, build_digest(seeded, NOW.date(), options), options, smtp_options(
            controller.port, starttls=True, username="digest", password="wrong", ca_file=ca[1]))
    assert handler.accepted == []
    assert seeded.execute("SELECT status FROM deliveries").fetchall() == [("pending",)]


def test_untrusted_certificate_aborts(seeded, options, tls_server):
    controller, handler = tls_server
    add_subscriber(seeded, "ada@example.org")
    with pytest.raises(DeliveryAborted, match="cannot verify the TLS certificate"):
        deliver_digest(seeded, build_digest(seeded, NOW.date(), options), options, smtp_options(
            controller.port, starttls=True, username="digest", password="x"))
    assert handler.accepted == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_with_login(seeded, options, ca):
    server_ctx, ca_file = ca
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ssl_context=server_ctx,
                            authenticator=_authenticator, auth_required=True,
                            auth_require_tls=False)  # implicit TLS: aiosmtpd only tracks STARTTLS
    controller.start()
    try:
        add_subscriber(seeded, "ada@example.org")
        report = deliver_digest(seeded, build_digest(seeded, NOW.date(), options), options, smtp_options(
            controller.port, ssl=True, starttls=False, username="digest", password="s3cret pass", ca_file=ca_file))
        assert report.sent == 1 and handler.by_rcpt() == {"ada@example.org": 1}
    finally:
        controller.stop()


def test_password_is_never_sent_in_clear_to_a_remote_host(seeded, options):
    add_subscriber(seeded, "ada@example.org")
    smtp = smtp_options(25, starttls=False, username="u", password="p")
    smtp.host = "mail.example.org"  # never contacted: refused before connecting
    with pytest.raises(DeliveryAborted, match="without TLS"):
        deliver_digest(seeded, build_digest(seeded, NOW.date(), options), options, smtp)

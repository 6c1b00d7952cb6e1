"""IMAP over TLS against a real Dovecot on 127.0.0.1 (Debian's dovecot-imapd; skipped when absent).

`make test` installs it (tests/setup-debian.sh, apt-get, as root).
"""
from __future__ import annotations

import imaplib
import mailbox
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest

from ingest import ingest_sources
from kb.documents import load_document
from kb.records import Source
from kb.sources import add_source, get_source

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
pytestmark = pytest.mark.skipif(
    not (Path(DOVECOT).exists() and shutil.which("openssl") and os.geteuid() == 0),
    reason="needs Debian's dovecot-imapd and openssl, run as root (make test installs it via tests/setup-debian.sh)",
)
NOBODY = 65534
PASSWORD = "s3cret-pw"


def newsletter(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "The Batch <batch@news.example>"
    msg["To"] = "reader@localhost"
    msg["Subject"] = f"The Batch #{n}"
    msg["Date"] = f"Tue, {n:02d} Jun 2026 09:00:00 +0000"
    msg["Message-ID"] = f"<batch-{n}@news.example>"
    msg["List-Id"] = "The Batch <batch.news.example>"
    msg.set_content(f"Issue {n}: smaller fine-tuned models win on latency for voice bots.\n")
    msg.add_alternative(
        f"<p><a href='https://news.example/{n}'>View in browser</a></p>"
        f"<p>Issue {n}: smaller fine-tuned models win on latency for voice bots.</p>"
        "<p class='footer'>Unsubscribe</p>",
        subtype="html",
    )
    return msg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dovecot():
    root = Path(tempfile.mkdtemp(prefix="insightkb-dovecot-"))
    root.chmod(0o755)
    port = _free_port()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")],
        check=True, capture_output=True,
    )
    (root / "passwd").write_text(f"reader:{{PLAIN}}{PASSWORD}\n")
    maildir = root / "home" / "reader" / "Maildir"
    maildir.parent.mkdir(parents=True)
    box = mailbox.Maildir(str(maildir), create=True)
    for n in (1, 2):
        box.add(newsletter(n))
    (root / "dovecot.conf").write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain
auth_failure_delay = 0
first_valid_uid = 100
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={NOBODY} gid={NOBODY} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(root / "home")], check=True)
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"dovecot exited: {proc.stderr.read().decode()}")
            time.sleep(0.1)
    try:
        yield {"port": port, "root": root, "maildir": maildir, "cafile": str(root / "cert.pem")}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)


def test_imap_reads_new_mail_only_and_never_flags(db, dovecot, loopback_options):
    options = replace(loopback_options, imap_password=PASSWORD)
    source = add_source(db, Source(url=f"imaps://reader@localhost:{dovecot['port']}/INBOX", kind="email",
                                   allow_private=True, config={"cafile": dovecot["cafile"]}))
    first = ingest_sources(db, [source], options)[0]
    assert (first.new, first.error) == (2, None), first.summary()
    doc = load_document(db, 1)
    assert doc.text == "Issue 1: smaller fine-tuned models win on latency for voice bots."
    assert doc.metadata["list_id"] == "batch.news.example" and doc.url == "https://news.example/1"
    state = get_source(db, source.id).config
    assert state["last_uid"] == 2 and state["uidvalidity"] and state["cafile"] == dovecot["cafile"]

    box = mailbox.Maildir(str(dovecot["maildir"]), create=False)
    box.add(newsletter(3))
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(dovecot["maildir"])], check=True)
    second = ingest_sources(db, [get_source(db, source.id)], options)[0]
    assert (second.new, second.unchanged, second.parsed_items) == (1, 0, 1)
    assert get_source(db, source.id).config["last_uid"] == 3

    ctx = ssl.create_default_context(cafile=dovecot["cafile"])
    with imaplib.IMAP4_SSL("localhost", dovecot["port"], ssl_context=ctx) as conn:
        conn.login("reader", PASSWORD)
        conn.select("INBOX", readonly=True)
        typ, data = conn.fetch("1:*", "(FLAGS)")
        assert typ == "OK" and len(data) == 3
        assert all(b"\\Seen" not in line and b"\\Deleted" not in line for line in data)


def test_imap_errors_are_one_line(db, dovecot, loopback_options):
    url = f"imaps://reader@localhost:{dovecot['port']}/INBOX"
    wrong = add_source(db, Source(url=url, kind="email", allow_private=True, config={"cafile": dovecot["cafile"]}))
    report = ingest_sources(db, [wrong], replace(loopback_options, imap_password="nope"))[0]
    assert report.error.startswith("IMAP login failed for reader@localhost")
    untrusted = add_source(db, Source(url=url.replace("INBOX", "Other"), kind="email", allow_private=True))
    report = ingest_sources(db, [untrusted], replace(loopback_options, imap_password=PASSWORD))[0]
    assert report.error.startswith(f"IMAP connect to localhost:{dovecot['port']} failed") and "CERTIFICATE_VERIFY_FAILED" in report.error
    private = add_source(db, Source(url=url.replace("INBOX", "Third"), kind="email"))
    report = ingest_sources(db, [private], replace(loopback_options, imap_password=PASSWORD))[0]
    assert report.error == "refused localhost: resolves to loopback address 127.0.0.1 (allow_private is off)"

"""The installation secret (signs Datasette cookies and unsubscribe tokens), kept beside the KB.

The secret travels as an argument (`Datasette(secret=...)`, `DigestOptions.secret`), never
through the process environment. It is the configured one (`[serve] secret`, or
`INSIGHTKB_SECRET` read once by the CLI's configuration loader) or the file `KB.secret`
(mode 0600), created on first use.

`rotate_secret` replaces the file's secret: editors' sessions and CSRF tokens signed with the
old one stop working (once `insightkb serve` restarts). The old secret moves to
`KB.secret.previous`, which is consulted for exactly one thing: the unsubscribe links of mail
already sent, whose tokens also name a per-subscriber nonce kept in the KB (see kb/unsubscribe.py).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

KEEP_PREVIOUS = 3  # rotations after which an old digest's unsubscribe link stops working


class SecretFromConfig(Exception):
    "The secret is configured ([serve] secret / INSIGHTKB_SECRET), so the file beside the KB is not used"


def secret_path(kb_path: str | Path) -> Path:
    """`insightkb.db` -> `insightkb.db.secret`: never inside the database Datasette publishes."""
    return Path(str(kb_path) + ".secret")


def previous_path(kb_path: str | Path) -> Path:
    return Path(str(kb_path) + ".secret.previous")


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600, atomically (a reader sees the old or the new file)."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def get_secret(kb_path: str | Path, configured: str | None = None) -> str:
    """`configured` if given, else the secret file beside the KB, created (mode 0600) on first use."""
    if configured:
        return configured
    path = secret_path(kb_path)
    try:
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value)
    return value


def previous_secrets(kb_path: str | Path) -> list[str]:
    """Secrets replaced by `rotate_secret`, newest first (for old unsubscribe links only)."""
    try:
        lines = previous_path(kb_path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [line.strip() for line in lines if line.strip()][:KEEP_PREVIOUS]


def rotate_secret(kb_path: str | Path, configured: str | None = None) -> str:
    """Replace the secret file's secret with a new one; the old one is kept as a previous secret."""
    if configured:
        raise SecretFromConfig(
            "the secret comes from the configuration ([serve] secret or INSIGHTKB_SECRET): change it there")
    old = get_secret(kb_path)
    new = secrets.token_hex(32)
    _write_private(previous_path(kb_path), "\n".join([old, *previous_secrets(kb_path)][:KEEP_PREVIOUS]) + "\n")
    _write_private(secret_path(kb_path), new)
    return new

"""The installation secret (signs Datasette cookies and unsubscribe tokens), kept beside the KB."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def secret_path(kb_path: str | Path) -> Path:
    """`insightkb.db` -> `insightkb.db.secret`: never inside the database Datasette publishes."""
    return Path(str(kb_path) + ".secret")


def get_secret(kb_path: str | Path) -> str:
    """INSIGHTKB_SECRET if set, else the secret file beside the KB, created (mode 0600) on first use."""
    if os.environ.get("INSIGHTKB_SECRET"):
        return os.environ["INSIGHTKB_SECRET"]
    path = secret_path(kb_path)
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value)
    return value

"""Fixtures for the Datasette side: a seeded KB, a Datasette on it, an editor and their cookies."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.kb.kbfactory import build_kb

EDITOR, PASSWORD = "alice", "correct horse battery"


@pytest.fixture
def seeded(tmp_path: Path):
    """(kb path, {claim text prefix: id}) with an editor alice."""
    from kb import open_db
    from kb.datasette_plugin.accounts import forget_cache
    from kb.editors import set_editor

    path = tmp_path / "kb.db"
    ids = build_kb(path)
    db = open_db(path)
    set_editor(db, EDITOR, PASSWORD)
    db.execute("INSERT INTO subscribers (email, name) VALUES ('secret.reader@example.org', 'Reader')")
    db.conn.commit()
    db.conn.close()
    forget_cache()
    return path, ids


@pytest.fixture
async def ds(seeded):
    from kb.serve import make_datasette

    datasette = make_datasette(seeded[0])
    await datasette.invoke_startup()
    yield datasette
    for database in datasette.databases.values():
        database.close()


async def csrf(ds, path: str = "/-/login") -> str:
    """A CSRF token (the cookie value Datasette's forms echo back)."""
    response = await ds.client.get(path)
    return response.cookies["ds_csrftoken"]


@pytest.fixture
async def editor_cookies(ds) -> dict[str, str]:
    """Cookies of alice after a real login through datasette-auth-passwords."""
    token = await csrf(ds)
    response = await ds.client.post(
        "/-/login", data={"username": EDITOR, "password": PASSWORD, "csrftoken": token},
        cookies={"ds_csrftoken": token},
    )
    assert response.status_code == 302, response.text
    return {"ds_actor": response.cookies["ds_actor"], "ds_csrftoken": token}

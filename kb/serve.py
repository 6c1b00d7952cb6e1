"""Run Datasette on the knowledge base with insightkb's metadata, canned queries and plugins."""
from __future__ import annotations

import copy
import json
import logging
import socket
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from datasette.app import Datasette

from kb.db import open_db
from kb.logins import LoginPolicy
from kb.secrets import get_secret

log = logging.getLogger(__name__)


class PortUnavailable(OSError):
    "The host/port to serve on cannot be bound"


def check_port(host: str, port: int) -> None:
    """Raise PortUnavailable with a one-line reason if `host:port` cannot be listened on."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.bind((host, port))
    except OSError as exc:
        raise PortUnavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _load_yaml(name: str) -> dict[str, Any]:
    return yaml.safe_load(resources.files("kb.datasette").joinpath(name).read_text(encoding="utf-8")) or {}


def _fill(value: Any, db_name: str) -> Any:
    """Put the KB's database name wherever the YAML says {db}."""
    return json.loads(json.dumps(value).replace("{db}", db_name))


def build_metadata(db_name: str, login_policy: LoginPolicy = LoginPolicy()) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metadata, settings) for a KB served under the database name `db_name`."""
    meta = _load_yaml("metadata.yaml")
    config = _load_yaml("datasette.yaml")
    queries = _load_yaml("queries.yaml")
    database = meta.pop("database")
    query_params = {name: q.pop("params", {}) for name, q in queries.items()}
    database["queries"] = queries
    meta["databases"] = {db_name: database}
    plugins = copy.deepcopy(config.get("plugins") or {})
    plugins["insightkb"] = {"database": db_name, "query_params": query_params,
                            "login_policy": login_policy.as_config()}
    meta["plugins"] = plugins
    return _fill(meta, db_name), dict(config.get("settings") or {})


# Plugin configuration that changes while serving: login accounts come from the editors table
# (kb.datasette_plugin's get_metadata hook). Every other plugin's configuration is our static
# metadata, so its look-ups can be remembered.
DYNAMIC_PLUGIN_CONFIG = frozenset({"datasette-auth-passwords"})


def remember_static_plugin_config(ds: Datasette) -> None:
    """Memoise `ds.plugin_config` for static configuration.

    datasette-render-markdown asks for its configuration once per rendered cell (2,000 times for
    a 200-row canned query), and each answer re-merges the whole metadata: a third of the page's
    Python time. The answers never change for a running server, except for DYNAMIC_PLUGIN_CONFIG.
    """
    lookup = ds.plugin_config
    remembered: dict[tuple[str, str | None, str | None, bool], Any] = {}

    def plugin_config(plugin_name: str, database: str | None = None, table: str | None = None,
                      fallback: bool = True) -> Any:
        if plugin_name in DYNAMIC_PLUGIN_CONFIG:
            return lookup(plugin_name, database=database, table=table, fallback=fallback)
        key = (plugin_name, database, table, fallback)
        if key not in remembered:
            remembered[key] = lookup(plugin_name, database=database, table=table, fallback=fallback)
        return remembered[key]

    ds.plugin_config = plugin_config  # type: ignore[method-assign]


def make_datasette(kb_path: str | Path, secret: str | None = None,
                   login_policy: LoginPolicy = LoginPolicy()) -> Datasette:
    """A Datasette instance on the KB (migrated first), as `serve` runs it; for tests and serving.

    `secret` signs cookies, CSRF and unsubscribe tokens: the configured one, else the file beside
    the KB (`kb.secrets.get_secret`). It is passed to Datasette, never put in the environment.
    """
    kb_path = Path(kb_path)
    db = open_db(kb_path)
    db.conn.close()
    metadata, settings = build_metadata(kb_path.stem, login_policy)
    ds = Datasette(
        [str(kb_path)],
        metadata=metadata,
        settings=settings,
        secret=get_secret(kb_path, secret),
        cors=False,
    )
    remember_static_plugin_config(ds)
    return ds


def serve(kb_path: str | Path, *, host: str = "127.0.0.1", port: int = 8001, secret: str | None = None,
          login_policy: LoginPolicy = LoginPolicy()) -> None:
    """Serve the KB with Datasette until interrupted (blocking)."""
    import asyncio

    import uvicorn

    ds = make_datasette(kb_path, secret, login_policy)
    asyncio.run(ds.invoke_startup())
    log.info("serving %s on http://%s:%s/", kb_path, host, port)
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on")

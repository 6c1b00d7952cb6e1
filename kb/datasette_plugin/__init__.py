"""insightkb's Datasette plugin: editors' login accounts, privacy, curation pages, claim pages.

Each hook is a few lines; the work is in the modules beside this one.
"""
from __future__ import annotations

from datasette import hookimpl
from markupsafe import escape

from kb.datasette_plugin import accounts, facets, guard, privacy, throttle, views
from kb.urls import safe_link


@hookimpl
def prepare_jinja2_environment(env, datasette):
    # One filter for every link our templates render from content (kb.urls): old rows are safe too.
    env.filters["safe_link"] = safe_link


@hookimpl
def render_cell(value):
    # Datasette links any cell that starts with http(s)://; one failing the URL policy
    # (credentials, backslashes, control characters) is shown as text instead.
    if isinstance(value, str) and value.startswith(("http://", "https://")) and safe_link(value) is None:
        return escape(value)
    return None


@hookimpl
def prepare_connection(conn, database, datasette):
    privacy.protect_connection(conn)


@hookimpl
def get_metadata(datasette, key, database, table):
    # Login accounts for datasette-auth-passwords come from the (private) editors table. They are
    # only handed out when the "plugins" key is asked for, never in the whole-metadata dump.
    if key == "plugins" and database is None and table is None:
        return {"plugins": {"datasette-auth-passwords": accounts.login_config(datasette)}}
    return None


# Datasette's write permissions (1.0's JSON API, writable canned queries): refused for everyone,
# whatever path a request took. Editors write through /-/curation, which runs kb.curation itself.
WRITE_ACTIONS = frozenset({
    "insert-row", "delete-row", "update-row", "upsert-row", "create-table", "alter-table", "drop-table",
    "execute-write-sql",
})


@hookimpl
def permission_allowed(datasette, actor, action, resource):
    if action in WRITE_ACTIONS:
        return False
    if action == "view-table" and isinstance(resource, (tuple, list)) and privacy.is_private(resource[1]):
        return False
    if action == "view-database-download":
        return False  # the file holds subscribers' emails
    if action == "insightkb-curate":
        return accounts.is_editor(datasette, actor)
    return None


@hookimpl
def register_facet_classes():
    return [facets.CountedFacet]


@hookimpl
def asgi_wrapper(datasette):
    return lambda app: guard.wrap(datasette, throttle.wrap(datasette, app, views.kb_database))


@hookimpl
def register_routes():
    return [
        (r"^/-/curation$", views.queue_page),
        (r"^/-/curation/claims/(?P<claim_id>\d+)$", views.claim_action),
        (r"^/-/curation/taxonomy$", views.taxonomy_page),
        (r"^/-/curation/taxonomy/edit$", views.taxonomy_action),
        (r"^/[^/]+/[^/]+/-/(insert|upsert|update|delete|drop|alter)$", views.refuse_write_api),
        (r"^/[^/]+/-/(create|query|insert)$", views.refuse_write_api),
    ]


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    if request is None:
        return None
    if view_name == "row" and table == "claims":
        return views.claim_page_vars(request, datasette, database)
    if view_name == "table" and guard.FTS_COUNT_KEY in request.scope:
        return views.search_count_vars(request, datasette, database)
    return None


@hookimpl
def menu_links(datasette, actor):
    async def inner():
        if await datasette.permission_allowed(actor, "insightkb-curate", default=False):
            return [
                {"href": datasette.urls.path("/-/curation"), "label": "Curation queue"},
                {"href": datasette.urls.path("/-/curation/taxonomy"), "label": "Taxonomy"},
            ]
        return []

    return inner

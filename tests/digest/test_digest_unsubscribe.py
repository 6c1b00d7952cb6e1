"""RFC 8058 one-click unsubscribe: the Datasette route in-process and over HTTP from a real server."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace

import httpx
import pytest
from datasette.app import Datasette

from digest import build_digest, deliver_digest
from digest_kbdata import NOW
from digest_support import SECRET, smtp_options
from kb.subscribers import add_subscriber, get_subscriber, remove_subscriber
from kb.tokens import make_unsubscribe_token
from tests.conftest import running_server


def _token(sub) -> str:
    return make_unsubscribe_token(SECRET, sub.id, sub.unsubscribe_token)


async def test_get_confirms_and_post_unsubscribes(seeded, kb_path):
    sub = add_subscriber(seeded, "ada@example.org")
    ds = Datasette([str(kb_path)], secret=SECRET)
    url = f"/-/unsubscribe/{_token(sub)}"
    page = await ds.client.get(url)
    assert page.status_code == 200
    assert "Unsubscribe from the daily digest?" in page.text and 'method="post"' in page.text
    assert get_subscriber(seeded, sub.id).active  # a GET (link scanner) changes nothing
    done = await ds.client.post(url, data={"List-Unsubscribe": "One-Click"})  # no CSRF token, no cookie
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert not get_subscriber(seeded, sub.id).active
    again = await ds.client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert "already unsubscribed" in (await ds.client.get(url)).text


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # bad signature
    lambda t: "WzEsIngiXQ.forged",  # made-up
    lambda t: make_unsubscribe_token("another-secret", 1, "x"),  # signed with someone else's secret
])
async def test_bad_tokens_are_refused(seeded, kb_path, mangle):
    sub = add_subscriber(seeded, "ada@example.org")
    ds = Datasette([str(kb_path)], secret=SECRET)
    url = f"/-/unsubscribe/{mangle(_token(sub))}"
    assert (await ds.client.get(url)).status_code == 404
    assert (await ds.client.post(url, data={"List-Unsubscribe": "One-Click"})).status_code == 404
    assert get_subscriber(seeded, sub.id).active


async def test_old_link_is_void_after_resubscribing(seeded, kb_path):
    sub = add_subscriber(seeded, "ada@example.org")
    old = _token(sub)
    remove_subscriber(seeded, "ada@example.org")
    fresh = add_subscriber(seeded, "ada@example.org")
    assert fresh.unsubscribe_token != sub.unsubscribe_token
    ds = Datasette([str(kb_path)], secret=SECRET)
    assert (await ds.client.post(f"/-/unsubscribe/{old}", data={"List-Unsubscribe": "One-Click"})).status_code == 404
    assert get_subscriber(seeded, sub.id).active


async def test_archive_routes(seeded, kb_path, options):
    build_digest(seeded, NOW.date(), options)
    ds = Datasette([str(kb_path)], secret=SECRET)
    page = await ds.client.get(f"/-/digests/{NOW.date()}")
    assert page.status_code == 200 and "insightkb daily digest" in page.text
    assert (await ds.client.get("/-/digests/1999-01-01")).status_code == 404
    assert str(NOW.date()) in (await ds.client.get("/-/digests")).text
    feed = await ds.client.get("/-/digests.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml") and "<entry>" in feed.text


@pytest.fixture
def datasette_server(kb_path, seeded, tmp_path):
    """The real `insightkb serve` (which loads the unsubscribe plugin), sharing the digest's secret."""
    with running_server(kb_path, cwd=tmp_path, env={**os.environ, "INSIGHTKB_SECRET": SECRET}) as base:
        yield base


def test_unsubscribe_link_works_over_http_and_stops_the_next_digest(seeded, options, smtp_server, datasette_server):
    options = replace(options, base_url=datasette_server)
    add_subscriber(seeded, "ada@example.org")
    add_subscriber(seeded, "bob@example.org")
    deliver_digest(seeded, build_digest(seeded, NOW.date(), options), options, smtp_options(smtp_server.port))
    ada_msg = next(r.message for r in smtp_server.handler.accepted if r.rcpt_tos == ["ada@example.org"])
    url = ada_msg["List-Unsubscribe"].strip("<>")
    assert url.startswith(datasette_server + "/-/unsubscribe/")
    with httpx.Client(timeout=10) as client:
        confirm = client.get(url)
        assert confirm.status_code == 200 and "Unsubscribe" in confirm.text
    # what a mail client does for RFC 8058: a bare POST, no cookies, no CSRF token
    one_click = httpx.post(url, content=b"List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert one_click.status_code == 200, one_click.text
    assert not get_subscriber(seeded, "ada@example.org").active

    tomorrow = NOW.date() + dt.timedelta(days=1)
    smtp_server.handler.accepted.clear()
    report = deliver_digest(seeded, build_digest(seeded, tomorrow, options), options, smtp_options(smtp_server.port))
    assert report.sent == 1
    assert smtp_server.handler.by_rcpt() == {"bob@example.org": 1}


async def test_links_sent_before_a_secret_rotation_still_unsubscribe(seeded, kb_path):
    from kb.secrets import get_secret, rotate_secret
    from kb.serve import make_datasette

    secret = get_secret(kb_path)  # created beside the KB, as `insightkb digest` does
    sub = add_subscriber(seeded, "ada@example.org")
    token = make_unsubscribe_token(secret, sub.id, sub.unsubscribe_token)
    stranger = Datasette([str(kb_path)])  # another secret, no previous ones: the token is not its own
    assert (await stranger.client.post(f"/-/unsubscribe/{token}")).status_code == 404
    rotate_secret(kb_path)
    ds = make_datasette(kb_path)  # the new secret; the old one is accepted for unsubscribing only
    assert ds.unsign(ds.sign("x", "n"), "n") == "x"
    assert (await ds.client.post(f"/-/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})).status_code == 200
    assert not get_subscriber(seeded, sub.id).active


async def test_routes_work_inside_insightkb_serve_with_private_subscribers(seeded, kb_path, options, monkeypatch):
    serve = pytest.importorskip("kb.serve")
    from kb.secrets import get_secret

    monkeypatch.delenv("INSIGHTKB_SECRET", raising=False)
    secret = get_secret(kb_path)
    sub = add_subscriber(seeded, "ada@example.org")
    build_digest(seeded, NOW.date(), replace(options, secret=secret))
    ds = serve.make_datasette(kb_path)
    db_name = kb_path.stem
    with pytest.raises(Exception):  # the subscribers table is private to Datasette's readers
        await ds.get_database(db_name).execute("SELECT email FROM subscribers")
    url = f"/-/unsubscribe/{make_unsubscribe_token(secret, sub.id, sub.unsubscribe_token)}"
    assert "Unsubscribe from the daily digest?" in (await ds.client.get(url)).text
    done = await ds.client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert not get_subscriber(seeded, sub.id).active
    assert (await ds.client.get(f"/-/digests/{NOW.date()}")).status_code == 200

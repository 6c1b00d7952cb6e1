"""The sources / ingest commands through click, on a real KB file."""
from __future__ import annotations

from click.testing import CliRunner

from insightkb.samples import SAMPLES_DIR


def invoke(cli, kb_path, *args):
    result = CliRunner().invoke(cli, ["--kb", str(kb_path), *args], catch_exceptions=False)
    return result


def test_sources_add_list_ingest(cli, kb_path):
    feed = SAMPLES_DIR / "feeds" / "podinsights.xml"
    r = invoke(cli, kb_path, "sources", "add", str(feed), "--kind", "rss", "--title", "Pod", "--interval", "30m")
    assert r.exit_code == 0 and r.output == (
        f"added source 1: rss 'Pod' (active) {feed}\n  found an RSS 2.0 feed with 2 items\n")
    r = invoke(cli, kb_path, "sources", "add", str(SAMPLES_DIR / "newsletters" / "maligned-2.eml"))
    assert r.output.startswith("added source 2: email ")
    r = invoke(cli, kb_path, "sources", "list")
    head, first = r.output.splitlines()[:2]
    assert head.split() == ["ID", "KIND", "STATE", "EVERY", "DOCS", "SKIPPED", "LAST", "RUN", "TITLE", "NOTE"]
    assert first.split() == ["1", "rss", "active", "30m", "0", "0", "-", "Pod"]
    r = invoke(cli, kb_path, "ingest")
    assert r.exit_code == 0, r.output
    assert f"[1] {feed}: 2 new, 0 unchanged, 0 duplicates" in r.output
    assert "2 sources: 3 new documents, 0 failed\n" in r.output
    r = invoke(cli, kb_path, "ingest", "--source", "2")
    assert "0 new, 1 unchanged" in r.output


def test_bad_input_is_one_line(cli, kb_path, tmp_path):
    r = invoke(cli, kb_path, "sources", "add", str(tmp_path / "nope.xml"))
    assert r.exit_code == 1 and r.output == f"Error: no such file or folder: {tmp_path / 'nope.xml'}\n"
    r = invoke(cli, kb_path, "sources", "add", "https://example.com/feed", "--interval", "5 parsecs")
    assert r.exit_code == 2 and "use seconds or 15m / 1h / 1d, or auto" in r.output
    (tmp_path / "a.xml").write_text("<rss")
    r = invoke(cli, kb_path, "sources", "add", str(tmp_path / "a.xml"))
    assert r.exit_code == 1 and r.output.startswith(f"Error: refused {tmp_path / 'a.xml'}: found XML that is not a feed")
    assert len(r.output.splitlines()) == 1
    invoke(cli, kb_path, "sources", "add", str(tmp_path / "a.xml"), "--no-check")
    (tmp_path / "a.xml").unlink()
    r = invoke(cli, kb_path, "ingest")
    assert r.exit_code == 1
    assert f"error: file not found: {tmp_path / 'a.xml'}" in r.output
    r = invoke(cli, kb_path, "ingest", "--source", "99")
    assert r.exit_code == 1 and r.output == "Error: no source 99\n"


def test_opml_round_trip(cli, kb_path, tmp_path):
    opml = tmp_path / "subs.opml"
    opml.write_text(
        """<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
        <outline text="AI"><outline text="One" type="rss" xmlUrl="https://one.example/feed" htmlUrl="https://one.example/"/>
        <outline text="Two &amp; co" xmlUrl="https://two.example/atom.xml" type="atom"/></outline>
        <outline text="One again" type="rss" xmlUrl="https://one.example/feed"/>
        </body></opml>""",
        encoding="utf-8",
    )
    r = invoke(cli, kb_path, "sources", "import-opml", str(opml))
    assert r.output == f"{opml}: 2 feeds, 2 added, 0 already present\n"
    r = invoke(cli, kb_path, "sources", "import-opml", str(opml))
    assert r.output == f"{opml}: 2 feeds, 0 added, 2 already present\n"
    out = tmp_path / "out.opml"
    r = invoke(cli, kb_path, "sources", "export-opml", "-o", str(out))
    from ingest.opml import parse_opml

    back = parse_opml(out.read_bytes()).sources
    assert [(s.url, s.kind, s.title, s.tags, s.site_url) for s in back] == [
        ("https://one.example/feed", "rss", "One", ["AI"], "https://one.example/"),
        ("https://two.example/atom.xml", "atom", "Two & co", ["AI"], None),
    ]
    bad = tmp_path / "bad.opml"
    bad.write_text("<html>no</html>")
    r = invoke(cli, kb_path, "sources", "import-opml", str(bad))
    assert r.exit_code == 1 and r.output == f"Error: {bad}: not OPML: the root element is not <opml>\n"


def test_every_command_has_help_with_example(cli):
    for name in ("sources", "ingest", "run"):
        command = cli.commands[name]
        subs = list(command.commands.values()) if hasattr(command, "commands") else [command]
        for sub in [command, *subs]:
            assert "Example:" in (sub.help or ""), sub.name

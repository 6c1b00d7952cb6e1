"""`insightkb editors add/list/remove`: passwords prompted, stored only as hashes, clear errors."""
from __future__ import annotations

from click.testing import CliRunner

from insightkb.cli import cli


def run(kb, *args, input=None):
    return CliRunner().invoke(cli, ["--kb", str(kb), *args], input=input)


def test_add_prompts_for_a_password_and_stores_only_a_hash(kb_path) -> None:
    result = run(kb_path, "editors", "add", "alice", input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output
    assert "editor alice added" in result.output
    from kb import open_db
    from kb.editors import check_password

    db = open_db(kb_path)
    stored = db.execute("SELECT password_hash FROM editors WHERE name = 'alice'").fetchone()[0]
    assert stored.startswith("pbkdf2_sha256$") and "a-long-password" not in stored
    assert check_password(db, "alice", "a-long-password") and not check_password(db, "alice", "wrong-password")
    assert "a-long-password" not in kb_path.read_bytes().decode("latin-1")
    again = run(kb_path, "editors", "add", "alice", input="another-password\nanother-password\n")
    assert "password changed" in again.output
    listed = run(kb_path, "editors", "list")
    assert listed.exit_code == 0 and listed.output.startswith("alice\tactive\t")


def test_bad_editor_input_is_one_line_and_changes_nothing(kb_path) -> None:
    bad_name = run(kb_path, "editors", "add", "<script>", input="a-long-password\na-long-password\n")
    assert bad_name.exit_code == 1 and "Error: bad editor name '<script>'" in bad_name.output
    short = run(kb_path, "editors", "add", "bob", input="short\nshort\n")
    assert short.exit_code == 1 and "password too short" in short.output
    mismatch = run(kb_path, "editors", "add", "bob", input="a-long-password\nother-password\n")
    assert mismatch.exit_code != 0
    missing = run(kb_path, "editors", "remove", "nobody")
    assert missing.exit_code == 1 and "no editor 'nobody'" in missing.output
    assert run(kb_path, "editors", "list").output.startswith("no editors yet")


def test_serve_help_has_an_example() -> None:
    for args in (["serve", "--help"], ["editors", "add", "--help"], ["editors", "list", "--help"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0 and "Example:" in result.output


def test_serve_on_a_busy_port_is_a_one_line_error(kb_path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(kb_path, "serve", "--port", str(port))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"]
    bad = run(kb_path, "serve", "--port", "99999")
    assert bad.exit_code == 2 and "99999 is not in the range" in bad.output

"""Newsletter emails -> Documents: .eml files, mbox, maildir or a folder of .eml (IMAP in ingest.imap)."""
from __future__ import annotations

import email
import email.policy
import hashlib
import logging
import mailbox
import re
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any, Iterator

from ingest.blocks import Block, assemble, squash
from ingest.boilerplate import is_boilerplate_line
from ingest.canonical import canonical_url
from ingest.dates import iso_from_rfc2822
from ingest.html_text import html_to_blocks, parse_html
from kb.records import Document, Source

log = logging.getLogger(__name__)

_SIGNATURE = re.compile(r"^-- ?$")
IDENTIFYING_HEADERS = ("From", "Subject", "Date", "Message-ID")
MAX_UNREADABLE = 0.02  # share of replacement or control characters a newsletter's text never reaches


class NotMail(ValueError):
    "The bytes are not an e-mail a newsletter could be read from; the message says why in one line"


def unreadable_share(text: str) -> float:
    """Share of U+FFFD and control characters (other than tab and line breaks) in `text`."""
    if not text:
        return 0.0
    bad = sum(1 for ch in text if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\n\r"))
    return bad / len(text)


def check_mail(msg: EmailMessage) -> None:
    """Raise NotMail unless `msg` has the headers every e-mail has (From, Subject, Date or Message-ID)."""
    if not any(msg.get(name) for name in IDENTIFYING_HEADERS):
        found = len(msg.keys())
        raise NotMail(f"not an e-mail: no From, Subject, Date or Message-ID header ({found} header"
                      f"{'' if found == 1 else 's'} found)")


def parse_message(raw: bytes) -> EmailMessage:
    """Bytes of one RFC 5322 message -> EmailMessage (modern policy: decoded headers)."""
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def _part_text(part: Any) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeDecodeError, AssertionError, KeyError):
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, errors="replace")
        except LookupError:
            return payload.decode("utf-8", errors="replace")


def plain_text_blocks(text: str) -> list[Block]:
    """Paragraphs of a text/plain body, stopping at the signature separator, furniture dropped."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for line in lines:
        if _SIGNATURE.match(line.rstrip("\n")) or line.strip() == "--":
            break
        kept.append(line)
    blocks = []
    for para in re.split(r"\n\s*\n", "\n".join(kept)):
        para_lines = [l for l in para.split("\n") if not is_boilerplate_line(l.strip())]
        text_ = squash(" ".join(para_lines))
        if text_ and not is_boilerplate_line(text_):
            blocks.append(Block(text_))
    return blocks


def newsletter_identity(msg: EmailMessage) -> dict[str, str]:
    """Which newsletter a message is: its List-Id (preferred) and sender."""
    out: dict[str, str] = {}
    list_id = msg.get("List-Id")
    if list_id:
        m = re.search(r"<([^>]+)>", str(list_id))
        out["list_id"] = (m.group(1) if m else str(list_id)).strip()
        name = str(list_id).split("<")[0].strip().strip('"')
        if name:
            out["newsletter"] = name
    sender_name, sender_addr = parseaddr(str(msg.get("From") or ""))
    if sender_addr:
        out["from"] = sender_addr.lower()
    if sender_name and "newsletter" not in out:
        out["newsletter"] = sender_name
    return out


def message_to_document(msg: EmailMessage, source: Source, *, fallback_guid: str | None = None) -> Document:
    """One email -> Document: the HTML part preferred, else the text part; furniture dropped.

    Raises NotMail for bytes that are not an e-mail (no identifying header, or a body of binary noise).
    """
    check_mail(msg)
    html_part = msg.get_body(preferencelist=("html",))
    text_part = msg.get_body(preferencelist=("plain",))
    blocks: list[Block] = []
    metadata: dict[str, Any] = newsletter_identity(msg)
    web_url = None
    if html_part is not None:
        html = _part_text(html_part)
        soup = parse_html(html)
        web_url = _view_online_url(soup)
        blocks = html_to_blocks(soup)
    if not blocks and text_part is not None:
        blocks = plain_text_blocks(_part_text(text_part))
    text, passages = assemble(blocks)
    share = unreadable_share(text)
    if share > MAX_UNREADABLE:
        raise NotMail(f"not an e-mail: the body is binary ({share:.0%} unreadable characters)")
    message_id = str(msg.get("Message-ID") or "").strip()
    guid = message_id or fallback_guid or "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    unsubscribe = msg.get("List-Unsubscribe")
    if unsubscribe:
        metadata["list_unsubscribe"] = str(unsubscribe)
    to = [addr for _, addr in getaddresses([str(msg.get("To") or "")]) if addr]
    if to:
        metadata["to"] = to
    sender_name, sender_addr = parseaddr(str(msg.get("From") or ""))
    return Document(
        source_id=source.id or 0,
        guid=guid,
        text=text,
        title=squash(str(msg.get("Subject") or "")) or None,
        url=canonical_url(web_url),
        author=sender_name or sender_addr or None,
        published=iso_from_rfc2822(msg.get("Date")),
        passages=passages,
        metadata=metadata,
    )


def _view_online_url(soup: Any) -> str | None:
    """The "view in browser" link of a newsletter: the issue's web address."""
    for a in soup.find_all("a", href=True):
        label = squash(a.get_text(" ")).lower()
        if "browser" in label or "view online" in label or "web version" in label:
            href = a["href"]
            if href.startswith("http"):
                return href
    return None


def iter_mail_path(path: Path) -> Iterator[tuple[str, bytes]]:
    """(key, raw bytes) of every message in a .eml file, an mbox, a maildir or a folder of .eml files."""
    if path.is_dir():
        if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            box = mailbox.Maildir(str(path), factory=None, create=False)
            for key in sorted(box.keys()):
                yield f"maildir:{key}", box.get_bytes(key)
            return
        for file in sorted(path.rglob("*.eml")):
            yield f"eml:{file.relative_to(path)}", file.read_bytes()
        return
    with path.open("rb") as fh:
        head = fh.read(5)
    if head == b"From ":
        box = mailbox.mbox(str(path), create=False)
        try:
            for key in box.keys():
                yield f"mbox:{key}", box.get_bytes(key)
        finally:
            box.close()
        return
    yield f"eml:{path.name}", path.read_bytes()

"""HTML -> paragraph blocks: keeps headings, paragraphs and list items; drops furniture.

Dropped: scripts and styles, navigation, headers with navigation, footers, asides, forms,
hidden elements (email preheaders), images (tracking pixels), elements whose class or id
names boilerplate, and short paragraphs such as "View in browser" or "Unsubscribe".
"""
from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from ingest.blocks import Block, squash
from ingest.boilerplate import BOILERPLATE_ATTR, is_boilerplate_line, is_hidden_style

DROP_TAGS = {
    "script", "style", "noscript", "template", "head", "nav", "footer", "aside", "form", "iframe",
    "svg", "img", "picture", "video", "audio", "button", "input", "select", "textarea", "object",
    "embed", "canvas", "map", "link", "meta", "title",
}
BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "header", "li", "ul", "ol", "dl", "dt", "dd",
    "blockquote", "pre", "table", "tr", "td", "th", "tbody", "thead", "tfoot", "h1", "h2", "h3",
    "h4", "h5", "h6", "figure", "figcaption", "hr", "body", "html", "center", "address", "details",
    "summary",
}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
SECTION_TAGS = {"section", "article"}
_LABEL = re.compile(r"^(Best for|Topics|Tags|Audience|Keywords)\s*:", re.I)


def parse_html(html: str | bytes) -> BeautifulSoup:
    """A BeautifulSoup tree (lxml when available, it is much faster)."""
    try:
        return BeautifulSoup(html, "lxml")
    except Exception:  # pragma: no cover - lxml missing
        return BeautifulSoup(html, "html.parser")


def _is_furniture(tag: Tag) -> bool:
    if tag.name in DROP_TAGS:
        return True
    attrs = tag.attrs or {}
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    style = attrs.get("style")
    if isinstance(style, str) and is_hidden_style(style):
        return True
    names = " ".join(attrs.get("class") or []) + " " + str(attrs.get("id") or "") + " " + str(attrs.get("role") or "")
    if names.strip() and BOILERPLATE_ATTR.search(names):
        return True
    if tag.name == "header" and tag.find("nav") is not None:
        return True
    return False


def strip_furniture(root: Tag) -> None:
    """Remove boilerplate elements and comments from `root`, in place."""
    for comment in root.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for tag in list(root.find_all(True)):
        if tag.decomposed or tag.parent is None:
            continue
        if _is_furniture(tag):
            tag.decompose()


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.buffer: list[str] = []
        self.section: str | None = None
        self.pending_br = 0

    def flush(self, *, heading: bool = False, marker: str = "") -> None:
        text = squash("".join(self.buffer))
        self.buffer = []
        if not text:
            return
        if heading:
            self.blocks.append(Block(text, section=text, heading=True))
            return
        if is_boilerplate_line(text):
            return
        section = self.section
        m = _LABEL.match(text)
        if m:
            section = m.group(1)
        self.blocks.append(Block(text, section=section, marker=marker))

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if isinstance(child, Comment):
                    continue
                self.buffer.append(str(child))
                if str(child).strip():
                    self.pending_br = 0
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name == "br":
                self.pending_br += 1
                if self.pending_br >= 2:
                    self.flush()
                else:
                    self.buffer.append(" ")
                continue
            if name in HEADINGS:
                self.flush()
                self.buffer.append(child.get_text(" "))
                heading_text = squash("".join(self.buffer))
                self.flush(heading=True)
                if heading_text and name != "h1":
                    self.section = heading_text
                continue
            if name in BLOCK_TAGS:
                self.flush()
                saved = self.section
                self.walk(child)
                self.flush(marker="- " if name == "li" else "")
                if name in SECTION_TAGS:
                    self.section = saved
                continue
            self.walk(child)


def html_to_blocks(html: str | bytes | Tag, *, clean: bool = True) -> list[Block]:
    """Paragraph blocks of an HTML fragment or page (see module docstring for what is dropped)."""
    root = html if isinstance(html, Tag) else parse_html(html)
    if clean:
        strip_furniture(root)
    body = root.find("body") if root.name in ("[document]", "html") else None
    walker = _Walker()
    walker.walk(body or root)
    walker.flush()
    return walker.blocks


def html_to_text(html: str | bytes) -> str:
    """Plain text of an HTML fragment, paragraphs separated by blank lines."""
    return "\n\n".join(b.text for b in html_to_blocks(html))

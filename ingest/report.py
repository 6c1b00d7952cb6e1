"""What happened to one source in one ingest run."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class IngestReport:
    """Counts and the one-line outcome of ingesting one source."""

    source_id: int | None
    url: str
    new: int = 0
    unchanged: int = 0
    duplicates: int = 0
    not_modified: bool = False
    error: str | None = None
    warning: str | None = None
    skipped: str | None = None  # why the source was not fetched (e.g. backing off)
    parsed_items: int = 0  # entries/messages parsed (0 after a 304): new + unchanged + duplicates + skipped
    fetched_bytes: int = 0
    skip_reasons: Counter = field(default_factory=Counter)  # why items were seen but not stored
    skipped_rows: list[dict[str, Any]] = field(default_factory=list)  # those items, for the skipped_items table
    title_only: int = 0  # stored with only their title as text
    full_text: int = 0  # articles fetched for short items
    full_text_failed: int = 0

    def skip_item(self, reason: str, *, guid: str | None = None, url: str | None = None,
                  title: str | None = None, remember: bool = True) -> None:
        """Count an item that is not stored, with its reason (and keep it visible)."""
        self.skip_reasons[reason] += 1
        if remember and guid:
            self.skipped_rows.append({"guid": guid, "url": url, "title": title, "reason": reason})

    @property
    def skipped_items(self) -> int:
        return sum(self.skip_reasons.values())

    def counters(self) -> dict[str, Any]:
        """The run's counters as stored on the source row (`sources.last_run`)."""
        return {"seen": self.parsed_items, "new": self.new, "unchanged": self.unchanged,
                "duplicates": self.duplicates, "skipped": self.skipped_items,
                "skip_reasons": dict(self.skip_reasons), "title_only": self.title_only,
                "full_text": self.full_text, "full_text_failed": self.full_text_failed,
                "not_modified": self.not_modified}

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        """One line: `[3] https://... : 2 new, 0 unchanged, 0 duplicates` or the error."""
        head = f"[{self.source_id}] {self.url}"
        if self.error:
            return f"{head}: error: {self.error}"
        if self.skipped:
            return f"{head}: skipped: {self.skipped}"
        if self.not_modified:
            body = "not modified (304)"
        else:
            body = f"{self.new} new, {self.unchanged} unchanged, {self.duplicates} duplicates"
            if self.skipped_items:
                reasons = ", ".join(f"{n} {why}" for why, n in self.skip_reasons.most_common())
                body += f", {self.skipped_items} skipped ({reasons})"
            if self.full_text or self.full_text_failed:
                body += f"; full text of {self.full_text} article(s)"
                if self.full_text_failed:
                    body += f", {self.full_text_failed} failed"
        if self.warning:
            body += f" (warning: {self.warning})"
        return f"{head}: {body}"

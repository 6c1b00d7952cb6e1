"""What happened to one source in one ingest run."""
from __future__ import annotations

from dataclasses import dataclass


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
    parsed_items: int = 0  # entries/messages parsed (0 after a 304)
    fetched_bytes: int = 0

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
        if self.warning:
            body += f" (warning: {self.warning})"
        return f"{head}: {body}"

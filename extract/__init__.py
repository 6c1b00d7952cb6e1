"""insightkb extraction: a spaCy pipeline that turns Documents into Claims.

Claims carry topics (with stance and the cues that decided it), normalised quantities,
entities and the speaker. Patterns and lexicons are data in extract/data/.
"""
from __future__ import annotations

from extract.nlp import build_nlp
from extract.runner import EXTRACTOR_VERSION, ExtractReport, extract_pending

__all__ = ["build_nlp", "extract_pending", "EXTRACTOR_VERSION", "ExtractReport"]

"""Editors' decisions on claims and the taxonomy, each logged in `curation_log`.

Every claim decision sets `claims.editor_locked = 1` (and `claim_topics.origin = 'editor'` for
topics an editor set), so `kb.claims.save_claims` never overwrites it on re-extraction.
"""
from __future__ import annotations

import json
import re
from typing import Any

import sqlite_utils

from kb.topics import NEW_TOPIC_DIRECTION, BadTopic, check_examples, parse_examples

STANCES = ("supports", "opposes", "neutral")
STATUSES = ("pending", "approved", "rejected")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class UnknownClaim(LookupError):
    "No claim with that id"


class UnknownTopic(LookupError):
    "No topic with that slug"


class BadCuration(ValueError):
    "A curation request with a missing or malformed value"


def _now(db: sqlite_utils.Database) -> str:
    return db.execute("SELECT strftime('%Y-%m-%dT%H:%M:%SZ', 'now')").fetchone()[0]


def claim_state(db: sqlite_utils.Database, claim_id: int) -> dict[str, Any]:
    """What an editor can change on a claim: status, boost, topics {slug: stance}."""
    row = db.execute("SELECT status, boost FROM claims WHERE id = ?", [claim_id]).fetchone()
    if row is None:
        raise UnknownClaim(f"no claim {claim_id}")
    topics = {
        r[0]: r[1]
        for r in db.execute("SELECT topic, stance FROM claim_topics WHERE claim_id = ? ORDER BY topic", [claim_id])
    }
    return {"status": row[0], "boost": row[1], "topics": topics}


def _log(db: sqlite_utils.Database, claim_id: int | None, actor: str, action: str,
         before: Any, after: Any) -> int:
    return db.execute(
        "INSERT INTO curation_log (claim_id, actor, action, before, after) VALUES (?,?,?,?,?)",
        [claim_id, actor, action, json.dumps(before, sort_keys=True), json.dumps(after, sort_keys=True)],
    ).lastrowid


def _check_actor(actor: str) -> str:
    if not actor or not isinstance(actor, str):
        raise BadCuration("every curation needs an actor (the editor's name)")
    return actor


def _check_topic(db: sqlite_utils.Database, topic: str) -> str:
    if not db.execute("SELECT 1 FROM topics WHERE slug = ?", [topic]).fetchone():
        raise UnknownTopic(f"no topic {topic!r}")
    return topic


def _check_stance(stance: str) -> str:
    if stance not in STANCES:
        raise BadCuration(f"bad stance {stance!r}: expected one of {', '.join(STANCES)}")
    return stance


def _decide(db: sqlite_utils.Database, claim_id: int, actor: str, action: str, change) -> dict[str, Any]:
    """Run `change(db)` on one claim in a transaction, lock the claim and log before/after."""
    _check_actor(actor)
    with db.conn:
        before = claim_state(db, claim_id)
        change(db)
        db.execute(
            "UPDATE claims SET editor_locked = 1, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
            [claim_id],
        )
        after = claim_state(db, claim_id)
        _log(db, claim_id, actor, action, before, after)
    return after


def approve(db: sqlite_utils.Database, claim_id: int, actor: str) -> dict[str, Any]:
    """Mark the claim approved."""
    return _decide(db, claim_id, actor, "approve",
                   lambda d: d.execute("UPDATE claims SET status = 'approved' WHERE id = ?", [claim_id]))


def reject(db: sqlite_utils.Database, claim_id: int, actor: str) -> dict[str, Any]:
    """Mark the claim rejected: it stays (for the record) but leaves counts and digests."""
    return _decide(db, claim_id, actor, "reject",
                   lambda d: d.execute("UPDATE claims SET status = 'rejected' WHERE id = ?", [claim_id]))


def reset(db: sqlite_utils.Database, claim_id: int, actor: str) -> dict[str, Any]:
    """Put the claim back in the queue (pending); it stays locked against re-extraction."""
    return _decide(db, claim_id, actor, "reset",
                   lambda d: d.execute("UPDATE claims SET status = 'pending' WHERE id = ?", [claim_id]))


def set_stance(db: sqlite_utils.Database, claim_id: int, topic: str, stance: str, actor: str) -> dict[str, Any]:
    """Set the claim's stance toward `topic` (adding the topic if the claim lacked it)."""
    _check_stance(stance)
    _check_topic(db, topic)

    def change(d: sqlite_utils.Database) -> None:
        d.execute(
            "INSERT INTO claim_topics (claim_id, topic, stance, score, origin) VALUES (?, ?, ?, 1.0, 'editor')"
            " ON CONFLICT (claim_id, topic) DO UPDATE SET stance = excluded.stance, score = 1.0, origin = 'editor'",
            [claim_id, topic, stance],
        )

    return _decide(db, claim_id, actor, "set_stance", change)


def add_topic(db: sqlite_utils.Database, claim_id: int, topic: str, actor: str,
              stance: str = "neutral") -> dict[str, Any]:
    """Tag the claim with `topic` (stance `stance`)."""
    _check_stance(stance)
    _check_topic(db, topic)

    def change(d: sqlite_utils.Database) -> None:
        d.execute(
            "INSERT INTO claim_topics (claim_id, topic, stance, score, origin) VALUES (?, ?, ?, 1.0, 'editor')"
            " ON CONFLICT (claim_id, topic) DO UPDATE SET origin = 'editor'",
            [claim_id, topic, stance],
        )

    return _decide(db, claim_id, actor, "add_topic", change)


def remove_topic(db: sqlite_utils.Database, claim_id: int, topic: str, actor: str) -> dict[str, Any]:
    """Untag the claim from `topic`."""
    if topic not in claim_state(db, claim_id)["topics"]:
        raise BadCuration(f"claim {claim_id} has no topic {topic!r}")
    return _decide(db, claim_id, actor, "remove_topic",
                   lambda d: d.execute("DELETE FROM claim_topics WHERE claim_id = ? AND topic = ?", [claim_id, topic]))


def boost(db: sqlite_utils.Database, claim_id: int, value: float, actor: str) -> dict[str, Any]:
    """Set the digest boost (-10..10; the digest ranks boosted claims higher)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise BadCuration(f"bad boost {value!r}: expected a number") from None
    if not -10 <= value <= 10:
        raise BadCuration(f"bad boost {value}: expected a number from -10 to 10")
    return _decide(db, claim_id, actor, "boost",
                   lambda d: d.execute("UPDATE claims SET boost = ? WHERE id = ?", [value, claim_id]))


def save_topic(db: sqlite_utils.Database, slug: str, label: str, proposition: str, actor: str,
               description: str | None = None, *, pro: str | None = None, evaluative: bool | None = None,
               valence: bool | None = None, rising: str | None = None, examples: Any = None,
               patterns: list[str] | None = None) -> dict[str, Any]:
    """Create or edit a taxonomy topic, its whole record: label, proposition (stance is always
    toward it), direction flags (see kb.topics), example sentences and new phrase patterns.

    A flag or the examples left None keep what the topic has (a new topic gets
    `kb.topics.NEW_TOPIC_DIRECTION`); `patterns` are added as the editor's own. The next
    `insightkb extract` tags and judges by the new record.
    """
    _check_actor(actor)
    if not _SLUG.match(slug or ""):
        raise BadCuration(f"bad topic slug {slug!r}: lower-case letters, digits and '-'")
    label, proposition = (label or "").strip(), (proposition or "").strip()
    if not label or not proposition:
        raise BadCuration("a topic needs a label and a proposition")
    for name, value in (("pro", pro), ("rising", rising)):
        if value not in (None, "", "supports", "opposes"):
            raise BadCuration(f"bad {name} {value!r}: expected supports or opposes")
    try:
        examples = None if examples is None else check_examples(
            parse_examples(examples) if isinstance(examples, str) else examples)
    except BadTopic as exc:
        raise BadCuration(str(exc)) from None
    phrases = [p.strip() for p in patterns or [] if p and p.strip()]
    with db.conn:
        rows = list(db.query(f"SELECT {', '.join(_TOPIC_FIELDS)} FROM topics WHERE slug = ?", [slug]))
        before = _topic_state(rows[0]) if rows else None
        base = before or {**NEW_TOPIC_DIRECTION, "examples": []}
        after = {"slug": slug, "label": label, "description": (description or "").strip() or None,
                 "proposition": proposition,
                 "pro": pro or base["pro"],
                 "evaluative": base["evaluative"] if evaluative is None else bool(evaluative),
                 "valence": base["valence"] if valence is None else bool(valence),
                 "rising": base["rising"] if rising is None else (rising or None),
                 "examples": base["examples"] if examples is None else examples}
        db.execute(
            "INSERT INTO topics (slug, label, description, proposition, pro, evaluative, valence, rising, examples)"
            " VALUES (:slug, :label, :description, :proposition, :pro, :evaluative, :valence, :rising, :examples)"
            " ON CONFLICT (slug) DO UPDATE SET label = excluded.label, description = excluded.description,"
            " proposition = excluded.proposition, pro = excluded.pro, evaluative = excluded.evaluative,"
            " valence = excluded.valence, rising = excluded.rising, examples = excluded.examples",
            {**after, "evaluative": None if after["evaluative"] is None else int(after["evaluative"]),
             "valence": None if after["valence"] is None else int(after["valence"]),
             "examples": json.dumps(after["examples"], ensure_ascii=False)},
        )
        _log(db, None, actor, "edit_topic" if before else "add_topic_to_taxonomy", before, after)
        for phrase in phrases:
            _insert_pattern(db, slug, json.dumps(phrase), actor)
    return after


_TOPIC_FIELDS = ("slug", "label", "description", "proposition", "pro", "evaluative", "valence", "rising", "examples")


def _topic_state(row: dict[str, Any]) -> dict[str, Any]:
    """A topics row as logged and edited: flags as stored (None: never set), examples decoded."""
    out = dict(row)
    for flag in ("evaluative", "valence"):
        out[flag] = None if out[flag] is None else bool(out[flag])
    out["examples"] = json.loads(out["examples"]) if out["examples"] else []
    return out


def add_pattern(db: sqlite_utils.Database, topic: str, pattern: str, actor: str, kind: str = "phrase") -> int:
    """Add an editor's topic pattern (a phrase, or a spaCy token pattern as JSON); return its id.

    Stored in the extractor's `topic_patterns` table as JSON with origin 'editor'; the next
    extraction uses it.
    """
    _check_actor(actor)
    _check_topic(db, topic)
    pattern = (pattern or "").strip()
    if not pattern:
        raise BadCuration("empty pattern")
    if kind == "phrase":
        stored = json.dumps(pattern)
    elif kind == "token":
        try:
            parsed = json.loads(pattern)
        except json.JSONDecodeError as exc:
            raise BadCuration(f"token pattern is not JSON: {exc.msg}") from None
        if not isinstance(parsed, list) or not parsed or not all(isinstance(t, dict) for t in parsed):
            raise BadCuration('token pattern must be a JSON list of objects, e.g. [{"LOWER": "latency"}]')
        stored = json.dumps(parsed, sort_keys=True)
    else:
        raise BadCuration(f"bad pattern kind {kind!r}: expected phrase or token")
    with db.conn:
        return _insert_pattern(db, topic, stored, actor)


def _insert_pattern(db: sqlite_utils.Database, topic: str, stored: str, actor: str) -> int:
    """Insert one editor pattern (JSON) of a topic and log it, inside the caller's transaction."""
    if db.execute("SELECT 1 FROM topic_patterns WHERE topic = ? AND pattern = ?", [topic, stored]).fetchone():
        raise BadCuration(f"topic {topic!r} already has that pattern")
    pid = db.execute(
        "INSERT INTO topic_patterns (topic, pattern, origin, active, note) VALUES (?, ?, 'editor', 1, ?)",
        [topic, stored, f"added by {actor}"],
    ).lastrowid
    _log(db, None, actor, "add_pattern", None, {"id": pid, "topic": topic, "pattern": json.loads(stored)})
    return pid


def _pattern(db: sqlite_utils.Database, pattern_id: int) -> dict[str, Any]:
    rows = list(db.query("SELECT id, topic, pattern, origin, active FROM topic_patterns WHERE id = ?", [pattern_id]))
    if not rows:
        raise BadCuration(f"no pattern {pattern_id}")
    return rows[0]


def set_pattern_active(db: sqlite_utils.Database, pattern_id: int, active: bool, actor: str) -> None:
    """Switch a topic pattern (shipped or editor's) on or off for the next extraction."""
    _check_actor(actor)
    with db.conn:
        before = _pattern(db, pattern_id)
        db.execute("UPDATE topic_patterns SET active = ? WHERE id = ?", [int(bool(active)), pattern_id])
        _log(db, None, actor, "enable_pattern" if active else "disable_pattern", before, _pattern(db, pattern_id))


def remove_pattern(db: sqlite_utils.Database, pattern_id: int, actor: str) -> None:
    """Delete an editor-added pattern (shipped ones can only be switched off: seeding would bring them back)."""
    _check_actor(actor)
    with db.conn:
        before = _pattern(db, pattern_id)
        if before["origin"] != "editor":
            raise BadCuration(f"pattern {pattern_id} is shipped with the extractor: switch it off instead")
        db.execute("DELETE FROM topic_patterns WHERE id = ?", [pattern_id])
        _log(db, None, actor, "remove_pattern", before, None)


def patterns(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every topic pattern, by topic, with a readable form of the pattern."""
    out = []
    for r in db.query("SELECT id, topic, pattern, origin, active, note FROM topic_patterns ORDER BY topic, origin, id"):
        try:
            value = json.loads(r["pattern"])
        except json.JSONDecodeError:
            value = r["pattern"]
        r["display"] = value if isinstance(value, str) else json.dumps(value)
        out.append(r)
    return out


def history(db: sqlite_utils.Database, claim_id: int) -> list[dict[str, Any]]:
    """The claim's curation log, oldest first, with before/after decoded."""
    out = []
    for r in db.query(
        "SELECT id, actor, action, before, after, at FROM curation_log WHERE claim_id = ? ORDER BY id", [claim_id]
    ):
        r["before"] = json.loads(r["before"]) if r["before"] else None
        r["after"] = json.loads(r["after"]) if r["after"] else None
        out.append(r)
    return out


def has_topic_probability(db: sqlite_utils.Database) -> bool:
    """True once the extractor stores a calibrated probability per claim topic."""
    return any(r[1] == "probability" for r in db.execute("PRAGMA table_info(claim_topics)"))


def queue(db: sqlite_utils.Database, *, limit: int = 20, offset: int = 0,
          topic: str | None = None) -> list[dict[str, Any]]:
    """Claims awaiting review, the extractor's least certain first, with their topics.

    With calibrated probabilities (`claim_topics.probability`) the claims whose topic probability
    is closest to 0.5 come first (on `topic`, if given; else the claim's most uncertain topic);
    without them, the lowest claim confidence first.
    """
    probability = has_topic_probability(db)
    if topic and probability:
        rows = list(db.query(
            "SELECT c.id, c.text, c.confidence, c.speaker, c.document_id, abs(ct.probability - 0.5) AS uncertainty"
            " FROM claim_topics ct JOIN claims c ON c.id = ct.claim_id"
            " WHERE ct.topic = ? AND c.status = 'pending'"
            " ORDER BY ct.probability IS NULL, uncertainty, c.confidence, c.id LIMIT ? OFFSET ?",
            [topic, limit, offset]))
    elif topic:
        rows = list(db.query(
            "SELECT c.id, c.text, c.confidence, c.speaker, c.document_id FROM claims c"
            " WHERE c.status = 'pending' AND c.id IN (SELECT claim_id FROM claim_topics WHERE topic = ?)"
            " ORDER BY c.confidence, c.id LIMIT ? OFFSET ?", [topic, limit, offset]))
    elif probability:
        rows = list(db.query(
            "SELECT * FROM (SELECT id, text, confidence, speaker, document_id,"
            " (SELECT min(abs(probability - 0.5)) FROM claim_topics WHERE claim_id = claims.id) AS uncertainty"
            " FROM claims WHERE status = 'pending')"
            " ORDER BY uncertainty IS NULL, uncertainty, confidence, id LIMIT ? OFFSET ?", [limit, offset]))
    else:
        rows = list(db.query(
            "SELECT id, text, confidence, speaker, document_id FROM claims WHERE status = 'pending'"
            " ORDER BY confidence, id LIMIT ? OFFSET ?", [limit, offset]))
    columns = "topic, stance, score, origin, cues" + (", probability" if probability else "")
    for r in rows:
        r["topics"] = list(db.query(
            f"SELECT {columns} FROM claim_topics WHERE claim_id = ? ORDER BY topic = ? DESC, topic",
            [r["id"], topic or ""]))
        for t in r["topics"]:
            t["cues"] = _cue_words(t.get("cues"))
        doc = db.execute(
            "SELECT d.title, d.url, coalesce(s.title, s.url) FROM documents d LEFT JOIN sources s ON s.id = d.source_id"
            " WHERE d.id = ?", [r["document_id"]]).fetchone()
        r["document_title"], r["document_url"], r["source"] = doc if doc else (None, None, None)
    return rows


def _cue_words(raw: Any) -> list[str]:
    """The stance cue words stored as a JSON list (anything else: none)."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    return [str(v) for v in value][:8] if isinstance(value, list) else []


class NothingToUndo(LookupError):
    "The editor has no claim decision left to undo"


def undo_last(db: sqlite_utils.Database, actor: str) -> dict[str, Any]:
    """Undo `actor`'s last claim decision: put back its status, boost and topics as they were.

    Only the last decision can be undone, once (the undo is itself logged as `undo`).
    Returns {"claim_id", "undid" (the action), "claim" (state now)}.
    """
    _check_actor(actor)
    last = db.execute(
        "SELECT id, claim_id, action, before FROM curation_log WHERE actor = ? AND claim_id IS NOT NULL"
        " ORDER BY id DESC LIMIT 1", [actor]).fetchone()
    if last is None or last[2] == "undo":
        raise NothingToUndo(f"{actor} has no decision left to undo")
    log_id, claim_id, action, before_json = last
    before = json.loads(before_json)

    def change(d: sqlite_utils.Database) -> None:
        d.execute("UPDATE claims SET status = ?, boost = ? WHERE id = ?", [before["status"], before["boost"], claim_id])
        now = claim_state(d, claim_id)["topics"]
        for slug in set(now) - set(before["topics"]):
            d.execute("DELETE FROM claim_topics WHERE claim_id = ? AND topic = ?", [claim_id, slug])
        for slug, stance in before["topics"].items():
            if now.get(slug) != stance:
                d.execute(
                    "INSERT INTO claim_topics (claim_id, topic, stance, score, origin) VALUES (?, ?, ?, 1.0, 'editor')"
                    " ON CONFLICT (claim_id, topic) DO UPDATE SET stance = excluded.stance, origin = 'editor'",
                    [claim_id, slug, stance])

    state = _decide(db, claim_id, actor, "undo", change)
    return {"claim_id": claim_id, "undid": action, "log_id": log_id, "claim": state}


def pending_count(db: sqlite_utils.Database, topic: str | None = None) -> int:
    """How many claims await review (on `topic`, if given)."""
    if topic:
        return db.execute("SELECT count(*) FROM claims_by_topic WHERE topic = ? AND status = 'pending'",
                          [topic]).fetchone()[0]
    return db.execute("SELECT count(*) FROM claims WHERE status = 'pending'").fetchone()[0]


def claim_context(db: sqlite_utils.Database, claim_id: int) -> dict[str, Any]:
    """The claim with its paragraph (passage) split around the sentence, its document and source."""
    rows = list(db.query(
        "SELECT c.id, c.text, c.start_char, c.end_char, c.status, c.confidence, c.speaker, c.editor_locked,"
        " c.boost, d.id AS document_id, d.title, d.url, d.published, d.text AS doc_text,"
        " coalesce(s.title, s.url) AS source, s.kind, s.url AS source_url"
        " FROM claims c JOIN documents d ON d.id = c.document_id LEFT JOIN sources s ON s.id = d.source_id"
        " WHERE c.id = ?", [claim_id]))
    if not rows:
        raise UnknownClaim(f"no claim {claim_id}")
    r = rows[0]
    text = r.pop("doc_text")
    passage = db.execute(
        "SELECT start_char, end_char, section, speaker, start_seconds, end_seconds FROM passages"
        " WHERE document_id = ? AND start_char <= ? AND end_char >= ? ORDER BY start_char DESC LIMIT 1",
        [r["document_id"], r["start_char"], r["end_char"]],
    ).fetchone()
    if passage:
        p_start, p_end, r["section"], p_speaker, r["start_seconds"], r["end_seconds"] = passage
        r["speaker"] = r["speaker"] or p_speaker
    else:
        p_start = text.rfind("\n", 0, r["start_char"]) + 1
        p_end = text.find("\n", r["end_char"])
        p_end = len(text) if p_end == -1 else p_end
        r["section"] = r["start_seconds"] = r["end_seconds"] = None
    s, e = max(r["start_char"], p_start), min(r["end_char"], p_end)
    r["before_text"], r["sentence"], r["after_text"] = text[p_start:s], text[s:e], text[e:p_end]
    r["link"] = _timestamped(r["url"], r["start_seconds"])
    return r


def _timestamped(url: str | None, seconds: float | None) -> str | None:
    """`url` with a media-fragment start time (`#t=754`) for podcast passages."""
    if not url or seconds is None:
        return url
    return f"{url.split('#', 1)[0]}#t={int(seconds)}"


def describe_change(before: Any, after: Any) -> list[str]:
    """What changed between two logged states, one readable line per field
    ("status: pending → approved", "topic latency: supports → opposes", "+ topic gpu-supply (neutral)")."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        if before == after:
            return []
        return [f"{_show(before)} → {_show(after)}"]
    lines = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key == "topics" and isinstance(old or {}, dict) and isinstance(new or {}, dict):
            old, new = old or {}, new or {}
            for slug in sorted(set(old) | set(new)):
                if slug not in old:
                    lines.append(f"+ topic {slug} ({new[slug]})")
                elif slug not in new:
                    lines.append(f"− topic {slug} ({old[slug]})")
                elif old[slug] != new[slug]:
                    lines.append(f"topic {slug}: {old[slug]} → {new[slug]}")
        elif key not in before:
            lines.append(f"{key}: {_show(new)}")
        else:
            lines.append(f"{key}: {_show(old)} → {_show(new)}")
    return lines


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def editor_decisions(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every claim an editor decided on (approved, rejected, stance changed, topic added or
    removed: `editor_locked`), with its offsets, status, current topics {slug: stance}, the
    topics editors removed, and its document's text, for training the learned heads."""
    rows = list(db.query(
        "SELECT c.id AS claim_id, c.document_id, c.start_char, c.end_char, c.status, d.text AS document_text"
        " FROM claims c JOIN documents d ON d.id = c.document_id WHERE c.editor_locked = 1 ORDER BY c.id"))
    for r in rows:
        r["topics"] = {t: s for t, s in db.execute(
            "SELECT topic, stance FROM claim_topics WHERE claim_id = ? ORDER BY topic", [r["claim_id"]])}
        r["removed_topics"] = sorted({
            topic for (before, after) in db.execute(
                "SELECT before, after FROM curation_log WHERE claim_id = ? AND action = 'remove_topic'",
                [r["claim_id"]]).fetchall()
            for topic in set(json.loads(before or "{}").get("topics", {})) - set(json.loads(after or "{}").get("topics", {}))
            if topic not in r["topics"]})
    return rows

"""Choosing the five: novelty, diversity, disagreement labels, quiet days, editors, preferences."""
from __future__ import annotations

import datetime as dt

from digest import build_digest, rank_claims
from digest.build import Personaliser
from digest_kbdata import NOW, SEED_SPECS, Spec, add_claims
from kb.digests import digest_items, load_digest, save_digest

TODAY = NOW.date()
YESTERDAY = TODAY - dt.timedelta(days=1)


def picked_texts(db, digest_id):
    ids = [i["claim_id"] for i in digest_items(db, digest_id)]
    texts = dict(db.execute("SELECT id, text FROM claims").fetchall())
    return [texts[i] for i in ids]


def test_five_items_each_with_a_reason(seeded, options):
    digest_id = build_digest(seeded, TODAY, options)
    items = digest_items(seeded, digest_id)
    assert len(items) == 5
    assert [i["rank"] for i in items] == [1, 2, 3, 4, 5]
    assert all(i["reason"] for i in items)
    assert len({i["claim_id"] for i in items}) == 5


def test_built_once_per_date(seeded, options):
    first = build_digest(seeded, TODAY, options)
    before = (load_digest(seeded, first), digest_items(seeded, first))
    add_claims(seeded, [Spec("A brand new claim about inference cost arrives after the digest was built.",
                             source="https://late.example/feed", hours_ago=0.1, confidence=0.99,
                             topics=[("inference-cost", "supports")])])
    assert build_digest(seeded, TODAY, options) == first
    assert (load_digest(seeded, first), digest_items(seeded, first)) == before
    assert seeded.execute("SELECT count(*) FROM digests").fetchone()[0] == 1


def test_duplicate_of_yesterdays_item_is_not_picked(db, options):
    yesterday_text = "Bloomberg spent eight figures on BloombergGPT, only for GPT-4 to make it obsolete weeks later."
    [old] = add_claims(db, [Spec(yesterday_text, source="https://old.example/feed", hours_ago=30, confidence=0.9,
                                 topics=[("finetuning-obsolescence", "supports")])])
    save_digest(db, YESTERDAY.isoformat(), "s", "t", "h", [{"rank": 1, "claim_id": old, "score": 1.0}], [])
    # Today another source repeats it nearly word for word, with the highest confidence of all.
    add_claims(db, [Spec("Bloomberg spent eight figures on BloombergGPT, only for GPT-4 to make it obsolete a few weeks later.",
                         source="https://copycat.example/feed", hours_ago=1, confidence=1.0,
                         topics=[("finetuning-obsolescence", "supports")])] + SEED_SPECS[1:])
    texts = picked_texts(db, build_digest(db, TODAY, options))
    assert not any("BloombergGPT" in t for t in texts)
    assert len(texts) == 5


def test_two_claims_from_one_source_not_both_picked_when_others_exist(db, options):
    specs = [
        Spec(f"Claim number {n} from the loud source about {topic} with distinct words {n}x{n}.",
             source="https://loud.example/feed", hours_ago=1, confidence=0.99, topics=[(topic, "supports")])
        for n, topic in enumerate(["latency", "inference-cost", "token-thresholds"])
    ] + [
        Spec(f"A quieter source {n} says something else entirely on subject {topic} {n}{n}.",
             source=f"https://quiet{n}.example/feed", hours_ago=6, confidence=0.5, topics=[(topic, "neutral")])
        for n, topic in enumerate(["proprietary-data", "finetuning-obsolescence", "latency", "inference-cost", "token-thresholds"])
    ]
    add_claims(db, specs)
    digest_id = build_digest(db, TODAY, options)
    sources = [r[0] for r in db.execute(
        "SELECT d.source_id FROM digest_items i JOIN claims c ON c.id = i.claim_id"
        " JOIN documents d ON d.id = c.document_id WHERE i.digest_id = ? ORDER BY i.rank", [digest_id]
    )]
    assert len(sources) == 5
    assert len(set(sources)) == 5  # the loud source's three high-confidence claims yield one item


def test_same_source_allowed_when_nothing_else(db, options):
    add_claims(db, [
        Spec(f"Only source claim {n} on topic with its own words alpha{n} beta{n}.", source="https://solo.example/feed",
             hours_ago=1 + n, topics=[(t, "supports")])
        for n, t in enumerate(["latency", "inference-cost", "token-thresholds", "proprietary-data", "finetuning-obsolescence", "latency"])
    ])
    assert len(digest_items(db, build_digest(db, TODAY, options))) == 5


def test_contested_claim_is_labelled_with_both_sides(seeded, options):
    # the other side argues about the same thing (BloombergGPT), not just the same topic
    add_claims(seeded, [Spec("BloombergGPT was not made obsolete by GPT-4: Bloomberg still runs it on finance work.",
                             source="https://rebuttal.example/feed", hours_ago=2, confidence=0.6,
                             topics=[("finetuning-obsolescence", "opposes")])])
    digest_id = build_digest(seeded, TODAY, options)
    items = digest_items(seeded, digest_id)
    texts = dict(seeded.execute("SELECT id, text FROM claims").fetchall())
    bloomberg = next(i for i in items if texts[i["claim_id"]].startswith("Bloomberg spent"))
    assert "contested by rebuttal.example" in bloomberg["reason"]
    html = load_digest(seeded, digest_id)["html_body"]
    assert "The other side" in html and "still runs it on finance work" in html
    # an opposite stance on the topic that argues about something else is no other side
    assert "most advanced AI startups are increasingly adopting" not in html.split("The other side")[1][:400]


def test_no_other_side_when_only_unrelated_claims_oppose(seeded, options):
    digest_id = build_digest(seeded, TODAY, options)
    texts = dict(seeded.execute("SELECT id, text FROM claims").fetchall())
    bloomberg = next(i for i in digest_items(seeded, digest_id) if texts[i["claim_id"]].startswith("Bloomberg spent"))
    assert "contested" not in bloomberg["reason"]


def test_corroboration_and_new_number_reasons(db, options):
    add_claims(db, [
        Spec("At least 10 billion high-quality tokens are needed after deduplication and filtering.",
             source="https://one.example/feed", hours_ago=2, confidence=0.9, topics=[("token-thresholds", "supports")],
             quantities=[("10 billion tokens", 1e10, "tokens")]),
        Spec("You need at least 10 billion high-quality tokens after deduplication and filtering.",
             source="https://two.example/feed", hours_ago=3, topics=[("token-thresholds", "supports")]),
        Spec("At least 10 billion high quality tokens are needed after heavy deduplication and filtering.",
             source="https://three.example/feed", hours_ago=4, topics=[("token-thresholds", "supports")]),
    ])
    ranking = rank_claims(db, TODAY, options)
    top = ranking.items[0]
    assert "3 sources make this point" in top.reason
    assert "a number not seen here before: 10 billion tokens" in top.reason
    assert len(ranking.items) == 1  # the other two are near-duplicates of the first


def test_quiet_day_falls_back_to_older_unsent_claims(db, options):
    add_claims(db, [Spec(s.text, source=s.source, hours_ago=24 * 5 + n, topics=s.topics, quantities=s.quantities)
                    for n, s in enumerate(SEED_SPECS)])
    digest_id = build_digest(db, TODAY, options)
    items = digest_items(db, digest_id)
    assert len(items) == 5
    assert all("not in a digest yet" in i["reason"] and "archive" not in i["reason"] for i in items)
    # the next day's fallback does not resend them
    nxt = build_digest(db, TODAY + dt.timedelta(days=1), options)
    again = {i["claim_id"] for i in digest_items(db, nxt)}
    assert again.isdisjoint({i["claim_id"] for i in items})
    assert len(again) == 2  # only seven claims in all


def test_rejected_claims_are_never_picked(seeded, options):
    seeded.execute("UPDATE claims SET status = 'rejected' WHERE text LIKE 'Bloomberg%'")
    seeded.conn.commit()
    texts = picked_texts(seeded, build_digest(seeded, TODAY, options))
    assert not any(t.startswith("Bloomberg") for t in texts)


def test_editor_approval_and_boost_lift_a_claim(seeded, options):
    seeded.execute("UPDATE claims SET status = 'approved', boost = 1.0 WHERE text LIKE 'Proprietary data%'")
    seeded.conn.commit()
    ranking = rank_claims(seeded, TODAY, options)
    assert ranking.items[0].candidate.text.startswith("Proprietary data")
    assert "an editor recommends it" in ranking.items[0].reason


def test_subscriber_topics_filter_and_rerank(seeded, options):
    digest_id = build_digest(seeded, TODAY, options)
    personal = Personaliser(seeded, digest_id, options)
    picks = personal.picks_for(["latency"])
    texts = dict(seeded.execute("SELECT id, text FROM claims").fetchall())
    assert "latency" in texts[picks[0]["claim_id"]]
    assert len(picks) == 5  # filled up from the general ranking
    assert personal.picks_for([]) == [
        {"claim_id": i["claim_id"], "reason": i["reason"], "counter_claim_id": p["counter_claim_id"]}
        for i, p in zip(digest_items(seeded, digest_id), personal.picks_for([]))
    ]


def test_an_empty_digest_is_filled_once_claims_arrive_but_never_sent_empty(db, options):
    from digest import deliver_digest
    from kb.subscribers import add_subscriber

    add_subscriber(db, "ada@example.org")
    empty = build_digest(db, TODAY, options)
    assert digest_items(db, empty) == []
    report = deliver_digest(db, empty, options, None)
    assert report.sent == 0 and "no items" in report.errors[0]
    add_claims(db, SEED_SPECS)
    assert build_digest(db, TODAY, options) == empty
    assert len(digest_items(db, empty)) == 5
    assert load_digest(db, empty)["subject"].startswith("Top 5 insights")
    assert deliver_digest(db, empty, options, None).sent == 1


def test_preview_of_a_built_quiet_day_matches_what_was_stored(db, options):
    add_claims(db, [Spec(s.text, source=s.source, hours_ago=24 * 5 + n, topics=s.topics, quantities=s.quantities)
                    for n, s in enumerate(SEED_SPECS)])
    stored = [i["claim_id"] for i in digest_items(db, build_digest(db, TODAY, options))]
    assert [s.claim_id for s in rank_claims(db, TODAY, options).items] == stored


def test_two_claims_on_one_topic_not_both_picked_when_others_exist(db, options):
    hot = [Spec(f"Fine-tuning claim {n} from its own source with words gamma{n} delta{n} epsilon{n}.",
                source=f"https://hot{n}.example/feed", hours_ago=1, confidence=0.95,
                topics=[("finetuning-obsolescence", "supports")]) for n in range(4)]
    calm = [Spec(f"A calmer claim {n} on another subject zeta{n} eta{n} theta{n}.",
                 source=f"https://calm{n}.example/feed", hours_ago=8, confidence=0.5, topics=[(t, "neutral")])
            for n, t in enumerate(["latency", "inference-cost", "token-thresholds", "proprietary-data"])]
    add_claims(db, hot + calm)
    ranking = rank_claims(db, TODAY, options)
    topics = [s.topic for s in ranking.items]
    assert len(topics) == 5 and len(set(topics)) == 5
    assert topics[0] == "finetuning-obsolescence"

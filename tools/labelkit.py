"""Stand-off labelling kit for the real corpus in ../shared/corpus (dev tool, not shipped).

    python tools/labelkit.py select --labelers 3            # batches of paragraphs to label
    python tools/labelkit.py show BATCH_IDS_FILE            # paragraphs with numbered sentences
    python tools/labelkit.py convert RAW.jsonl --check      # validate raw labels, write nothing
    python tools/labelkit.py convert RAW.jsonl --labeler A  # raw labels -> extract/labels/{split}.jsonl
    python tools/labelkit.py convert RAW.jsonl --into extract/labels/blind-DATE.jsonl  # a blind file
    python tools/labelkit.py retag RAW.jsonl --topics open-weights,gpu-supply --labeler AA  # a second pass

A labeller reads the shown paragraphs and writes one raw JSON line per paragraph:
    {"id": "b71c80527861", "units": [
        {"s": [0], "claim": false},
        {"s": [1, 2], "claim": true, "topics": {"latency": "supports"},
         "quantities": [{"text": "150ms", "value": 0.15, "unit": "s", "upper": null}],
         "speaker": ""}]}
"s" lists the sentence numbers a unit covers (consecutive); every sentence is covered once.
`convert` checks the line and stores it stand-off: character offsets, no copied text.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "paragraphs.jsonl"
LABELS = ROOT / "extract" / "labels"
WORK = Path("/work/labelwork")
STANCES = {"supports", "opposes", "neutral"}
SENTENCE_END = re.compile(r"""(?<=[.!?])["')\]]*\s+(?=["'(\[]?[A-Z0-9])""")


def load_corpus() -> dict[str, dict]:
    with CORPUS.open(encoding="utf-8") as lines:
        return {row["id"]: row for row in map(json.loads, lines)}


def topic_slugs() -> set[str]:
    rows = (json.loads(line) for line in (ROOT / "kb" / "data" / "topics.jsonl").open())
    return {row["slug"] for row in rows}


def split_of(row: dict) -> str:
    """train / dev / test by source document, stable."""
    bucket = int(hashlib.sha1(f"{row['source_repo']}:{row['path']}".encode()).hexdigest(), 16) % 100
    return "test" if bucket < 30 else "dev" if bucket < 45 else "train"


def sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text.rstrip())))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def select(args: argparse.Namespace) -> None:
    corpus = load_corpus()
    rng = random.Random(args.seed)
    quota = {"app_layer": 40, "inference_cost": 40, "model_depreciation": 50, "switching_costs": 60,
             "interpretability": 60, "data_moat": 70}
    by_topic: dict[str, list[str]] = defaultdict(list)
    off_topic = []
    for pid, row in corpus.items():
        if row["n_sentences"] > 5:
            continue
        for topic in row.get("topics") or []:
            by_topic[topic].append(pid)
        if not row.get("topics"):
            off_topic.append(pid)
    chosen: dict[str, None] = {}
    for topic, pids in sorted(by_topic.items()):
        rng.shuffle(pids)
        for pid in pids[: quota.get(topic, args.per_topic)]:
            chosen[pid] = None
    rng.shuffle(off_topic)
    for pid in off_topic[: args.off_topic]:
        chosen[pid] = None
    order = list(chosen)
    rng.shuffle(order)
    WORK.mkdir(parents=True, exist_ok=True)
    for index in range(args.labelers):
        mine = order[index :: args.labelers]
        name = "ABCDEFGH"[index]
        for start in range(0, len(mine), args.batch):
            number = start // args.batch + 1
            (WORK / f"{name}-{number:02d}.ids").write_text("\n".join(mine[start : start + args.batch]) + "\n")
    print(f"{len(order)} paragraphs, {sum(corpus[p]['n_sentences'] for p in order)} sentences (estimated)")


def show(args: argparse.Namespace) -> None:
    corpus = load_corpus()
    by_doc: dict[tuple, dict[int, dict]] = defaultdict(dict)
    for row in corpus.values():
        by_doc[(row["source_repo"], row["path"])][row["para_index"]] = row
    for pid in Path(args.ids).read_text().split():
        row = corpus[pid]
        previous = by_doc[(row["source_repo"], row["path"])].get(row["para_index"] - 1)
        speaker = f" · speaker: {row['speaker']}" if row.get("speaker") else ""
        print(f"=== {pid} · {row['kind']} · {row['path']}{speaker}")
        if previous:
            context = previous["text"]
            print(f"    (previous paragraph: {context[:400]}{'...' if len(context) > 400 else ''})")
        for number, (start, end) in enumerate(sentences(row["text"])):
            print(f"  [{number}] {row['text'][start:end]}")
        print()


def _find_whole(text: str, needle: str, start: int, end: int) -> int:
    """First occurrence of needle in text[start:end], preferring one not inside a longer word ("4B" not in "14B")."""
    first = -1
    for match in re.finditer(re.escape(needle), text[start:end]):
        at = start + match.start()
        first = at if first < 0 else first
        before = text[at - 1] if at > 0 else " "
        after = text[at + len(needle)] if at + len(needle) < len(text) else " "
        if not (before.isalnum() and needle[:1].isalnum()) and not (after.isalnum() and needle[-1:].isalnum()):
            return at
    return first


def _unit_record(text: str, spans: list[tuple[int, int]], unit: dict, slugs: set[str]) -> dict:
    numbers = unit["s"]
    if not numbers or numbers != list(range(numbers[0], numbers[-1] + 1)):
        raise ValueError(f"sentences {numbers} are not consecutive")
    start, end = spans[numbers[0]][0], spans[numbers[-1]][1]
    record = {"start": start, "end": end, "claim": bool(unit["claim"])}
    topics = unit.get("topics") or {}
    for slug, stance in topics.items():
        if slug not in slugs or stance not in STANCES:
            raise ValueError(f"bad topic/stance {slug}: {stance}")
    if topics and not record["claim"]:
        raise ValueError("topics on a non-claim")
    record["topics"] = topics
    quantities, cursor = [], start
    for quantity in unit.get("quantities") or []:
        found = _find_whole(text, quantity["text"], cursor, end)
        if found < 0:
            found = _find_whole(text, quantity["text"], start, end)
        if found < 0:
            raise ValueError(f"quantity text {quantity['text']!r} not in the unit")
        cursor = found + len(quantity["text"])
        quantities.append({"start": found, "end": cursor, "value": float(quantity["value"]),
                           "unit": quantity.get("unit") or "", "upper": quantity.get("upper")})
    record["quantities"] = quantities
    record["speaker"] = unit.get("speaker") or ""
    return record


def convert(args: argparse.Namespace) -> None:
    corpus = load_corpus()
    slugs = topic_slugs()
    stored: dict[str, dict[str, dict]] = {}
    for split in ("train", "dev", "test"):
        path = LABELS / f"{split}.jsonl"
        stored[split] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                row = json.loads(line)
                stored[split][row["id"]] = row
    problems = 0
    into: dict[str, dict] = {}
    for raw_path in args.raw:
        for number, line in enumerate(Path(raw_path).read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                row = corpus[raw["id"]]
                spans = sentences(row["text"])
                covered = sorted(n for unit in raw["units"] for n in unit["s"])
                if covered != list(range(len(spans))):
                    raise ValueError(f"units cover sentences {covered}, the paragraph has {len(spans)}")
                units = [_unit_record(row["text"], spans, unit, slugs) for unit in raw["units"]]
            except (ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
                problems += 1
                print(f"{raw_path}:{number}: {error}", file=sys.stderr)
                continue
            record = {"id": raw["id"], "labeler": args.labeler, "units": units}
            if args.into:
                into[raw["id"]] = record
            else:
                stored[split_of(row)][raw["id"]] = record
    if args.check:
        print(f"{problems} line(s) refused")
        sys.exit(1 if problems else 0)
    if args.into:
        with Path(args.into).open("w", encoding="utf-8") as out:
            for pid in sorted(into):
                out.write(json.dumps(into[pid], ensure_ascii=False) + "\n")
        print(f"units stored in {args.into}: {sum(len(r['units']) for r in into.values())}; {problems} line(s) refused")
        sys.exit(1 if problems else 0)
    LABELS.mkdir(parents=True, exist_ok=True)
    for split, rows in stored.items():
        with (LABELS / f"{split}.jsonl").open("w", encoding="utf-8") as out:
            for pid in sorted(rows):
                out.write(json.dumps(rows[pid], ensure_ascii=False) + "\n")
    counts = {split: sum(len(r["units"]) for r in rows.values()) for split, rows in stored.items()}
    print(f"units stored: {counts}; {problems} line(s) refused")
    if problems:
        sys.exit(1)


def retag(args: argparse.Namespace) -> None:
    """Replace the tags of `--topics` on listed units with a second pass's answers.

    A raw retag line names one unit by its sentences: {"id": ..., "s": [1], "topics": {...}};
    its topics outside `--topics` are ignored, and the unit's other topics are kept."""
    corpus = load_corpus()
    chosen = set(args.topics.split(","))
    unknown = chosen - topic_slugs()
    if unknown:
        sys.exit(f"unknown topics: {sorted(unknown)}")
    answers: dict[tuple[str, tuple[int, ...]], dict[str, str]] = {}
    for raw_path in args.raw:
        for line in Path(raw_path).read_text().splitlines():
            if line.strip():
                raw = json.loads(line)
                answers[(raw["id"], tuple(raw["s"]))] = {k: v for k, v in raw["topics"].items() if k in chosen}
    changed = used = 0
    for split in ("train", "dev", "test"):
        path = LABELS / f"{split}.jsonl"
        if not path.exists():
            continue
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for row in rows:
            spans = sentences(corpus[row["id"]]["text"])
            for unit in row["units"]:
                key = (row["id"], tuple(i for i, (a, b) in enumerate(spans) if a < unit["end"] and b > unit["start"]))
                if key not in answers or not unit.get("claim"):
                    continue
                used += 1
                before = dict(unit.get("topics") or {})
                kept = {k: v for k, v in before.items() if k not in chosen}
                unit["topics"] = {**kept, **answers[key]}
                if unit["topics"] != before:
                    changed += 1
                    unit["retagged"] = args.labeler
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    print(f"{used} of {len(answers)} retagged units found, {changed} changed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    chooser = commands.add_parser("select")
    chooser.add_argument("--labelers", type=int, default=3)
    chooser.add_argument("--per-topic", type=int, default=45)
    chooser.add_argument("--off-topic", type=int, default=60)
    chooser.add_argument("--batch", type=int, default=20)
    chooser.add_argument("--seed", type=int, default=11)
    chooser.set_defaults(run=select)
    shower = commands.add_parser("show")
    shower.add_argument("ids")
    shower.set_defaults(run=show)
    converter = commands.add_parser("convert")
    converter.add_argument("raw", nargs="+")
    converter.add_argument("--labeler", default="?")
    converter.add_argument("--check", action="store_true", help="validate only; write nothing")
    converter.add_argument("--into", help="write these labels to one file (a blind file) instead of the splits")
    converter.set_defaults(run=convert)
    retagger = commands.add_parser("retag", help="replace some topics' tags of listed units with a second pass")
    retagger.add_argument("raw", nargs="+")
    retagger.add_argument("--topics", required=True, help="comma-separated slugs the pass judged")
    retagger.add_argument("--labeler", default="?")
    retagger.set_defaults(run=retag)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()

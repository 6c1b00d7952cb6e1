"""A small labelled corpus written for the learned-heads tests (our own sentences, not corpus text).

`write_fixture(folder)` writes `paragraphs.jsonl` (the corpus format: id, text, source_repo, path)
and stand-off labels `labels/{train,dev,test}.jsonl` (offsets into those paragraphs), split by
source document. What the labels teach, beyond the rules:
- "GPU" in a sentence about merchandise is not gpu-supply (the rules tag it; labels do not);
- a wafer or packaging shortage is gpu-supply, supporting (the rules do not know those words);
- a shipping date said plainly is about latency but neutral.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

COMPANIES = ["Arlo Labs", "Brightmesh", "Corvid AI", "Dunmore", "Elkhorn", "Fenwick Data", "Galloway",
             "Hartwell", "Ivers Systems", "Juniper Row"]
NUMBERS = ["three", "five", "six", "eight", "nine", "eleven", "twelve"]

# (template, topics {slug: stance}, claim?)
TEMPLATES: list[tuple[str, dict[str, str], bool]] = [
    ("{co} answers support chats in a fraction of a second since it moved to a small tuned model.",
     {"latency": "supports"}, True),
    ("Callers at {co} stopped hanging up once replies came back quickly from the compact model.",
     {"latency": "supports"}, True),
    ("{co} sells GPU stickers and mugs in its online merch store.", {}, True),
    ("The {co} gift shop stocks a GPU keychain for visitors.", {}, True),
    ("A wafer shortage kept {co} from finishing its training run for {n} weeks.", {"gpu-supply": "supports"}, True),
    ("Packaging capacity for accelerators at {co} is booked for the next {n} months.", {"gpu-supply": "supports"}, True),
    ("{co} could not get enough wafers to start its next model.", {"gpu-supply": "supports"}, True),
    ("{co} replaced its hosted API with an open-weights model last quarter.", {"open-weights": "supports"}, True),
    ("Engineers at {co} now build on open models they can run themselves.", {"open-weights": "supports"}, True),
    ("Serving the compact model cut the monthly inference bill at {co} by half.", {"inference-cost": "supports"}, True),
    ("The annual meetup hosted by {co} drew a large crowd of engineers.", {}, True),
    ("{co} moved its headquarters to a new building downtown.", {}, True),
    ("Thanks for reading, and see you next week!", {}, False),
    ("Subscribe to get the next issue in your inbox.", {}, False),
]
EDITOR_TEMPLATE = "The tapeout calendar at {co} slipped by {n} months this year."


def _paragraph(rng: random.Random, count: int) -> tuple[str, list[dict[str, Any]]]:
    text, units = "", []
    for template, topics, claim in rng.sample(TEMPLATES, count):
        sentence = template.format(co=rng.choice(COMPANIES), n=rng.choice(NUMBERS))
        if text:
            text += " "
        units.append({"start": len(text), "end": len(text) + len(sentence), "claim": claim, "topics": dict(topics),
                      "quantities": [], "speaker": ""})
        text += sentence
    return text, units


def write_fixture(folder: Path, *, seed: int = 5, documents: dict[str, int] | None = None) -> Path:
    """Write the corpus and its labels under `folder`; returns the labels folder."""
    rng = random.Random(seed)
    documents = documents or {"train": 14, "dev": 5, "test": 3}
    corpus, labels = [], {}
    number = 0
    for split, n_docs in documents.items():
        labels[split] = []
        for d in range(n_docs):
            for para_index in range(4):
                number += 1
                text, units = _paragraph(rng, rng.choice([2, 3]))
                pid = f"fx{number:04d}"
                corpus.append({"id": pid, "text": text, "source_repo": "fixture/learned",
                               "path": f"{split}/doc-{d}.md", "para_index": para_index, "kind": "newsletter"})
                labels[split].append({"id": pid, "labeler": "T", "units": units})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "paragraphs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus), encoding="utf-8")
    out = folder / "labels"
    out.mkdir(exist_ok=True)
    for split, rows in labels.items():
        (out / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return out


def editor_texts(count: int, seed: int = 9) -> dict[str, str]:
    """Documents whose sentences only editors label (a slipping tapeout calendar -> gpu-supply)."""
    rng = random.Random(seed)
    return {f"editor-{i}": EDITOR_TEMPLATE.format(co=rng.choice(COMPANIES), n=rng.choice(NUMBERS))
            + " " + rng.choice(TEMPLATES[10:12])[0].format(co=rng.choice(COMPANIES), n="two")
            for i in range(count)}

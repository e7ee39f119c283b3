"""`podsift run` killed with SIGKILL at random points, again and again, then run to the end.

Each campaign starts from a fresh home and kills the job in a random choice of stages (during the
download, transcription, extraction, building the digest, sending, and just after the SMTP server
accepted a message), each a random moment after the stage is seen to begin. The choices come from
a seeded generator; the seed is printed and named in every failure, and PODSIFT_CRASH_SEED=<seed>
replays it. After every kill, and at the end, the store must keep the promises: the database is
intact, a transcript is made once and never redone, insights are neither lost nor doubled (the
end state equals an uninterrupted run's), and each recipient gets the day's digest at least once
and always under one Message-ID, so a mail client shows it once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import date, datetime, timedelta, timezone
from importlib import resources

from podsift.demo import demo_feed
from podsift.settings import load_settings
from podsift.store import Store

CAMPAIGNS = 3
AUDIO = "/why-bridges-sing.mp3"  # the demo episode without a publisher transcript


def publish_demo(server, day: date) -> str:
    """The bundled demo podcast on the test server, its two episodes published on `day`."""
    bundle = resources.files("podsift") / "demo"
    episodes = json.loads((bundle / "episodes.json").read_text())
    for ep in episodes:
        for suffix in (".mp3", ".vtt") if ep["vtt"] else (".mp3",):
            (server.root / f"{ep['slug']}{suffix}").write_bytes((bundle / f"{ep['slug']}{suffix}").read_bytes())
    server.delay[AUDIO] = 0.5  # a download long enough to be killed in
    evening = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=20)
    (server.root / "feed.xml").write_text(demo_feed(server.url, episodes, evening))
    return f"{server.url}/feed.xml"


def snapshot(settings) -> tuple[dict, dict]:
    """Each transcript's creation time, and each episode's insights, as they stand."""
    with sqlite3.connect(settings.db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        transcripts = dict(db.execute("SELECT episode_id, created_at FROM transcripts"))
        insights: dict[int, list] = {}
        for episode_id, rank, text in db.execute("SELECT episode_id, rank, text FROM insights ORDER BY id"):
            insights.setdefault(episode_id, []).append((rank, text))
    return transcripts, insights


class Campaign:
    """One home with two recipients of the demo show, and the `podsift run` command for it."""

    def __init__(self, name: str, tmp_path, server, smtp, day: date):
        self.server, self.smtp, self.settings = server, smtp, load_settings(tmp_path / name)
        self.addresses = [f"ada+{name}@example.org", f"grace+{name}@example.org"]
        with Store.open(self.settings.db_path) as store:
            for address in self.addresses:
                recipient, _ = store.people.add(address, address.split("+")[0].title(), None)
                store.shows.subscribe(recipient.id, publish_demo(server, day))
        self.env = {
            **os.environ,
            "PODSIFT_HOME": str(self.settings.home),
            "PODSIFT_ALLOW_PRIVATE_NETWORKS": "1",
            "PODSIFT_SMTP_URL": smtp.url,
            "PODSIFT_MAIL_FROM": "podsift <digest@example.org>",
        }
        self.command = [sys.executable, "-m", "podsift", "run", "--date", day.isoformat(), "--quiet"]

    def stages(self, before: tuple[int, int, int], db: sqlite3.Connection) -> dict[str, bool]:
        """Which stages the running job has reached, from the server, the store and the inbox.

        `before` is (feed requests, audio requests, mails) when the run began: what the store holds
        counts only once this run has polled the feed, so a stage left over from an earlier run
        is not mistaken for this run's."""
        states = set(s for (s,) in db.execute("SELECT state FROM episodes"))
        digests = db.execute("SELECT COUNT(*) FROM digests").fetchone()[0]
        polled = self.server.hits("/feed.xml") > before[0]
        return {
            "download": self.server.hits(AUDIO) > before[1],
            "transcription": polled and "downloaded" in states,
            "extraction": polled and "transcribed" in states and not {"new", "downloaded"} & states,
            "digest": polled and states == {"extracted"} and not digests,
            "sending": polled and digests > 0,
            "accepted": self.mails() > before[2],
        }

    def counts(self) -> tuple[int, int, int]:
        return self.server.hits("/feed.xml"), self.server.hits(AUDIO), self.mails()

    def mails(self) -> int:
        return sum(m["To"] in self.addresses for m in self.smtp.messages)

    def run(self, kill_in: str | None = None, rng: random.Random | None = None) -> str:
        """Run the job; with `kill_in`, SIGKILL it a random moment after that stage begins."""
        before = self.counts()
        process = subprocess.Popen(self.command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 300
        with closing(sqlite3.connect(self.settings.db_path, timeout=10, isolation_level=None)) as db:
            while kill_in and process.poll() is None and time.monotonic() < deadline:
                if self.stages(before, db)[kill_in]:
                    time.sleep(rng.uniform(0, 0.05 if kill_in in ("digest", "accepted") else 0.4))
                    process.send_signal(signal.SIGKILL)
                    process.communicate()
                    return f"killed in {kill_in}"
                time.sleep(0.002)
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr.decode()
        return f"finished before {kill_in}" if kill_in else "finished"


def test_kill_9_at_random_points_loses_nothing_and_doubles_nothing(tmp_path, server, smtp):
    seed = int(os.environ.get("PODSIFT_CRASH_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    print(f"kill -9 test seed: {seed} (replay with PODSIFT_CRASH_SEED={seed})")
    day = datetime.now(timezone.utc).date() - timedelta(days=2)

    clean = Campaign("clean", tmp_path, server, smtp, day)  # the reference: one uninterrupted run
    clean.run()
    _, expected = snapshot(clean.settings)
    assert len(expected) == 2 and all(expected.values())

    with closing(sqlite3.connect(clean.settings.db_path)) as db:
        order = list(clean.stages(clean.counts(), db))
    for n in range(CAMPAIGNS):
        crashed = Campaign(f"crash{n}", tmp_path, server, smtp, day)
        kills = sorted(rng.sample(order, rng.randint(2, len(order))), key=order.index)
        seen_transcripts: dict = {}
        seen_insights: dict = {}
        outcomes = []
        for stage in kills + [None]:
            outcomes.append(crashed.run(stage, rng))
            context = f"seed {seed}, campaign {n}: {outcomes}"
            transcripts, insights = snapshot(crashed.settings)
            assert {k: transcripts[k] for k in seen_transcripts} == seen_transcripts, f"transcript redone; {context}"
            assert {k: insights[k] for k in seen_insights} == seen_insights, f"insights changed; {context}"
            seen_transcripts, seen_insights = transcripts, insights
        print(f"campaign {n}:", "; ".join(outcomes))

        assert seen_insights == expected, f"insights differ from an uninterrupted run's; {context}"
        with Store.open(crashed.settings.db_path) as store:
            assert all(e.state == "extracted" for e in store.episodes.matching()), context
            assert sorted(d.status for d in store.outbox.all()) == ["sent", "sent"], context
        assert not list(crashed.settings.audio_dir.iterdir()), f"files left in the audio cache; {context}"
        for address in crashed.addresses:
            copies = {
                (m["Message-ID"], m.get_body(("plain",)).get_content()) for m in smtp.messages if m["To"] == address
            }
            assert len(copies) == 1, f"{address} got {len(copies)} different messages; {context}"

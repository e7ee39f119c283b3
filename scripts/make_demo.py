#!/usr/bin/env python3
"""Rebuild the bundled demo podcast (src/podsift/demo/) from the scripts below.

Needs espeak-ng, sox and ffmpeg. The audio is deterministic, so running this again gives the
same files. Episode 2 also gets a WebVTT transcript, as a Podcasting 2.0 publisher would ship.
"""

import json
import subprocess
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "podsift" / "demo"
VOICES = {"Ada": ("en-us", 165), "Ben": ("en-gb", 160)}
EPISODES = [
    (
        "why-bridges-sing",
        "Why bridges sing",
        [
            ("Ada", "Welcome back to Pocket Science. Today, bridges that move."),
            (
                "Ben",
                "When the Millennium Bridge in London opened in the year two thousand, it swayed sideways "
                "so much that it closed after two days.",
            ),
            (
                "Ada",
                "And the surprising part is that the walkers caused it. A small sway makes people adjust their "
                "stride to keep balance, and those adjusted steps push the bridge in time with the sway, "
                "so the motion feeds itself.",
            ),
            (
                "Ben",
                "The fix was not a stiffer bridge but dampers, about ninety of them, which soak up the "
                "energy before the crowd can fall into step.",
            ),
            ("Ada", "That is all for today. If you enjoyed it, tell a friend."),
        ],
    ),
    (
        "the-salt-in-your-pasta-water",
        "The salt in your pasta water",
        [
            ("Ben", "Hello and welcome to Pocket Science. Quick one today, about cooking."),
            (
                "Ada",
                "People say salt makes pasta water boil faster, but at normal amounts it raises the boiling "
                "point by less than a tenth of a degree, so it changes nothing you could measure at home.",
            ),
            ("Ben", "So why salt it at all?"),
            (
                "Ada",
                "Flavour. Pasta absorbs the water as it cooks, and salt in the water seasons it from the inside, "
                "which salt sprinkled on at the end cannot do.",
            ),
            ("Ben", "Thanks for listening to Pocket Science."),
        ],
    ),
]


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def seconds(wav):
    return float(subprocess.run(["soxi", "-D", str(wav)], check=True, capture_output=True, text=True).stdout)


def stamp(t):
    return f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{t % 60:06.3f}"


def speak(turns, mp3):
    cues, parts, t = [], [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gap = tmp / "gap.wav"
        run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(gap), "trim", "0", "0.4")
        for i, (speaker, text) in enumerate(turns):
            voice, wpm = VOICES[speaker]
            raw, wav = tmp / f"{i}.raw.wav", tmp / f"{i}.wav"
            run("espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(raw), text)
            run("sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav))
            d = seconds(wav)
            cues.append(f"{stamp(t)} --> {stamp(t + d)}\n<v {speaker}>{text}")
            parts += [wav, gap]
            t += d + 0.4
        joined = tmp / "all.wav"
        run("sox", *map(str, parts), str(joined))
        run("ffmpeg", "-y", "-loglevel", "error", "-i", str(joined), "-ac", "1", "-b:a", "32k", str(mp3))
    return t, "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    meta = []
    for n, (slug, title, turns) in enumerate(EPISODES):
        duration, vtt = speak(turns, OUT / f"{slug}.mp3")
        if n == 1:
            (OUT / f"{slug}.vtt").write_text(vtt)
        meta.append({"slug": slug, "title": title, "duration": round(duration, 1), "vtt": n == 1})
    (OUT / "episodes.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()

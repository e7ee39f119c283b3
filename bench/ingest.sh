#!/usr/bin/env bash
# Ingest benchmark: the dev corpus of the shared insight benchmark (14 spoken episodes in 6 feeds, one
# feed with publisher VTT transcripts), served on loopback, subscribed and scanned by this checkout.
# Prints the scan's summary (speed in audio seconds per wall second) and peak memory, and fails unless
# every episode ends transcribed and the publisher's transcripts were reused.
#
#   bench/ingest.sh [WORK_DIR]        (PODSIFT: the command to run; default .venv/bin/podsift)
#
# Needs espeak-ng, sox and ffmpeg to build the corpus (once; kept in WORK_DIR).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$repo/../shared/bench}
work=${1:-${TMPDIR:-/tmp}/podsift-ingest}
port=${PORT:-8765}
podsift=${PODSIFT:-$repo/.venv/bin/podsift}
feeds=$work/feeds
mkdir -p "$work"
if [ ! -f "$feeds/truth.json" ]; then
  echo "building the corpus's audio (a few minutes, once)..." >&2
  python3 "$shared/build_feeds.py" "$shared/corpus/dev" "$feeds" --base-url "http://127.0.0.1:$port" \
    --days 3 --transcripts the-commit-log --jingle >"$work/build.log"
fi
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$feeds" >"$work/http.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 1
export PODSIFT_HOME=$work/home PODSIFT_ALLOW_PRIVATE_NETWORKS=1
rm -rf "$PODSIFT_HOME"
$podsift subscribe "$feeds/feeds.opml"
/usr/bin/time -f "peak memory: %M KB" -o "$work/time.txt" $podsift scan --since 2026-11-01 --quiet | tee "$work/scan.txt"
cat "$work/time.txt"
python3 - "$PODSIFT_HOME/podsift.db" "$feeds/truth.json" <<'PY'
import json, sqlite3, sys
db, truth = sqlite3.connect(sys.argv[1]), json.load(open(sys.argv[2]))
done = {g for (g,) in db.execute("SELECT e.guid FROM episodes e JOIN transcripts t ON t.episode_id = e.id")}
sources = dict(db.execute("SELECT source, COUNT(*) FROM transcripts GROUP BY source"))
missing = [e["guid"] for e in truth if e["guid"] not in done]
print(f"episodes transcribed: {len(truth) - len(missing)} of {len(truth)}; transcripts by source: {sources}")
sys.exit(1 if missing or not sources.get("publisher") else 0)
PY

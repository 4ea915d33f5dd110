#!/usr/bin/env bash
# SIGKILL mid-run (issue #12, "Faults: killed mid-run"), on short inputs:
#   (a) `sibilant analyze` batch (--ref-dir/--deg-dir, --jsonl FILE, -j 2):
#       the JSON Lines file appears only when complete, so after a kill it is
#       absent or the whole file; the rerun gives the uninterrupted run's bytes;
#   (b) `sibilant sweep` (--keep-audio, -j 2), killed again and again in the
#       same folder: results.csv and events.jsonl hold whole lines only (a
#       header, complete CSV rows, JSON lines that parse), sweep.json parses,
#       every kept audio file is absent or the clean run's bytes, `sibilant
#       compare` reads the rows so far; the resumed run is byte-identical to
#       an uninterrupted one;
#   (c) `sibilant probe --events FILE` fed by rtp_flood's real-time streams on
#       127.0.0.1 (port picked by the kernel): after each kill every line of
#       the appended file is a whole JSON event; a restarted service appends
#       whole lines after a torn line that an older writer left.
# Kill points: seeded random delays over the clean run's duration, and the
# moment a first output appears. Every wait is bounded in count and time.
# Only hidden temporary files (.NAME.XXXXXX.tmp) may be left by a kill; a
# resumed sweep removes those in its folder.
# Usage: test_cli_kill.sh SIBILANT RTP_FLOOD TESTDATA [SEED]
set -uo pipefail
sibilant="$1"; flood="$2"; testdata="$3"; seed="${4:-12}"
work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=cli_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_test_lib.sh"
RANDOM=$seed
# Debian's python3 when there is one (a pyenv shim takes a second to start).
python=$(command -v /usr/bin/python3 || command -v python3)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# kill_after MS CMD...: runs CMD in the background and SIGKILLs it after MS
# milliseconds; "$killed" says whether it was still running.
kill_after() {
  local ms="$1"; shift
  "$@" >/dev/null 2>&1 &
  local pid=$!
  pids+=("$pid")
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  if kill -9 "$pid" 2>/dev/null; then killed=1; else killed=0; fi
  wait "$pid" 2>/dev/null
}
# kill_when CONDITION CMD...: SIGKILLs CMD as soon as CONDITION (a command)
# succeeds, polled every 10 ms for at most 30 s.
kill_when() {
  local condition="$1"; shift
  "$@" >/dev/null 2>&1 &
  local pid=$! i
  pids+=("$pid")
  for ((i = 0; i < 3000; i++)); do
    $condition >/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  if kill -9 "$pid" 2>/dev/null; then killed=1; else killed=0; fi
  wait "$pid" 2>/dev/null
}
# visible_files DIR: the names in DIR that are not hidden temporary files.
visible_files() { find "$1" -mindepth 1 -maxdepth 1 ! -name '.*.tmp' -printf '%f\n' 2>/dev/null | sort; }
hidden_temps() { find "$1" -name '.*.tmp' 2>/dev/null | wc -l; }
# whole_jsonl FILE [SKIP]: every line ends with a newline and parses as a JSON
# object (the first SKIP lines are not checked).
whole_jsonl() {
  "$python" - "$1" "${2:-0}" <<'EOF'
import json, sys
data = open(sys.argv[1], "rb").read()
if data and not data.endswith(b"\n"):
    sys.exit("torn last line: %r" % data[-80:])
for n, line in enumerate(data.split(b"\n")[:-1], 1):
    if n <= int(sys.argv[2]):
        continue
    if not isinstance(json.loads(line), dict):
        sys.exit("line %d is not an object" % n)
EOF
}
# whole_csv FILE: a full header and complete rows of as many fields.
whole_csv() {
  "$python" - "$1" <<'EOF'
import csv, io, sys
data = open(sys.argv[1], "rb").read().decode()
if not data.endswith("\n"):
    sys.exit("torn last line: %r" % data[-80:])
rows = list(csv.reader(io.StringIO(data)))
if not rows or rows[0][:4] != ["job", "file", "profile", "status"]:
    sys.exit("no full header")
for n, row in enumerate(rows[1:], 2):
    if len(row) != len(rows[0]):
        sys.exit("line %d has %d fields, the header %d" % (n, len(row), len(rows[0])))
EOF
}
is_json() { "$python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null; }

# --- inputs: 18 short pairs, a corpus of 3 files --------------------------------------
mkdir -p "$work/ref" "$work/deg" "$work/corpus"
i=0
for f in "$testdata"/speech/*.flac; do
  name=$(basename "$f" .flac)
  "$sibilant" simulate -q --bitrate 12000 --complexity 1 "$f" "$work/deg/$name.flac" || fail "simulate $name"
  for copy in 1 2 3; do
    cp "$f" "$work/ref/${name}_$copy.flac"
    cp "$work/deg/$name.flac" "$work/deg/${name}_$copy.flac"
  done
  rm "$work/deg/$name.flac"
done
cp "$testdata/speech/s_clusters.flac" "$testdata/speech/zh_medial.flac" "$testdata/speech/no_sibilants.flac" \
  "$work/corpus/"
cat >"$work/profiles.json" <<'EOF'
{"seed": 3,
 "grids": [{"name": "g", "base": {"complexity": 1},
            "vary": {"bitrate_bps": [8000, 16000], "loss": ["none", "bernoulli:0.1"]}}]}
EOF

# --- (a) analyze batch ------------------------------------------------------------------
batch() { "$sibilant" analyze --ref-dir "$work/ref" --deg-dir "$work/deg" -j 2 -q --jsonl "$1"; }
mkdir -p "$work/a_clean"
t0=$(now_ms)
batch "$work/a_clean/out.jsonl" 2>"$work/a_clean.err" && pass || fail "batch: clean run: $(cat "$work/a_clean.err")"
batch_ms=$(( $(now_ms) - t0 ))
lines=$(wc -l <"$work/a_clean/out.jsonl")
[[ $lines -eq 18 ]] && pass || fail "batch: clean run wrote $lines lines, expected 18"
whole_jsonl "$work/a_clean/out.jsonl" && pass || fail "batch: clean run's JSON lines"
echo "analyze batch: 18 pairs in $batch_ms ms"
batch_killed=0; batch_temps=0
for round in 1 2 3 4 5 6; do
  dir="$work/a_$round"; mkdir -p "$dir"
  if [[ $round -eq 1 ]]; then
    kill_when "compgen -G $dir/.out.jsonl.*.tmp" batch "$dir/out.jsonl"  # as soon as it starts writing
  else
    kill_after $(( batch_ms * (RANDOM % 100) / 100 )) batch "$dir/out.jsonl"
  fi
  batch_killed=$((batch_killed + killed))
  if [[ -e "$dir/out.jsonl" ]]; then  # only when the kill came after the commit
    cmp -s "$dir/out.jsonl" "$work/a_clean/out.jsonl" && pass || fail "batch round $round: a partial out.jsonl is visible"
  else
    pass
  fi
  [[ "$(visible_files "$dir")" == "" || "$(visible_files "$dir")" == "out.jsonl" ]] && pass ||
    fail "batch round $round: unexpected files: $(visible_files "$dir")"
  batch_temps=$((batch_temps + $(hidden_temps "$dir")))
  batch "$dir/out.jsonl" 2>"$dir.err" && pass || fail "batch round $round: rerun failed: $(cat "$dir.err")"
  cmp -s "$dir/out.jsonl" "$work/a_clean/out.jsonl" && pass || fail "batch round $round: rerun differs from the clean run"
done
echo "analyze batch: $batch_killed of 6 runs killed mid-run; $batch_temps hidden temporary files left by the kills"
[[ $batch_killed -ge 1 ]] && pass || fail "batch: no run was still running at its kill"

# --- (b) sweep, killed repeatedly in one folder -----------------------------------------------
sweep() { "$sibilant" sweep --profiles "$work/profiles.json" --corpus "$work/corpus" --out "$1" -j 2 -q --keep-audio; }
t0=$(now_ms)
sweep "$work/s_clean" 2>"$work/s_clean.err" && pass || fail "sweep: clean run: $(cat "$work/s_clean.err")"
sweep_ms=$(( $(now_ms) - t0 ))
echo "sweep: 12 jobs in $sweep_ms ms"
# sweep_state DIR NAME: what a kill may leave: whole lines, parseable JSON,
# audio files absent or complete.
sweep_state() {
  local dir="$1" name="$2" f
  [[ ! -e "$dir/sweep.json" ]] || { is_json "$dir/sweep.json" && pass || fail "$name: sweep.json does not parse"; }
  [[ ! -e "$dir/results.csv" ]] || { whole_csv "$dir/results.csv" && pass || fail "$name: results.csv"; }
  if [[ -e "$dir/results.csv" && $(wc -l <"$dir/results.csv") -ge 2 ]]; then  # the rows so far can be used
    "$sibilant" compare "$dir/results.csv" --pairs none --bootstrap 100 >/dev/null 2>"$work/compare.err" && pass ||
      fail "$name: compare on the partial results: $(cat "$work/compare.err")"
  fi
  [[ ! -e "$dir/events.jsonl" ]] || { whole_jsonl "$dir/events.jsonl" && pass || fail "$name: events.jsonl"; }
  while read -r f; do
    [[ -n "$f" ]] || continue
    [[ "$f" == sweep.json || "$f" == results.csv || "$f" == events.jsonl || "$f" == audio ]] ||
      fail "$name: unexpected file $f"
  done <<<"$(visible_files "$dir")"
  if [[ -d "$dir/audio" ]]; then
    while read -r f; do
      [[ -n "$f" ]] || continue
      cmp -s "$dir/audio/$f" "$work/s_clean/audio/$f" && pass || fail "$name: audio/$f is partial"
    done <<<"$(visible_files "$dir/audio")"
  fi
}
rows_at_least() { [[ -f "$1/results.csv" && $(wc -l <"$1/results.csv") -ge $2 ]]; }
sweep_killed=0; sweep_temps=0
for chain in 1 2; do
  dir="$work/s_$chain"
  for kill in 1 2 3 4; do
    if [[ $chain -eq 2 && $kill -eq 1 ]]; then
      kill_when "rows_at_least $dir 2" sweep "$dir"  # when the first row appears
    else  # sooner each time: each resumed run has less left to do
      kill_after $(( sweep_ms * (RANDOM % 50) / 100 / kill )) sweep "$dir"
    fi
    sweep_killed=$((sweep_killed + killed))
    sweep_temps=$((sweep_temps + $(hidden_temps "$dir")))
    sweep_state "$dir" "sweep chain $chain kill $kill"
  done
  sweep "$dir" 2>"$dir.err" && pass || fail "sweep chain $chain: resume failed: $(cat "$dir.err")"
  for f in sweep.json results.csv events.jsonl; do
    cmp -s "$dir/$f" "$work/s_clean/$f" && pass || fail "sweep chain $chain: $f differs from the clean run"
  done
  diff -r "$dir/audio" "$work/s_clean/audio" >/dev/null && pass || fail "sweep chain $chain: audio differs"
  [[ $(hidden_temps "$dir") -eq 0 ]] && pass || fail "sweep chain $chain: the resume left temporary files"
done
echo "sweep: $sweep_killed of 8 runs killed mid-run; temporary files seen after the kills: $sweep_temps (the next run removes them)"
[[ $sweep_killed -ge 1 ]] && pass || fail "sweep: no run was still running at its kill"

# --- (c) the probe service's --events file ---------------------------------------------------
events="$work/events.jsonl"
printf '{"ssrc":"0x1","torn":' >"$events"  # what an older writer could leave
probe_lines_before=0
for round in 1 2 3 4 5; do
  threads=$(( round % 2 + 1 ))
  "$sibilant" probe --listen 127.0.0.1:0 --http '' --events "$events" --idle-s 1 --threads "$threads" \
    2>"$work/probe_$round.err" &
  probe_pid=$!; pids+=("$probe_pid")
  port=""
  for ((i = 0; i < 100; i++)); do
    port=$(grep -o 'udp 127.0.0.1:[0-9]*' "$work/probe_$round.err" | cut -d: -f2)
    [[ -n "$port" ]] && break
    sleep 0.05
  done
  [[ -n "$port" ]] || { fail "probe round $round did not start: $(cat "$work/probe_$round.err")"; break; }
  "$flood" --to "127.0.0.1:$port" --mode streams --audio "$testdata/speech/demo.flac" --streams 6 \
    --ssrc-base $((0x4b000000 + round * 16)) --seconds 3 --count 1000 >"$work/flood_$round.out" 2>&1 &
  flood_pid=$!; pids+=("$flood_pid")
  if [[ $round -eq 1 ]]; then  # at the first event
    for ((i = 0; i < 600; i++)); do
      [[ $(wc -l <"$events") -gt 1 ]] && break
      sleep 0.01
    done
  elif [[ $round -lt 5 ]]; then  # 0.3-2.8 s into the streams
    sleep "$(printf '%d.%03d' $((RANDOM % 3)) $((RANDOM % 1000)))"
    sleep 0.3
  fi
  if [[ $round -lt 5 ]]; then
    kill -9 "$probe_pid" 2>/dev/null && pass || fail "probe round $round ended before its kill"
    wait "$probe_pid" 2>/dev/null
    kill "$flood_pid" 2>/dev/null
  fi
  wait "$flood_pid" 2>/dev/null
  if [[ $round -eq 5 ]]; then  # the last round ends as the README says: SIGINT, exit 0
    sleep 0.5
    kill -INT "$probe_pid"
    wait "$probe_pid" && pass || fail "probe: SIGINT did not exit 0: $(cat "$work/probe_$round.err")"
  fi
  [[ $(head -n 1 "$events") == '{"ssrc":"0x1","torn":' ]] && pass || fail "probe round $round: the torn line is not kept on a line of its own"
  whole_jsonl "$events" 1 && pass || fail "probe round $round: the events file holds a torn line"
  lines=$(($(wc -l <"$events") - 1))
  echo "probe round $round (--threads $threads): $((lines - probe_lines_before)) events written before the $([[ $round -lt 5 ]] && echo SIGKILL || echo SIGINT)"
  [[ $round -eq 1 && $lines -eq 0 ]] && fail "probe round 1: no event before the kill"
  probe_lines_before=$lines
done
"$python" - "$events" <<'EOF' && pass || fail "probe: events lack their fields"
import json, sys
lines = open(sys.argv[1]).read().split("\n")[1:-1]
assert lines, "no events"
for line in lines:
    e = json.loads(line)
    for key in ("ssrc", "remote", "stream_serial", "received_at", "start_s", "end_s", "class", "lisp", "why"):
        assert key in e, (key, e)
EOF

finish

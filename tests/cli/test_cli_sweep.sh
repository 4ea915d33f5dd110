#!/usr/bin/env bash
# End-to-end checks of `sibilant sweep` and `sibilant merge` on a tiny corpus
# (two test recordings, cheap profiles): the output files, -j independence,
# resuming after a SIGKILL, shards + merge, failing files, and bad inputs
# (clear message, exit 2 for usage errors and 1 otherwise, nothing written).
# Usage: test_cli_sweep.sh SIBILANT_BINARY TESTDATA_DIR
set -uo pipefail
sibilant="$1"; testdata="$2"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# shellcheck source=cli_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_test_lib.sh"

corpus="$work/corpus"
mkdir -p "$corpus"
cp "$testdata/speech/s_clusters.flac" "$testdata/speech/sh_positions.flac" "$corpus/"
cat >"$work/profiles.json" <<'EOF'
{"seed": 2,
 "profiles": [{"name": "6k", "bitrate_bps": 6000, "complexity": 1}],
 "grids": [{"name": "fast", "base": {"complexity": 1},
            "vary": {"bitrate_bps": [12000, 24000], "loss": ["none", "bernoulli:0.1"]}}]}
EOF
profiles="$work/profiles.json"

same_output() {  # same_output NAME DIR_A DIR_B: the three files byte for byte
  local f
  for f in sweep.json results.csv events.jsonl; do
    cmp -s "$2/$f" "$3/$f" && pass || fail "$1: $f differs"
  done
}

# --- a clean run ------------------------------------------------------------------
if "$sibilant" sweep --profiles "$profiles" --corpus "$corpus" --out "$work/clean" -j 2 2>"$work/clean.err"; then
  pass
  rows=$(($(wc -l <"$work/clean/results.csv") - 1))
  [[ $rows -eq 10 ]] && pass || fail "clean: $rows rows, expected 2 files x 5 profiles"
  events=$(wc -l <"$work/clean/events.jsonl")
  [[ $events -eq 10 ]] && pass || fail "clean: $events events lines, expected 10"
  head -n 1 "$work/clean/results.csv" | grep -q '^job,file,profile,status,error,seed,bitrate_bps,' && pass ||
    fail "results.csv header: $(head -n 1 "$work/clean/results.csv")"
  grep -q '"shard": null' "$work/clean/sweep.json" && pass || fail "sweep.json lacks \"shard\": null"
  grep -q '^sweep: 10 jobs' "$work/clean.err" && pass || fail "no summary line: $(cat "$work/clean.err")"
  [[ ! -e "$work/clean/audio" ]] && pass || fail "audio written without --keep-audio"
else
  fail "clean sweep exited non-zero: $(cat "$work/clean.err")"
fi
"$sibilant" sweep --profiles "$profiles" --corpus "$corpus" --out "$work/j1" -j 1 -q
same_output "-j 1 vs -j 2" "$work/clean" "$work/j1"

# Rerunning a finished sweep runs nothing and changes nothing.
"$sibilant" sweep --profiles "$profiles" --corpus "$corpus" --out "$work/j1" -j 1 2>"$work/rerun.err"
grep -q '(10 done before)' "$work/rerun.err" && pass || fail "rerun: $(cat "$work/rerun.err")"
same_output "rerun" "$work/clean" "$work/j1"

# --- SIGKILL halfway, then resume ---------------------------------------------------
"$sibilant" sweep --profiles "$profiles" --corpus "$corpus" --out "$work/killed" -j 1 -q &
pid=$!
for _ in $(seq 1 400); do  # up to 20 s for the third row to appear
  [[ -f "$work/killed/results.csv" && $(wc -l <"$work/killed/results.csv") -ge 4 ]] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
done_rows=$(($(wc -l <"$work/killed/results.csv") - 1))
[[ $done_rows -ge 3 && $done_rows -lt 10 ]] && pass || fail "kill: $done_rows rows when killed (want 3..9)"
"$sibilant" sweep --profiles "$profiles" --corpus "$corpus" --out "$work/killed" -j 2 2>"$work/resume.err" &&
  pass || fail "resume exited non-zero: $(cat "$work/resume.err")"
grep -q "($done_rows done before)" "$work/resume.err" && pass || fail "resume: $(cat "$work/resume.err")"
same_output "killed and resumed" "$work/clean" "$work/killed"

# --- shards and merge ------------------------------------------------------------------
for i in 1 2 3; do
  "$sibilant" sweep --profiles "$profiles" --corpus "$corpus" --out "$work/shard-$i" --shard "$i/3" -q ||
    fail "shard $i/3 exited non-zero"
done
grep -q '"shard": "2/3"' "$work/shard-2/sweep.json" && pass || fail "shard 2/3: sweep.json lacks its shard"
"$sibilant" merge --out "$work/merged" "$work/shard-1" "$work/shard-2" "$work/shard-3" 2>/dev/null &&
  pass || fail "merge exited non-zero"
same_output "merged shards" "$work/clean" "$work/merged"
expect_exit "merge, a shard missing" 1 "3 of 10 jobs are missing" "jobs 1 (s_clusters.flac" -- \
  merge --out "$work/m2" "$work/shard-1" "$work/shard-3"
expect_no_file "$work/m2" "merge, a shard missing"
expect_exit "merge, a job twice" 1 "is in both" -- merge --out "$work/m3" "$work/shard-1" "$work/clean"
"$sibilant" sweep --profiles "$profiles" --corpus "$corpus" --out "$work/other-2" --shard 2/3 --seed 5 -q
expect_exit "merge, another sweep" 1 "not shards of one sweep" "seed (5 vs 2)" -- \
  merge --out "$work/m4" "$work/shard-1" "$work/other-2" "$work/shard-3"
expect_exit "merge, no folders" 2 "SHARD_DIR" -- merge --out "$work/m5"

# --- a failing file -------------------------------------------------------------------
# A corpus of symbolic links to files elsewhere keeps the links' names (and
# so their seeds): files are named relative to the corpus, links not resolved.
mkdir -p "$work/linked"
ln -s "$(cd "$testdata/speech" && pwd)/s_clusters.flac" "$work/linked/take1.flac"
if "$sibilant" sweep -q --profiles "$profiles" --corpus "$work/linked/" --out "$work/linked-out"; then
  if cut -d, -f2 "$work/linked-out/results.csv" | tail -n +2 | sort -u | grep -qx "take1.flac"; then pass
  else fail "symlinked corpus: file column is $(cut -d, -f2 "$work/linked-out/results.csv" | sed -n 2p)"; fi
else
  fail "symlinked corpus: sweep failed"
fi

mkdir -p "$work/bad-corpus"
cp "$testdata/speech/s_clusters.flac" "$work/bad-corpus/"
echo "not audio" >"$work/bad-corpus/broken.wav"
err=$("$sibilant" sweep --profiles "$profiles" --corpus "$work/bad-corpus" --out "$work/bad" -q 2>&1); rc=$?
[[ $rc -eq 1 ]] && pass || fail "failing file: exit $rc, expected 1"
[[ "$(tail -n 1 <<<"$err")" == *"5 of 10 jobs failed"* ]] && pass || fail "failing file: last line: $err"
errors=$(grep -c ',broken.wav,.*,error,.*broken.wav: not a recognised audio file' "$work/bad/results.csv")
[[ $errors -eq 5 ]] && pass || fail "failing file: $errors error rows, expected 5"
oks=$(grep -c ',s_clusters.flac,.*,ok,' "$work/bad/results.csv")
[[ $oks -eq 5 ]] && pass || fail "failing file: $oks ok rows, expected 5"

# --- --keep-audio ----------------------------------------------------------------------------
"$sibilant" sweep --profiles "$profiles" --corpus "$corpus" --out "$work/kept" --keep-audio -q
[[ -f "$work/kept/audio/s_clusters__fast_bitrate_bps=24000_loss=bernoulli_0.1.wav" ]] && pass ||
  fail "--keep-audio: $(ls "$work/kept/audio" | head -n 3)"
same_output "--keep-audio" "$work/clean" "$work/kept"

# --- bad inputs -------------------------------------------------------------------------
expect_exit "missing profiles file" 1 "$work/none.json" "no such file" -- \
  sweep --profiles "$work/none.json" --corpus "$corpus" --out "$work/e1"
expect_no_file "$work/e1" "missing profiles file"
echo '{"profiles": [' >"$work/notjson.json"
expect_exit "profiles not JSON" 1 "notjson.json" "not valid JSON" -- \
  sweep --profiles "$work/notjson.json" --corpus "$corpus" --out "$work/e2"
expect_no_file "$work/e2" "profiles not JSON"
echo '{"profiles": [{"name": "a", "bitrate": 6000}]}' >"$work/unknown.json"
expect_exit "unknown key" 1 "unknown.json" "profile 'a'" "key 'bitrate'" -- \
  sweep --profiles "$work/unknown.json" --corpus "$corpus" --out "$work/e3"
expect_no_file "$work/e3" "unknown key"
echo '{"grids": [{"name": "g", "vary": {"bitrate_bps": [6000, 900000]}}]}' >"$work/badvalue.json"
expect_exit "bad value" 1 "badvalue.json" "grid 'g'" "bitrate_bps" "900000" -- \
  sweep --profiles "$work/badvalue.json" --corpus "$corpus" --out "$work/e4"
expect_no_file "$work/e4" "bad value"
expect_exit "corpus missing" 1 "$work/nocorpus" "no such folder" -- \
  sweep --profiles "$profiles" --corpus "$work/nocorpus" --out "$work/e5"
expect_no_file "$work/e5" "corpus missing"
mkdir -p "$work/textonly"; echo x >"$work/textonly/notes.txt"
expect_exit "corpus without audio" 1 "textonly" "no audio files" -- \
  sweep --profiles "$profiles" --corpus "$work/textonly" --out "$work/e6"
expect_no_file "$work/e6" "corpus without audio"
echo x >"$work/afile"
expect_exit "--out under a file" 1 "$work/afile" -- \
  sweep --profiles "$profiles" --corpus "$corpus" --out "$work/afile/out"
if [[ $(id -u) -ne 0 ]]; then  # root writes anywhere
  mkdir -p "$work/readonly"; chmod 555 "$work/readonly"
  expect_exit "--out not writable" 1 "$work/readonly/out" "cannot create" -- \
    sweep --profiles "$profiles" --corpus "$corpus" --out "$work/readonly/out"
  mkdir -p "$work/ro-out"; chmod 555 "$work/ro-out"
  expect_exit "--out folder not writable" 1 "ro-out" -- \
    sweep --profiles "$profiles" --corpus "$corpus" --out "$work/ro-out"
  [[ -z "$(ls -A "$work/ro-out")" ]] && pass || fail "--out folder not writable: files left"
fi
for shard in 0/3 4/3 1/0 x 2; do
  expect_exit "--shard $shard" 2 "shard" "I/N" -- \
    sweep --profiles "$profiles" --corpus "$corpus" --out "$work/e7" --shard "$shard"
done
expect_no_file "$work/e7" "bad --shard"
expect_exit "no --out" 2 "--out" -- sweep --profiles "$profiles" --corpus "$corpus"
expect_exit "resume with another seed" 1 "holds another sweep" "seed (9 vs 2)" "new --out" -- \
  sweep --profiles "$profiles" --corpus "$corpus" --out "$work/clean" --seed 9
same_output "refused resume leaves the folder alone" "$work/clean" "$work/j1"
"$sibilant" sweep --help | grep -q -- "--shard" && pass || fail "sweep --help lacks --shard"

finish

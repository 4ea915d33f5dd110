#!/usr/bin/env bash
# End-to-end checks of `sibilant compare` on a small hand-made results.csv:
# the text report, JSON output, and errors with their exit codes.
# Usage: test_cli_compare.sh SIBILANT_BINARY
set -uo pipefail
sibilant="$1"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# shellcheck source=cli_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_test_lib.sh"

# Three files through three profiles; one run failed (its error message is
# quoted and holds a comma). Only the columns compare needs, plus one it ignores.
mkdir -p "$work/sweep"
{
  echo 'file,profile,status,error,bitrate_bps,fec,loss,loss_percent,lisp_index,smearing_index,note'
  echo 'a.flac,6k,ok,,6000,false,none,0.00,90.00,10.00,x'
  echo 'a.flac,24k,ok,,24000,false,none,0.00,8.00,20.00,x'
  echo 'a.flac,16k-fec-5,ok,,16000,true,bernoulli:0.05,5.00,12.00,25.00,x'
  echo 'b.flac,6k,ok,,6000,false,none,0.00,95.00,12.00,x'
  echo 'b.flac,24k,ok,,24000,false,none,0.00,4.00,22.00,x'
  echo 'b.flac,16k-fec-5,error,"decode failed, ""b.flac""",16000,true,bernoulli:0.05,5.00,,,x'
  echo 'c.flac,6k,ok,,6000,false,none,0.00,85.00,11.00,x'
  echo 'c.flac,24k,ok,,24000,false,none,0.00,6.00,18.00,x'
  echo 'c.flac,16k-fec-5,ok,,16000,true,bernoulli:0.05,5.00,10.00,21.00,x'
} >"$work/sweep/results.csv"

# --- the text report -----------------------------------------------------------
if "$sibilant" compare "$work/sweep" >"$work/out.txt" 2>"$work/err.txt"; then
  pass
  grep -q 'lisp_index \[95% CI\]' "$work/out.txt" && pass || fail "table header missing: $(cat "$work/out.txt")"
  grep -Eq '^6k +3 +0 +0 +90\.0 \[' "$work/out.txt" && pass || fail "6k row missing: $(cat "$work/out.txt")"
  grep -Eq '^16k-fec-5 +2 +1 +0 ' "$work/out.txt" && pass || fail "failed run not counted"
  grep -q '6k has a higher lisp_index than 24k by 84.0 \[' "$work/out.txt" && pass || fail "pair sentence missing"
  grep -q 'loss=none, fec=false: 24 kbps (24k)' "$work/out.txt" && pass || fail "knee missing"
else
  fail "compare exited non-zero: $(cat "$work/err.txt")"
fi
# The folder and its results.csv give the same; the same seed gives the same.
"$sibilant" compare "$work/sweep/results.csv" >"$work/again.txt"
cmp -s "$work/out.txt" "$work/again.txt" && pass || fail "folder and results.csv differ"

# --- options --------------------------------------------------------------------
"$sibilant" compare "$work/sweep" --pairs none >"$work/none.txt"
grep -q 'Paired comparisons' "$work/none.txt" && fail "--pairs none still compares" || pass
"$sibilant" compare "$work/sweep" --pairs none --pairs 16k-fec-5,24k >"$work/one.txt"
[[ $(grep -c 'lisp_index than' "$work/one.txt") -eq 1 ]] && grep -q '^  16k-fec-5 has a' "$work/one.txt" \
  && pass || fail "--pairs A,B: $(cat "$work/one.txt")"
"$sibilant" compare "$work/sweep" --threshold 5 --confidence 0.9 --bootstrap 500 --seed 7 >"$work/opts.txt"
grep -q 'loss=none, fec=false: none' "$work/opts.txt" && grep -q '90% CI' "$work/opts.txt" \
  && grep -q '500 resamples, seed 7' "$work/opts.txt" && pass || fail "options not applied: $(cat "$work/opts.txt")"

# --- JSON ---------------------------------------------------------------------------
if "$sibilant" compare "$work/sweep" --json - >"$work/out.json"; then
  for key in '"options"' '"profiles"' '"pairs"' '"knees"' '"lisp_index"' '"share_a_lower_lisp"' '"ci_under"'; do
    grep -q "$key" "$work/out.json" && pass || fail "JSON lacks $key"
  done
  grep -q 'Paired comparisons' "$work/out.json" && fail "--json - mixes in the text" || pass
  if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/out.json" && pass || fail "JSON does not parse"
  fi
else
  fail "--json - exited non-zero"
fi
"$sibilant" compare "$work/sweep" --json "$work/stats.json" >/dev/null
grep -q '"knees"' "$work/stats.json" && pass || fail "--json FILE not written"

# --- errors ---------------------------------------------------------------------------
expect_error "missing results" "$work/nope.csv" "no such file" -- compare "$work/nope.csv"
rc=0; "$sibilant" compare "$work/nope.csv" 2>/dev/null || rc=$?
[[ $rc -eq 1 ]] && pass || fail "missing results: exit code $rc, expected 1"

for bad in --threshold=abc --threshold=150 --confidence=1 --bootstrap=0 --pairs=nonsense; do
  rc=0; "$sibilant" compare "$work/sweep" "$bad" >/dev/null 2>&1 || rc=$?
  [[ $rc -eq 2 ]] && pass || fail "$bad: exit code $rc, expected 2"
done

expect_error "unknown pair" "nope" "24k" -- compare "$work/sweep" --pairs 24k,nope
sed 's/^c.flac,6k,ok,,6000,false,none,0.00,85.00/c.flac,6k,ok,,6000,false,none,0.00,lots/' \
  "$work/sweep/results.csv" >"$work/bad.csv"
expect_error "bad number" "bad.csv" "line 8" "column lisp_index" -- compare "$work/bad.csv"
"$sibilant" compare "$work/bad.csv" --json "$work/never.json" >/dev/null 2>&1
expect_no_file "$work/never.json" "failed run writes no JSON"

finish

#!/usr/bin/env bash
# End-to-end checks of `sibilant analyze`: one pair (text, JSON, CSV, summary
# line), batches (--pairs, --ref-dir/--deg-dir, -j), and bad inputs (clear
# message naming the input, non-zero exit, no output file left).
# Usage: test_cli_analyze.sh SIBILANT_BINARY TESTDATA_DIR
set -uo pipefail
sibilant="$1"; testdata="$2"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
sample="$(cd "$testdata" && pwd)/speech/demo.flac"  # absolute: the pair list lives elsewhere
# shellcheck source=cli_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_test_lib.sh"

# summary_field FIELD_NUMBER ARGS...: one column of `analyze --summary-line`
# (1 lisp_index, 2 smearing_index, 3 flagged, 4 sibilants, 5 dropouts,
# 6 degraded_bandwidth_hz, 7 verdict, 8 delay_ms, 9 gain_db, 10 reference, 11 degraded).
summary_field() {
  local n="$1"; shift
  "$sibilant" analyze --summary-line "$@" | cut -f "$n"
}

# --- one pair ------------------------------------------------------------------
if "$sibilant" analyze "$sample" "$sample" --json "$work/id.json" --csv "$work/id.csv" >"$work/id.txt"; then
  pass
  for key in reference degraded alignment delay_ms gain_db degraded_bandwidth_hz summary sibilants flagged \
             lisp_index smearing_index dropouts verdict events start_s end_s class lisp smearing dropout why; do
    grep -q "\"$key\":" "$work/id.json" && pass || fail "JSON lacks key '$key'"
  done
  grep -qF "\"$sample\"" "$work/id.json" && pass || fail "JSON does not name the input"
  [[ -s "$work/id.txt" ]] && pass || fail "no text summary on stdout"
  events=$(grep -c '"start_s":' "$work/id.json")
  rows=$(($(wc -l <"$work/id.csv") - 1))
  [[ "$events" -gt 0 ]] && pass || fail "identity: no sibilant events found in demo.flac"
  [[ "$rows" -eq "$events" ]] && pass || fail "CSV has $rows rows, JSON has $events events"
  head -n 1 "$work/id.csv" | grep -q "start_s" && pass || fail "CSV header lacks start_s: $(head -n 1 "$work/id.csv")"
else
  fail "identity pair exited non-zero"
fi
line=$("$sibilant" analyze --summary-line "$sample" "$sample")
fields=$(awk -F'\t' '{print NF}' <<<"$line")
[[ "$fields" -eq 11 ]] && pass || fail "summary line has $fields fields: $line"
[[ "$(cut -f 3 <<<"$line")" == 0 ]] && pass || fail "identity: flagged events: $line"
[[ "$(cut -f 7 <<<"$line")" == clean ]] && pass || fail "identity: verdict is not clean: $line"
json_out=$("$sibilant" analyze "$sample" "$sample" --json -)  # not piped: grep -q would cut the pipe short
grep -q '"verdict":' <<<"$json_out" && pass || fail "--json - does not print JSON"

# A 6 kbps Opus round trip of the sample must read as lisp.
"$sibilant" simulate "$sample" "$work/6k.wav" --bitrate 6000 -q || fail "simulate 6 kbps"
verdict=$(summary_field 7 "$sample" "$work/6k.wav")
[[ "$verdict" == *lisp* ]] && pass || fail "6 kbps: verdict '$verdict' does not contain lisp"
"$sibilant" simulate "$sample" "$work/64k.wav" --bitrate 64000 -q || fail "simulate 64 kbps"

# The outputs are written as the events come (so that an hour-long pair needs
# no more memory than a short one): JSON and CSV in files and on stdout are the
# same bytes, and the JSON's folder holds only the outputs afterwards (the
# events' temporary file is unlinked at once).
mkdir "$work/stream"
"$sibilant" analyze "$sample" "$work/6k.wav" --json "$work/stream/a.json" --csv "$work/stream/a.csv" -q ||
  fail "streamed outputs: non-zero exit"
"$sibilant" analyze "$sample" "$work/6k.wav" --json - >"$work/a_stdout.json"
"$sibilant" analyze "$sample" "$work/6k.wav" --csv - >"$work/a_stdout.csv"
check "--json FILE and --json - differ" cmp -s "$work/stream/a.json" "$work/a_stdout.json"
check "--csv FILE and --csv - differ" cmp -s "$work/stream/a.csv" "$work/a_stdout.csv"
[[ $(grep -c '"start_s":' "$work/stream/a.json") -gt 3 ]] && pass || fail "6 kbps: under 4 events in the JSON"
left=$(ls -A "$work/stream" | tr '\n' ' ')
[[ "$left" == "a.csv a.json " ]] && pass || fail "the JSON's folder holds more than the outputs: $left"

# --- batch: --pairs -------------------------------------------------------------
mkdir -p "$work/list"
cp "$work/6k.wav" "$work/list/6k.wav"
cat >"$work/list/pairs.csv" <<EOF
reference,degraded
$sample,$sample
$sample,missing.wav
$sample,6k.wav
$sample,$work/64k.wav
EOF
"$sibilant" analyze --pairs "$work/list/pairs.csv" --jsonl "$work/j1.jsonl" -j 1 2>"$work/j1.err"
rc=$?
[[ $rc -eq 1 ]] && pass || fail "--pairs with a missing file: exit $rc, expected 1"
[[ $(wc -l <"$work/j1.jsonl") -eq 4 ]] && pass || fail "JSONL has $(wc -l <"$work/j1.jsonl") lines, expected 4"
sed -n 2p "$work/j1.jsonl" | grep -q "\"error\":.*$work/list/missing.wav" && pass ||
  fail "line 2 is not an error naming missing.wav: $(sed -n 2p "$work/j1.jsonl")"
for n in 1 3 4; do
  sed -n "${n}p" "$work/j1.jsonl" | grep -q '"summary":' && pass || fail "line $n has no result"
done
sed -n 3p "$work/j1.jsonl" | grep -qF "$work/list/6k.wav" && pass || fail "line 3 is not the 6k pair (order)"
sed -n 4p "$work/j1.jsonl" | grep -qF "64k.wav" && pass || fail "line 4 is not the 64k pair (order)"
tail -n 1 "$work/j1.err" | grep -q "1 of 4 pairs failed" && pass || fail "last stderr line: $(tail -n 1 "$work/j1.err")"
grep -q $'\r' "$work/j1.err" && fail "progress bar drawn although stderr is not a terminal" || pass

# Same JSONL whatever the number of threads, and on stdout without --jsonl.
"$sibilant" analyze --pairs "$work/list/pairs.csv" --jsonl "$work/j2.jsonl" -j 2 2>/dev/null
check "-j 1 and -j 2 give different JSONL" cmp -s "$work/j1.jsonl" "$work/j2.jsonl"
"$sibilant" analyze --pairs "$work/list/pairs.csv" -j 2 >"$work/stdout.jsonl" 2>/dev/null
check "JSONL on stdout differs from --jsonl" cmp -s "$work/j1.jsonl" "$work/stdout.jsonl"

# On a terminal a progress bar shows done/total and the rate.
if command -v script >/dev/null; then
  script -qec "'$sibilant' analyze --pairs '$work/list/pairs.csv' --jsonl '$work/tty.jsonl' -j 2" /dev/null \
    >"$work/tty.out" 2>&1
  grep -q "4/4 .*pairs/s" "$work/tty.out" && pass || fail "no progress bar on a terminal: $(cat "$work/tty.out")"
fi

# --- batch: --ref-dir / --deg-dir -------------------------------------------------
mkdir -p "$work/A" "$work/B"
cp "$sample" "$work/A/a.flac"; cp "$sample" "$work/A/b.flac"; cp "$sample" "$work/A/c.flac"
cp "$work/6k.wav" "$work/B/a.flac.wav"  # not a namesake of a.flac
"$sibilant" simulate "$sample" "$work/B/a.flac" --bitrate 6000 -q
cp "$sample" "$work/B/b.flac"
echo "notes" >"$work/A/readme.txt"
"$sibilant" analyze --ref-dir "$work/A" --deg-dir "$work/B" --jsonl "$work/dirs.jsonl" 2>"$work/dirs.err"
rc=$?
[[ $rc -eq 1 ]] && pass || fail "--ref-dir with an unmatched file: exit $rc, expected 1"
[[ $(wc -l <"$work/dirs.jsonl") -eq 3 ]] && pass || fail "dirs JSONL: $(wc -l <"$work/dirs.jsonl") lines, expected 3"
sed -n 1p "$work/dirs.jsonl" | grep -qF "$work/B/a.flac\"" && pass || fail "dirs line 1 is not a.flac"
sed -n 2p "$work/dirs.jsonl" | grep -qF "$work/B/b.flac\"" && pass || fail "dirs line 2 is not b.flac"
sed -n 3p "$work/dirs.jsonl" | grep -q "\"error\":.*$work/B/c.flac" && pass || fail "dirs line 3 is not an error for c.flac"
grep -qF "a.flac.wav" "$work/dirs.err" && pass || fail "extra file in --deg-dir not noted: $(cat "$work/dirs.err")"
rm "$work/A/c.flac"
"$sibilant" analyze --ref-dir "$work/A" --deg-dir "$work/B" -q >"$work/dirs2.jsonl" 2>/dev/null
check "all pairs matched but exit non-zero" test $? -eq 0
[[ $(wc -l <"$work/dirs2.jsonl") -eq 2 ]] && pass || fail "dirs2 JSONL: $(wc -l <"$work/dirs2.jsonl") lines"

# --- bad input -----------------------------------------------------------------
expect_error "missing reference" "$work/nope.wav" "no such file" -- analyze "$work/nope.wav" "$sample" --json "$work/o1.json"
expect_no_file "$work/o1.json" "missing reference"
expect_error "missing degraded" "$work/nope.wav" -- analyze "$sample" "$work/nope.wav" --csv "$work/o1.csv"
expect_no_file "$work/o1.csv" "missing degraded"

echo "this is not audio" >"$work/text.wav"
expect_error "text named .wav" "$work/text.wav" "not a recognised audio file" -- analyze "$sample" "$work/text.wav" --json "$work/o2.json"
expect_no_file "$work/o2.json" "text named .wav"

echo "keep me" >"$work/existing.json"
expect_error "failed run keeps old output" "$work/text.wav" -- analyze "$work/text.wav" "$sample" --json "$work/existing.json"
[[ "$(cat "$work/existing.json")" == "keep me" ]] && pass || fail "a failed run clobbered an existing output"

expect_error "JSON in a missing folder" "$work/no/such/dir/o.json" "does not exist" -- analyze "$sample" "$sample" --json "$work/no/such/dir/o.json"
expect_error "JSONL in a missing folder" "$work/none/o.jsonl" "does not exist" -- analyze --pairs "$work/list/pairs.csv" --jsonl "$work/none/o.jsonl"

printf 'reference,degraded\na.wav,b.wav\nc.wav\n' >"$work/bad.csv"
expect_error "short CSV row" "$work/bad.csv" "line 3" -- analyze --pairs "$work/bad.csv" --jsonl "$work/o3.jsonl"
expect_no_file "$work/o3.jsonl" "short CSV row"
printf 'ref,deg\na.wav,b.wav\n' >"$work/bad2.csv"
expect_error "CSV without header" "$work/bad2.csv" "line 1" "reference,degraded" -- analyze --pairs "$work/bad2.csv"
expect_error "missing CSV" "$work/nope.csv" "no such file" -- analyze --pairs "$work/nope.csv"
expect_error "missing --ref-dir" "$work/nodir" "no such folder" -- analyze --ref-dir "$work/nodir" --deg-dir "$work/B"

# --- no reference ------------------------------------------------------------------
blind_json=$("$sibilant" analyze "$work/6k.wav" --json -)
grep -q '"mode": "no-reference"' <<<"$blind_json" && pass || fail "no-reference JSON lacks mode"
grep -q '"reference": null' <<<"$blind_json" && pass || fail "no-reference JSON reference is not null"
for key in degraded_bandwidth_hz lisp_index smearing_index verdict events why; do
  grep -q "\"$key\":" <<<"$blind_json" && pass || fail "no-reference JSON lacks '$key'"
done
verdict=$("$sibilant" analyze --summary-line "$work/6k.wav" | cut -f 7)
[[ "$verdict" == *lisp* ]] && pass || fail "no reference, 6 kbps: verdict '$verdict' does not contain lisp"
bw=$("$sibilant" analyze --summary-line "$work/6k.wav" | cut -f 6)
((bw > 3000 && bw < 5000)) && pass || fail "no reference, 6 kbps: bandwidth $bw Hz is not narrowband"
expect_error "no reference, missing file" "$work/none.wav" -- analyze "$work/none.wav"
"$sibilant" analyze "$work/none.wav" --json "$work/blind.json" 2>/dev/null && fail "no reference, missing file: exit 0"
expect_no_file "$work/blind.json" "no reference, missing file"

# --- incremental alignment: as the live probe ---------------------------------------
line=$("$sibilant" analyze --summary-line --alignment incremental "$sample" "$work/6k.wav")
[[ "$(cut -f 7 <<<"$line")" == *lisp* ]] && pass || fail "incremental: $line"
expect_error "bad --alignment" "alignment" -- analyze "$sample" "$sample" --alignment sideways

expect_error "two modes" "one of" -- analyze "$sample" "$sample" --pairs "$work/list/pairs.csv"
expect_error "--json in a batch" "--jsonl" -- analyze --pairs "$work/list/pairs.csv" --json "$work/o4.json"
expect_error "--ref-dir alone" "--deg-dir" -- analyze --ref-dir "$work/A"
expect_error "two outputs on stdout" "stdout" -- analyze "$sample" "$sample" --json - --csv -
expect_error "threshold out of range" "lisp-threshold" -- analyze "$sample" "$sample" --lisp-threshold 120
expect_error "channel 0" "channel" -- analyze "$sample" "$sample" --channel 0
expect_error "channel out of range" "$sample" "channel" -- analyze "$sample" "$sample" --channel 3

help=$("$sibilant" analyze --help)
for flag in --json --csv --summary-line --events --lisp-threshold --smearing-threshold --channel --pairs \
            --ref-dir --deg-dir --jsonl --jobs --quiet --alignment --payload-type --write-audio; do
  grep -q -- "$flag" <<<"$help" && pass || fail "--help lacks $flag"
done

finish

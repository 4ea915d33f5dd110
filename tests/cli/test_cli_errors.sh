#!/usr/bin/env bash
# End-to-end checks of the sibilant CLI: the happy path, and every bad input
# gives a clear message naming the input, a non-zero exit, and no output file.
# Usage: test_cli_errors.sh SIBILANT_BINARY TESTDATA_DIR
set -uo pipefail
sibilant="$1"; testdata="$2"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
sample="$testdata/speech/demo.flac"
# shellcheck source=cli_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_test_lib.sh"

# --- happy path -------------------------------------------------------------
out="$work/ok.flac"
if "$sibilant" simulate "$sample" "$out" --bitrate 16000 --loss bernoulli:0.1 --seed 3 \
     --packets "$work/ok.jsonl" --json "$work/ok.json" >"$work/ok.txt"; then
  pass
  [[ -s "$out" ]] && pass || fail "happy path: no output audio"
  packets=$(grep -o '"packets": *[0-9]*' "$work/ok.json" | head -n 1 | grep -o '[0-9]*$')
  lines=$(wc -l <"$work/ok.jsonl")
  [[ -n "$packets" && "$packets" -eq "$lines" ]] && pass || fail "packet log has $lines lines, report says '$packets' packets"
  grep -q '"lost":true' "$work/ok.jsonl" && pass || fail "10% loss but no lost packet in the log"
  grep -q 'lost' "$work/ok.txt" && pass || fail "summary does not mention loss"
else
  fail "happy path exited non-zero"
fi
# Same seed, same output; the decoded file is deterministic.
"$sibilant" simulate "$sample" "$work/again.flac" --bitrate 16000 --loss bernoulli:0.1 --seed 3 -q
cmp -s "$out" "$work/again.flac" && pass || fail "same seed gave different output"
"$sibilant" simulate --help | grep -q -- "--expected-loss" && pass || fail "--help lacks --expected-loss"

# --- bad input files -----------------------------------------------------------
expect_error "missing input" "$work/nope.wav" "no such file" -- simulate "$work/nope.wav" "$work/o1.wav"
expect_no_file "$work/o1.wav" "missing input"

echo "this is not audio" >"$work/text.wav"
expect_error "text named .wav" "$work/text.wav" "not a recognised audio file" -- simulate "$work/text.wav" "$work/o2.wav"
expect_no_file "$work/o2.wav" "text named .wav"

wav_header 48000 1 16 1 0 >"$work/empty.wav"
expect_error "zero samples" "$work/empty.wav" "no samples" -- simulate "$work/empty.wav" "$work/o3.wav"
expect_no_file "$work/o3.wav" "zero samples"

{ wav_header 4000 1 16 1 8000; head -c 8000 /dev/zero; } >"$work/rate4k.wav"
expect_error "unsupported rate" "$work/rate4k.wav" "4000 Hz" -- simulate "$work/rate4k.wav" "$work/o4.wav"
expect_no_file "$work/o4.wav" "unsupported rate"

# Float WAV whose samples are NaN (0x7fc00000, little-endian).
{ wav_header 48000 1 32 3 4000; for _ in $(seq 1000); do printf '\x00\x00\xc0\x7f'; done; } >"$work/nan.wav"
expect_error "NaN samples" "$work/nan.wav" "not a finite number" -- simulate "$work/nan.wav" "$work/o5.wav"
expect_no_file "$work/o5.wav" "NaN samples"

# A real file cut short: the header promises more than is there.
"$sibilant" simulate "$sample" "$work/full.wav" -q
size=$(stat -c %s "$work/full.wav")
head -c $((size / 2)) "$work/full.wav" >"$work/cut.wav"
echo "keep me" >"$work/existing.wav"
expect_error "truncated" "$work/cut.wav" "truncated" -- simulate "$work/cut.wav" "$work/existing.wav"
[[ "$(cat "$work/existing.wav")" == "keep me" ]] && pass || fail "truncated input clobbered an existing output"

# --- usage errors exit with 2 ---------------------------------------------------
expect_usage() {
  "$sibilant" "$@" >/dev/null 2>&1
  local rc=$?
  [[ $rc -eq 2 ]] && pass || fail "usage error '$*': exit $rc, want 2"
}
expect_usage simulate "$sample"
expect_usage simulate "$sample" "$work/u.wav" --no-such-flag
expect_usage simulate "$sample" "$work/u.wav" --cbr --vbr
expect_usage frobnicate
"$sibilant" --version >/dev/null && pass || fail "--version exits non-zero"

# --- bad outputs and settings --------------------------------------------------
expect_error "missing output folder" "$work/no/such/dir/o.wav" "does not exist" -- simulate "$sample" "$work/no/such/dir/o.wav"
expect_error "bad output extension" "$work/o.mp3" -- simulate "$sample" "$work/o.mp3"
expect_no_file "$work/o.mp3" "bad output extension"
expect_error "bitrate too low" "bitrate" "5000" -- simulate "$sample" "$work/o6.wav" --bitrate 5000
expect_error "bad frame size" "frame" -- simulate "$sample" "$work/o6.wav" --frame-ms 7
expect_error "bad complexity" "complexity" -- simulate "$sample" "$work/o6.wav" --complexity 11
expect_error "bad bandwidth" "xb" -- simulate "$sample" "$work/o6.wav" --bandwidth xb
expect_error "bad loss probability" "bernoulli:2" -- simulate "$sample" "$work/o6.wav" --loss bernoulli:2
expect_error "bad loss kind" "burst:1" -- simulate "$sample" "$work/o6.wav" --loss burst:1
expect_error "missing trace" "$work/trace.txt" -- simulate "$sample" "$work/o6.wav" --loss "trace:$work/trace.txt"
printf '0 0 1\n0 x 1\n' >"$work/badtrace.txt"
expect_error "bad trace token" "$work/badtrace.txt" "line 2" -- simulate "$sample" "$work/o6.wav" --loss "trace:$work/badtrace.txt"
expect_error "packet log in missing folder" "$work/none/p.jsonl" -- simulate "$sample" "$work/o6.wav" --packets "$work/none/p.jsonl"
expect_no_file "$work/o6.wav" "bad settings"

finish

#!/usr/bin/env bash
# End-to-end checks of `sibilant report` without a browser (tests/browser/
# renders the pages): a pair, a no-reference and a sweep page are written and
# self-contained; bad inputs give a message naming the input, exit 1 (usage
# errors 2) and no output file.
# Usage: test_cli_report.sh SIBILANT_BINARY TESTDATA_DIR SWEEP_FIXTURE_DIR
set -uo pipefail
sibilant="$1"; testdata="$2"; fixture="$3"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
sample="$testdata/speech/demo.flac"
# shellcheck source=cli_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_test_lib.sh"

self_contained() {  # no resource fetched from anywhere: no src=/href= other than data: and #anchors
  ! grep -oE '(src|href)="[^"#d][^"]*"|url\(' "$1" | grep -v '^href="data:' | grep -q .
}

check "pair report" "$sibilant" report "$sample" "$sample" -o "$work/pair.html"
check "pair page is HTML" grep -q '<!DOCTYPE html>' "$work/pair.html"
check "pair page has two spectrograms" test "$(grep -o '<svg class="spectrogram"' "$work/pair.html" | wc -l)" -eq 2
check "pair page is self-contained" self_contained "$work/pair.html"
check "no-reference report" "$sibilant" report "$sample" -o "$work/blind.html"
check "no-reference page has one spectrogram" test "$(grep -o '<svg class="spectrogram"' "$work/blind.html" | wc -l)" -eq 1
check "sweep report" "$sibilant" report --sweep "$fixture" -o "$work/sweep.html" --threshold 30
check "sweep page has the threshold" grep -q 'knee threshold 30' "$work/sweep.html"
check "sweep page is self-contained" self_contained "$work/sweep.html"

expect_error "missing reference" "/nope/ref.wav" "no such file" -- report /nope/ref.wav "$sample" -o "$work/bad1.html"
expect_no_file "$work/bad1.html" "missing reference"
expect_error "missing degraded" "/nope/deg.wav" -- report "$sample" /nope/deg.wav -o "$work/bad2.html"
expect_no_file "$work/bad2.html" "missing degraded"
expect_error "missing sweep" "/nope/sweep" -- report --sweep /nope/sweep -o "$work/bad3.html"
expect_no_file "$work/bad3.html" "missing sweep"
expect_error "output folder" "/nope/out" -- report "$sample" -o /nope/out/r.html

usage() {  # usage NAME ARGS...: exit code 2
  local name="$1"; shift
  "$sibilant" "$@" >/dev/null 2>&1
  local rc=$?
  if [[ $rc -eq 2 ]]; then pass; else fail "$name: exit code $rc, expected 2"; fi
}
usage "no -o" report "$sample"
usage "nothing to report" report -o "$work/u.html"
usage "pair and sweep" report "$sample" --sweep "$fixture" -o "$work/u.html"
usage "pair flag on a sweep" report --sweep "$fixture" --lisp-threshold 10 -o "$work/u.html"
finish

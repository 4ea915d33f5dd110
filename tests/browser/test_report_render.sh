#!/usr/bin/env bash
# Renders `sibilant report` pages in headless Chromium and checks them:
#  - a pair report (testdata/speech/demo.flac against a 6 kbps copy) and a
#    sweep report (the hand-made sweep in sweep_fixture/);
#  - the screenshot is not blank: png_check counts non-white pixels and
#    colours, and finds the spectrogram's viridis colours and the marks' and
#    curves' colours;
#  - the DOM Chromium built holds the expected elements: two spectrograms,
#    one event mark per event on each, one table row per event; one curve and
#    one CI band per loss group in each plot, one row per profile.
# Exit 77 (ctest SKIP_RETURN_CODE) when Chromium is not installed.
#
# Usage: test_report_render.sh SIBILANT PNG_CHECK TESTDATA_DIR FIXTURE_DIR WORK_DIR
set -euo pipefail
sibilant=$1 png_check=$2 testdata=$3 fixture=$4 work=$5

browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then
  echo "SKIPPED: chromium is not installed (Debian: apt-get install chromium; scripts/setup.sh installs it)"
  exit 77
fi

rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

# Chromium as root needs --no-sandbox; its own profile keeps runs apart.
chrome() {
  timeout 90 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --user-data-dir="$work/profile" "$@" 2>>"$work/chromium.log" || { cat "$work/chromium.log" >&2; fail "chromium $*"; }
}
# count FILE TEXT: occurrences of TEXT in FILE.
count() { grep -o -F -- "$2" "$1" | wc -l | tr -d ' '; }
expect_count() {  # FILE TEXT EXPECTED
  local n
  n=$(count "$1" "$2")
  [[ $n == "$3" ]] || fail "$(basename "$1"): $n x '$2', expected $3"
  echo "ok: $(basename "$1"): $n x '$2'"
}

# --- pair report --------------------------------------------------------------
"$sibilant" simulate -q --bitrate 6000 "$testdata/speech/demo.flac" "$work/demo_6k.wav"
"$sibilant" report "$testdata/speech/demo.flac" "$work/demo_6k.wav" -o "$work/pair.html"
events=$(( $("$sibilant" analyze "$testdata/speech/demo.flac" "$work/demo_6k.wav" --csv - | wc -l) - 1 ))
(( events > 0 )) || fail "the 6 kbps demo has no events"

chrome --screenshot="$work/pair.png" --window-size=1280,2000 "file://$work/pair.html" >/dev/null
# Spectrograms: tens of thousands of viridis pixels; lisp marks: #e0303a.
"$png_check" "$work/pair.png" --min-nonwhite 15 --min-colours 500 --viridis 50000 --colour e0303a:500 \
  || fail "pair screenshot"
chrome --dump-dom "file://$work/pair.html" >"$work/pair.dom.html"
expect_count "$work/pair.dom.html" '<svg class="spectrogram"' 2
expect_count "$work/pair.dom.html" '<image ' 2
expect_count "$work/pair.dom.html" '<g class="event-mark ' $((2 * events))
expect_count "$work/pair.dom.html" '<tr class="event-row ' "$events"

# --- sweep report -------------------------------------------------------------
"$sibilant" report --sweep "$fixture" -o "$work/sweep.html"
chrome --screenshot="$work/sweep.png" --window-size=1280,1400 "file://$work/sweep.html" >/dev/null
# Two loss groups: Okabe-Ito blue and orange lines.
"$png_check" "$work/sweep.png" --min-nonwhite 3 --min-colours 100 --colour 0072b2:300 --colour e69f00:300 \
  || fail "sweep screenshot"
chrome --dump-dom "file://$work/sweep.html" >"$work/sweep.dom.html"
expect_count "$work/sweep.dom.html" '<svg class="plot ' 2
expect_count "$work/sweep.dom.html" '<path class="curve"' 4
expect_count "$work/sweep.dom.html" '<polygon class="ci-band"' 4
expect_count "$work/sweep.dom.html" '<tr class="profile-row"' 8
expect_count "$work/sweep.dom.html" '<tr class="knee-row"' 2
echo "report pages render: screenshots in $work"

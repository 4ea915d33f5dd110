#!/usr/bin/env bash
# The main job on the bundled sample: set up, build, then send
# testdata/speech/demo.flac through Opus at a ladder of bitrates (and once with
# packet loss) and measure what each did to its sibilants. Outputs go to out/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh" "$here/build"

# Relative paths from the checkout keep the screen readable.
cd "$here"
sibilant=build/tools/sibilant
sample=testdata/speech/demo.flac
out=out
mkdir -p "$out"

# row LABEL DEGRADED: analyses one decoded file against the sample, and on its
# own (no reference, as the live probe does), prints one table row and keeps
# the full results as JSON beside the audio.
row() {
  local label="$1" degraded="$2" line lisp smearing flagged sibilants dropouts bandwidth verdict blind_lisp blind_verdict
  line=$("$sibilant" analyze "$sample" "$degraded" --summary-line --json "${degraded%.wav}.analysis.json")
  IFS=$'\t' read -r lisp smearing flagged sibilants dropouts bandwidth verdict _ <<<"$line"
  line=$("$sibilant" analyze "$degraded" --summary-line --json "${degraded%.wav}.no-reference.json")
  IFS=$'\t' read -r blind_lisp _ _ _ _ _ blind_verdict _ <<<"$line"
  printf '%-17s %10s %14s %9s %8s %9s Hz  %-10s | %10s  %s\n' "$label" "$lisp" "$smearing" "$flagged/$sibilants" \
    "$dropouts" "$bandwidth" "$verdict" "$blind_lisp" "$blind_verdict"
}

echo
echo "== What Opus does to the sibilants of \"She sells sea shells by the seashore...\" =="
echo "   (testdata/speech/demo.flac through libopus, voip, complexity 10; then sibilant analyze against the original)"
echo
printf '%-17s %10s %14s %9s %8s %12s  %-10s | %s\n' "" "" "" "" "" "" "" "no reference:"
printf '%-17s %10s %14s %9s %8s %12s  %-10s | %10s  %s\n' opus lisp_index smearing_index flagged dropouts bandwidth \
  verdict lisp_index verdict
for kbps in 6 12 24 64; do
  "$sibilant" simulate "$sample" "$out/demo_opus${kbps}k.wav" --bitrate $((kbps * 1000)) -q
  row "$kbps kbps" "$out/demo_opus${kbps}k.wav"
done
# The same at 24 kbps over a lossy network: 10% random loss, in-band FEC.
lossy="$out/demo_opus24k_loss10"
"$sibilant" simulate "$sample" "$lossy.wav" --bitrate 24000 --fec --expected-loss 10 --loss bernoulli:0.1 \
  --seed 7 --packets "$lossy.packets.jsonl" --json "$lossy.json" -q
row "24 kbps, 10% loss" "$lossy.wav"
echo
echo "lisp_index, smearing_index: 0 = sibilants intact .. 100 = all destroyed; flagged: harmed events / sibilants found;"
echo "bandwidth: effective bandwidth of the decoded speech (the sample itself stops at 11 kHz)."
echo "no reference: the decoded file judged on its own against clean-speech norms (what the live probe does)."
echo "Packet loss: $(grep -c '"lost":true' "$lossy.packets.jsonl") of $(wc -l <"$lossy.packets.jsonl") packets lost;" \
  "per-packet log in $lossy.packets.jsonl"

echo
echo "== The worst events at 6 kbps, and why =="
"$sibilant" analyze "$sample" "$out/demo_opus6k.wav" --events 5
echo
echo "Decoded audio, full JSON results (*.analysis.json) and simulate reports are in out/."

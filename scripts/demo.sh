#!/usr/bin/env bash
# The main job on the bundled sample: set up, build, then run sibilant on
# testdata/speech/demo.flac. Outputs go to out/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh" "$here/build"

sibilant="$here/build/tools/sibilant"
sample="$here/testdata/speech/demo.flac"
mkdir -p "$here/out"

echo
echo "== sibilant simulate: the bundled sample through Opus at 12 kbps, 5% packet loss, in-band FEC =="
"$sibilant" simulate "$sample" "$here/out/demo_opus12k_loss5.wav" \
  --bitrate 12000 --application voip --fec --expected-loss 5 --loss bernoulli:0.05 --seed 7 \
  --packets "$here/out/demo_opus12k_loss5.packets.jsonl" --json "$here/out/demo_opus12k_loss5.json"
echo
echo "wrote out/demo_opus12k_loss5.wav, its per-packet log (.packets.jsonl) and report (.json)"

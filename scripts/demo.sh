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
echo "== sibilant simulate: the bundled sample through Opus at 24 kbps, 10% random packet loss, in-band FEC =="
"$sibilant" simulate "$sample" "$here/out/demo_opus24k_loss10.wav" \
  --bitrate 24000 --application voip --fec --expected-loss 10 --loss bernoulli:0.1 --seed 7 \
  --packets "$here/out/demo_opus24k_loss10.packets.jsonl" --json "$here/out/demo_opus24k_loss10.json"
echo
echo "wrote out/demo_opus24k_loss10.wav, its per-packet log (.packets.jsonl) and report (.json)"

#!/usr/bin/env bash
# Determinism (issue #12, "Long runs: determinism"): every command run twice
# writes the same bytes, and analyze's batch mode and sweep write the same
# bytes with -j 1 and -j 2. Covered: simulate (audio, --json, --packets),
# analyze of a pair (text, --json, --csv, --summary-line, both alignments),
# without a reference, in batch (--pairs and --ref-dir/--deg-dir), sweep
# (whole, and two shards), merge, compare (text and --json) and report (pair,
# no reference, sweep: the HTML with its PNGs). Each run works in its own
# folder under the same relative names, so a path written into an output is
# the same in every run; stderr (timings) is not compared.
# Usage: test_cli_determinism.sh SIBILANT TESTDATA
set -uo pipefail
sibilant="$1"; testdata="$2"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# shellcheck source=cli_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_test_lib.sh"
speech="$testdata/speech"
python=$(command -v /usr/bin/python3 || command -v python3)

mkdir -p "$work/corpus"
cp "$speech/s_clusters.flac" "$speech/zh_medial.flac" "$work/corpus/"
cat >"$work/profiles.json" <<'EOF'
{"seed": 5,
 "grids": [{"name": "g", "base": {"complexity": 1},
            "vary": {"bitrate_bps": [8000, 12000, 24000], "loss": ["none", "ge:0.05,0.5"]}}]}
EOF

# run_all DIR J: every command, batch and sweep with -j J, outputs in DIR.
run_all() {
  local dir="$1" j="$2" f
  mkdir -p "$dir/ref" "$dir/deg"
  cd "$dir" || return 1
  run() {  # run NAME ARGS...: stdout to NAME.out, stderr to NAME.err
    local name="$1"; shift
    "$sibilant" "$@" >"$name.out" 2>"$name.err" || fail "$dir: $name exited $?: $(tail -n 3 "$name.err")"
  }
  run simulate simulate --bitrate 12000 --loss ge:0.05,0.4 --seed 7 "$speech/demo.flac" deg.wav \
    --json simulate.json --packets packets.jsonl
  run simulate_flac simulate -q --bitrate 8000 --fec --expected-loss 10 --loss bernoulli:0.1 \
    "$speech/sh_positions.flac" deg.flac
  run pair analyze "$speech/demo.flac" deg.wav --json pair.json --csv pair.csv
  run pair_line analyze "$speech/demo.flac" deg.wav --summary-line
  run pair_incremental analyze "$speech/demo.flac" deg.wav --alignment incremental --json pair_incremental.json
  run noref analyze deg.wav --json noref.json --csv noref.csv
  run noref_flac analyze deg.flac --json noref_flac.json
  for f in demo s_clusters no_sibilants z_voiced; do
    cp "$speech/$f.flac" ref/
    "$sibilant" simulate -q --bitrate 16000 --loss bernoulli:0.05 "$speech/$f.flac" "deg/$f.flac" ||
      fail "$dir: simulate $f"
  done
  printf 'label,degraded,reference\nx,deg/demo.flac,ref/demo.flac\ny,deg/z_voiced.flac,ref/z_voiced.flac\nz,deg.wav,%s\n' \
    "$speech/demo.flac" >pairs.csv
  run batch_dirs analyze --ref-dir ref --deg-dir deg -j "$j" --jsonl batch_dirs.jsonl
  run batch_pairs analyze --pairs pairs.csv -j "$j"  # JSON Lines on stdout
  run sweep sweep --profiles "$work/profiles.json" --corpus "$work/corpus" --out sweep -j "$j" --keep-audio
  run shard1 sweep --profiles "$work/profiles.json" --corpus "$work/corpus" --out shard1 -j "$j" --shard 1/2
  run shard2 sweep --profiles "$work/profiles.json" --corpus "$work/corpus" --out shard2 -j "$j" --shard 2/2
  run merge merge --out merged shard1 shard2
  run compare compare sweep --json compare.json
  run compare_text compare merged/results.csv --bootstrap 500 --seed 3
  run report_pair report "$speech/demo.flac" deg.wav -o report_pair.html
  run report_noref report deg.wav -o report_noref.html
  run report_sweep report --sweep sweep -o report_sweep.html
  rm -f ./*.err
  cd "$work" || return 1
}

t0=$(date +%s)
run_all "$work/a" 2
run_all "$work/b" 2
run_all "$work/c" 1
echo "three runs in $(( $(date +%s) - t0 )) s"

# Every file of run a, compared with run b (twice) and with run c (-j 1).
count=$(find "$work/a" -type f | wc -l)
[[ $count -ge 40 ]] && pass || fail "run a wrote only $count files"
for other in b c; do
  while read -r f; do
    cmp -s "$work/a/$f" "$work/$other/$f" && pass || fail "$f differs between run a and run $other"
  done < <(cd "$work/a" && find . -type f | sort)
  [[ "$(cd "$work/a" && find . | sort)" == "$(cd "$work/$other" && find . | sort)" ]] && pass ||
    fail "run a and run $other wrote different file lists"
done
# The merged shards are the unsharded sweep.
for f in sweep.json results.csv events.jsonl; do
  cmp -s "$work/a/sweep/$f" "$work/a/merged/$f" && pass || fail "merged $f differs from the unsharded sweep"
done
# The outputs are what they claim to be (a file of zeros would be "deterministic" too).
for f in simulate.json pair.json pair_incremental.json noref.json noref_flac.json compare.json; do
  "$python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/a/$f" && pass || fail "$f does not parse"
done
"$python" - "$work/a" <<'EOF' && pass || fail "outputs lack content"
import json, sys, os
d = sys.argv[1]
assert len(open(os.path.join(d, "batch_dirs.jsonl")).read().splitlines()) == 4
assert len(open(os.path.join(d, "batch_pairs.out")).read().splitlines()) == 3
assert json.load(open(os.path.join(d, "pair.json")))["summary"]["sibilants"] > 0
assert len(open(os.path.join(d, "sweep/results.csv")).read().splitlines()) == 1 + 2 * 6
for name in ("report_pair.html", "report_noref.html", "report_sweep.html"):
    page = open(os.path.join(d, name)).read()
    assert "data:image/png;base64," in page or name == "report_sweep.html", name
    assert "<svg" in page or name != "report_sweep.html", name
EOF

finish

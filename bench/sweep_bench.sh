#!/usr/bin/env bash
# Sweep throughput (issue #5): `sibilant sweep` of a corpus over the 10
# profiles of bench/sweep_profiles.json (6/12/16/24/32/64 kbps without loss;
# 16 and 24 kbps at 5% Bernoulli loss, with and without in-band FEC), timed
# with -j1 and -j2 in one run; prints the wall times, the speed-up (target
# >= 1.8x on 2 idle cores) and checks that both runs wrote the same bytes.
#
# Where the time goes, two ways:
#  - the sweep's own per-stage CPU seconds (its closing stderr line, measured
#    per job with CLOCK_THREAD_CPUTIME_ID): read+resample, simulate (the Opus
#    channel: libopus encode + decode, loss model, alignment) and analyze;
#  - with valgrind installed, a small sweep (--callgrind-files files, default
#    1, over all 10 profiles) under callgrind: the inclusive instruction count
#    of opus_encode* + opus_decode* (every call into libopus's codec) over the
#    program's total, from callgrind_annotate --inclusive=yes. Instructions,
#    not seconds: a proxy for CPU time that does not depend on machine load.
#
# Usage: bench/sweep_bench.sh [options] [CORPUS_DIR]
#   CORPUS_DIR           default ../shared/corpus beside the checkout; when that
#                        is absent, testdata/speech (short synthetic speech)
#   --build DIR          CMake build folder (default: build-bench in the
#                        checkout); configured here (Release) if it has no
#                        CMakeCache.txt yet
#   --callgrind-files N  files in the callgrind sweep (0: skip it)
# Exit status: 0 done (the speed-up is reported, not enforced), 1 the -j1 and
# -j2 outputs differ, 2 set-up problem.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="$here/../shared/corpus"
[[ -d "$corpus" ]] || corpus="$here/testdata/speech"
build_dir="$here/build-bench"
callgrind_files=1
profiles="$here/bench/sweep_profiles.json"

while (($#)); do
  case "$1" in
    --build) build_dir="$2"; shift 2 ;;
    --callgrind-files) callgrind_files="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "sweep_bench: unknown option $1" >&2; exit 2 ;;
    *) corpus="$1"; shift ;;
  esac
done
[[ -d "$corpus" ]] || { echo "sweep_bench: no corpus at $corpus" >&2; exit 2; }

if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DSIBILANT_INSTALL=OFF >/dev/null ||
    { echo "sweep_bench: cmake configure failed" >&2; exit 2; }
fi
cmake --build "$build_dir" --target sibilant_cli -j "$(nproc)" >/dev/null ||
  { echo "sweep_bench: build failed" >&2; exit 2; }
sibilant="$build_dir/tools/sibilant"

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }

files=$(find "$corpus" -type f \( -name '*.wav' -o -name '*.flac' \) ! -name '.*' | wc -l)
echo "corpus   $corpus ($files files), profiles $profiles (10), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A wall
for j in 1 2; do
  load=$(cut -d' ' -f1 /proc/loadavg)
  start=$(now)
  # Exit 1 with "jobs failed" is a finished sweep in which some file x
  # profile could not be analysed (its row says why): still a timing.
  "$sibilant" sweep --profiles "$profiles" --corpus "$corpus" --out "$work/j$j" -j "$j" 2>"$work/j$j.err" ||
    tail -n 1 "$work/j$j.err" | grep -q 'jobs failed' ||
    { cat "$work/j$j.err" >&2; echo "sweep_bench: sweep -j$j failed" >&2; exit 2; }
  wall[$j]=$(awk -v a="$(now)" -v b="$start" 'BEGIN { print a - b }')
  # Cores the sweep kept busy (its CPU seconds over the wall time): under 2
  # at -j2 means other processes took the rest (see the load before the run).
  summary=$(grep '^sweep: ' "$work/j$j.err" | sed 's/^sweep: //')
  cpu=$(sed -n 's/.*; CPU \([0-9.]*\) s:.*/\1/p' <<<"$summary")
  printf -- '-j%s      %.1f s wall, %.2f cores busy (load before: %s)\n         %s\n' "$j" "${wall[$j]}" \
    "$(awk -v c="$cpu" -v w="${wall[$j]}" 'BEGIN { print c / w }')" "$load" "$summary"
done
printf 'speed-up %.2fx (-j1 / -j2; target >= 1.8x)\n' "$(awk -v a="${wall[1]}" -v b="${wall[2]}" 'BEGIN { print a / b }')"
for f in sweep.json results.csv events.jsonl; do
  cmp -s "$work/j1/$f" "$work/j2/$f" || { echo "sweep_bench: $f differs between -j1 and -j2" >&2; exit 1; }
done
echo "outputs  -j1 and -j2 byte-identical"

if [[ "$callgrind_files" -gt 0 ]] && command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
  mkdir -p "$work/small"
  find "$corpus" -type f \( -name '*.wav' -o -name '*.flac' \) ! -name '.*' | sort | head -n "$callgrind_files" |
    while read -r f; do ln -s "$f" "$work/small/"; done
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    "$sibilant" sweep --profiles "$profiles" --corpus "$work/small" --out "$work/cg" -j 1 -q 2>"$work/cg.err" ||
    grep -q 'jobs failed' "$work/cg.err" ||
    { tail -n 5 "$work/cg.err" >&2; echo "sweep_bench: callgrind run failed" >&2; exit 2; }
  callgrind_annotate --inclusive=yes "$work/callgrind.out" 2>/dev/null >"$work/annotate.txt"
  # "PROGRAM TOTALS" and each function's inclusive Ir: the first number of its line.
  awk '
    function ir(s) { gsub(/,/, "", s); return s + 0 }
    /PROGRAM TOTALS/ { total = ir($1) }
    / (\?\?\?|[^ ]*):opus_(encode|encode_float|decode|decode_float) / { opus += ir($1) }
    END {
      if (total == 0) { print "libopus  (callgrind: no totals)"; exit }
      printf "libopus  %.1f%% of all instructions (opus_encode* + opus_decode*, inclusive; callgrind, %s)\n", 100 * opus / total, files
    }' files="$callgrind_files file(s) x 10 profiles, -j1" "$work/annotate.txt"
else
  echo "libopus  (callgrind skipped: valgrind not installed or --callgrind-files 0)"
fi

#!/usr/bin/env bash
# Whole-process speed of `sibilant analyze REF DEG --json OUT` (issue #11:
# ">= 2000x real time on one core for a 60 s pair, whole process: read,
# resample, align, analyse, write JSON"). bench/bench_analyze measures the
# analysis on samples in memory; this measures what a user runs.
#
# The pair: the test sentences (testdata/speech/*.flac, 44.1 kHz) joined and
# repeated to SECONDS (default 60) by ffmpeg, at --rate HZ (default 44100,
# 16-bit, so the run includes resampling to 48 kHz; 48000: none), and that through `sibilant simulate`
# (Opus voip 24 kbps, seed 1). Each round runs the analysis once (and once
# for every --against command, alternately, so that load from other processes
# hits all alike) and takes its CPU time (user + system, bash's times).
# Prints, per command, the median and fastest CPU time and the real-time
# factor of the median; with --against, the median of the paired ratios.
#
# Usage: bench/analyze_process.sh [--build DIR] [--seconds S] [--rounds N]
#                                 [--against 'COMMAND'] ...
#   --build DIR       the build whose tools/sibilant is measured (default build)
#   --against CMD     another sibilant command to measure alternately, e.g.
#                     ../wt-base/build/tools/sibilant (word-split, so
#                     'env LD_LIBRARY_PATH=DIR /path/sibilant' works); repeatable
#   --rounds N        default 15
#   --rate HZ         sample rate of the pair's files (default 44100)
# Exit status: 0 measured, 1 a run failed or outputs differ, 2 set-up problem.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$here/build"
seconds=60
rounds=15
rate=44100
against=()
while (($#)); do
  case "$1" in
    --build|--seconds|--rounds|--against|--rate)
      (($# >= 2)) || { echo "analyze_process: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --build) build="$2" ;; --seconds) seconds="$2" ;; --rounds) rounds="$2" ;; --rate) rate="$2" ;; --against) against+=("$2") ;;
      esac
      shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "analyze_process: unknown argument $1" >&2; exit 2 ;;
  esac
done
cli="$build/tools/sibilant"
[[ -x $cli ]] || { echo "analyze_process: $cli not built (--build DIR)" >&2; exit 2; }
command -v ffmpeg >/dev/null || { echo "analyze_process: ffmpeg missing (scripts/setup.sh installs it)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for f in "$here"/testdata/speech/*.flac; do printf "file '%s'\n" "$f"; done > "$work/list"
for _ in $(seq 40); do cat "$work/list"; done > "$work/repeated"
ffmpeg -v error -f concat -safe 0 -i "$work/repeated" -t "$seconds" -ar "$rate" -ac 1 -c:a pcm_s16le "$work/ref.wav"
"$cli" simulate -q --bitrate 24000 --seed 1 "$work/ref.wav" "$work/deg.wav"

commands=("$cli" "${against[@]}")
declare -A times
for ((r = 0; r < rounds; ++r)); do
  for ((c = 0; c < ${#commands[@]}; ++c)); do
    # Alternate the order too, so neither always runs first.
    i=$(( (c + r) % ${#commands[@]} ))
    read -r -a cmd <<< "${commands[$i]}"
    # `times` in a subshell: its children's user and system time, to the millisecond.
    (
      "${cmd[@]}" analyze -q --json "$work/out$i.json" "$work/ref.wav" "$work/deg.wav" ||
        { echo "analyze_process: '${commands[$i]}' failed" >&2; exit 1; }
      times > "$work/time"
    ) || exit 1
    times[$i]+="$(awk 'NR == 2 { print s($1) + s($2) } function s(t) { sub(/s$/, "", t); split(t, p, "m"); return p[1] * 60 + p[2] }' "$work/time") "
  done
done

status=0
for ((i = 1; i < ${#commands[@]}; ++i)); do
  cmp -s "$work/out0.json" "$work/out$i.json" || { echo "note: the JSON of '${commands[$i]}' differs from $cli's"; status=1; }
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
fastest() { tr ' ' '\n' | sed '/^$/d' | sort -g | head -1; }
echo "sibilant analyze REF DEG --json OUT, ${seconds} s pair ($rate Hz 16-bit WAV, Opus 24 kbps), $rounds rounds, CPU time (user+sys):"
for ((i = 0; i < ${#commands[@]}; ++i)); do
  m="$(median <<< "${times[$i]}")"
  printf '  %-50s median %.3f s, fastest %.3f s: %.0fx real time (median)\n' "${commands[$i]}" "$m" \
    "$(fastest <<< "${times[$i]}")" "$(awk -v s="$seconds" -v m="$m" 'BEGIN { print (m > 0 ? s / m : 0) }')"
done
for ((i = 1; i < ${#commands[@]}; ++i)); do
  read -r -a a <<< "${times[0]}"
  read -r -a b <<< "${times[$i]}"
  ratio="$(for ((r = 0; r < rounds; ++r)); do awk -v x="${a[$r]}" -v y="${b[$r]}" 'BEGIN { if (x > 0) print y / x }'; done | median)"
  echo "  '${commands[$i]}' / $cli: ${ratio}x (median of paired rounds)"
done
echo "(target, issue #11: 2000x real time, i.e. $(awk -v s="$seconds" 'BEGIN { printf "%.3f", s / 2000 }') s)"
exit "$status"

#!/usr/bin/env bash
# How many concurrent real-time 48 kHz Opus streams one core of `sibilant
# probe` keeps up with, socket to metrics (issue #9).
#
#   bench/service_capacity.sh [BUILD_DIR] [SECONDS_PER_STEP] [STREAM_COUNTS...]
#   e.g. bench/service_capacity.sh build 10 100 200 300 400 500 600
#
# For each stream count N: start `sibilant probe --threads 1` on loopback,
# send N real-time streams with tests/service/rtp_flood --mode streams (the
# project's test speech, libopus 32 kbit/s, 20 ms packets, one packet per
# stream every 20 ms), scrape /metrics once a second as Prometheus would, and
# measure the service's CPU time (utime + stime of every thread, from
# /proc/PID/stat) over the run. A step keeps up when the service used under
# 90% of one core and lost nothing: no datagram dropped by the kernel
# (sibilant_udp_receive_buffer_drops_total) and no packet lost in any stream.
# The sender runs on the other core. Prints one line per step and the last N
# that kept up; stops at the first that did not.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/build}"; seconds="${2:-10}"; shift $(( $# >= 2 ? 2 : $# )) || true
counts=("$@"); (( ${#counts[@]} )) || counts=(100 200 300 400 500 600 800)
sibilant="$build/tools/sibilant"; flood="$build/tests/sibilant_rtp_flood"
speech="$here/testdata/speech/demo.flac"
work="$(mktemp -d)"; trap 'kill $probe_pid 2>/dev/null || true; rm -rf "$work"' EXIT
probe_pid=""
tick=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

best=0
printf '%8s %10s %12s %12s %10s %s\n' streams cpu_core kernel_drops packets_lost datagrams verdict
for n in "${counts[@]}"; do
  "$sibilant" probe --listen 127.0.0.1:0 --http 127.0.0.1:0 --threads 1 --max-streams $((n + 10)) \
    --idle-s 60 2>"$work/err" &
  probe_pid=$!
  for _ in $(seq 50); do grep -q 'http on' "$work/err" && break; sleep 0.1; done
  udp=$(grep -o 'udp [0-9.:]*' "$work/err" | cut -d' ' -f2)
  http=$(grep -o 'http on [0-9.:]*' "$work/err" | cut -d' ' -f3)
  before=$(cpu_ticks "$probe_pid")
  "$flood" --to "$udp" --mode streams --audio "$speech" --streams "$n" --bitrate 32000 \
    --seconds "$seconds" --count 20000000 >"$work/flood.json" &
  flood_pid=$!
  while kill -0 "$flood_pid" 2>/dev/null; do curl -sf --max-time 2 "http://$http/metrics" >/dev/null || true; sleep 1; done
  wait "$flood_pid"
  sleep 0.3
  after=$(cpu_ticks "$probe_pid")
  curl -sf --max-time 10 "http://$http/metrics" >"$work/metrics"
  kill -INT "$probe_pid"; wait "$probe_pid" || true; probe_pid=""
  cpu=$(python3 -c "print(round(($after - $before) / $tick / $seconds, 3))")
  drops=$(awk '/^sibilant_udp_receive_buffer_drops_total /{print $2}' "$work/metrics")
  lost=$(awk '/^sibilant_stream_packets_lost_total/{s += $2} END {print s + 0}' "$work/metrics")
  got=$(awk '/^sibilant_datagrams_accepted_total /{print $2}' "$work/metrics")
  verdict=kept_up
  python3 -c "import sys; sys.exit(0 if $cpu < 0.9 and $drops == 0 and $lost == 0 else 1)" || verdict=fell_behind
  printf '%8d %10s %12s %12s %10s %s\n' "$n" "$cpu" "$drops" "$lost" "$got" "$verdict"
  [[ $verdict == kept_up ]] || break
  best=$n
done
echo "highest stream count kept up on one core: $best"

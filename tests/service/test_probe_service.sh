#!/usr/bin/env bash
# `sibilant probe` against real, independent parts, on loopback only:
#   - senders no one here wrote: gst-launch-1.0 (opusenc ! rtpopuspay ! udpsink)
#     and ffmpeg (-c:a libopus -f rtp), each once at 64 kbit/s fullband and
#     once forced to narrowband (opusenc bandwidth=narrowband, ffmpeg -cutoff
#     4000), over IPv4 and IPv6 listeners;
#   - curl -N as the Server-Sent Events client of /events;
#   - promtool's linter on /metrics, and a real Prometheus server scraping the
#     probe, asked through its own HTTP API;
#   - tcpdump capturing the same traffic, analysed afterwards by
#     `sibilant analyze CAPTURE.pcap` (when that command exists);
#   - rtp_flood's hostile traffic (bounded in count and time) while two more
#     real streams run: their verdicts stay, /metrics answers, memory is capped.
# Then SIGINT: exit 0 with every stream finished and the event log complete.
#
# Usage: test_probe_service.sh SIBILANT RTP_FLOOD TESTDATA WORKDIR
# Every process it starts is stopped on exit, whatever happens.
set -euo pipefail
sibilant="$1"; flood="$2"; testdata="$3"; work="$4"
speech="$testdata/speech/demo.flac"
rm -rf "$work"; mkdir -p "$work"; cd "$work"

for tool in gst-launch-1.0 ffmpeg curl prometheus promtool tcpdump python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/setup.sh" >&2; exit 1; }
done

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Polls `$@` every 0.2 s until it succeeds, for at most $1 seconds.
wait_for() {
  local seconds="$1"; shift
  local tries=$(( seconds * 5 ))
  for ((i = 0; i < tries; i++)); do "$@" && return 0; sleep 0.2; done
  return 1
}
metric() {  # metric NAME [LABEL-SUBSTRING]: the value of the first matching sample in metrics.txt
  grep -v '^#' metrics.txt | grep "^$1[{ ]" | grep -F -- "${2:-}" | head -1 | awk '{print $2}'
}
lisp_flags_of() {  # lisp_flags_of SSRC [FILE]: the stream's lisp-flagged events in FILE (metrics.txt)
  grep "^sibilant_stream_flagged_events_total{ssrc=\"$1\"" "${2:-metrics.txt}" | grep 'kind="lisp"' | awk '{print $2}'
}
scrape() { curl -sf --max-time 5 "http://$http/metrics" -o metrics.txt; }

# --- the probe -------------------------------------------------------------
"$sibilant" probe --listen 127.0.0.1:0 --listen '[::1]:0' --http 127.0.0.1:0 --events events.jsonl \
  --max-streams 12 --idle-s 120 2>probe.err &
probe_pid=$!; pids+=("$probe_pid")
wait_for 10 grep -q 'http on' probe.err || fail "the probe did not start: $(cat probe.err)"
udp4=$(grep -o 'udp 127.0.0.1:[0-9]*' probe.err | cut -d' ' -f2)
udp6=$(grep -o 'udp \[::1\]:[0-9]*' probe.err | cut -d' ' -f2)
http=$(grep -o 'http on [0-9.:]*' probe.err | cut -d' ' -f3)
port4=${udp4##*:}; port6=${udp6##*:}
ok "probe on udp $udp4 and $udp6, http $http"
curl -sf --max-time 5 "http://$http/healthz" >/dev/null || fail "/healthz"

# --- the SSE client, the capture and Prometheus ------------------------------
curl -sN --max-time 120 "http://$http/events" >sse.txt 2>/dev/null &
pids+=("$!")
# Capturing needs root or CAP_NET_RAW (CI has it); without, that part is
# skipped with a message, the rest still runs.
capturing=1
tcpdump -i lo -U -w capture.pcap "udp and (dst port $port4 or dst port $port6)" 2>tcpdump.err &
tcpdump_pid=$!; pids+=("$tcpdump_pid")
tcpdump_state() { grep -q 'listening on' tcpdump.err || ! kill -0 "$tcpdump_pid" 2>/dev/null; }
wait_for 10 tcpdump_state || fail "tcpdump did not start: $(cat tcpdump.err)"
if ! grep -q 'listening on' tcpdump.err; then
  grep -qi 'permission\|not permitted' tcpdump.err || fail "tcpdump: $(cat tcpdump.err)"
  echo "skip capture: tcpdump may not capture here (needs root or CAP_NET_RAW): $(head -1 tcpdump.err)"
  capturing=0
fi

prom_port=$(free_port)
cat >prometheus.yml <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: sibilant
    static_configs:
      - targets: ["$http"]
EOF
prometheus --config.file=prometheus.yml --storage.tsdb.path=prom-data \
  --web.listen-address="127.0.0.1:$prom_port" >prometheus.log 2>&1 &
pids+=("$!")

# --- phase 1: four real senders at once --------------------------------------
# SSRCs say who sent what: 0x11.. gst 64k, 0x22.. gst narrowband,
# 0x33.. ffmpeg 64k, 0x44.. ffmpeg narrowband.
gst_send() {  # gst_send HOST PORT SSRC OPUSENC-OPTIONS...
  local host="$1" port="$2" ssrc="$3"; shift 3
  timeout 60 gst-launch-1.0 -q filesrc location="$speech" ! decodebin ! audioconvert ! audioresample ! \
    opusenc "$@" ! rtpopuspay pt=111 ssrc="$ssrc" ! udpsink host="$host" port="$port"
}
ffmpeg_send() {  # ffmpeg_send SSRC FFMPEG-OPTIONS...
  local ssrc="$1"; shift
  timeout 60 ffmpeg -nostdin -hide_banner -loglevel error -re -i "$speech" -c:a libopus "$@" \
    -ssrc "$ssrc" -payload_type 111 -f rtp "rtp://127.0.0.1:$port4" >/dev/null
}
gst_send ::1 "$port6" $((0x11111111)) bitrate=64000 &
s1=$!
gst_send 127.0.0.1 "$port4" $((0x22222222)) bitrate=64000 bandwidth=narrowband &
s2=$!
ffmpeg_send $((0x33333333)) -b:a 64k &
s3=$!
ffmpeg_send $((0x44444444)) -b:a 64k -cutoff 4000 &
s4=$!
wait "$s1" "$s2" "$s3" "$s4" || fail "a sender failed"
sleep 0.5
scrape || fail "/metrics"
for s in 0x11111111 0x22222222 0x33333333 0x44444444; do
  [[ $(metric sibilant_stream_packets_received_total "ssrc=\"$s\"") -gt 100 ]] || fail "stream $s not received"
  [[ $(metric sibilant_stream_sibilants_total "ssrc=\"$s\"") -gt 0 ]] || fail "stream $s: no sibilants"
done
for s in 0x11111111 0x33333333; do
  lisp_flags=$(lisp_flags_of "$s")
  [[ "$lisp_flags" == 0 ]] || fail "64 kbit/s stream $s flagged $lisp_flags lisps"
done
for s in 0x22222222 0x44444444; do
  lisp_flags=$(lisp_flags_of "$s")
  [[ "$lisp_flags" -gt 0 ]] || fail "narrowband stream $s not flagged"
  bw=$(metric sibilant_stream_coded_bandwidth_hertz "ssrc=\"$s\"")
  [[ "$bw" == 4000 ]] || fail "narrowband stream $s: coded bandwidth $bw"
done
python3 - <<'EOF' || fail "lisp index: narrowband not above 64 kbit/s"
import re
v = {m[0]: float(m[1]) for m in re.findall(r'^sibilant_stream_lisp_index\{ssrc="(0x\w+)".*\} (\S+)$', open("metrics.txt").read(), re.M)}
print("lisp index per stream:", v)
assert min(v["0x22222222"], v["0x44444444"]) > max(v["0x11111111"], v["0x33333333"]) + 20, v
EOF
ok "phase 1: narrowband flagged (gst and ffmpeg), 64 kbit/s not"
cp metrics.txt metrics-phase1.txt

promtool check metrics <metrics.txt >promtool.txt 2>&1 || fail "promtool check metrics: $(cat promtool.txt)"
ok "promtool check metrics: clean"

curl -sf --max-time 5 "http://$http/streams" -o streams.json || fail "/streams"
python3 - <<'EOF' || fail "/streams content"
import json
doc = json.load(open("streams.json"))
streams = {s["ssrc"]: s for s in doc["streams"]}
for s in ("0x11111111", "0x22222222", "0x33333333", "0x44444444"):
    assert s in streams, (s, list(streams))
    assert streams[s]["packets"]["received"] > 100, streams[s]
assert streams["0x22222222"]["summary"]["lisp_index"] > streams["0x11111111"]["summary"]["lisp_index"]
assert streams["0x11111111"]["remote"].startswith("[::1]:"), streams["0x11111111"]["remote"]
EOF
ok "/streams lists the four streams with summaries and packet stats"

# Prometheus's own API returns the probe's series.
prom_query() {
  curl -sf --max-time 5 "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" -o prom.json &&
    python3 -c 'import json,sys; r=json.load(open("prom.json"))["data"]["result"]; sys.exit(0 if len(r) >= int(sys.argv[1]) else 1)' "$2"
}
wait_for 30 prom_query 'sibilant_stream_lisp_index{ssrc="0x22222222"} > 50' 1 ||
  fail "Prometheus has no narrowband lisp index above 50: $(cat prom.json 2>/dev/null; tail -5 prometheus.log)"
prom_query 'sibilant_stream_lisp_index{ssrc="0x11111111"} < 20' 1 || fail "Prometheus: the 64 kbit/s stream"
prom_query 'sibilant_stream_sibilants_total' 4 || fail "Prometheus: sibilants_total of four streams"
ok "Prometheus scraped the probe: $(python3 -c 'import json; print(json.load(open("prom.json"))["data"]["result"][0]["metric"])')"

# The capture holds phase 1 only: the four real streams.
sleep 0.3; kill -INT "$tcpdump_pid" 2>/dev/null || true; wait "$tcpdump_pid" 2>/dev/null || true

# --- phase 2: a flood while two more real streams run -------------------------
gst_send 127.0.0.1 "$port4" $((0x55555555)) bitrate=64000 &
s5=$!
gst_send 127.0.0.1 "$port4" $((0x66666666)) bitrate=64000 bandwidth=narrowband &
s6=$!
# The real streams must exist before the flood takes the free slots.
streams_up() { curl -sf --max-time 2 "http://$http/streams" | grep -q 0x55555555 &&
               curl -sf --max-time 2 "http://$http/streams" | grep -q 0x66666666; }
wait_for 10 streams_up || fail "phase 2 streams did not start"
"$flood" --to "$udp4" --mode mixed --count 300000 --seconds 8 --rate 60000 --fake-ssrcs 10000 >flood.json &
flood_pid=$!
scrapes=0; answered=0; max_rss=0
while kill -0 "$flood_pid" 2>/dev/null && (( scrapes < 200 )); do
  scrapes=$((scrapes + 1))
  if curl -sf --max-time 2 "http://$http/metrics" -o during.txt; then
    answered=$((answered + 1))
    rss=$(grep '^process_resident_memory_bytes ' during.txt | awk '{printf "%d", $2}')
    (( rss > max_rss )) && max_rss=$rss
  fi
  sleep 0.25
done
wait "$flood_pid" || fail "rtp_flood failed"
wait "$s5" "$s6" || fail "a phase 2 sender failed"
sleep 0.5
scrape || fail "/metrics after the flood"
echo "flood: $(cat flood.json); /metrics answered $answered of $scrapes scrapes during it; max RSS $((max_rss / 1048576)) MiB"
(( scrapes >= 4 && answered == scrapes )) || fail "/metrics did not answer every scrape during the flood"
# The cap: memory before the flood, plus a probe (under 1 MiB, README "Live
# probe") for every stream slot the flood could fill, plus 16 MiB for buffers.
rss_before=$(grep '^process_resident_memory_bytes ' metrics-phase1.txt | awk '{printf "%d", $2}')
rss_cap=$(( rss_before + 12 * 1048576 + 16 * 1048576 ))
echo "RSS before the flood $((rss_before / 1048576)) MiB, cap $((rss_cap / 1048576)) MiB"
(( max_rss < rss_cap )) || fail "RSS $max_rss over the cap $rss_cap"
# Every datagram is accounted for: read by the service or dropped by the kernel.
flood_sent=$(python3 -c 'import json; print(json.load(open("flood.json"))["sent"])')
seen=$(( $(metric sibilant_datagrams_received_total) + $(metric sibilant_udp_receive_buffer_drops_total) ))
(( seen >= flood_sent )) || fail "$seen datagrams read or dropped, $flood_sent flooded"
echo "datagrams read $(metric sibilant_datagrams_received_total), dropped by the kernel $(metric sibilant_udp_receive_buffer_drops_total)," \
     "phase 2 packets lost: 64k $(metric sibilant_stream_packets_lost_total 'ssrc="0x55555555"')," \
     "narrowband $(metric sibilant_stream_packets_lost_total 'ssrc="0x66666666"')"
[[ $(metric sibilant_streams_active) -le 12 ]] || fail "more streams than --max-streams"
[[ $(metric sibilant_streams_refused_total) -gt 1000 ]] || fail "fake SSRCs not refused"
for reason in truncated wrong_version rtcp payload_type not_opus oversize stream_cap; do
  [[ $(metric sibilant_datagrams_dropped_total "reason=\"$reason\"") -gt 0 ]] || fail "no drops counted as $reason"
done
series=$(grep -c '^sibilant_stream_sibilants_total{' metrics.txt)
(( series <= 12 )) || fail "$series stream series: cardinality not bounded by --max-streams"
[[ $(lisp_flags_of 0x55555555) == 0 ]] || fail "64 kbit/s stream flagged lisps under the flood"
[[ $(lisp_flags_of 0x66666666) -gt 0 ]] || fail "narrowband stream not flagged under the flood"
echo "under the flood: 64k lisp flags $(lisp_flags_of 0x55555555), narrowband $(lisp_flags_of 0x66666666)" \
     "(before: $(lisp_flags_of 0x11111111 metrics-phase1.txt), $(lisp_flags_of 0x22222222 metrics-phase1.txt))"
ok "phase 2: verdicts kept under the flood, refused and dropped traffic counted, /metrics answered"

# --- SSE, the capture of phase 1 ----------------------------------------------------------
sleep 1.5  # the output thread flushes to clients every few hundred ms
python3 - <<'EOF' || fail "/events over SSE"
import json
events = [json.loads(l[5:]) for l in open("sse.txt") if l.startswith("data:")]
ssrcs = {e["ssrc"] for e in events}
print(f"/events: {len(events)} events over SSE from {len(ssrcs)} streams")
assert {"0x11111111", "0x22222222", "0x55555555", "0x66666666"} <= ssrcs, ssrcs
for e in events:
    for key in ("start_s", "end_s", "class", "lisp", "smearing", "flagged", "why", "ssrc", "remote"):
        assert key in e, (key, e)
EOF
ok "curl -N received the events as SSE"

if (( capturing )); then
"$sibilant" analyze capture.pcap --jsonl capture.jsonl 2>capture.err || fail "analyze capture.pcap: $(cat capture.err)"
cat capture.err
fi

# --- SIGINT: finish, flush, exit 0 ---------------------------------------------
kill -INT "$probe_pid"
rc=0; timeout 30 tail --pid="$probe_pid" -f /dev/null || fail "the probe did not stop within 30 s of SIGINT"
wait "$probe_pid" || rc=$?
[[ $rc == 0 ]] || fail "exit code $rc after SIGINT: $(tail -3 probe.err)"
grep -q 'sibilant probe: stopped' probe.err || fail "no clean stop"
python3 - <<'EOF' || fail "events file"
import json, re, collections
lines = open("events.jsonl").read().splitlines()
events = [json.loads(l) for l in lines]  # every line complete
count = collections.Counter(e["ssrc"] for e in events)
final = {m[0]: int(m[1]) for m in re.findall(r'^sibilant_stream_sibilants_total\{ssrc="(0x\w+)".*\} (\S+)$', open("metrics.txt").read(), re.M)}
print("events file:", dict(count))
for s, n in final.items():
    assert count[s] >= n, (s, count[s], n)
EOF
ok "SIGINT: exit 0, events file complete ($(wc -l <events.jsonl) lines)"

if (( capturing )); then
# The capture of phase 1, analysed afterwards, gives every stream the events
# the live probe logged for it, field for field.
python3 - <<'EOF' || fail "capture analysis disagrees with the live probe"
import json, re, collections
results = [json.loads(l) for l in open("capture.jsonl")]
by_ssrc = {re.search(r"#ssrc=(0x[0-9a-f]+)$", r["degraded"]).group(1): r for r in results}
assert set(by_ssrc) == {"0x11111111", "0x22222222", "0x33333333", "0x44444444"}, sorted(by_ssrc)
live = collections.defaultdict(list)
for line in open("events.jsonl"):
    e = json.loads(line)
    live[e["ssrc"]].append(e)
keys = ("start_s", "end_s", "class", "lisp", "smearing", "dropout", "flagged", "why")
for s, r in sorted(by_ssrc.items()):
    got = [tuple(e[k] for k in keys) for e in r["events"]]
    want = [tuple(e[k] for k in keys) for e in live[s]]
    print(s, "capture:", len(got), "events, lisp_index", r["summary"]["lisp_index"], "| live:", len(want), "events")
    assert got == want, (s, got[:2], want[:2])
    m = re.search(r'^sibilant_stream_packets_received_total\{ssrc="%s"[^}]*\} (\d+)$' % s, open("metrics-phase1.txt").read(), re.M)
    assert r["rtp"]["packets"]["received"] == int(m.group(1)), (r["rtp"]["packets"], m.group(1))
EOF
ok "sibilant analyze capture.pcap (tcpdump) gives the live probe's events, stream for stream"
fi
echo "PASS"

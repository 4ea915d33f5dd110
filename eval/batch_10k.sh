#!/usr/bin/env bash
# A batch over 10 000 files (issue #12): does `sibilant analyze --ref-dir A
# --deg-dir B --jsonl OUT` keep its open files and its memory flat over a long
# batch? Makes N pairs of 1 s files (default 10 000: 1 s pieces of the test
# sentences, each cut with ffmpeg and sent through `sibilant simulate` at
# 16 kbps once, then hard-linked under N names), runs one batch over them and
# samples the process every second: open descriptors (ls /proc/PID/fd) and
# resident memory (VmRSS in /proc/PID/status), with the pairs done (lines of
# the JSON Lines file being written). Prints the figures at 0, 25, 50, 75 and
# 100% of the pairs, the run time, and checks:
#   - descriptors: at most --fd-slack (default 8) above the first sample, ever;
#   - memory: VmRSS at the end at most --rss-growth-mib (default 16) above
#     VmRSS at 25% of the pairs (the first quarter warms up FFTW plans, the
#     allocator's arenas, the page cache of the libraries);
#   - the output: N lines, none of them an error record.
# Exit status 0 when all hold, 1 when one does not, 2 on a set-up problem.
# The generated files live in a temporary folder removed at exit (--keep DIR
# keeps them there instead).
#
# Usage: eval/batch_10k.sh [--build DIR] [-n N] [-j J] [--fd-slack K] [--rss-growth-mib M] [--keep DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$here/build"
n=10000
jobs=2
fd_slack=8
rss_growth_mib=16
keep=""
while (($#)); do
  case "$1" in
    --build) build_dir="$2"; shift 2 ;;
    -n) n="$2"; shift 2 ;;
    -j) jobs="$2"; shift 2 ;;
    --fd-slack) fd_slack="$2"; shift 2 ;;
    --rss-growth-mib) rss_growth_mib="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "batch_10k: unknown argument $1" >&2; exit 2 ;;
  esac
done
sibilant="$build_dir/tools/sibilant"
[[ -x "$sibilant" ]] || { echo "batch_10k: $sibilant not built (--build DIR)" >&2; exit 2; }
command -v ffmpeg >/dev/null || { echo "batch_10k: ffmpeg is needed to cut the pieces" >&2; exit 2; }
[[ $n =~ ^[0-9]+$ && $n -ge 4 ]] || { echo "batch_10k: -n must be a number >= 4" >&2; exit 2; }

work="${keep:-$(mktemp -d)}"
mkdir -p "$work"
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null
  [[ -n "$keep" ]] || rm -rf "$work"
}
trap cleanup EXIT

# --- the pieces: 1 s every 0.5 s of each test sentence, and their 16 kbps copies ---
mkdir -p "$work/pieces" "$work/ref" "$work/deg"
pieces=()
for f in "$here"/testdata/speech/*.flac; do
  name=$(basename "$f" .flac)
  duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$f")
  for ((k = 0; k * 5 + 10 <= ${duration%.*} * 10; k++)); do
    piece="$work/pieces/${name}_$k"
    ffmpeg -nostdin -loglevel error -y -ss "$((k / 2)).$((k % 2 * 5))" -t 1 -i "$f" -ar 48000 -ac 1 "$piece.ref.wav"
    "$sibilant" simulate -q --bitrate 16000 "$piece.ref.wav" "$piece.deg.wav"
    pieces+=("$piece")
  done
done
echo "batch_10k: ${#pieces[@]} distinct 1 s pieces; $n pairs hard-linked from them"
python=$(command -v /usr/bin/python3 || command -v python3)
"$python" - "$work" "$n" "${pieces[@]}" <<'PY'
import os, sys
work, n, pieces = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
for i in range(n):
    p = pieces[i % len(pieces)]
    os.link(p + ".ref.wav", os.path.join(work, "ref", "p%05d.wav" % i))
    os.link(p + ".deg.wav", os.path.join(work, "deg", "p%05d.wav" % i))
PY

# --- the batch, sampled every second ----------------------------------------------
samples="$work/samples.tsv"
: >"$samples"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
start=$(now_ms)
"$sibilant" analyze --ref-dir "$work/ref" --deg-dir "$work/deg" --jsonl "$work/out.jsonl" -j "$jobs" -q \
  2>"$work/batch.err" &
pid=$!
sample() {  # t done fds rss_kib
  local fds rss done_lines tmp
  fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l) || return 1
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 1
  [[ -n "$rss" ]] || return 1
  # The lines written so far: in the temporary file until the batch commits it.
  tmp=$(compgen -G "$work/.out.jsonl.*.tmp" | head -n 1 || true)
  [[ -n "$tmp" ]] || tmp="$work/out.jsonl"
  done_lines=$(wc -l <"$tmp" 2>/dev/null || echo 0)
  printf '%d.%03d\t%d\t%d\t%d\n' $(( ($(now_ms) - start) / 1000 )) $(( ($(now_ms) - start) % 1000 )) \
    "$done_lines" "$fds" "$rss" >>"$samples"
}
sleep 0.2
while kill -0 "$pid" 2>/dev/null; do
  sample || break
  sleep 1
done
rc=0
wait "$pid" || rc=$?
pid=""
elapsed=$(( $(now_ms) - start ))
seconds=$(printf '%d.%03d' $((elapsed / 1000)) $((elapsed % 1000)))
lines=$(wc -l <"$work/out.jsonl" 2>/dev/null || echo 0)
errors=$(grep -c '"error":' "$work/out.jsonl" 2>/dev/null || true)

python=$(command -v /usr/bin/python3 || command -v python3)
"$python" - "$samples" "$n" "$lines" "${errors:-0}" "$rc" "$seconds" "$fd_slack" "$rss_growth_mib" "$jobs" <<'EOF'
import sys
path, n, lines, errors, rc, seconds, fd_slack, growth_mib, jobs = sys.argv[1:]
n, lines, errors, rc, fd_slack, jobs = int(n), int(lines), int(errors), int(rc), int(fd_slack), int(jobs)
seconds, growth_mib = float(seconds), float(growth_mib)
rows = [tuple(float(x) for x in line.split("\t")) for line in open(path) if line.strip()]
if not rows:
    sys.exit("batch_10k: no samples (the batch ended within 0.2 s?)")
print(f"batch_10k: {n} pairs of 1 s, -j {jobs}: {seconds:.1f} s ({n / seconds:.0f} pairs/s), exit {rc}, "
      f"{lines} lines, {errors} error records")
print(f"{'done':>6} {'pairs':>6} {'time_s':>7} {'fds':>4} {'VmRSS_MiB':>9}")
def at(share):  # the first sample with at least share * n pairs done, else the last
    for r in rows:
        if r[1] >= share * n:
            return r
    return rows[-1]
for share in (0, 0.25, 0.5, 0.75, 1.0):
    t, done, fds, rss = at(share) if share > 0 else rows[0]
    print(f"{int(share * 100):>5}% {int(done):>6} {t:>7.1f} {int(fds):>4} {rss / 1024:>9.1f}")
fds0, fds_max = rows[0][2], max(r[2] for r in rows)
rss_q1, rss_end, rss_max = at(0.25)[3], rows[-1][3], max(r[3] for r in rows)
print(f"fds: first {int(fds0)}, most {int(fds_max)} (bound: first + {fd_slack}); "
      f"VmRSS: at 25% {rss_q1 / 1024:.1f} MiB, at the end {rss_end / 1024:.1f} MiB, most {rss_max / 1024:.1f} MiB "
      f"(bound: end <= 25% + {growth_mib:g} MiB); {len(rows)} samples")
bad = []
if fds_max > fds0 + fd_slack:
    bad.append(f"open descriptors grew from {int(fds0)} to {int(fds_max)}")
if rss_end > rss_q1 + growth_mib * 1024:
    bad.append(f"VmRSS grew by {(rss_end - rss_q1) / 1024:.1f} MiB between 25% and the end")
if rc != 0 or lines != n or errors:
    bad.append(f"the batch: exit {rc}, {lines} of {n} lines, {errors} error records")
for b in bad:
    print("batch_10k: FAIL:", b)
sys.exit(1 if bad else 0)
EOF

#!/usr/bin/env bash
# Cross-checks sibilant's spectral moments against Praat on real sibilants.
#
# For every sibilant the detector finds in the corpus, sibilant_eval_praat_segments
# cuts a centred 40 ms segment, writes it as a 48 kHz float WAV and records our
# moments of it (lib/src/dsp/spectral_moments.hpp) over 1-20 kHz. Praat then
# reads each WAV and does what a phonetician's script does:
#     To Spectrum: "yes"
#     Formula: "if x < 1000 or x > 20000 then 0 else self fi"   (the range)
#     Get centre of gravity: 2   (and standard deviation, skewness, kurtosis)
# The table gives, per file, the number of segments and the max and median
# relative difference of the centre of gravity, then the share of all segments
# within 2%. Exit status 1 if any centre of gravity differs by more than 2% (or
# Praat left one undefined), 2 for a set-up problem.
#
# Usage: eval/praat_cog_check.sh [options] [CORPUS_DIR]
#   CORPUS_DIR        folder of .wav/.flac speech files (default: ../shared/corpus
#                     beside the checkout)
#   --build DIR       CMake build folder (default: build-eval in the checkout);
#                     configured here only if it has no CMakeCache.txt yet
#   --work DIR        where segments and tables go (default: DIR/praat_cog_check
#                     in the build folder); emptied first
#   --low-hz F        range of the moments (default 1000)
#   --high-hz F       (default 20000; 0 = Nyquist, no upper limit)
#   --segment-ms MS   length of the centred cut (default 40)
# Needs bash, awk, sort, cmake and a C++ toolchain; installs praat with apt-get
# when run as root, otherwise prints the apt-get line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="$here/../shared/corpus"
build_dir="$here/build-eval"
work_dir=""
low_hz=1000
high_hz=20000
segment_ms=40
tolerance_percent=2   # the requirement (issue #3); not an option on purpose

while (($#)); do
  case "$1" in
    --build) build_dir="$2"; shift 2 ;;
    --work) work_dir="$2"; shift 2 ;;
    --low-hz) low_hz="$2"; shift 2 ;;
    --high-hz) high_hz="$2"; shift 2 ;;
    --segment-ms) segment_ms="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "praat_cog_check: unknown option $1" >&2; exit 2 ;;
    *) corpus="$1"; shift ;;
  esac
done
work_dir="${work_dir:-$build_dir/praat_cog_check}"

die() { echo "praat_cog_check: $*" >&2; exit 2; }

# --- Praat -------------------------------------------------------------------
if ! command -v praat >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "praat_cog_check: installing praat"
    DEBIAN_FRONTEND=noninteractive apt-get install -y praat >/dev/null ||
      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y praat >/dev/null; } ||
      die "apt-get install praat failed"
  else
    die "praat is not installed; install it with: sudo apt-get install praat"
  fi
fi
# Praat's --run is headless (no display needed) in the Debian 12 build; fall
# back to a virtual display for builds that still open one.
praat_cmd=(praat --run)
probe="$(mktemp --suffix=.praat)"
trap 'rm -f "$probe"' EXIT
echo 'writeInfoLine: "ok"' >"$probe"
if [[ "$(praat --run "$probe" 2>/dev/null)" != ok ]]; then
  if command -v xvfb-run >/dev/null 2>&1 && [[ "$(xvfb-run -a praat --run "$probe" 2>/dev/null)" == ok ]]; then
    praat_cmd=(xvfb-run -a praat --run)
  else
    die "'praat --run' does not work here; install xvfb (apt-get install xvfb) and retry"
  fi
fi

# --- build and cut the segments ------------------------------------------------
[[ -d "$corpus" ]] || die "corpus folder $corpus not found"
shopt -s nullglob nocaseglob
inputs=("$corpus"/*.wav "$corpus"/*.flac)
shopt -u nocaseglob
((${#inputs[@]})) || die "no .wav or .flac files in $corpus"

if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S "$here" -B "$build_dir" -DSIBILANT_BUILD_TESTS=OFF -DSIBILANT_BUILD_BENCH=OFF \
    -DSIBILANT_INSTALL=OFF >/dev/null || die "cmake configure failed"
fi
cmake --build "$build_dir" --target sibilant_eval_praat_segments -j "$(nproc)" >/dev/null ||
  die "build of sibilant_eval_praat_segments failed"

rm -rf "$work_dir"
mkdir -p "$work_dir"
work_dir="$(cd "$work_dir" && pwd)"
"$build_dir/eval/sibilant_eval_praat_segments" --segment-ms "$segment_ms" --low-hz "$low_hz" \
  --high-hz "$high_hz" "$work_dir" "${inputs[@]}" 2>"$work_dir/segments.log" ||
  { cat "$work_dir/segments.log" >&2; die "cutting segments failed"; }

# --- Praat's moments of the same WAVs -----------------------------------------
# Column 8 of ours.tsv is the WAV name.
awk -F'\t' 'NR > 1 { print $8 }' "$work_dir/ours.tsv" >"$work_dir/wavs.txt"
if [[ "$high_hz" == 0 ]]; then
  range_formula='if x < low_hz then 0 else self fi'
else
  range_formula='if x < low_hz or x > high_hz then 0 else self fi'
fi
cat >"$work_dir/moments.praat" <<EOF
# Spectral moments of each listed WAV, the usual Praat way: the whole segment,
# no window, fast (power-of-two) FFT, bins outside the range set to zero.
form Moments
  sentence Folder
  sentence List
  sentence Output
  real Low_hz 1000
  real High_hz 20000
endform
list = Read Strings from raw text file: list\$
n = Get number of strings
writeFileLine: output\$, "wav", tab\$, "cog_hz", tab\$, "sd_hz", tab\$, "skewness", tab\$, "kurtosis"
for i to n
  selectObject: list
  wav\$ = Get string: i
  sound = Read from file: folder\$ + "/" + wav\$
  spectrum = To Spectrum: "yes"
  Formula: "$range_formula"
  cog = Get centre of gravity: 2
  sd = Get standard deviation: 2
  skew = Get skewness: 2
  kurt = Get kurtosis: 2
  appendFileLine: output\$, wav\$, tab\$, fixed\$(cog, 6), tab\$, fixed\$(sd, 6), tab\$, fixed\$(skew, 6), tab\$, fixed\$(kurt, 6)
  removeObject: sound, spectrum
endfor
EOF
"${praat_cmd[@]}" "$work_dir/moments.praat" "$work_dir" "$work_dir/wavs.txt" "$work_dir/praat.tsv" \
  "$low_hz" "$high_hz" >"$work_dir/praat.log" 2>&1 ||
  { cat "$work_dir/praat.log" >&2; die "praat failed"; }

# --- compare --------------------------------------------------------------------
# One line per segment: source, wav, |dCOG|/COG %, |dSD|/SD %, |dskew|, |dkurt|.
# A value Praat left undefined counts as an infinite difference.
awk -F'\t' -v OFS='\t' '
  FNR == 1 { next }
  FILENAME == ARGV[1] { p_cog[$1] = $2; p_sd[$1] = $3; p_skew[$1] = $4; p_kurt[$1] = $5; next }
  function rel(a, b) { return (b + 0 == 0 || b ~ /undefined/) ? 1e300 : 100 * (a > b ? a - b : b - a) / (b < 0 ? -b : b) }
  function absd(a, b) { return b ~ /undefined/ ? 1e300 : (a > b ? a - b : b - a) }
  {
    if (!($8 in p_cog)) { print $1, $8, 1e300, 1e300, 1e300, 1e300; next }
    print $1, $8, rel($9, p_cog[$8]), rel($10, p_sd[$8]), absd($11, p_skew[$8]), absd($12, p_kurt[$8])
  }' "$work_dir/praat.tsv" "$work_dir/ours.tsv" | LC_ALL=C sort -t $'\t' -k1,1 -k3,3g >"$work_dir/diff.tsv"

range_text="$low_hz-$high_hz Hz"
[[ "$high_hz" == 0 ]] && range_text="$low_hz Hz - Nyquist"
echo "Centre of gravity, sibilant vs Praat $(praat --version 2>/dev/null | awk '{print $2}'):" \
  "centred ${segment_ms} ms of each detected sibilant, power spectrum, $range_text"
for f in "${inputs[@]}"; do basename "$f"; done >"$work_dir/files.txt"
awk -F'\t' -v OFS='\t' -v tol="$tolerance_percent" '
  FILENAME == ARGV[1] { order[++files] = $1; next }
  {
    n[$1]++; v[$1, n[$1]] = $3
    if ($3 > max[$1]) max[$1] = $3
    if ($4 > max_sd) max_sd = $4
    if ($5 > max_skew) max_skew = $5
    if ($6 > max_kurt) max_kurt = $6
    total++; if ($3 <= tol) within++
    if ($3 > worst) worst = $3
  }
  function pct(x) { return x >= 1e300 ? "undefined" : sprintf("%.2g%%", x) }
  END {
    printf "%-40s %8s %14s %14s\n", "file", "segments", "max |dCOG|", "median |dCOG|"
    for (i = 1; i <= files; i++) {
      s = order[i]; k = n[s] + 0
      if (k == 0) { printf "%-40s %8d %14s %14s\n", s, 0, "-", "-"; continue }
      med = (k % 2) ? v[s, (k + 1) / 2] : (v[s, k / 2] + v[s, k / 2 + 1]) / 2
      printf "%-40s %8d %14s %14s\n", s, k, pct(max[s]), pct(med)
    }
    printf "all: %d segments, %d within %g%% (%.1f%%), largest |dCOG| %s\n", total, within, tol,
           total ? 100 * within / total : 0, pct(worst)
    printf "other moments, largest difference: SD %s, skewness %.2g, kurtosis %.2g\n",
           pct(max_sd), max_skew, max_kurt
    exit (total > 0 && within == total) ? 0 : 1
  }' "$work_dir/files.txt" "$work_dir/diff.tsv"

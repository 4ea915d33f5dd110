#!/usr/bin/env bash
# What the analyzer shows on real speech (issue #3): runs sibilant_eval_corpus
# (eval/corpus_eval.cpp) on every .wav/.flac of a corpus and prints, per file
# and condition, lisp_index, smearing_index, flagged/total, the degraded
# bandwidth and the verdict, then the corpus-level checks, each PASS or FAIL.
#
# Conditions (all in-process, 48 kHz mono): identity; the file delayed by
# 37 ms and 6 dB quieter; libopus voip, complexity 10, 6/10/12/16/24/32/64 kbps
# VBR, 20 ms, no loss; zero-phase brick-wall low-pass at 4 and 8 kHz.
# Checks: no flags under identity/delay; <= 5% of events flagged at 64 kbps;
# lisp_index 6 > 12 > 24 >= 64 kbps per file; smearing_index at 16 and 24 kbps
# above 64 kbps per file; 4 kHz low-pass flags >= 90% of /s/ events as lisp;
# 8 kHz low-pass lisp_index >= 64 kbps + 10 per file.
#
# Usage: eval/corpus_eval.sh [options] [CORPUS_DIR]
#   CORPUS_DIR      folder of speech files (default: ../shared/corpus beside
#                   the checkout)
#   --build DIR     CMake build folder (default: build-eval in the checkout);
#                   configured here only if it has no CMakeCache.txt yet
#   -j N            files analysed in parallel (default: all cores); the
#                   results do not depend on it
#   --events FILE   also write every event of every condition as TSV
# Exit status: 0 all checks pass, 1 some check failed, 2 set-up problem.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="$here/../shared/corpus"
build_dir="$here/build-eval"
jobs="$(nproc)"
events=()

while (($#)); do
  case "$1" in
    --build) build_dir="$2"; shift 2 ;;
    -j) jobs="$2"; shift 2 ;;
    -j*) jobs="${1#-j}"; shift ;;
    --events) events=(--events "$2"); shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "corpus_eval: unknown option $1" >&2; exit 2 ;;
    *) corpus="$1"; shift ;;
  esac
done

[[ -d "$corpus" ]] || { echo "corpus_eval: no corpus at $corpus" >&2; exit 2; }

if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DSIBILANT_INSTALL=OFF \
    -DSIBILANT_BUILD_BENCH=OFF >/dev/null || { echo "corpus_eval: cmake configure failed" >&2; exit 2; }
fi
cmake --build "$build_dir" --target sibilant_eval_corpus -j "$(nproc)" >/dev/null ||
  { echo "corpus_eval: build failed" >&2; exit 2; }

"$build_dir/eval/sibilant_eval_corpus" -j "$jobs" "${events[@]}" "$corpus"

#!/usr/bin/env bash
# No-reference (blind) analysis on real speech (issue #4): runs
# sibilant_eval_blind (eval/blind_norms.cpp).
#
#   eval/blind_eval.sh [options] [CORPUS_DIR]          the corpus evaluation
#   eval/blind_eval.sh --norms [options] [CORPUS_DIR]  print the clean-speech
#       norms as C++ (what lib/src/dsp/blind_judge.cpp ships between its
#       GENERATED NORMS marks) and their comparison with Jongman et al. 2000
#
# The evaluation analyses each file under identity, Opus voip c10 at
# 6/10/12/16/24/32/64 kbps and 4/8 kHz low-pass with
# sibilant::analyze_no_reference() (no reference), judges the events with the
# shipped norms and with leave-one-file-out norms (from the other files'
# originals), prints lisp_index / smearing_index / verdict / own bandwidth per
# file x condition and the acceptance checks, PASS/FAIL:
#   identity and 64 kbps judged "clean", 6 kbps (NB) "lisp" for every file,
#   10 and 12 kbps (WB) a higher lisp_index than 64 kbps for every file.
#
# Options:
#   CORPUS_DIR      clean fullband speech (default: ../shared/corpus beside
#                   the checkout)
#   --build DIR     CMake build folder (default: build-blind in the checkout);
#                   configured here only if it has no CMakeCache.txt yet
#   -j N            files processed in parallel (default 2); results do not
#                   depend on it
# Exit status: 0 all acceptance checks pass, 1 some failed, 2 set-up problem.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="$here/../shared/corpus"
build_dir="$here/build-blind"
jobs=2
mode=eval

while (($#)); do
  case "$1" in
    --norms) mode=norms; shift ;;
    --build) build_dir="$2"; shift 2 ;;
    -j) jobs="$2"; shift 2 ;;
    -j*) jobs="${1#-j}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "blind_eval: unknown option $1" >&2; exit 2 ;;
    *) corpus="$1"; shift ;;
  esac
done

[[ -d "$corpus" ]] || { echo "blind_eval: no corpus at $corpus" >&2; exit 2; }

if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DSIBILANT_BUILD_BENCH=OFF >/dev/null ||
    { echo "blind_eval: cmake configure failed" >&2; exit 2; }
fi
cmake --build "$build_dir" --target sibilant_eval_blind -j 2 >/dev/null ||
  { echo "blind_eval: build failed" >&2; exit 2; }

"$build_dir/eval/sibilant_eval_blind" "$mode" -j "$jobs" "$corpus"

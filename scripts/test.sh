#!/usr/bin/env bash
# Set up, build and run the whole test suite: the Release build, then the same
# suite built with AddressSanitizer and UndefinedBehaviorSanitizer, then the
# tests of the multi-threaded parts built with ThreadSanitizer. Then the
# libFuzzer targets, each for a fixed number of runs (scripts/fuzz.sh,
# clang). Set SIBILANT_SKIP_SANITIZERS=1 to run only the Release build
# (and the fuzzers), SIBILANT_SKIP_FUZZ=1 to skip the fuzzers.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="${SIBILANT_JOBS:-$(nproc)}"

# The GStreamer element and the Python module are required here (not AUTO),
# so CI cannot skip them silently.
"$here/scripts/setup.sh" "$here/build" -DSIBILANT_WARNINGS_AS_ERRORS=ON -DSIBILANT_GSTREAMER=ON -DSIBILANT_PYTHON=ON
echo "== tests (Release) =="
ctest --test-dir "$here/build" --output-on-failure -j "$jobs"

if [[ "${SIBILANT_SKIP_SANITIZERS:-0}" != 1 ]]; then
  "$here/scripts/setup.sh" "$here/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIBILANT_SANITIZE=ON \
    -DSIBILANT_BUILD_BENCH=OFF -DSIBILANT_INSTALL=OFF
  echo "== tests (AddressSanitizer + UndefinedBehaviorSanitizer) =="
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$here/build-asan" --output-on-failure -j "$jobs"
fi

if [[ "${SIBILANT_SKIP_SANITIZERS:-0}" != 1 ]]; then
  # Only what runs threads: batch -j (analyze_files over a pool), sweep -j,
  # the probe service's reader, workers, output thread and HTTP handlers, and
  # the FFT plans and Praat spectra shared between threads. GStreamer and
  # the install test are off (their libraries are not built with TSan).
  cmake -S "$here" -B "$here/build-tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIBILANT_TSAN=ON \
    -DSIBILANT_BUILD_BENCH=OFF -DSIBILANT_INSTALL=OFF -DSIBILANT_GSTREAMER=OFF >/dev/null
  cmake --build "$here/build-tsan" -j "$jobs" --target sibilant_tests sibilant_cli
  echo "== tests of the threaded parts (ThreadSanitizer) =="
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ctest --test-dir "$here/build-tsan" --output-on-failure -j "$jobs" \
      -R '^(Batch|SweepRun|ProbeService|OneAndTwoWorkers/ProbeServiceThreads|Stft|SpectralMoments)\.|^cli_(sweep|analyze|determinism)$'
fi

if [[ "${SIBILANT_SKIP_FUZZ:-0}" != 1 ]]; then
  echo "== fuzz (libFuzzer, fixed runs and seed) =="
  JOBS="$jobs" "$here/scripts/fuzz.sh"
fi

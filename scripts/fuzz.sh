#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz and
# runs each for a fixed number of runs: ctest -L fuzz (fuzz/CMakeLists.txt
# lists them).
# Needs clang and compiler-rt (Debian: clang libclang-rt-14-dev).
# Extra arguments go to ctest (e.g. -V). FUZZ_RUNS sets libFuzzer's -runs
# (default 60000, about 50 s on one core; the fuzzer's -seed is fixed).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-fuzz"
jobs="${JOBS:-2}"

for tool in clang clang++ cmake ctest; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found (apt-get install clang libclang-rt-14-dev cmake)" >&2; exit 1; }
done

# Only the fuzz targets are built, with the library static and instrumented
# (fuzz/CMakeLists.txt); tests, tools and benchmarks are switched off.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DBUILD_SHARED_LIBS=OFF \
  -DSIBILANT_BUILD_FUZZ=ON -DSIBILANT_BUILD_TESTS=OFF -DSIBILANT_BUILD_TOOLS=OFF \
  -DSIBILANT_BUILD_BENCH=OFF -DSIBILANT_INSTALL=OFF -DSIBILANT_GSTREAMER=OFF \
  -DSIBILANT_FUZZ_RUNS="${FUZZ_RUNS:-60000}"
cmake --build "$build" -j "$jobs" --target fuzz_all
ctest --test-dir "$build" -L fuzz --output-on-failure "$@"

#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds and runs a consumer
# through find_package(sibilant) and through pkg-config.
# Usage: test_install.sh BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR
set -euo pipefail
build_dir="$1"; consumer="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
prefix="$work/prefix"

cmake --install "$build_dir" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib*/ | head -n 1)

echo "-- find_package(sibilant)"
cmake -S "$consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake-build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$work/cmake-build/consumer"

echo "-- pkg-config sibilant"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
g++ -std=c++20 "$consumer/consumer.cpp" -o "$work/consumer-pc" $(pkg-config --cflags --libs sibilant)
LD_LIBRARY_PATH="$libdir" "$work/consumer-pc"

echo "-- installed CLI"
"$prefix/bin/sibilant" --version
echo "install test passed"

#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds and runs a consumer
# through find_package(sibilant) and through pkg-config.
# With GST_PLUGIN_DIR (relative to the prefix), also checks that the installed
# GStreamer plugin loads from there with nothing but GST_PLUGIN_PATH (its
# RPATH finds the installed libsibilant).
# With PYTHON_DIR (relative to the prefix; "" for none), also imports the
# installed Python module from there with nothing but PYTHONPATH and runs an
# analysis with it, from outside the source and build trees.
# Usage: test_install.sh BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR [GST_PLUGIN_DIR] [PYTHON_DIR PYTHON]
set -euo pipefail
build_dir="$1"; consumer="$2"; work="$3"; gst_plugin_dir="${4:-}"; python_dir="${5:-}"; python="${6:-python3}"
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
if [[ -n "$gst_plugin_dir" ]]; then
  echo "-- installed GStreamer plugin"
  plugin="$prefix/$gst_plugin_dir/libgstsibilant.so"
  [[ -f "$plugin" ]] || { echo "not installed: $plugin" >&2; exit 1; }
  GST_REGISTRY="$work/gst-registry.bin" GST_PLUGIN_PATH="$prefix/$gst_plugin_dir" \
    gst-inspect-1.0 sibilantprobe >"$work/gst-inspect.txt" 2>&1 || { cat "$work/gst-inspect.txt" >&2; exit 1; }
  grep -q "$plugin" "$work/gst-inspect.txt" || { echo "gst-inspect-1.0 did not load $plugin" >&2; exit 1; }
  echo "sibilantprobe loads from $plugin"
fi
if [[ -n "$python_dir" ]]; then
  echo "-- installed Python module"
  module_dir="$prefix/$python_dir"
  (cd "$work" && PYTHONPATH="$module_dir" PYTHONDONTWRITEBYTECODE=1 "$python" - "$module_dir" <<'PY'
import sys
import numpy as np
import sibilant
assert sibilant.__file__.startswith(sys.argv[1]), sibilant.__file__
t = np.arange(48000) / 48000.0
x = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
print("sibilant", sibilant.__version__, "from", sibilant.__file__, "verdict", sibilant.analyze(x, 48000).verdict)
PY
  )
fi
echo "install test passed"

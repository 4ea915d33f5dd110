#!/usr/bin/env bash
# Rebuilds the espeak-ng test-data generator and regenerates testdata/speech/.
#
# Usage: testdata/regenerate.sh [BUILD_DIR]
#   BUILD_DIR  CMake build folder to use (default: build-testdata at the
#              repository root); the generator option is switched on there.
#
# Needs espeak-ng (libespeak-ng-dev, espeak-ng-data) besides the project's
# usual build dependencies. The output is deterministic for a given espeak-ng
# version; README.md names the version that made the committed files.
# Exits non-zero if the build or any sample fails; speech/ is replaced only
# when every sample was rendered and checked.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build-testdata}

cmake -S "$root" -B "$build" -DSIBILANT_BUILD_TESTDATA_GENERATOR=ON >/dev/null
cmake --build "$build" --target sibilant_make_testdata

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/testdata/generator/sibilant_make_testdata" "$tmp"

mkdir -p "$here/speech"
rm -f "$here"/speech/*.flac "$here"/speech/*.labels.tsv "$here"/speech/index.tsv
cp "$tmp"/* "$here/speech/"
echo "regenerated $(ls "$here"/speech/*.flac | wc -l) samples in $here/speech"

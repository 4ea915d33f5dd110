#!/usr/bin/env bash
# Did a change that should not change results change them? (issue #11: speed
# and memory work "without changing what they find".) Each speech file goes
# through `sibilant simulate` at 12, 24 or 64 kbps (by its place in the list)
# with 3% Bernoulli loss (seed: its place), and is analysed three ways:
# full reference, no reference (DEG alone) and `--alignment incremental`
# (what a live probe with a reference finds). The JSON of every analysis,
# why texts included, is kept in OUT, with a SHA-256 list (OUT/sums).
#
# Usage: eval/exactness.sh [options] [N] OUT
#   OUT              folder for the results (made; must not hold earlier results)
#   --against DIR    an earlier OUT (by another build, e.g. the base commit's
#                    worktree): compare; exit 1 when any analysis differs
#   --degraded DIR   read the degraded files from an earlier OUT instead of
#                    simulating them (so that two builds judge the same audio
#                    even when the change is in the Opus channel)
#   N, --corpus DIR, --no-corpus, --no-testdata, --build DIR: as in eval_lib.sh
#   (default: the first 20 corpus files and testdata/speech)
# Exit status: 0 done (and identical, with --against), 1 some analysis
# differs or failed, 2 set-up problem.
#
# Compare two commits: build each (one in a git worktree), then
#   eval/exactness.sh --build ../wt-base/build /tmp/base
#   eval/exactness.sh --degraded /tmp/base --against /tmp/base /tmp/new
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eval_name=exactness
# shellcheck source=SCRIPTDIR/eval_lib.sh
source "$here/eval/eval_lib.sh"

against=""
degraded_from=""
out=""
while (($#)); do
  case "$1" in
    --against|--degraded)
      (($# >= 2)) || { echo "$eval_name: $1 needs a value" >&2; exit 2; }
      [[ $1 == --against ]] && against="$2" || degraded_from="$2"
      shift 2 ;;
    *)
      if [[ $1 != -* && ! $1 =~ ^[0-9]+$ ]]; then
        [[ -z $out ]] || { echo "$eval_name: more than one OUT ($out, $1)" >&2; exit 2; }
        out="$1"; shift; continue
      fi
      eval_option "$@"; shift "$used" ;;
  esac
done
[[ -n $out ]] || { echo "$eval_name: OUT folder missing (usage: eval/exactness.sh [options] [N] OUT)" >&2; exit 2; }
[[ -e $out/sums ]] && { echo "$eval_name: $out already holds results (remove it first)" >&2; exit 2; }
((limit == 0)) && limit=20
cli="$build_dir/tools/sibilant"
[[ -x $cli ]] || { echo "$eval_name: $cli not built (--build DIR)" >&2; exit 2; }
for d in "$against" "$degraded_from"; do
  [[ -z $d || -f $d/sums ]] || { echo "$eval_name: $d holds no results (no sums file)" >&2; exit 2; }
done
eval_files
mkdir -p "$out"
out="$(cd "$out" && pwd)"
for d in against degraded_from; do [[ -z ${!d} ]] || printf -v "$d" '%s' "$(cd "${!d}" && pwd)"; done
cli="$(cd "$(dirname "$cli")" && pwd)/sibilant"
cd "$out"

bitrates=(24000 64000 12000)
failed=0
for i in "${!files[@]}"; do
  f="${files[$i]}"
  name="$(printf '%02d' "$i")-$(basename "${f%.*}")"
  deg="$name.deg.wav"  # relative: the JSON names it, and OUT differs between runs
  if [[ -n $degraded_from ]]; then
    [[ -f $degraded_from/$name.deg.wav ]] || { echo "$eval_name: $degraded_from/$name.deg.wav missing" >&2; exit 2; }
    cp "$degraded_from/$name.deg.wav" "$deg"
  elif ! "$cli" simulate -q --bitrate "${bitrates[$((i % 3))]}" --loss bernoulli:0.03 --seed "$i" "$f" "$deg"; then
    echo "$name: simulate failed" >&2; failed=1; continue
  fi
  "$cli" analyze -q --json "$name.full.json" "$f" "$deg" || { echo "$name: full-reference analysis failed" >&2; failed=1; }
  "$cli" analyze -q --json "$name.blind.json" "$deg" || { echo "$name: no-reference analysis failed" >&2; failed=1; }
  "$cli" analyze -q --alignment incremental --json "$name.incremental.json" "$f" "$deg" ||
    { echo "$name: incremental analysis failed" >&2; failed=1; }
done
sha256sum -- *.json > sums
echo "$eval_name: $(wc -l < "$out/sums") analyses of ${#files[@]} files in $out"

if [[ -n $against ]]; then
  differ=0
  while read -r sum file; do
    other="$(awk -v f="$file" '$2 == f { print $1 }' "$against/sums")"
    if [[ -z $other ]]; then
      echo "only here: $file"; differ=$((differ + 1))
    elif [[ $other != "$sum" ]]; then
      echo "differs: $file"; differ=$((differ + 1))
    fi
  done < "$out/sums"
  missing="$(awk 'NR == FNR { seen[$2] = 1; next } !($2 in seen) { print $2 }' "$out/sums" "$against/sums")"
  [[ -z $missing ]] || { echo "only in $against:"; echo "$missing"; differ=$((differ + $(wc -l <<< "$missing"))); }
  if ((differ)); then
    echo "$eval_name: $differ of $(wc -l < "$out/sums") analyses differ from $against"; failed=1
  else
    echo "$eval_name: all $(wc -l < "$out/sums") analyses byte-identical to $against"
  fi
fi
exit "$failed"

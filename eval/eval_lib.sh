# shellcheck shell=bash disable=SC2034,SC2154  # the variables are shared with the sourcing script
# Shared by eval/codec_matrix.sh and eval/drift_stretch.sh (sourced, not run):
# the options both take, the speech files they run over and their work folder.
# The sourcing script sets `here` (the checkout) and `eval_name` (for messages)
# first; the defaults below may then be overridden by the options.
corpus="$here/../shared/corpus"
build_dir="$here/build"
use_corpus=1
testdata=1
keep=""
limit=0

# eval_option ARGS...: the shared option at the head of ARGS (--corpus DIR,
# --no-corpus, --no-testdata, --build DIR, --keep DIR, -h/--help, N); sets
# `used` to the number of words it took. Anything else is a usage error (exit 2).
eval_option() {
  case "$1" in
    --corpus|--build|--keep)
      (($# >= 2)) || { echo "$eval_name: $1 needs a value" >&2; exit 2; }
      case "$1" in --corpus) corpus="$2" ;; --build) build_dir="$2" ;; --keep) keep="$2" ;; esac
      used=2 ;;
    --no-corpus) use_corpus=0; used=1 ;;
    --no-testdata) testdata=0; used=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "$eval_name: unknown option $1" >&2; exit 2 ;;
    *) [[ $1 =~ ^[0-9]+$ ]] || { echo "$eval_name: unexpected argument '$1' (N is a number)" >&2; exit 2; }
       limit="$1"; used=1 ;;
  esac
}

# eval_files: into `files`, the first `limit` (0: all) .wav/.flac of the
# corpus folder (unless --no-corpus), then testdata/speech/*.flac (unless
# --no-testdata). Exits 2 when the corpus folder is missing or there are no files.
eval_files() {
  files=()
  local f
  if ((use_corpus)); then
    [[ -d "$corpus" ]] || { echo "$eval_name: corpus folder $corpus not found (--corpus DIR or --no-corpus)" >&2; exit 2; }
    while IFS= read -r f; do files+=("$f"); done < <(find "$corpus" -maxdepth 1 \( -name '*.wav' -o -name '*.flac' \) | sort)
    ((limit > 0)) && files=("${files[@]:0:limit}")
  fi
  if ((testdata)); then
    while IFS= read -r f; do files+=("$f"); done < <(find "$here/testdata/speech" -name '*.flac' | sort)
  fi
  ((${#files[@]})) || { echo "$eval_name: no speech files" >&2; exit 2; }
}

# eval_work_dir: `work`, the --keep folder, or a temporary one removed at exit.
eval_work_dir() {
  work="${keep:-$(mktemp -d)}"
  mkdir -p "$work"
  [[ -n "$keep" ]] || trap 'rm -rf "$work"' EXIT
}

# eval_require HINT PROGRAM...: each PROGRAM is a path to a built binary or the
# name of a command on PATH; exits 2 naming the first one missing (with HINT
# for the binaries).
eval_require() {
  local hint="$1" p
  shift
  for p; do
    if [[ $p == */* ]]; then
      [[ -x "$p" ]] || { echo "$eval_name: $p missing ($hint)" >&2; exit 2; }
    else
      command -v "$p" >/dev/null || { echo "$eval_name: $p not found" >&2; exit 2; }
    fi
  done
}

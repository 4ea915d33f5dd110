# Shared by the CLI test scripts (sourced, not run). Expects $sibilant (the
# binary) to be set; keeps the pass/fail counts and prints the closing line.
passed=0; failed=0

pass() { passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {  # check NAME COMMAND...: passes when the command succeeds
  local name="$1"; shift
  if "$@"; then pass; else fail "$name"; fi
}

# expect_error NAME PATTERN... -- ARGS: the command must exit non-zero and its
# stderr must contain every PATTERN.
expect_error() {
  local name="$1"; shift
  local patterns=()
  while [[ "$1" != "--" ]]; do patterns+=("$1"); shift; done
  shift
  local err rc
  err=$("$sibilant" "$@" 2>&1 >/dev/null); rc=$?
  if [[ $rc -eq 0 ]]; then fail "$name: exit code 0"; return; fi
  for p in "${patterns[@]}"; do
    if [[ $err != *"$p"* ]]; then fail "$name: message lacks '$p': $err"; return; fi
  done
  pass
}

# expect_exit NAME CODE PATTERN... -- ARGS: exit code CODE and every PATTERN on stderr.
expect_exit() {
  local name="$1" code="$2"; shift 2
  local patterns=()
  while [[ "$1" != "--" ]]; do patterns+=("$1"); shift; done
  shift
  local err rc
  err=$("$sibilant" "$@" 2>&1 >/dev/null); rc=$?
  if [[ $rc -ne $code ]]; then fail "$name: exit $rc, expected $code: $err"; return; fi
  for p in "${patterns[@]}"; do
    if [[ $err != *"$p"* ]]; then fail "$name: message lacks '$p': $err"; return; fi
  done
  pass
}

# wav_header RATE CHANNELS BITS FORMAT_TAG DATA_BYTES: a canonical 44-byte
# header (FORMAT_TAG 1: integer PCM, 3: float) claiming DATA_BYTES of samples.
# (printf -v, not $(printf): no subshell per byte, which made building a file slow.)
le16() { local bytes; printf -v bytes '\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)); printf "$bytes"; }
le32() { le16 $(($1 & 65535)); le16 $((($1 >> 16) & 65535)); }
wav_header() {
  local rate=$1 ch=$2 bits=$3 tag=$4 bytes=$5
  printf 'RIFF'; le32 $((36 + bytes)); printf 'WAVEfmt '; le32 16; le16 "$tag"; le16 "$ch"
  le32 "$rate"; le32 $((rate * ch * bits / 8)); le16 $((ch * bits / 8)); le16 "$bits"
  printf 'data'; le32 "$bytes"
}

# expect_no_file PATH NAME: neither PATH nor a temporary file beside it exists.
expect_no_file() {
  if [[ -e "$1" ]]; then fail "$2: $1 exists"; else pass; fi
  if compgen -G "$(dirname "$1")/.*.tmp" >/dev/null; then fail "$2: temporary file left behind"; else pass; fi
}

# finish: the closing "N passed, N failed" line; exit status 1 on any failure.
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}

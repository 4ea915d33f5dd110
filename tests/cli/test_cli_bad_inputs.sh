#!/usr/bin/env bash
# Issue #12: the bad-input matrix. Every command that reads files (simulate,
# analyze: one pair, no reference, --pairs, --ref-dir/--deg-dir, captures; sweep, merge,
# compare, report; probe reads no file but writes --events) against every kind
# of bad input, bad output place and bad flag value. Each case must exit with
# the documented code (README "Exit codes"), name the input (path or flag) and
# the cause on stderr, and leave no file, final or temporary, in the output
# folder. Batches (analyze --pairs, --ref-dir, captures, sweep) mixing good and bad
# inputs must still give every good input its result, byte for byte the one a
# run on the good inputs alone gives. All the data is made here.
# Usage: test_cli_bad_inputs.sh SIBILANT_BINARY TESTDATA_DIR [RTP_FLOOD_BINARY]
# (rtp_flood sends the probe real speech for its --events full-disk case.)
set -uo pipefail
sibilant="$1"; testdata="$2"; rtp_flood="${3:-}"
work=$(mktemp -d); trap 'chmod -R u+rwX "$work"; rm -rf "$work"' EXIT
# shellcheck source=cli_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_test_lib.sh"

in="$work/in"; out="$work/out"; nodir="$work/no/such/folder"
mkdir -p "$in" "$out"

# out_empty NAME: the output folder holds nothing (no output, no temporary
# file); emptied again so that one failure does not spill into the next case.
out_empty() {
  local left
  left=$(ls -A "$out")
  if [[ -n "$left" ]]; then fail "$1: left in the output folder: $left"; find "$out" -mindepth 1 -delete; else pass; fi
}
# bad NAME CODE PATTERN... -- ARGS: expect_exit, then nothing left in $out.
bad() { expect_exit "$@"; out_empty "$1"; }
# limited KB ARGS...: the command with a file-size limit of KB kilobytes (a
# full disk, as far as the tool can tell). SIGXFSZ keeps its default action
# here: the tool itself must turn the limit into a clean error.
limited() { ( ulimit -f "$1"; shift; exec "$sibilant" "$@" ); }
# full NAME KB PATTERN... -- ARGS: exit 1 under `limited KB`, every PATTERN on
# stderr, nothing left in $out.
full() {
  local name="$1" kb="$2"; shift 2
  local patterns=()
  while [[ "$1" != "--" ]]; do patterns+=("$1"); shift; done
  shift
  local err rc
  err=$(limited "$kb" "$@" 2>&1 >/dev/null); rc=$?
  if [[ $rc -ne 1 ]]; then
    fail "$name (full disk): exit $rc, expected 1: $err"
  else
    local p ok=1
    for p in "${patterns[@]}"; do
      if ! grep -qF -- "$p" <<<"$err"; then fail "$name (full disk): message lacks '$p': $err"; ok=0; break; fi
    done
    [[ $ok -eq 1 ]] && pass
  fi
  out_empty "$name (full disk)"
}

# --- the inputs -------------------------------------------------------------------
# Good ones: a test sentence (22.05 kHz) and its Opus copy; another sentence.
ref="$in/ref.flac"; cp "$testdata/speech/s_clusters.flac" "$ref"
other="$in/other.flac"; cp "$testdata/speech/sh_positions.flac" "$other"
deg="$in/deg.wav"
"$sibilant" simulate "$ref" "$deg" --bitrate 24000 -q || fail "making the degraded copy"
deg48="$in/deg48k.wav"  # the same at 48 kHz: a rate the reference does not have
"$sibilant" simulate "$ref" "$deg48" --bitrate 24000 --out-rate 48000 -q || fail "making the 48 kHz copy"

# Bad ones, each with the words its message must hold.
declare -A file cause
kinds=(missing empty truncated wrong_format text_wav wrong_rate nan zero_length ten_hours folder)
file[missing]="$in/missing.wav";        cause[missing]="no such file"
file[empty]="$in/empty.wav";            cause[empty]="empty (0 bytes)"
: >"${file[empty]}"
file[truncated]="$in/truncated.wav";    cause[truncated]="file is truncated"
head -c $(($(stat -c %s "$deg") / 2)) "$deg" >"${file[truncated]}"
file[wrong_format]="$in/picture.flac";  cause[wrong_format]="not a recognised audio file"
{ printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR'; head -c 2000 /dev/zero; } >"${file[wrong_format]}"
file[text_wav]="$in/notes.wav";         cause[text_wav]="not a recognised audio file"
printf 'these are notes\nnot audio\n' >"${file[text_wav]}"
file[wrong_rate]="$in/rate4k.wav";      cause[wrong_rate]="4000 Hz is outside 8000..192000 Hz"
{ wav_header 4000 1 16 1 16000; head -c 16000 /dev/zero; } >"${file[wrong_rate]}"
file[nan]="$in/nan.wav";                cause[nan]="not a finite number"
# Float samples: 1000 of 0.25 (0x3e800000), then NaN (0x7fc00000).
{ wav_header 48000 1 32 3 8000; for _ in $(seq 1000); do printf '\x00\x00\x80\x3e'; done
  for _ in $(seq 1000); do printf '\x00\x00\xc0\x7f'; done; } >"${file[nan]}"
file[zero_length]="$in/zero_length.wav"; cause[zero_length]="contains no samples"
wav_header 48000 1 16 1 0 >"${file[zero_length]}"
file[ten_hours]="$in/ten_hours.wav";    cause[ten_hours]="the header says 36000.000 s"
{ wav_header 48000 1 16 1 $((10 * 3600 * 48000 * 2)); head -c 96000 /dev/urandom; } >"${file[ten_hours]}"
file[folder]="$in/folder.wav";          cause[folder]="is a folder"
mkdir -p "${file[folder]}"
if [[ $(id -u) -ne 0 ]]; then
  kinds+=(unreadable)
  file[unreadable]="$in/unreadable.wav"; cause[unreadable]="Permission denied"
  cp "$deg" "${file[unreadable]}"; chmod 000 "${file[unreadable]}"
else
  echo "note: running as root, which reads any file: the unreadable (chmod 000) cases are skipped"
fi
# 64 channels of noise, 0.75 s at 8 kHz: "any channel count" is documented,
# so it must be mixed down (or one channel taken), not refused.
ch64="$in/ch64.wav"
{ wav_header 8000 64 16 1 $((6000 * 64 * 2)); head -c $((6000 * 64 * 2)) /dev/urandom; } >"$ch64"
# Noise of the reference's length, for a pair that shares no content.
noise="$in/noise.wav"
{ wav_header 22050 1 16 1 200000; head -c 200000 /dev/urandom; } >"$noise"

# --- every audio-reading command against every bad audio file ---------------------
for k in "${kinds[@]}"; do
  f="${file[$k]}"; c="${cause[$k]}"
  bad "simulate: $k" 1 "$f" "$c" -- simulate "$f" "$out/o.wav" --json "$out/o.json" --packets "$out/p.jsonl"
  bad "analyze pair, bad degraded: $k" 1 "$f" "$c" -- analyze "$ref" "$f" --json "$out/o.json" --csv "$out/o.csv"
  bad "analyze pair, bad reference: $k" 1 "$f" "$c" -- analyze "$f" "$deg" --json "$out/o.json"
  bad "analyze pair, --alignment incremental: $k" 1 "$f" "$c" -- analyze "$ref" "$f" --alignment incremental --csv "$out/o.csv"
  bad "analyze no reference: $k" 1 "$f" "$c" -- analyze "$f" --json "$out/o.json" --csv "$out/o.csv"
  bad "report pair: $k" 1 "$f" "$c" -- report "$ref" "$f" -o "$out/r.html"
  bad "report no reference: $k" 1 "$f" "$c" -- report "$f" -o "$out/r.html"
done

# A failed run never clobbers an existing output.
keep() {  # keep NAME FILE -- ARGS: FILE holds "keep me" before and after a failing run
  local name="$1" target="$2"; shift 3
  echo "keep me" >"$target"
  "$sibilant" "$@" >/dev/null 2>&1 && fail "$name: exit 0"
  [[ "$(cat "$target")" == "keep me" ]] && pass || fail "$name: the existing $target was changed"
  rm -f "$target"; out_empty "$name"
}
keep "simulate keeps OUT" "$out/o.wav" -- simulate "${file[nan]}" "$out/o.wav"
keep "analyze keeps --json" "$out/o.json" -- analyze "$ref" "${file[truncated]}" --json "$out/o.json"
keep "analyze keeps --csv" "$out/o.csv" -- analyze "${file[text_wav]}" --csv "$out/o.csv"
keep "report keeps -o" "$out/r.html" -- report "$ref" "$noise" -o "$out/r.html"
# The content decides the format, not the name: FLAC named .wav is read.
cp "$ref" "$in/flac_inside.wav"
check "FLAC named .wav" "$sibilant" analyze "$in/flac_inside.wav" "$deg" -q --json "$out/named.json"
rm -f "$out/named.json"

# 64 channels: mixed down to a mono output of the same length, or one channel taken.
if "$sibilant" simulate "$ch64" "$out/ch64.wav" -q; then
  [[ $(od -An -tu2 -j22 -N2 "$out/ch64.wav" | tr -d ' ') == 1 ]] && pass || fail "64 channels: output is not mono"
else
  fail "64 channels: simulate refused a 64-channel file"
fi
rm -f "$out/ch64.wav"
check "64 channels: --channel 64" "$sibilant" simulate "$ch64" "$out/ch64.wav" --channel 64 -q
rm -f "$out/ch64.wav"
check "64 channels: analyze without a reference" "$sibilant" analyze "$ch64" -q --json "$out/ch64.json"
rm -f "$out/ch64.json"
bad "64 channels: --channel 65" 1 "$ch64" "channel 65 counted from 1" "64 channels" -- simulate "$ch64" "$out/o.wav" --channel 65
bad "mono pair: --channel 2" 1 "$ref" "channel 2 counted from 1" "1 channel" -- analyze "$ref" "$deg" --channel 2 --json "$out/o.json"
bad "report: --channel 2 of a mono file" 1 "$ref" "channel 2 counted from 1" -- report "$ref" "$deg" --channel 2 -o "$out/r.html"

# Mismatched pairs. A different rate (and so length in samples) is documented
# as fine; content the two do not share is refused in words.
check "pair at two rates (22.05 and 48 kHz)" "$sibilant" analyze "$ref" "$deg48" -q --json "$out/rates.json"
rm -f "$out/rates.json"
bad "pair: speech against noise" 1 "$ref" "$noise" "cannot align" "no-common-content" -- \
  analyze "$ref" "$noise" --json "$out/o.json" --csv "$out/o.csv"
bad "pair: two different sentences" 1 "$ref" "$other" "cannot align" -- analyze "$ref" "$other" --json "$out/o.json"
bad "pair: 64 channels of noise against speech" 1 "$ref" "$ch64" "cannot align" -- analyze "$ref" "$ch64" --json "$out/o.json"
bad "report: speech against noise" 1 "$noise" "cannot align" -- report "$ref" "$noise" -o "$out/r.html"

# --- analyze --pairs: good pairs among every bad one ---------------------------------
lists="$work/lists"; mkdir -p "$lists"
{ echo "label,reference,degraded"; echo "a,$ref,$deg"; echo "b,$ref,$deg48"; } >"$lists/good.csv"
{ echo "label,reference,degraded"; echo "a,$ref,$deg"
  for k in "${kinds[@]}"; do echo "$k,$ref,${file[$k]}"; done
  echo "b,$ref,$deg48"; echo "unrelated,$ref,$noise"; echo "bad_ref,${file[nan]},$deg"; } >"$lists/mixed.csv"
"$sibilant" analyze --pairs "$lists/good.csv" -j 2 -q >"$work/good.jsonl" 2>"$work/good.err" ||
  fail "good pairs alone: exit non-zero: $(cat "$work/good.err")"
total=$(( ${#kinds[@]} + 4 )); failing=$(( ${#kinds[@]} + 2 ))
bad "analyze --pairs, mixed" 1 "$failing of $total pairs failed" -- analyze --pairs "$lists/mixed.csv" -j 2 --jsonl "$work/mixed.jsonl"
[[ $(wc -l <"$work/mixed.jsonl") -eq $total ]] && pass || fail "mixed pairs: $(wc -l <"$work/mixed.jsonl") lines, expected $total"
# The good pairs' lines are the first and the one after the bad kinds, byte for byte.
if cmp -s <(sed -n "1p;$(( ${#kinds[@]} + 2 ))p" "$work/mixed.jsonl") "$work/good.jsonl"; then pass
else fail "mixed pairs: the good pairs' results differ from a run on them alone"; fi
for k in "${kinds[@]}"; do
  line=$(grep -F "\"degraded\":\"${file[$k]}\"" "$work/mixed.jsonl" | head -n 1)
  grep -qF '"error":' <<<"$line" && grep -qF "${cause[$k]}" <<<"$line" && pass ||
    fail "mixed pairs: the record of $k lacks its error: $line"
done
grep -F '"reference":"'"${file[nan]}"'"' "$work/mixed.jsonl" | grep -qF "${cause[nan]}" && pass ||
  fail "mixed pairs: the bad reference's record lacks its error"
# -j 1 gives the same lines.
"$sibilant" analyze --pairs "$lists/mixed.csv" -j 1 -q >"$work/mixed_j1.jsonl" 2>/dev/null
cmp -s "$work/mixed.jsonl" "$work/mixed_j1.jsonl" && pass || fail "mixed pairs: -j 1 and -j 2 differ"

# Bad pair lists.
bad "--pairs: missing list" 1 "$lists/none.csv" "no such file" -- analyze --pairs "$lists/none.csv" --jsonl "$out/o.jsonl"
: >"$lists/empty.csv"
bad "--pairs: empty list" 1 "$lists/empty.csv" "empty" -- analyze --pairs "$lists/empty.csv" --jsonl "$out/o.jsonl"
printf 'not,a,list\n' >"$lists/header.csv"
bad "--pairs: no reference column" 1 "$lists/header.csv" "line 1" -- analyze --pairs "$lists/header.csv" --jsonl "$out/o.jsonl"
printf 'reference,degraded\n"%s,%s\n' "$ref" "$deg" >"$lists/quote.csv"
bad "--pairs: unterminated quote" 1 "$lists/quote.csv" "line 2" -- analyze --pairs "$lists/quote.csv" --jsonl "$out/o.jsonl"
bad "--pairs: a folder" 1 "$lists" "is a folder" -- analyze --pairs "$lists" --jsonl "$out/o.jsonl"
bad "--pairs: audio as the list" 1 "$ref" -- analyze --pairs "$ref" --jsonl "$out/o.jsonl"

# --- analyze --ref-dir/--deg-dir: the same, paired by name ---------------------------
rd="$work/refs"; dd="$work/degs"; gd="$work/good_degs"; mkdir -p "$rd" "$dd" "$gd"
cp "$ref" "$rd/a.flac"; cp "$deg" "$dd/a.flac"; cp "$deg" "$gd/a.flac"
cp "$ref" "$rd/z.flac"; cp "$deg48" "$dd/z.flac"; cp "$deg48" "$gd/z.flac"
for k in empty truncated text_wav wrong_rate nan zero_length ten_hours; do
  cp "$ref" "$rd/$k.wav"; cp "${file[$k]}" "$dd/$k.wav"
done
cp "$ref" "$rd/lonely.wav"  # no namesake in the degraded folder
mkdir -p "$rd/sub.wav"      # a folder named like audio: ignored
"$sibilant" analyze --ref-dir "$rd" --deg-dir "$gd" -q >"$work/dirs_good.jsonl" 2>"$work/dirs_good.err"
[[ $? -eq 1 ]] && pass || fail "--ref-dir, good degraded only: expected exit 1 (the other references lack namesakes)"
"$sibilant" analyze --ref-dir "$rd" --deg-dir "$dd" -q -j 2 >"$work/dirs.jsonl" 2>"$work/dirs.err"
[[ $? -eq 1 ]] && pass || fail "--ref-dir, mixed: expected exit 1"
grep -qF "8 of 10 pairs failed" "$work/dirs.err" && pass || fail "--ref-dir, mixed: $(tail -n 1 "$work/dirs.err")"
if cmp -s <(grep -F '"mode":' "$work/dirs.jsonl") <(grep -F '"mode":' "$work/dirs_good.jsonl" | sed "s|$gd/|$dd/|g"); then pass
else fail "--ref-dir, mixed: the good pairs' results differ from a run with only them"; fi
[[ $(grep -c '"mode":' "$work/dirs.jsonl") -eq 2 ]] && pass || fail "--ref-dir, mixed: not 2 good results"
grep -F "lonely.wav" "$work/dirs.jsonl" | grep -qF "no such file" && pass || fail "--ref-dir: the lonely reference's record"
for k in empty truncated text_wav wrong_rate nan zero_length ten_hours; do
  grep -F "$dd/$k.wav" "$work/dirs.jsonl" | grep -qF "${cause[$k]}" && pass || fail "--ref-dir: the record of $k"
done
bad "--ref-dir: missing folder" 1 "$work/nofolder" "no such folder" -- analyze --ref-dir "$work/nofolder" --deg-dir "$dd"
bad "--deg-dir: a file" 1 "$ref" "not a folder" -- analyze --ref-dir "$rd" --deg-dir "$ref"

# --- analyze CAPTURE...: bad captures, alone and among a good one ---------------------
be16() { local bytes; printf -v bytes '\\x%02x\\x%02x' $((($1 >> 8) & 255)) $(($1 & 255)); printf "$bytes"; }
be32() { be16 $((($1 >> 16) & 65535)); be16 $(($1 & 65535)); }
# rtp_capture PACKETS: a pcap (link type raw IPv4) of one RTP stream, payload
# type 111, a packet every 20 ms, each the same 3-byte Opus packet.
rtp_capture() {
  local n=$1 s size=$((20 + 8 + 15))
  printf '\xd4\xc3\xb2\xa1'; le16 2; le16 4; le32 0; le32 0; le32 65535; le32 101
  for ((s = 0; s < n; s++)); do
    le32 1700000000; le32 $((s * 20000)); le32 "$size"; le32 "$size"
    printf '\x45\x00'; be16 "$size"; printf '\x00\x01\x00\x00\x40\x11\x00\x00\x7f\x00\x00\x01\x7f\x00\x00\x01'
    be16 5004; be16 5006; be16 $((size - 20)); be16 0
    printf '\x80\x6f'; be16 "$s"; be32 $((960 * s)); be32 4660; printf '\x78\x01\x02'
  done
}
caps="$work/captures"; mkdir -p "$caps"
rtp_capture 100 >"$caps/call.pcap"
: >"$caps/empty.pcap"
echo "not a capture" >"$caps/notes.pcap"
head -c 10 "$caps/call.pcap" >"$caps/cut_header.pcap"
head -c 24 "$caps/call.pcap" >"$caps/no_packets.pcap"
mkdir -p "$caps/folder.pcap"
declare -A cap_cause=([missing]="no such file" [empty]="empty file" [notes]="not a capture libpcap can read"
                      [cut_header]="truncated" [no_packets]="no RTP/Opus stream found" [folder]="is a folder")
"$sibilant" analyze "$caps/call.pcap" -q >"$work/call.jsonl" || fail "a good capture: exit non-zero"
for c in "${!cap_cause[@]}"; do
  bad "capture: $c" 1 "$caps/$c.pcap" "${cap_cause[$c]}" -- analyze "$caps/$c.pcap" --jsonl "$out/o.jsonl"
done
mixed_caps=("$caps/call.pcap"); for c in "${!cap_cause[@]}"; do mixed_caps+=("$caps/$c.pcap"); done
expect_exit "captures, mixed" 1 "${#cap_cause[@]} of $(( ${#cap_cause[@]} + 1 )) captures failed" -- \
  analyze "${mixed_caps[@]}" -j 2 --jsonl "$work/captures.jsonl"
cmp -s <(head -n 1 "$work/captures.jsonl") "$work/call.jsonl" && pass ||
  fail "captures, mixed: the good capture's result differs from a run on it alone"
for c in "${!cap_cause[@]}"; do
  grep -F "\"degraded\":\"$caps/$c.pcap\"" "$work/captures.jsonl" | grep -qF "${cap_cause[$c]}" && pass ||
    fail "captures, mixed: the record of $c lacks its error"
done
# Cut inside a record (tcpdump killed): analysed up to the cut, with a warning.
head -c 3000 "$caps/call.pcap" >"$caps/cut_record.pcap"
expect_exit "capture cut inside a record" 0 "$caps/cut_record.pcap" "warning" "truncated" -- analyze "$caps/cut_record.pcap" -q
bad "capture --write-audio in a missing folder" 1 "$nodir" "no such folder" -- analyze "$caps/call.pcap" --write-audio "$nodir"
full "capture --write-audio" 4 "$out/call-ssrc-00001234.wav" "File too large" -- analyze "$caps/call.pcap" --write-audio "$out" -q
usage_cap() { bad "$1" 2 "$2" -- "${@:4}"; }
usage_cap "capture --payload-type 128" "--payload-type" -- analyze "$caps/call.pcap" --payload-type 128
usage_cap "capture --json" "JSON Lines" -- analyze "$caps/call.pcap" --json "$out/o.json"
usage_cap "capture --channel" "--channel" -- analyze "$caps/call.pcap" --channel 1
usage_cap "capture with --pairs" "--pairs" -- analyze "$caps/call.pcap" --pairs "$lists/good.csv"
usage_cap "capture: --summary-line and --jsonl" "--summary-line" -- analyze "$caps/call.pcap" --summary-line --jsonl "$out/o.jsonl"
expect_exit "capture among audio files" 1 "$ref" "not a pcap or pcapng capture" -- analyze "$caps/call.pcap" "$ref" --jsonl "$work/with_audio.jsonl"

# --- outputs: a missing folder, a folder in the file's place, a full disk ------------
bad "simulate OUT in a missing folder" 1 "$nodir/o.wav" "folder does not exist" -- simulate "$ref" "$nodir/o.wav"
bad "simulate --json in a missing folder" 1 "$nodir/o.json" "folder does not exist" -- simulate "$ref" "$out/o.wav" --json "$nodir/o.json"
bad "simulate --packets in a missing folder" 1 "$nodir/p.jsonl" "folder does not exist" -- simulate "$ref" "$out/o.wav" --packets "$nodir/p.jsonl"
bad "analyze --json in a missing folder" 1 "$nodir/o.json" "folder does not exist" -- analyze "$ref" "$deg" --json "$nodir/o.json"
bad "analyze --csv in a missing folder" 1 "$nodir/o.csv" "folder does not exist" -- analyze "$ref" --csv "$nodir/o.csv"
bad "analyze --jsonl in a missing folder" 1 "$nodir/o.jsonl" "folder does not exist" -- analyze --pairs "$lists/good.csv" --jsonl "$nodir/o.jsonl"
bad "report -o in a missing folder" 1 "$nodir/r.html" "folder does not exist" -- report "$ref" "$deg" -o "$nodir/r.html"
mkdir -p "$out/taken.wav"  # a folder where the output file should go
# bad_folder NAME CODE PATTERN... -- ARGS: as bad, with the folder $out/taken.wav where the output should go.
bad_folder() { expect_exit "$@"; rmdir "$out/taken.wav" 2>/dev/null || fail "$1: the folder was changed"; out_empty "$1"; mkdir -p "$out/taken.wav"; }
bad_folder "simulate OUT is a folder" 1 "$out/taken.wav" "is a folder" -- simulate "$ref" "$out/taken.wav"
bad_folder "analyze --json is a folder" 1 "$out/taken.wav" "is a folder" -- analyze "$ref" "$deg" --json "$out/taken.wav"
bad_folder "analyze --csv is a folder" 1 "$out/taken.wav" "is a folder" -- analyze "$ref" --csv "$out/taken.wav"
bad_folder "analyze --jsonl is a folder" 1 "$out/taken.wav" "is a folder" -- analyze --pairs "$lists/good.csv" --jsonl "$out/taken.wav"
bad_folder "report -o is a folder" 1 "$out/taken.wav" "is a folder" -- report "$ref" -o "$out/taken.wav"
rmdir "$out/taken.wav"
# A full disk. Each output is over the limit, so it fails wherever it is written.
full "simulate OUT" 8 "$out/o.wav" "File too large" -- simulate "$ref" "$out/o.wav" --json "$out/o.json" --packets "$out/p.jsonl" -q
full "analyze --json" 1 "$out/o.json" "File too large" -- analyze "$ref" "$deg" --json "$out/o.json" -q
full "analyze --csv" 1 "$out/o.csv" "write failed" -- analyze "$ref" "$deg" --csv "$out/o.csv" -q
full "analyze no reference --json" 1 "$out/o.json" -- analyze "$ref" --json "$out/o.json" -q
full "analyze --pairs --jsonl" 1 "$out/o.jsonl" "write failed" -- analyze --pairs "$lists/good.csv" --jsonl "$out/o.jsonl" -q
full "report pair" 8 "$out/r.html" "write failed" -- report "$ref" "$deg" -o "$out/r.html"
# Results on stdout are outputs too: a full disk there is an error, not exit 0.
err=$(limited 1 analyze --pairs "$lists/good.csv" -q 2>&1 >"$out/stdout.jsonl"); rc=$?
[[ $rc -eq 1 ]] && grep -qF "standard output" <<<"$err" && pass || fail "stdout on a full disk: exit $rc: $err"
err=$(limited 1 analyze "$ref" "$deg" --csv - 2>&1 >"$out/stdout.csv"); rc=$?
[[ $rc -eq 1 ]] && grep -qF "standard output" <<<"$err" && pass || fail "--csv - on a full disk: exit $rc: $err"
# --json - spools its events in the temporary folder first, where the limit hits.
err=$(limited 1 analyze "$ref" "$deg" --json - 2>&1 >"$out/stdout.json"); rc=$?
[[ $rc -eq 1 ]] && grep -qF -- "--json -" <<<"$err" && grep -qF "File too large" <<<"$err" && pass ||
  fail "--json - on a full disk: exit $rc: $err"
find "$out" -mindepth 1 -delete

# --- sweep: good files among bad ones, bad profiles, bad corpora -----------------------
cat >"$work/profiles.json" <<'EOF'
{"seed": 3, "profiles": [{"name": "8k", "bitrate_bps": 8000, "complexity": 1},
                         {"name": "16k-loss", "bitrate_bps": 16000, "complexity": 1, "loss": "bernoulli:0.1"}]}
EOF
profiles="$work/profiles.json"
good_corpus="$work/corpus_good"; mixed="$work/corpus_mixed"; mkdir -p "$good_corpus" "$mixed"
cp "$ref" "$good_corpus/a.flac"; cp "$other" "$good_corpus/m.flac"
cp "$ref" "$mixed/a.flac"; cp "$other" "$mixed/m.flac"
sweep_kinds=(empty truncated wrong_format text_wav wrong_rate nan zero_length ten_hours)
[[ $(id -u) -ne 0 ]] && sweep_kinds+=(unreadable)
for k in "${sweep_kinds[@]}"; do
  if [[ $k == unreadable ]]; then cp "$deg" "$mixed/unreadable.wav"; chmod 000 "$mixed/unreadable.wav"
  else cp "${file[$k]}" "$mixed/"; fi
done
"$sibilant" sweep --profiles "$profiles" --corpus "$good_corpus" --out "$work/sweep_good" -j 2 -q ||
  fail "sweep of the good files alone: exit non-zero"
jobs=$(( (${#sweep_kinds[@]} + 2) * 2 )); failing=$(( ${#sweep_kinds[@]} * 2 ))
expect_exit "sweep, mixed corpus" 1 "$failing of $jobs jobs failed" "$work/sweep_mixed/results.csv" -- \
  sweep --profiles "$profiles" --corpus "$mixed" --out "$work/sweep_mixed" -j 2 -q
# ok rows and events lines without the job number (which counts the bad files too).
ok_rows() { grep ',ok,' "$1/results.csv" | cut -d, -f2-; }
ok_events() { sed 's/^{"job":[0-9]*,//' "$1/events.jsonl"; }
cmp -s <(ok_rows "$work/sweep_mixed") <(ok_rows "$work/sweep_good") && pass ||
  fail "sweep, mixed: the good files' rows differ from a sweep of them alone"
cmp -s <(ok_events "$work/sweep_mixed") <(ok_events "$work/sweep_good") && pass ||
  fail "sweep, mixed: the good files' events differ from a sweep of them alone"
[[ $(grep -c ',ok,' "$work/sweep_mixed/results.csv") -eq 4 ]] && pass || fail "sweep, mixed: not 4 ok rows"
for k in "${sweep_kinds[@]}"; do
  name=$(basename "${file[$k]}")
  [[ $(grep -F ",$name," "$work/sweep_mixed/results.csv" | grep -F ',error,' | grep -cF "${cause[$k]}") -eq 2 ]] &&
    pass || fail "sweep, mixed: $k lacks its two error rows: $(grep -F ",$name," "$work/sweep_mixed/results.csv")"
done
compgen -G "$work/sweep_mixed/.*.tmp" >/dev/null && fail "sweep, mixed: temporary file left" || pass
# A full disk stops a sweep with exit 1 naming the file; its folder is a
# journal by design (README "Resuming"): rerunning finishes it, byte for byte
# what an uninterrupted sweep writes.
err=$(limited 8 sweep --profiles "$profiles" --corpus "$good_corpus" --out "$work/sweep_full" -j 1 -q 2>&1); rc=$?
[[ $rc -eq 1 ]] && grep -qF "$work/sweep_full/" <<<"$err" && grep -qF "write failed" <<<"$err" && pass ||
  fail "sweep on a full disk: exit $rc: $err"
"$sibilant" sweep --profiles "$profiles" --corpus "$good_corpus" --out "$work/sweep_full" -j 2 -q 2>/dev/null &&
  pass || fail "sweep resumed after a full disk: exit non-zero"
for f in results.csv events.jsonl; do
  cmp -s "$work/sweep_full/$f" "$work/sweep_good/$f" && pass || fail "sweep resumed after a full disk: $f differs"
done
cmp -s <(grep -v '"out_dir"\|"output' "$work/sweep_full/sweep.json") <(grep -v '"out_dir"\|"output' "$work/sweep_good/sweep.json") &&
  pass || fail "sweep resumed after a full disk: sweep.json differs"

# Bad profiles files and corpora: exit 1, and nothing written (no output folder).
sweep_bad() {  # sweep_bad NAME PATTERN... -- ARGS
  local name="$1"; shift
  expect_exit "$name" 1 "$@"
  [[ ! -e "$work/sweep_x" ]] && pass || { fail "$name: the output folder was made"; rm -rf "$work/sweep_x"; }
}
pdir="$work/profiles"; mkdir -p "$pdir"
: >"$pdir/empty.json"
head -c 60 "$profiles" >"$pdir/truncated.json"
echo '{"profiles": [{"name": "x", "bitrate_bps": 5}]}' >"$pdir/range.json"
echo '{"profiles": [{"name": "x", "bitrate": 8000}]}' >"$pdir/key.json"
echo '{"profiles": [{"name": "x"}, {"name": "x"}]}' >"$pdir/twice.json"
echo '{"profiles": [{"name": "x", "application": "phone"}]}' >"$pdir/enum.json"
echo '{"profiles": [{"name": "x", "loss": "trace:none.txt"}]}' >"$pdir/trace.json"
sweep_bad "sweep: missing profiles" "$pdir/none.json" "no such file" -- sweep --profiles "$pdir/none.json" --corpus "$good_corpus" --out "$work/sweep_x"
sweep_bad "sweep: empty profiles" "$pdir/empty.json" "not valid JSON" -- sweep --profiles "$pdir/empty.json" --corpus "$good_corpus" --out "$work/sweep_x"
sweep_bad "sweep: truncated profiles" "$pdir/truncated.json" "not valid JSON" -- sweep --profiles "$pdir/truncated.json" --corpus "$good_corpus" --out "$work/sweep_x"
sweep_bad "sweep: audio as profiles" "$ref" "not valid JSON" -- sweep --profiles "$ref" --corpus "$good_corpus" --out "$work/sweep_x"
sweep_bad "sweep: a folder as profiles" "$pdir" "is a folder" -- sweep --profiles "$pdir" --corpus "$good_corpus" --out "$work/sweep_x"
sweep_bad "sweep: bitrate out of range" "$pdir/range.json" "bitrate_bps" "6000..510000" -- sweep --profiles "$pdir/range.json" --corpus "$good_corpus" --out "$work/sweep_x"
sweep_bad "sweep: unknown key" "$pdir/key.json" "'bitrate'" -- sweep --profiles "$pdir/key.json" --corpus "$good_corpus" --out "$work/sweep_x"
sweep_bad "sweep: duplicate name" "$pdir/twice.json" "x" -- sweep --profiles "$pdir/twice.json" --corpus "$good_corpus" --out "$work/sweep_x"
sweep_bad "sweep: bad application" "$pdir/enum.json" "phone" -- sweep --profiles "$pdir/enum.json" --corpus "$good_corpus" --out "$work/sweep_x"
sweep_bad "sweep: missing trace" "none.txt" -- sweep --profiles "$pdir/trace.json" --corpus "$good_corpus" --out "$work/sweep_x"
sweep_bad "sweep: missing corpus" "$work/nocorpus" "no such folder" -- sweep --profiles "$profiles" --corpus "$work/nocorpus" --out "$work/sweep_x"
mkdir -p "$work/emptycorpus"
sweep_bad "sweep: corpus without audio" "$work/emptycorpus" "no audio files" -- sweep --profiles "$profiles" --corpus "$work/emptycorpus" --out "$work/sweep_x"
sweep_bad "sweep: a file as corpus" "$ref" "not a folder" -- sweep --profiles "$profiles" --corpus "$ref" --out "$work/sweep_x"
expect_exit "sweep: --out under a file" 1 "$ref/x" -- sweep --profiles "$profiles" --corpus "$good_corpus" --out "$ref/x"
expect_exit "sweep: --out is a file" 1 "$ref" "not a folder" -- sweep --profiles "$profiles" --corpus "$good_corpus" --out "$ref"

# --- merge, compare, report --sweep: bad results --------------------------------------
for i in 1 2; do
  "$sibilant" sweep --profiles "$profiles" --corpus "$good_corpus" --out "$work/shard$i" --shard "$i/2" -q
done
if "$sibilant" merge --out "$work/merged" "$work/shard1" "$work/shard2" 2>/dev/null; then
  cmp -s "$work/merged/results.csv" "$work/sweep_good/results.csv" && pass || fail "merge: differs from the unsharded sweep"
else
  fail "merge of two good shards: exit non-zero"
fi
rdir="$work/results"; mkdir -p "$rdir/no_csv"
: >"$rdir/empty.csv"
head -c $(( $(stat -c %s "$work/sweep_good/results.csv") - 40 )) "$work/sweep_good/results.csv" >"$rdir/truncated.csv"
results_cases=("missing|$rdir/none.csv|no such file" "empty|$rdir/empty.csv|empty"
               "truncated|$rdir/truncated.csv|line 5" "not results|$ref|header"
               "text|${file[text_wav]}|header" "folder without results.csv|$rdir/no_csv|no such file")
for c in "${results_cases[@]}"; do
  IFS='|' read -r what path words <<<"$c"
  bad "compare: $what" 1 "$path" "$words" -- compare "$path" --json "$out/c.json"
  bad "report --sweep: $what" 1 "$path" "$words" -- report --sweep "$path" -o "$out/r.html"
done
bad "compare --json in a missing folder" 1 "$nodir/c.json" "folder does not exist" -- compare "$work/sweep_good" --json "$nodir/c.json"
bad "report --sweep -o in a missing folder" 1 "$nodir/r.html" "folder does not exist" -- report --sweep "$work/sweep_good" -o "$nodir/r.html"
mkdir -p "$out/taken.wav"
bad_folder "compare --json is a folder" 1 "$out/taken.wav" "is a folder" -- compare "$work/sweep_good" --json "$out/taken.wav"
bad_folder "report --sweep -o is a folder" 1 "$out/taken.wav" "is a folder" -- report --sweep "$work/sweep_good" -o "$out/taken.wav"
rmdir "$out/taken.wav"
full "compare --json" 1 "$out/c.json" "write failed" -- compare "$work/sweep_good" --json "$out/c.json"
full "report --sweep" 1 "$out/r.html" "write failed" -- report --sweep "$work/sweep_good" -o "$out/r.html"
# Shards that are not (complete) shards of one sweep.
s1="$work/shard1"; s2="$work/shard2"
cp -r "$s2" "$work/shard2_cut"; head -c 200 "$s2/results.csv" >"$work/shard2_cut/results.csv"
cp -r "$s2" "$work/shard2_json"; echo 'garbage' >"$work/shard2_json/sweep.json"
cp -r "$s2" "$work/shard2_rows"; head -n 1 "$s2/results.csv" >"$work/shard2_rows/results.csv"
merge_bad() {  # merge_bad NAME PATTERN... -- SHARDS: exit 1, no merged folder
  local name="$1"; shift
  expect_exit "$name" 1 "$@" --out "$work/merge_x"
  [[ ! -e "$work/merge_x" ]] && pass || { fail "$name: wrote $(ls -A "$work/merge_x")"; rm -rf "$work/merge_x"; }
}
# (expect_exit takes ARGS after --: the shards come first, then --out.)
merge_bad "merge: missing shard" "$work/noshard" "no such folder" -- merge "$s1" "$work/noshard"
merge_bad "merge: a folder that is no shard" "$rdir" "no sweep.json" -- merge "$s1" "$rdir"
merge_bad "merge: a file as a shard" "$ref" -- merge "$s1" "$ref"
merge_bad "merge: truncated results.csv" "$work/shard2_cut/results.csv" -- merge "$s1" "$work/shard2_cut"
merge_bad "merge: broken sweep.json" "$work/shard2_json/sweep.json" "not valid JSON" -- merge "$s1" "$work/shard2_json"
merge_bad "merge: a shard without its rows" "missing" -- merge "$s1" "$work/shard2_rows"
merge_bad "merge: one shard of two" "missing" -- merge "$s1"
merge_bad "merge: a shard twice" "given twice" -- merge "$s1" "$s1" "$s2"
expect_exit "merge: --out is a file" 1 "$ref" "not a folder" -- merge --out "$ref" "$s1" "$s2"
err=$(limited 1 merge --out "$work/merge_full" "$s1" "$s2" 2>&1); rc=$?
[[ $rc -eq 1 ]] && grep -qF "$work/merge_full/" <<<"$err" && pass || fail "merge on a full disk: exit $rc: $err"
[[ -z $(ls -A "$work/merge_full" 2>/dev/null) ]] && pass || fail "merge on a full disk left $(ls -A "$work/merge_full")"

# --- bad flag values: exit 2 when the command line is wrong (CLI checks), 1 when
# the library refuses a setting (as each command's section documents) ---------------
usage() {  # usage NAME FLAG-WORDS -- ARGS: exit 2, the message names the flag
  local name="$1" words="$2"; shift 3
  bad "$name" 2 "$words" -- "$@"
}
S=(simulate "$ref" "$out/o.wav" -q)
usage "simulate --bitrate abc" "--bitrate" -- "${S[@]}" --bitrate abc
usage "simulate --bitrate 12k" "--bitrate" -- "${S[@]}" --bitrate 12k
usage "simulate --complexity x" "--complexity" -- "${S[@]}" --complexity x
usage "simulate --frame-ms abc" "--frame-ms" -- "${S[@]}" --frame-ms abc
usage "simulate --expected-loss x" "--expected-loss" -- "${S[@]}" --expected-loss x
usage "simulate --seed -1" "--seed" -- "${S[@]}" --seed -1
usage "simulate --seed abc" "--seed" -- "${S[@]}" --seed abc
usage "simulate --channel 0" "--channel" -- "${S[@]}" --channel 0
usage "simulate --channel x" "--channel" -- "${S[@]}" --channel x
usage "simulate --cbr --vbr" "--cbr" -- "${S[@]}" --cbr --vbr
usage "simulate --bandwidth with --max-bandwidth" "--bandwidth" -- "${S[@]}" --bandwidth wb --max-bandwidth fb
usage "simulate without OUT" "OUT" -- simulate "$ref"
usage "simulate, unknown flag" "--bitrat" -- "${S[@]}" --bitrat 8000
bad "simulate --bitrate 5999" 1 "--bitrate: bitrate_bps 5999" "6000..510000" -- "${S[@]}" --bitrate 5999
bad "simulate --bitrate 510001" 1 "--bitrate: bitrate_bps 510001" -- "${S[@]}" --bitrate 510001
bad "simulate --complexity 11" 1 "--complexity: complexity 11" "0..10" -- "${S[@]}" --complexity 11
bad "simulate --complexity -1" 1 "--complexity: complexity -1" -- "${S[@]}" --complexity -1
bad "simulate --frame-ms 7" 1 "--frame-ms: frame_ms 7" -- "${S[@]}" --frame-ms 7
bad "simulate --frame-ms nan" 1 "--frame-ms: frame_ms nan" -- "${S[@]}" --frame-ms nan
bad "simulate --expected-loss 101" 1 "--expected-loss: expected_loss_pct 101" -- "${S[@]}" --expected-loss 101
bad "simulate --application" 1 "--application: unknown application \"phone\"" -- "${S[@]}" --application phone
bad "simulate --bandwidth" 1 "--bandwidth: unknown bandwidth \"xb\"" -- "${S[@]}" --bandwidth xb
bad "simulate --max-bandwidth" 1 "--max-bandwidth: unknown bandwidth \"xb\"" -- "${S[@]}" --max-bandwidth xb
bad "simulate --signal" 1 "--signal: unknown signal hint \"speech\"" -- "${S[@]}" --signal speech
bad "simulate --loss bernoulli:2" 1 "--loss: " "bernoulli:2" "0..1" -- "${S[@]}" --loss bernoulli:2
bad "simulate --loss bernoulli:x" 1 "bernoulli:x" -- "${S[@]}" --loss bernoulli:x
bad "simulate --loss ge:0.1" 1 "ge:0.1" -- "${S[@]}" --loss ge:0.1
bad "simulate --loss burst:1" 1 "burst:1" "unknown loss model" -- "${S[@]}" --loss burst:1
bad "simulate --loss trace:missing" 1 "--loss: " "$in/none.txt" "No such file" -- "${S[@]}" --loss "trace:$in/none.txt"
bad "simulate --loss trace:folder" 1 "$in" "is a folder" -- "${S[@]}" --loss "trace:$in"
bad "simulate --loss trace:empty" 1 "${file[empty]}" "empty trace" -- "${S[@]}" --loss "trace:${file[empty]}"
bad "simulate --loss trace:audio" 1 "$ref" "bad token" -- "${S[@]}" --loss "trace:$ref"
bad "simulate --out-rate 44100" 1 "--out-rate '44100'" -- "${S[@]}" --out-rate 44100
bad "simulate --format pcm8" 1 "--format: " "pcm8" -- "${S[@]}" --format pcm8
bad "simulate OUT .mp3" 1 "$out/o.mp3" -- simulate "$ref" "$out/o.mp3"

A=(analyze "$ref" "$deg" --json "$out/o.json")
for v in 101 -1 nan inf x; do
  usage "analyze --lisp-threshold $v" "--lisp-threshold" -- "${A[@]}" --lisp-threshold "$v"
  usage "analyze --smearing-threshold $v" "--smearing-threshold" -- "${A[@]}" --smearing-threshold "$v"
done
usage "analyze --events -1" "--events" -- "${A[@]}" --events -1
usage "analyze --events x" "--events" -- "${A[@]}" --events x
usage "analyze --channel 0" "--channel" -- "${A[@]}" --channel 0
usage "analyze --alignment" "--alignment" -- "${A[@]}" --alignment sideways
usage "analyze: two outputs on stdout" "--summary-line" -- analyze "$ref" "$deg" --summary-line --json -
usage "analyze: -j for one pair" "-j" -- "${A[@]}" -j 2
usage "analyze: three audio files" "more than two" -- analyze "$ref" "$deg" "$deg48"
usage "analyze: nothing to analyze" "give one of" -- analyze
usage "analyze --pairs -j abc" "--jobs" -- analyze --pairs "$lists/good.csv" -j abc
usage "analyze --pairs -j -1" "--jobs" -- analyze --pairs "$lists/good.csv" -j -1
usage "analyze --pairs with --json" "--json" -- analyze --pairs "$lists/good.csv" --json "$out/o.json"
usage "analyze --pairs with a pair" "give one of" -- analyze "$ref" "$deg" --pairs "$lists/good.csv"
usage "analyze --ref-dir alone" "--deg-dir" -- analyze --ref-dir "$rd"
usage "analyze --payload-type 128" "--payload-type" -- "${A[@]}" --payload-type 128

R=(report "$ref" "$deg" -o "$out/r.html")
usage "report --lisp-threshold 101" "--lisp-threshold" -- "${R[@]}" --lisp-threshold 101
usage "report --lisp-threshold nan" "--lisp-threshold" -- "${R[@]}" --lisp-threshold nan
usage "report --smearing-threshold x" "--smearing-threshold" -- "${R[@]}" --smearing-threshold x
usage "report --channel 0" "--channel" -- "${R[@]}" --channel 0
usage "report pair with --threshold" "--threshold" -- "${R[@]}" --threshold 20
usage "report --sweep with --lisp-threshold" "--lisp-threshold" -- report --sweep "$work/sweep_good" -o "$out/r.html" --lisp-threshold 50
usage "report --sweep --threshold nan" "--threshold" -- report --sweep "$work/sweep_good" -o "$out/r.html" --threshold nan
usage "report --sweep --threshold 101" "--threshold" -- report --sweep "$work/sweep_good" -o "$out/r.html" --threshold 101
usage "report without -o" "--out" -- report "$ref" "$deg"
usage "report: a pair and a sweep" "--sweep" -- "${R[@]}" --sweep "$work/sweep_good"

C=(compare "$work/sweep_good" --json "$out/c.json")
for v in 101 -1 nan x; do usage "compare --threshold $v" "--threshold" -- "${C[@]}" --threshold "$v"; done
for v in 0 -5 x 1e9; do usage "compare --bootstrap $v" "--bootstrap" -- "${C[@]}" --bootstrap "$v"; done
for v in 0 1 nan x; do usage "compare --confidence $v" "--confidence" -- "${C[@]}" --confidence "$v"; done
usage "compare --seed -1" "--seed" -- "${C[@]}" --seed -1
usage "compare --pairs one name" "--pairs" -- "${C[@]}" --pairs 8k
usage "compare without RESULTS" "RESULTS" -- compare
bad "compare --pairs unknown profiles" 1 "--pairs 'a,b'" "not two profile names" -- "${C[@]}" --pairs a,b

W=(sweep --profiles "$profiles" --corpus "$good_corpus" --out "$work/sweep_x" -q)
usage "sweep -j abc" "--jobs" -- "${W[@]}" -j abc
usage "sweep -j -1" "--jobs" -- "${W[@]}" -j -1
for v in 0/2 3/2 1/0 x 1/2/3; do usage "sweep --shard $v" "--shard" -- "${W[@]}" --shard "$v"; done
usage "sweep --seed -1" "--seed" -- "${W[@]}" --seed -1
usage "sweep --seed abc" "--seed" -- "${W[@]}" --seed abc
usage "sweep without --out" "--out" -- sweep --profiles "$profiles" --corpus "$good_corpus"
[[ ! -e "$work/sweep_x" ]] && pass || fail "a sweep usage error made the output folder"
usage "merge without shards" "SHARD_DIR" -- merge --out "$work/merge_x"
usage "merge without --out" "--out" -- merge "$s1" "$s2"

# probe reads no file; its flags and its --events file. (timeout: a probe
# that wrongly starts would run until stopped.)
P=(probe --listen 127.0.0.1:0 --http '' -q)
probe_exit() {  # probe_exit NAME CODE WORDS -- ARGS
  local name="$1" code="$2" words="$3"; shift 4
  local err rc
  err=$(timeout 20 "$sibilant" "$@" 2>&1 >/dev/null); rc=$?
  [[ $rc -eq $code ]] && grep -qF -- "$words" <<<"$err" && pass || fail "$name: exit $rc, expected $code: $err"
  out_empty "$name"
}
probe_exit "probe --threads 0" 2 "--threads" -- "${P[@]}" --threads 0
probe_exit "probe --threads x" 2 "--threads" -- "${P[@]}" --threads x
probe_exit "probe --max-streams 0" 2 "--max-streams" -- "${P[@]}" --max-streams 0
probe_exit "probe --idle-s 0" 2 "--idle-s" -- "${P[@]}" --idle-s 0
probe_exit "probe --idle-s nan" 2 "--idle-s" -- "${P[@]}" --idle-s nan
probe_exit "probe --window-s x" 2 "--window-s" -- "${P[@]}" --window-s x
probe_exit "probe --payload-type 128" 2 "--payload-type" -- "${P[@]}" --payload-type 128
probe_exit "probe --lisp-threshold nan" 2 "--lisp-threshold" -- "${P[@]}" --lisp-threshold nan
probe_exit "probe --smearing-threshold 101" 2 "--smearing-threshold" -- "${P[@]}" --smearing-threshold 101
probe_exit "probe --max-event-clients 0" 2 "--max-event-clients" -- "${P[@]}" --max-event-clients 0
probe_exit "probe --listen without a port" 1 "--listen nohost" -- probe --listen nohost --http '' -q
probe_exit "probe --listen port 99999" 1 "99999" -- probe --listen 127.0.0.1:99999 --http '' -q
probe_exit "probe --http without a port" 1 "--http bad" -- probe --listen 127.0.0.1:0 --http bad -q
probe_exit "probe --events in a missing folder" 1 "$nodir/e.jsonl" -- "${P[@]}" --events "$nodir/e.jsonl"
probe_exit "probe --events is a folder" 1 "$in" -- "${P[@]}" --events "$in"

# --events on a full disk: the service goes on (a failed write costs the
# line, README "Probe service"), but says so on stderr, naming the file.
if [[ -x "$rtp_flood" ]]; then
  # A subshell that execs the probe, so that $! is the probe itself.
  ( ulimit -f 1; exec "$sibilant" probe --listen 127.0.0.1:0 --http '' --events "$out/e.jsonl" --idle-s 1 ) \
    2>"$work/probe.err" &
  probe_pid=$!
  for _ in $(seq 100); do grep -q 'udp 127.0.0.1:' "$work/probe.err" && break; sleep 0.1; done
  port=$(grep -o 'udp 127.0.0.1:[0-9]*' "$work/probe.err" | grep -o '[0-9]*$')
  timeout 30 "$rtp_flood" --to "127.0.0.1:$port" --mode streams --audio "$ref" --streams 1 --bitrate 6000 --seconds 5 >/dev/null 2>&1
  sleep 1.5  # --idle-s 1: the stream ends and its last events are written
  # SIGTERM: a background job of a script starts with SIGINT ignored.
  kill -TERM "$probe_pid"
  for _ in $(seq 100); do kill -0 "$probe_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$probe_pid" 2>/dev/null  # only if it did not stop within 10 s (then rc is 137)
  wait "$probe_pid"; rc=$?
  [[ $rc -eq 0 ]] && pass || fail "probe --events on a full disk: exit $rc after SIGTERM"
  grep -qF -- "--events $out/e.jsonl: write failed (File too large)" "$work/probe.err" && pass ||
    fail "probe --events on a full disk: not said on stderr: $(cat "$work/probe.err")"
  rm -f "$out/e.jsonl"
else
  echo "note: no rtp_flood binary given: the probe's --events full-disk case is skipped"
fi

# --- the exit codes are in --help --------------------------------------------------------
help=$("$sibilant" --help)
for code in 0 1 2 3; do
  grep -qE "^ +$code  " <<<"$help" && pass || fail "--help lacks exit code $code"
done
grep -qi "exit codes" <<<"$help" && pass || fail "--help lacks the exit codes"

finish

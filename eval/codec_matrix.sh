#!/usr/bin/env bash
# Does the aligner find each ffmpeg speech codec's delay (issue #10)? Each
# speech file goes through ffmpeg encode + decode; the decoded file is kept at
# the codec's own rate (what a user hands in), and `sibilant analyze REF DEG
# --json` aligns it. The true delay of each chain is measured once per codec
# and input rate on a click train sent through the same ffmpeg commands
# (sibilant_eval_click_delay: cross-correlation of the clicks).
#
# Prints one row per codec and file: codec, file, aligned (yes/no), delay_ms,
# true_ms, |error| ms, lisp_index, method, confidence, doubt (yes when the
# result carries an alignment warning) (or the error message), then one
# summary line per codec: aligned n/N, within 1 ms, within 5 ms, max |error|,
# and how many results are "silent wrong": more than 5 ms from the true delay
# without both a warning and a confidence <= 0.5 (issue #10: nothing fails
# silently).
#
# Then the lisp ranking per file (issue #10: "NB > WB > transparent holds per
# file"): the lisp_index through a narrowband, a wideband and a transparent
# codec, by default Speex NB 8 kbps > Speex WB > Opus 64 kbps (one codec family
# for NB and WB, so that only the band differs; Opus 64k is fullband and
# transparent for speech). A file without sibilants (no lisp_index) or with a
# codec refused is counted apart; ties (e.g. NB and WB both at 100) do not hold.
#
# Usage: eval/codec_matrix.sh [options] [N]
#   N               only the first N corpus files (default: all)
#   --corpus DIR    speech folder (default: ../shared/corpus beside the checkout)
#   --no-corpus     testdata/speech/*.flac only
#   --no-testdata   leave out testdata/speech/*.flac
#   --codecs LIST   comma-separated subset of the codec names below
#   --build DIR     CMake build folder with sibilant_cli and
#                   sibilant_eval_click_delay (default: build)
#   --keep DIR      keep the encoded/decoded files there (default: a temp dir)
#   --ranking NB,WB,TRANSPARENT
#                   the three codecs of the lisp ranking (default
#                   speex_nb_8k,speex_wb,opus_64k); skipped unless all three run
# Codecs whose ffmpeg encoder is missing are listed as skipped.
# Exit status: 0 every pair aligned within 1 ms, 1 otherwise, 2 set-up problem.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eval_name=codec_matrix
# shellcheck source=SCRIPTDIR/eval_lib.sh
source "$here/eval/eval_lib.sh"
only=""
ranking="speex_nb_8k,speex_wb,opus_64k"

while (($#)); do
  case "$1" in
    --codecs) only="$2"; shift 2 ;;
    --ranking) ranking="$2"; shift 2 ;;
    *) eval_option "$@"; shift "$used" ;;
  esac
done

cli="$build_dir/tools/sibilant"
clicks_tool="$build_dir/eval/sibilant_eval_click_delay"
eval_require "build sibilant_cli and sibilant_eval_click_delay" "$cli" "$clicks_tool" ffmpeg jq

# name | encoder | container extension | ffmpeg encoder options
codecs=(
  "gsm|libgsm|gsm|-ar 8000"
  "speex_nb_8k|libspeex|ogg|-ar 8000 -b:a 8k"
  "speex_wb|libspeex|ogg|-ar 16000"
  "codec2_3200|libcodec2|c2|-ar 8000 -mode 3200"
  "codec2_2400|libcodec2|c2|-ar 8000 -mode 2400"
  "codec2_1600|libcodec2|c2|-ar 8000 -mode 1600"
  "codec2_1400|libcodec2|c2|-ar 8000 -mode 1400"
  "codec2_1300|libcodec2|c2|-ar 8000 -mode 1300"
  "codec2_1200|libcodec2|c2|-ar 8000 -mode 1200"
  "codec2_700C|libcodec2|c2|-ar 8000 -mode 700C"
  "g722|g722|g722|-ar 16000"
  "g726_32k|g726|wav|-ar 8000 -b:a 32k"
  "adpcm_ima_wav|adpcm_ima_wav|wav|"
  "adpcm_ms|adpcm_ms|wav|"
  "aac_64k|aac|m4a|-b:a 64k"
  "mp3_64k|libmp3lame|mp3|-b:a 64k"
  "vorbis|libvorbis|ogg|"
  "opus_12k|libopus|ogg|-b:a 12k"
  "opus_64k|libopus|ogg|-b:a 64k"
  "amr_nb|libopencore_amrnb|amr|-ar 8000 -b:a 12.2k"
  "amr_wb|libvo_amrwbenc|awb|-ar 16000 -b:a 23.85k"
)

encoders="$(ffmpeg -hide_banner -encoders 2>/dev/null | awk '$1 ~ /^A/ {print $2}')"
eval_work_dir
eval_files

"$clicks_tool" make "$work/clicks48k.wav"

# encode_decode IN OUT_WAV ENCODER EXT OPTIONS: the decoded file at the codec's rate.
encode_decode() {
  local in="$1" out="$2" encoder="$3" ext="$4" opts="$5"
  # shellcheck disable=SC2086  # options are words
  ffmpeg -nostdin -v error -y -i "$in" -ac 1 $opts -c:a "$encoder" "${out%.wav}.enc.$ext" &&
    ffmpeg -nostdin -v error -y -i "${out%.wav}.enc.$ext" -c:a pcm_s16le "$out"
}

status=0
printf '%-14s %-34s %-7s %9s %9s %8s %6s %-10s %-10s %s\n' codec file aligned delay_ms true_ms err_ms lisp method confidence \
  doubt
summaries=()
declare -A lisp_of=()  # "codec|file" -> lisp_index (aligned pairs only)
stems=()
for spec in "${codecs[@]}"; do
  IFS='|' read -r name encoder ext opts <<<"$spec"
  if [[ -n "$only" && ",$only," != *",$name,"* ]]; then continue; fi
  if ! grep -qx "$encoder" <<<"$encoders"; then
    summaries+=("$(printf '%-14s skipped: ffmpeg has no %s encoder' "$name" "$encoder")")
    continue
  fi
  declare -A truth=()
  n=0 ok=0 within=0 within5=0 silent=0 max_err=0
  for f in "${files[@]}"; do
    stem="$(basename "${f%.*}")"
    [[ " ${stems[*]} " == *" $stem "* ]] || stems+=("$stem")
    rate="$(ffprobe -v error -select_streams a:0 -show_entries stream=sample_rate -of csv=p=0 "$f")"
    if [[ -z "${truth[$rate]:-}" ]]; then
      # The click train at the speech file's rate, then the same chain.
      ffmpeg -nostdin -v error -y -i "$work/clicks48k.wav" -ar "$rate" "$work/clicks_$rate.wav"
      encode_decode "$work/clicks_$rate.wav" "$work/${name}_clicks_$rate.wav" "$encoder" "$ext" "$opts"
      truth[$rate]="$("$clicks_tool" measure "$work/clicks48k.wav" "$work/${name}_clicks_$rate.wav" | awk '{print $2}')"
    fi
    true_ms="${truth[$rate]}"
    deg="$work/${name}_$stem.wav"
    n=$((n + 1))
    if ! encode_decode "$f" "$deg" "$encoder" "$ext" "$opts" 2>"$work/ffmpeg.err"; then
      printf '%-14s %-34s %-7s ffmpeg failed: %s\n' "$name" "$stem" no "$(head -c 200 "$work/ffmpeg.err")"
      status=1
      continue
    fi
    if "$cli" analyze "$f" "$deg" --json "$work/out.json" -q 2>"$work/err.txt"; then
      read -r delay lisp method conf doubt < <(jq -r '[.alignment.delay_ms, (.summary.lisp_index // "-"),
        (.alignment.method // "-"), .alignment.confidence,
        (if (.alignment.warning // "") == "" then "no" else "yes" end)] | @tsv' "$work/out.json")
      err="$(awk -v a="$delay" -v b="$true_ms" 'BEGIN {d = a - b; if (d < 0) d = -d; printf "%.3f", d}')"
      ok=$((ok + 1))
      if awk -v e="$err" 'BEGIN {exit !(e <= 1.0)}'; then within=$((within + 1)); else status=1; fi
      if awk -v e="$err" 'BEGIN {exit !(e <= 5.0)}'; then
        within5=$((within5 + 1))
      elif ! [[ "$doubt" == yes ]] || ! awk -v c="$conf" 'BEGIN {exit !(c <= 0.5)}'; then
        silent=$((silent + 1))
        doubt="$doubt,SILENT-WRONG"
      fi
      max_err="$(awk -v e="$err" -v m="$max_err" 'BEGIN {print (e > m ? e : m)}')"
      [[ "$lisp" == - ]] || lisp_of["$name|$stem"]="$lisp"
      printf '%-14s %-34s %-7s %9.3f %9.3f %8s %6s %-10s %-10.3f %s\n' "$name" "$stem" yes "$delay" "$true_ms" "$err" \
        "$lisp" "$method" "$conf" "$doubt"
    else
      status=1
      printf '%-14s %-34s %-7s %9s %9.3f %8s %6s %s\n' "$name" "$stem" no - "$true_ms" - - \
        "$(tr '\n' ' ' <"$work/err.txt" | head -c 300)"
    fi
  done
  truths=""
  for r in "${!truth[@]}"; do truths+=" ${truth[$r]} ms at $r Hz;"; done
  unset truth
  summaries+=("$(printf '%-14s aligned %d/%d, within 1 ms %d/%d, within 5 ms %d/%d, silent wrong %d, max |error| %.3f ms (true delay:%s)' \
    "$name" "$ok" "$n" "$within" "$n" "$within5" "$n" "$silent" "$max_err" "${truths%;}")")
done

# The lisp ranking per file: NB > WB > transparent.
IFS=',' read -r rank_nb rank_wb rank_tr <<<"$ranking"
ran() { [[ -z "$only" || ",$only," == *",$1,"* ]] && grep -qx "$(codec_encoder "$1")" <<<"$encoders"; }
codec_encoder() {
  local spec
  for spec in "${codecs[@]}"; do [[ "${spec%%|*}" == "$1" ]] && { IFS='|' read -r _ enc _ <<<"$spec"; echo "$enc"; return; }; done
}
ranking_summary=""
if ran "$rank_nb" && ran "$rank_wb" && ran "$rank_tr"; then
  echo
  echo "lisp ranking $rank_nb > $rank_wb > $rank_tr"
  printf '%-34s %8s %8s %8s %s\n' file NB WB transparent holds
  holds=0 broken=0 apart=0
  for stem in "${stems[@]}"; do
    nb="${lisp_of["$rank_nb|$stem"]:-}" wb="${lisp_of["$rank_wb|$stem"]:-}" tr="${lisp_of["$rank_tr|$stem"]:-}"
    if [[ -z "$nb" || -z "$wb" || -z "$tr" ]]; then
      verdict="n/a (no lisp index: no sibilants, or a codec refused)"
      apart=$((apart + 1))
    elif awk -v a="$nb" -v b="$wb" -v c="$tr" 'BEGIN {exit !(a > b && b > c)}'; then
      verdict=yes
      holds=$((holds + 1))
    else
      verdict=no
      broken=$((broken + 1))
    fi
    printf '%-34s %8s %8s %8s %s\n' "$stem" "${nb:--}" "${wb:--}" "${tr:--}" "$verdict"
  done
  ranking_summary="$(printf 'lisp ranking %s > %s > %s holds on %d of %d files (%d do not hold, %d without all three)' \
    "$rank_nb" "$rank_wb" "$rank_tr" "$holds" "${#stems[@]}" "$broken" "$apart")"
else
  ranking_summary="lisp ranking skipped: $ranking did not all run"
fi
echo
echo "summary"
printf '%s\n' "${summaries[@]}"
echo "$ranking_summary"
exit "$status"

#!/usr/bin/env bash
# Makes the media fixtures of the unit tests (tests/unit/test_media.c) and the fuzz seed corpus
# with Debian's ffmpeg CLI: a few seconds of lavfi test pattern and tone per container and codec
# pair that swarmdrop-probe must judge, and broken files. Usage: make-fixtures.sh OUTDIR
# Quick on purpose (tiny pictures, a few seconds): a few seconds on 2 cores.
set -euo pipefail
out=${1:?usage: make-fixtures.sh OUTDIR}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
command -v ffmpeg >/dev/null || { echo "make-fixtures.sh: ffmpeg is missing (apt-get install ffmpeg)" >&2; exit 1; }
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
cd "$out.tmp"

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
# 6 s of 160x120 at 25 fps and of a 44.1 kHz tone; keyframes every second (-g 25), B-frames.
V=(-f lavfi -i testsrc2=size=160x120:rate=25:duration=6)
A=(-f lavfi -i sine=frequency=440:sample_rate=44100:duration=6)
A48=(-f lavfi -i sine=frequency=440:sample_rate=48000:duration=6)
X264=(-c:v libx264 -preset ultrafast -bf 2 -g 25 -keyint_min 25 -sc_threshold 0 -pix_fmt yuv420p)
X264_NOB=(-c:v libx264 -preset ultrafast -bf 0 -g 25 -keyint_min 25 -sc_threshold 0 -pix_fmt yuv420p)
AAC=(-c:a aac -b:a 64k -ac 2)

ff "${V[@]}" "${A[@]}" "${X264[@]}" "${AAC[@]}" -metadata:s:a language=eng mkv_h264_aac.mkv &
ff "${V[@]}" "${A[@]}" "${X264[@]}" "${AAC[@]}" -f mov mov_moov_end.mov &
ff "${V[@]}" "${A[@]}" "${X264[@]}" "${AAC[@]}" mp4_moov_end.mp4 &
wait
ff "${V[@]}" "${A[@]}" "${X264[@]}" "${AAC[@]}" ts_h264_adts.ts &
ff "${V[@]}" "${A[@]}" "${X264[@]}" "${AAC[@]}" flv_h264_aac.flv &
ff "${V[@]}" "${A[@]}" "${X264[@]}" "${AAC[@]}" -movflags frag_keyframe+empty_moov+default_base_moof fmp4_h264_aac.mp4 &
wait
ff "${V[@]}" "${A48[@]}" -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -g 25 -b:v 200k -c:a libopus -b:a 48k webm_vp9_opus.webm &
ff "${V[@]}" "${A[@]}" "${X264_NOB[@]}" "${AAC[@]}" avi_h264.avi &
ff "${V[@]}" "${A[@]}" "${X264[@]}" "${AAC[@]}" avi_h264_bframes.avi &
wait
ff "${V[@]}" "${X264[@]}" -f h264 raw.h264 &
ff "${V[@]}" "${A[@]}" -c:v mpeg4 -g 25 -c:a libmp3lame -b:a 64k mpeg4_part2.avi &
ff "${V[@]}" "${A[@]}" "${X264[@]}" -c:a libmp3lame -b:a 64k mkv_h264_mp3.mkv &
ff "${V[@]}" "${A48[@]}" "${X264[@]}" -c:a ac3 -b:a 96k mkv_h264_ac3.mkv &
wait
ff "${A[@]}" "${AAC[@]}" audio_aac.m4a &
ff "${A[@]}" "${AAC[@]}" -f adts audio_adts.aac &
# HEVC: closed GOPs, so that every keyframe is an IDR a fragment can start on.
X265=(-c:v libx265 -preset ultrafast -x265-params log-level=error:keyint=25:min-keyint=25:scenecut=0:open-gop=0
	-pix_fmt yuv420p)
ff "${V[@]}" "${A[@]}" "${X265[@]}" "${AAC[@]}" mkv_hevc_aac.mkv &
ff "${V[@]}" "${A[@]}" "${X265[@]}" "${AAC[@]}" mp4_hevc_moov_end.mp4 & # ffmpeg's default sample entry: hev1
wait
# The same HEVC in MPEG-TS (Annex B: no hvcC in the input), fragmented MP4 (hev1) and raw.
ff -i mkv_hevc_aac.mkv -c copy ts_hevc_adts.ts &
ff -i mkv_hevc_aac.mkv -c copy -movflags frag_keyframe+empty_moov+default_base_moof fmp4_hevc_aac.mp4 &
ff -i mkv_hevc_aac.mkv -map 0:v -c copy -f hevc raw.hevc &
wait
# AV1 only when this ffmpeg has libaom's encoder; the tests skip it visibly otherwise.
encoders=$(ffmpeg -hide_banner -encoders 2>/dev/null)
if grep -q ' libaom-av1 ' <<<"$encoders"; then
	ff -f lavfi -i testsrc2=size=128x96:rate=12:duration=4 "${A48[@]}" -t 4 -c:v libaom-av1 -cpu-used 8 -usage realtime \
		-row-mt 1 -g 12 -b:v 100k -c:a libopus -b:a 48k webm_av1_opus.webm
else
	echo "make-fixtures.sh: NOTE: this ffmpeg has no libaom-av1 encoder: no AV1 fixture, its tests are skipped" >&2
fi

# Broken inputs: the first half of a moov-at-end MP4 (no moov), half of a Matroska file, random
# bytes, nothing at all, and an MP4 header followed by garbage.
size=$(stat -c %s mp4_moov_end.mp4)
head -c $((size / 2)) mp4_moov_end.mp4 >truncated.mp4
size=$(stat -c %s mkv_h264_aac.mkv)
head -c $((size / 2)) mkv_h264_aac.mkv >truncated.mkv
noise() { head -c "$1" /dev/zero | openssl enc -aes-128-ctr -nosalt -K "$2" -iv 0 2>/dev/null; } # fixed bytes
noise 65536 01 >random.bin
: >empty.mp4
{ head -c 32 mp4_moov_end.mp4; noise 4096 02; } >garbage_header.mp4
# Not media, though libavformat opens them: random bytes of a size BinText takes for a picture
# when they are named .bin, random bytes named for headerless GSM audio, a text file and ANSI art
# named .txt (the tty demuxer's), and an XBin picture (text-mode art with a header of its own).
noise 200000 03 >random_200k.bin
noise 4096 04 >random.gsm
for i in $(seq 20); do echo "Line $i of a plain text file: not media, though its name is one a demuxer takes."; done >text.txt
for i in $(seq 40); do printf '\033[1;3%dm ANSI art, row %d \033[0m\033[44m ### ### \033[0m\r\n' $((i % 8)) "$i"; done >ansi_art.txt
{ printf 'XBIN\032\120\000\031\000\020\000'; for _ in $(seq 2000); do printf 'A\037'; done; } >art.xb

rm -rf "$out"
mv "$out.tmp" "$out"

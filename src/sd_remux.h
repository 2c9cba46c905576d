/* sd_remux: the remux of a media file into a fragmented MP4 that Chromium plays through Media
 * Source Extensions, and its fragment index. Owns the output side: the MP4 muxer (libavformat's,
 * movflags frag_keyframe+delay_moov+default_base_moof: tracks keep their source timing, so audio
 * and video stay in sync), a write-only AVIOContext that hands bytes on as they come (file,
 * stdout or the caller's sink) and notes where each fragment's moof starts, HEVC as hvc1 (its
 * parameter sets in the hvcC; the muxer converts Annex B input from MPEG-TS), the ADTS-to-MP4 fix
 * for AAC, and the optional transcode of non-MSE audio (MP3, AC-3, ...) to AAC with libavcodec.
 * Video is never transcoded: a file whose video needs it fails with the verdict's reason
 * (sd_probe.h).
 *
 * Fragments start on video keyframes and last about 2 s (at least 1.9 s, more when keyframes are
 * rarer); audio-only files are cut every 2 s. Memory is bounded by one fragment plus libav's
 * buffers: the input is read packet by packet and the output written as it goes.
 *
 * Failures return false with err (sd_error.h): the probe's codes for the input, SD_ERR_MEDIA_UNPLAYABLE
 * when the probe's verdict allows no remux (its reason), SD_ERR_MEDIA_MUX when libav cannot write
 * the MP4 or transcode, SD_ERR_IO when a write fails, SD_ERR_CANCELLED when the progress callback
 * stops it; everything allocated is freed on every path, and a partial output file is removed.
 * No global state. */
#ifndef SD_REMUX_H
#define SD_REMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_probe.h"

typedef struct sd_remux_fragment {
	uint64_t time_ms; /* start, from the start of the output (the first fragment is at 0) */
	uint64_t offset;  /* byte offset of its moof box in the output */
} sd_remux_fragment;

typedef struct sd_remux_output {
	char mime[256];            /* e.g. video/mp4; codecs="avc1.64001f, mp4a.40.2" */
	uint64_t size;             /* bytes written */
	uint64_t init_size;        /* ftyp+moov, == fragments[0].offset */
	sd_remux_fragment *fragments; size_t n_fragments; /* malloc'd, offsets strictly increasing */
	double duration;           /* seconds */
} sd_remux_output;

/* Called now and then; returning false cancels the remux (it then fails with SD_ERR_CANCELLED). */
typedef bool (*sd_remux_progress)(void *opaque, double seconds_done, double seconds_total);

typedef struct sd_remux_options {
	bool transcode_audio;      /* transcode MP3, AC-3 and other non-MSE audio to AAC */
	sd_remux_progress progress;
	void *opaque;
	/* Added: stop reading after this many input packets as if the input ended there (0: no
	 * limit). For bounded runs such as the fuzz harness. */
	uint64_t max_packets;
} sd_remux_options;

/* The remux of the input in_fd (opened by the caller, read as sd_probe_open_fd reads it; name
 * names it) written to out_fd from its current offset as it goes. Neither descriptor is closed;
 * out_fd holds a partial output after a failure (the caller removes it). opts may be NULL. */
bool sd_remux_fd(int in_fd, const char *name, int out_fd, const sd_remux_options *opts, sd_remux_output *out,
                 sd_error *err);
/* sd_remux_fd from the file in_path into out_path, created or emptied ("-" = stdout); refused
 * when out_path is in_path; a partial out file is removed. */
bool sd_remux_file(const char *in_path, const char *out_path, const sd_remux_options *opts, sd_remux_output *out,
                   sd_error *err);

void sd_remux_output_clear(sd_remux_output *out); /* frees the fragments; NULL is fine */

/* Where sd_remux_input writes: gets every output byte in order; returning false fails the remux
 * with SD_ERR_IO "write failed" and the reason the sink left in its own state. */
typedef bool (*sd_remux_sink)(void *opaque, const uint8_t *buf, size_t len);

/* The remux over an input the caller opened (avformat_open_input + avformat_find_stream_info) and
 * probed with sd_probe_input; ic is read to its end but left open for the caller to close. Fails
 * unless the probe's verdict allows a remux (with opts->transcode_audio for audio_transcode). */
bool sd_remux_input(struct AVFormatContext *ic, const sd_probe *probe, sd_remux_sink sink, void *sink_opaque,
                    const sd_remux_options *opts, sd_remux_output *out, sd_error *err);

/* JSON of a result: {"mime","size","init_size","duration","fragments":[{"time_ms","offset"}]};
 * NULL when out of memory. */
json_t *sd_remux_output_to_json(const sd_remux_output *out);

#endif

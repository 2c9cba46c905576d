/* sd_probe: what a media file is and what it takes to play it in a browser through Media Source
 * Extensions. Owns the opening of an input with libavformat, the description of its container and
 * streams, the verdict for each stream and for the file (as_is, remux to fragmented MP4,
 * transcode, unsupported, with a one-line reason), and the MSE MIME type with RFC 6381 codec
 * strings of what sd_remux would write (and of every audio and video stream), read from the
 * codec configuration boxes of a real MP4 init segment (the same parser reads sd_remux's output).
 * Built on FFmpeg 5.1 (libavformat, libavcodec, libavutil) and jansson; no global state (libav's
 * log level is the caller's).
 *
 * Functions that can fail return false and fill err (sd_error.h): SD_ERR_MEDIA_FORMAT for what is
 * not a media file libavformat reads, SD_ERR_MEDIA_INIT for a bad MP4 init segment, SD_ERR_IO
 * when the file cannot be read, SD_ERR_MEMORY, or SD_ERR_ARGUMENT. Inputs are read through a
 * descriptor opened once (sd_probe_open_fd): nothing is reopened by name. The probe struct owns
 * its stream array; free it with sd_probe_clear. */
#ifndef SD_PROBE_H
#define SD_PROBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

struct AVCodecParameters;
struct AVFormatContext;

typedef enum {
	SD_VERDICT_AS_IS = 0,     /* already MSE-playable: fragmented MP4 or WebM with MSE codecs */
	SD_VERDICT_REMUX,         /* sd_remux makes a playable fragmented MP4 (copying the streams) */
	SD_VERDICT_TRANSCODE,     /* a kept stream must be transcoded first (the reason says which) */
	SD_VERDICT_UNSUPPORTED,   /* nothing playable in it */
	SD_VERDICT_DROP,          /* streams only: left out of the output (subtitles, extra tracks...) */
} sd_probe_verdict;

/* "as_is", "remux", "transcode", "unsupported", "drop". */
const char *sd_probe_verdict_name(sd_probe_verdict verdict);

#define SD_PROBE_REASON_MAX 192
#define SD_PROBE_MIME_MAX 256
#define SD_PROBE_INIT_MAX (4u << 20) /* the largest MP4 init segment read or written */

typedef struct sd_probe_stream {
	int index;                 /* in the input */
	char type[16];             /* video, audio, subtitle, data, attachment, unknown */
	char codec[32];            /* libavcodec's short name, "unknown" if none */
	char profile[48];          /* "" if unknown */
	int width, height;         /* video; 0 otherwise */
	double fps;                /* video, average frame rate; 0 if unknown */
	int sample_rate, channels; /* audio; 0 otherwise */
	char language[16];         /* the stream's language tag, "" if none */
	/* RFC 6381, of this stream as a copy into MP4 carries it (read back from a one-track init
	 * segment; ac-3, ec-3), whatever its verdict: hvc1.1.6.L93.B0, mp4v.20.9, mp4a.6b. "" for
	 * what MP4 cannot hold (VP8, PCM, subtitles...). For audio the remux transcodes, the file's
	 * mime has the AAC string instead. */
	char codec_string[64];
	sd_probe_verdict verdict;  /* as_is or remux (kept), transcode, unsupported, drop */
	char reason[SD_PROBE_REASON_MAX]; /* why, for transcode, unsupported and drop; "" otherwise */
	bool audio_transcodable;   /* audio sd_remux can transcode to AAC when asked (transcode_audio) */
} sd_probe_stream;

typedef struct sd_probe {
	char format[64];           /* libavformat's demuxer name, e.g. "matroska,webm" */
	double duration;           /* seconds; 0 if unknown */
	sd_probe_stream *streams;  /* malloc'd, n_streams entries */
	size_t n_streams;
	int video_index, audio_index; /* the input streams the output keeps, -1 for none */
	sd_probe_verdict verdict;  /* as_is, remux, transcode or unsupported */
	char reason[SD_PROBE_REASON_MAX]; /* for transcode and unsupported */
	/* Only audio stands in the way and sd_remux transcodes it to AAC with transcode_audio. */
	bool audio_transcode;
	/* What sd_remux writes: video/mp4 or audio/mp4 with codecs="..."; with audio_transcode, the
	 * output of a remux with transcode_audio. "" when the file cannot be remuxed. */
	char mime[SD_PROBE_MIME_MAX];
	/* For as_is files, the type to append them under unchanged (video/webm; codecs="vp9, opus"),
	 * read from a fragmented MP4's own init segment. */
	char as_is_mime[SD_PROBE_MIME_MAX];
} sd_probe;

/* Opens path with libavformat, reads its stream information and fills probe. Fails (with a
 * one-line reason) for a file that cannot be opened or is not a media file libavformat knows
 * (see sd_probe_open); a file it knows but cannot play is a success with verdict unsupported or
 * transcode. */
bool sd_probe_file(const char *path, sd_probe *probe, sd_error *err);

/* The same over an input the caller opened (avformat_open_input and avformat_find_stream_info
 * done); reads nothing but a few header bytes through ic->pb, whose position it restores. Fails
 * for text-mode art as sd_probe_open does. */
bool sd_probe_input(struct AVFormatContext *ic, sd_probe *probe, sd_error *err);

void sd_probe_clear(sd_probe *probe); /* frees the streams; NULL and a cleared probe are fine */

/* {"format","duration","verdict","reason"?,"audio_transcode","mime","as_is_mime"?,
 *  "streams":[{"index","type","codec","profile"?,"width","height","fps","sample_rate",
 *  "channels","language"?,"codec_string"?,"verdict","reason"?}]}; NULL only when out of memory. */
json_t *sd_probe_to_json(const sd_probe *probe);

/* The codec strings of every track of an MP4 init segment (ftyp + moov), in track order, as a
 * MIME type: video/mp4 when a video track is there, else audio/mp4. Knows avc1/avc3 (avcC),
 * hvc1/hev1 (hvcC), vp09 (vpcC), av01 (av1C), mp4v (esds: MPEG-4 Part 2's profile and level,
 * or the object type), mp4a (esds: AAC object type from the AudioSpecificConfig, or the object
 * type), Opus, fLaC, ac-3, ec-3. Fails for a malformed segment or a track whose sample entry it
 * does not know. */
bool sd_probe_mime_from_init(const uint8_t *init, size_t len, char *mime, size_t mime_size, sd_error *err);

/* Opens libavformat's input over fd, a regular file the caller opened for reading: read with pread
 * (the descriptor's offset does not matter, and nothing reopens the file by its name), checked
 * with fstat first. name is the file's name: reasons begin with it, and libavformat may go by its
 * extension. On failure *ic is NULL and err says why (not a regular file, empty, not a media file,
 * truncated). "Not a media file" also covers what libavformat would open but is none: text-mode
 * art (ANSI art, a .txt file, BinText, XBin, iCE Draw) and a file whose name alone points to a
 * format: its bytes, probed without the name, match none (random bytes named x.gsm, headerless
 * raw data such as PCM named .sw). fd stays the caller's: close it after sd_probe_close. */
bool sd_probe_open_fd(int fd, const char *name, struct AVFormatContext **ic, sd_error *err);
/* sd_probe_open_fd over path, opened here (SD_ERR_IO when it cannot be) and closed by sd_probe_close. */
bool sd_probe_open(const char *path, struct AVFormatContext **ic, sd_error *err);
/* Closes an input of sd_probe_open or sd_probe_open_fd; *ic becomes NULL (NULL is fine). */
void sd_probe_close(struct AVFormatContext **ic);

/* The MP4 sample entry (AVCodecParameters.codec_tag) sd_remux writes for a copied stream: hvc1
 * for HEVC, whose parameter sets then sit in the hvcC as Safari and TV browsers want (the
 * muxer's default is hev1); 0, the muxer's own choice, for every other codec. */
uint32_t sd_probe_mp4_tag(const struct AVCodecParameters *par);

/* Formats a libav error code for a reason ("End of file", "Invalid data found ..."). */
void sd_probe_av_error(int code, char *buf, size_t size);
#endif

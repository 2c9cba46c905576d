#include "sd_probe.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/dict.h>
#include <libavutil/intreadwrite.h>
#include <libavutil/mem.h>
#include <libavutil/opt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

void sd_probe_av_error(int code, char *buf, size_t size)
{
	if (av_strerror(code, buf, size) < 0)
		snprintf(buf, size, "libav error %d", code);
}

const char *sd_probe_verdict_name(sd_probe_verdict verdict)
{
	switch (verdict) {
	case SD_VERDICT_AS_IS: return "as_is";
	case SD_VERDICT_REMUX: return "remux";
	case SD_VERDICT_TRANSCODE: return "transcode";
	case SD_VERDICT_UNSUPPORTED: return "unsupported";
	case SD_VERDICT_DROP: return "drop";
	}
	return "unsupported";
}

uint32_t sd_probe_mp4_tag(const AVCodecParameters *par)
{
	return par->codec_id == AV_CODEC_ID_HEVC ? MKTAG('h', 'v', 'c', '1') : 0;
}

/* ---- Opening ---------------------------------------------------------------------------------- */

/* Text-mode art (ANSI and ASCII art, BinText, XBin, iCE Draw): libavformat shows it as video, but
 * it is text, not media. Its demuxers make their one stream in their header. Returns the codec's
 * name, or NULL for anything else. */
static const char *text_art(const AVFormatContext *ic)
{
	for (unsigned i = 0; i < ic->nb_streams; i++) {
		enum AVCodecID id = ic->streams[i]->codecpar->codec_id;
		if (id == AV_CODEC_ID_ANSI || id == AV_CODEC_ID_BINTEXT || id == AV_CODEC_ID_XBIN || id == AV_CODEC_ID_IDF) {
			const AVCodecDescriptor *d = avcodec_descriptor_get(id);
			return d && d->long_name ? d->long_name : avcodec_get_name(id);
		}
	}
	return NULL;
}

/* The file an input reads: its descriptor (pread only, so the offset is left alone) and its size
 * from fstat. Owned by the input's AVIOContext (opaque), freed by sd_probe_close. */
typedef struct fd_input {
	int fd;
	bool owns_fd; /* sd_probe_open opened it */
	int64_t size, pos;
} fd_input;

static int fd_read(void *opaque, uint8_t *buf, int len)
{
	fd_input *in = opaque;
	if (in->pos >= in->size)
		return AVERROR_EOF;
	ssize_t n;
	do
		n = pread(in->fd, buf, (size_t)len, (off_t)in->pos);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return AVERROR(errno);
	if (n == 0)
		return AVERROR_EOF;
	in->pos += n;
	return (int)n;
}

static int64_t fd_seek(void *opaque, int64_t offset, int whence)
{
	fd_input *in = opaque;
	int64_t base;
	switch (whence & ~AVSEEK_FORCE) {
	case AVSEEK_SIZE: return in->size;
	case SEEK_SET: base = 0; break;
	case SEEK_CUR: base = in->pos; break;
	case SEEK_END: base = in->size; break;
	default: return AVERROR(EINVAL);
	}
	if ((offset > 0 && base > INT64_MAX - offset) || base + offset < 0)
		return AVERROR(EINVAL);
	in->pos = base + offset;
	return in->pos;
}

#define IO_BUFFER 32768

/* A read-only, seekable AVIOContext over in (which it does not own), or NULL. */
static AVIOContext *fd_avio(fd_input *in)
{
	uint8_t *buf = av_malloc(IO_BUFFER);
	AVIOContext *pb = buf ? avio_alloc_context(buf, IO_BUFFER, 0, in, fd_read, NULL, fd_seek) : NULL;
	if (!pb)
		av_free(buf);
	return pb;
}

static void fd_avio_free(AVIOContext **pb)
{
	if (*pb) {
		av_freep(&(*pb)->buffer);
		avio_context_free(pb);
	}
}

/* Fails when only the file's name points to a format. An extension match alone scores
 * AVPROBE_SCORE_EXTENSION, so a demuxer chosen with no more may have been chosen by the name
 * alone (200 kB of random bytes named x.bin open as BinText, as GSM audio named x.gsm): then the
 * first bytes, probed again without the name, must match some format (not always the same one: a
 * JPEG named .jpg is image2 by its name, jpeg_pipe by its bytes). */
static bool bytes_match_a_format(const char *name, const fd_input *file, const AVFormatContext *ic, sd_error *err)
{
	if (ic->probe_score > AVPROBE_SCORE_EXTENSION)
		return true;
	fd_input again = {.fd = file->fd, .size = file->size};
	AVIOContext *pb = fd_avio(&again);
	if (!pb)
		return sd_fail(err, SD_ERR_MEMORY, "out of memory");
	const AVInputFormat *fmt = NULL;
	int ret = av_probe_input_buffer2(pb, &fmt, "", NULL, 0, 0);
	fd_avio_free(&pb);
	if (ret == AVERROR_INVALIDDATA)
		return sd_fail(err, SD_ERR_MEDIA_FORMAT, "%s: not a media file (only its name points to libavformat's %s demuxer; its bytes match no format)",
		               name, ic->iformat->name);
	if (ret < 0) {
		char why[128];
		sd_probe_av_error(ret, why, sizeof why);
		return sd_fail(err, SD_ERR_IO, "%s: %s", name, why);
	}
	return true;
}

static void file_free(fd_input *file)
{
	if (file->owns_fd)
		close(file->fd);
	free(file);
}

/* Opens the input over file (taken: freed on failure, else by sd_probe_close). */
static bool open_input(fd_input *file, const char *name, AVFormatContext **icp, sd_error *err)
{
	char why[128];
	AVIOContext *pb = fd_avio(file);
	AVFormatContext *ic = pb ? avformat_alloc_context() : NULL;
	if (!ic) {
		fd_avio_free(&pb);
		file_free(file);
		return sd_fail(err, SD_ERR_MEMORY, "out of memory");
	}
	ic->pb = pb;
	ic->flags |= AVFMT_FLAG_CUSTOM_IO;
	int ret = avformat_open_input(&ic, name, NULL, NULL); /* frees ic on failure, never pb */
	if (ret < 0) {
		fd_avio_free(&pb);
		file_free(file);
		sd_probe_av_error(ret, why, sizeof why);
		return sd_fail(err, SD_ERR_MEDIA_FORMAT, "%s: not a media file libavformat can read (%s)", name, why);
	}
	*icp = ic; /* sd_probe_close frees pb and file from here on */
	if (!bytes_match_a_format(name, file, ic, err))
		goto fail;
	const char *art = text_art(ic);
	if (art) {
		sd_fail(err, SD_ERR_MEDIA_FORMAT, "%s: not a media file (libavformat reads it as text-mode art: %s)", name, art);
		goto fail;
	}
	ret = avformat_find_stream_info(ic, NULL);
	if (ret < 0) {
		sd_probe_av_error(ret, why, sizeof why);
		sd_fail(err, SD_ERR_MEDIA_FORMAT, "%s: cannot read its stream information, truncated or corrupt (%s)", name, why);
		goto fail;
	}
	if (ic->nb_streams == 0) {
		sd_fail(err, SD_ERR_MEDIA_FORMAT, "%s: no streams in it", name);
		goto fail;
	}
	return true;
fail:
	sd_probe_close(icp);
	return false;
}

/* The checks and input of sd_probe_open_fd; file->fd and owns_fd are set, file is taken. */
static bool open_file(fd_input *file, const char *name, AVFormatContext **icp, sd_error *err)
{
	struct stat sb;
	bool ok = false;
	if (fstat(file->fd, &sb) != 0)
		sd_fail(err, SD_ERR_IO, "%s: %s", name, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		sd_fail(err, SD_ERR_MEDIA_FORMAT, "%s: not a regular file", name);
	else if (sb.st_size == 0)
		sd_fail(err, SD_ERR_MEDIA_FORMAT, "%s: empty file (0 bytes)", name);
	else
		ok = true;
	if (!ok) {
		file_free(file);
		return false;
	}
	file->size = sb.st_size;
	return open_input(file, name, icp, err);
}

bool sd_probe_open_fd(int fd, const char *name, AVFormatContext **icp, sd_error *err)
{
	*icp = NULL;
	fd_input *file = calloc(1, sizeof *file);
	if (!file)
		return sd_fail(err, SD_ERR_MEMORY, "out of memory");
	file->fd = fd;
	return open_file(file, name, icp, err);
}

bool sd_probe_open(const char *path, AVFormatContext **icp, sd_error *err)
{
	*icp = NULL;
	fd_input *file = calloc(1, sizeof *file);
	if (!file)
		return sd_fail(err, SD_ERR_MEMORY, "out of memory");
	file->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (file->fd < 0) {
		free(file);
		return sd_fail(err, SD_ERR_IO, "%s: %s", path, strerror(errno));
	}
	file->owns_fd = true;
	return open_file(file, path, icp, err);
}

void sd_probe_close(AVFormatContext **icp)
{
	if (!icp || !*icp)
		return;
	AVIOContext *pb = (*icp)->pb;
	fd_input *file = pb ? pb->opaque : NULL;
	avformat_close_input(icp);
	fd_avio_free(&pb);
	if (file)
		file_free(file);
}

/* ---- Sniffing the container's first bytes ----------------------------------------------------- */

/* The offset of the first moof of an ISO BMFF file when its top-level boxes reach one before
 * any mdat (a fragmented MP4: what comes before is its init segment), else 0. */
static int64_t first_moof(AVIOContext *pb)
{
	int64_t pos = 0;
	for (int i = 0; i < 64; i++) {
		if (avio_seek(pb, pos, SEEK_SET) != pos)
			return 0;
		uint8_t head[16];
		if (avio_read(pb, head, 8) != 8)
			return 0;
		uint64_t size = AV_RB32(head);
		uint32_t type = AV_RB32(head + 4);
		if (type == MKBETAG('m', 'o', 'o', 'f'))
			return pos;
		if (type == MKBETAG('m', 'd', 'a', 't'))
			return 0;
		if (size == 1) {
			if (avio_read(pb, head + 8, 8) != 8)
				return 0;
			size = AV_RB64(head + 8);
			if (size < 16)
				return 0;
		} else if (size < 8) {
			return 0; /* 0 = to the end of the file: nothing after it */
		}
		if (size > (uint64_t)INT64_MAX - (uint64_t)pos)
			return 0;
		pos += (int64_t)size;
	}
	return 0;
}

/* The MIME type of a fragmented MP4 played as it is, from the codec strings of its own init
 * segment: its sample entries may not be the ones the remux writes (hev1, avc3). False when the
 * file is not a fragmented MP4 or its init segment is too large or holds a codec
 * sd_probe_mime_from_init does not know: then it is remuxed. */
static bool fragmented_mp4_mime(AVIOContext *pb, char *mime, size_t size)
{
	int64_t init_len = first_moof(pb);
	if (init_len <= 0 || init_len > SD_PROBE_INIT_MAX || avio_seek(pb, 0, SEEK_SET) != 0)
		return false;
	uint8_t *init = av_malloc((size_t)init_len);
	if (!init)
		return false;
	bool ok = avio_read(pb, init, (int)init_len) == init_len &&
	          sd_probe_mime_from_init(init, (size_t)init_len, mime, size, NULL);
	av_free(init);
	return ok;
}

/* True when the EBML header's DocType is "webm". */
static bool sniff_webm(AVIOContext *pb)
{
	uint8_t buf[64];
	if (avio_seek(pb, 0, SEEK_SET) != 0)
		return false;
	int n = avio_read(pb, buf, sizeof buf);
	for (int i = 0; i + 7 <= n; i++)
		if (buf[i] == 0x42 && buf[i + 1] == 0x82 && buf[i + 2] == 0x84 && memcmp(buf + i + 3, "webm", 4) == 0)
			return true;
	return false;
}

/* ---- Verdicts ---------------------------------------------------------------------------------- */

static bool is_format(const AVFormatContext *ic, const char *name)
{
	return ic->iformat && ic->iformat->name && strcmp(ic->iformat->name, name) == 0;
}

static sd_probe_verdict video_verdict(const AVFormatContext *ic, const AVStream *st, char *reason, size_t size)
{
	const AVCodecParameters *par = st->codecpar;
	switch (par->codec_id) {
	case AV_CODEC_ID_H264:
	case AV_CODEC_ID_HEVC: {
		const char *name = par->codec_id == AV_CODEC_ID_H264 ? "H.264" : "HEVC";
		if (is_format(ic, "h264") || is_format(ic, "hevc")) {
			snprintf(reason, size, "raw %s has no timestamps: transcode it (or mux it into MP4 with a frame rate)", name);
			return SD_VERDICT_TRANSCODE;
		}
		if (is_format(ic, "avi") && par->video_delay > 0) {
			snprintf(reason, size, "AVI with B-frames loses presentation order: transcode the video");
			return SD_VERDICT_TRANSCODE;
		}
		/* hvc1's hvcC holds the parameter sets, made from the extradata: hvcC, or Annex B from
		 * MPEG-TS, which the MP4 muxer converts (and the packets with it; sets repeated in band
		 * stay in the samples, as with ffmpeg -tag:v hvc1). */
		if (par->codec_id == AV_CODEC_ID_HEVC && par->extradata_size == 0) {
			snprintf(reason, size, "HEVC without its parameter sets in the stream information: no hvcC can be made");
			return SD_VERDICT_UNSUPPORTED;
		}
		return SD_VERDICT_REMUX;
	}
	case AV_CODEC_ID_VP9:
	case AV_CODEC_ID_AV1:
		return SD_VERDICT_REMUX;
	case AV_CODEC_ID_MPEG4:
		snprintf(reason, size, "MPEG-4 Part 2 video is not playable through MSE: transcode the video to H.264");
		return SD_VERDICT_TRANSCODE;
	case AV_CODEC_ID_VP8:
		snprintf(reason, size, "VP8 video plays through MSE only from WebM, not MP4");
		return SD_VERDICT_TRANSCODE;
	case AV_CODEC_ID_NONE:
		snprintf(reason, size, "unknown video codec");
		return SD_VERDICT_UNSUPPORTED;
	default:
		snprintf(reason, size, "%s video is not playable through MSE: transcode the video to H.264",
		         avcodec_get_name(par->codec_id));
		return SD_VERDICT_TRANSCODE;
	}
}

/* Opens the stream's decoder to learn the sample format it gives: the AAC encoder takes planar
 * float, and without libswresample nothing else can be fed to it. */
static bool decodes_to_fltp(const AVCodecParameters *par, char *fmt_name, size_t size)
{
	snprintf(fmt_name, size, "nothing");
	const AVCodec *dec = avcodec_find_decoder(par->codec_id);
	if (!dec)
		return false;
	AVCodecContext *ctx = avcodec_alloc_context3(dec);
	if (!ctx)
		return false;
	bool ok = false;
	if (avcodec_parameters_to_context(ctx, par) >= 0 && avcodec_open2(ctx, dec, NULL) >= 0) {
		const char *name = av_get_sample_fmt_name(ctx->sample_fmt);
		snprintf(fmt_name, size, "%s", name ? name : "unknown");
		ok = ctx->sample_fmt == AV_SAMPLE_FMT_FLTP;
	}
	avcodec_free_context(&ctx);
	return ok;
}

static sd_probe_verdict audio_verdict(const AVStream *st, bool *transcodable, char *reason, size_t size)
{
	const AVCodecParameters *par = st->codecpar;
	*transcodable = false;
	const char *what;
	switch (par->codec_id) {
	case AV_CODEC_ID_AAC:
	case AV_CODEC_ID_OPUS:
	case AV_CODEC_ID_FLAC:
		return SD_VERDICT_REMUX;
	case AV_CODEC_ID_NONE:
		snprintf(reason, size, "unknown audio codec: left out");
		return SD_VERDICT_DROP;
	case AV_CODEC_ID_MP3:
		what = "MP3 audio cannot go in MP4 for Chromium";
		break;
	case AV_CODEC_ID_AC3:
		what = "AC-3 audio is not playable in Chromium";
		break;
	case AV_CODEC_ID_EAC3:
		what = "E-AC-3 audio is not playable in Chromium";
		break;
	default:
		what = NULL;
		break;
	}
	char generic[64];
	if (!what) {
		snprintf(generic, sizeof generic, "%s audio is not playable through MSE in MP4", avcodec_get_name(par->codec_id));
		what = generic;
	}
	char fmt[24];
	if (decodes_to_fltp(par, fmt, sizeof fmt)) {
		*transcodable = true;
		snprintf(reason, size, "%s: transcode to AAC (--transcode-audio)", what);
	} else {
		snprintf(reason, size, "%s, and it decodes to %s, which swarmdrop cannot feed to the AAC encoder", what, fmt);
	}
	return SD_VERDICT_TRANSCODE;
}

static const char *type_name(enum AVMediaType type)
{
	switch (type) {
	case AVMEDIA_TYPE_VIDEO: return "video";
	case AVMEDIA_TYPE_AUDIO: return "audio";
	case AVMEDIA_TYPE_SUBTITLE: return "subtitle";
	case AVMEDIA_TYPE_DATA: return "data";
	case AVMEDIA_TYPE_ATTACHMENT: return "attachment";
	default: return "unknown";
	}
}

/* Picks the stream of a type to keep: a playable one before one that needs work, the default
 * one before others, then the first. -1 if none. */
static int pick_stream(const AVFormatContext *ic, const sd_probe *probe, enum AVMediaType type)
{
	int best = -1, best_score = -1;
	for (unsigned i = 0; i < ic->nb_streams; i++) {
		const AVStream *st = ic->streams[i];
		if (st->codecpar->codec_type != type || (st->disposition & AV_DISPOSITION_ATTACHED_PIC))
			continue;
		sd_probe_verdict v = probe->streams[i].verdict;
		if (v == SD_VERDICT_DROP)
			continue;
		int score = (v == SD_VERDICT_REMUX ? 4 : v == SD_VERDICT_TRANSCODE ? 2 : 0) +
		            ((st->disposition & AV_DISPOSITION_DEFAULT) ? 1 : 0);
		if (score > best_score) {
			best = (int)i;
			best_score = score;
		}
	}
	return best;
}

/* ---- The would-be init segment ---------------------------------------------------------------- */

static const int aac_rates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350};

/* An AudioSpecificConfig for an AAC stream without one (ADTS), as aac_adtstoasc makes from the
 * ADTS header: object type, sampling frequency index, channel configuration. */
static int make_asc(int aot, int rate, int channels, uint8_t out[5])
{
	int idx = 15;
	for (int i = 0; i < (int)(sizeof aac_rates / sizeof aac_rates[0]); i++)
		if (aac_rates[i] == rate)
			idx = i;
	if (aot < 1 || aot > 30 || channels < 0 || channels > 7)
		return -1;
	if (idx != 15) {
		out[0] = (uint8_t)(aot << 3 | idx >> 1);
		out[1] = (uint8_t)((idx & 1) << 7 | channels << 3);
		return 2;
	}
	/* explicit 24-bit frequency */
	uint64_t bits = (uint64_t)aot << 35 | (uint64_t)15 << 31 | (uint64_t)(rate & 0xffffff) << 7 | (uint64_t)channels << 3;
	for (int i = 0; i < 5; i++)
		out[i] = (uint8_t)(bits >> (32 - 8 * i));
	return 5;
}

static bool add_init_stream(AVFormatContext *oc, const AVStream *in, bool transcode_to_aac, sd_error *err)
{
	AVStream *st = avformat_new_stream(oc, NULL);
	if (!st)
		return sd_fail(err, SD_ERR_MEMORY, "out of memory");
	const AVCodecParameters *ip = in->codecpar;
	AVCodecParameters *op = st->codecpar;
	int ret;
	if (transcode_to_aac) {
		op->codec_type = AVMEDIA_TYPE_AUDIO;
		op->codec_id = AV_CODEC_ID_AAC;
		op->sample_rate = ip->sample_rate;
		if ((ret = av_channel_layout_copy(&op->ch_layout, &ip->ch_layout)) < 0)
			return sd_fail(err, SD_ERR_MEMORY, "out of memory");
	} else if ((ret = avcodec_parameters_copy(op, ip)) < 0) {
		return sd_fail(err, SD_ERR_MEMORY, "out of memory");
	}
	op->codec_tag = sd_probe_mp4_tag(op);
	st->time_base = op->codec_type == AVMEDIA_TYPE_AUDIO && op->sample_rate > 0 ? (AVRational){1, op->sample_rate}
	                                                                             : in->time_base;
	if (op->codec_id == AV_CODEC_ID_AAC && op->extradata_size == 0) {
		/* ADTS input, or the AAC encoder's output: AAC-LC unless the stream says otherwise */
		int aot = !transcode_to_aac && ip->profile >= 0 && ip->profile < 30 ? ip->profile + 1 : 2;
		uint8_t asc[5];
		int n = make_asc(aot, op->sample_rate, op->ch_layout.nb_channels, asc);
		if (n < 0)
			return sd_fail(err, SD_ERR_MEDIA_MUX, "AAC with %d channels and object type %d has no MP4 configuration",
			            op->ch_layout.nb_channels, aot);
		op->extradata = av_mallocz((size_t)n + AV_INPUT_BUFFER_PADDING_SIZE);
		if (!op->extradata)
			return sd_fail(err, SD_ERR_MEMORY, "out of memory");
		memcpy(op->extradata, asc, (size_t)n);
		op->extradata_size = n;
	}
	return true;
}

/* Writes the init segment of an MP4 with these input streams (either may be NULL) as the remux
 * would start it (codec configuration only: empty_moov; the audio as the AAC encoder's output
 * with audio_to_aac) and reads the codec strings back from it. */
static bool init_mime(const AVStream *video, const AVStream *audio, bool audio_to_aac, char *mime, size_t mime_size,
                      sd_error *err)
{
	AVFormatContext *oc = NULL;
	AVIOContext *dyn = NULL;
	uint8_t *buf = NULL;
	bool ok = false;
	char why[128];
	int ret = avformat_alloc_output_context2(&oc, NULL, "mp4", NULL);
	if (ret < 0 || !oc)
		return sd_fail(err, SD_ERR_MEDIA_MUX, "cannot make an MP4 muxer");
	if (video && !add_init_stream(oc, video, false, err))
		goto out;
	if (audio && !add_init_stream(oc, audio, audio_to_aac, err))
		goto out;
	if ((ret = avio_open_dyn_buf(&dyn)) < 0) {
		sd_fail(err, SD_ERR_MEMORY, "out of memory");
		goto out;
	}
	oc->pb = dyn;
	AVDictionary *opts = NULL;
	if (av_dict_set(&opts, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0) < 0) {
		av_dict_free(&opts);
		sd_fail(err, SD_ERR_MEMORY, "out of memory");
		goto out;
	}
	ret = avformat_write_header(oc, &opts);
	av_dict_free(&opts);
	if (ret < 0) {
		sd_probe_av_error(ret, why, sizeof why);
		sd_fail(err, SD_ERR_MEDIA_MUX, "the MP4 muxer refuses these streams (%s)", why);
		goto out;
	}
	avio_flush(dyn);
	int len = avio_get_dyn_buf(dyn, &buf);
	ok = sd_probe_mime_from_init(buf, (size_t)len, mime, mime_size, err);
	buf = NULL; /* owned by dyn */
out:
	if (dyn) {
		uint8_t *tmp = NULL;
		avio_close_dyn_buf(dyn, &tmp);
		av_free(tmp);
		oc->pb = NULL;
	}
	avformat_free_context(oc);
	return ok;
}

/* A stream's own codec string, as its copy into MP4 carries it, whatever its verdict: a player
 * with decoders Chromium lacks (a TV's AC-3, an MPEG-4 Part 2 one) can judge it. Left "" when the
 * MP4 muxer takes no such stream (VP8, Vorbis, PCM...). */
static void own_codec_string(const AVStream *st, sd_probe_stream *s)
{
	char mime[SD_PROBE_MIME_MAX];
	enum AVCodecID id = st->codecpar->codec_id;
	bool video = st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO;
	const char *q; /* video/mp4; codecs="..." */
	if (init_mime(video ? st : NULL, video ? NULL : st, false, mime, sizeof mime, NULL) &&
	    (q = strchr(mime, '"')))
		snprintf(s->codec_string, sizeof s->codec_string, "%.*s", (int)strcspn(q + 1, "\""), q + 1);
	else if (id == AV_CODEC_ID_AC3 || id == AV_CODEC_ID_EAC3) /* the muxer makes their box from a packet */
		snprintf(s->codec_string, sizeof s->codec_string, "%s", id == AV_CODEC_ID_AC3 ? "ac-3" : "ec-3");
}

/* ---- The probe ---------------------------------------------------------------------------------- */

static void describe_stream(const AVStream *st, sd_probe_stream *s)
{
	const AVCodecParameters *par = st->codecpar;
	s->index = st->index;
	snprintf(s->type, sizeof s->type, "%s", type_name(par->codec_type));
	snprintf(s->codec, sizeof s->codec, "%s", par->codec_id == AV_CODEC_ID_NONE ? "unknown" : avcodec_get_name(par->codec_id));
	const char *profile = avcodec_profile_name(par->codec_id, par->profile);
	snprintf(s->profile, sizeof s->profile, "%s", profile ? profile : "");
	if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
		s->width = par->width;
		s->height = par->height;
		AVRational r = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate : st->r_frame_rate;
		s->fps = r.num > 0 && r.den > 0 ? av_q2d(r) : 0;
	} else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
		s->sample_rate = par->sample_rate;
		s->channels = par->ch_layout.nb_channels;
	}
	const AVDictionaryEntry *lang = av_dict_get(st->metadata, "language", NULL, 0);
	snprintf(s->language, sizeof s->language, "%s", lang && lang->value ? lang->value : "");
}

bool sd_probe_input(AVFormatContext *ic, sd_probe *probe, sd_error *err)
{
	memset(probe, 0, sizeof *probe);
	probe->video_index = probe->audio_index = -1;
	if (!ic || ic->nb_streams == 0)
		return sd_fail(err, SD_ERR_MEDIA_FORMAT, "no streams in the input");
	const char *art = text_art(ic);
	if (art)
		return sd_fail(err, SD_ERR_MEDIA_FORMAT, "not a media file (libavformat reads it as text-mode art: %s)", art);
	probe->streams = calloc(ic->nb_streams, sizeof *probe->streams);
	if (!probe->streams)
		return sd_fail(err, SD_ERR_MEMORY, "out of memory");
	probe->n_streams = ic->nb_streams;
	snprintf(probe->format, sizeof probe->format, "%s", ic->iformat && ic->iformat->name ? ic->iformat->name : "unknown");
	probe->duration = ic->duration > 0 ? (double)ic->duration / AV_TIME_BASE : 0;

	/* Every stream's own verdict first, as if it were the one kept. */
	for (unsigned i = 0; i < ic->nb_streams; i++) {
		const AVStream *st = ic->streams[i];
		sd_probe_stream *s = &probe->streams[i];
		describe_stream(st, s);
		switch (st->codecpar->codec_type) {
		case AVMEDIA_TYPE_VIDEO:
			if (st->disposition & AV_DISPOSITION_ATTACHED_PIC) {
				s->verdict = SD_VERDICT_DROP;
				snprintf(s->reason, sizeof s->reason, "cover art: left out");
			} else {
				s->verdict = video_verdict(ic, st, s->reason, sizeof s->reason);
				own_codec_string(st, s);
			}
			break;
		case AVMEDIA_TYPE_AUDIO:
			s->verdict = audio_verdict(st, &s->audio_transcodable, s->reason, sizeof s->reason);
			own_codec_string(st, s);
			break;
		case AVMEDIA_TYPE_SUBTITLE:
			s->verdict = SD_VERDICT_DROP;
			snprintf(s->reason, sizeof s->reason, "subtitles are left out");
			break;
		case AVMEDIA_TYPE_ATTACHMENT:
			s->verdict = SD_VERDICT_DROP;
			snprintf(s->reason, sizeof s->reason, "attachment (font, image): left out");
			break;
		default:
			s->verdict = SD_VERDICT_DROP;
			snprintf(s->reason, sizeof s->reason, "%s stream: left out", s->type);
			break;
		}
	}
	probe->video_index = pick_stream(ic, probe, AVMEDIA_TYPE_VIDEO);
	probe->audio_index = pick_stream(ic, probe, AVMEDIA_TYPE_AUDIO);
	for (unsigned i = 0; i < ic->nb_streams; i++) {
		sd_probe_stream *s = &probe->streams[i];
		if ((int)i == probe->video_index || (int)i == probe->audio_index || s->verdict == SD_VERDICT_DROP)
			continue;
		s->verdict = SD_VERDICT_DROP;
		snprintf(s->reason, sizeof s->reason, "extra %s stream: only one %s track is kept", s->type, s->type);
	}

	const sd_probe_stream *v = probe->video_index >= 0 ? &probe->streams[probe->video_index] : NULL;
	const sd_probe_stream *a = probe->audio_index >= 0 ? &probe->streams[probe->audio_index] : NULL;
	if (!v && !a) {
		probe->verdict = SD_VERDICT_UNSUPPORTED;
		snprintf(probe->reason, sizeof probe->reason, "no playable audio or video stream");
	} else if (v && v->verdict != SD_VERDICT_REMUX) {
		probe->verdict = v->verdict;
		snprintf(probe->reason, sizeof probe->reason, "%s", v->reason);
	} else if (a && a->verdict != SD_VERDICT_REMUX) {
		probe->verdict = a->verdict;
		probe->audio_transcode = a->audio_transcodable;
		snprintf(probe->reason, sizeof probe->reason, "%s", a->reason);
	} else {
		probe->verdict = SD_VERDICT_REMUX;
	}

	/* Already playable as it is? Sniffing reads through ic->pb; put it back where it was. */
	int64_t pos = ic->pb ? avio_tell(ic->pb) : -1;
	bool seekable = ic->pb && (ic->pb->seekable & AVIO_SEEKABLE_NORMAL);
	if (seekable && pos >= 0) {
		const char *vc = v ? avcodec_get_name(ic->streams[v->index]->codecpar->codec_id) : NULL;
		const char *ac = a ? avcodec_get_name(ic->streams[a->index]->codecpar->codec_id) : NULL;
		bool webm_codecs = (!v || !strcmp(vc, "vp8") || !strcmp(vc, "vp9") || !strcmp(vc, "av1")) &&
		                   (!a || !strcmp(ac, "opus") || !strcmp(ac, "vorbis"));
		if (probe->verdict == SD_VERDICT_REMUX && strstr(probe->format, "mp4") &&
		    fragmented_mp4_mime(ic->pb, probe->as_is_mime, sizeof probe->as_is_mime))
			probe->verdict = SD_VERDICT_AS_IS;
		else if ((probe->verdict == SD_VERDICT_REMUX || (v && !strcmp(vc, "vp8"))) && webm_codecs &&
		         !strcmp(probe->format, "matroska,webm") && sniff_webm(ic->pb)) {
			probe->verdict = SD_VERDICT_AS_IS;
			probe->reason[0] = '\0';
			snprintf(probe->as_is_mime, sizeof probe->as_is_mime, "%s/webm; codecs=\"%s%s%s\"", v ? "video" : "audio",
			         v ? (!strcmp(vc, "av1") ? "av01" : vc) : "", v && a ? ", " : "", a ? ac : "");
		}
		avio_seek(ic->pb, pos, SEEK_SET);
	}
	if (v && probe->verdict == SD_VERDICT_AS_IS && v->verdict == SD_VERDICT_REMUX)
		probe->streams[v->index].verdict = SD_VERDICT_AS_IS;
	if (a && probe->verdict == SD_VERDICT_AS_IS && a->verdict == SD_VERDICT_REMUX)
		probe->streams[a->index].verdict = SD_VERDICT_AS_IS;

	/* The MIME type of what the remux writes. */
	bool remuxable = (v == NULL || v->verdict == SD_VERDICT_REMUX || v->verdict == SD_VERDICT_AS_IS) &&
	                 (a == NULL || a->verdict == SD_VERDICT_REMUX || a->verdict == SD_VERDICT_AS_IS ||
	                  a->audio_transcodable);
	if (remuxable) {
		sd_error why;
		const AVStream *vs = v ? ic->streams[v->index] : NULL, *as = a ? ic->streams[a->index] : NULL;
		if (!init_mime(vs, as, a && a->verdict == SD_VERDICT_TRANSCODE, probe->mime, sizeof probe->mime, &why)) {
			probe->mime[0] = '\0';
			if (probe->verdict == SD_VERDICT_REMUX || probe->audio_transcode) {
				probe->verdict = SD_VERDICT_UNSUPPORTED;
				probe->audio_transcode = false;
				snprintf(probe->reason, sizeof probe->reason, "%s", why.message);
			}
		}
	}
	return true;
}

bool sd_probe_file(const char *path, sd_probe *probe, sd_error *err)
{
	memset(probe, 0, sizeof *probe);
	probe->video_index = probe->audio_index = -1;
	AVFormatContext *ic = NULL;
	if (!sd_probe_open(path, &ic, err))
		return false;
	bool ok = sd_probe_input(ic, probe, err);
	sd_probe_close(&ic);
	if (!ok)
		sd_probe_clear(probe);
	return ok;
}

void sd_probe_clear(sd_probe *probe)
{
	if (!probe)
		return;
	free(probe->streams);
	memset(probe, 0, sizeof *probe);
	probe->video_index = probe->audio_index = -1;
}

/* ---- JSON ---------------------------------------------------------------------------------------- */

static int set_new(json_t *obj, const char *key, json_t *value)
{
	return value ? json_object_set_new(obj, key, value) : -1;
}

json_t *sd_probe_to_json(const sd_probe *probe)
{
	json_t *root = json_object(), *streams = json_array();
	if (!root || !streams) {
		json_decref(root);
		json_decref(streams);
		return NULL;
	}
	int bad = 0;
	bad |= set_new(root, "format", json_string(probe->format));
	bad |= set_new(root, "duration", json_real(probe->duration));
	bad |= set_new(root, "verdict", json_string(sd_probe_verdict_name(probe->verdict)));
	if (probe->reason[0])
		bad |= set_new(root, "reason", json_string(probe->reason));
	bad |= set_new(root, "audio_transcode", json_boolean(probe->audio_transcode));
	bad |= set_new(root, "mime", json_string(probe->mime));
	if (probe->as_is_mime[0])
		bad |= set_new(root, "as_is_mime", json_string(probe->as_is_mime));
	for (size_t i = 0; i < probe->n_streams; i++) {
		const sd_probe_stream *s = &probe->streams[i];
		json_t *o = json_object();
		if (!o || json_array_append_new(streams, o) < 0) {
			bad = -1;
			break;
		}
		bad |= set_new(o, "index", json_integer(s->index));
		bad |= set_new(o, "type", json_string(s->type));
		bad |= set_new(o, "codec", json_string(s->codec));
		if (s->profile[0])
			bad |= set_new(o, "profile", json_string(s->profile));
		if (!strcmp(s->type, "video")) {
			bad |= set_new(o, "width", json_integer(s->width));
			bad |= set_new(o, "height", json_integer(s->height));
			bad |= set_new(o, "fps", json_real(s->fps));
		} else if (!strcmp(s->type, "audio")) {
			bad |= set_new(o, "sample_rate", json_integer(s->sample_rate));
			bad |= set_new(o, "channels", json_integer(s->channels));
		}
		if (s->language[0])
			bad |= set_new(o, "language", json_string(s->language));
		if (s->codec_string[0])
			bad |= set_new(o, "codec_string", json_string(s->codec_string));
		bad |= set_new(o, "verdict", json_string(sd_probe_verdict_name(s->verdict)));
		if (s->reason[0])
			bad |= set_new(o, "reason", json_string(s->reason));
	}
	bad |= json_object_set_new(root, "streams", streams);
	if (bad) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* ---- Codec strings from an init segment ------------------------------------------------------- */

typedef struct {
	const uint8_t *p;
	size_t len;
} span;

/* Finds the next box in *walk (advancing it); false at the end or for a malformed box. */
static bool next_box(span *walk, uint32_t *type, span *body, bool *bad)
{
	if (walk->len == 0)
		return false;
	if (walk->len < 8) {
		*bad = true;
		return false;
	}
	uint64_t size = AV_RB32(walk->p);
	size_t head = 8;
	*type = AV_RB32(walk->p + 4);
	if (size == 1) {
		if (walk->len < 16) {
			*bad = true;
			return false;
		}
		size = AV_RB64(walk->p + 8);
		head = 16;
	} else if (size == 0) {
		size = walk->len;
	}
	if (size < head || size > walk->len) {
		*bad = true;
		return false;
	}
	body->p = walk->p + head;
	body->len = (size_t)size - head;
	walk->p += size;
	walk->len -= (size_t)size;
	return true;
}

static bool find_child(span parent, uint32_t want, span *out)
{
	uint32_t type;
	bool bad = false;
	while (next_box(&parent, &type, out, &bad))
		if (type == want)
			return true;
	return false;
}

static bool find_path(span box, const char *path, span *out)
{
	/* path: four-character codes separated by '/' */
	span cur = box;
	for (const char *c = path; *c;) {
		if (strlen(c) < 4)
			return false;
		if (!find_child(cur, MKBETAG(c[0], c[1], c[2], c[3]), &cur))
			return false;
		c += 4;
		if (*c == '/')
			c++;
	}
	*out = cur;
	return true;
}

/* Reads an MPEG-4 descriptor header: tag and a size of up to four 7-bit bytes. */
static bool read_descriptor(span *s, uint8_t *tag, span *body)
{
	if (s->len < 2)
		return false;
	*tag = s->p[0];
	size_t i = 1, size = 0;
	for (int n = 0; n < 4; n++) {
		if (i >= s->len)
			return false;
		uint8_t b = s->p[i++];
		size = size << 7 | (b & 0x7f);
		if (!(b & 0x80))
			break;
	}
	if (size > s->len - i)
		return false;
	body->p = s->p + i;
	body->len = size;
	s->p += i + size;
	s->len -= i + size;
	return true;
}

/* The ObjectTypeIndication of an esds box's DecoderConfigDescriptor, and its
 * DecoderSpecificInfo (empty when it has none). */
static bool esds_config(span esds, uint8_t *oti, span *dsi)
{
	if (esds.len < 4)
		return false;
	span s = {esds.p + 4, esds.len - 4}, es, dc;
	uint8_t tag;
	if (!read_descriptor(&s, &tag, &es) || tag != 0x03 || es.len < 3)
		return false;
	uint8_t flags = es.p[2];
	size_t skip = 3;
	if (flags & 0x80)
		skip += 2;
	if (flags & 0x40) {
		if (es.len <= skip)
			return false;
		skip += 1 + es.p[skip];
	}
	if (flags & 0x20)
		skip += 2;
	if (skip > es.len)
		return false;
	span inner = {es.p + skip, es.len - skip};
	if (!read_descriptor(&inner, &tag, &dc) || tag != 0x04 || dc.len < 13)
		return false;
	*oti = dc.p[0];
	span dsi_walk = {dc.p + 13, dc.len - 13};
	if (!read_descriptor(&dsi_walk, &tag, dsi) || tag != 0x05)
		*dsi = (span){NULL, 0};
	return true;
}

/* mp4a.40.AOT for AAC, the object type read from the AudioSpecificConfig; mp4a.OTI for other
 * audio (MP3: mp4a.6b). */
static bool mp4a_string(span esds, char *out, size_t size)
{
	uint8_t oti;
	span dsi;
	if (!esds_config(esds, &oti, &dsi))
		return false;
	if (oti != 0x40) {
		snprintf(out, size, "mp4a.%02x", oti);
		return true;
	}
	if (dsi.len < 1)
		return false;
	int aot = dsi.p[0] >> 3;
	if (aot == 31) {
		if (dsi.len < 2)
			return false;
		aot = 32 + ((dsi.p[0] & 7) << 3 | dsi.p[1] >> 5);
	}
	snprintf(out, size, "mp4a.40.%d", aot);
	return true;
}

/* mp4v.20.PL for MPEG-4 Part 2: PL, in decimal (RFC 6381 3.3), is the profile_and_level_indication
 * of the visual object sequence header that starts its DecoderSpecificInfo; mp4v.OTI for other
 * video (MPEG-2 Main: mp4v.61). */
static bool mp4v_string(span esds, char *out, size_t size)
{
	uint8_t oti;
	span dsi;
	if (!esds_config(esds, &oti, &dsi))
		return false;
	if (oti == 0x20 && dsi.len >= 5 && AV_RB32(dsi.p) == 0x1B0)
		snprintf(out, size, "mp4v.20.%u", dsi.p[4]);
	else
		snprintf(out, size, "mp4v.%02x", oti);
	return true;
}

static unsigned reverse32(uint32_t x)
{
	unsigned r = 0;
	for (int i = 0; i < 32; i++)
		r |= ((x >> i) & 1u) << (31 - i);
	return r;
}

static bool hvcc_string(const char *entry, span c, char *out, size_t size)
{
	if (c.len < 13)
		return false;
	static const char space[] = {'\0', 'A', 'B', 'C'};
	unsigned ps = c.p[1] >> 6, tier = (c.p[1] >> 5) & 1, idc = c.p[1] & 0x1f;
	unsigned compat = reverse32(AV_RB32(c.p + 2));
	int n = ps ? snprintf(out, size, "%s.%c%u.%X.%c%u", entry, space[ps], idc, compat, tier ? 'H' : 'L', c.p[12])
	           : snprintf(out, size, "%s.%u.%X.%c%u", entry, idc, compat, tier ? 'H' : 'L', c.p[12]);
	int last = 5;
	while (last >= 0 && c.p[6 + last] == 0)
		last--;
	for (int i = 0; i <= last && n > 0 && (size_t)n < size; i++)
		n += snprintf(out + n, size - (size_t)n, ".%02X", c.p[6 + i]);
	return n > 0 && (size_t)n < size;
}

/* The codec string of one track's first sample entry. */
static bool entry_string(uint32_t type, span entry, char *out, size_t size, bool *is_video)
{
	char fourcc[5] = {(char)(type >> 24), (char)(type >> 16), (char)(type >> 8), (char)type, 0};
	span kids, box;
	*is_video = false;
	switch (type) {
	case MKBETAG('a', 'v', 'c', '1'):
	case MKBETAG('a', 'v', 'c', '3'):
	case MKBETAG('h', 'v', 'c', '1'):
	case MKBETAG('h', 'e', 'v', '1'):
	case MKBETAG('v', 'p', '0', '9'):
	case MKBETAG('a', 'v', '0', '1'):
	case MKBETAG('m', 'p', '4', 'v'):
		*is_video = true;
		if (entry.len < 78)
			return false;
		kids = (span){entry.p + 78, entry.len - 78};
		break;
	case MKBETAG('m', 'p', '4', 'a'):
	case MKBETAG('O', 'p', 'u', 's'):
	case MKBETAG('f', 'L', 'a', 'C'):
	case MKBETAG('a', 'c', '-', '3'):
	case MKBETAG('e', 'c', '-', '3'): {
		if (entry.len < 28)
			return false;
		unsigned version = AV_RB16(entry.p + 8);
		size_t skip = 28 + (version == 1 ? 16 : version == 2 ? 36 : 0);
		if (entry.len < skip)
			return false;
		kids = (span){entry.p + skip, entry.len - skip};
		break;
	}
	default:
		return false;
	}
	switch (type) {
	case MKBETAG('a', 'v', 'c', '1'):
	case MKBETAG('a', 'v', 'c', '3'):
		if (!find_child(kids, MKBETAG('a', 'v', 'c', 'C'), &box) || box.len < 4)
			return false;
		snprintf(out, size, "%s.%02x%02x%02x", fourcc, box.p[1], box.p[2], box.p[3]);
		return true;
	case MKBETAG('h', 'v', 'c', '1'):
	case MKBETAG('h', 'e', 'v', '1'):
		return find_child(kids, MKBETAG('h', 'v', 'c', 'C'), &box) && hvcc_string(fourcc, box, out, size);
	case MKBETAG('v', 'p', '0', '9'):
		if (!find_child(kids, MKBETAG('v', 'p', 'c', 'C'), &box) || box.len < 7)
			return false;
		snprintf(out, size, "vp09.%02u.%02u.%02u", box.p[4], box.p[5], (unsigned)(box.p[6] >> 4));
		return true;
	case MKBETAG('a', 'v', '0', '1'): {
		if (!find_child(kids, MKBETAG('a', 'v', '1', 'C'), &box) || box.len < 4 || !(box.p[0] & 0x80))
			return false;
		unsigned profile = box.p[1] >> 5, level = box.p[1] & 0x1f, tier = box.p[2] >> 7;
		unsigned depth = (box.p[2] & 0x40) ? ((box.p[2] & 0x20) ? 12 : 10) : 8;
		snprintf(out, size, "av01.%u.%02u%c.%02u", profile, level, tier ? 'H' : 'M', depth);
		return true;
	}
	case MKBETAG('m', 'p', '4', 'v'):
		return find_child(kids, MKBETAG('e', 's', 'd', 's'), &box) && mp4v_string(box, out, size);
	case MKBETAG('m', 'p', '4', 'a'):
		return find_child(kids, MKBETAG('e', 's', 'd', 's'), &box) && mp4a_string(box, out, size);
	case MKBETAG('O', 'p', 'u', 's'):
		snprintf(out, size, "opus");
		return true;
	case MKBETAG('f', 'L', 'a', 'C'):
		snprintf(out, size, "flac");
		return true;
	default:
		snprintf(out, size, "%s", fourcc);
		return true;
	}
}

bool sd_probe_mime_from_init(const uint8_t *init, size_t len, char *mime, size_t mime_size, sd_error *err)
{
	span file = {init, len}, moov, trak;
	if (!init || !find_child(file, MKBETAG('m', 'o', 'o', 'v'), &moov))
		return sd_fail(err, SD_ERR_MEDIA_INIT, "the init segment has no moov box");
	char codecs[SD_PROBE_MIME_MAX] = "";
	size_t used = 0;
	bool any_video = false, bad = false;
	int tracks = 0;
	uint32_t type;
	span walk = moov;
	while (next_box(&walk, &type, &trak, &bad)) {
		if (type != MKBETAG('t', 'r', 'a', 'k'))
			continue;
		span stsd;
		if (!find_path(trak, "mdia/minf/stbl/stsd", &stsd) || stsd.len < 8 || AV_RB32(stsd.p + 4) < 1)
			return sd_fail(err, SD_ERR_MEDIA_INIT, "track %d of the init segment has no sample description", tracks + 1);
		span entries = {stsd.p + 8, stsd.len - 8}, entry;
		uint32_t etype;
		bool ebad = false, is_video;
		char one[64];
		if (!next_box(&entries, &etype, &entry, &ebad) || !entry_string(etype, entry, one, sizeof one, &is_video))
			return sd_fail(err, SD_ERR_MEDIA_INIT, "track %d of the init segment has a sample entry without a known codec string",
			            tracks + 1);
		any_video |= is_video;
		int n = snprintf(codecs + used, sizeof codecs - used, "%s%s", tracks ? ", " : "", one);
		if (n < 0 || (size_t)n >= sizeof codecs - used)
			return sd_fail(err, SD_ERR_MEDIA_INIT, "too many tracks in the init segment");
		used += (size_t)n;
		tracks++;
	}
	if (bad)
		return sd_fail(err, SD_ERR_MEDIA_INIT, "malformed box in the init segment's moov");
	if (tracks == 0)
		return sd_fail(err, SD_ERR_MEDIA_INIT, "the init segment has no track");
	int n = snprintf(mime, mime_size, "%s/mp4; codecs=\"%s\"", any_video ? "video" : "audio", codecs);
	if (n < 0 || (size_t)n >= mime_size) {
		if (mime_size)
			mime[0] = '\0'; /* not a cut one */
		return sd_fail(err, SD_ERR_ARGUMENT, "the MIME type is too long");
	}
	return true;
}

#include "sd_remux.h"

#include <errno.h>
#include <fcntl.h>
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <libavutil/mem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_BUFFER_SIZE 65536
#define QUEUE_MAX_PACKETS 4096      /* packets held back until the header can be written */
#define QUEUE_MAX_BYTES (64u << 20)
#define MIN_FRAG_US "1900000"       /* video: cut at the first keyframe 1.9 s into a fragment */
#define AUDIO_FRAG_US "2000000"     /* audio only: cut every 2 s */
#define PROGRESS_EVERY_S 0.5

typedef struct remux {
	AVFormatContext *ic, *oc;
	AVIOContext *pb;
	const sd_remux_options *opts;
	int in_v, in_a, out_v, out_a;
	AVBSFContext *adts;                /* aac_adtstoasc for ADTS audio, else NULL */
	bool have_asc;                     /* the ADTS stream's AudioSpecificConfig is known */
	AVCodecContext *dec, *enc;         /* audio transcode, else NULL */
	AVAudioFifo *fifo;
	AVFrame *frame, *enc_frame;
	int64_t next_pts;                  /* of the next encoded frame, in enc->time_base */
	bool pts_known;
	AVPacket *pkt, *out_pkt;
	/* packets held until the header is written */
	AVPacket **queue;
	size_t n_queue, queue_bytes;
	bool header_written;
	/* the output */
	sd_remux_sink sink;
	void *sink_opaque;
	bool sink_failed, bad_moof;
	uint64_t written;
	uint8_t *init;
	size_t init_len;
	bool in_fragments, init_too_big;
	sd_remux_fragment *frags;
	size_t n_frags, cap_frags;
	int64_t first_frag_us, last_frag_us;
	/* timing */
	int64_t start_us, end_us;           /* span of the packets written, AV_TIME_BASE */
	double total, last_progress;
	bool cancelled;
	sd_error err; /* code 0 until the first failure */
} remux;

/* Records the first failure only: later ones are consequences. */
static bool rfail(remux *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool rfail(remux *r, int code, const char *fmt, ...)
{
	if (r->err.code == 0) {
		r->err.code = code;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->err.message, sizeof r->err.message, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* A libav call failed: code names the part (the muxer, the input). */
static bool rfail_av(remux *r, int code, const char *what, int av_code)
{
	char why[128];
	sd_probe_av_error(av_code, why, sizeof why);
	return rfail(r, code, "%s: %s", what, why);
}

/* ---- The output AVIOContext -------------------------------------------------------------------- */

static int on_write(void *opaque, uint8_t *buf, int size, enum AVIODataMarkerType type, int64_t time)
{
	remux *r = opaque;
	if (size <= 0)
		return 0;
	if (type == AVIO_DATA_MARKER_SYNC_POINT || type == AVIO_DATA_MARKER_BOUNDARY_POINT) {
		/* movenc marks the start of every moof this way */
		if (size < 8 || memcmp(buf + 4, "moof", 4) != 0)
			r->bad_moof = true;
		if (r->n_frags == r->cap_frags) {
			size_t cap = r->cap_frags ? r->cap_frags * 2 : 64;
			sd_remux_fragment *f = realloc(r->frags, cap * sizeof *f);
			if (!f) {
				rfail(r, SD_ERR_MEMORY, "out of memory");
				return AVERROR(ENOMEM);
			}
			r->frags = f;
			r->cap_frags = cap;
		}
		int64_t t = time == AV_NOPTS_VALUE ? r->last_frag_us : time;
		if (r->n_frags == 0)
			r->first_frag_us = t = time == AV_NOPTS_VALUE ? 0 : time;
		else if (t < r->last_frag_us)
			t = r->last_frag_us;
		r->last_frag_us = t;
		int64_t rel = t - r->first_frag_us;
		r->frags[r->n_frags++] = (sd_remux_fragment){.time_ms = rel > 0 ? (uint64_t)(rel / 1000) : 0, .offset = r->written};
		r->in_fragments = true;
	}
	if (!r->in_fragments) {
		if (r->init_len + (size_t)size > SD_PROBE_INIT_MAX) {
			r->init_too_big = true;
		} else {
			uint8_t *grown = av_realloc(r->init, r->init_len + (size_t)size);
			if (!grown) {
				rfail(r, SD_ERR_MEMORY, "out of memory");
				return AVERROR(ENOMEM);
			}
			r->init = grown;
			memcpy(r->init + r->init_len, buf, (size_t)size);
			r->init_len += (size_t)size;
		}
	}
	if (!r->sink(r->sink_opaque, buf, (size_t)size)) {
		r->sink_failed = true;
		return AVERROR(EIO);
	}
	r->written += (uint64_t)size;
	return size;
}

static int on_write_plain(void *opaque, uint8_t *buf, int size)
{
	return on_write(opaque, buf, size, AVIO_DATA_MARKER_UNKNOWN, AV_NOPTS_VALUE);
}

/* ---- Setting up ---------------------------------------------------------------------------------- */

static bool add_copy_stream(remux *r, int in_index, int *out_index)
{
	AVStream *in = r->ic->streams[in_index];
	AVStream *st = avformat_new_stream(r->oc, NULL);
	if (!st)
		return rfail(r, SD_ERR_MEMORY, "out of memory");
	int ret = avcodec_parameters_copy(st->codecpar, in->codecpar);
	if (ret < 0)
		return rfail_av(r, SD_ERR_MEDIA_MUX, "copying stream parameters", ret);
	st->codecpar->codec_tag = sd_probe_mp4_tag(st->codecpar);
	st->time_base = in->time_base;
	const AVDictionaryEntry *lang = av_dict_get(in->metadata, "language", NULL, 0);
	if (lang && av_dict_set(&st->metadata, "language", lang->value, 0) < 0)
		return rfail(r, SD_ERR_MEMORY, "out of memory");
	*out_index = st->index;
	return true;
}

static bool setup_adts(remux *r)
{
	const AVBitStreamFilter *f = av_bsf_get_by_name("aac_adtstoasc");
	if (!f)
		return rfail(r, SD_ERR_MEDIA_MUX, "libavcodec lacks the aac_adtstoasc filter");
	int ret = av_bsf_alloc(f, &r->adts);
	if (ret < 0)
		return rfail_av(r, SD_ERR_MEDIA_MUX, "aac_adtstoasc", ret);
	AVStream *in = r->ic->streams[r->in_a];
	if ((ret = avcodec_parameters_copy(r->adts->par_in, in->codecpar)) < 0)
		return rfail_av(r, SD_ERR_MEDIA_MUX, "aac_adtstoasc", ret);
	r->adts->time_base_in = in->time_base;
	if ((ret = av_bsf_init(r->adts)) < 0)
		return rfail_av(r, SD_ERR_MEDIA_MUX, "aac_adtstoasc", ret);
	return true;
}

static bool setup_transcode(remux *r)
{
	AVStream *in = r->ic->streams[r->in_a];
	const AVCodec *dec = avcodec_find_decoder(in->codecpar->codec_id);
	const AVCodec *enc = avcodec_find_encoder_by_name("aac");
	if (!dec)
		return rfail(r, SD_ERR_MEDIA_MUX, "no decoder for %s audio", avcodec_get_name(in->codecpar->codec_id));
	if (!enc)
		return rfail(r, SD_ERR_MEDIA_MUX, "libavcodec has no AAC encoder");
	if (!(r->dec = avcodec_alloc_context3(dec)) || !(r->enc = avcodec_alloc_context3(enc)))
		return rfail(r, SD_ERR_MEMORY, "out of memory");
	int ret = avcodec_parameters_to_context(r->dec, in->codecpar);
	if (ret < 0)
		return rfail_av(r, SD_ERR_MEDIA_MUX, "audio decoder", ret);
	r->dec->pkt_timebase = in->time_base;
	if ((ret = avcodec_open2(r->dec, dec, NULL)) < 0)
		return rfail_av(r, SD_ERR_MEDIA_MUX, "opening the audio decoder", ret);
	if (r->dec->sample_fmt != AV_SAMPLE_FMT_FLTP)
		return rfail(r, SD_ERR_MEDIA_MUX, "%s audio decodes to %s: only planar float can go to the AAC encoder",
		             avcodec_get_name(in->codecpar->codec_id), av_get_sample_fmt_name(r->dec->sample_fmt));
	if (r->dec->sample_rate <= 0 || r->dec->ch_layout.nb_channels <= 0)
		return rfail(r, SD_ERR_MEDIA_MUX, "the audio has no sample rate or channel count");

	r->enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
	r->enc->sample_rate = r->dec->sample_rate;
	if (r->dec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
		av_channel_layout_default(&r->enc->ch_layout, r->dec->ch_layout.nb_channels);
	else if ((ret = av_channel_layout_copy(&r->enc->ch_layout, &r->dec->ch_layout)) < 0)
		return rfail(r, SD_ERR_MEMORY, "out of memory");
	int channels = r->enc->ch_layout.nb_channels;
	r->enc->bit_rate = channels > 2 ? 320000 : 64000 * channels;
	r->enc->time_base = (AVRational){1, r->enc->sample_rate};
	r->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER; /* the AudioSpecificConfig goes in the moov */
	if ((ret = avcodec_open2(r->enc, enc, NULL)) < 0)
		return rfail_av(r, SD_ERR_MEDIA_MUX, "the AAC encoder refuses this audio", ret);
	if (r->enc->frame_size <= 0)
		return rfail(r, SD_ERR_MEDIA_MUX, "the AAC encoder has no frame size");
	if (!(r->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, channels, r->enc->frame_size * 4)))
		return rfail(r, SD_ERR_MEMORY, "out of memory");
	if (!(r->frame = av_frame_alloc()) || !(r->enc_frame = av_frame_alloc()))
		return rfail(r, SD_ERR_MEMORY, "out of memory");

	AVStream *st = avformat_new_stream(r->oc, NULL);
	if (!st)
		return rfail(r, SD_ERR_MEMORY, "out of memory");
	if ((ret = avcodec_parameters_from_context(st->codecpar, r->enc)) < 0)
		return rfail_av(r, SD_ERR_MEDIA_MUX, "AAC stream parameters", ret);
	st->time_base = r->enc->time_base;
	const AVDictionaryEntry *lang = av_dict_get(in->metadata, "language", NULL, 0);
	if (lang && av_dict_set(&st->metadata, "language", lang->value, 0) < 0)
		return rfail(r, SD_ERR_MEMORY, "out of memory");
	r->out_a = st->index;
	return true;
}

/* ---- Writing packets ------------------------------------------------------------------------------ */

/* Hands a packet (timestamps in pkt->time_base) to the muxer, or holds it until the header is
 * written. Takes the packet's reference. */
static bool emit(remux *r, AVPacket *pkt)
{
	if (!r->header_written) {
		if (r->n_queue >= QUEUE_MAX_PACKETS || r->queue_bytes + (size_t)pkt->size > QUEUE_MAX_BYTES) {
			av_packet_unref(pkt);
			return rfail(r, SD_ERR_MEDIA_MUX, "no audio packet within the first %d packets: cannot make the AAC configuration",
			             QUEUE_MAX_PACKETS);
		}
		AVPacket *held = av_packet_alloc();
		AVPacket **grown = realloc(r->queue, (r->n_queue + 1) * sizeof *grown);
		if (!held || !grown) {
			av_packet_free(&held);
			if (grown)
				r->queue = grown;
			av_packet_unref(pkt);
			return rfail(r, SD_ERR_MEMORY, "out of memory");
		}
		r->queue = grown;
		av_packet_move_ref(held, pkt);
		r->queue[r->n_queue++] = held;
		r->queue_bytes += (size_t)held->size;
		return true;
	}
	AVStream *st = r->oc->streams[pkt->stream_index];
	av_packet_rescale_ts(pkt, pkt->time_base, st->time_base);
	pkt->time_base = st->time_base;
	pkt->pos = -1;
	int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
	if (ts != AV_NOPTS_VALUE) {
		int64_t us = av_rescale_q(ts, st->time_base, AV_TIME_BASE_Q);
		int64_t end = us + av_rescale_q(pkt->duration > 0 ? pkt->duration : 0, st->time_base, AV_TIME_BASE_Q);
		if (r->start_us == AV_NOPTS_VALUE || us < r->start_us)
			r->start_us = us;
		if (r->end_us == AV_NOPTS_VALUE || end > r->end_us)
			r->end_us = end;
	}
	int ret = av_interleaved_write_frame(r->oc, pkt);
	if (ret < 0) {
		av_packet_unref(pkt);
		if (r->sink_failed)
			return rfail(r, SD_ERR_IO, "write failed");
		return rfail_av(r, SD_ERR_MEDIA_MUX, "the MP4 muxer refused a packet (corrupt timestamps?)", ret);
	}
	return true;
}

static bool write_header(remux *r)
{
	AVDictionary *o = NULL;
	int ret = 0;
	if (r->out_v >= 0) {
		ret |= av_dict_set(&o, "movflags", "frag_keyframe+delay_moov+default_base_moof", 0);
		ret |= av_dict_set(&o, "min_frag_duration", MIN_FRAG_US, 0);
	} else {
		ret |= av_dict_set(&o, "movflags", "delay_moov+default_base_moof", 0);
		ret |= av_dict_set(&o, "frag_duration", AUDIO_FRAG_US, 0);
	}
	if (ret < 0) {
		av_dict_free(&o);
		return rfail(r, SD_ERR_MEMORY, "out of memory");
	}
	ret = avformat_write_header(r->oc, &o);
	av_dict_free(&o);
	if (ret < 0)
		return r->sink_failed ? rfail(r, SD_ERR_IO, "write failed") : rfail_av(r, SD_ERR_MEDIA_MUX, "the MP4 muxer refuses these streams", ret);
	r->header_written = true;
	bool ok = true;
	for (size_t i = 0; i < r->n_queue; i++) {
		if (ok)
			ok = emit(r, r->queue[i]);
		av_packet_free(&r->queue[i]);
	}
	r->n_queue = 0;
	r->queue_bytes = 0;
	return ok;
}

static bool header_ready(const remux *r)
{
	return !r->adts || r->have_asc;
}

/* ADTS audio: strip the ADTS headers; the first packet gives the AudioSpecificConfig, which the
 * output stream must carry before the header is written (the muxer would not put it in). */
static bool filter_adts(remux *r, AVPacket *pkt)
{
	int ret = av_bsf_send_packet(r->adts, pkt);
	if (ret < 0) {
		av_packet_unref(pkt);
		return rfail_av(r, SD_ERR_MEDIA_MUX, "aac_adtstoasc", ret);
	}
	while ((ret = av_bsf_receive_packet(r->adts, r->out_pkt)) >= 0) {
		if (!r->have_asc) {
			const AVCodecParameters *po = r->adts->par_out;
			size_t side_size = 0;
			const uint8_t *side = av_packet_get_side_data(r->out_pkt, AV_PKT_DATA_NEW_EXTRADATA, &side_size);
			const uint8_t *asc = po->extradata_size > 0 ? po->extradata : side;
			size_t asc_len = po->extradata_size > 0 ? (size_t)po->extradata_size : side_size;
			if (!asc || asc_len == 0 || asc_len > 64) {
				av_packet_unref(r->out_pkt);
				return rfail(r, SD_ERR_MEDIA_MUX, "the ADTS audio gives no AudioSpecificConfig");
			}
			AVCodecParameters *op = r->oc->streams[r->out_a]->codecpar;
			av_freep(&op->extradata);
			op->extradata_size = 0;
			if (!(op->extradata = av_mallocz(asc_len + AV_INPUT_BUFFER_PADDING_SIZE))) {
				av_packet_unref(r->out_pkt);
				return rfail(r, SD_ERR_MEMORY, "out of memory");
			}
			memcpy(op->extradata, asc, asc_len);
			op->extradata_size = (int)asc_len;
			r->have_asc = true;
		}
		r->out_pkt->stream_index = r->out_a;
		r->out_pkt->time_base = r->adts->time_base_out;
		if (!emit(r, r->out_pkt))
			return false;
	}
	if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
		return rfail_av(r, SD_ERR_MEDIA_MUX, "aac_adtstoasc", ret);
	return true;
}

static bool encode_frame(remux *r, AVFrame *frame)
{
	int ret = avcodec_send_frame(r->enc, frame);
	if (ret < 0)
		return rfail_av(r, SD_ERR_MEDIA_MUX, "AAC encoder", ret);
	while ((ret = avcodec_receive_packet(r->enc, r->out_pkt)) >= 0) {
		r->out_pkt->stream_index = r->out_a;
		r->out_pkt->time_base = r->enc->time_base;
		if (!emit(r, r->out_pkt))
			return false;
	}
	if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
		return rfail_av(r, SD_ERR_MEDIA_MUX, "AAC encoder", ret);
	return true;
}

/* Encodes whole encoder frames from the FIFO; with flush, the rest too (a shorter last frame). */
static bool drain_fifo(remux *r, bool flush)
{
	int size = r->enc->frame_size;
	while (av_audio_fifo_size(r->fifo) >= size || (flush && av_audio_fifo_size(r->fifo) > 0)) {
		int n = FFMIN(av_audio_fifo_size(r->fifo), size);
		AVFrame *f = r->enc_frame;
		av_frame_unref(f);
		f->nb_samples = n;
		f->format = AV_SAMPLE_FMT_FLTP;
		f->sample_rate = r->enc->sample_rate;
		int ret = av_channel_layout_copy(&f->ch_layout, &r->enc->ch_layout);
		if (ret < 0 || (ret = av_frame_get_buffer(f, 0)) < 0)
			return rfail(r, SD_ERR_MEMORY, "out of memory");
		if (av_audio_fifo_read(r->fifo, (void **)f->data, n) != n)
			return rfail(r, SD_ERR_MEDIA_MUX, "audio FIFO read failed");
		f->pts = r->next_pts;
		r->next_pts += n;
		if (!encode_frame(r, f))
			return false;
	}
	return true;
}

static bool decoded_frames(remux *r)
{
	int ret;
	while ((ret = avcodec_receive_frame(r->dec, r->frame)) >= 0) {
		AVFrame *f = r->frame;
		if (f->format != AV_SAMPLE_FMT_FLTP || f->sample_rate != r->enc->sample_rate ||
		    f->ch_layout.nb_channels != r->enc->ch_layout.nb_channels) {
			av_frame_unref(f);
			return rfail(r, SD_ERR_MEDIA_MUX, "the audio changes its sample format, rate or channels midway");
		}
		if (!r->pts_known) {
			int64_t ts = f->best_effort_timestamp;
			r->next_pts = ts == AV_NOPTS_VALUE ? 0 : av_rescale_q(ts, r->dec->pkt_timebase, r->enc->time_base);
			r->pts_known = true;
		}
		if (av_audio_fifo_write(r->fifo, (void **)f->extended_data, f->nb_samples) < f->nb_samples) {
			av_frame_unref(f);
			return rfail(r, SD_ERR_MEMORY, "out of memory");
		}
		av_frame_unref(f);
		if (!drain_fifo(r, false))
			return false;
	}
	if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
		return rfail_av(r, SD_ERR_MEDIA_MUX, "audio decoder", ret);
	return true;
}

static bool transcode_packet(remux *r, AVPacket *pkt)
{
	int ret = avcodec_send_packet(r->dec, pkt);
	av_packet_unref(pkt);
	/* a damaged audio frame is skipped, as players do */
	if (ret < 0 && ret != AVERROR_INVALIDDATA)
		return rfail_av(r, SD_ERR_MEDIA_MUX, "audio decoder", ret);
	return decoded_frames(r);
}

static bool flush_audio(remux *r)
{
	if (r->adts) {
		int ret = av_bsf_send_packet(r->adts, NULL);
		if (ret < 0)
			return rfail_av(r, SD_ERR_MEDIA_MUX, "aac_adtstoasc", ret);
		while ((ret = av_bsf_receive_packet(r->adts, r->out_pkt)) >= 0) {
			r->out_pkt->stream_index = r->out_a;
			r->out_pkt->time_base = r->adts->time_base_out;
			if (!emit(r, r->out_pkt))
				return false;
		}
	}
	if (r->dec) {
		int ret = avcodec_send_packet(r->dec, NULL);
		if (ret < 0 && ret != AVERROR_EOF)
			return rfail_av(r, SD_ERR_MEDIA_MUX, "audio decoder", ret);
		if (!decoded_frames(r) || !drain_fifo(r, true) || !encode_frame(r, NULL))
			return false;
	}
	return true;
}

static bool report_progress(remux *r, const AVPacket *pkt)
{
	if (!r->opts->progress)
		return true;
	int64_t ts = pkt ? (pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts) : AV_NOPTS_VALUE;
	double done = r->total;
	if (pkt) {
		if (ts == AV_NOPTS_VALUE)
			return true;
		AVStream *st = r->ic->streams[pkt->stream_index];
		done = ts * av_q2d(st->time_base);
		if (r->ic->start_time != AV_NOPTS_VALUE)
			done -= (double)r->ic->start_time / AV_TIME_BASE;
		if (done < 0)
			done = 0;
		if (done - r->last_progress < PROGRESS_EVERY_S)
			return true;
		r->last_progress = done;
	}
	if (!r->opts->progress(r->opts->opaque, done, r->total)) {
		r->cancelled = true;
		return rfail(r, SD_ERR_CANCELLED, "cancelled");
	}
	return true;
}

/* Reads the whole input, packet by packet. */
static bool pump(remux *r)
{
	uint64_t packets = 0;
	int ret;
	for (;;) {
		if (r->opts->max_packets && packets >= r->opts->max_packets)
			return true;
		ret = av_read_frame(r->ic, r->pkt);
		if (ret == AVERROR_EOF)
			break;
		if (ret < 0)
			return rfail_av(r, SD_ERR_MEDIA_FORMAT, "reading the input (truncated or corrupt?)", ret);
		packets++;
		AVPacket *pkt = r->pkt;
		if (!report_progress(r, pkt)) {
			av_packet_unref(pkt);
			return false;
		}
		AVStream *in = r->ic->streams[pkt->stream_index];
		bool ok = true;
		if (pkt->stream_index != r->in_v && pkt->stream_index != r->in_a) {
			av_packet_unref(pkt);
			continue;
		}
		if (pkt->pts == AV_NOPTS_VALUE && pkt->dts == AV_NOPTS_VALUE) {
			av_packet_unref(pkt); /* nowhere to put it in time */
			continue;
		}
		if (pkt->pts == AV_NOPTS_VALUE)
			pkt->pts = pkt->dts;
		pkt->time_base = in->time_base;
		if (pkt->stream_index == r->in_v) {
			pkt->stream_index = r->out_v;
			ok = emit(r, pkt);
		} else if (r->adts) {
			ok = filter_adts(r, pkt);
		} else if (r->dec) {
			ok = transcode_packet(r, pkt);
		} else {
			pkt->stream_index = r->out_a;
			ok = emit(r, pkt);
		}
		av_packet_unref(pkt);
		if (!ok)
			return false;
		if (!r->header_written && header_ready(r) && !write_header(r))
			return false;
	}
	/* A file cut short ends long before the duration its header gives. */
	const AVFormatContext *ic = r->ic;
	if (ic->duration > 0 && ic->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE &&
	    r->end_us != AV_NOPTS_VALUE && r->header_written) {
		int64_t start = ic->start_time != AV_NOPTS_VALUE ? ic->start_time : 0;
		double got = (double)(r->end_us - start) / AV_TIME_BASE, want = (double)ic->duration / AV_TIME_BASE;
		if (got < 0.8 * want)
			return rfail(r, SD_ERR_MEDIA_FORMAT, "the input ends at %.1f s of its %.1f s: truncated", got, want);
	}
	return true;
}

static void remux_free(remux *r)
{
	for (size_t i = 0; i < r->n_queue; i++)
		av_packet_free(&r->queue[i]);
	free(r->queue);
	av_bsf_free(&r->adts);
	avcodec_free_context(&r->dec);
	avcodec_free_context(&r->enc);
	if (r->fifo)
		av_audio_fifo_free(r->fifo);
	av_frame_free(&r->frame);
	av_frame_free(&r->enc_frame);
	av_packet_free(&r->pkt);
	av_packet_free(&r->out_pkt);
	if (r->oc) {
		r->oc->pb = NULL;
		avformat_free_context(r->oc);
	}
	if (r->pb) {
		av_freep(&r->pb->buffer);
		avio_context_free(&r->pb);
	}
	av_free(r->init);
	free(r->frags);
}

static bool allowed(const sd_probe *probe, const sd_remux_options *opts, sd_error *err)
{
	const sd_probe_stream *v = probe->video_index >= 0 ? &probe->streams[probe->video_index] : NULL;
	const sd_probe_stream *a = probe->audio_index >= 0 ? &probe->streams[probe->audio_index] : NULL;
	if (!v && !a)
		return sd_fail(err, SD_ERR_MEDIA_UNPLAYABLE, "%s", probe->reason[0] ? probe->reason : "no playable audio or video stream");
	if (v && v->verdict != SD_VERDICT_REMUX && v->verdict != SD_VERDICT_AS_IS)
		return sd_fail(err, SD_ERR_MEDIA_UNPLAYABLE, "%s", v->reason);
	if (a && a->verdict != SD_VERDICT_REMUX && a->verdict != SD_VERDICT_AS_IS &&
	    !(a->verdict == SD_VERDICT_TRANSCODE && a->audio_transcodable && opts->transcode_audio))
		return sd_fail(err, SD_ERR_MEDIA_UNPLAYABLE, "%s", a->reason);
	if (probe->verdict == SD_VERDICT_UNSUPPORTED)
		return sd_fail(err, SD_ERR_MEDIA_UNPLAYABLE, "%s", probe->reason);
	return true;
}

bool sd_remux_input(AVFormatContext *ic, const sd_probe *probe, sd_remux_sink sink, void *sink_opaque,
                    const sd_remux_options *opts, sd_remux_output *out, sd_error *err)
{
	static const sd_remux_options defaults = {0};
	if (!opts)
		opts = &defaults;
	memset(out, 0, sizeof *out);
	if (!ic || !probe || !sink)
		return sd_fail(err, SD_ERR_ARGUMENT, "sd_remux_input: missing argument");
	if (probe->n_streams != ic->nb_streams)
		return sd_fail(err, SD_ERR_ARGUMENT, "sd_remux_input: the probe is of another input");
	if (!allowed(probe, opts, err))
		return false;

	remux r = {.ic = ic, .opts = opts, .in_v = probe->video_index, .in_a = probe->audio_index, .out_v = -1,
	           .out_a = -1, .sink = sink, .sink_opaque = sink_opaque, .start_us = AV_NOPTS_VALUE,
	           .end_us = AV_NOPTS_VALUE, .last_progress = -1};
	r.total = probe->duration;
	bool ok = false;
	int ret = avformat_alloc_output_context2(&r.oc, NULL, "mp4", NULL);
	if (ret < 0 || !r.oc) {
		rfail(&r, SD_ERR_MEDIA_MUX, "cannot make an MP4 muxer");
		goto out;
	}
	if (!(r.pkt = av_packet_alloc()) || !(r.out_pkt = av_packet_alloc())) {
		rfail(&r, SD_ERR_MEMORY, "out of memory");
		goto out;
	}
	uint8_t *buf = av_malloc(IO_BUFFER_SIZE);
	if (!buf) {
		rfail(&r, SD_ERR_MEMORY, "out of memory");
		goto out;
	}
	r.pb = avio_alloc_context(buf, IO_BUFFER_SIZE, 1, &r, NULL, on_write_plain, NULL);
	if (!r.pb) {
		av_free(buf);
		rfail(&r, SD_ERR_MEMORY, "out of memory");
		goto out;
	}
	r.pb->write_data_type = on_write;
	r.oc->pb = r.pb;

	if (r.in_v >= 0 && !add_copy_stream(&r, r.in_v, &r.out_v))
		goto out;
	if (r.in_a >= 0) {
		const AVCodecParameters *ap = ic->streams[r.in_a]->codecpar;
		if (probe->streams[r.in_a].verdict == SD_VERDICT_TRANSCODE) {
			if (!setup_transcode(&r))
				goto out;
		} else {
			if (!add_copy_stream(&r, r.in_a, &r.out_a))
				goto out;
			if (ap->codec_id == AV_CODEC_ID_AAC && ap->extradata_size == 0 && !setup_adts(&r))
				goto out;
		}
	}
	if (header_ready(&r) && !write_header(&r))
		goto out;
	if (!pump(&r) || !flush_audio(&r))
		goto out;
	if (!r.header_written) {
		rfail(&r, SD_ERR_MEDIA_MUX, "no audio packet in the input: cannot make the AAC configuration");
		goto out;
	}
	if ((ret = av_write_trailer(r.oc)) < 0) {
		if (r.sink_failed)
			rfail(&r, SD_ERR_IO, "write failed");
		else
			rfail_av(&r, SD_ERR_MEDIA_MUX, "finishing the MP4", ret);
		goto out;
	}
	avio_flush(r.pb);
	if (r.sink_failed || r.pb->error < 0) {
		rfail(&r, SD_ERR_IO, "write failed");
		goto out;
	}
	if (r.init_too_big) {
		rfail(&r, SD_ERR_MEDIA_MUX, "the init segment is larger than %u bytes", SD_PROBE_INIT_MAX);
		goto out;
	}
	if (r.bad_moof || r.n_frags == 0) {
		rfail(&r, SD_ERR_MEDIA_MUX, r.n_frags ? "a fragment does not start with a moof box" : "no fragment written (no packets?)");
		goto out;
	}
	sd_error why;
	if (!sd_probe_mime_from_init(r.init, r.init_len, out->mime, sizeof out->mime, &why)) {
		rfail(&r, why.code, "%s", why.message);
		goto out;
	}
	out->size = r.written;
	out->init_size = r.frags[0].offset;
	out->fragments = r.frags;
	out->n_fragments = r.n_frags;
	r.frags = NULL;
	out->duration = r.end_us != AV_NOPTS_VALUE ? (double)(r.end_us - r.start_us) / AV_TIME_BASE : 0;
	if (!report_progress(&r, NULL)) {
		sd_remux_output_clear(out);
		goto out;
	}
	ok = true;
out:
	if (!ok) {
		memset(out->mime, 0, sizeof out->mime);
		if (r.err.code == 0)
			rfail(&r, SD_ERR_MEDIA_MUX, "remux failed");
		if (err)
			*err = r.err;
	}
	remux_free(&r);
	return ok;
}

/* ---- Files ---------------------------------------------------------------------------------------- */

typedef struct fd_sink {
	int fd;
	int error; /* errno of a failed write */
} fd_sink;

static bool write_fd(void *opaque, const uint8_t *buf, size_t len)
{
	fd_sink *s = opaque;
	while (len > 0) {
		ssize_t n = write(s->fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->error = n < 0 ? errno : EIO;
			return false;
		}
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

bool sd_remux_fd(int in_fd, const char *name, int out_fd, const sd_remux_options *opts, sd_remux_output *out,
                 sd_error *err)
{
	memset(out, 0, sizeof *out);
	if (!name)
		return sd_fail(err, SD_ERR_ARGUMENT, "sd_remux_fd: no name");
	sd_remux_options defaults = {0};
	if (!opts)
		opts = &defaults;
	AVFormatContext *ic = NULL;
	sd_probe probe;
	if (!sd_probe_open_fd(in_fd, name, &ic, err))
		return false;
	if (!sd_probe_input(ic, &probe, err)) {
		sd_probe_close(&ic);
		return false;
	}
	fd_sink sink = {.fd = out_fd};
	bool ok = allowed(&probe, opts, err) && sd_remux_input(ic, &probe, write_fd, &sink, opts, out, err);
	if (!ok && sink.error)
		sd_fail(err, SD_ERR_IO, "%s: write failed: %s", name, strerror(sink.error));
	sd_probe_clear(&probe);
	sd_probe_close(&ic);
	return ok;
}

bool sd_remux_file(const char *in_path, const char *out_path, const sd_remux_options *opts, sd_remux_output *out,
                   sd_error *err)
{
	memset(out, 0, sizeof *out);
	if (!in_path || !out_path)
		return sd_fail(err, SD_ERR_ARGUMENT, "sd_remux_file: missing path");
	bool to_stdout = strcmp(out_path, "-") == 0;
	int in_fd = open(in_path, O_RDONLY | O_CLOEXEC);
	if (in_fd < 0)
		return sd_fail(err, SD_ERR_IO, "%s: %s", in_path, strerror(errno));
	/* Checked before the output is opened: opening it empties it. */
	struct stat in_sb, out_sb;
	if (!to_stdout && fstat(in_fd, &in_sb) == 0 && stat(out_path, &out_sb) == 0 && in_sb.st_dev == out_sb.st_dev &&
	    in_sb.st_ino == out_sb.st_ino) {
		close(in_fd);
		return sd_fail(err, SD_ERR_ARGUMENT, "%s: the output would overwrite the input", out_path);
	}
	/* stdout only when asked: never closed here */
	int out_fd = to_stdout ? 1 : open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok = out_fd >= 0 ? sd_remux_fd(in_fd, in_path, out_fd, opts, out, err)
	                      : sd_fail(err, SD_ERR_IO, "%s: %s", out_path, strerror(errno));
	close(in_fd);
	if (!to_stdout && out_fd >= 0) {
		if (close(out_fd) != 0 && ok) {
			ok = sd_fail(err, SD_ERR_IO, "%s: %s", out_path, strerror(errno));
			sd_remux_output_clear(out);
		}
		if (!ok)
			unlink(out_path);
	}
	return ok;
}

void sd_remux_output_clear(sd_remux_output *out)
{
	if (!out)
		return;
	free(out->fragments);
	memset(out, 0, sizeof *out);
}

json_t *sd_remux_output_to_json(const sd_remux_output *out)
{
	json_t *root = json_object(), *frags = json_array();
	if (!root || !frags) {
		json_decref(root);
		json_decref(frags);
		return NULL;
	}
	int bad = json_object_set_new(root, "mime", json_string(out->mime));
	bad |= json_object_set_new(root, "size", json_integer((json_int_t)out->size));
	bad |= json_object_set_new(root, "init_size", json_integer((json_int_t)out->init_size));
	bad |= json_object_set_new(root, "duration", json_real(out->duration));
	for (size_t i = 0; i < out->n_fragments && !bad; i++) {
		json_t *f = json_pack("{s:I,s:I}", "time_ms", (json_int_t)out->fragments[i].time_ms, "offset",
		                      (json_int_t)out->fragments[i].offset);
		bad |= !f || json_array_append_new(frags, f) < 0;
	}
	bad |= json_object_set_new(root, "fragments", frags);
	if (bad) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* libFuzzer harness over the media input path: libavformat opens the input from memory (a
 * read-only AVIOContext with seeking, as a moov-at-end MP4 needs), sd_probe judges it and names
 * its codecs, sd_remux remuxes it (transcoding audio when it can) into a sink that drops the
 * bytes; the same input is also read as an MP4 init segment. Packets are capped so that each
 * input takes bounded time. Built and run by tests/fuzz/run.sh with clang's
 * -fsanitize=fuzzer,address,undefined. */
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sd_probe.h"
#include "sd_remux.h"

#define MAX_PACKETS 500

typedef struct memory_input {
	const uint8_t *data;
	size_t size, pos;
} memory_input;

static int read_memory(void *opaque, uint8_t *buf, int len)
{
	memory_input *m = opaque;
	size_t left = m->size - m->pos;
	if (left == 0)
		return AVERROR_EOF;
	size_t n = (size_t)len < left ? (size_t)len : left;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (int)n;
}

static int64_t seek_memory(void *opaque, int64_t offset, int whence)
{
	memory_input *m = opaque;
	int64_t base;
	switch (whence & ~AVSEEK_FORCE) {
	case AVSEEK_SIZE: return (int64_t)m->size;
	case SEEK_SET: base = 0; break;
	case SEEK_CUR: base = (int64_t)m->pos; break;
	case SEEK_END: base = (int64_t)m->size; break;
	default: return AVERROR(EINVAL);
	}
	if (offset > (int64_t)m->size || offset < -(int64_t)m->size)
		return AVERROR(EINVAL);
	int64_t to = base + offset;
	if (to < 0 || to > (int64_t)m->size)
		return AVERROR(EINVAL);
	m->pos = (size_t)to;
	return to;
}

static bool drop_bytes(void *opaque, const uint8_t *buf, size_t len)
{
	(void)buf;
	*(uint64_t *)opaque += len;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		av_log_set_level(AV_LOG_QUIET);
		quiet = true;
	}
	char mime[256];
	sd_error err;
	(void)sd_probe_mime_from_init(data, size, mime, sizeof mime, &err);

	memory_input m = {.data = data, .size = size};
	uint8_t *buf = av_malloc(4096);
	if (!buf)
		return 0;
	AVIOContext *pb = avio_alloc_context(buf, 4096, 0, &m, read_memory, NULL, seek_memory);
	if (!pb) {
		av_free(buf);
		return 0;
	}
	AVFormatContext *ic = avformat_alloc_context();
	if (!ic)
		goto out;
	ic->pb = pb;
	ic->flags |= AVFMT_FLAG_CUSTOM_IO;
	if (avformat_open_input(&ic, NULL, NULL, NULL) < 0) /* frees ic on failure */
		goto out;
	if (avformat_find_stream_info(ic, NULL) >= 0 && ic->nb_streams > 0) {
		sd_probe probe;
		if (sd_probe_input(ic, &probe, &err)) {
			json_t *j = sd_probe_to_json(&probe);
			json_decref(j);
			uint64_t bytes = 0;
			sd_remux_options opts = {.transcode_audio = true, .max_packets = MAX_PACKETS};
			sd_remux_output out;
			if (sd_remux_input(ic, &probe, drop_bytes, &bytes, &opts, &out, &err)) {
				if (out.n_fragments == 0 || out.fragments[0].offset != out.init_size || bytes != out.size)
					__builtin_trap(); /* a success must come with a consistent index */
				for (size_t i = 1; i < out.n_fragments; i++)
					if (out.fragments[i].offset <= out.fragments[i - 1].offset)
						__builtin_trap();
				sd_remux_output_clear(&out);
			}
			sd_probe_clear(&probe);
		}
	}
	avformat_close_input(&ic);
out:
	if (pb) {
		av_freep(&pb->buffer);
		avio_context_free(&pb);
	}
	return 0;
}

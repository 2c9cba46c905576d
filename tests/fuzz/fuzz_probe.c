/* libFuzzer harness over the media input path: the input goes into a memfd, which
 * sd_probe_open_fd opens as publishing does (pread through a seekable AVIOContext, the checks of
 * a file named by its bytes alone, text-mode art), sd_probe judges it and names its codecs,
 * sd_remux remuxes it (transcoding audio when it can) into a sink that drops the bytes; the same
 * input is also read as an MP4 init segment. Packets are capped so that each input takes bounded
 * time. Built and run by tests/fuzz/run.sh with clang's -fsanitize=fuzzer,address,undefined. */
#define _GNU_SOURCE
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sd_probe.h"
#include "sd_remux.h"

#define MAX_PACKETS 500

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

	static int fd = -1;
	if (fd < 0 && (fd = memfd_create("fuzz-probe", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) != 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	AVFormatContext *ic = NULL;
	if (!sd_probe_open_fd(fd, "input", &ic, &err))
		return 0;
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
	sd_probe_close(&ic);
	return 0;
}

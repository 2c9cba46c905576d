/* swarmdrop-probe: the command line of sd_probe and sd_remux. Prints what a media file is and
 * whether a browser can play it through MSE, or remuxes it to fragmented MP4 and prints the
 * fragment index. Exit codes: 0 done, 1 bad input or a verdict that refuses the remux, 2 usage. */
#include <getopt.h>
#include <jansson.h>
#include <libavutil/log.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sd_probe.h"
#include "sd_remux.h"

static void usage(FILE *to)
{
	fputs("usage: swarmdrop-probe [options] FILE\n"
	      "Prints, as JSON, the container, duration and streams of FILE, the MSE MIME type of its\n"
	      "fragmented MP4 remux and a verdict: as_is, remux, transcode or unsupported.\n"
	      "\n"
	      "  --remux OUT        write FILE remuxed to fragmented MP4 into OUT ('-' = stdout, streamed)\n"
	      "                     and print the result (mime, init_size, fragments, duration) as JSON\n"
	      "                     on stdout, or on stderr when OUT is '-'\n"
	      "  --transcode-audio  with --remux: transcode MP3, AC-3 and other non-MSE audio to AAC\n"
	      "  --progress         report progress on stderr (the default when stderr is a terminal)\n"
	      "  --no-progress      do not\n"
	      "  -v, --verbose      let libav log its warnings on stderr\n"
	      "  -h, --help         this text\n"
	      "\n"
	      "Exit codes: 0 done; 1 the file cannot be read or is not media (text, or bytes only its\n"
	      "name gives a format), or its verdict refuses the remux (the reason is on stderr); 2 bad\n"
	      "usage.\n",
	      to);
}

static bool show_progress(void *opaque, double done, double total)
{
	(void)opaque;
	if (total > 0)
		fprintf(stderr, "\rswarmdrop-probe: %.1f s of %.1f s (%3.0f%%)", done, total, 100.0 * done / total);
	else
		fprintf(stderr, "\rswarmdrop-probe: %.1f s", done);
	if (done >= total && total > 0)
		fputc('\n', stderr);
	return true;
}

static int print_json(json_t *j, FILE *to)
{
	if (!j) {
		fputs("swarmdrop-probe: out of memory\n", stderr);
		return 1;
	}
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	json_decref(j);
	if (!text) {
		fputs("swarmdrop-probe: out of memory\n", stderr);
		return 1;
	}
	fprintf(to, "%s\n", text);
	free(text);
	return fflush(to) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	enum { OPT_TRANSCODE_AUDIO = 256, OPT_PROGRESS, OPT_NO_PROGRESS };
	static const struct option longopts[] = {
		{"remux", required_argument, NULL, 'r'},
		{"transcode-audio", no_argument, NULL, OPT_TRANSCODE_AUDIO},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *remux_out = NULL;
	bool transcode_audio = false, verbose = false;
	int progress = -1; /* -1: when stderr is a terminal */
	int c;
	while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': remux_out = optarg; break;
		case OPT_TRANSCODE_AUDIO: transcode_audio = true; break;
		case OPT_PROGRESS: progress = 1; break;
		case OPT_NO_PROGRESS: progress = 0; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(optind >= argc ? "swarmdrop-probe: no FILE given\n" : "swarmdrop-probe: one FILE only\n", stderr);
		usage(stderr);
		return 2;
	}
	if (transcode_audio && !remux_out) {
		fputs("swarmdrop-probe: --transcode-audio goes with --remux\n", stderr);
		return 2;
	}
	const char *in = argv[optind];
	av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_QUIET);
	sd_error err;

	if (!remux_out) {
		sd_probe probe;
		if (!sd_probe_file(in, &probe, &err)) {
			fprintf(stderr, "swarmdrop-probe: %s\n", err.message);
			return 1;
		}
		int rc = print_json(sd_probe_to_json(&probe), stdout);
		sd_probe_clear(&probe);
		return rc;
	}

	bool to_stdout = strcmp(remux_out, "-") == 0;
	if (to_stdout && isatty(STDOUT_FILENO)) {
		fputs("swarmdrop-probe: not writing MP4 to a terminal: redirect stdout or name a file\n", stderr);
		return 2;
	}
	if (progress < 0)
		progress = isatty(STDERR_FILENO);
	sd_remux_options opts = {.transcode_audio = transcode_audio, .progress = progress ? show_progress : NULL};
	sd_remux_output out;
	if (!sd_remux_file(in, remux_out, &opts, &out, &err)) {
		if (progress)
			fputc('\n', stderr);
		fprintf(stderr, "swarmdrop-probe: %s\n", err.message);
		return 1;
	}
	int rc = print_json(sd_remux_output_to_json(&out), to_stdout ? stderr : stdout);
	sd_remux_output_clear(&out);
	return rc;
}

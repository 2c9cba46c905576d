/* The media group: sd_probe and sd_remux over fixtures that tests/media/make-fixtures.sh makes
 * with Debian's ffmpeg before the tests run (SD_MEDIA_FIXTURES), and hand-made init segments.
 * Every expectation about a fixture's codecs is computed from the input itself (its extradata,
 * its codec parameters), and the outputs are read back with libavformat. */
#include <jansson.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <math.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sd_probe.h"
#include "sd_remux.h"
#include "unit.h"

#ifndef SD_MEDIA_FIXTURES
#error "SD_MEDIA_FIXTURES must name the fixtures folder (Makefile.am passes it)"
#endif

static char fixture_path[4096];

static const char *fixture(const char *name)
{
	snprintf(fixture_path, sizeof fixture_path, "%s/%s", SD_MEDIA_FIXTURES, name);
	return fixture_path;
}

static bool have_fixture(const char *name)
{
	struct stat sb;
	return stat(fixture(name), &sb) == 0;
}

static void out_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/../out-%d-%s.mp4", SD_MEDIA_FIXTURES, (int)getpid(), name);
}

static bool exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

/* ---- Codec strings ------------------------------------------------------------------------------ */

/* The avc1 string from the input's own H.264 configuration: avcC bytes 1-3, or, for Annex B
 * extradata, the three bytes after the SPS NAL header. */
static void expected_avc1(const AVCodecParameters *par, char *out, size_t size)
{
	const uint8_t *x = par->extradata;
	int n = par->extradata_size;
	assert_true(n >= 4);
	if (x[0] == 1) {
		snprintf(out, size, "avc1.%02x%02x%02x", x[1], x[2], x[3]);
		return;
	}
	for (int i = 0; i + 7 < n; i++)
		if (x[i] == 0 && x[i + 1] == 0 && x[i + 2] == 1 && (x[i + 3] & 0x1f) == 7) {
			snprintf(out, size, "avc1.%02x%02x%02x", x[i + 4], x[i + 5], x[i + 6]);
			return;
		}
	fail_msg("no SPS in the H.264 extradata");
}

/* The hvc1 or hev1 string (ISO/IEC 14496-15 annex E) from an hvcC: profile space and profile,
 * the compatibility flags bit-reversed in hex, tier and level, then the six constraint bytes
 * without the zero ones at the end. */
static void expected_hevc(const char *entry, const uint8_t *c, int n, char *out, size_t size)
{
	assert_true(n >= 23);
	assert_int_equal(c[0], 1); /* configurationVersion: an hvcC, not Annex B */
	uint32_t flags = (uint32_t)c[2] << 24 | (uint32_t)c[3] << 16 | (uint32_t)c[4] << 8 | c[5], reversed = 0;
	for (int bit = 0; bit < 32; bit++)
		if (flags & (1u << bit))
			reversed |= 1u << (31 - bit);
	const char *space = (const char *[]){"", "A", "B", "C"}[c[1] >> 6];
	int len = snprintf(out, size, "%s.%s%d.%X.%c%d", entry, space, c[1] & 0x1f, reversed, (c[1] & 0x20) ? 'H' : 'L', c[12]);
	int keep = 6;
	while (keep > 0 && c[6 + keep - 1] == 0)
		keep--;
	for (int i = 0; i < keep; i++)
		len += snprintf(out + len, size - (size_t)len, ".%02X", c[6 + i]);
	assert_true((size_t)len < size);
}

static void assert_hvc1_form(const char *codec)
{
	regex_t re;
	assert_int_equal(regcomp(&re, "^hvc1\\.[ABC]?[0-9]+\\.[0-9A-F]+\\.[LH][0-9]+(\\.[0-9A-F]{2})*$", REG_EXTENDED | REG_NOSUB), 0);
	int match = regexec(&re, codec, 0, NULL, 0);
	regfree(&re);
	if (match != 0)
		fail_msg("\"%s\" is not an hvc1 codec string", codec);
}

static AVFormatContext *open_input(const char *path)
{
	AVFormatContext *ic = NULL;
	assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
	assert_true(avformat_find_stream_info(ic, NULL) >= 0);
	return ic;
}

static int first_of(const AVFormatContext *ic, enum AVMediaType type)
{
	for (unsigned i = 0; i < ic->nb_streams; i++)
		if (ic->streams[i]->codecpar->codec_type == type)
			return (int)i;
	return -1;
}

static void probe_ok(const char *name, sd_probe *p)
{
	sd_error err = {0};
	if (!sd_probe_file(fixture(name), p, &err))
		fail_msg("%s: %s", name, err.message);
}

static void test_codec_strings_h264_aac(void **state)
{
	(void)state;
	static const char *names[] = {"mkv_h264_aac.mkv", "mov_moov_end.mov", "mp4_moov_end.mp4", "ts_h264_adts.ts",
	                              "flv_h264_aac.flv", "avi_h264.avi", "fmp4_h264_aac.mp4"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		AVFormatContext *ic = open_input(fixture(names[i]));
		int v = first_of(ic, AVMEDIA_TYPE_VIDEO), a = first_of(ic, AVMEDIA_TYPE_AUDIO);
		assert_true(v >= 0 && a >= 0);
		char avc[32], want[128];
		expected_avc1(ic->streams[v]->codecpar, avc, sizeof avc);
		int aot = ic->streams[a]->codecpar->profile + 1; /* FF_PROFILE_AAC_LOW is 1, object type 2 */
		snprintf(want, sizeof want, "video/mp4; codecs=\"%s, mp4a.40.%d\"", avc, aot);
		avformat_close_input(&ic);

		sd_probe p;
		probe_ok(names[i], &p);
		if (strcmp(p.mime, want) != 0)
			fail_msg("%s: mime %s, wanted %s", names[i], p.mime, want);
		if (p.verdict == SD_VERDICT_AS_IS) /* its own init segment: avc1 as well */
			assert_string_equal(p.as_is_mime, want);
		assert_string_equal(p.streams[v].codec_string, avc);
		sd_probe_clear(&p);
	}
}

static void test_codec_strings_vp9_av1_opus(void **state)
{
	(void)state;
	AVFormatContext *ic = open_input(fixture("webm_vp9_opus.webm"));
	int v = first_of(ic, AVMEDIA_TYPE_VIDEO);
	char want[128];
	/* profile from the stream, 8-bit 4:2:0 from its pixel format; the level must be a VP9 level */
	assert_int_equal(ic->streams[v]->codecpar->format, AV_PIX_FMT_YUV420P);
	int profile = ic->streams[v]->codecpar->profile < 0 ? 0 : ic->streams[v]->codecpar->profile;
	avformat_close_input(&ic);
	sd_probe p;
	probe_ok("webm_vp9_opus.webm", &p);
	unsigned pp, ll, dd;
	char rest[64] = "";
	if (sscanf(p.mime, "video/mp4; codecs=\"vp09.%2u.%2u.%2u, %63[^\"]", &pp, &ll, &dd, rest) != 4)
		fail_msg("mime %s", p.mime);
	assert_int_equal(pp, (unsigned)profile);
	assert_int_equal(dd, 8);
	static const unsigned levels[] = {10, 11, 20, 21, 30, 31, 40, 41, 50, 51, 52, 60, 61, 62};
	bool known = false;
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
		known |= levels[i] == ll;
	assert_true(known);
	assert_string_equal(rest, "opus");
	assert_string_equal(p.as_is_mime, "video/webm; codecs=\"vp9, opus\"");
	sd_probe_clear(&p);

	if (!have_fixture("webm_av1_opus.webm")) {
		print_message("[  NOTE    ] no libaom-av1 encoder in this ffmpeg: the AV1 fixture is skipped\n");
		skip();
	}
	ic = open_input(fixture("webm_av1_opus.webm"));
	v = first_of(ic, AVMEDIA_TYPE_VIDEO);
	const AVCodecParameters *par = ic->streams[v]->codecpar;
	assert_true(par->extradata_size >= 4); /* Matroska's CodecPrivate is the av1C */
	const uint8_t *c = par->extradata;
	snprintf(want, sizeof want, "video/mp4; codecs=\"av01.%u.%02u%c.%02u, opus\"", c[1] >> 5, c[1] & 0x1f,
	         (c[2] & 0x80) ? 'H' : 'M', (c[2] & 0x40) ? ((c[2] & 0x20) ? 12 : 10) : 8);
	avformat_close_input(&ic);
	probe_ok("webm_av1_opus.webm", &p);
	assert_string_equal(p.mime, want);
	sd_probe_clear(&p);
}

/* HEVC remuxes as hvc1 with the string of its hvcC: the input's own in Matroska and MP4 (where
 * ffmpeg wrote hev1), the Matroska one for the same stream in MPEG-TS (Annex B, no hvcC). */
static void test_codec_strings_hevc(void **state)
{
	(void)state;
	static const char *names[] = {"mkv_hevc_aac.mkv", "mp4_hevc_moov_end.mp4", "ts_hevc_adts.ts"};
	char hvc1[64] = "";
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		AVFormatContext *ic = open_input(fixture(names[i]));
		int v = first_of(ic, AVMEDIA_TYPE_VIDEO);
		const AVCodecParameters *par = ic->streams[v]->codecpar;
		assert_int_equal(par->codec_id, AV_CODEC_ID_HEVC);
		if (strcmp(ic->iformat->name, "mpegts") == 0)
			assert_int_not_equal(par->extradata[0], 1); /* Annex B: the string is the Matroska file's */
		else
			expected_hevc("hvc1", par->extradata, par->extradata_size, hvc1, sizeof hvc1);
		avformat_close_input(&ic);
		assert_hvc1_form(hvc1);

		sd_probe p;
		probe_ok(names[i], &p);
		char want[128];
		snprintf(want, sizeof want, "video/mp4; codecs=\"%s, mp4a.40.2\"", hvc1);
		if (strcmp(p.mime, want) != 0)
			fail_msg("%s: mime %s, wanted %s", names[i], p.mime, want);
		assert_string_equal(p.streams[v].codec_string, hvc1);
		assert_int_equal(p.streams[v].verdict, SD_VERDICT_REMUX);
		sd_probe_clear(&p);
	}

	/* A fragmented MP4 ffmpeg wrote is played as it is, under its own sample entry (hev1); a
	 * remux would write hvc1. */
	AVFormatContext *ic = open_input(fixture("fmp4_hevc_aac.mp4"));
	const AVCodecParameters *par = ic->streams[first_of(ic, AVMEDIA_TYPE_VIDEO)]->codecpar;
	assert_int_equal(par->codec_tag, MKTAG('h', 'e', 'v', '1'));
	char hev1[64], want[128];
	expected_hevc("hev1", par->extradata, par->extradata_size, hev1, sizeof hev1);
	expected_hevc("hvc1", par->extradata, par->extradata_size, hvc1, sizeof hvc1);
	avformat_close_input(&ic);
	sd_probe p;
	probe_ok("fmp4_hevc_aac.mp4", &p);
	assert_int_equal(p.verdict, SD_VERDICT_AS_IS);
	snprintf(want, sizeof want, "video/mp4; codecs=\"%s, mp4a.40.2\"", hev1);
	assert_string_equal(p.as_is_mime, want);
	snprintf(want, sizeof want, "video/mp4; codecs=\"%s, mp4a.40.2\"", hvc1);
	assert_string_equal(p.mime, want);
	sd_probe_clear(&p);
}

/* The codec string of a stream copied into MP4, from its own parameters: avc1 and hvc1 from
 * their configuration (raw HEVC's is Annex B: its string is the Matroska file's, the same
 * stream), MPEG-4 Part 2's profile and level (decimal) from its visual object sequence header,
 * MPEG audio's object type (6b: MPEG-1, 69: MPEG-2 rates), AAC's object type. */
static void expected_own_string(const AVCodecParameters *par, char *out, size_t size)
{
	const uint8_t *x = par->extradata;
	switch (par->codec_id) {
	case AV_CODEC_ID_H264:
		expected_avc1(par, out, size);
		return;
	case AV_CODEC_ID_HEVC: {
		AVFormatContext *ic = open_input(fixture("mkv_hevc_aac.mkv"));
		const AVCodecParameters *mkv = ic->streams[first_of(ic, AVMEDIA_TYPE_VIDEO)]->codecpar;
		expected_hevc("hvc1", mkv->extradata, mkv->extradata_size, out, size);
		avformat_close_input(&ic);
		return;
	}
	case AV_CODEC_ID_MPEG4:
		for (int i = 0; i + 4 < par->extradata_size; i++)
			if (x[i] == 0 && x[i + 1] == 0 && x[i + 2] == 1 && x[i + 3] == 0xb0) {
				snprintf(out, size, "mp4v.20.%u", x[i + 4]);
				return;
			}
		fail_msg("no visual object sequence header in the MPEG-4 extradata");
		return;
	case AV_CODEC_ID_MP3:
		snprintf(out, size, "mp4a.%s", par->sample_rate >= 32000 ? "6b" : "69");
		return;
	case AV_CODEC_ID_AC3:
		snprintf(out, size, "ac-3");
		return;
	case AV_CODEC_ID_AAC:
		snprintf(out, size, "mp4a.40.%d", par->profile + 1);
		return;
	default:
		fail_msg("no expected string for %s", avcodec_get_name(par->codec_id));
	}
}

/* Every audio and video stream names its own codec, also under a transcode verdict (a player with
 * other decoders can judge it); the file's MIME type names what the remux writes. */
static void test_codec_strings_of_every_stream(void **state)
{
	(void)state;
	static const struct {
		const char *name, *mime; /* "" when the file cannot be remuxed */
	} cases[] = {
		{"mpeg4_part2.avi", ""},
		{"mkv_h264_mp3.mkv", "mp4a.40.2\""}, /* transcoded to AAC */
		{"mkv_h264_ac3.mkv", "mp4a.40.2\""},
		{"avi_h264_bframes.avi", ""},
		{"raw.h264", ""},
		{"raw.hevc", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sd_probe p;
		probe_ok(cases[i].name, &p);
		assert_int_equal(p.verdict, SD_VERDICT_TRANSCODE);
		AVFormatContext *ic = open_input(fixture(cases[i].name));
		assert_int_equal(ic->nb_streams, p.n_streams);
		int transcoded = 0;
		for (unsigned s = 0; s < ic->nb_streams; s++) {
			char want[64];
			expected_own_string(ic->streams[s]->codecpar, want, sizeof want);
			if (strcmp(p.streams[s].codec_string, want) != 0)
				fail_msg("%s stream %u: \"%s\", wanted \"%s\"", cases[i].name, s, p.streams[s].codec_string, want);
			transcoded += p.streams[s].verdict == SD_VERDICT_TRANSCODE;
		}
		assert_true(transcoded > 0);
		if (cases[i].mime[0] ? !strstr(p.mime, cases[i].mime) : p.mime[0] != '\0')
			fail_msg("%s: mime \"%s\"", cases[i].name, p.mime);
		avformat_close_input(&ic);
		sd_probe_clear(&p);
	}
}

/* Builds a box: 32-bit size, type, body. Returns the bytes written into out. */
static size_t box(uint8_t *out, const char *type, const uint8_t *body, size_t len)
{
	size_t size = 8 + len;
	out[0] = (uint8_t)(size >> 24);
	out[1] = (uint8_t)(size >> 16);
	out[2] = (uint8_t)(size >> 8);
	out[3] = (uint8_t)size;
	memcpy(out + 4, type, 4);
	memmove(out + 8, body, len);
	return size;
}

/* An init segment with one mp4a track whose esds carries asc (an AudioSpecificConfig). */
static size_t make_mp4a_init(uint8_t *buf, const uint8_t *asc, size_t asc_len)
{
	uint8_t a[512], b[512];
	size_t n = 0;
	/* esds: version/flags, ES_Descriptor(ES_ID, flags, DecoderConfig(oti 0x40, ..., DSI(asc))) */
	uint8_t esds[128] = {0, 0, 0, 0, 0x03, (uint8_t)(3 + 2 + 13 + 2 + asc_len), 0, 1, 0,
	                     0x04, (uint8_t)(13 + 2 + asc_len), 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	                     0x05, (uint8_t)asc_len};
	size_t elen = 26;
	memcpy(esds + elen, asc, asc_len);
	elen += asc_len;
	uint8_t entry[256] = {0};
	size_t entry_len = 28;
	entry_len += box(entry + entry_len, "esds", esds, elen);
	n = box(a, "mp4a", entry, entry_len);
	uint8_t stsd_body[512] = {0, 0, 0, 0, 0, 0, 0, 1};
	memcpy(stsd_body + 8, a, n);
	n = box(b, "stsd", stsd_body, 8 + n);
	n = box(a, "stbl", b, n);
	n = box(b, "minf", a, n);
	n = box(a, "mdia", b, n);
	n = box(b, "trak", a, n);
	n = box(a, "moov", b, n);
	uint8_t ftyp[8] = {'i', 's', 'o', 'm', 0, 0, 2, 0};
	size_t f = box(buf, "ftyp", ftyp, sizeof ftyp);
	memcpy(buf + f, a, n);
	return f + n;
}

static void test_mime_from_init(void **state)
{
	(void)state;
	uint8_t buf[1024];
	char mime[256];
	sd_error err;
	const uint8_t lc[] = {0x12, 0x10};             /* object type 2, 44.1 kHz, stereo */
	const uint8_t he[] = {0x2b, 0x92, 0x08, 0x00}; /* object type 5 (SBR) */
	const uint8_t esc[] = {0xf8, 0x40, 0x00};      /* 31: escape, 32 + 2 = object type 34 */
	size_t n = make_mp4a_init(buf, lc, sizeof lc);
	assert_true(sd_probe_mime_from_init(buf, n, mime, sizeof mime, &err));
	assert_string_equal(mime, "audio/mp4; codecs=\"mp4a.40.2\"");
	n = make_mp4a_init(buf, he, sizeof he);
	assert_true(sd_probe_mime_from_init(buf, n, mime, sizeof mime, &err));
	assert_string_equal(mime, "audio/mp4; codecs=\"mp4a.40.5\"");
	n = make_mp4a_init(buf, esc, sizeof esc);
	assert_true(sd_probe_mime_from_init(buf, n, mime, sizeof mime, &err));
	assert_string_equal(mime, "audio/mp4; codecs=\"mp4a.40.34\"");
	/* a box whose size runs past the end, a cut segment, no moov, nothing */
	n = make_mp4a_init(buf, lc, sizeof lc);
	buf[16 + 3] = 0xff; /* moov size */
	assert_false(sd_probe_mime_from_init(buf, n, mime, sizeof mime, &err));
	assert_non_null(strstr(err.message, "moov"));
	assert_int_equal(err.code, SD_ERR_MEDIA_INIT);
	n = make_mp4a_init(buf, lc, sizeof lc);
	for (size_t cut = 0; cut < n; cut++)
		assert_false(sd_probe_mime_from_init(buf, cut, mime, sizeof mime, &err));
	assert_false(sd_probe_mime_from_init(NULL, 0, mime, sizeof mime, &err));
	/* a MIME type that does not fit is not left cut */
	n = make_mp4a_init(buf, lc, sizeof lc);
	char small[20];
	assert_false(sd_probe_mime_from_init(buf, n, small, sizeof small, &err));
	assert_int_equal(err.code, SD_ERR_ARGUMENT);
	assert_string_equal(small, "");
}

/* ---- Verdicts --------------------------------------------------------------------------------- */

typedef struct {
	const char *name;
	sd_probe_verdict verdict;
	const char *reason; /* substring of the reason, NULL: no reason */
	bool audio_transcode;
} verdict_case;

static void test_verdicts(void **state)
{
	(void)state;
	static const verdict_case cases[] = {
		{"mkv_h264_aac.mkv", SD_VERDICT_REMUX, NULL, false},
		{"mov_moov_end.mov", SD_VERDICT_REMUX, NULL, false},
		{"mp4_moov_end.mp4", SD_VERDICT_REMUX, NULL, false},
		{"ts_h264_adts.ts", SD_VERDICT_REMUX, NULL, false},
		{"flv_h264_aac.flv", SD_VERDICT_REMUX, NULL, false},
		{"avi_h264.avi", SD_VERDICT_REMUX, NULL, false},
		{"audio_aac.m4a", SD_VERDICT_REMUX, NULL, false},
		{"audio_adts.aac", SD_VERDICT_REMUX, NULL, false},
		{"truncated.mkv", SD_VERDICT_REMUX, NULL, false}, /* its header is whole: the remux finds out */
		{"fmp4_h264_aac.mp4", SD_VERDICT_AS_IS, NULL, false},
		{"mkv_hevc_aac.mkv", SD_VERDICT_REMUX, NULL, false},
		{"mp4_hevc_moov_end.mp4", SD_VERDICT_REMUX, NULL, false},
		{"ts_hevc_adts.ts", SD_VERDICT_REMUX, NULL, false},
		{"fmp4_hevc_aac.mp4", SD_VERDICT_AS_IS, NULL, false},
		{"webm_vp9_opus.webm", SD_VERDICT_AS_IS, NULL, false},
		{"webm_av1_opus.webm", SD_VERDICT_AS_IS, NULL, false},
		{"avi_h264_bframes.avi", SD_VERDICT_TRANSCODE, "AVI with B-frames loses presentation order", false},
		{"raw.h264", SD_VERDICT_TRANSCODE, "raw H.264 has no timestamps", false},
		{"raw.hevc", SD_VERDICT_TRANSCODE, "raw HEVC has no timestamps", false},
		{"mpeg4_part2.avi", SD_VERDICT_TRANSCODE, "MPEG-4 Part 2 video is not playable through MSE", false},
		{"mkv_h264_mp3.mkv", SD_VERDICT_TRANSCODE, "MP3 audio cannot go in MP4 for Chromium: transcode to AAC (--transcode-audio)", true},
		{"mkv_h264_ac3.mkv", SD_VERDICT_TRANSCODE, "AC-3 audio is not playable in Chromium", true},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const verdict_case *c = &cases[i];
		if (!have_fixture(c->name)) {
			print_message("[  NOTE    ] %s is missing (no encoder for it): its verdict is not checked\n", c->name);
			continue;
		}
		sd_probe p;
		probe_ok(c->name, &p);
		if (p.verdict != c->verdict || p.audio_transcode != c->audio_transcode ||
		    (c->reason ? strstr(p.reason, c->reason) == NULL : p.reason[0] != '\0'))
			fail_msg("%s: verdict %s \"%s\" audio_transcode %d; wanted %s \"%s\" %d", c->name,
			         sd_probe_verdict_name(p.verdict), p.reason, p.audio_transcode, sd_probe_verdict_name(c->verdict),
			         c->reason ? c->reason : "", c->audio_transcode);
		/* a remux or a transcode of the audio names what it would write; transcoding video does not */
		bool writes = c->verdict == SD_VERDICT_REMUX || c->verdict == SD_VERDICT_AS_IS || c->audio_transcode;
		if (writes != (p.mime[0] != '\0'))
			fail_msg("%s: mime \"%s\"", c->name, p.mime);
		/* the JSON says the same */
		json_t *j = sd_probe_to_json(&p);
		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(j, "verdict")), sd_probe_verdict_name(c->verdict));
		assert_int_equal(json_array_size(json_object_get(j, "streams")), p.n_streams);
		assert_string_equal(json_string_value(json_object_get(j, "format")), p.format);
		json_decref(j);
		sd_probe_clear(&p);
	}
}

/* A Matroska file with subtitles and a second audio track: both are dropped and say so. */
static void test_dropped_streams(void **state)
{
	(void)state;
	char path[4200], cmd[17000];
	snprintf(path, sizeof path, "%s/../extra-%d.mkv", SD_MEDIA_FIXTURES, (int)getpid());
	snprintf(cmd, sizeof cmd,
	         "printf '1\\n00:00:00,000 --> 00:00:01,000\\nhi\\n' > '%s.srt' && "
	         "ffmpeg -nostdin -loglevel error -y -i '%s' -i '%s.srt' -map 0:v -map 0:a -map 0:a -map 1 -c copy '%s'",
	         path, fixture("mkv_h264_aac.mkv"), path, path);
	assert_int_equal(system(cmd), 0);
	sd_probe p;
	sd_error err;
	assert_true(sd_probe_file(path, &p, &err));
	assert_int_equal(p.n_streams, 4);
	assert_int_equal(p.verdict, SD_VERDICT_REMUX);
	int dropped = 0;
	for (size_t i = 0; i < p.n_streams; i++)
		if (p.streams[i].verdict == SD_VERDICT_DROP) {
			dropped++;
			assert_true(p.streams[i].reason[0] != '\0');
		}
	assert_int_equal(dropped, 2);
	assert_int_equal(p.streams[3].verdict, SD_VERDICT_DROP);
	assert_non_null(strstr(p.streams[3].reason, "subtitles"));
	assert_string_equal(p.streams[1].language, "eng");
	sd_probe_clear(&p);
	unlink(path);
	snprintf(cmd, sizeof cmd, "%s.srt", path);
	unlink(cmd);
}

static void test_broken_inputs(void **state)
{
	(void)state;
	static const struct {
		const char *name, *probe_error; /* NULL: the probe succeeds */
		const char *remux_error;
		int code; /* of the remux, and of the probe when it fails */
	} cases[] = {
		{"truncated.mp4", "not a media file", "not a media file", SD_ERR_MEDIA_FORMAT},
		{"truncated.mkv", NULL, "truncated", SD_ERR_MEDIA_FORMAT},
		{"random.bin", "not a media file", "not a media file", SD_ERR_MEDIA_FORMAT},
		{"empty.mp4", "empty file", "empty file", SD_ERR_MEDIA_FORMAT},
		{"garbage_header.mp4", "not a media file", "not a media file", SD_ERR_MEDIA_FORMAT},
		{"no-such-file.mkv", "No such file", "No such file", SD_ERR_IO},
		/* libavformat opens these, but by their names alone, or as text */
		{"random_200k.bin", "not a media file (only its name", "not a media file", SD_ERR_MEDIA_FORMAT},
		{"random.gsm", "not a media file (only its name", "not a media file", SD_ERR_MEDIA_FORMAT},
		{"text.txt", "not a media file (libavformat reads it as text-mode art", "not a media file", SD_ERR_MEDIA_FORMAT},
		{"ansi_art.txt", "not a media file (libavformat reads it as text-mode art", "not a media file", SD_ERR_MEDIA_FORMAT},
		{"art.xb", "not a media file (libavformat reads it as text-mode art", "not a media file", SD_ERR_MEDIA_FORMAT},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sd_probe p;
		sd_error err = {0};
		char out[4200];
		bool ok = sd_probe_file(fixture(cases[i].name), &p, &err);
		if (cases[i].probe_error) {
			if (ok || !strstr(err.message, cases[i].probe_error))
				fail_msg("%s: probe %d \"%s\"", cases[i].name, ok, err.message);
			assert_int_equal(err.code, cases[i].code);
			assert_null(p.streams);
			assert_null(strchr(err.message, '\n'));
		} else {
			assert_true(ok);
			sd_probe_clear(&p);
		}
		out_path(out, sizeof out, cases[i].name);
		sd_remux_output r;
		err.message[0] = '\0';
		ok = sd_remux_file(fixture(cases[i].name), out, NULL, &r, &err);
		if (ok || !strstr(err.message, cases[i].remux_error))
			fail_msg("%s: remux %d \"%s\"", cases[i].name, ok, err.message);
		assert_int_equal(err.code, cases[i].code);
		assert_null(r.fragments);
		assert_false(exists(out)); /* no partial output left */
	}
}

/* sd_probe_input refuses text-mode art in an input the caller opened, as sd_probe_open does (a
 * match by name alone it cannot see: it has no file name). */
static void test_text_art_opened_by_the_caller(void **state)
{
	(void)state;
	static const char *names[] = {"random_200k.bin", "text.txt", "ansi_art.txt", "art.xb"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		AVFormatContext *ic = open_input(fixture(names[i]));
		sd_probe p;
		sd_error err = {0};
		if (sd_probe_input(ic, &p, &err) || !strstr(err.message, "not a media file (libavformat reads it as text-mode art"))
			fail_msg("%s: \"%s\"", names[i], err.message);
		assert_null(p.streams);
		avformat_close_input(&ic);
	}
}

static void test_refusals(void **state)
{
	(void)state;
	static const char *names[] = {"raw.hevc", "mpeg4_part2.avi", "raw.h264", "avi_h264_bframes.avi",
	                              "mkv_h264_mp3.mkv"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		sd_probe p;
		probe_ok(names[i], &p);
		sd_error err = {0};
		char out[4200];
		out_path(out, sizeof out, names[i]);
		sd_remux_output r;
		assert_false(sd_remux_file(fixture(names[i]), out, NULL, &r, &err));
		assert_string_equal(err.message, p.reason); /* fails with the verdict's reason */
		assert_int_equal(err.code, SD_ERR_MEDIA_UNPLAYABLE);
		assert_false(exists(out));
		assert_true(fcntl(STDOUT_FILENO, F_GETFD) != -1); /* a refusal leaves the process's stdout open */
		sd_probe_clear(&p);
	}
	/* the output may not be the input */
	sd_error err;
	sd_remux_output r;
	assert_false(sd_remux_file(fixture("mkv_h264_aac.mkv"), fixture("mkv_h264_aac.mkv"), NULL, &r, &err));
	assert_non_null(strstr(err.message, "overwrite the input"));
	assert_int_equal(err.code, SD_ERR_ARGUMENT);
	assert_true(exists(fixture("mkv_h264_aac.mkv")));
}

static bool cancel_after_one_second(void *opaque, double done, double total)
{
	int *calls = opaque;
	(*calls)++;
	assert_true(total > 5 && total < 7);
	return done < 1.0;
}

static void test_cancel(void **state)
{
	(void)state;
	char out[4200];
	sd_error err;
	int calls = 0;
	out_path(out, sizeof out, "cancel");
	sd_remux_options opts = {.progress = cancel_after_one_second, .opaque = &calls};
	sd_remux_output r;
	assert_false(sd_remux_file(fixture("mkv_h264_aac.mkv"), out, &opts, &r, &err));
	assert_string_equal(err.message, "cancelled");
	assert_int_equal(err.code, SD_ERR_CANCELLED);
	assert_true(calls >= 2);
	assert_false(exists(out));
}

/* ---- The remux output, read back ----------------------------------------------------------------- */

static double start_seconds(const AVFormatContext *ic, int index)
{
	const AVStream *st = ic->streams[index];
	assert_true(st->start_time != AV_NOPTS_VALUE);
	return st->start_time * av_q2d(st->time_base);
}

/* An hvcC that carries the parameter sets, as hvc1 requires: a VPS, an SPS and a PPS. (Its
 * array_completeness bits are the input's: libavformat copies an hvcC as it is.) */
static void assert_hvcc_parameter_sets(const uint8_t *c, int n)
{
	assert_true(n >= 23 && c[0] == 1);
	int pos = 23, found = 0;
	for (int a = 0; a < c[22]; a++) {
		assert_true(pos + 3 <= n);
		int type = c[pos] & 0x3f, nalus = c[pos + 1] << 8 | c[pos + 2];
		if (type >= 32 && type <= 34 && nalus > 0)
			found |= 1 << (type - 32);
		pos += 3;
		for (int i = 0; i < nalus; i++) {
			assert_true(pos + 2 <= n);
			pos += 2 + (c[pos] << 8 | c[pos + 1]);
		}
		assert_true(pos <= n);
	}
	assert_int_equal(found, 7);
}

/* A decoder for a stream of the output that stops at the first damaged frame (AV_EF_EXPLODE):
 * the samples are what the sample entry says (length-prefixed NAL units for avc1 and hvc1). */
static AVCodecContext *strict_decoder(const AVCodecParameters *par)
{
	const AVCodec *dec = avcodec_find_decoder(par->codec_id);
	assert_non_null(dec);
	AVCodecContext *ctx = avcodec_alloc_context3(dec);
	assert_non_null(ctx);
	assert_true(avcodec_parameters_to_context(ctx, par) >= 0);
	ctx->err_recognition = AV_EF_EXPLODE;
	assert_int_equal(avcodec_open2(ctx, dec, NULL), 0);
	return ctx;
}

/* Sends a packet (NULL: the end) and counts the frames that come out. */
static void decode_counting(AVCodecContext *ctx, const AVPacket *pkt, AVFrame *frame, size_t *frames)
{
	int ret = avcodec_send_packet(ctx, pkt);
	if (ret < 0)
		fail_msg("the %s decoder refuses a packet of the output: %s", ctx->codec->name, av_err2str(ret));
	while ((ret = avcodec_receive_frame(ctx, frame)) >= 0) {
		(*frames)++;
		av_frame_unref(frame);
	}
	assert_true(ret == AVERROR(EAGAIN) || ret == AVERROR_EOF);
}

static void check_remux(const char *name, bool transcode_audio)
{
	if (!have_fixture(name)) {
		print_message("[  NOTE    ] %s is missing (no encoder for it): skipped\n", name);
		return;
	}
	char out[4200];
	sd_error err = {0};
	out_path(out, sizeof out, name);
	sd_probe p;
	probe_ok(name, &p);
	sd_remux_options opts = {.transcode_audio = transcode_audio};
	sd_remux_output r;
	if (!sd_remux_file(fixture(name), out, &opts, &r, &err))
		fail_msg("%s: %s", name, err.message);

	/* the result: what the probe said it would be, and an index that holds together */
	assert_string_equal(r.mime, p.mime);
	assert_true(r.n_fragments >= 2);
	assert_int_equal(r.fragments[0].offset, r.init_size);
	assert_int_equal(r.fragments[0].time_ms, 0);
	struct stat sb;
	assert_int_equal(stat(out, &sb), 0);
	assert_int_equal((uint64_t)sb.st_size, r.size);
	FILE *f = fopen(out, "rb");
	assert_non_null(f);
	uint8_t head[8];
	assert_int_equal(fread(head, 1, 8, f), 8);
	assert_memory_equal(head + 4, "ftyp", 4);
	for (size_t i = 0; i < r.n_fragments; i++) {
		if (i > 0) {
			assert_true(r.fragments[i].offset > r.fragments[i - 1].offset);
			assert_true(r.fragments[i].time_ms >= r.fragments[i - 1].time_ms);
		}
		assert_true(r.fragments[i].offset + 8 <= r.size);
		assert_int_equal(fseek(f, (long)r.fragments[i].offset, SEEK_SET), 0);
		assert_int_equal(fread(head, 1, 8, f), 8);
		if (memcmp(head + 4, "moof", 4) != 0)
			fail_msg("%s: fragment %zu at %llu is not a moof", name, i, (unsigned long long)r.fragments[i].offset);
	}
	/* the init segment alone gives the same codec strings */
	uint8_t *init = malloc(r.init_size);
	assert_non_null(init);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	assert_int_equal(fread(init, 1, r.init_size, f), r.init_size);
	char mime[256];
	assert_true(sd_probe_mime_from_init(init, r.init_size, mime, sizeof mime, &err));
	assert_string_equal(mime, r.mime);
	free(init);
	fclose(f);

	/* read back: timestamps, keyframes at fragment starts, fragment lengths, A/V start offset */
	AVFormatContext *in = open_input(fixture(name)), *ic = open_input(out);
	int iv = first_of(in, AVMEDIA_TYPE_VIDEO), ia = first_of(in, AVMEDIA_TYPE_AUDIO);
	int ov = first_of(ic, AVMEDIA_TYPE_VIDEO), oa = first_of(ic, AVMEDIA_TYPE_AUDIO);
	assert_int_equal(iv >= 0, ov >= 0);
	assert_int_equal(ia >= 0, oa >= 0);
	assert_int_equal(ic->nb_streams, (unsigned)(ov >= 0) + (unsigned)(oa >= 0));
	double frame = 0;
	if (ov >= 0 && oa >= 0) {
		AVRational fr = in->streams[iv]->avg_frame_rate;
		assert_true(fr.num > 0);
		frame = 1.0 / av_q2d(fr);
		double in_off = start_seconds(in, iv) - start_seconds(in, ia);
		double out_off = start_seconds(ic, ov) - start_seconds(ic, oa);
		if (fabs(out_off - in_off) >= frame)
			fail_msg("%s: A/V start offset %.4f s in the output, %.4f s in the input", name, out_off, in_off);
	}
	/* HEVC comes out as hvc1, its parameter sets in the hvcC whose string the MIME type gives */
	if (ov >= 0 && ic->streams[ov]->codecpar->codec_id == AV_CODEC_ID_HEVC) {
		const AVCodecParameters *par = ic->streams[ov]->codecpar;
		assert_int_equal(par->codec_tag, MKTAG('h', 'v', 'c', '1'));
		assert_hvcc_parameter_sets(par->extradata, par->extradata_size);
		char hvc1[64], want[80];
		expected_hevc("hvc1", par->extradata, par->extradata_size, hvc1, sizeof hvc1);
		snprintf(want, sizeof want, "codecs=\"%s,", hvc1);
		if (!strstr(r.mime, want))
			fail_msg("%s: mime %s, the output's hvcC says %s", name, r.mime, hvc1);
	}
	double in_duration = (double)in->duration / AV_TIME_BASE;
	if (fabs(r.duration - in_duration) > 0.2)
		fail_msg("%s: duration %.3f s, the input's %.3f s", name, r.duration, in_duration);

	AVPacket *pkt = av_packet_alloc();
	assert_non_null(pkt);
	int64_t last_dts[2] = {INT64_MIN, INT64_MIN};
	size_t frag = 0, video_seen_in = (size_t)-1, packets = 0;
	double *frag_start = calloc(r.n_fragments, sizeof *frag_start);
	assert_non_null(frag_start);
	int key_track = ov >= 0 ? ov : oa;
	AVCodecContext *video_dec = ov >= 0 ? strict_decoder(ic->streams[ov]->codecpar) : NULL;
	AVFrame *frame_out = av_frame_alloc();
	assert_non_null(frame_out);
	size_t video_packets = 0, video_frames = 0;
	while (av_read_frame(ic, pkt) >= 0) {
		int s = pkt->stream_index;
		assert_true(s == 0 || s == 1);
		assert_true(pkt->dts != AV_NOPTS_VALUE);
		if (pkt->dts <= last_dts[s])
			fail_msg("%s: stream %d dts %lld after %lld", name, s, (long long)pkt->dts, (long long)last_dts[s]);
		last_dts[s] = pkt->dts;
		assert_true(pkt->pos >= (int64_t)r.init_size);
		while (frag + 1 < r.n_fragments && (uint64_t)pkt->pos > r.fragments[frag + 1].offset)
			frag++;
		if (s == key_track && video_seen_in != frag) {
			video_seen_in = frag;
			if (s == ov && !(pkt->flags & AV_PKT_FLAG_KEY))
				fail_msg("%s: fragment %zu starts with a video frame that is not a keyframe", name, frag);
			frag_start[frag] = pkt->pts * av_q2d(ic->streams[s]->time_base);
		}
		if (s == ov) {
			video_packets++;
			decode_counting(video_dec, pkt, frame_out, &video_frames);
		}
		packets++;
		av_packet_unref(pkt);
	}
	assert_true(packets > 50);
	if (video_dec) {
		decode_counting(video_dec, NULL, frame_out, &video_frames);
		if (video_frames != video_packets)
			fail_msg("%s: %zu video packets decode to %zu frames", name, video_packets, video_frames);
		avcodec_free_context(&video_dec);
	}
	av_frame_free(&frame_out);
	assert_int_equal(frag + 1, r.n_fragments); /* every fragment held samples */
	for (size_t i = 0; i + 1 < r.n_fragments; i++) {
		double len = frag_start[i + 1] - frag_start[i];
		if (len < 1.5 || len > 3.5)
			fail_msg("%s: fragment %zu lasts %.3f s", name, i, len);
		/* the index's times match the fragments' own, within a frame (or 50 ms of audio) */
		double idx = (r.fragments[i + 1].time_ms - r.fragments[i].time_ms) / 1000.0;
		if (fabs(idx - len) > (frame > 0 ? frame : 0.05) + 0.001)
			fail_msg("%s: fragment %zu lasts %.3f s, the index says %.3f s", name, i, len, idx);
	}
	free(frag_start);
	av_packet_free(&pkt);
	avformat_close_input(&in);
	avformat_close_input(&ic);
	sd_remux_output_clear(&r);
	sd_probe_clear(&p);
	unlink(out);
}

static void test_remux_mkv(void **state) { (void)state; check_remux("mkv_h264_aac.mkv", false); }
static void test_remux_mov_moov_end(void **state) { (void)state; check_remux("mov_moov_end.mov", false); }
static void test_remux_mp4_moov_end(void **state) { (void)state; check_remux("mp4_moov_end.mp4", false); }
static void test_remux_ts_adts(void **state) { (void)state; check_remux("ts_h264_adts.ts", false); }
static void test_remux_flv(void **state) { (void)state; check_remux("flv_h264_aac.flv", false); }
static void test_remux_avi(void **state) { (void)state; check_remux("avi_h264.avi", false); }
static void test_remux_fmp4(void **state) { (void)state; check_remux("fmp4_h264_aac.mp4", false); }
static void test_remux_hevc_mkv(void **state) { (void)state; check_remux("mkv_hevc_aac.mkv", false); }
static void test_remux_hevc_mp4_moov_end(void **state) { (void)state; check_remux("mp4_hevc_moov_end.mp4", false); }
static void test_remux_hevc_ts(void **state) { (void)state; check_remux("ts_hevc_adts.ts", false); }
static void test_remux_hevc_fmp4(void **state) { (void)state; check_remux("fmp4_hevc_aac.mp4", false); }
static void test_remux_webm_vp9(void **state) { (void)state; check_remux("webm_vp9_opus.webm", false); }
static void test_remux_webm_av1(void **state) { (void)state; check_remux("webm_av1_opus.webm", false); }
static void test_remux_audio_m4a(void **state) { (void)state; check_remux("audio_aac.m4a", false); }
static void test_remux_audio_adts(void **state) { (void)state; check_remux("audio_adts.aac", false); }
static void test_transcode_mp3(void **state) { (void)state; check_remux("mkv_h264_mp3.mkv", true); }
static void test_transcode_ac3(void **state) { (void)state; check_remux("mkv_h264_ac3.mkv", true); }

static bool sink_to_memory(void *opaque, const uint8_t *buf, size_t len)
{
	(void)buf;
	*(uint64_t *)opaque += len;
	return true;
}

static bool sink_fails(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	(void)len;
	return false;
}

/* The caller's sink: every byte reaches it, and one that fails stops the remux cleanly. */
static void test_sink(void **state)
{
	(void)state;
	AVFormatContext *ic = open_input(fixture("ts_h264_adts.ts"));
	sd_probe p;
	sd_error err;
	assert_true(sd_probe_input(ic, &p, &err));
	uint64_t bytes = 0;
	sd_remux_output r;
	assert_true(sd_remux_input(ic, &p, sink_to_memory, &bytes, NULL, &r, &err));
	assert_int_equal(bytes, r.size);
	sd_remux_output_clear(&r);
	assert_int_equal(av_seek_frame(ic, -1, 0, AVSEEK_FLAG_BACKWARD), 0);
	assert_false(sd_remux_input(ic, &p, sink_fails, NULL, NULL, &r, &err));
	assert_string_equal(err.message, "write failed");
	assert_int_equal(err.code, SD_ERR_IO);
	assert_null(r.fragments);
	sd_probe_clear(&p);
	avformat_close_input(&ic);
}

static int group_setup(void **state)
{
	(void)state;
	av_log_set_level(AV_LOG_QUIET);
	struct stat sb;
	if (stat(SD_MEDIA_FIXTURES, &sb) != 0) {
		fprintf(stderr, "media fixtures missing in %s: run make check (tests/media/make-fixtures.sh)\n", SD_MEDIA_FIXTURES);
		return -1;
	}
	return 0;
}

int run_media_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_strings_h264_aac),
		cmocka_unit_test(test_codec_strings_vp9_av1_opus),
		cmocka_unit_test(test_codec_strings_hevc),
		cmocka_unit_test(test_codec_strings_of_every_stream),
		cmocka_unit_test(test_mime_from_init),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_dropped_streams),
		cmocka_unit_test(test_broken_inputs),
		cmocka_unit_test(test_text_art_opened_by_the_caller),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_remux_mkv),
		cmocka_unit_test(test_remux_mov_moov_end),
		cmocka_unit_test(test_remux_mp4_moov_end),
		cmocka_unit_test(test_remux_ts_adts),
		cmocka_unit_test(test_remux_flv),
		cmocka_unit_test(test_remux_avi),
		cmocka_unit_test(test_remux_fmp4),
		cmocka_unit_test(test_remux_hevc_mkv),
		cmocka_unit_test(test_remux_hevc_mp4_moov_end),
		cmocka_unit_test(test_remux_hevc_ts),
		cmocka_unit_test(test_remux_hevc_fmp4),
		cmocka_unit_test(test_remux_webm_vp9),
		cmocka_unit_test(test_remux_webm_av1),
		cmocka_unit_test(test_remux_audio_m4a),
		cmocka_unit_test(test_remux_audio_adts),
		cmocka_unit_test(test_transcode_mp3),
		cmocka_unit_test(test_transcode_ac3),
		cmocka_unit_test(test_sink),
	};
	return cmocka_run_group_tests_name("media", tests, group_setup, NULL);
}

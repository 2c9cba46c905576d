#include <glib.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sd_content.h"
#include "sd_manifest.h"
#include "test_support.h"
#include "unit.h"

/* One file of 5 bytes, for the rule cases. */
#define FILE_OK "{\"path\":\"a\",\"size\":5,\"type\":\"\"}"

/* ---- Manifest rules ------------------------------------------------------------------------- */

struct manifest_case {
	const char *json;
	int code; /* 0: accepted */
	const char *reason;
};

static const struct manifest_case manifest_cases[] = {
	{GOOD_MANIFEST, 0, ""},
	/* Not a JSON object. */
	{"", SD_ERR_MANIFEST_JSON, "not UTF-8 JSON"},
	{"{", SD_ERR_MANIFEST_JSON, "not UTF-8 JSON"},
	{"[]", SD_ERR_MANIFEST_JSON, "not a JSON object"},
	{"1", SD_ERR_MANIFEST_JSON, "not a JSON object"},
	{"null", SD_ERR_MANIFEST_JSON, "not a JSON object"},
	{GOOD_MANIFEST " x", SD_ERR_MANIFEST_JSON, "not UTF-8 JSON"},
	{"{\"v\":1,\"v\":1,\"piece_size\":16384,\"total\":0,\"files\":[{\"path\":\"a\",\"size\":0,\"type\":\"\"}]}",
	 SD_ERR_MANIFEST_JSON, "duplicate"},
	{WITH_FILES("{\"path\":\"a\",\"size\":5,\"type\":\"\",\"type\":\"\"}"), SD_ERR_MANIFEST_JSON, "duplicate"},
	{WITH_PATH("\xff"), SD_ERR_MANIFEST_JSON, "not UTF-8 JSON"},
	{WITH_PATH("\xed\xa0\x80"), SD_ERR_MANIFEST_JSON, "not UTF-8 JSON"}, /* a UTF-16 surrogate */
	{WITH_PATH("\\ud800"), SD_ERR_MANIFEST_JSON, "not UTF-8 JSON"},    /* a lone surrogate escape */
	{WITH_PATH("\\udc00x"), SD_ERR_MANIFEST_JSON, "not UTF-8 JSON"},
	{WITH_PATH("a\tb"), SD_ERR_MANIFEST_JSON, "not UTF-8 JSON"},       /* a raw tab inside a string */
	{"\xef\xbb\xbf" GOOD_MANIFEST, SD_ERR_MANIFEST_JSON, "not UTF-8 JSON"}, /* a byte order mark */
	/* Exactly the members. */
	{"{\"v\":1,\"piece_size\":16384,\"total\":5,\"files\":[" FILE_OK "],\"name\":\"x\"}", SD_ERR_MANIFEST_MEMBERS,
	 "the manifest has an unknown member 'name'"},
	{"{\"piece_size\":16384,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_MEMBERS, "lacks the member 'v'"},
	{"{\"v\":1,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_MEMBERS, "lacks the member 'piece_size'"},
	{"{\"v\":1,\"piece_size\":16384,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_MEMBERS, "lacks the member 'total'"},
	{"{\"v\":1,\"piece_size\":16384,\"total\":5}", SD_ERR_MANIFEST_MEMBERS, "lacks the member 'files'"},
	{"{}", SD_ERR_MANIFEST_MEMBERS, "lacks the member"},
	{WITH_FILES("{\"path\":\"a\",\"size\":5,\"type\":\"\",\"mtime\":0}"), SD_ERR_MANIFEST_MEMBERS,
	 "files[0] has an unknown member 'mtime'"},
	{WITH_FILES("{\"size\":5,\"type\":\"\"}"), SD_ERR_MANIFEST_MEMBERS, "files[0] lacks the member 'path'"},
	{WITH_FILES("{\"path\":\"a\",\"type\":\"\"}"), SD_ERR_MANIFEST_MEMBERS, "files[0] lacks the member 'size'"},
	{WITH_FILES("{\"path\":\"a\",\"size\":5}"), SD_ERR_MANIFEST_MEMBERS, "files[0] lacks the member 'type'"},
	/* v */
	{"{\"v\":2,\"piece_size\":16384,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_VERSION, "v is not 1"},
	{"{\"v\":0,\"piece_size\":16384,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_VERSION, "v is not 1"},
	{"{\"v\":\"1\",\"piece_size\":16384,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_VERSION, "v is not 1"},
	{"{\"v\":1.5,\"piece_size\":16384,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_VERSION, "v is not 1"},
	{"{\"v\":true,\"piece_size\":16384,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_VERSION, "v is not 1"},
	{"{\"v\":null,\"piece_size\":16384,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_VERSION, "v is not 1"},
	{"{\"v\":1.0,\"piece_size\":16384,\"total\":5,\"files\":[" FILE_OK "]}", 0, ""},
	/* piece_size */
	{"{\"v\":1,\"piece_size\":8192,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_PIECE_SIZE, "power of two"},
	{"{\"v\":1,\"piece_size\":16383,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_PIECE_SIZE, "power of two"},
	{"{\"v\":1,\"piece_size\":16385,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_PIECE_SIZE, "power of two"},
	{"{\"v\":1,\"piece_size\":49152,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_PIECE_SIZE, "power of two"},
	{"{\"v\":1,\"piece_size\":33554432,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_PIECE_SIZE, "power of two"},
	{"{\"v\":1,\"piece_size\":0,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_PIECE_SIZE, "power of two"},
	{"{\"v\":1,\"piece_size\":-16384,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_PIECE_SIZE, "power of two"},
	{"{\"v\":1,\"piece_size\":\"16384\",\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_PIECE_SIZE, "power of two"},
	{"{\"v\":1,\"piece_size\":16384.5,\"total\":5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_PIECE_SIZE, "power of two"},
	{"{\"v\":1,\"piece_size\":16777216,\"total\":5,\"files\":[" FILE_OK "]}", 0, ""},
	{"{\"v\":1,\"piece_size\":1048576,\"total\":5,\"files\":[" FILE_OK "]}", 0, ""},
	{"{\"v\":1,\"piece_size\":1.6384e4,\"total\":5,\"files\":[" FILE_OK "]}", 0, ""},
	/* total */
	{"{\"v\":1,\"piece_size\":16384,\"total\":-1,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_TOTAL, "total is not an integer"},
	{"{\"v\":1,\"piece_size\":16384,\"total\":9007199254740992,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_TOTAL,
	 "from 0 to 2^53 - 1"},
	{"{\"v\":1,\"piece_size\":16384,\"total\":1e300,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_TOTAL, "total is not"},
	{"{\"v\":1,\"piece_size\":16384,\"total\":\"5\",\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_TOTAL, "total is not"},
	{"{\"v\":1,\"piece_size\":16384,\"total\":5.5,\"files\":[" FILE_OK "]}", SD_ERR_MANIFEST_TOTAL, "total is not"},
	{"{\"v\":1,\"piece_size\":16384,\"total\":9007199254740991,\"files\":[{\"path\":\"a\",\"size\":9007199254740991,"
	 "\"type\":\"\"}]}",
	 0, ""},
	/* files */
	{"{\"v\":1,\"piece_size\":16384,\"total\":0,\"files\":[]}", SD_ERR_MANIFEST_FILES, "files has 0 entries, not 1 to 10000"},
	{"{\"v\":1,\"piece_size\":16384,\"total\":0,\"files\":{}}", SD_ERR_MANIFEST_FILES, "files is not an array"},
	{"{\"v\":1,\"piece_size\":16384,\"total\":0,\"files\":null}", SD_ERR_MANIFEST_FILES, "files is not an array"},
	{WITH_FILES(FILE_OK ",\"b\""), SD_ERR_MANIFEST_FILES, "files[1] is not an object"},
	{WITH_FILES("[]"), SD_ERR_MANIFEST_FILES, "files[0] is not an object"},
	/* size and the sum */
	{WITH_FILES("{\"path\":\"a\",\"size\":-1,\"type\":\"\"}"), SD_ERR_MANIFEST_SIZE, "files[0].size is not an integer"},
	{WITH_FILES("{\"path\":\"a\",\"size\":\"5\",\"type\":\"\"}"), SD_ERR_MANIFEST_SIZE, "files[0].size"},
	{WITH_FILES("{\"path\":\"a\",\"size\":4.5,\"type\":\"\"}"), SD_ERR_MANIFEST_SIZE, "files[0].size"},
	{WITH_FILES("{\"path\":\"a\",\"size\":null,\"type\":\"\"}"), SD_ERR_MANIFEST_SIZE, "files[0].size"},
	{WITH_FILES("{\"path\":\"a\",\"size\":9007199254740992,\"type\":\"\"}"), SD_ERR_MANIFEST_SIZE, "2^53 - 1"},
	{WITH_FILES("{\"path\":\"a\",\"size\":18446744073709551616,\"type\":\"\"}"), SD_ERR_MANIFEST_JSON, "not UTF-8 JSON"},
	{"{\"v\":1,\"piece_size\":16384,\"total\":0,\"files\":[{\"path\":\"a\",\"size\":-0,\"type\":\"\"}]}",
	 0, ""},
	{"{\"v\":1,\"piece_size\":16384,\"total\":5e0,\"files\":[{\"path\":\"a\",\"size\":5.0,\"type\":\"\"}]}",
	 0, ""},
	{WITH_FILES("{\"path\":\"a\",\"size\":4,\"type\":\"\"}"), SD_ERR_MANIFEST_SUM, "the sizes add up to 4, not total (5)"},
	{WITH_FILES("{\"path\":\"a\",\"size\":5,\"type\":\"\"},{\"path\":\"b\",\"size\":1,\"type\":\"\"}"), SD_ERR_MANIFEST_SUM,
	 "the sizes up to files[1] add up to more than total (5)"},
	{WITH_FILES("{\"path\":\"a\",\"size\":2,\"type\":\"\"},{\"path\":\"b\",\"size\":0,\"type\":\"\"},"
	            "{\"path\":\"c\",\"size\":3,\"type\":\"\"}"),
	 0, ""},
	{"{\"v\":1,\"piece_size\":16384,\"total\":9007199254740991,\"files\":[{\"path\":\"a\",\"size\":9007199254740991,"
	 "\"type\":\"\"},{\"path\":\"b\",\"size\":9007199254740991,\"type\":\"\"}]}",
	 SD_ERR_MANIFEST_SUM, "more than total"},
	/* path */
	{WITH_FILES("{\"path\":5,\"size\":5,\"type\":\"\"}"), SD_ERR_MANIFEST_PATH, "files[0].path is not a string"},
	{WITH_PATH(""), SD_ERR_MANIFEST_PATH, "files[0].path is empty"},
	{WITH_PATH("/a"), SD_ERR_MANIFEST_PATH, "starts with '/'"},
	{WITH_PATH("/"), SD_ERR_MANIFEST_PATH, "starts with '/'"},
	{WITH_PATH("a/"), SD_ERR_MANIFEST_PATH, "ends with '/'"},
	{WITH_PATH("a//b"), SD_ERR_MANIFEST_PATH, "has an empty segment"},
	{WITH_PATH("."), SD_ERR_MANIFEST_PATH, "has a '.' segment"},
	{WITH_PATH("./a"), SD_ERR_MANIFEST_PATH, "has a '.' segment"},
	{WITH_PATH("a/./b"), SD_ERR_MANIFEST_PATH, "has a '.' segment"},
	{WITH_PATH("a/."), SD_ERR_MANIFEST_PATH, "has a '.' segment"},
	{WITH_PATH(".."), SD_ERR_MANIFEST_PATH, "has a '..' segment"},
	{WITH_PATH("../a"), SD_ERR_MANIFEST_PATH, "has a '..' segment"},
	{WITH_PATH("a/../b"), SD_ERR_MANIFEST_PATH, "has a '..' segment"},
	{WITH_PATH("a/.."), SD_ERR_MANIFEST_PATH, "has a '..' segment"},
	{WITH_PATH("a\\\\b"), SD_ERR_MANIFEST_PATH, "holds a '\\'"},
	{WITH_PATH("\\\\a"), SD_ERR_MANIFEST_PATH, "holds a '\\'"},
	{WITH_PATH("a\\u0000b"), SD_ERR_MANIFEST_PATH, "holds a control character"},
	{WITH_PATH("a\\nb"), SD_ERR_MANIFEST_PATH, "holds a control character"},
	{WITH_PATH("a\\tb"), SD_ERR_MANIFEST_PATH, "holds a control character"},
	{WITH_PATH("a\\u001fb"), SD_ERR_MANIFEST_PATH, "holds a control character"},
	{WITH_PATH("a\x7f" "b"), SD_ERR_MANIFEST_PATH, "holds a control character"},
	{WITH_PATH("a\\u0085b"), SD_ERR_MANIFEST_PATH, "holds a control character"},
	{WITH_PATH("a\xc2\x9f" "b"), SD_ERR_MANIFEST_PATH, "holds a control character"},
	{WITH_PATH(".a/..b/c"), 0, ""},
	{WITH_PATH(".hidden/...x/a b/c.tar.gz"), 0, ""},
	/* The rules of "File names" (docs/protocol.md part 3), the same as the browser's: each rule
	 * refused with its reason, and what is next to it accepted. */
	{WITH_PATH("a\u202egnp.exe"), SD_ERR_MANIFEST_PATH, "holds a bidirectional control"}, /* RLO, escaped */
	{WITH_PATH("a\xe2\x80\xae" "gnp.exe"), SD_ERR_MANIFEST_PATH, "holds a bidirectional control"}, /* RLO, raw */
	{WITH_PATH("a\u061cb"), SD_ERR_MANIFEST_PATH, "holds a bidirectional control"},
	{WITH_PATH("a\u200eb"), SD_ERR_MANIFEST_PATH, "holds a bidirectional control"},
	{WITH_PATH("a\u200fb"), SD_ERR_MANIFEST_PATH, "holds a bidirectional control"},
	{WITH_PATH("a\u202ab"), SD_ERR_MANIFEST_PATH, "holds a bidirectional control"},
	{WITH_PATH("a\u2066b"), SD_ERR_MANIFEST_PATH, "holds a bidirectional control"},
	{WITH_PATH("a\u2069b"), SD_ERR_MANIFEST_PATH, "holds a bidirectional control"},
	{WITH_PATH("a\u2065b\u2070c\u202fd\u200a"), 0, ""}, /* just outside those ranges */
	{WITH_PATH("a\u200bb"), SD_ERR_MANIFEST_PATH, "holds a zero-width character or a byte order mark"},
	{WITH_PATH("a\u200cb"), SD_ERR_MANIFEST_PATH, "holds a zero-width character"},
	{WITH_PATH("a\u200db"), SD_ERR_MANIFEST_PATH, "holds a zero-width character"},
	{WITH_PATH("a\u2060b"), SD_ERR_MANIFEST_PATH, "holds a zero-width character"},
	{WITH_PATH("\ufeffa"), SD_ERR_MANIFEST_PATH, "byte order mark"},
	{WITH_PATH("\xef\xbb\xbf" "a"), SD_ERR_MANIFEST_PATH, "byte order mark"},
	{WITH_PATH("C:evil"), SD_ERR_MANIFEST_PATH, "holds a ':'"},
	{WITH_PATH("a/b:stream"), SD_ERR_MANIFEST_PATH, "holds a ':'"},
	{WITH_PATH("a\u2044b"), SD_ERR_MANIFEST_PATH, "holds a character that looks like '/'"},
	{WITH_PATH("a\u2215b"), SD_ERR_MANIFEST_PATH, "holds a character that looks like '/'"},
	{WITH_PATH("a\xe2\x88\x95" "b"), SD_ERR_MANIFEST_PATH, "looks like '/'"}, /* U+2215, raw */
	{WITH_PATH("a\u2216b"), SD_ERR_MANIFEST_PATH, "looks like '/'"},
	{WITH_PATH("a\u29f8b"), SD_ERR_MANIFEST_PATH, "looks like '/'"},
	{WITH_PATH("a\u29f9b"), SD_ERR_MANIFEST_PATH, "looks like '/'"},
	{WITH_PATH("a\uff0fb"), SD_ERR_MANIFEST_PATH, "looks like '/'"},
	{WITH_PATH("a\uff3cb"), SD_ERR_MANIFEST_PATH, "looks like '/'"},
	{WITH_PATH("a\u2214b\uff0e\uff10"), 0, ""}, /* neighbours: not slashes */
	/* The first rule in the list's order wins, wherever its character stands. */
	{WITH_PATH("a:\u202e"), SD_ERR_MANIFEST_PATH, "holds a bidirectional control"},
	{WITH_PATH("a\\\\\\u0001"), SD_ERR_MANIFEST_PATH, "holds a control character"},
	{WITH_PATH("a\\\\\\u200b"), SD_ERR_MANIFEST_PATH, "zero-width"},
	{WITH_PATH("a."), SD_ERR_MANIFEST_PATH, "has a segment ending in '.' or ' '"},
	{WITH_PATH("..."), SD_ERR_MANIFEST_PATH, "has a segment ending in '.' or ' '"},
	{WITH_PATH("dir./a"), SD_ERR_MANIFEST_PATH, "has a segment ending in '.' or ' '"},
	{WITH_PATH("a/b "), SD_ERR_MANIFEST_PATH, "has a segment ending in '.' or ' '"},
	{WITH_PATH(" a/ b"), 0, ""},
	{WITH_PATH("CON"), SD_ERR_MANIFEST_PATH, "has a reserved device name"},
	{WITH_PATH("con.txt"), SD_ERR_MANIFEST_PATH, "has a reserved device name"},
	{WITH_PATH("d/Prn.tar.gz"), SD_ERR_MANIFEST_PATH, "has a reserved device name"},
	{WITH_PATH("aux/a"), SD_ERR_MANIFEST_PATH, "has a reserved device name"},
	{WITH_PATH("nUl"), SD_ERR_MANIFEST_PATH, "has a reserved device name"},
	{WITH_PATH("COM1"), SD_ERR_MANIFEST_PATH, "has a reserved device name"},
	{WITH_PATH("com9.log"), SD_ERR_MANIFEST_PATH, "has a reserved device name"},
	{WITH_PATH("LPT1"), SD_ERR_MANIFEST_PATH, "has a reserved device name"},
	{WITH_PATH("lpt9.x"), SD_ERR_MANIFEST_PATH, "has a reserved device name"},
	{WITH_PATH("console/com10/lpt10/COM/conx.txt/x.con/nul_/auxiliary"), 0, ""},
	{WITH_PATH("dir/sub dir/f\xc3\xbcr \xe6\x97\xa5\xe6\x9c\xac.txt"), 0, ""},
	{WITH_PATH("a\xc2\xa0" "b"), 0, ""}, /* U+00A0 is not a control character */
	{WITH_PATH("emoji \xf0\x9f\x98\x80"), 0, ""},
	{WITH_FILES("{\"path\":\"a/b\",\"size\":2,\"type\":\"\"},{\"path\":\"a/c\",\"size\":3,\"type\":\"\"}"), 0,
	 ""},
	{WITH_FILES("{\"path\":\"x\",\"size\":0,\"type\":\"\"},{\"path\":\"a/b\",\"size\":2,\"type\":\"\"},"
	            "{\"path\":\"a/b\",\"size\":3,\"type\":\"\"}"),
	 SD_ERR_MANIFEST_DUPLICATE_PATH, "files[1] and files[2] have the same path"},
	{WITH_FILES("{\"path\":\"A\",\"size\":2,\"type\":\"\"},{\"path\":\"a\",\"size\":3,\"type\":\"\"}"),
	 SD_ERR_MANIFEST_DUPLICATE_PATH, "files[0] and files[1] have the same path, case and normalisation aside"},
	/* type */
	{WITH_FILES("{\"path\":\"a\",\"size\":5,\"type\":null}"), SD_ERR_MANIFEST_TYPE, "files[0].type is not a string"},
	{WITH_FILES("{\"path\":\"a\",\"size\":5,\"type\":[]}"), SD_ERR_MANIFEST_TYPE, "files[0].type is not a string"},
	{WITH_FILES("{\"path\":\"a\",\"size\":5,"
	            "\"type\":\"application/vnd.openxmlformats-officedocument.wordprocessingml.document\"}"),
	 0, ""},
	/* fragments (optional): [[time_ms, offset], ...], offsets inside the 5-byte file */
#define WITH_FRAGMENTS(f) WITH_FILES("{\"path\":\"a\",\"size\":5,\"type\":\"video/mp4\",\"fragments\":" f "}")
	{WITH_FRAGMENTS("[[0,1]]"), 0, ""},
	{WITH_FRAGMENTS("[[0,1],[40,2],[40,3],[80,4]]"), 0, ""},
	{WITH_FRAGMENTS("[[0.0,1e0]]"), 0, ""},
	{WITH_FRAGMENTS("[[9007199254740991,4]]"), 0, ""},
	{WITH_FRAGMENTS("[]"), SD_ERR_MANIFEST_FRAGMENTS, "files[0].fragments has 0 entries, not 1 to 100000"},
	{WITH_FRAGMENTS("null"), SD_ERR_MANIFEST_FRAGMENTS, "files[0].fragments is not an array"},
	{WITH_FRAGMENTS("{}"), SD_ERR_MANIFEST_FRAGMENTS, "files[0].fragments is not an array"},
	{WITH_FRAGMENTS("[[0]]"), SD_ERR_MANIFEST_FRAGMENTS, "files[0].fragments[0] is not [time_ms, offset]"},
	{WITH_FRAGMENTS("[[0,1,2]]"), SD_ERR_MANIFEST_FRAGMENTS, "fragments[0] is not [time_ms, offset]"},
	{WITH_FRAGMENTS("[5]"), SD_ERR_MANIFEST_FRAGMENTS, "fragments[0] is not [time_ms, offset]"},
	{WITH_FRAGMENTS("[{\"t\":0}]"), SD_ERR_MANIFEST_FRAGMENTS, "fragments[0] is not [time_ms, offset]"},
	{WITH_FRAGMENTS("[[0,1],[-1,2]]"), SD_ERR_MANIFEST_FRAGMENTS, "fragments[1] is not [time_ms, offset]"},
	{WITH_FRAGMENTS("[[0.5,1]]"), SD_ERR_MANIFEST_FRAGMENTS, "fragments[0] is not"},
	{WITH_FRAGMENTS("[[\"0\",1]]"), SD_ERR_MANIFEST_FRAGMENTS, "fragments[0] is not"},
	{WITH_FRAGMENTS("[[9007199254740992,1]]"), SD_ERR_MANIFEST_FRAGMENTS, "2^53 - 1"},
	{WITH_FRAGMENTS("[[0,0]]"), SD_ERR_MANIFEST_FRAGMENTS, "fragments[0] has offset 0: the init segment comes first"},
	{WITH_FRAGMENTS("[[0,2],[40,2]]"), SD_ERR_MANIFEST_FRAGMENTS, "fragments[1].offset does not increase (2 after 2)"},
	{WITH_FRAGMENTS("[[0,3],[40,2]]"), SD_ERR_MANIFEST_FRAGMENTS, "does not increase"},
	{WITH_FRAGMENTS("[[80,1],[40,2]]"), SD_ERR_MANIFEST_FRAGMENTS, "fragments[1].time_ms goes back (40 after 80)"},
	{WITH_FRAGMENTS("[[0,1],[40,5]]"), SD_ERR_MANIFEST_FRAGMENTS, "fragments[1].offset 5 is not inside the file (5 bytes)"},
	{WITH_FILES("{\"path\":\"a\",\"size\":5,\"type\":\"\",\"fragments\":[[0,1]],\"fragments\":[[0,1]]}"), SD_ERR_MANIFEST_JSON,
	 "duplicate"},
	{WITH_FILES("{\"path\":\"a\",\"size\":5,\"fragments\":[[0,1]]}"), SD_ERR_MANIFEST_MEMBERS, "files[0] lacks the member 'type'"},
};

static void each_manifest_rule_is_checked(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(manifest_cases) / sizeof(manifest_cases[0]); i++) {
		const struct manifest_case *c = &manifest_cases[i];
		sd_manifest m;
		sd_error err = {0, ""};
		bool ok = sd_manifest_parse((const uint8_t *)c->json, strlen(c->json), &m, &err);
		if (c->code == 0) {
			if (!ok)
				fail_msg("case %zu %s refused: %s", i, c->json, err.message);
			assert_true(m.file_count >= 1);
			sd_manifest_clear(&m);
			continue;
		}
		if (ok) {
			sd_manifest_clear(&m);
			fail_msg("case %zu %s accepted", i, c->json);
		}
		if (err.code != c->code || strstr(err.message, c->reason) == NULL)
			fail_msg("case %zu %s: got code %d \"%s\", wanted code %d mentioning \"%s\"", i, c->json, err.code,
			         err.message, c->code, c->reason);
		assert_null(m.files);
		assert_int_equal(m.file_count, 0);
	}
}

/* Builds {"v":1,...,"files":[...]} with n files named by fmt (which takes the index). */
static char *manifest_with_files(size_t n, const char *fmt, size_t *len)
{
	size_t cap = 128 + n * 64;
	char *text = malloc(cap);
	assert_non_null(text);
	size_t at = (size_t)snprintf(text, cap, "{\"v\":1,\"piece_size\":16384,\"total\":0,\"files\":[");
	for (size_t i = 0; i < n; i++) {
		char path[32];
		snprintf(path, sizeof(path), fmt, i);
		at += (size_t)snprintf(text + at, cap - at, "%s{\"path\":\"%s\",\"size\":0,\"type\":\"\"}", i > 0 ? "," : "", path);
		assert_true(at < cap);
	}
	at += (size_t)snprintf(text + at, cap - at, "]}");
	assert_true(at < cap);
	*len = at;
	return text;
}

/* A manifest of one file at path parses (and is cleared), or err says why not. */
static bool parses_path(const char *path, sd_error *err)
{
	char *json = g_strdup_printf(WITH_FILES("{\"path\":\"%s\",\"size\":5,\"type\":\"\"}"), path);
	sd_manifest m;
	bool ok = sd_manifest_parse((const uint8_t *)json, strlen(json), &m, err);
	if (ok)
		sd_manifest_clear(&m);
	g_free(json);
	return ok;
}

/* At a limit: the path ok passes, the path over is refused for reason. Frees both. */
static void assert_path_limit(char *ok, char *over, const char *reason)
{
	sd_error err;
	assert_true(parses_path(ok, &err));
	assert_false(parses_path(over, &err));
	assert_int_equal(err.code, SD_ERR_MANIFEST_PATH);
	if (strstr(err.message, reason) == NULL)
		fail_msg("%s, not %s", err.message, reason);
	g_free(ok);
	g_free(over);
}

static void file_count_and_lengths_have_their_limits(void **state)
{
	(void)state;
	sd_error err;
	sd_manifest m;
	size_t len;
	char *text = manifest_with_files(SD_CONTENT_FILES_MAX, "dir/file-%zu", &len);
	assert_true(sd_manifest_parse((const uint8_t *)text, len, &m, &err));
	assert_int_equal(m.file_count, SD_CONTENT_FILES_MAX);
	assert_string_equal(m.files[9999].path, "dir/file-9999");
	sd_manifest_clear(&m);
	free(text);
	text = manifest_with_files(SD_CONTENT_FILES_MAX + 1, "f%zu", &len);
	assert_refused(sd_manifest_parse((const uint8_t *)text, len, &m, &err), err, SD_ERR_MANIFEST_FILES,
	               "files has 10001 entries, not 1 to 10000");
	free(text);
	/* Among 10000 files, a last path equal to the second one (the padding is whitespace between
	 * the string and the next comma, so the JSON stays valid), and one that only looks alike. */
	text = manifest_with_files(SD_CONTENT_FILES_MAX, "f%zu", &len);
	char *last = strstr(text, "\"f9999\"");
	assert_non_null(last);
	memcpy(last, "\"f0000\"", 7);
	assert_true(sd_manifest_parse((const uint8_t *)text, len, &m, &err));
	sd_manifest_clear(&m);
	memcpy(last, "\"f1\"   ", 7);
	assert_refused(sd_manifest_parse((const uint8_t *)text, len, &m, &err), err, SD_ERR_MANIFEST_DUPLICATE_PATH,
	               "files[1] and files[9999] have the same path");
	free(text);

	/* path: 4096 bytes pass (17 segments of 240), 4097 do not; type: 255 bytes pass, 256 do not. */
	char path[SD_CONTENT_PATH_MAX + 2], type[SD_CONTENT_TYPE_MAX + 2];
	char *json = malloc(SD_CONTENT_PATH_MAX + 512);
	assert_non_null(json);
	memset(path, 'p', sizeof(path));
	for (size_t i = 240; i < SD_CONTENT_PATH_MAX; i += 241)
		path[i] = '/';
	memset(type, 't', sizeof(type));
	for (int extra = 0; extra <= 1; extra++) {
		int n = snprintf(json, SD_CONTENT_PATH_MAX + 512, WITH_FILES("{\"path\":\"%.*s\",\"size\":5,\"type\":\"\"}"),
		                 (int)SD_CONTENT_PATH_MAX + extra, path);
		bool ok = sd_manifest_parse((const uint8_t *)json, (size_t)n, &m, &err);
		if (extra == 0) {
			if (!ok)
				fail_msg("%s", err.message);
			assert_int_equal(m.files[0].path_len, SD_CONTENT_PATH_MAX);
			sd_manifest_clear(&m);
		} else {
			assert_false(ok);
			assert_int_equal(err.code, SD_ERR_MANIFEST_PATH);
			assert_non_null(strstr(err.message, "files[0].path is over 4096 bytes"));
		}
		n = snprintf(json, SD_CONTENT_PATH_MAX + 512, WITH_FILES("{\"path\":\"a\",\"size\":5,\"type\":\"%.*s\"}"),
		             (int)SD_CONTENT_TYPE_MAX + extra, type);
		ok = sd_manifest_parse((const uint8_t *)json, (size_t)n, &m, &err);
		if (extra == 0) {
			assert_true(ok);
			assert_int_equal(m.files[0].type_len, SD_CONTENT_TYPE_MAX);
			sd_manifest_clear(&m);
		} else {
			assert_false(ok);
			assert_int_equal(err.code, SD_ERR_MANIFEST_TYPE);
			assert_non_null(strstr(err.message, "files[0].type is 256 bytes, over 255"));
		}
	}
	/* Bytes, not characters: 17 segments of 120 two-byte characters are 4096 bytes; one more
	 * character is too many. */
	char *wide = malloc(SD_CONTENT_PATH_MAX + 16);
	assert_non_null(wide);
	size_t at = 0;
	for (int segment = 0; segment < 17; segment++) {
		for (int i = 0; i < 120 + (segment == 16); i++, at += 2)
			memcpy(wide + at, "\xc3\xa9", 2);
		wide[at++] = '/';
	}
	assert_path_limit(g_strndup(wide, 4096), g_strndup(wide, 4098), "over 4096 bytes");
	/* A segment: 255 bytes pass, 256 do not, in ASCII and in two-byte characters (127 of them
	 * and one more byte). */
	memset(path, 's', sizeof(path));
	assert_path_limit(g_strdup_printf("d/%.*s/e", 255, path), g_strdup_printf("d/%.*s/e", 256, path),
	                  "has a segment over 255 bytes");
	at = 0;
	for (int i = 0; i < 127; i++, at += 2)
		memcpy(wide + at, "\xc3\xa9", 2);
	memcpy(wide + at, "xy", 2);
	assert_path_limit(g_strndup(wide, 255), g_strndup(wide, 256), "has a segment over 255 bytes");
	/* Segments: 32 pass, 33 do not. */
	GString *segments[2] = {g_string_new("0"), NULL};
	for (int segment = 1; segment < 32; segment++)
		g_string_append_printf(segments[0], "/%d", segment);
	segments[1] = g_string_new(segments[0]->str);
	g_string_append(segments[1], "/32");
	assert_path_limit(g_string_free(segments[0], FALSE), g_string_free(segments[1], FALSE), "has more than 32 segments");
	free(wide);
	free(json);
}

/* The server names what it publishes as a browser sender does (tests/vectors/names.json, below);
 * here what only a file's name in C can hold: a '/', and bytes that are not UTF-8. */
static void safe_names_pass_the_rules(void **state)
{
	(void)state;
	static const struct {
		const char *name, *safe;
	} cases[] = {
		{"C:x\\y/z\xe2\x88\x95w.mp4", "C_x_y_z_w.mp4"},
		{"bad \xff byte.mp4", "bad \xef\xbf\xbd byte.mp4"}, /* not UTF-8: U+FFFD */
		{"/", "_"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *safe = sd_manifest_safe_name(cases[i].name);
		if (strcmp(safe, cases[i].safe) != 0)
			fail_msg("%s became %s, not %s", cases[i].name, safe, cases[i].safe);
		assert_null(sd_manifest_path_problem(safe, strlen(safe)));
		g_free(safe);
	}
}

#ifndef SD_NAME_VECTORS
#error "SD_NAME_VECTORS must name tests/vectors/names.json (Makefile.am passes it)"
#endif

static json_t *load_name_vectors(void)
{
	json_error_t jerr;
	json_t *v = json_load_file(SD_NAME_VECTORS, JSON_ALLOW_NUL, &jerr);
	if (v == NULL)
		fail_msg("cannot read the test vectors %s: %s (line %d)", SD_NAME_VECTORS, jerr.text, jerr.line);
	return v;
}

/* The compact JSON of a manifest of empty files with these paths (a JSON array of strings). */
static char *manifest_of_paths(const json_t *paths, size_t *len)
{
	json_t *files = json_array();
	size_t i;
	const json_t *path;
	json_array_foreach(paths, i, path) json_array_append_new(files, json_pack("{sOsiss}", "path", path, "size", 0, "type", ""));
	json_t *m = json_pack("{sisisiso}", "v", 1, "piece_size", 16384, "total", 0, "files", files);
	*len = json_dumpb(m, NULL, 0, JSON_COMPACT);
	char *text = malloc(*len + 1);
	assert_non_null(text);
	assert_int_equal(json_dumpb(m, text, *len, JSON_COMPACT), *len);
	text[*len] = '\0';
	json_decref(m);
	return text;
}

/* tests/vectors/names.json, shared with tests/js/names.test.mjs: each path refused with its rule
 * (the reason ends with the rule's name in brackets, as the browser names it), the paths that
 * pass, the sets of paths refused as duplicates or as a file and a folder (or accepted), and the
 * server's names for picked names. */
static void name_vectors_are_answered_as_the_browser_does(void **state)
{
	(void)state;
	json_t *v = load_name_vectors();
	sd_error err;
	sd_manifest m;
	size_t len;
	const char *rule;
	json_t *paths, *path, *pair;
	size_t i;
	json_object_foreach(json_object_get(v, "refused"), rule, paths) {
		char bracketed[64];
		snprintf(bracketed, sizeof(bracketed), "[%s]", rule);
		json_array_foreach(paths, i, path) {
			const char *problem = sd_manifest_path_problem(json_string_value(path), json_string_length(path));
			if (problem == NULL || strstr(problem, bracketed) == NULL)
				fail_msg("%s: '%s' got %s", rule, json_string_value(path), problem != NULL ? problem : "no problem");
			json_t *two = json_pack("[sO]", "fine.txt", path);
			char *text = manifest_of_paths(two, &len);
			json_decref(two);
			assert_refused(sd_manifest_parse((const uint8_t *)text, len, &m, &err), err, SD_ERR_MANIFEST_PATH, bracketed);
			assert_non_null(strstr(err.message, "files[1].path"));
			free(text);
		}
	}
	json_array_foreach(json_object_get(v, "pass"), i, path) {
		const char *problem = sd_manifest_path_problem(json_string_value(path), json_string_length(path));
		if (problem != NULL)
			fail_msg("'%s' refused: %s", json_string_value(path), problem);
	}
	char *text = manifest_of_paths(json_object_get(v, "pass"), &len);
	if (!sd_manifest_parse((const uint8_t *)text, len, &m, &err))
		fail_msg("the passing paths together refused: %s", err.message);
	sd_manifest_clear(&m);
	free(text);
	json_t *set;
	json_array_foreach(json_object_get(v, "sets"), i, set) {
		text = manifest_of_paths(json_object_get(set, "paths"), &len);
		rule = json_string_value(json_object_get(set, "rule"));
		if (rule == NULL) {
			if (!sd_manifest_parse((const uint8_t *)text, len, &m, &err))
				fail_msg("set %zu refused: %s", i, err.message);
			sd_manifest_clear(&m);
		} else {
			char bracketed[64], file[32];
			snprintf(bracketed, sizeof(bracketed), "[%s]", rule);
			snprintf(file, sizeof(file), "files[%lld]", (long long)json_integer_value(json_object_get(set, "file")));
			assert_refused(sd_manifest_parse((const uint8_t *)text, len, &m, &err), err, SD_ERR_MANIFEST_DUPLICATE_PATH,
			               bracketed);
			if (strstr(err.message, file) == NULL)
				fail_msg("set %zu: '%s' does not name %s", i, err.message, file);
		}
		free(text);
	}
	json_array_foreach(json_object_get(v, "safe_names"), i, pair) {
		const char *name = json_string_value(json_array_get(pair, 0)), *want = json_string_value(json_array_get(pair, 1));
		char *safe = sd_manifest_safe_name(name);
		if (strcmp(safe, want) != 0)
			fail_msg("'%s' became '%s', not '%s'", name, safe, want);
		assert_null(sd_manifest_path_problem(safe, strlen(safe)));
		g_free(safe);
	}
	json_decref(v);
}

static void a_manifest_over_4_mib_is_refused(void **state)
{
	(void)state;
	sd_error err;
	sd_manifest m;
	/* GOOD_MANIFEST then spaces: exactly 4 MiB is fine, one byte more is not. */
	size_t max = SD_CONTENT_MANIFEST_MAX;
	char *text = malloc(max + 1);
	assert_non_null(text);
	memset(text, ' ', max + 1);
	memcpy(text, GOOD_MANIFEST, strlen(GOOD_MANIFEST));
	assert_true(sd_manifest_parse((const uint8_t *)text, max, &m, &err));
	sd_manifest_clear(&m);
	assert_refused(sd_manifest_parse((const uint8_t *)text, max + 1, &m, &err), err, SD_ERR_CONTENT_TOO_LARGE,
	               "4194305 bytes, over 4 MiB");

	/* A sealed manifest too long to hold a 4 MiB manifest is refused before any crypto. */
	uint8_t key[SD_CONTENT_KEY_LEN] = {0}, pubkey[SD_CONTENT_PUBKEY_LEN] = {0};
	uint8_t *sealed = calloc(1, max + SD_CONTENT_SEALED_OVERHEAD + 1);
	assert_non_null(sealed);
	assert_refused(sd_content_manifest_open(key, pubkey, sealed, max + SD_CONTENT_SEALED_OVERHEAD + 1, &m, &err), err,
	               SD_ERR_CONTENT_TOO_LARGE, "over 4 MiB");
	free(sealed);

	/* A 4 MiB manifest seals and opens. */
	assert_true(sd_content_derive_key(test_secret, key, &err));
	sd_content_signer *signer = sd_content_signer_new(test_seed, &err);
	assert_non_null(signer);
	sd_content_signer_public_key(signer, pubkey);
	sealed = malloc(max + SD_CONTENT_SEALED_OVERHEAD);
	assert_non_null(sealed);
	size_t sealed_len;
	assert_true(sd_content_manifest_seal(key, signer, (const uint8_t *)text, max, sealed, max + SD_CONTENT_SEALED_OVERHEAD,
	                                     &sealed_len, &err));
	assert_true(sd_content_manifest_open(key, pubkey, sealed, sealed_len, &m, &err));
	assert_int_equal(m.total, 5);
	sd_manifest_clear(&m);
	sd_content_signer_free(signer);
	free(sealed);
	free(text);
}

static void manifest_json_is_written_compact_and_checked(void **state)
{
	(void)state;
	sd_error err;
	sd_manifest_file files[] = {
		{.path = "docs/r\xc3\xa9sum\xc3\xa9 (final).pdf", .type = "application/pdf", .size = 20000},
		{.path = "empty", .type = "", .size = 0},
	};
	files[0].path_len = strlen(files[0].path);
	files[0].type_len = strlen(files[0].type);
	files[1].path_len = strlen(files[1].path);
	sd_manifest m = {.piece_size = 16384, .total = 20000, .file_count = 2, .files = files};
	char *json;
	size_t len;
	assert_true(sd_manifest_to_json(&m, &json, &len, &err));
	assert_string_equal(json, "{\"v\":1,\"piece_size\":16384,\"total\":20000,\"files\":["
	                          "{\"path\":\"docs/r\xc3\xa9sum\xc3\xa9 (final).pdf\",\"size\":20000,"
	                          "\"type\":\"application/pdf\"},{\"path\":\"empty\",\"size\":0,\"type\":\"\"}]}");
	assert_int_equal(len, strlen(json));
	sd_manifest back;
	assert_true(sd_manifest_parse((const uint8_t *)json, len, &back, &err));
	assert_int_equal(back.files[1].offset, 20000);
	assert_string_equal(back.files[0].path, files[0].path);
	sd_manifest_clear(&back);
	free(json);

	/* Escapes as JSON.stringify writes them: \" \\ \n short, other C0 as lowercase \u00xx, DEL raw. */
	files[1].type = "x\x01\x1f\x7f\n\\\"\\u";
	files[1].type_len = strlen(files[1].type);
	assert_true(sd_manifest_to_json(&m, &json, &len, &err));
	assert_non_null(strstr(json, "\"type\":\"x\\u0001\\u001f\x7f\\n\\\\\\\"\\\\u\"}"));
	free(json);
	files[1].type = "";
	files[1].type_len = 0;

	/* The rules hold for the writer too. */
	m.total = 19999;
	assert_refused(sd_manifest_to_json(&m, &json, &len, &err), err, SD_ERR_MANIFEST_SUM, "more than total (19999)");
	assert_null(json);
	m.total = 20000;
	files[1].path = "a/../b";
	files[1].path_len = 6;
	assert_refused(sd_manifest_to_json(&m, &json, &len, &err), err, SD_ERR_MANIFEST_PATH, "files[1].path has a '..'");
	files[1].path = "x\xff";
	files[1].path_len = 2;
	assert_refused(sd_manifest_to_json(&m, &json, &len, &err), err, SD_ERR_MANIFEST_PATH, "not UTF-8");
	files[1].path = "empty";
	files[1].path_len = 5;
	m.piece_size = 1000;
	assert_refused(sd_manifest_to_json(&m, &json, &len, &err), err, SD_ERR_MANIFEST_PIECE_SIZE, "power of two");
	m.piece_size = 16384;
	m.file_count = 0;
	assert_refused(sd_manifest_to_json(&m, &json, &len, &err), err, SD_ERR_MANIFEST_FILES, "0 entries");
	m.file_count = 2;
	m.total = SD_CONTENT_TOTAL_MAX + 1;
	assert_refused(sd_manifest_to_json(&m, &json, &len, &err), err, SD_ERR_MANIFEST_TOTAL, "2^53 - 1");
}

/* n fragments [[k * 40, k + 1], ...] in a file of n + 1 bytes, written by sd_manifest_to_json. */
static char *fragmented_json(size_t n, size_t *len, sd_error *err, bool *ok)
{
	sd_manifest_fragment *fragments = malloc((n > 0 ? n : 1) * sizeof(*fragments));
	assert_non_null(fragments);
	for (size_t k = 0; k < n; k++)
		fragments[k] = (sd_manifest_fragment){.time_ms = k * 40, .offset = k + 1};
	sd_manifest_file file = {.path = "v.mp4", .path_len = 5, .type = "video/mp4", .type_len = 9, .size = n + 1,
	                         .fragments = fragments, .fragment_count = n};
	sd_manifest m = {.piece_size = 16384, .total = n + 1, .file_count = 1, .files = &file};
	char *json = NULL;
	*ok = sd_manifest_to_json(&m, &json, len, err);
	free(fragments);
	return json;
}

static void fragment_index_is_parsed_written_and_limited(void **state)
{
	(void)state;
	sd_error err;
	sd_manifest m;
	/* Written after type, compact, as JSON.stringify writes the browser's manifest. */
	sd_manifest_fragment fragments[] = {{0, 1259}, {2000, 202665}, {4000, 417022}};
	sd_manifest_file files[] = {
		{.path = "a.txt", .path_len = 5, .type = "", .type_len = 0, .size = 3},
		{.path = "v.mp4", .type = "video/mp4; codecs=\"avc1.64001f, mp4a.40.2\"", .size = 500000,
		 .fragments = fragments, .fragment_count = 3},
	};
	files[1].path_len = strlen(files[1].path);
	files[1].type_len = strlen(files[1].type);
	sd_manifest in = {.piece_size = 1048576, .total = 500003, .file_count = 2, .files = files};
	char *json;
	size_t len;
	assert_true(sd_manifest_to_json(&in, &json, &len, &err));
	assert_string_equal(json, "{\"v\":1,\"piece_size\":1048576,\"total\":500003,\"files\":["
	                          "{\"path\":\"a.txt\",\"size\":3,\"type\":\"\"},"
	                          "{\"path\":\"v.mp4\",\"size\":500000,\"type\":\"video/mp4; codecs=\\\"avc1.64001f, mp4a.40.2\\\"\","
	                          "\"fragments\":[[0,1259],[2000,202665],[4000,417022]]}]}");
	assert_true(sd_manifest_parse((const uint8_t *)json, len, &m, &err));
	assert_int_equal(m.files[0].fragment_count, 0);
	assert_null(m.files[0].fragments);
	assert_int_equal(m.files[1].fragment_count, 3);
	assert_int_equal(m.files[1].fragments[1].time_ms, 2000);
	assert_int_equal(m.files[1].fragments[2].offset, 417022);
	/* And back to the same bytes. */
	char *again;
	size_t again_len;
	assert_true(sd_manifest_to_json(&m, &again, &again_len, &err));
	assert_int_equal(again_len, len);
	assert_memory_equal(again, json, len);
	free(again);
	sd_manifest_clear(&m);
	free(json);

	/* The writer checks the index before writing a number. */
	fragments[1].offset = 1259;
	assert_refused(sd_manifest_to_json(&in, &json, &len, &err), err, SD_ERR_MANIFEST_FRAGMENTS,
	               "files[1].fragments[1].offset does not increase");
	fragments[1].offset = 202665;
	fragments[2].time_ms = UINT64_MAX;
	assert_refused(sd_manifest_to_json(&in, &json, &len, &err), err, SD_ERR_MANIFEST_FRAGMENTS, "2^53 - 1");
	fragments[2].time_ms = 4000;
	fragments[2].offset = 500000;
	assert_refused(sd_manifest_to_json(&in, &json, &len, &err), err, SD_ERR_MANIFEST_FRAGMENTS, "not inside the file");
	fragments[2].offset = 417022;
	files[1].fragments = NULL;
	assert_refused(sd_manifest_to_json(&in, &json, &len, &err), err, SD_ERR_ARGUMENT, "no fragments");

	/* 100000 entries pass (and parse back), 100001 do not. */
	bool ok;
	json = fragmented_json(SD_CONTENT_FRAGMENTS_MAX, &len, &err, &ok);
	assert_true(ok);
	assert_true(sd_manifest_parse((const uint8_t *)json, len, &m, &err));
	assert_int_equal(m.files[0].fragment_count, SD_CONTENT_FRAGMENTS_MAX);
	assert_int_equal(m.files[0].fragments[99999].offset, 100000);
	sd_manifest_clear(&m);
	free(json);
	json = fragmented_json(SD_CONTENT_FRAGMENTS_MAX + 1, &len, &err, &ok);
	assert_false(ok);
	assert_null(json);
	assert_int_equal(err.code, SD_ERR_MANIFEST_FRAGMENTS);
	assert_non_null(strstr(err.message, "100001 entries, not 1 to 100000"));
}

int run_manifest_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_manifest_rule_is_checked),
		cmocka_unit_test(file_count_and_lengths_have_their_limits),
		cmocka_unit_test(safe_names_pass_the_rules),
		cmocka_unit_test(name_vectors_are_answered_as_the_browser_does),
		cmocka_unit_test(a_manifest_over_4_mib_is_refused),
		cmocka_unit_test(manifest_json_is_written_compact_and_checked),
		cmocka_unit_test(fragment_index_is_parsed_written_and_limited),
	};
	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}

#include "sd_manifest.h"

#include <glib.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON number whose value is an integer from 0 to max, as JSON.parse would read it. */
static bool json_uint(const json_t *value, uint64_t max, uint64_t *out)
{
	if (json_is_integer(value)) {
		json_int_t i = json_integer_value(value);
		if (i < 0 || (uint64_t)i > max)
			return false;
		*out = (uint64_t)i;
		return true;
	}
	if (json_is_real(value)) {
		double d = json_real_value(value);
		/* Every max used here is at most 2^53 - 1, exact as a double; NaN fails both compares. */
		if (!(d >= 0.0 && d <= (double)max))
			return false;
		uint64_t u = (uint64_t)d;
		if ((double)u != d)
			return false;
		*out = u;
		return true;
	}
	return false;
}

enum { M_V = 1 << 0, M_PIECE_SIZE = 1 << 1, M_TOTAL = 1 << 2, M_FILES = 1 << 3 };
enum { F_PATH = 1 << 0, F_SIZE = 1 << 1, F_TYPE = 1 << 2, F_FRAGMENTS = 1 << 3 };

static const struct member {
	const char *name;
	unsigned bit;
} manifest_members[] = {{"v", M_V}, {"piece_size", M_PIECE_SIZE}, {"total", M_TOTAL}, {"files", M_FILES}},
  file_members[] = {{"path", F_PATH}, {"size", F_SIZE}, {"type", F_TYPE}, {"fragments", F_FRAGMENTS}};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Checks that object has exactly the members of the table, but those whose bit is in optional
 * may be missing; where names the object in reasons. */
static bool check_members(json_t *object, const struct member *members, size_t n, unsigned optional, const char *where,
                          sd_error *err)
{
	unsigned seen = 0;
	const char *key;
	json_t *value;
	json_object_foreach(object, key, value) {
		unsigned bit = 0;
		for (size_t i = 0; i < n && bit == 0; i++)
			if (strcmp(members[i].name, key) == 0)
				bit = members[i].bit;
		if (bit == 0)
			return sd_fail(err, SD_ERR_MANIFEST_MEMBERS, "%s has an unknown member '%.64s'", where, key);
		seen |= bit;
	}
	for (size_t i = 0; i < n; i++)
		if (!(seen & members[i].bit) && !(optional & members[i].bit))
			return sd_fail(err, SD_ERR_MANIFEST_MEMBERS, "%s lacks the member '%s'", where, members[i].name);
	return true;
}

/* The rules of docs/protocol.md part 3, "File names", in the order web/src/engine/transfer/content.js
 * (pathProblem) checks them, so that both sides name the same rule for a path; tests/vectors/names.json
 * holds both to the same answers. A name that passes holds no character Windows refuses and no
 * device name, and shows as what it is; no two paths of a manifest name one file, or a file and a
 * folder, on a case-insensitive or normalising file system (path_key). */
#define PATH_SEGMENTS_MAX 32
#define SEGMENT_BYTES_MAX 255

/* Characters no path holds, by rule: closed ranges of code points. */
static const struct path_characters {
	const char *reason;
	size_t n;
	uint32_t ranges[5][2];
} path_characters[] = {
	{"holds a control character [control]", 2, {{0x00, 0x1f}, {0x7f, 0x9f}}}, /* Unicode's Cc: C0, DEL, C1 */
	{"holds a bidirectional control (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) [bidi]", 4,
	 {{0x061c, 0x061c}, {0x200e, 0x200f}, {0x202a, 0x202e}, {0x2066, 0x2069}}},
	{"holds a zero-width character or a byte order mark (U+200B-U+200D, U+2060, U+FEFF) [invisible]", 3,
	 {{0x200b, 0x200d}, {0x2060, 0x2060}, {0xfeff, 0xfeff}}},
	{"holds a '\\' [backslash]", 1, {{'\\', '\\'}}},
	{"holds a ':' (a drive or an NTFS stream) [colon]", 1, {{':', ':'}}},
	{"holds one of < > \" | ? * (Windows refuses them) [windows-character]", 5, {{'"', '"'}, {'*', '*'}, {'<', '<'}, {'>', '?'}, {'|', '|'}}},
	{"holds a character that looks like '/' or '\\' (U+2044, U+2215, U+2216, U+29F8, U+29F9, U+FF0F, U+FF3C) [slash-lookalike]", 5,
	 {{0x2044, 0x2044}, {0x2215, 0x2216}, {0x29f8, 0x29f9}, {0xff0f, 0xff0f}, {0xff3c, 0xff3c}}},
};

/* The code point at path[*i] (valid UTF-8, as jansson checked); *i moves past it. */
static uint32_t next_code_point(const unsigned char *path, size_t len, size_t *i)
{
	uint32_t c = path[(*i)++];
	int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
	c &= more == 3 ? 0x07 : more == 2 ? 0x0f : more == 1 ? 0x1f : 0x7f;
	for (; more > 0 && *i < len; more--)
		c = c << 6 | (path[(*i)++] & 0x3f);
	return c;
}

/* The rule of path_characters that code point c breaks (its index), or COUNT(path_characters). */
static size_t character_rule(uint32_t c)
{
	for (size_t r = 0; r < COUNT(path_characters); r++)
		for (size_t k = 0; k < path_characters[r].n; k++)
			if (c >= path_characters[r].ranges[k][0] && c <= path_characters[r].ranges[k][1])
				return r;
	return COUNT(path_characters);
}

/* The first rule of path_characters that a character of path breaks (in the table's order,
 * wherever it stands), or NULL. */
static const char *character_problem(const char *path, size_t len)
{
	size_t first = COUNT(path_characters);
	for (size_t i = 0; i < len && first > 0;) {
		size_t rule = character_rule(next_code_point((const unsigned char *)path, len, &i));
		first = MIN(first, rule);
	}
	return first < COUNT(path_characters) ? path_characters[first].reason : NULL;
}

/* Windows's device names, in ASCII letters of any case, alone or before an extension, spaces
 * before the '.' too ("CON", "con.txt", "Lpt1.tar.gz", "nul .txt"); COM and LPT take 0-9 and the
 * superscripts 1-3 (U+00B9, U+00B2, U+00B3). */
static bool reserved_name(const char *segment, size_t len)
{
	static const char *const names[] = {"con", "prn", "aux", "nul", "conin$", "conout$"};
	static const char *const numbers[] = {"\xc2\xb9", "\xc2\xb2", "\xc2\xb3"};
	size_t stem = 0;
	while (stem < len && segment[stem] != '.')
		stem++;
	while (stem > 0 && segment[stem - 1] == ' ')
		stem--;
	for (size_t i = 0; i < COUNT(names); i++)
		if (stem == strlen(names[i]) && g_ascii_strncasecmp(segment, names[i], stem) == 0)
			return true;
	if (stem < 4 || (g_ascii_strncasecmp(segment, "com", 3) != 0 && g_ascii_strncasecmp(segment, "lpt", 3) != 0))
		return false;
	if (stem == 4 && segment[3] >= '0' && segment[3] <= '9')
		return true;
	for (size_t i = 0; i < COUNT(numbers); i++)
		if (stem == 5 && memcmp(segment + 3, numbers[i], 2) == 0)
			return true;
	return false;
}

const char *sd_manifest_path_problem(const char *path, size_t len)
{
	if (len == 0)
		return "is empty [length]";
	if (len > SD_CONTENT_PATH_MAX)
		return "is over 4096 bytes [length]";
	const char *problem = character_problem(path, len);
	if (problem != NULL)
		return problem;
	size_t segments = 1;
	for (size_t i = 0; i < len; i++)
		segments += path[i] == '/';
	if (segments > PATH_SEGMENTS_MAX)
		return "has more than 32 segments [depth]";
	for (size_t start = 0; start <= len;) {
		const char *slash = memchr(path + start, '/', len - start);
		size_t end = slash != NULL ? (size_t)(slash - path) : len, seg = end - start;
		const char *segment = path + start;
		if (seg == 0)
			return start == 0 ? "starts with '/' [dot-segment]" : end == len ? "ends with '/' [dot-segment]"
			                  : "has an empty segment ('//') [dot-segment]";
		if (seg == 1 && segment[0] == '.')
			return "has a '.' segment [dot-segment]";
		if (seg == 2 && segment[0] == '.' && segment[1] == '.')
			return "has a '..' segment [dot-segment]";
		if (segment[seg - 1] == '.' || segment[seg - 1] == ' ')
			return "has a segment ending in '.' or ' ' [trailing-dot-space]";
		if (reserved_name(segment, seg))
			return "has a reserved device name (CON, PRN, AUX, NUL, CONIN$, CONOUT$, COM0-9, LPT0-9) [reserved]";
		if (seg > SEGMENT_BYTES_MAX)
			return "has a segment over 255 bytes [segment-length]";
		start = end + 1;
	}
	return NULL;
}

/* One segment as a sender gives it (content.js fitSegment, the same steps): over 255 bytes, cut
 * on a character to 254 keeping an extension (the last '.' and 1 to 16 characters, not the whole
 * name); then a name ending in '.' or ' ' ('.' and '..' too) gets '_' for that character, and a
 * device name '_' after its stem. */
static void fit_segment(GString *s)
{
	if (s->len > SEGMENT_BYTES_MAX) {
		const char *dot = strrchr(s->str, '.');
		glong after = dot != NULL && dot != s->str ? g_utf8_strlen(dot + 1, -1) : 0;
		size_t ext = after >= 1 && after <= 16 ? (size_t)(s->str + s->len - dot) : 0;
		char *extension = g_strdup(s->str + s->len - ext);
		size_t keep = SEGMENT_BYTES_MAX - 1 - ext; /* an extension is at most 65 bytes */
		while (keep > 0 && (s->str[keep] & 0xc0) == 0x80)
			keep--;
		g_string_truncate(s, keep);
		g_string_append(s, extension);
		g_free(extension);
	}
	if (s->str[s->len - 1] == '.' || s->str[s->len - 1] == ' ')
		s->str[s->len - 1] = '_';
	if (reserved_name(s->str, s->len))
		g_string_insert_c(s, (gssize)strcspn(s->str, "."), '_');
}

char *sd_manifest_safe_name(const char *name)
{
	char *valid = g_utf8_make_valid(name, -1);
	GString *out = g_string_sized_new(strlen(valid) + 1);
	for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c == '/' || character_rule(c) < COUNT(path_characters))
			g_string_append_c(out, '_');
		else
			g_string_append_unichar(out, c);
	}
	g_free(valid);
	if (out->len == 0)
		g_string_append_c(out, '_');
	else if (sd_manifest_path_problem(out->str, out->len) != NULL)
		fit_segment(out);
	return g_string_free(out, FALSE);
}

static char *memdup0(const char *s, size_t len)
{
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

/* The checks of the fragment index (docs/protocol.md, "The manifest") over n entries;
 * shared by the parser and the writer. */
static bool check_fragments(const sd_manifest_fragment *fragments, size_t n, uint64_t size, const char *where,
                            sd_error *err)
{
	if (n == 0 || n > SD_CONTENT_FRAGMENTS_MAX)
		return sd_fail(err, SD_ERR_MANIFEST_FRAGMENTS, "%s.fragments has %zu entries, not 1 to %u", where, n,
		                       SD_CONTENT_FRAGMENTS_MAX);
	for (size_t k = 0; k < n; k++) {
		const sd_manifest_fragment *f = &fragments[k];
		if (f->time_ms > SD_CONTENT_TOTAL_MAX || f->offset > SD_CONTENT_TOTAL_MAX)
			return sd_fail(err, SD_ERR_MANIFEST_FRAGMENTS, "%s.fragments[%zu] is not two integers from 0 to 2^53 - 1",
			                       where, k);
		if (k == 0 && f->offset == 0)
			return sd_fail(err, SD_ERR_MANIFEST_FRAGMENTS, "%s.fragments[0] has offset 0: the init segment comes first",
			                       where);
		if (k > 0 && f->time_ms < f[-1].time_ms)
			return sd_fail(err, SD_ERR_MANIFEST_FRAGMENTS, "%s.fragments[%zu].time_ms goes back (%llu after %llu)", where,
			                       k, (unsigned long long)f->time_ms, (unsigned long long)f[-1].time_ms);
		if (k > 0 && f->offset <= f[-1].offset)
			return sd_fail(err, SD_ERR_MANIFEST_FRAGMENTS, "%s.fragments[%zu].offset does not increase (%llu after %llu)",
			                       where, k, (unsigned long long)f->offset, (unsigned long long)f[-1].offset);
		if (f->offset >= size)
			return sd_fail(err, SD_ERR_MANIFEST_FRAGMENTS, "%s.fragments[%zu].offset %llu is not inside the file (%llu bytes)",
			                       where, k, (unsigned long long)f->offset, (unsigned long long)size);
	}
	return true;
}

/* Reads the "fragments" member (an array of [time_ms, offset]) into file, then checks it. */
static bool take_fragments(const json_t *value, const char *where, sd_manifest_file *file, sd_error *err)
{
	if (!json_is_array(value))
		return sd_fail(err, SD_ERR_MANIFEST_FRAGMENTS, "%s.fragments is not an array", where);
	size_t n = json_array_size(value);
	if (n == 0 || n > SD_CONTENT_FRAGMENTS_MAX)
		return sd_fail(err, SD_ERR_MANIFEST_FRAGMENTS, "%s.fragments has %zu entries, not 1 to %u", where, n,
		                       SD_CONTENT_FRAGMENTS_MAX);
	file->fragments = calloc(n, sizeof(*file->fragments));
	if (file->fragments == NULL)
		return sd_fail(err, SD_ERR_MEMORY, "out of memory for %s.fragments", where);
	file->fragment_count = n;
	for (size_t k = 0; k < n; k++) {
		const json_t *pair = json_array_get(value, k);
		if (!json_is_array(pair) || json_array_size(pair) != 2 ||
		    !json_uint(json_array_get(pair, 0), SD_CONTENT_TOTAL_MAX, &file->fragments[k].time_ms) ||
		    !json_uint(json_array_get(pair, 1), SD_CONTENT_TOTAL_MAX, &file->fragments[k].offset))
			return sd_fail(err, SD_ERR_MANIFEST_FRAGMENTS,
			                       "%s.fragments[%zu] is not [time_ms, offset], two integers from 0 to 2^53 - 1", where, k);
	}
	return check_fragments(file->fragments, n, file->size, where, err);
}

static bool take_file(json_t *entry, size_t i, sd_manifest_file *file, sd_error *err)
{
	char where[32];
	snprintf(where, sizeof(where), "files[%zu]", i);
	if (!json_is_object(entry))
		return sd_fail(err, SD_ERR_MANIFEST_FILES, "%s is not an object", where);
	if (!check_members(entry, file_members, COUNT(file_members), F_FRAGMENTS, where, err))
		return false;

	const json_t *path = json_object_get(entry, "path");
	if (!json_is_string(path))
		return sd_fail(err, SD_ERR_MANIFEST_PATH, "%s.path is not a string", where);
	size_t path_len = json_string_length(path);
	const char *problem = sd_manifest_path_problem(json_string_value(path), path_len);
	if (problem != NULL)
		return sd_fail(err, SD_ERR_MANIFEST_PATH, "%s.path %s", where, problem);

	const json_t *type = json_object_get(entry, "type");
	if (!json_is_string(type))
		return sd_fail(err, SD_ERR_MANIFEST_TYPE, "%s.type is not a string", where);
	size_t type_len = json_string_length(type);
	if (type_len > SD_CONTENT_TYPE_MAX)
		return sd_fail(err, SD_ERR_MANIFEST_TYPE, "%s.type is %zu bytes, over %u", where, type_len, SD_CONTENT_TYPE_MAX);

	if (!json_uint(json_object_get(entry, "size"), SD_CONTENT_TOTAL_MAX, &file->size))
		return sd_fail(err, SD_ERR_MANIFEST_SIZE, "%s.size is not an integer from 0 to 2^53 - 1", where);

	file->path = memdup0(json_string_value(path), path_len);
	file->type = memdup0(json_string_value(type), type_len);
	if (file->path == NULL || file->type == NULL)
		return sd_fail(err, SD_ERR_MEMORY, "out of memory for %s", where);
	file->path_len = path_len;
	file->type_len = type_len;
	const json_t *fragments = json_object_get(entry, "fragments");
	return fragments == NULL || take_fragments(fragments, where, file, err);
}

/* The lowercase of c's uppercase, the simple mappings. glib maps letters only; Unicode also gives
 * a case to U+0345 (uppercase U+0399), the Roman numerals U+2160-U+217F and the circled letters
 * U+24B6-U+24E9, which JavaScript's toUpperCase and toLowerCase follow. */
static gunichar fold_character(gunichar c)
{
	if (c == 0x0345)
		return 0x03b9;
	if (c >= 0x2160 && c <= 0x216f)
		return c + 0x10;
	if (c >= 0x24b6 && c <= 0x24cf)
		return c + 0x1a;
	return g_unichar_tolower(g_unichar_toupper(c));
}

/* What a path is on a case-insensitive, normalising file system (NTFS, APFS, HFS+): NFC, then
 * each character replaced by the lowercase of its uppercase, one character for one (content.js
 * pathKey, the same mapping). NULL when memory runs out. */
static char *path_key(const char *path, size_t len, size_t *key_len)
{
	char *nfc = g_utf8_normalize(path, (gssize)len, G_NORMALIZE_NFC);
	if (nfc == NULL)
		return NULL;
	GString *key = g_string_sized_new(strlen(nfc) + 1);
	for (const char *p = nfc; *p != '\0'; p = g_utf8_next_char(p))
		g_string_append_unichar(key, fold_character(g_utf8_get_char(p)));
	g_free(nfc);
	*key_len = key->len;
	return g_string_free(key, FALSE);
}

struct path_key {
	char *key;
	size_t len;
	size_t file;
};

/* Bytewise, but '/' before any other byte (a path holds no NUL): then the paths inside a folder
 * "k/" come right after a file "k" and its equals, so that comparing neighbours finds every clash. */
static int compare_keys(const void *a, const void *b)
{
	const struct path_key *ka = a, *kb = b;
	for (size_t i = 0; i < ka->len && i < kb->len; i++) {
		unsigned char ca = ka->key[i] == '/' ? 0 : (unsigned char)ka->key[i];
		unsigned char cb = kb->key[i] == '/' ? 0 : (unsigned char)kb->key[i];
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	if (ka->len != kb->len)
		return ka->len < kb->len ? -1 : 1;
	return ka->file < kb->file ? -1 : ka->file > kb->file ? 1 : 0; /* equal keys: manifest order */
}

/* The duplicate rule: no two paths with one key, no file's key the key of another's folder. By
 * sorting (10000 paths of 4096 bytes make pairwise comparison too slow). */
static bool check_unique_paths(const sd_manifest *m, sd_error *err)
{
	struct path_key *keys = calloc(m->file_count, sizeof(*keys));
	bool ok = keys != NULL;
	for (size_t i = 0; ok && i < m->file_count; i++) {
		keys[i].file = i;
		ok = (keys[i].key = path_key(m->files[i].path, m->files[i].path_len, &keys[i].len)) != NULL;
	}
	if (!ok)
		sd_fail(err, SD_ERR_MEMORY, "out of memory checking paths");
	else
		qsort(keys, m->file_count, sizeof(*keys), compare_keys);
	for (size_t i = 1; ok && i < m->file_count; i++) {
		const struct path_key *a = &keys[i - 1], *b = &keys[i];
		const sd_manifest_file *fa = &m->files[a->file], *fb = &m->files[b->file];
		if (a->len == b->len && memcmp(a->key, b->key, a->len) == 0)
			ok = sd_fail(err, SD_ERR_MANIFEST_DUPLICATE_PATH,
			             "files[%zu] and files[%zu] have the same path, case and normalisation aside ('%.64s', '%.64s') [duplicate]",
			             MIN(a->file, b->file), MAX(a->file, b->file), fa->path, fb->path);
		else if (b->len > a->len && b->key[a->len] == '/' && memcmp(a->key, b->key, a->len) == 0)
			ok = sd_fail(err, SD_ERR_MANIFEST_DUPLICATE_PATH, "files[%zu] ('%.64s') is a file and a folder of files[%zu] ('%.64s') [file-folder]",
			             a->file, fa->path, b->file, fb->path);
	}
	for (size_t i = 0; keys != NULL && i < m->file_count; i++)
		g_free(keys[i].key);
	free(keys);
	return ok;
}

/* The checks of sd_manifest_parse on a loaded document; m is filled as it goes. */
static bool take_manifest(json_t *root, sd_manifest *m, sd_error *err)
{
	if (!json_is_object(root))
		return sd_fail(err, SD_ERR_MANIFEST_JSON, "the manifest is not a JSON object");
	if (!check_members(root, manifest_members, COUNT(manifest_members), 0, "the manifest", err))
		return false;

	uint64_t v = 0, piece_size = 0, total = 0;
	if (!json_uint(json_object_get(root, "v"), 1, &v) || v != 1)
		return sd_fail(err, SD_ERR_MANIFEST_VERSION, "v is not 1");
	if (!json_uint(json_object_get(root, "piece_size"), SD_CONTENT_PIECE_MAX, &piece_size) || !sd_content_is_piece_size(piece_size))
		return sd_fail(err, SD_ERR_MANIFEST_PIECE_SIZE, "piece_size is not a power of two from %u to %u",
		            SD_CONTENT_PIECE_MIN, SD_CONTENT_PIECE_MAX);
	if (!json_uint(json_object_get(root, "total"), SD_CONTENT_TOTAL_MAX, &total))
		return sd_fail(err, SD_ERR_MANIFEST_TOTAL, "total is not an integer from 0 to 2^53 - 1");
	m->piece_size = (uint32_t)piece_size;
	m->total = total;

	json_t *files = json_object_get(root, "files");
	if (!json_is_array(files))
		return sd_fail(err, SD_ERR_MANIFEST_FILES, "files is not an array");
	size_t n = json_array_size(files);
	if (n == 0 || n > SD_CONTENT_FILES_MAX)
		return sd_fail(err, SD_ERR_MANIFEST_FILES, "files has %zu entries, not 1 to %u", n, SD_CONTENT_FILES_MAX);
	m->files = calloc(n, sizeof(*m->files));
	if (m->files == NULL)
		return sd_fail(err, SD_ERR_MEMORY, "out of memory for %zu files", n);
	m->file_count = n;

	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		sd_manifest_file *file = &m->files[i];
		if (!take_file(json_array_get(files, i), i, file, err))
			return false;
		/* sum <= total <= 2^53 - 1 throughout, so no sum overflows. */
		if (file->size > total - sum)
			return sd_fail(err, SD_ERR_MANIFEST_SUM, "the sizes up to files[%zu] add up to more than total (%llu)", i,
			            (unsigned long long)total);
		file->offset = sum;
		sum += file->size;
	}
	if (sum != total)
		return sd_fail(err, SD_ERR_MANIFEST_SUM, "the sizes add up to %llu, not total (%llu)", (unsigned long long)sum,
		            (unsigned long long)total);
	return check_unique_paths(m, err);
}

bool sd_manifest_parse(const uint8_t *json, size_t json_len, sd_manifest *manifest, sd_error *err)
{
	if (manifest == NULL || (json == NULL && json_len > 0))
		return sd_fail(err, SD_ERR_ARGUMENT, "no manifest text or no manifest");
	memset(manifest, 0, sizeof(*manifest));
	if (json_len > SD_CONTENT_MANIFEST_MAX)
		return sd_fail(err, SD_ERR_CONTENT_TOO_LARGE, "the manifest is %zu bytes, over 4 MiB", json_len);
	/* JSON_ALLOW_NUL so that a "\u0000" in a path is refused as a control character, not as
	 * unreadable JSON; a member given twice is refused rather than the last one winning. */
	json_error_t jerr;
	json_t *root = json_loadb(json_len > 0 ? (const char *)json : "", json_len,
	                          JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (root == NULL)
		return sd_fail(err, SD_ERR_MANIFEST_JSON, "the manifest is not UTF-8 JSON: %.100s (byte %d)", jerr.text, jerr.position);
	bool ok = take_manifest(root, manifest, err);
	json_decref(root);
	if (!ok)
		sd_manifest_clear(manifest);
	return ok;
}

void sd_manifest_clear(sd_manifest *manifest)
{
	if (manifest == NULL)
		return;
	for (size_t i = 0; i < manifest->file_count && manifest->files != NULL; i++) {
		free(manifest->files[i].path);
		free(manifest->files[i].type);
		free(manifest->files[i].fragments);
	}
	free(manifest->files);
	memset(manifest, 0, sizeof(*manifest));
}

/* [[time_ms, offset], ...] of a file, or NULL when memory runs out. */
static json_t *fragments_json(const sd_manifest_file *file)
{
	json_t *array = json_array();
	for (size_t k = 0; array != NULL && k < file->fragment_count; k++) {
		json_t *pair = json_pack("[II]", (json_int_t)file->fragments[k].time_ms, (json_int_t)file->fragments[k].offset);
		if (pair == NULL || json_array_append_new(array, pair) != 0) {
			json_decref(array);
			array = NULL;
		}
	}
	return array;
}

/* Appends {"path","size","type"[,"fragments"]} of file to array; false when jansson runs out of
 * memory or a string is not UTF-8 (json_stringn returns NULL and json_object_set_new refuses NULL). */
static bool append_file(json_t *array, const sd_manifest_file *file)
{
	json_t *entry = json_object();
	if (entry == NULL)
		return false;
	if (json_object_set_new(entry, "path", json_stringn(file->path, file->path_len)) != 0 ||
	    json_object_set_new(entry, "size", json_integer((json_int_t)file->size)) != 0 ||
	    json_object_set_new(entry, "type", json_stringn(file->type, file->type_len)) != 0 ||
	    (file->fragment_count > 0 && json_object_set_new(entry, "fragments", fragments_json(file)) != 0)) {
		json_decref(entry);
		return false;
	}
	return json_array_append_new(array, entry) == 0;
}

/* jansson writes a control character as \u001F, JSON.stringify as \u001f: lowercase the hex of
 * every \u escape so that both origins write the same bytes. Backslashes only occur in strings,
 * and each starts a two-character escape or \uXXXX. */
static void lowercase_escapes(char *text, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (text[i] != '\\')
			continue;
		if (text[i + 1] == 'u') {
			for (size_t k = i + 2; k < i + 6 && k < len; k++)
				if (text[k] >= 'A' && text[k] <= 'F')
					text[k] = (char)(text[k] - 'A' + 'a');
			i += 5;
		} else {
			i += 1;
		}
	}
}

bool sd_manifest_to_json(const sd_manifest *m, char **json, size_t *json_len, sd_error *err)
{
	if (m == NULL || json == NULL || json_len == NULL || (m->files == NULL && m->file_count > 0))
		return sd_fail(err, SD_ERR_ARGUMENT, "no manifest or no output");
	*json = NULL;
	*json_len = 0;
	/* json_integer takes a signed long long: keep every number in range before the rules run. */
	if (m->total > SD_CONTENT_TOTAL_MAX)
		return sd_fail(err, SD_ERR_MANIFEST_TOTAL, "total is not an integer from 0 to 2^53 - 1");
	if (m->file_count > SD_CONTENT_FILES_MAX)
		return sd_fail(err, SD_ERR_MANIFEST_FILES, "files has %zu entries, not 1 to %u", m->file_count, SD_CONTENT_FILES_MAX);
	for (size_t i = 0; i < m->file_count; i++) {
		if (m->files[i].size > SD_CONTENT_TOTAL_MAX)
			return sd_fail(err, SD_ERR_MANIFEST_SIZE, "files[%zu].size is not an integer from 0 to 2^53 - 1", i);
		if (m->files[i].path == NULL || m->files[i].type == NULL)
			return sd_fail(err, SD_ERR_ARGUMENT, "files[%zu] has no path or type text", i);
		if (m->files[i].fragment_count > 0) {
			char where[32];
			snprintf(where, sizeof(where), "files[%zu]", i);
			if (m->files[i].fragments == NULL)
				return sd_fail(err, SD_ERR_ARGUMENT, "%s has a fragment count but no fragments", where);
			/* Before json_integer, which takes a signed long long. */
			if (!check_fragments(m->files[i].fragments, m->files[i].fragment_count, m->files[i].size, where, err))
				return false;
		}
	}

	json_t *root = json_object();
	json_t *files = json_array();
	if (root == NULL || files == NULL) {
		json_decref(root);
		json_decref(files);
		return sd_fail(err, SD_ERR_MEMORY, "out of memory building the manifest");
	}
	/* jansson keeps members in insertion order: v, piece_size, total, files. */
	if (json_object_set_new(root, "v", json_integer(1)) != 0 ||
	    json_object_set_new(root, "piece_size", json_integer((json_int_t)m->piece_size)) != 0 ||
	    json_object_set_new(root, "total", json_integer((json_int_t)m->total)) != 0 ||
	    json_object_set_new(root, "files", files) != 0) {
		json_decref(root);
		return sd_fail(err, SD_ERR_MEMORY, "out of memory building the manifest");
	}
	for (size_t i = 0; i < m->file_count; i++) {
		if (!append_file(files, &m->files[i])) {
			json_decref(root);
			return sd_fail(err, SD_ERR_MANIFEST_PATH, "files[%zu] has a path or type that is not UTF-8 (or memory ran out)", i);
		}
	}
	/* json_dumpb with no buffer gives the size; the text is then ours, malloc'd. */
	size_t len = json_dumpb(root, NULL, 0, JSON_COMPACT);
	char *text = len > 0 ? malloc(len + 1) : NULL;
	if (text == NULL || json_dumpb(root, text, len, JSON_COMPACT) != len) {
		free(text);
		json_decref(root);
		return sd_fail(err, SD_ERR_MEMORY, "out of memory writing the manifest");
	}
	json_decref(root);
	text[len] = '\0';
	lowercase_escapes(text, len);

	sd_manifest check;
	if (!sd_manifest_parse((const uint8_t *)text, len, &check, err)) {
		free(text);
		return false;
	}
	sd_manifest_clear(&check);
	*json = text;
	*json_len = len;
	return true;
}

/* context || data, malloc'd, for a signature. */

/* sd_manifest: the plaintext manifest of a share (docs/protocol.md, "The manifest"): parsing and
 * checking its JSON against every rule of the format, and writing it byte for byte as the browser
 * does. Owns the memory of a parsed manifest. Sealing and opening it: sd_content.h. */
#ifndef SD_MANIFEST_H
#define SD_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_content.h"

/* One entry of a file's fragment index (fragmented MP4): the fragment starts at byte offset of
 * the file and at presentation time time_ms. Bytes [0, first offset) are the init segment. */
typedef struct sd_manifest_fragment {
	uint64_t time_ms;
	uint64_t offset;
} sd_manifest_fragment;

typedef struct sd_manifest_file {
	char *path;       /* UTF-8, NUL-terminated; path_len bytes (a path holds no NUL) */
	size_t path_len;
	char *type;       /* UTF-8, NUL-terminated; type_len bytes (may hold a NUL: use type_len) */
	size_t type_len;
	uint64_t size;
	uint64_t offset;  /* where the file starts in the piece stream (sum of the sizes before it) */
	/* The optional "fragments" member: fragment_count entries (0: none, fragments NULL), times
	 * non-decreasing, offsets strictly increasing, above 0 and below size. Owned by the manifest
	 * (freed by sd_manifest_clear) when parsed; sd_manifest_to_json only reads it. */
	sd_manifest_fragment *fragments;
	size_t fragment_count;
} sd_manifest_file;

typedef struct sd_manifest {
	uint32_t piece_size;
	uint64_t total;
	size_t file_count;
	sd_manifest_file *files;
} sd_manifest;

/* Parses and checks manifest JSON against every rule of the format. Numbers are taken by value
 * as JSON.parse sees them (16384.0 is the integer 16384); a member given twice is refused. On
 * success manifest owns its memory (release it with sd_manifest_clear); on failure it is left
 * empty. */
bool sd_manifest_parse(const uint8_t *json, size_t json_len, sd_manifest *manifest, sd_error *err);
void sd_manifest_clear(sd_manifest *manifest);

/* Why path (len bytes of valid UTF-8) breaks a rule of "File names" (docs/protocol.md part 3,
 * the same rules in the same order as the browser's), or NULL when it passes. The reason ends
 * with the rule's name as the browser gives it, in brackets ("... [reserved]"). The rules on a
 * manifest's set of paths (no two with one key, no file a folder of another) are
 * sd_manifest_parse's. */
const char *sd_manifest_path_problem(const char *path, size_t len);
/* A one-segment name that passes those rules, made from name (a file's name, any bytes) as the
 * browser's sender maps a name (content.js shareablePaths; tests/vectors/names.json): a name that
 * passes is kept; else what is not UTF-8 becomes U+FFFD, '/' and every character a rule forbids
 * '_', an empty name '_'; a name over 255 bytes is cut on a character to 254, keeping its
 * extension; a trailing '.' or ' ' becomes '_' ('.': '_', '..': '._'); a device name gets '_'
 * after its stem (CON.mp4: CON_.mp4). g_free it. */
char *sd_manifest_safe_name(const char *name);

/* The compact JSON of a manifest (the origin's side), members in the order of the format and
 * byte for byte what JSON.stringify writes for them, checked by sd_manifest_parse before it is
 * returned. piece_size, total and the files' path, type,
 * size and fragments (written after type when fragment_count > 0) are read; offsets are ignored. *json is malloc'd and NUL-terminated; free() it. */
bool sd_manifest_to_json(const sd_manifest *manifest, char **json, size_t *json_len, sd_error *err);

#endif

#include "sd_publish.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib.h>

#include "sd_ids.h"
#include "sd_manifest.h"
#include "sd_remux.h"

#define PIECE_SIZE_MIN (256u * 1024)
#define PIECES_MAX 65536u

void sd_publish_config_init(sd_publish_config *config)
{
	memset(config, 0, sizeof(*config));
	config->cache_folder = g_build_filename(g_get_tmp_dir(), "swarmdrop-cache", NULL);
}

void sd_publish_config_clear(sd_publish_config *config)
{
	g_free(config->media_folder);
	if (config->admin_key != NULL)
		OPENSSL_cleanse(config->admin_key, strlen(config->admin_key));
	g_free(config->admin_key);
	g_free(config->cache_folder);
	memset(config, 0, sizeof(*config));
}

static void replace(char **slot, const char *value)
{
	g_free(*slot);
	*slot = value != NULL ? g_strdup(value) : NULL;
}

bool sd_publish_config_set(sd_publish_config *config, const char *key, const char *value, char *why,
                           size_t why_size, bool *bad)
{
	*bad = false;
	bool folder = strcmp(key, "media_folder") == 0 || strcmp(key, "cache_folder") == 0;
	if (!folder && strcmp(key, "admin_key") != 0)
		return false;
	if (folder && (value == NULL || !g_path_is_absolute(value))) {
		*bad = true;
		g_snprintf(why, why_size, "%s must be an absolute path", key);
	} else if (!folder && (value == NULL || strlen(value) < SD_PUBLISH_ADMIN_KEY_MIN)) {
		*bad = true;
		g_snprintf(why, why_size, "admin_key must be at least %d characters: publishing stays off",
		           SD_PUBLISH_ADMIN_KEY_MIN);
	} else if (strcmp(key, "media_folder") == 0) {
		replace(&config->media_folder, value);
	} else if (strcmp(key, "cache_folder") == 0) {
		replace(&config->cache_folder, value);
	} else {
		replace(&config->admin_key, value);
	}
	return true;
}

/* Removes the <share id>.mp4 files in folder; returns how many. */
static unsigned clean_cache(const char *folder)
{
	GDir *dir = g_dir_open(folder, 0, NULL);
	if (dir == NULL)
		return 0;
	unsigned removed = 0;
	const char *name;
	while ((name = g_dir_read_name(dir)) != NULL) {
		char id[SD_SHARE_ID_LEN + 1];
		g_strlcpy(id, name, sizeof(id));
		if (strlen(name) != SD_SHARE_ID_LEN + 4 || !sd_is_hex_id(id, SD_SHARE_ID_LEN) ||
		    strcmp(name + SD_SHARE_ID_LEN, ".mp4") != 0)
			continue;
		char *path = g_build_filename(folder, name, NULL);
		removed += unlink(path) == 0;
		g_free(path);
	}
	g_dir_close(dir);
	return removed;
}

/* Why folder (a real path) is no place for files only this user may write, or NULL: it must be a
 * folder owned by the effective user and writable by nobody else, and each folder above it owned
 * by that user or root, and sticky where others may write (as /tmp is), so that nobody else can
 * rename it away and put one of theirs in its place. */
static const char *unsafe_folder(const char *folder, char *why, size_t why_size)
{
	struct stat st;
	if (lstat(folder, &st) != 0) {
		g_snprintf(why, why_size, "%s: %s", folder, g_strerror(errno));
		return why;
	}
	if (!S_ISDIR(st.st_mode)) {
		g_snprintf(why, why_size, "%s is not a folder", folder);
		return why;
	}
	if (st.st_uid != geteuid()) {
		g_snprintf(why, why_size, "%s belongs to uid %u, not to uid %u that Janus runs as", folder, (unsigned)st.st_uid,
		           (unsigned)geteuid());
		return why;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		g_snprintf(why, why_size, "%s may be written by others (mode %04o)", folder, (unsigned)(st.st_mode & 07777));
		return why;
	}
	char *above = g_path_get_dirname(folder);
	while (why[0] == '\0') {
		if (lstat(above, &st) != 0)
			g_snprintf(why, why_size, "%s: %s", above, g_strerror(errno));
		else if (st.st_uid != geteuid() && st.st_uid != 0)
			g_snprintf(why, why_size, "%s, above it, belongs to uid %u", above, (unsigned)st.st_uid);
		else if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
			g_snprintf(why, why_size, "%s, above it, may be written by others and is not sticky (mode %04o)", above,
			           (unsigned)(st.st_mode & 07777));
		else if (strcmp(above, "/") == 0)
			break;
		char *next = g_path_get_dirname(above);
		g_free(above);
		above = next;
	}
	g_free(above);
	return why[0] != '\0' ? why : NULL;
}

/* The checks of sd_publish_cache_open; cache_folder becomes its real path. */
static bool cache_folder_fit(sd_publish_config *config, sd_error *err)
{
	struct stat st;
	if (lstat(config->cache_folder, &st) != 0 && (errno != ENOENT || g_mkdir_with_parents(config->cache_folder, 0700) != 0))
		return sd_fail(err, SD_ERR_IO, "the cache folder %s: %s", config->cache_folder, g_strerror(errno));
	if (lstat(config->cache_folder, &st) == 0 && S_ISLNK(st.st_mode))
		return sd_fail(err, SD_ERR_CACHE_FOLDER, "the cache folder %s is a symbolic link", config->cache_folder);
	char *real = realpath(config->cache_folder, NULL);
	if (real == NULL)
		return sd_fail(err, SD_ERR_IO, "the cache folder %s: %s", config->cache_folder, g_strerror(errno));
	char why[160] = "";
	if (unsafe_folder(real, why, sizeof(why)) != NULL) {
		free(real);
		return sd_fail(err, SD_ERR_CACHE_FOLDER, "the cache folder is not private: %s", why);
	}
	/* From here on output paths hold no symbolic link: sd_publish_prepare opens them without any. */
	g_free(config->cache_folder);
	config->cache_folder = g_strdup(real);
	free(real);
	return true;
}

/* Publishing goes off (as without a media_folder) with err's reason. */
static bool publishing_off(sd_publish_config *config)
{
	g_clear_pointer(&config->media_folder, g_free);
	return false;
}

bool sd_publish_cache_open(sd_publish_config *config, unsigned *stale, sd_error *err)
{
	*stale = 0;
	if (!cache_folder_fit(config, err))
		return publishing_off(config);
	*stale = clean_cache(config->cache_folder);
	return true;
}

/* Keys of different lengths must not leak their length through timing: compare digests. */
static bool same_key(const char *a, const char *b)
{
	unsigned char da[32], db[32];
	unsigned int la = 0, lb = 0;
	if (!EVP_Digest(a, strlen(a), da, &la, EVP_sha256(), NULL) || !EVP_Digest(b, strlen(b), db, &lb, EVP_sha256(), NULL))
		return false;
	return la == lb && CRYPTO_memcmp(da, db, la) == 0;
}

bool sd_publish_check_key(const sd_publish_config *config, const char *admin_key, sd_error *err)
{
	if (config->admin_key == NULL)
		return sd_fail(err, SD_ERR_PUBLISH_OFF, "operator requests are off: the plugin's .jcfg sets no admin_key");
	if (admin_key == NULL || !same_key(admin_key, config->admin_key))
		return sd_fail(err, SD_ERR_ADMIN_KEY, "wrong admin_key");
	return true;
}

bool sd_publish_check(const sd_publish_config *config, const char *admin_key, const char *path, char **resolved,
                      sd_error *err)
{
	*resolved = NULL;
	if (config->media_folder == NULL || config->admin_key == NULL)
		return sd_fail(err, SD_ERR_PUBLISH_OFF, "publishing is off: the plugin's .jcfg sets no media_folder and admin_key");
	if (!sd_publish_check_key(config, admin_key, err))
		return false;
	if (path == NULL || *path == '\0' || g_path_is_absolute(path))
		return sd_fail(err, SD_ERR_MEDIA_PATH, "path must be relative to the media folder");
	gchar **parts = g_strsplit(path, "/", -1);
	bool dots = false;
	for (gchar **part = parts; *part != NULL; part++)
		dots = dots || strcmp(*part, "..") == 0;
	g_strfreev(parts);
	if (dots)
		return sd_fail(err, SD_ERR_MEDIA_PATH, "path must not contain '..'");
	char *folder = realpath(config->media_folder, NULL);
	if (folder == NULL)
		return sd_fail(err, SD_ERR_MEDIA_PATH, "the media folder %s: %s", config->media_folder, g_strerror(errno));
	char *joined = g_build_filename(folder, path, NULL);
	char *real = realpath(joined, NULL);
	int saved = errno;
	g_free(joined);
	size_t n = strlen(folder);
	struct stat st;
	bool ok = false;
	if (real == NULL)
		sd_fail(err, SD_ERR_MEDIA_PATH, "no file %s in the media folder (%s)", path, g_strerror(saved));
	else if (strncmp(real, folder, n) != 0 || real[n] != '/')
		sd_fail(err, SD_ERR_MEDIA_PATH, "%s leads outside the media folder", path);
	else if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
		sd_fail(err, SD_ERR_MEDIA_PATH, "%s is not a regular file", path);
	else if (access(real, R_OK) != 0)
		sd_fail(err, SD_ERR_MEDIA_PATH, "%s cannot be read: %s", path, g_strerror(errno));
	else
		ok = true;
	free(folder);
	if (ok)
		*resolved = g_strdup(real);
	free(real);
	return ok;
}

bool sd_publish_job_keys(sd_publish_job *job, char link[SD_CONTENT_LINK_LEN + 1], sd_error *err)
{
	uint8_t pubkey[SD_CONTENT_PUBKEY_LEN];
	return sd_content_random(job->secret, sizeof(job->secret), err) &&
	       sd_content_random(job->signing_seed, sizeof(job->signing_seed), err) &&
	       sd_content_public_key(job->signing_seed, pubkey, err) &&
	       sd_content_link_encode(job->secret, pubkey, link, SD_CONTENT_LINK_LEN + 1, err);
}

uint32_t sd_publish_piece_size(uint64_t total)
{
	uint32_t size = PIECE_SIZE_MIN;
	while (size < SD_CONTENT_PIECE_MAX && (total + size - 1) / size > PIECES_MAX)
		size *= 2;
	return size;
}

static bool remux_progress(void *opaque, double done, double total)
{
	const sd_publish_job *job = opaque;
	return job->progress == NULL || job->progress(job->opaque, "remux", total > 0 ? MIN(done / total, 1.0) : 0);
}

/* The name viewers see: the source's, as an .mp4. */
static char *published_name(const char *source)
{
	char *base = g_path_get_basename(source);
	char *dot = strrchr(base, '.');
	if (dot != NULL && dot != base)
		*dot = '\0';
	char *mp4 = g_strconcat(base, ".mp4", NULL);
	g_free(base);
	char *name = sd_manifest_safe_name(mp4); /* the manifest's rules, as a browser sender maps names */
	g_free(mp4);
	return name;
}

/* Reads, encrypts and hashes every piece of fd: hashes gets count * 32 bytes. */
static bool hash_pieces(const sd_publish_job *job, const uint8_t key[SD_CONTENT_KEY_LEN], int fd, uint64_t total,
                        uint32_t piece_size, uint8_t *hashes, sd_error *err)
{
	uint64_t count;
	if (!sd_content_piece_count(total, piece_size, &count, err))
		return false;
	uint8_t *buffer = g_malloc((size_t)piece_size + SD_CONTENT_TAG_LEN);
	bool ok = true;
	for (uint64_t i = 0; ok && i < count; i++) {
		size_t cipher_len;
		ok = sd_content_piece_from_file(fd, total, piece_size, key, i, buffer, (size_t)piece_size + SD_CONTENT_TAG_LEN,
		                                &cipher_len, err) &&
		     sd_content_piece_hash(buffer, cipher_len, hashes + i * SD_CONTENT_HASH_LEN, err);
		if (ok && job->progress != NULL && i % 64 == 63 && !job->progress(job->opaque, "hash", (double)(i + 1) / count))
			ok = sd_fail(err, SD_ERR_CANCELLED, "cancelled");
	}
	g_free(buffer);
	return ok;
}

/* The sealed manifest of the one remuxed file. */
static uint8_t *seal_manifest(const char *source, const uint8_t key[SD_CONTENT_KEY_LEN],
                              const sd_content_signer *signer, const sd_remux_output *media, uint32_t piece_size,
                              size_t *sealed_len, sd_error *err)
{
	sd_manifest_file file = {
		.path = published_name(source), .type = (char *)media->mime, .size = media->size,
		.fragments = g_new(sd_manifest_fragment, media->n_fragments), .fragment_count = media->n_fragments};
	file.path_len = strlen(file.path);
	file.type_len = strlen(file.type);
	for (size_t i = 0; i < media->n_fragments; i++)
		file.fragments[i] = (sd_manifest_fragment){media->fragments[i].time_ms, media->fragments[i].offset};
	sd_manifest manifest = {.piece_size = piece_size, .total = media->size, .file_count = 1, .files = &file};
	char *json = NULL;
	size_t json_len = 0;
	uint8_t *sealed = NULL;
	if (sd_manifest_to_json(&manifest, &json, &json_len, err)) {
		sealed = g_malloc(json_len + SD_CONTENT_SEALED_OVERHEAD);
		if (!sd_content_manifest_seal(key, signer, (const uint8_t *)json, json_len, sealed,
		                              json_len + SD_CONTENT_SEALED_OVERHEAD, sealed_len, err))
			g_clear_pointer(&sealed, g_free);
	}
	free(json);
	g_free(file.path);
	g_free(file.fragments);
	return sealed;
}

/* openat2 with RESOLVE_NO_SYMLINKS, or -1 with errno ENOSYS where the kernel is older than 5.6
 * and EPERM where a seccomp filter refuses it (container runtimes that predate it). */
static long openat2_without_links(const char *path, int flags, mode_t mode)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
	                       .mode = (flags & O_CREAT) ? mode : 0,
	                       .resolve = RESOLVE_NO_SYMLINKS};
	return syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
}

/* Opens path with no symbolic link anywhere in it (openat2; where that is missing or refused,
 * O_NOFOLLOW, for the last part only: sd_publish_links_fallback says so): a link swapped in
 * after the checks is refused (ELOOP), never followed. mode only with O_CREAT. (A real EPERM
 * comes back from open() as well.) */
static int open_without_links(const char *path, int flags, mode_t mode)
{
	long fd = openat2_without_links(path, flags, mode);
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	return (int)fd;
}

const char *sd_publish_links_fallback(void)
{
	long fd = openat2_without_links("/", O_RDONLY | O_DIRECTORY, 0);
	int error = errno;
	if (fd >= 0) {
		close((int)fd);
		return NULL;
	}
	if (error == ENOSYS)
		return "openat2 is missing (a kernel older than 5.6): only the last component of a published file's path is "
		       "checked for symbolic links";
	if (error == EPERM)
		return "openat2 is refused (EPERM: a seccomp filter, as some container runtimes have): only the last "
		       "component of a published file's path is checked for symbolic links";
	return NULL;
}

/* The remux of job->source into out_fd, from a descriptor opened once: what the checks saw is
 * what is read. The media codes become SD_ERR_NOT_STREAMABLE for the operator (the reason stays). */
static bool remux(const sd_publish_job *job, int out_fd, sd_remux_output *media, sd_error *err)
{
	/* O_NONBLOCK: a FIFO put at the path would otherwise hold the preparer in open() for good;
	 * sd_probe_open_fd then refuses whatever is not a regular file. */
	int in_fd = open_without_links(job->source, O_RDONLY | O_NONBLOCK, 0);
	if (in_fd < 0)
		return sd_fail(err, SD_ERR_IO, "%s: %s", job->source, g_strerror(errno));
	sd_remux_options options = {.transcode_audio = job->transcode_audio, .progress = remux_progress, .opaque = (void *)job};
	bool ok = sd_remux_fd(in_fd, job->source, out_fd, &options, media, err);
	close(in_fd);
	if (!ok && err->code >= SD_ERR_MEDIA_FORMAT && err->code <= SD_ERR_MEDIA_MUX)
		err->code = SD_ERR_NOT_STREAMABLE;
	return ok;
}

sd_seed_content *sd_publish_prepare(const sd_publish_job *job, sd_error *err)
{
	/* O_EXCL: a file already there (planted, or left) is not written through. */
	int fd = open_without_links(job->output, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		sd_fail(err, SD_ERR_IO, "%s: %s", job->output, g_strerror(errno));
		return NULL;
	}
	sd_remux_output media = {0};
	sd_seed_content *content = NULL;
	sd_content_signer *signer = NULL;
	uint8_t *hashes = NULL, *sealed = NULL;
	size_t sealed_len = 0;
	uint8_t key[SD_CONTENT_KEY_LEN];
	if (remux(job, fd, &media, err) && (signer = sd_content_signer_new(job->signing_seed, err)) != NULL &&
	    sd_content_derive_key(job->secret, key, err)) {
		uint32_t piece_size = sd_publish_piece_size(media.size);
		uint64_t count = (media.size + piece_size - 1) / piece_size;
		hashes = g_malloc(MAX(count, 1) * SD_CONTENT_HASH_LEN);
		/* The seed serves from this same descriptor: the file is never opened again by name. */
		if (hash_pieces(job, key, fd, media.size, piece_size, hashes, err) &&
		    (sealed = seal_manifest(job->source, key, signer, &media, piece_size, &sealed_len, err)) != NULL)
			content = sd_seed_content_new(fd, media.size, piece_size, key, signer, sealed, sealed_len, hashes, err);
	}
	if (content == NULL) {
		close(fd);
		unlink(job->output);
	}
	OPENSSL_cleanse(key, sizeof(key));
	g_free(sealed);
	g_free(hashes);
	sd_content_signer_free(signer);
	sd_remux_output_clear(&media);
	return content;
}

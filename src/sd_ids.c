#include "sd_ids.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/random.h>

static const char hex_digits[] = "0123456789abcdef";

bool sd_random_hex(char *out, size_t len)
{
	unsigned char raw[64];
	size_t bytes = len / 2;
	if (len % 2 != 0 || bytes > sizeof(raw))
		return false;
	size_t got = 0;
	while (got < bytes) {
		ssize_t n = getrandom(raw + got, bytes - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < bytes; i++) {
		out[2 * i] = hex_digits[raw[i] >> 4];
		out[2 * i + 1] = hex_digits[raw[i] & 0x0f];
	}
	out[len] = '\0';
	return true;
}

bool sd_derive_hex(char *out, size_t len, const char *domain, const char *salt, const char *secret)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	if (len > 64)
		return false;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	          EVP_DigestUpdate(ctx, domain, strlen(domain)) == 1 &&
	          (salt == NULL || EVP_DigestUpdate(ctx, salt, strlen(salt)) == 1) &&
	          EVP_DigestUpdate(ctx, secret, strlen(secret)) == 1 && EVP_DigestFinal_ex(ctx, digest, &digest_len) == 1 &&
	          digest_len == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return false;
	for (size_t i = 0; i < len; i++)
		out[i] = hex_digits[i % 2 == 0 ? digest[i / 2] >> 4 : digest[i / 2] & 0x0f];
	out[len] = '\0';
	return true;
}

bool sd_share_id_of(const char *owner_token, char out[SD_SHARE_ID_LEN + 1])
{
	return sd_derive_hex(out, SD_SHARE_ID_LEN, SD_SHARE_ID_DOMAIN, NULL, owner_token);
}

bool sd_peer_id_of(const char *share_id, const char *peer_secret, char out[SD_PEER_ID_LEN + 1])
{
	return sd_derive_hex(out, SD_PEER_ID_LEN, SD_PEER_ID_DOMAIN, share_id, peer_secret);
}

bool sd_is_hex_id(const char *s, size_t len)
{
	if (s == NULL || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

#include "sd_ids.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

bool sd_random_hex(char *out, size_t len)
{
	static const char digits[] = "0123456789abcdef";
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
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 0x0f];
	}
	out[len] = '\0';
	return true;
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

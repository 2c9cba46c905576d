#include "sd_locate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libloc/libloc.h>
#include <libloc/database.h>
#include <libloc/network.h>

struct sd_locate {
	struct loc_ctx *ctx;
	struct loc_database *db;
};

/* Unspecified, loopback, link-local or multicast: an address that is nobody's public one, and
 * would put strangers on "the same network". Private ranges (and the benchmark range
 * 198.18.0.0/15) stay: a server on a private network, and the lab, see members by them. */
static bool names_no_place(const sd_address *a)
{
	const uint8_t *b = a->bytes;
	if (a->family == 4)
		return b[0] == 0 || b[0] == 127 || (b[0] == 169 && b[1] == 254) || (b[0] & 0xf0) == 0xe0;
	static const uint8_t zero[15] = {0};
	return (memcmp(b, zero, 15) == 0 && b[15] <= 1) || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff;
}

bool sd_address_parse(const char *text, sd_address *out)
{
	memset(out, 0, sizeof(*out));
	if (text == NULL || strlen(text) > SD_ADDRESS_TEXT_MAX)
		return false;
	uint8_t v6[16];
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (inet_pton(AF_INET, text, out->bytes) == 1) {
		out->family = 4;
	} else if (inet_pton(AF_INET6, text, v6) != 1) {
		return false;
	} else if (memcmp(v6, mapped, sizeof(mapped)) == 0) {
		out->family = 4;
		memcpy(out->bytes, v6 + 12, 4);
	} else {
		out->family = 6;
		memcpy(out->bytes, v6, 16);
	}
	if (names_no_place(out))
		memset(out, 0, sizeof(*out));
	return true;
}

bool sd_address_same_network(const sd_address *a, const sd_address *b)
{
	if (a->family == 0 || a->family != b->family)
		return false;
	return memcmp(a->bytes, b->bytes, a->family == 4 ? 4 : 8) == 0;
}

sd_locate *sd_locate_open(const char *path, char *err, size_t err_size)
{
	if (path == NULL || path[0] == '\0') {
		snprintf(err, err_size, "no location database configured");
		return NULL;
	}
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, err_size, "cannot open the location database %s: %s", path, strerror(errno));
		return NULL;
	}
	sd_locate *loc = calloc(1, sizeof(*loc));
	int rc = loc == NULL ? -ENOMEM : loc_new(&loc->ctx);
	/* libloc maps the file: it may be closed once the database is made. */
	if (rc == 0)
		rc = loc_database_new(loc->ctx, &loc->db, f);
	fclose(f);
	if (rc != 0) {
		snprintf(err, err_size, "%s is not a location database libloc can read (%d)", path, rc);
		sd_locate_free(loc);
		return NULL;
	}
	return loc;
}

void sd_locate_free(sd_locate *loc)
{
	if (loc == NULL)
		return;
	if (loc->db != NULL)
		loc_database_unref(loc->db);
	if (loc->ctx != NULL)
		loc_unref(loc->ctx);
	free(loc);
}

sd_place sd_locate_lookup(const sd_locate *loc, const sd_address *address)
{
	sd_place place = {0};
	if (loc == NULL || address->family == 0)
		return place;
	/* libloc keeps IPv4 as IPv4-mapped IPv6. */
	struct in6_addr key = {0};
	if (address->family == 4) {
		key.s6_addr[10] = key.s6_addr[11] = 0xff;
		memcpy(&key.s6_addr[12], address->bytes, 4);
	} else {
		memcpy(key.s6_addr, address->bytes, 16);
	}
	struct loc_network *network = NULL;
	if (loc_database_lookup(loc->db, &key, &network) != 0 || network == NULL)
		return place;
	place.asn = loc_network_get_asn(network);
	const char *country = loc_network_get_country_code(network);
	if (country != NULL && strlen(country) == 2)
		memcpy(place.country, country, 3);
	loc_network_unref(network);
	return place;
}

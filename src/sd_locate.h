/* sd_locate: member addresses (IPv4 or IPv6, parsed from text) and where they are: the network
 * operator (ASN) and the country, from a libloc location database (Debian's libloc-database).
 * Owns the open database. A missing or unreadable database is not fatal: sd_locate_open fails
 * with a reason for the log, and lookups without a database answer "unknown". Lookups read only:
 * one sd_locate may serve one thread (the plugin's worker). */
#ifndef SD_LOCATE_H
#define SD_LOCATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SD_ADDRESS_TEXT_MAX 45 /* INET6_ADDRSTRLEN - 1: the longest address text taken */

typedef struct sd_address {
	uint8_t family; /* 0: unknown, 4 or 6 */
	uint8_t bytes[16]; /* network order; IPv4 in the first 4 */
} sd_address;

/* Where an address is; asn 0 and country "" when unknown. */
typedef struct sd_place {
	uint32_t asn;
	char country[3];
} sd_place;

/* Parses IPv4 or IPv6 text ("::ffff:a.b.c.d" counts as IPv4). False on anything else. An
 * unspecified, loopback, link-local or multicast address parses as unknown (family 0): it tells
 * nothing of where a member is. */
bool sd_address_parse(const char *text, sd_address *out);
/* Same IPv4 address, or same IPv6 /64: the same local network behind one public address. */
bool sd_address_same_network(const sd_address *a, const sd_address *b);

typedef struct sd_locate sd_locate;

/* Opens the database at path; NULL with the reason in err when it is missing or unreadable. */
sd_locate *sd_locate_open(const char *path, char *err, size_t err_size);
void sd_locate_free(sd_locate *loc);

/* Where address is; loc may be NULL (no database): unknown then, as for an unknown address. */
sd_place sd_locate_lookup(const sd_locate *loc, const sd_address *address);

#endif

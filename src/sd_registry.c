#include "sd_registry.h"

#include <stddef.h>
#include <string.h>

struct sd_registry {
	sd_limits limits;
	GHashTable *shares;       /* share id -> sd_share* (owned) */
	GHashTable *client_peers; /* client -> GPtrArray of its sd_peer* (borrowed) */
	guint members;            /* peers over all shares */
};

static void share_free(gpointer data)
{
	sd_share *share = data;
	g_hash_table_destroy(share->peer_ids);
	g_ptr_array_free(share->peers, TRUE);
	g_free(share);
}

sd_registry *sd_registry_new(const sd_limits *limits)
{
	sd_registry *reg = g_new0(sd_registry, 1);
	reg->limits = *limits;
	reg->shares = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, share_free);
	reg->client_peers = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
	return reg;
}

void sd_registry_free(sd_registry *reg)
{
	if (reg == NULL)
		return;
	g_hash_table_destroy(reg->client_peers);
	g_hash_table_destroy(reg->shares);
	g_free(reg);
}

const char *sd_role_name(sd_role role)
{
	return role == SD_ROLE_OWNER ? "owner" : "receiver";
}

static bool client_has_room(sd_registry *reg, const void *client, sd_error *err)
{
	GPtrArray *held = g_hash_table_lookup(reg->client_peers, client);
	if (held != NULL && held->len >= reg->limits.max_shares_per_handle)
		return sd_fail(err, SD_ERR_HANDLE_LIMIT, "this handle is in %u shares already, the most allowed",
		               reg->limits.max_shares_per_handle);
	return true;
}

/* The id of peer_secret in share, making a fresh secret when it is "". A fresh secret's id is
 * taken only by a 48-bit collision: another fresh secret is tried. */
static bool member_id(const sd_share *share, char *peer_secret, char id[SD_PEER_ID_LEN + 1], sd_error *err)
{
	bool fresh = peer_secret[0] == '\0';
	for (int attempt = 0; attempt < 8; attempt++) {
		if (fresh && !sd_random_hex(peer_secret, SD_SECRET_LEN))
			return sd_fail(err, SD_ERR_INTERNAL, "no random peer secret could be made");
		if (!sd_is_hex_id(peer_secret, SD_SECRET_LEN))
			return sd_fail(err, SD_ERR_INVALID_FIELD, "a peer secret is %d lowercase hex characters", SD_SECRET_LEN);
		if (!sd_peer_id_of(share->id, peer_secret, id))
			return sd_fail(err, SD_ERR_INTERNAL, "no peer id could be derived");
		if (sd_share_find_peer(share, id) == NULL)
			return true;
		if (!fresh)
			return sd_fail(err, SD_ERR_PEER_TAKEN, "that member id is in use");
	}
	return sd_fail(err, SD_ERR_INTERNAL, "no unused peer id could be made");
}

static sd_peer *peer_new(sd_registry *reg, sd_share *share, const char *id, sd_role role)
{
	sd_peer *peer = g_malloc0(sizeof(sd_peer) + reg->limits.max_links_per_member * sizeof(sd_link));
	g_strlcpy(peer->id, id, sizeof(peer->id));
	peer->standing.reported_at = peer->standing.listed_at = SD_NOT_SINCE;
	peer->role = role;
	peer->share = share;
	g_ptr_array_add(share->peers, peer);
	g_hash_table_insert(share->peer_ids, peer->id, peer);
	share->empty_since = SD_NOT_SINCE;
	if (role == SD_ROLE_OWNER)
		share->owner_absent_since = SD_NOT_SINCE;
	return peer;
}

sd_peer *sd_registry_add_remote_peer(sd_registry *reg, sd_share *share, guint8 node, const char *peer_id,
                                     sd_role role, sd_error *err)
{
	if (node == 0 || !sd_is_hex_id(peer_id, SD_PEER_ID_LEN)) {
		sd_fail(err, SD_ERR_ARGUMENT, "a remote member needs a node and a peer id");
		return NULL;
	}
	if (sd_share_find_peer(share, peer_id) != NULL) {
		sd_fail(err, SD_ERR_PEER_TAKEN, "that member id is in use");
		return NULL;
	}
	if (share->peers->len - sd_share_local_count(share) >= SD_REMOTE_PEERS_FACTOR * reg->limits.max_peers_per_share) {
		sd_fail(err, SD_ERR_SHARE_FULL, "the share has %u members of other nodes already",
		        SD_REMOTE_PEERS_FACTOR * reg->limits.max_peers_per_share);
		return NULL;
	}
	sd_peer *peer = peer_new(reg, share, peer_id, role);
	peer->node = node;
	return peer;
}

guint sd_share_local_count(const sd_share *share)
{
	guint local = 0;
	for (guint i = 0; i < share->peers->len; i++)
		local += ((const sd_peer *)g_ptr_array_index(share->peers, i))->client != NULL ? 1 : 0;
	return local;
}

sd_peer *sd_registry_add_peer(sd_registry *reg, sd_share *share, void *client, sd_role role, char *peer_secret,
                              sd_error *err)
{
	if (share->peers->len >= reg->limits.max_peers_per_share) {
		sd_fail(err, SD_ERR_SHARE_FULL, "the share has its %u peers already", reg->limits.max_peers_per_share);
		return NULL;
	}
	char id[SD_PEER_ID_LEN + 1];
	if (!client_has_room(reg, client, err) || !member_id(share, peer_secret, id, err))
		return NULL;
	sd_peer *peer = peer_new(reg, share, id, role);
	peer->client = client;
	GPtrArray *held = g_hash_table_lookup(reg->client_peers, client);
	if (held == NULL) {
		held = g_ptr_array_new();
		g_hash_table_insert(reg->client_peers, client, held);
	}
	g_ptr_array_add(held, peer);
	reg->members++;
	return peer;
}

/* A new share under token (a checked one, or NULL: a fresh one), with no member, or NULL. */
static sd_share *share_new(sd_registry *reg, const char *token, sd_error *err)
{
	if (g_hash_table_size(reg->shares) >= reg->limits.max_shares) {
		sd_fail(err, SD_ERR_SERVER_FULL, "the server holds its %u shares already", reg->limits.max_shares);
		return NULL;
	}
	sd_share *share = g_new0(sd_share, 1);
	share->peers = g_ptr_array_new_with_free_func(g_free);
	share->peer_ids = g_hash_table_new(g_str_hash, g_str_equal);
	share->owner_absent_since = SD_NOT_SINCE;
	share->empty_since = SD_NOT_SINCE;
	bool made = false;
	for (int attempt = 0; attempt < 8 && !made; attempt++) {
		if (token != NULL)
			memcpy(share->owner_token, token, SD_TOKEN_LEN + 1);
		else if (!sd_random_hex(share->owner_token, SD_TOKEN_LEN))
			break;
		/* A fresh token whose id is held (a 64-bit collision) is replaced by another. */
		made = sd_share_id_of(share->owner_token, share->id) && !g_hash_table_contains(reg->shares, share->id);
		if (token != NULL)
			break;
	}
	if (!made) {
		share_free(share);
		sd_fail(err, SD_ERR_INTERNAL, "no share id could be made");
		return NULL;
	}
	g_hash_table_insert(reg->shares, share->id, share);
	return share;
}

/* A new share under owner_token with client as its owner: a fresh token (create), or the one
 * given (restore). */
static sd_peer *add_share(sd_registry *reg, void *client, const char *token, char *peer_secret, sd_error *err)
{
	if (!client_has_room(reg, client, err))
		return NULL;
	sd_share *share = share_new(reg, token, err);
	if (share == NULL)
		return NULL;
	sd_peer *owner = sd_registry_add_peer(reg, share, client, SD_ROLE_OWNER, peer_secret, err);
	if (owner == NULL)
		g_hash_table_remove(reg->shares, share->id);
	return owner;
}

sd_peer *sd_registry_create_share(sd_registry *reg, void *client, char *peer_secret, sd_error *err)
{
	return add_share(reg, client, NULL, peer_secret, err);
}

/* Comparison in time independent of where the first difference is. */
static bool same_text(const char *a, const char *b, size_t len)
{
	unsigned char diff = 0;
	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* Whether share_id, held nowhere here, may be made again under owner_token: the id it derives. */
static bool may_make_again(sd_registry *reg, const char *share_id, const char *owner_token, sd_error *err)
{
	char derived[SD_SHARE_ID_LEN + 1];
	if (!sd_is_hex_id(share_id, SD_SHARE_ID_LEN) || !sd_is_hex_id(owner_token, SD_TOKEN_LEN))
		return sd_fail(err, SD_ERR_INVALID_FIELD, "a restored share needs a share id and an owner token");
	if (!sd_share_id_of(owner_token, derived))
		return sd_fail(err, SD_ERR_INTERNAL, "no share id could be derived");
	if (!same_text(derived, share_id, SD_SHARE_ID_LEN))
		return sd_fail(err, SD_ERR_BAD_OWNER_TOKEN, "that owner token is not share %s's", share_id);
	if (g_hash_table_contains(reg->shares, share_id))
		return sd_fail(err, SD_ERR_INTERNAL, "share %s exists", share_id);
	return true;
}

sd_peer *sd_registry_restore_share(sd_registry *reg, const char *share_id, const char *owner_token, void *client,
                                   char *peer_secret, sd_error *err)
{
	return may_make_again(reg, share_id, owner_token, err) ? add_share(reg, client, owner_token, peer_secret, err)
	                                                      : NULL;
}

sd_share *sd_registry_mirror_share(sd_registry *reg, const char *share_id, const char *owner_token,
                                   gint64 owner_absent_since, gint64 now_us, sd_error *err)
{
	sd_share *share = may_make_again(reg, share_id, owner_token, err) ? share_new(reg, owner_token, err) : NULL;
	if (share != NULL) {
		share->owner_absent_since = owner_absent_since;
		share->empty_since = now_us;
	}
	return share;
}

void sd_registry_locate(sd_peer *peer, const sd_address *address, const sd_locate *locate)
{
	sd_standing *st = &peer->standing;
	if (address->family == 0 || memcmp(address, &st->address, sizeof(*address)) == 0)
		return;
	st->address = *address;
	st->place = sd_locate_lookup(locate, address);
}

/* Whether a request at now_us comes interval_seconds after the last one (at last, or
 * SD_NOT_SINCE), less a second of slack for timers and networks, half the interval when that
 * is 1 s: never none. */
static bool spaced(gint64 last, gint64 now_us, unsigned interval_seconds)
{
	gint64 interval_us = (gint64)interval_seconds * G_USEC_PER_SEC;
	return last == SD_NOT_SINCE || now_us - last >= interval_us - MIN(G_USEC_PER_SEC, interval_us / 2);
}

bool sd_registry_may_list(sd_peer *peer, gint64 now_us, sd_error *err)
{
	if (!spaced(peer->standing.listed_at, now_us, SD_LIST_INTERVAL_SECONDS))
		return sd_fail(err, SD_ERR_TOO_SOON, "lists come at most every second");
	peer->standing.listed_at = now_us;
	return true;
}

/* In links sorted by peer id: the place of peer, or where it would go. */
static size_t link_place(const sd_link *links, size_t n, const char *peer)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(links[mid].peer, peer) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool sd_registry_report(sd_registry *reg, sd_peer *peer, const sd_request *req, const sd_locate *locate,
                        gint64 now_us, sd_error *err)
{
	sd_standing *st = &peer->standing;
	if (!spaced(st->reported_at, now_us, reg->limits.report_interval_seconds))
		return sd_fail(err, SD_ERR_TOO_SOON, "reports come at most every %u s", reg->limits.report_interval_seconds);
	st->reported_at = now_us;
	sd_registry_locate(peer, &req->address, locate);
	st->complete = req->complete;
	st->has_have = req->has_have;
	memcpy(st->have, req->have, sizeof(st->have));
	/* Kept sorted by peer id, so that a peer named again is found by a binary search. */
	st->n_links = 0;
	for (size_t i = 0; i < req->n_links && st->n_links < reg->limits.max_links_per_member; i++) {
		const sd_link *link = &req->links[i];
		const sd_peer *other = sd_share_find_peer(peer->share, link->peer);
		size_t at = link_place(peer->links, st->n_links, link->peer);
		if (other == NULL || other == peer || (at < st->n_links && strcmp(peer->links[at].peer, link->peer) == 0))
			continue;
		memmove(&peer->links[at + 1], &peer->links[at], (st->n_links - at) * sizeof(*link));
		peer->links[at] = *link;
		st->n_links++;
	}
	return true;
}

static void forget_client_peer(sd_registry *reg, sd_peer *peer)
{
	GPtrArray *held = g_hash_table_lookup(reg->client_peers, peer->client);
	if (held == NULL)
		return;
	g_ptr_array_remove_fast(held, peer);
	reg->members--;
	if (held->len == 0)
		g_hash_table_remove(reg->client_peers, peer->client);
}

void sd_registry_remove_peer(sd_registry *reg, sd_peer *peer, gint64 now_us)
{
	sd_share *share = peer->share;
	if (peer->role == SD_ROLE_OWNER)
		share->owner_absent_since = now_us;
	forget_client_peer(reg, peer);
	g_hash_table_remove(share->peer_ids, peer->id);
	g_ptr_array_remove(share->peers, peer); /* frees peer */
	if (share->peers->len == 0)
		share->empty_since = now_us;
}

void sd_registry_remove_share(sd_registry *reg, sd_share *share)
{
	for (guint i = 0; i < share->peers->len; i++)
		forget_client_peer(reg, g_ptr_array_index(share->peers, i));
	g_hash_table_remove(reg->shares, share->id); /* frees share and peers */
}

sd_share *sd_registry_find_share(sd_registry *reg, const char *share_id)
{
	return g_hash_table_lookup(reg->shares, share_id);
}

sd_peer *sd_share_find_peer(const sd_share *share, const char *peer_id)
{
	return g_hash_table_lookup(share->peer_ids, peer_id);
}

sd_peer *sd_registry_peer_of(sd_registry *reg, const sd_share *share, const void *client)
{
	GPtrArray *held = g_hash_table_lookup(reg->client_peers, client);
	for (guint i = 0; held != NULL && i < held->len; i++) {
		sd_peer *peer = g_ptr_array_index(held, i);
		if (peer->share == share)
			return peer;
	}
	return NULL;
}

sd_peer *sd_share_owner(const sd_share *share)
{
	for (guint i = 0; i < share->peers->len; i++) {
		sd_peer *peer = g_ptr_array_index(share->peers, i);
		if (peer->role == SD_ROLE_OWNER)
			return peer;
	}
	return NULL;
}

GPtrArray *sd_registry_peers_of(sd_registry *reg, const void *client)
{
	GPtrArray *copy = g_ptr_array_new();
	GPtrArray *held = g_hash_table_lookup(reg->client_peers, client);
	for (guint i = 0; held != NULL && i < held->len; i++)
		g_ptr_array_add(copy, g_ptr_array_index(held, i));
	return copy;
}

/* The shares whose clock (at offset in sd_share) has run at least for_us at now_us. */
static GPtrArray *shares_since(sd_registry *reg, size_t offset, gint64 now_us, gint64 for_us)
{
	GPtrArray *found = g_ptr_array_new();
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, reg->shares);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		gint64 since = *(const gint64 *)((const char *)value + offset);
		if (since != SD_NOT_SINCE && now_us - since >= for_us)
			g_ptr_array_add(found, value);
	}
	return found;
}

GPtrArray *sd_registry_empty_since(sd_registry *reg, gint64 now_us, gint64 grace_us)
{
	return shares_since(reg, offsetof(sd_share, empty_since), now_us, grace_us);
}

GPtrArray *sd_registry_orphans_since(sd_registry *reg, gint64 now_us, gint64 max_us)
{
	return shares_since(reg, offsetof(sd_share, owner_absent_since), now_us, max_us);
}

GPtrArray *sd_registry_shares(sd_registry *reg)
{
	GPtrArray *shares = g_ptr_array_sized_new(g_hash_table_size(reg->shares));
	GHashTableIter iter;
	gpointer share;
	g_hash_table_iter_init(&iter, reg->shares);
	while (g_hash_table_iter_next(&iter, NULL, &share))
		g_ptr_array_add(shares, share);
	return shares;
}

guint sd_registry_share_count(sd_registry *reg)
{
	return g_hash_table_size(reg->shares);
}

guint sd_registry_member_count(sd_registry *reg)
{
	return reg->members;
}

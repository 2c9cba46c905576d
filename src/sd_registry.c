#include "sd_registry.h"

#include <string.h>

struct sd_registry {
	sd_limits limits;
	GHashTable *shares;       /* share id -> sd_share* (owned) */
	GHashTable *client_peers; /* client -> GPtrArray of its sd_peer* (borrowed) */
};

static void share_free(gpointer data)
{
	sd_share *share = data;
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

/* Fresh random ids never collide in practice; looping keeps that an invariant. */
static bool new_unique_id(char *out, size_t len, bool (*taken)(const void *scope, const char *id), const void *scope)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		if (!sd_random_hex(out, len))
			return false;
		if (!taken(scope, out))
			return true;
	}
	return false;
}

static bool share_id_taken(const void *scope, const char *id)
{
	return g_hash_table_contains((GHashTable *)scope, id);
}

static bool peer_id_taken(const void *scope, const char *id)
{
	return sd_share_find_peer(scope, id) != NULL;
}

static bool client_has_room(sd_registry *reg, const void *client, sd_error *err)
{
	GPtrArray *held = g_hash_table_lookup(reg->client_peers, client);
	if (held != NULL && held->len >= reg->limits.max_shares_per_handle)
		return sd_fail(err, SD_ERR_HANDLE_LIMIT, "this handle is in %u shares already, the most allowed",
		               reg->limits.max_shares_per_handle);
	return true;
}

sd_peer *sd_registry_add_peer(sd_registry *reg, sd_share *share, void *client, sd_role role, const char *wanted_id,
                              sd_error *err)
{
	if (share->peers->len >= reg->limits.max_peers_per_share) {
		sd_fail(err, SD_ERR_SHARE_FULL, "the share has its %u peers already", reg->limits.max_peers_per_share);
		return NULL;
	}
	if (!client_has_room(reg, client, err))
		return NULL;
	sd_peer *peer = g_new0(sd_peer, 1);
	if (wanted_id != NULL && sd_is_hex_id(wanted_id, SD_PEER_ID_LEN) && !peer_id_taken(share, wanted_id)) {
		memcpy(peer->id, wanted_id, SD_PEER_ID_LEN + 1);
	} else if (!new_unique_id(peer->id, SD_PEER_ID_LEN, peer_id_taken, share)) {
		g_free(peer);
		sd_fail(err, SD_ERR_INTERNAL, "no random peer id could be made");
		return NULL;
	}
	peer->role = role;
	peer->client = client;
	peer->share = share;
	g_ptr_array_add(share->peers, peer);
	GPtrArray *held = g_hash_table_lookup(reg->client_peers, client);
	if (held == NULL) {
		held = g_ptr_array_new();
		g_hash_table_insert(reg->client_peers, client, held);
	}
	g_ptr_array_add(held, peer);
	return peer;
}

/* A new share with client as its owner: with a fresh id and token, or with the ones given (a
 * share restored after a restart). */
static sd_peer *add_share(sd_registry *reg, void *client, const char *id, const char *token, const char *owner_id,
                          sd_error *err)
{
	if (g_hash_table_size(reg->shares) >= reg->limits.max_shares) {
		sd_fail(err, SD_ERR_SERVER_FULL, "the server holds its %u shares already", reg->limits.max_shares);
		return NULL;
	}
	if (!client_has_room(reg, client, err))
		return NULL;
	sd_share *share = g_new0(sd_share, 1);
	share->peers = g_ptr_array_new_with_free_func(g_free);
	if (id != NULL) {
		memcpy(share->id, id, SD_SHARE_ID_LEN + 1);
		memcpy(share->owner_token, token, SD_TOKEN_LEN + 1);
	} else if (!new_unique_id(share->id, SD_SHARE_ID_LEN, share_id_taken, reg->shares) ||
	           !sd_random_hex(share->owner_token, SD_TOKEN_LEN)) {
		share_free(share);
		sd_fail(err, SD_ERR_INTERNAL, "no random share id could be made");
		return NULL;
	}
	g_hash_table_insert(reg->shares, share->id, share);
	sd_peer *owner = sd_registry_add_peer(reg, share, client, SD_ROLE_OWNER, owner_id, err);
	if (owner == NULL)
		g_hash_table_remove(reg->shares, share->id);
	return owner;
}

sd_peer *sd_registry_create_share(sd_registry *reg, void *client, sd_error *err)
{
	return add_share(reg, client, NULL, NULL, NULL, err);
}

sd_peer *sd_registry_restore_share(sd_registry *reg, const char *share_id, const char *owner_token, void *client,
                                   const char *owner_id, sd_error *err)
{
	if (!sd_is_hex_id(share_id, SD_SHARE_ID_LEN) || !sd_is_hex_id(owner_token, SD_TOKEN_LEN)) {
		sd_fail(err, SD_ERR_INVALID_FIELD, "a restored share needs a share id and an owner token");
		return NULL;
	}
	if (share_id_taken(reg->shares, share_id)) {
		sd_fail(err, SD_ERR_INTERNAL, "share %s exists", share_id);
		return NULL;
	}
	return add_share(reg, client, share_id, owner_token, owner_id, err);
}

static void forget_client_peer(sd_registry *reg, sd_peer *peer)
{
	GPtrArray *held = g_hash_table_lookup(reg->client_peers, peer->client);
	if (held == NULL)
		return;
	g_ptr_array_remove_fast(held, peer);
	if (held->len == 0)
		g_hash_table_remove(reg->client_peers, peer->client);
}

void sd_registry_remove_peer(sd_registry *reg, sd_peer *peer)
{
	forget_client_peer(reg, peer);
	g_ptr_array_remove(peer->share->peers, peer); /* frees peer */
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
	for (guint i = 0; i < share->peers->len; i++) {
		sd_peer *peer = g_ptr_array_index(share->peers, i);
		if (strcmp(peer->id, peer_id) == 0)
			return peer;
	}
	return NULL;
}

sd_peer *sd_share_peer_of(const sd_share *share, const void *client)
{
	for (guint i = 0; i < share->peers->len; i++) {
		sd_peer *peer = g_ptr_array_index(share->peers, i);
		if (peer->client == client)
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

GPtrArray *sd_registry_orphans_since(sd_registry *reg, gint64 now_us, gint64 grace_us)
{
	GPtrArray *orphans = g_ptr_array_new();
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, reg->shares);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		sd_share *share = value;
		if (share->owner_lost_at != 0 && now_us - share->owner_lost_at >= grace_us)
			g_ptr_array_add(orphans, share);
	}
	return orphans;
}

guint sd_registry_share_count(sd_registry *reg)
{
	return g_hash_table_size(reg->shares);
}

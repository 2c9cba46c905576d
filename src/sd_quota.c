#include "sd_quota.h"

#include <string.h>

#include "sd_bucket.h"
#include "sd_ids.h"

typedef struct membership {
	const void *client;
	char share[SD_SHARE_ID_LEN + 1];
} membership;

typedef struct connection {
	const void *key;
	GPtrArray *clients;  /* void* */
	GArray *members;     /* membership, of all its clients */
	GPtrArray *created;  /* share ids (owned) it created that are open; keys of sd_quota.creators */
	sd_bucket budget;    /* its requests; below 0: a debt of refused requests, at most a burst */
	bool ended;          /* its whole burst of debt was answered with END; until the debt is paid */
} connection;

struct sd_quota {
	GMutex mutex;
	sd_quota_hooks hooks;
	unsigned max_handles, max_shares, max_members, max_seats, rate, burst;
	GHashTable *connections; /* key -> connection* (owned; its key held through hooks) */
	GHashTable *clients;     /* client -> its connection*, NULL for the server's own */
	GHashTable *creators;    /* share id (the connection's string) -> connection* */
};

/* Frees conn and lets go of its key. */
static void connection_free(sd_quota *quota, connection *conn)
{
	if (quota->hooks.release != NULL)
		quota->hooks.release(conn->key);
	g_ptr_array_unref(conn->clients);
	g_array_unref(conn->members);
	g_ptr_array_unref(conn->created);
	g_free(conn);
}

/* Forgets conn (the iterator's current one when it is given). Mutex held. */
static void forget(sd_quota *quota, connection *conn, GHashTableIter *it)
{
	if (it != NULL)
		g_hash_table_iter_steal(it);
	else
		g_hash_table_steal(quota->connections, conn->key);
	connection_free(quota, conn);
}

sd_quota *sd_quota_new(const sd_limits *limits, const sd_quota_hooks *hooks)
{
	sd_quota *quota = g_new0(sd_quota, 1);
	g_mutex_init(&quota->mutex);
	if (hooks != NULL)
		quota->hooks = *hooks;
	quota->max_handles = limits->max_handles_per_connection;
	quota->max_shares = limits->max_shares_per_connection;
	quota->max_members = limits->max_members_per_connection;
	quota->max_seats = limits->max_seats_per_connection;
	quota->rate = limits->requests_per_second;
	quota->burst = limits->request_burst;
	quota->connections = g_hash_table_new(NULL, NULL);
	quota->clients = g_hash_table_new(NULL, NULL);
	quota->creators = g_hash_table_new(g_str_hash, g_str_equal);
	return quota;
}

void sd_quota_free(sd_quota *quota)
{
	if (quota == NULL)
		return;
	g_hash_table_destroy(quota->creators);
	g_hash_table_destroy(quota->clients);
	GHashTableIter it;
	gpointer conn;
	g_hash_table_iter_init(&it, quota->connections);
	while (g_hash_table_iter_next(&it, NULL, &conn))
		forget(quota, conn, &it);
	g_hash_table_destroy(quota->connections);
	g_mutex_clear(&quota->mutex);
	g_free(quota);
}

/* Refills conn's budget; a debt paid back makes it one that may be ended again. Mutex held. */
static void refill(connection *conn, gint64 now_us)
{
	sd_bucket_refill(&conn->budget, now_us);
	if (conn->budget.tokens >= 0)
		conn->ended = false;
}

bool sd_quota_add_client(sd_quota *quota, const void *key, void *client, gint64 now_us, sd_error *err)
{
	bool ok = true;
	g_mutex_lock(&quota->mutex);
	connection *conn = key != NULL ? g_hash_table_lookup(quota->connections, key) : NULL;
	if (conn != NULL)
		refill(conn, now_us);
	if (g_hash_table_contains(quota->clients, client)) {
		ok = sd_fail(err, SD_ERR_ARGUMENT, "this client is counted already");
	} else if (conn != NULL && conn->budget.tokens < 0) {
		ok = sd_fail(err, SD_ERR_TOO_MANY_REQUESTS, "this connection is over its request budget");
	} else if (conn != NULL && conn->clients->len >= quota->max_handles) {
		ok = sd_fail(err, SD_ERR_CONNECTION_LIMIT, "this connection has its %u handles already", quota->max_handles);
	} else {
		if (key != NULL && conn == NULL) {
			conn = g_new0(connection, 1);
			conn->key = key;
			conn->clients = g_ptr_array_new();
			conn->members = g_array_new(FALSE, FALSE, sizeof(membership));
			conn->created = g_ptr_array_new_with_free_func(g_free);
			sd_bucket_init(&conn->budget, quota->rate, quota->burst);
			if (quota->hooks.retain != NULL)
				quota->hooks.retain(key);
			g_hash_table_insert(quota->connections, (gpointer)key, conn);
		}
		if (conn != NULL)
			g_ptr_array_add(conn->clients, client);
		g_hash_table_insert(quota->clients, client, conn);
	}
	g_mutex_unlock(&quota->mutex);
	return ok;
}

void sd_quota_remove_client(sd_quota *quota, void *client)
{
	g_mutex_lock(&quota->mutex);
	connection *conn = g_hash_table_lookup(quota->clients, client);
	g_hash_table_remove(quota->clients, client);
	if (conn != NULL) {
		for (guint i = conn->members->len; i-- > 0;)
			if (g_array_index(conn->members, membership, i).client == client)
				g_array_remove_index(conn->members, i);
		g_ptr_array_remove(conn->clients, client);
		if (conn->clients->len == 0) {
			for (guint i = 0; i < conn->created->len; i++)
				g_hash_table_remove(quota->creators, g_ptr_array_index(conn->created, i));
			g_ptr_array_set_size(conn->created, 0);
			/* One in debt stays until it paid (sd_quota_expire): its ended handles cannot come
			 * back at once with a fresh budget. */
			if (conn->budget.tokens >= 0)
				forget(quota, conn, NULL);
		}
	}
	g_mutex_unlock(&quota->mutex);
}

void sd_quota_expire(sd_quota *quota, gint64 now_us)
{
	GHashTableIter it;
	gpointer value;
	g_mutex_lock(&quota->mutex);
	g_hash_table_iter_init(&it, quota->connections);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		connection *conn = value;
		if (conn->clients->len > 0)
			continue;
		refill(conn, now_us);
		if (conn->budget.tokens >= 0)
			forget(quota, conn, &it);
	}
	g_mutex_unlock(&quota->mutex);
}

/* The connection of a known client (*known), NULL for the server's own. Mutex held. */
static connection *connection_of(sd_quota *quota, const void *client, bool *known)
{
	gpointer conn = NULL;
	*known = g_hash_table_lookup_extended(quota->clients, client, NULL, &conn);
	return conn;
}

sd_quota_verdict sd_quota_request(sd_quota *quota, void *client, gint64 now_us, sd_error *err)
{
	sd_quota_verdict verdict = SD_QUOTA_ALLOW;
	bool known;
	g_mutex_lock(&quota->mutex);
	connection *conn = connection_of(quota, client, &known);
	if (!known) {
		sd_fail(err, SD_ERR_NOT_JOINED, "this handle is gone");
		verdict = SD_QUOTA_REFUSE;
	} else if (conn != NULL) {
		refill(conn, now_us);
		/* A refused request is a debt too, up to a burst: only a connection that pauses gets
		 * its budget back, and one that asks a whole burst beyond it is ended, once a debt
		 * (the refill keeps lifting a full debt a little, so the bound alone would end it
		 * again at every request). */
		if (!sd_bucket_owe(&conn->budget, now_us, 1)) {
			sd_fail(err, SD_ERR_TOO_MANY_REQUESTS, "more than %u requests a second from this connection", quota->rate);
			verdict = SD_QUOTA_REFUSE;
			if (!conn->ended && conn->budget.tokens <= -conn->budget.burst) {
				conn->ended = true;
				verdict = SD_QUOTA_END;
			}
		}
	}
	g_mutex_unlock(&quota->mutex);
	return verdict;
}

GPtrArray *sd_quota_clients_with(sd_quota *quota, void *client)
{
	GPtrArray *clients = g_ptr_array_new();
	bool known;
	g_mutex_lock(&quota->mutex);
	connection *conn = connection_of(quota, client, &known);
	if (conn != NULL)
		for (guint i = 0; i < conn->clients->len; i++)
			g_ptr_array_add(clients, g_ptr_array_index(conn->clients, i));
	else if (known)
		g_ptr_array_add(clients, client);
	g_mutex_unlock(&quota->mutex);
	return clients;
}

static guint seats_in(const connection *conn, const char *share_id)
{
	guint seats = 0;
	for (guint i = 0; i < conn->members->len; i++)
		seats += strcmp(g_array_index(conn->members, membership, i).share, share_id) == 0;
	return seats;
}

/* The checks of a new membership (share_id NULL: in a share it creates). Mutex held. */
static bool may_add(sd_quota *quota, const void *client, const char *share_id, sd_error *err)
{
	bool known;
	connection *conn = connection_of(quota, client, &known);
	if (!known)
		return sd_fail(err, SD_ERR_NOT_JOINED, "this handle is gone");
	if (conn == NULL)
		return true;
	if (share_id == NULL && conn->created->len >= quota->max_shares)
		return sd_fail(err, SD_ERR_CONNECTION_LIMIT, "this connection has %u open shares it created, the most allowed",
		               quota->max_shares);
	if (conn->members->len >= quota->max_members)
		return sd_fail(err, SD_ERR_CONNECTION_LIMIT, "this connection has %u memberships, the most allowed",
		               quota->max_members);
	if (share_id != NULL && seats_in(conn, share_id) >= quota->max_seats)
		return sd_fail(err, SD_ERR_CONNECTION_LIMIT, "this connection has %u members of share %s, the most allowed",
		               quota->max_seats, share_id);
	return true;
}

bool sd_quota_may_create(sd_quota *quota, const void *client, sd_error *err)
{
	g_mutex_lock(&quota->mutex);
	bool ok = may_add(quota, client, NULL, err);
	g_mutex_unlock(&quota->mutex);
	return ok;
}

bool sd_quota_may_join(sd_quota *quota, const void *client, const char *share_id, sd_error *err)
{
	g_mutex_lock(&quota->mutex);
	bool ok = may_add(quota, client, share_id, err);
	g_mutex_unlock(&quota->mutex);
	return ok;
}

void sd_quota_joined(sd_quota *quota, const void *client, const char *share_id, bool created)
{
	bool known;
	g_mutex_lock(&quota->mutex);
	connection *conn = connection_of(quota, client, &known);
	if (conn != NULL) {
		membership m = {.client = client};
		g_strlcpy(m.share, share_id, sizeof(m.share));
		g_array_append_val(conn->members, m);
		if (created && !g_hash_table_contains(quota->creators, share_id)) {
			char *id = g_strdup(share_id);
			g_ptr_array_add(conn->created, id);
			g_hash_table_insert(quota->creators, id, conn);
		}
	}
	g_mutex_unlock(&quota->mutex);
}

void sd_quota_left(sd_quota *quota, const void *client, const char *share_id)
{
	bool known;
	g_mutex_lock(&quota->mutex);
	connection *conn = connection_of(quota, client, &known);
	for (guint i = 0; conn != NULL && i < conn->members->len; i++) {
		membership *m = &g_array_index(conn->members, membership, i);
		if (m->client == client && strcmp(m->share, share_id) == 0) {
			g_array_remove_index_fast(conn->members, i);
			break;
		}
	}
	g_mutex_unlock(&quota->mutex);
}

void sd_quota_share_closed(sd_quota *quota, const char *share_id)
{
	g_mutex_lock(&quota->mutex);
	gpointer id = NULL, conn = NULL;
	if (g_hash_table_lookup_extended(quota->creators, share_id, &id, &conn)) {
		g_hash_table_remove(quota->creators, share_id);
		g_ptr_array_remove_fast(((connection *)conn)->created, id); /* frees id */
	}
	g_mutex_unlock(&quota->mutex);
}

sd_quota_counts sd_quota_count(sd_quota *quota)
{
	g_mutex_lock(&quota->mutex);
	sd_quota_counts counts = {.connections = g_hash_table_size(quota->connections),
	                          .clients = g_hash_table_size(quota->clients)};
	g_mutex_unlock(&quota->mutex);
	return counts;
}

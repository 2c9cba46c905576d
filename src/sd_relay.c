#include "sd_relay.h"

#include <string.h>

#include "sd_bucket.h"

typedef struct endpoint endpoint;

/* Relayed bytes of one share while it has endpoints (its quota), and its endpoints. */
typedef struct share_use {
	char id[SD_SHARE_ID_LEN + 1];
	guint64 bytes;
	GPtrArray *endpoints;
} share_use;

/* A member waiting for its client's channel to be ready. */
typedef struct pending {
	char share[SD_SHARE_ID_LEN + 1];
	char peer[SD_PEER_ID_LEN + 1];
} pending;

/* One client's relayed upload (its quota), its rate budget, its endpoints, and the members
 * waiting for its channel. */
typedef struct client_use {
	void *client;
	guint64 bytes;
	sd_bucket rate;  /* bytes it may be credited under the rate cap (a second's worth saved) */
	GPtrArray *endpoints;
	GArray *waiting; /* pending, one per share */
	bool ready;      /* its channel carries data (and queues: its texts count) */
	bool remote;     /* another node's stand-in: no rate cap, no text bound, many members per share */
	sd_bucket refusals; /* refusals it may be told (sd_relay_may_refuse) */
	guint64 texts;   /* bytes of the plugin's own texts since its channel last drained */
} client_use;

/* What one sender sent one target: in flight until the target drains, then owed until the
 * sender's rate cap and its channel's text bound let it be credited back, in one credit however
 * much it grew. The sender counts both as not yet credited. */
typedef struct flow {
	endpoint *from;
	guint64 in_flight;
	guint64 owed;
} flow;

struct endpoint {
	client_use *client;
	share_use *share;
	char peer[SD_PEER_ID_LEN + 1];
	guint8 id[SD_RELAY_ID_BYTES];
	GPtrArray *flows_in; /* flow*, one per sender that sent it something */
};

struct sd_relay {
	GMutex mutex;
	sd_relay_hooks hooks;
	guint64 window, share_quota, client_quota, rate; /* bytes, bytes per second; 0 = no limit */
	GHashTable *shares;                               /* share id -> share_use* */
	GHashTable *clients;                              /* client -> client_use* */
	guint endpoints;
	guint max_waiting; /* per client */
	unsigned refusal_rate;  /* refusals told per second and client */
	sd_relay_dropped dropped;
	guint64 relayed; /* bytes handed to targets since the relay began, every copy counted */
};

#define KiB 1024ull
#define MiB (1024ull * 1024ull)
/* The window under a rate cap: this many seconds of the rate, at least this many bytes. */
#define RATE_WINDOW_SECONDS 2
#define RATE_WINDOW_MIN (256 * KiB)

static void share_use_free(gpointer data)
{
	share_use *share = data;
	g_ptr_array_unref(share->endpoints);
	g_free(share);
}

static void client_use_free(gpointer data)
{
	client_use *client = data;
	g_ptr_array_unref(client->endpoints);
	g_array_unref(client->waiting);
	g_free(client);
}

static void no_reference(void *client)
{
	(void)client;
}

sd_relay *sd_relay_new(const sd_limits *limits, const sd_relay_hooks *hooks)
{
	sd_relay *relay = g_new0(sd_relay, 1);
	relay->hooks.retain = hooks != NULL && hooks->retain != NULL ? hooks->retain : no_reference;
	relay->hooks.release = hooks != NULL && hooks->release != NULL ? hooks->release : no_reference;
	relay->hooks.endpoint = hooks != NULL ? hooks->endpoint : NULL;
	g_mutex_init(&relay->mutex);
	relay->window = limits->relay_window_kib * KiB;
	relay->share_quota = limits->relay_share_quota_mib * MiB;
	relay->client_quota = limits->relay_client_quota_mib * MiB;
	relay->rate = limits->relay_client_rate_kib * KiB;
	/* A client capped at `rate` gains nothing from more in flight than a few seconds of it: the
	 * rest waits in Janus's queue, while a receiver that asked it of this slow member asks another
	 * source too (tests/e2e/publish.test.mjs at 400 KiB/s with 4 MiB: a third of the file twice). */
	if (relay->rate != 0)
		relay->window = MIN(relay->window, MAX(RATE_WINDOW_SECONDS * relay->rate, RATE_WINDOW_MIN));
	relay->max_waiting = limits->max_shares_per_handle;
	relay->refusal_rate = limits->relay_refusals_per_second;
	relay->shares = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, share_use_free);
	relay->clients = g_hash_table_new_full(NULL, NULL, NULL, client_use_free);
	return relay;
}

static void endpoint_free(endpoint *ep)
{
	g_ptr_array_unref(ep->flows_in);
	g_free(ep);
}

void sd_relay_free(sd_relay *relay)
{
	if (relay == NULL)
		return;
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, relay->shares);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		share_use *share = value;
		for (guint i = 0; i < share->endpoints->len; i++) {
			endpoint *ep = g_ptr_array_index(share->endpoints, i);
			relay->hooks.release(ep->client->client);
			endpoint_free(ep);
		}
	}
	g_hash_table_destroy(relay->shares);
	g_hash_table_destroy(relay->clients);
	g_mutex_clear(&relay->mutex);
	g_free(relay);
}

static guint8 hex_value(char c)
{
	return (guint8)(c <= '9' ? c - '0' : c - 'a' + 10);
}

void sd_relay_id_from_hex(const char *hex, guint8 id[SD_RELAY_ID_BYTES])
{
	for (size_t i = 0; i < SD_RELAY_ID_BYTES; i++)
		id[i] = (guint8)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
}

void sd_relay_id_to_hex(const guint8 id[SD_RELAY_ID_BYTES], char hex[SD_PEER_ID_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < SD_RELAY_ID_BYTES; i++) {
		hex[2 * i] = digits[id[i] >> 4];
		hex[2 * i + 1] = digits[id[i] & 15];
	}
	hex[SD_PEER_ID_LEN] = '\0';
}

static endpoint *find_in(GPtrArray *endpoints, const guint8 *id)
{
	for (guint i = 0; i < endpoints->len; i++) {
		endpoint *ep = g_ptr_array_index(endpoints, i);
		if (memcmp(ep->id, id, SD_RELAY_ID_BYTES) == 0)
			return ep;
	}
	return NULL;
}

static client_use *client_of(sd_relay *relay, void *client)
{
	client_use *owner = g_hash_table_lookup(relay->clients, client);
	if (owner == NULL) {
		owner = g_new0(client_use, 1);
		owner->client = client;
		sd_bucket_init(&owner->rate, (double)relay->rate, (double)relay->rate);
		sd_bucket_init(&owner->refusals, relay->refusal_rate, relay->refusal_rate);
		owner->endpoints = g_ptr_array_new();
		owner->waiting = g_array_new(FALSE, TRUE, sizeof(pending));
		g_hash_table_insert(relay->clients, client, owner);
	}
	return owner;
}

static endpoint *endpoint_in_share(const client_use *owner, const char *share_id)
{
	for (guint i = 0; owner != NULL && i < owner->endpoints->len; i++) {
		endpoint *ep = g_ptr_array_index(owner->endpoints, i);
		if (strcmp(ep->share->id, share_id) == 0)
			return ep;
	}
	return NULL;
}

static void remove_endpoint(sd_relay *relay, endpoint *ep);
static endpoint *new_endpoint(sd_relay *relay, client_use *owner, const char *share_id, const char *peer_id);

/* Checks the ids and that no other client's endpoint has peer_id in share_id; *held is that
 * endpoint when it is client's own. Called with the mutex held. */
static bool may_attach(sd_relay *relay, void *client, const char *share_id, const char *peer_id, endpoint **held,
                       sd_error *err)
{
	*held = NULL;
	if (!sd_is_hex_id(share_id, SD_SHARE_ID_LEN) || !sd_is_hex_id(peer_id, SD_PEER_ID_LEN))
		return sd_fail(err, SD_ERR_INVALID_FIELD, "not a share id and peer id");
	guint8 id[SD_RELAY_ID_BYTES];
	sd_relay_id_from_hex(peer_id, id);
	share_use *share = g_hash_table_lookup(relay->shares, share_id);
	endpoint *ep = share != NULL ? find_in(share->endpoints, id) : NULL;
	/* Another node's record of a member whose client is here now is stale: the member moved. */
	if (ep != NULL && ep->client->client != client && ep->client->remote) {
		remove_endpoint(relay, ep);
		ep = NULL;
	}
	if (ep != NULL && ep->client->client != client)
		return sd_fail(err, SD_ERR_ALREADY_JOINED, "member %s uses the relay from another client", peer_id);
	*held = ep;
	return true;
}

/* sd_relay_attach with the mutex held. */
static bool attach_locked(sd_relay *relay, void *client, const char *share_id, const char *peer_id, sd_error *err)
{
	endpoint *held;
	if (!may_attach(relay, client, share_id, peer_id, &held, err))
		return false;
	if (held != NULL)
		return true; /* already client's */
	client_use *owner = client_of(relay, client);
	/* A client has one member per share: one it had before left. */
	endpoint *before = endpoint_in_share(owner, share_id);
	if (before != NULL)
		remove_endpoint(relay, before);
	new_endpoint(relay, owner, share_id, peer_id);
	return true;
}

/* A new endpoint of owner: member peer_id of share_id (checked). Mutex held. */
static endpoint *new_endpoint(sd_relay *relay, client_use *owner, const char *share_id, const char *peer_id)
{
	share_use *share = g_hash_table_lookup(relay->shares, share_id);
	if (share == NULL) {
		share = g_new0(share_use, 1);
		g_strlcpy(share->id, share_id, sizeof(share->id));
		share->endpoints = g_ptr_array_new();
		g_hash_table_insert(relay->shares, share->id, share);
	}
	endpoint *ep = g_new0(endpoint, 1);
	ep->client = owner;
	ep->share = share;
	g_strlcpy(ep->peer, peer_id, sizeof(ep->peer));
	sd_relay_id_from_hex(peer_id, ep->id);
	ep->flows_in = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(share->endpoints, ep);
	g_ptr_array_add(owner->endpoints, ep);
	relay->endpoints++;
	relay->hooks.retain(owner->client);
	if (relay->hooks.endpoint != NULL && !owner->remote)
		relay->hooks.endpoint(share->id, ep->peer, true);
	return ep;
}

bool sd_relay_attach(sd_relay *relay, void *client, const char *share_id, const char *peer_id, sd_error *err)
{
	g_mutex_lock(&relay->mutex);
	bool ok = attach_locked(relay, client, share_id, peer_id, err);
	g_mutex_unlock(&relay->mutex);
	return ok;
}

/* The index in client's waiting list of its member in share_id, or -1. */
static int waiting_at(const client_use *owner, const char *share_id)
{
	for (guint i = 0; owner != NULL && i < owner->waiting->len; i++)
		if (strcmp(g_array_index(owner->waiting, pending, i).share, share_id) == 0)
			return (int)i;
	return -1;
}

static void forget_waiting(client_use *owner, const char *share_id)
{
	int at = waiting_at(owner, share_id);
	if (at >= 0)
		g_array_remove_index(owner->waiting, (guint)at);
}

sd_relay_expect_result sd_relay_expect(sd_relay *relay, void *client, const char *share_id, const char *peer_id,
                                       sd_error *err)
{
	sd_relay_expect_result result = SD_RELAY_REFUSED;
	endpoint *held;
	g_mutex_lock(&relay->mutex);
	client_use *owner = g_hash_table_lookup(relay->clients, client);
	if (owner != NULL && owner->ready) {
		if (attach_locked(relay, client, share_id, peer_id, err))
			result = SD_RELAY_ATTACHED;
	} else if (may_attach(relay, client, share_id, peer_id, &held, err)) {
		owner = client_of(relay, client);
		int at = waiting_at(owner, share_id);
		if (at >= 0) {
			pending *wait = &g_array_index(owner->waiting, pending, at);
			g_strlcpy(wait->peer, peer_id, sizeof(wait->peer)); /* the last asked */
			result = SD_RELAY_PENDING;
		} else if (owner->waiting->len >= relay->max_waiting) {
			sd_fail(err, SD_ERR_HANDLE_LIMIT, "%u members wait for this client's relay channel already",
			        relay->max_waiting);
		} else {
			pending fresh;
			g_strlcpy(fresh.share, share_id, sizeof(fresh.share));
			g_strlcpy(fresh.peer, peer_id, sizeof(fresh.peer));
			g_array_append_val(owner->waiting, fresh);
			result = SD_RELAY_PENDING;
		}
	}
	g_mutex_unlock(&relay->mutex);
	return result;
}

bool sd_relay_ready(sd_relay *relay, void *client, GPtrArray *attached)
{
	g_mutex_lock(&relay->mutex);
	client_use *owner = client_of(relay, client);
	bool first = !owner->ready;
	if (first) {
		owner->ready = true;
		for (guint i = 0; i < owner->waiting->len; i++) {
			pending *wait = &g_array_index(owner->waiting, pending, i);
			sd_error err;
			attach_locked(relay, client, wait->share, wait->peer, &err);
		}
		g_array_set_size(owner->waiting, 0);
		for (guint i = 0; attached != NULL && i < owner->endpoints->len; i++)
			g_ptr_array_add(attached, g_strdup(((endpoint *)g_ptr_array_index(owner->endpoints, i))->peer));
	}
	g_mutex_unlock(&relay->mutex);
	return first;
}

/* Removes ep, and every flow it sent, from the relay; frees it. The share's use goes with its
 * last endpoint. Called with the mutex held. */
static void remove_endpoint(sd_relay *relay, endpoint *ep)
{
	share_use *share = ep->share;
	if (relay->hooks.endpoint != NULL && !ep->client->remote)
		relay->hooks.endpoint(share->id, ep->peer, false);
	g_ptr_array_remove(share->endpoints, ep);
	g_ptr_array_remove(ep->client->endpoints, ep);
	for (guint i = 0; i < share->endpoints->len; i++) {
		GPtrArray *flows = ((endpoint *)g_ptr_array_index(share->endpoints, i))->flows_in;
		for (guint f = 0; f < flows->len; f++) {
			if (((flow *)g_ptr_array_index(flows, f))->from == ep) {
				g_ptr_array_remove_index_fast(flows, f);
				break;
			}
		}
	}
	if (share->endpoints->len == 0)
		g_hash_table_remove(relay->shares, share->id);
	relay->hooks.release(ep->client->client);
	endpoint_free(ep);
	relay->endpoints--;
}

void sd_relay_detach(sd_relay *relay, void *client, const char *share_id)
{
	g_mutex_lock(&relay->mutex);
	client_use *owner = g_hash_table_lookup(relay->clients, client);
	endpoint *ep = endpoint_in_share(owner, share_id);
	if (ep != NULL)
		remove_endpoint(relay, ep);
	forget_waiting(owner, share_id);
	g_mutex_unlock(&relay->mutex);
}

void sd_relay_client_gone(sd_relay *relay, void *client)
{
	g_mutex_lock(&relay->mutex);
	client_use *owner = g_hash_table_lookup(relay->clients, client);
	while (owner != NULL && owner->endpoints->len > 0)
		remove_endpoint(relay, g_ptr_array_index(owner->endpoints, owner->endpoints->len - 1));
	g_hash_table_remove(relay->clients, client);
	g_mutex_unlock(&relay->mutex);
}

static flow *flow_from(endpoint *target, endpoint *from, bool create)
{
	for (guint i = 0; i < target->flows_in->len; i++) {
		flow *f = g_ptr_array_index(target->flows_in, i);
		if (f->from == from)
			return f;
	}
	if (!create)
		return NULL;
	flow *f = g_new0(flow, 1);
	f->from = from;
	g_ptr_array_add(target->flows_in, f);
	return f;
}

static void refuse(sd_relay_route *route, const guint8 *id, int code, const char *why)
{
	char peer[SD_PEER_ID_LEN + 1];
	sd_relay_id_to_hex(id, peer);
	g_strlcpy(route->refused[route->n_refused].peer, peer, sizeof(route->refused[0].peer));
	sd_fail(&route->refused[route->n_refused].error, code, "%s: %s", peer, why);
	route->n_refused++;
}

bool sd_relay_route_message(sd_relay *relay, void *client, guint8 *message, size_t length, sd_relay_route *route,
                            sd_error *err)
{
	memset(route, 0, sizeof(*route));
	const size_t count_at = 1 + SD_RELAY_ID_BYTES;
	if (length < SD_RELAY_IN_HEADER(1) + 1 || length > SD_RELAY_MAX_MESSAGE || message[0] > 1)
		return sd_fail(err, SD_ERR_RELAY_MALFORMED, "not a relay frame (%zu bytes)", length);
	const guint n = message[count_at];
	if (n == 0 || n > SD_RELAY_MAX_TARGETS || length <= SD_RELAY_IN_HEADER(n))
		return sd_fail(err, SD_ERR_RELAY_MALFORMED, "a relay frame names 1 to %d targets, then data",
		               SD_RELAY_MAX_TARGETS);
	const size_t payload = length - SD_RELAY_IN_HEADER(n);
	route->out_length = SD_RELAY_OUT_HEADER + payload;

	g_mutex_lock(&relay->mutex);
	client_use *owner = g_hash_table_lookup(relay->clients, client);
	endpoint *source = owner != NULL ? find_in(owner->endpoints, message + 1) : NULL;
	if (source == NULL) {
		g_mutex_unlock(&relay->mutex);
		return sd_fail(err, SD_ERR_RELAY_NOT_ATTACHED, "the source is not a member of yours that uses the relay");
	}
	if (relay->client_quota != 0 && owner->bytes + length > relay->client_quota) {
		g_mutex_unlock(&relay->mutex);
		return sd_fail(err, SD_ERR_RELAY_CLIENT_QUOTA, "this client sent its %llu MiB through the relay",
		               (unsigned long long)(relay->client_quota / MiB));
	}
	endpoint *chosen[SD_RELAY_MAX_TARGETS];
	guint n_chosen = 0;
	for (guint t = 0; t < n; t++) {
		const guint8 *id = message + count_at + 1 + SD_RELAY_ID_BYTES * t;
		endpoint *target = find_in(source->share->endpoints, id);
		flow *f = target != NULL ? flow_from(target, source, false) : NULL;
		bool repeated = false;
		for (guint c = 0; c < n_chosen; c++)
			repeated = repeated || chosen[c] == target;
		if (target == NULL || target == source || repeated)
			refuse(route, id, SD_ERR_RELAY_NO_TARGET, "not another member of the share on the relay");
		else if (f != NULL && f->in_flight + f->owed + route->out_length > relay->window)
			refuse(route, id, SD_ERR_RELAY_WINDOW, "more in flight than the relay window allows");
		else
			chosen[n_chosen++] = target;
	}
	share_use *share = source->share;
	if (relay->share_quota != 0 && share->bytes + route->out_length * n_chosen > relay->share_quota) {
		g_mutex_unlock(&relay->mutex);
		return sd_fail(err, SD_ERR_RELAY_SHARE_QUOTA, "this share used its %llu MiB of relay",
		               (unsigned long long)(relay->share_quota / MiB));
	}
	owner->bytes += length;
	share->bytes += route->out_length * n_chosen;
	relay->relayed += route->out_length * n_chosen;
	g_strlcpy(route->share, share->id, sizeof(route->share));
	for (guint c = 0; c < n_chosen; c++) {
		flow_from(chosen[c], source, true)->in_flight += route->out_length;
		memcpy(route->target_ids[route->n_targets], chosen[c]->id, SD_RELAY_ID_BYTES);
		route->targets[route->n_targets++] = chosen[c]->client->client;
		relay->hooks.retain(chosen[c]->client->client);
	}
	g_mutex_unlock(&relay->mutex);

	/* The out header ends where the data starts; it begins past the source id it takes (the
	 * in header is longer by the count and the target ids), so nothing is read after it is
	 * overwritten. */
	guint8 *out = message + SD_RELAY_IN_HEADER(n) - SD_RELAY_OUT_HEADER;
	memmove(out + 1, message + 1, SD_RELAY_ID_BYTES);
	out[0] = message[0];
	route->out = out;
	return true;
}

/* Whether a text of length bytes may go on owner's channel now. A client whose channel never
 * became ready (the server's own member) takes texts in at once. */
static bool text_room(const sd_relay *relay, const client_use *owner, size_t length)
{
	return !owner->ready || owner->remote || owner->texts + length <= relay->window;
}

/* Credits what flow f owes to target as far as its sender's rate budget goes, in one credit text
 * if the sender's channel has room for it; else the credit stays owed, for the sender's next
 * drain or the tick. Mutex held. */
static void pay(sd_relay *relay, endpoint *target, flow *f, gint64 now_us, GArray *credits)
{
	client_use *sender = f->from->client;
	if (f->owed == 0 || !text_room(relay, sender, SD_RELAY_CREDIT_TEXT_MAX))
		return;
	guint64 amount = sender->remote ? f->owed : sd_bucket_take_upto(&sender->rate, now_us, f->owed);
	if (amount == 0)
		return;
	sender->texts += SD_RELAY_CREDIT_TEXT_MAX;
	f->owed -= amount;
	sd_relay_credit credit = {.client = sender->client, .bytes = amount};
	g_strlcpy(credit.share, target->share->id, sizeof(credit.share));
	g_strlcpy(credit.from, f->from->peer, sizeof(credit.from));
	g_strlcpy(credit.to, target->peer, sizeof(credit.to));
	g_array_append_val(credits, credit);
	relay->hooks.retain(sender->client);
}

bool sd_relay_may_refuse(sd_relay *relay, void *client, gint64 now_us)
{
	g_mutex_lock(&relay->mutex);
	/* Looked up, never made: a client gone (sd_relay_client_gone) stays gone. */
	client_use *owner = g_hash_table_lookup(relay->clients, client);
	bool told = owner != NULL && sd_bucket_take(&owner->refusals, now_us, 1);
	if (!told)
		relay->dropped.refusals++;
	g_mutex_unlock(&relay->mutex);
	return told;
}

bool sd_relay_text_fits(sd_relay *relay, void *client, size_t length)
{
	g_mutex_lock(&relay->mutex);
	client_use *owner = g_hash_table_lookup(relay->clients, client);
	bool fits = owner != NULL && text_room(relay, owner, length);
	if (fits)
		owner->texts += length;
	else
		relay->dropped.texts++;
	g_mutex_unlock(&relay->mutex);
	return fits;
}

sd_relay_dropped sd_relay_dropped_count(sd_relay *relay)
{
	g_mutex_lock(&relay->mutex);
	sd_relay_dropped dropped = relay->dropped;
	g_mutex_unlock(&relay->mutex);
	return dropped;
}

/* Everything in flight to ep was taken in: owed to its senders, and paid as far as may be. Mutex held. */
static void taken_in(sd_relay *relay, endpoint *ep, gint64 now_us, GArray *credits)
{
	for (guint i = 0; i < ep->flows_in->len; i++) {
		flow *f = g_ptr_array_index(ep->flows_in, i);
		f->owed += f->in_flight;
		f->in_flight = 0;
		pay(relay, ep, f, now_us, credits);
	}
}

void sd_relay_drained(sd_relay *relay, void *client, gint64 now_us, GArray *credits)
{
	g_mutex_lock(&relay->mutex);
	client_use *owner = g_hash_table_lookup(relay->clients, client);
	if (owner != NULL)
		owner->texts = 0;
	for (guint e = 0; owner != NULL && e < owner->endpoints->len; e++) {
		endpoint *ep = g_ptr_array_index(owner->endpoints, e);
		/* What its members took in is owed to their senders... */
		taken_in(relay, ep, now_us, credits);
		/* ... and its own credits that did not fit on its channel fit now. */
		for (guint t = 0; t < ep->share->endpoints->len; t++) {
			endpoint *target = g_ptr_array_index(ep->share->endpoints, t);
			flow *f = target != ep ? flow_from(target, ep, false) : NULL;
			if (f != NULL)
				pay(relay, target, f, now_us, credits);
		}
	}
	g_mutex_unlock(&relay->mutex);
}

void sd_relay_tick(sd_relay *relay, gint64 now_us, GArray *credits)
{
	g_mutex_lock(&relay->mutex);
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, relay->shares);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		GPtrArray *endpoints = ((share_use *)value)->endpoints;
		for (guint e = 0; e < endpoints->len; e++) {
			endpoint *target = g_ptr_array_index(endpoints, e);
			for (guint i = 0; i < target->flows_in->len; i++) {
				flow *f = g_ptr_array_index(target->flows_in, i);
				pay(relay, target, f, now_us, credits);
			}
		}
	}
	g_mutex_unlock(&relay->mutex);
}

guint64 sd_relay_in_flight(sd_relay *relay, void *client)
{
	guint64 total = 0;
	g_mutex_lock(&relay->mutex);
	client_use *owner = g_hash_table_lookup(relay->clients, client);
	for (guint e = 0; owner != NULL && e < owner->endpoints->len; e++) {
		GPtrArray *flows = ((endpoint *)g_ptr_array_index(owner->endpoints, e))->flows_in;
		for (guint i = 0; i < flows->len; i++) {
			flow *f = g_ptr_array_index(flows, i);
			total += f->in_flight + f->owed;
		}
	}
	g_mutex_unlock(&relay->mutex);
	return total;
}

guint64 sd_relay_window(const sd_relay *relay)
{
	return relay->window;
}

guint64 sd_relay_relayed_bytes(sd_relay *relay)
{
	g_mutex_lock(&relay->mutex);
	guint64 bytes = relay->relayed;
	g_mutex_unlock(&relay->mutex);
	return bytes;
}

void sd_relay_share_use(sd_relay *relay, const char *share_id, guint64 *bytes, guint *endpoints)
{
	g_mutex_lock(&relay->mutex);
	const share_use *share = g_hash_table_lookup(relay->shares, share_id);
	*bytes = share != NULL ? share->bytes : 0;
	*endpoints = share != NULL ? share->endpoints->len : 0;
	g_mutex_unlock(&relay->mutex);
}

guint sd_relay_endpoint_count(sd_relay *relay)
{
	g_mutex_lock(&relay->mutex);
	guint count = relay->endpoints;
	g_mutex_unlock(&relay->mutex);
	return count;
}

guint sd_relay_waiting_count(sd_relay *relay)
{
	guint count = 0;
	GHashTableIter it;
	gpointer value;
	g_mutex_lock(&relay->mutex);
	g_hash_table_iter_init(&it, relay->clients);
	while (g_hash_table_iter_next(&it, NULL, &value))
		count += ((client_use *)value)->waiting->len;
	g_mutex_unlock(&relay->mutex);
	return count;
}

guint sd_relay_pending_count(sd_relay *relay, void *client)
{
	g_mutex_lock(&relay->mutex);
	client_use *owner = g_hash_table_lookup(relay->clients, client);
	guint count = owner != NULL ? owner->waiting->len : 0;
	g_mutex_unlock(&relay->mutex);
	return count;
}

/* node's stand-in, made on first use. Mutex held. */
static client_use *node_of(sd_relay *relay, void *node)
{
	client_use *owner = client_of(relay, node);
	owner->remote = true;
	owner->ready = true;
	return owner;
}

/* node's endpoint peer_id in share_id, or NULL. Mutex held. */
static endpoint *remote_endpoint(sd_relay *relay, void *node, const char *share_id, const guint8 id[SD_RELAY_ID_BYTES])
{
	const client_use *owner = g_hash_table_lookup(relay->clients, node);
	const share_use *share = g_hash_table_lookup(relay->shares, share_id);
	endpoint *ep = share != NULL ? find_in(share->endpoints, id) : NULL;
	return owner != NULL && ep != NULL && ep->client == owner ? ep : NULL;
}

bool sd_relay_attach_remote(sd_relay *relay, void *node, const char *share_id, const char *peer_id, sd_error *err)
{
	g_mutex_lock(&relay->mutex);
	endpoint *held = NULL;
	bool ok = false;
	if (!sd_is_hex_id(share_id, SD_SHARE_ID_LEN) || !sd_is_hex_id(peer_id, SD_PEER_ID_LEN)) {
		sd_fail(err, SD_ERR_INVALID_FIELD, "not a share id and peer id");
	} else {
		guint8 id[SD_RELAY_ID_BYTES];
		sd_relay_id_from_hex(peer_id, id);
		share_use *share = g_hash_table_lookup(relay->shares, share_id);
		held = share != NULL ? find_in(share->endpoints, id) : NULL;
		if (held != NULL && !held->client->remote) {
			sd_fail(err, SD_ERR_ALREADY_JOINED, "member %s uses the relay from this node", peer_id);
		} else {
			if (held != NULL && held->client->client != node) {
				remove_endpoint(relay, held); /* it moved from another node */
				held = NULL;
			}
			if (held == NULL)
				new_endpoint(relay, node_of(relay, node), share_id, peer_id);
			ok = true;
		}
	}
	g_mutex_unlock(&relay->mutex);
	return ok;
}

void sd_relay_detach_remote(sd_relay *relay, void *node, const char *share_id, const char *peer_id)
{
	if (!sd_is_hex_id(peer_id, SD_PEER_ID_LEN))
		return;
	guint8 id[SD_RELAY_ID_BYTES];
	sd_relay_id_from_hex(peer_id, id);
	g_mutex_lock(&relay->mutex);
	endpoint *ep = remote_endpoint(relay, node, share_id, id);
	if (ep != NULL)
		remove_endpoint(relay, ep);
	g_mutex_unlock(&relay->mutex);
}

void sd_relay_remote_roster(sd_relay *relay, void *node, const char *share_id, const char *const *peers, size_t n)
{
	g_mutex_lock(&relay->mutex);
	client_use *owner = g_hash_table_lookup(relay->clients, node);
	for (guint e = 0; owner != NULL && e < owner->endpoints->len;) {
		endpoint *ep = g_ptr_array_index(owner->endpoints, e);
		bool named = false;
		for (size_t i = 0; i < n && !named; i++)
			named = strcmp(peers[i], ep->peer) == 0;
		if (strcmp(ep->share->id, share_id) == 0 && !named)
			remove_endpoint(relay, ep); /* the array closes up over it */
		else
			e++;
	}
	g_mutex_unlock(&relay->mutex);
	for (size_t i = 0; i < n; i++)
		sd_relay_attach_remote(relay, node, share_id, peers[i], NULL);
}

void *sd_relay_route_remote(sd_relay *relay, void *node, const char *share_id, const guint8 source[SD_RELAY_ID_BYTES],
                            const guint8 target[SD_RELAY_ID_BYTES], size_t length)
{
	void *client = NULL;
	g_mutex_lock(&relay->mutex);
	share_use *share = g_hash_table_lookup(relay->shares, share_id);
	endpoint *to = share != NULL ? find_in(share->endpoints, target) : NULL;
	if (to != NULL && !to->client->remote) {
		endpoint *from = remote_endpoint(relay, node, share_id, source);
		if (from == NULL && find_in(share->endpoints, source) == NULL) {
			char peer[SD_PEER_ID_LEN + 1];
			sd_relay_id_to_hex(source, peer);
			from = new_endpoint(relay, node_of(relay, node), share_id, peer);
		}
		if (from != NULL) {
			/* In flight, and counted as relayed here; the quotas are the sender's node's. */
			flow_from(to, from, true)->in_flight += length;
			relay->relayed += length;
			client = to->client->client;
			relay->hooks.retain(client);
		}
	}
	g_mutex_unlock(&relay->mutex);
	return client;
}

void sd_relay_remote_credit(sd_relay *relay, void *node, const char *share_id, const guint8 from[SD_RELAY_ID_BYTES],
                            const guint8 to[SD_RELAY_ID_BYTES], guint64 bytes, gint64 now_us, GArray *credits)
{
	g_mutex_lock(&relay->mutex);
	endpoint *target = remote_endpoint(relay, node, share_id, to);
	endpoint *sender = target != NULL ? find_in(target->share->endpoints, from) : NULL;
	flow *f = sender != NULL && !sender->client->remote ? flow_from(target, sender, false) : NULL;
	if (f != NULL) {
		guint64 taken = MIN(bytes, f->in_flight);
		f->in_flight -= taken;
		f->owed += taken;
		pay(relay, target, f, now_us, credits);
	}
	g_mutex_unlock(&relay->mutex);
}

void sd_relay_forgive(sd_relay *relay, void *node, gint64 now_us, GArray *credits)
{
	g_mutex_lock(&relay->mutex);
	client_use *owner = g_hash_table_lookup(relay->clients, node);
	for (guint e = 0; owner != NULL && e < owner->endpoints->len; e++) {
		endpoint *ep = g_ptr_array_index(owner->endpoints, e);
		taken_in(relay, ep, now_us, credits);
		/* What it sent this node's members is owed to it no more. */
		for (guint t = 0; t < ep->share->endpoints->len; t++) {
			flow *f = flow_from(g_ptr_array_index(ep->share->endpoints, t), ep, false);
			if (f != NULL)
				f->in_flight = f->owed = 0;
		}
	}
	g_mutex_unlock(&relay->mutex);
}

bool sd_relay_serves(sd_relay *relay, const char *share_id, const char *peer_id)
{
	if (!sd_is_hex_id(peer_id, SD_PEER_ID_LEN))
		return false;
	guint8 id[SD_RELAY_ID_BYTES];
	sd_relay_id_from_hex(peer_id, id);
	g_mutex_lock(&relay->mutex);
	const share_use *share = g_hash_table_lookup(relay->shares, share_id);
	const endpoint *ep = share != NULL ? find_in(share->endpoints, id) : NULL;
	bool serves = ep != NULL && !ep->client->remote;
	g_mutex_unlock(&relay->mutex);
	return serves;
}

#include "sd_service.h"

#include <string.h>

#include "sd_rank.h"
#include "sd_registry.h"
#include "sd_request.h"

struct sd_service {
	sd_limits limits;
	sd_registry *reg;
	sd_locate *locate;
	GRand *rng; /* the ranking's ties and random part */
	sd_ranker *ranker;
	/* Scratch of peer_list, kept from one list to the next: a share's other members as the
	 * ranking sees them (sd_rank_member) and as they are (const sd_peer *), and the picks. */
	GArray *members, *member_peers;
	sd_rank_pick *picks;
	sd_quota *quota; /* borrowed; NULL: no per-connection limits */
	sd_emit_fn emit;
	void *user_data;
	sd_observe_fn observe; /* NULL: nobody observes */
	void *observe_data;
	sd_cluster_hooks cluster; /* replicate NULL: one node */
};

sd_service *sd_service_new(const sd_limits *limits, sd_locate *locate, sd_quota *quota, sd_emit_fn emit,
                           void *user_data)
{
	sd_service *svc = g_new0(sd_service, 1);
	svc->limits = *limits;
	svc->reg = sd_registry_new(limits);
	svc->locate = locate;
	svc->rng = g_rand_new();
	svc->ranker = sd_ranker_new(limits->tracker_list_size, limits->rank_peers);
	svc->members = g_array_new(FALSE, FALSE, sizeof(sd_rank_member));
	svc->member_peers = g_array_new(FALSE, FALSE, sizeof(const sd_peer *));
	svc->picks = g_new(sd_rank_pick, limits->tracker_list_size);
	svc->quota = quota;
	svc->emit = emit;
	svc->user_data = user_data;
	return svc;
}

void sd_service_observe(sd_service *svc, sd_observe_fn observe, void *user_data)
{
	svc->observe = observe;
	svc->observe_data = user_data;
}

static void observe(const sd_service *svc, const sd_event *event)
{
	if (svc->observe != NULL)
		svc->observe(event, svc->observe_data);
}

/* The new share's owner, observed. */
static void observe_created(const sd_service *svc, const sd_peer *owner)
{
	const sd_event event = {SD_EVENT_SHARE_CREATED, owner->share->id, owner->id, sd_role_name(owner->role), NULL};
	observe(svc, &event);
}

void sd_service_cluster(sd_service *svc, const sd_cluster_hooks *hooks)
{
	svc->cluster = hooks != NULL ? *hooks : (sd_cluster_hooks){0};
}

static void replicate(const sd_service *svc, const sd_fact *fact)
{
	if (svc->cluster.replicate != NULL)
		svc->cluster.replicate(fact, svc->cluster.user_data);
}

static void member_rec(const sd_peer *peer, sd_member_rec *rec)
{
	const sd_standing *st = &peer->standing;
	*rec = (sd_member_rec){.role = peer->role, .relay_only = peer->relay_only, .address = st->address,
	                       .place = st->place, .complete = st->complete, .has_have = st->has_have};
	memcpy(rec->peer, peer->id, sizeof(rec->peer));
	memcpy(rec->have, st->have, sizeof(rec->have));
}

/* This node's member joined or changed: the other nodes holding its share are told. */
static void replicate_member(const sd_service *svc, const sd_peer *peer)
{
	sd_member_rec rec;
	member_rec(peer, &rec);
	const sd_fact fact = {.kind = SD_FACT_MEMBER, .share = peer->share->id, .member = &rec};
	replicate(svc, &fact);
}

void sd_service_seed(sd_service *svc, guint32 seed)
{
	g_rand_set_seed(svc->rng, seed);
}

void sd_service_free(sd_service *svc)
{
	if (svc == NULL)
		return;
	sd_registry_free(svc->reg);
	sd_locate_free(svc->locate);
	g_rand_free(svc->rng);
	sd_ranker_free(svc->ranker);
	g_array_free(svc->members, TRUE);
	g_array_free(svc->member_peers, TRUE);
	g_free(svc->picks);
	g_free(svc);
}

guint sd_service_share_count(sd_service *svc)
{
	return sd_registry_share_count(svc->reg);
}

guint sd_service_member_count(sd_service *svc)
{
	return sd_registry_member_count(svc->reg);
}

static json_t *event_new(const char *name, const sd_share *share)
{
	return json_pack("{s:s, s:s, s:s}", "swarmdrop", "event", "event", name, "share", share->id);
}

/* Sends event (json: its text) to every peer of share but skip (which may be NULL), then drops
 * json. */
static void broadcast(sd_service *svc, const sd_share *share, const sd_peer *skip, const sd_event *event, json_t *json)
{
	for (guint i = 0; i < share->peers->len; i++) {
		sd_peer *peer = g_ptr_array_index(share->peers, i);
		if (peer != skip && peer->client != NULL) /* another node's members hear it from their node */
			svc->emit(peer->client, event, json, svc->user_data);
	}
	json_decref(json);
}

/* What others learn of a peer: its id, its role and, for one reachable through the relay only,
 * "relay": true. Added to into. */
static json_t *describe_peer(json_t *into, const sd_peer *peer)
{
	json_object_set_new(into, "peer", json_string(peer->id));
	json_object_set_new(into, "role", json_string(sd_role_name(peer->role)));
	if (peer->relay_only)
		json_object_set_new(into, "relay", json_true());
	return into;
}

/* A member as the ranking sees it; the owner holds everything. */
static sd_rank_member rank_member(const sd_peer *peer)
{
	const sd_standing *st = &peer->standing;
	return (sd_rank_member){.id = peer->id, .owner = peer->role == SD_ROLE_OWNER,
	                        .complete = st->complete || peer->role == SD_ROLE_OWNER,
	                        .have = st->has_have ? st->have : NULL, .address = st->address, .place = st->place};
}

/* The peers of asker's share for asker, best first and at most tracker_list_size (sd_rank):
 * each described, with its tier and, when it holds everything, "complete": true. */
static json_t *peer_list(sd_service *svc, const sd_peer *asker)
{
	const GPtrArray *peers = asker->share->peers;
	g_array_set_size(svc->members, peers->len);
	g_array_set_size(svc->member_peers, peers->len);
	sd_rank_member *members = (sd_rank_member *)(void *)svc->members->data;
	const sd_peer **of = (const sd_peer **)(void *)svc->member_peers->data;
	size_t n = 0;
	for (guint i = 0; i < peers->len; i++) {
		const sd_peer *peer = g_ptr_array_index(peers, i);
		if (peer != asker) {
			of[n] = peer;
			members[n++] = rank_member(peer);
		}
	}
	sd_rank_asker self = {.member = rank_member(asker), .links = asker->links, .n_links = asker->standing.n_links};
	size_t n_picks = sd_rank(svc->ranker, &self, members, n, svc->rng, svc->picks);
	json_t *list = json_array();
	for (size_t i = 0; i < n_picks; i++) {
		const sd_rank_pick *pick = &svc->picks[i];
		json_t *entry = describe_peer(json_object(), of[pick->index]);
		json_object_set_new(entry, "tier", json_string(sd_tier_name(pick->tier)));
		if (members[pick->index].complete)
			json_object_set_new(entry, "complete", json_true());
		json_array_append_new(list, entry);
	}
	return list;
}

/* Every other member hears of the newcomer with the tier a ranked list would give it for that
 * member ("other" with ranking off), so that placing a newcomer costs no `list`. */
static void announce_join(sd_service *svc, const sd_peer *peer)
{
	const sd_share *share = peer->share;
	sd_rank_member newcomer = rank_member(peer);
	const sd_event event = {SD_EVENT_PEER_JOINED, share->id, peer->id, sd_role_name(peer->role), NULL};
	if (peer->client != NULL) /* observed where its client is */
		observe(svc, &event);
	for (guint i = 0; i < share->peers->len; i++) {
		const sd_peer *other = g_ptr_array_index(share->peers, i);
		if (other == peer || other->client == NULL)
			continue;
		sd_rank_member them = rank_member(other);
		sd_tier tier = svc->limits.rank_peers ? sd_rank_tier(&them, &newcomer) : SD_TIER_OTHER;
		json_t *json = describe_peer(event_new("peer_joined", share), peer);
		json_object_set_new(json, "tier", json_string(sd_tier_name(tier)));
		svc->emit(other->client, &event, json, svc->user_data);
		json_decref(json);
	}
}

/* Stops mirroring share when other nodes hold all its members: false when this node holds one of
 * them, or none is left (an empty share waits out its grace where its last member left). */
static bool drop_mirror(sd_service *svc, sd_share *share)
{
	if (svc->cluster.replicate == NULL || share->peers->len == 0 || sd_share_local_count(share) > 0)
		return false;
	const sd_fact dropped = {.kind = SD_FACT_DROPPED, .share = share->id};
	replicate(svc, &dropped);
	sd_registry_remove_share(svc->reg, share);
	return true;
}

/* Removes peer (the owner too: its share lives on without it) and tells the rest of its share;
 * one of this node's is told of to the other nodes, and the last of them ends the mirror of a
 * share other nodes still hold. */
static void remove_and_announce(sd_service *svc, sd_peer *peer, gint64 now_us)
{
	sd_share *share = peer->share;
	bool local = peer->client != NULL;
	char id[SD_PEER_ID_LEN + 1];
	memcpy(id, peer->id, sizeof(id));
	json_t *json = event_new("peer_left", share);
	json_object_set_new(json, "peer", json_string(id));
	if (svc->quota != NULL && local)
		sd_quota_left(svc->quota, peer->client, share->id);
	sd_registry_remove_peer(svc->reg, peer, now_us);
	const sd_event event = {SD_EVENT_PEER_LEFT, share->id, id, NULL, NULL};
	broadcast(svc, share, NULL, &event, json);
	if (!local)
		return;
	observe(svc, &event);
	const sd_fact gone = {.kind = SD_FACT_GONE, .share = share->id, .peer = id};
	replicate(svc, &gone);
	drop_mirror(svc, share);
}

/* Closes share for this node's members but skip; told to the other nodes unless told is set (it
 * came from one, or none holds it). */
static void close_share(sd_service *svc, sd_share *share, const sd_peer *skip, const char *reason, bool told)
{
	json_t *json = event_new("share_closed", share);
	json_object_set_new(json, "reason", json_string(reason));
	const sd_event event = {SD_EVENT_SHARE_CLOSED, share->id, NULL, NULL, reason};
	broadcast(svc, share, skip, &event, json);
	observe(svc, &event);
	if (!told) {
		const sd_fact fact = {.kind = SD_FACT_CLOSED, .share = share->id, .reason = reason};
		replicate(svc, &fact);
	}
	if (svc->quota != NULL) {
		for (guint i = 0; i < share->peers->len; i++) {
			const sd_peer *peer = g_ptr_array_index(share->peers, i);
			if (peer->client != NULL)
				sd_quota_left(svc->quota, peer->client, share->id);
		}
		sd_quota_share_closed(svc->quota, share->id);
	}
	sd_registry_remove_share(svc->reg, share);
}

/* Token comparison in time independent of where the first difference is. */
static gboolean tokens_equal(const char *a, const char *b)
{
	unsigned char diff = 0;
	for (size_t i = 0; i < SD_TOKEN_LEN; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* What a new share (create, restore) does to client's connection: checked before, counted after. */
static bool may_create(sd_service *svc, const void *client, sd_error *err)
{
	return svc->quota == NULL || sd_quota_may_create(svc->quota, client, err);
}

static void joined(sd_service *svc, const sd_peer *peer, bool created)
{
	if (svc->quota != NULL)
		sd_quota_joined(svc->quota, peer->client, peer->share->id, created);
}

/* A new share owned by client (created by it, or made relay-only for the server), or NULL. */
static sd_peer *create_share(sd_service *svc, void *client, char secret[SD_SECRET_LEN + 1], sd_error *err)
{
	sd_peer *owner = may_create(svc, client, err) ? sd_registry_create_share(svc->reg, client, secret, err) : NULL;
	if (owner != NULL) {
		joined(svc, owner, true);
		observe_created(svc, owner);
	}
	return owner;
}

static json_t *handle_create(sd_service *svc, void *client, sd_error *err)
{
	char secret[SD_SECRET_LEN + 1] = "";
	sd_peer *owner = create_share(svc, client, secret, err);
	if (owner == NULL)
		return NULL;
	replicate_member(svc, owner);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "swarmdrop", "created", "share", owner->share->id, "peer", owner->id,
	                 "owner_token", owner->share->owner_token, "peer_secret", secret);
}

/* A member another node held joins here with its secret: its client moved (its node died, or
 * its connection went elsewhere), so the other node's record goes, silently, and the member
 * stays in everyone's lists and links. A record of this node's own is its live client: 466. */
static void moved_here(sd_service *svc, sd_share *share, const sd_request *req, gint64 now_us)
{
	char id[SD_PEER_ID_LEN + 1];
	sd_peer *held = req->peer_secret[0] != '\0' && sd_peer_id_of(share->id, req->peer_secret, id)
	                    ? sd_share_find_peer(share, id)
	                    : NULL;
	if (held != NULL && held->client == NULL)
		sd_registry_remove_peer(svc->reg, held, now_us);
}

static json_t *handle_join(sd_service *svc, void *client, sd_share *share, const sd_request *req, gint64 now_us,
                           sd_error *err)
{
	if (sd_registry_peer_of(svc->reg, share, client) != NULL) {
		sd_fail(err, SD_ERR_ALREADY_JOINED, "this handle is already a peer of share %s", share->id);
		return NULL;
	}
	moved_here(svc, share, req, now_us);
	sd_role role = SD_ROLE_RECEIVER;
	if (req->owner_token[0] != '\0') {
		if (!tokens_equal(req->owner_token, share->owner_token) || sd_share_owner(share) != NULL) {
			sd_fail(err, SD_ERR_BAD_OWNER_TOKEN, "wrong owner token, or the owner is already present");
			return NULL;
		}
		role = SD_ROLE_OWNER;
	}
	if (svc->quota != NULL && !sd_quota_may_join(svc->quota, client, share->id, err))
		return NULL;
	char secret[SD_SECRET_LEN + 1];
	g_strlcpy(secret, req->peer_secret, sizeof(secret));
	sd_peer *peer = sd_registry_add_peer(svc->reg, share, client, role, secret, err);
	if (peer == NULL)
		return NULL;
	joined(svc, peer, false);
	sd_registry_locate(peer, &req->address, svc->locate);
	announce_join(svc, peer);
	replicate_member(svc, peer);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:i}", "swarmdrop", "joined", "share", share->id, "peer",
	                 peer->id, "role", sd_role_name(role), "peer_secret", secret, "peers", peer_list(svc, peer),
	                 "max_links", (int)svc->limits.max_links_per_member);
}

/* An owner coming back with its token to a share the server does not hold (it restarted, or the
 * share closed): the share is made again under its id, with no other member yet, if the token
 * is the one the id derives from. */
static json_t *handle_restore(sd_service *svc, void *client, const sd_request *req, sd_error *err)
{
	char secret[SD_SECRET_LEN + 1];
	g_strlcpy(secret, req->peer_secret, sizeof(secret));
	if (!may_create(svc, client, err))
		return NULL;
	sd_peer *owner = sd_registry_restore_share(svc->reg, req->share, req->owner_token, client, secret, err);
	if (owner == NULL)
		return NULL;
	joined(svc, owner, true);
	observe_created(svc, owner);
	sd_registry_locate(owner, &req->address, svc->locate);
	replicate_member(svc, owner);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[], s:b, s:i}", "swarmdrop", "joined", "share", owner->share->id,
	                 "peer", owner->id, "role", "owner", "peer_secret", secret, "peers", "restored", 1, "max_links",
	                 (int)svc->limits.max_links_per_member);
}

/* The owner leaves like any member: its share lives on without it. */
static json_t *handle_leave(sd_service *svc, sd_peer *self, gint64 now_us)
{
	json_t *response = json_pack("{s:s, s:s}", "swarmdrop", "left", "share", self->share->id);
	remove_and_announce(svc, self, now_us);
	return response;
}

/* The owner token ends its share, from a member or not: every member hears "stopped". */
static json_t *handle_close(sd_service *svc, const sd_request *req, sd_error *err)
{
	sd_share *share = sd_registry_find_share(svc->reg, req->share);
	if (share == NULL) {
		sd_fail(err, SD_ERR_NO_SUCH_SHARE, "no share %s", req->share);
		return NULL;
	}
	if (!tokens_equal(req->owner_token, share->owner_token)) {
		sd_fail(err, SD_ERR_BAD_OWNER_TOKEN, "wrong owner token");
		return NULL;
	}
	json_t *response = json_pack("{s:s, s:s}", "swarmdrop", "closed", "share", share->id);
	close_share(svc, share, NULL, "stopped", false);
	return response;
}

static void emit_signal(sd_service *svc, const sd_share *share, const char *from, const sd_peer *target,
                        const json_t *payload)
{
	json_t *json = event_new("signal", share);
	json_object_set_new(json, "from", json_string(from));
	json_object_set(json, "payload", (json_t *)payload);
	const sd_event event = {SD_EVENT_SIGNAL, share->id, from, NULL, NULL};
	svc->emit(target->client, &event, json, svc->user_data);
	json_decref(json);
}

static json_t *handle_signal(sd_service *svc, sd_peer *self, const sd_request *req, sd_error *err)
{
	sd_peer *target = sd_share_find_peer(self->share, req->to);
	if (target == NULL) {
		sd_fail(err, SD_ERR_NO_SUCH_PEER, "share %s has no peer %s", self->share->id, req->to);
		return NULL;
	}
	if (target == self) {
		sd_fail(err, SD_ERR_SELF_SIGNAL, "a peer cannot signal itself");
		return NULL;
	}
	if (target->client != NULL)
		emit_signal(svc, self->share, self->id, target, req->payload);
	else if (svc->cluster.forward != NULL) /* else the cluster is gone (the plugin stops) */
		svc->cluster.forward(target->node, self->share->id, self->id, target->id, req->payload,
		                     svc->cluster.user_data);
	return json_pack("{s:s, s:s, s:s}", "swarmdrop", "signalled", "share", self->share->id, "to", target->id);
}

static json_t *handle_report(sd_service *svc, sd_peer *self, const sd_request *req, gint64 now_us, sd_error *err)
{
	if (!sd_registry_report(svc->reg, self, req, svc->locate, now_us, err))
		return NULL;
	replicate_member(svc, self);
	return json_pack("{s:s, s:s, s:I}", "swarmdrop", "reported", "share", self->share->id, "interval_ms",
	                 (json_int_t)svc->limits.report_interval_seconds * 1000);
}

static json_t *handle_list(sd_service *svc, sd_peer *self, gint64 now_us, sd_error *err)
{
	if (!sd_registry_may_list(self, now_us, err))
		return NULL;
	return json_pack("{s:s, s:s, s:o}", "swarmdrop", "peers", "share", self->share->id, "peers", peer_list(svc, self));
}

/* A request about a share the client is (join: will be) a member of. */
static json_t *member_request(sd_service *svc, void *client, const sd_request *req, gint64 now_us, sd_error *err)
{
	sd_share *share = sd_registry_find_share(svc->reg, req->share);
	if (share == NULL && req->kind == SD_REQ_JOIN && req->owner_token[0] != '\0')
		return handle_restore(svc, client, req, err);
	if (share == NULL) {
		sd_fail(err, SD_ERR_NO_SUCH_SHARE, "no share %s: it never existed or its owner stopped sharing", req->share);
		return NULL;
	}
	if (req->kind == SD_REQ_JOIN)
		return handle_join(svc, client, share, req, now_us, err);
	sd_peer *self = sd_registry_peer_of(svc->reg, share, client);
	if (self == NULL) {
		sd_fail(err, SD_ERR_NOT_JOINED, "this handle is not a peer of share %s", share->id);
		return NULL;
	}
	switch (req->kind) {
	case SD_REQ_LEAVE: return handle_leave(svc, self, now_us);
	case SD_REQ_LIST: return handle_list(svc, self, now_us, err);
	case SD_REQ_SIGNAL: return handle_signal(svc, self, req, err);
	case SD_REQ_REPORT: return handle_report(svc, self, req, now_us, err);
	/* The plugin sets up the data channel and makes the member a relay endpoint. */
	case SD_REQ_RELAY:
		return json_pack("{s:s, s:s, s:s}", "swarmdrop", "relay", "share", share->id, "peer", self->id);
	default: sd_fail(err, SD_ERR_INTERNAL, "request kind %d has no handler", (int)req->kind); return NULL;
	}
}

/* Publishing and the server's stats are the plugin's (sd_publish.h, sd_stats.h): the checked
 * fields go back to it. */
static json_t *operator_request(sd_service *svc, const sd_request *req, sd_error *err)
{
	if (req->kind == SD_REQ_STATS)
		return json_pack("{s:s}", "swarmdrop", "stats");
	if (req->kind == SD_REQ_PUBLISH)
		return json_pack("{s:s, s:s, s:s, s:b}", "swarmdrop", "publish", "admin_key", req->admin_key, "path",
		                 req->path, "transcode_audio", req->transcode_audio);
	/* Not looked up here: whether the share exists is told only to whoever has the admin key
	 * (the plugin checks it first), so a wrong key is answered the same for any share id. */
	(void)svc;
	(void)err;
	return json_pack("{s:s, s:s, s:s}", "swarmdrop", "unpublish", "admin_key", req->admin_key, "share", req->share);
}

static json_t *dispatch(sd_service *svc, void *client, const sd_request *req, gint64 now_us, sd_error *err)
{
	switch (req->kind) {
	case SD_REQ_CREATE: return handle_create(svc, client, err);
	case SD_REQ_CLOSE: return handle_close(svc, req, err);
	/* The answer itself went to Janus's core with the message; nothing to check here. */
	case SD_REQ_RELAY_ANSWER: return json_pack("{s:s}", "swarmdrop", "relay_answered");
	case SD_REQ_PUBLISH:
	case SD_REQ_UNPUBLISH:
	case SD_REQ_STATS: return operator_request(svc, req, err);
	default: return member_request(svc, client, req, now_us, err);
	}
}

json_t *sd_service_handle(sd_service *svc, void *client, const json_t *body, gint64 now_us, sd_outcome *outcome)
{
	sd_outcome scratch;
	sd_outcome *out = outcome != NULL ? outcome : &scratch;
	memset(out, 0, sizeof(*out));
	sd_request req;
	json_t *response = NULL;
	if (sd_request_parse(body, &svc->limits, &req, &out->error)) {
		out->kind = req.kind;
		memcpy(out->share, req.share, sizeof(out->share));
		out->admin_key = req.admin_key;
		out->path = req.path;
		out->transcode_audio = req.transcode_audio;
		response = dispatch(svc, client, &req, now_us, &out->error);
	}
	out->ok = response != NULL;
	if (!out->ok)
		return sd_error_json(&out->error);
	sd_share *share = sd_registry_find_share(svc->reg, req.share);
	sd_peer *self = share != NULL ? sd_registry_peer_of(svc->reg, share, client) : NULL;
	if (self != NULL)
		memcpy(out->peer, self->id, sizeof(out->peer));
	return response;
}

bool sd_service_create_relay_only(sd_service *svc, void *client, sd_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = SD_REQ_CREATE;
	char secret[SD_SECRET_LEN + 1] = "";
	sd_peer *owner = create_share(svc, client, secret, &out->error);
	if (owner == NULL)
		return false;
	owner->relay_only = true;
	replicate_member(svc, owner);
	memcpy(out->share, owner->share->id, sizeof(out->share));
	memcpy(out->peer, owner->id, sizeof(out->peer));
	out->ok = true;
	return true;
}

void sd_service_close_share(sd_service *svc, const char *share_id, const char *reason)
{
	sd_share *share = sd_registry_find_share(svc->reg, share_id);
	if (share != NULL)
		close_share(svc, share, sd_share_owner(share), reason, false);
}

void sd_service_client_gone(sd_service *svc, void *client, gint64 now_us)
{
	GPtrArray *peers = sd_registry_peers_of(svc->reg, client);
	for (guint i = 0; i < peers->len; i++)
		remove_and_announce(svc, g_ptr_array_index(peers, i), now_us);
	g_ptr_array_free(peers, TRUE);
}

void sd_service_expire(sd_service *svc, gint64 now_us)
{
	/* Empty ones first: a share both empty and orphaned closes as "empty" (nobody to tell). */
	GPtrArray *empty = sd_registry_empty_since(svc->reg, now_us, (gint64)svc->limits.share_empty_grace_seconds * G_USEC_PER_SEC);
	for (guint i = 0; i < empty->len; i++)
		close_share(svc, g_ptr_array_index(empty, i), NULL, "empty", true); /* no other node holds it */
	g_ptr_array_free(empty, TRUE);
	GPtrArray *orphans = sd_registry_orphans_since(svc->reg, now_us, (gint64)svc->limits.share_orphan_max_seconds * G_USEC_PER_SEC);
	for (guint i = 0; i < orphans->len; i++)
		close_share(svc, g_ptr_array_index(orphans, i), NULL, "owner_gone", false);
	g_ptr_array_free(orphans, TRUE);
}

/* Most members first, then by id: the same order for the same shares. */
static gint by_members(gconstpointer a, gconstpointer b)
{
	const sd_share *x = *(sd_share *const *)a, *y = *(sd_share *const *)b;
	if (x->peers->len != y->peers->len)
		return x->peers->len > y->peers->len ? -1 : 1;
	return strcmp(x->id, y->id);
}

json_t *sd_service_shares_json(sd_service *svc, guint max_listed)
{
	GPtrArray *shares = sd_registry_shares(svc->reg);
	g_ptr_array_sort(shares, by_members);
	json_t *listed = json_array();
	for (guint i = 0; i < shares->len && i < max_listed; i++) {
		const sd_share *share = g_ptr_array_index(shares, i);
		const sd_peer *owner = sd_share_owner(share);
		guint complete = 0;
		for (guint p = 0; p < share->peers->len; p++)
			complete += ((const sd_peer *)g_ptr_array_index(share->peers, p))->standing.complete ? 1 : 0;
		json_array_append_new(listed, json_pack("{s:s, s:I, s:b, s:b, s:I}", "share", share->id, "members",
		                                        (json_int_t)share->peers->len, "owner_present", owner != NULL,
		                                        "published", owner != NULL && owner->relay_only, "complete",
		                                        (json_int_t)complete));
	}
	json_t *answer = json_pack("{s:I, s:I, s:o}", "count", (json_int_t)shares->len, "members",
	                           (json_int_t)sd_registry_member_count(svc->reg), "listed", listed);
	g_ptr_array_free(shares, TRUE);
	return answer;
}

json_t *sd_service_memberships_json(sd_service *svc, const void *client)
{
	GPtrArray *peers = sd_registry_peers_of(svc->reg, client);
	json_t *memberships = json_array();
	for (guint i = 0; i < peers->len; i++) {
		const sd_peer *peer = g_ptr_array_index(peers, i);
		json_array_append_new(memberships, json_pack("{s:s, s:s, s:s}", "share", peer->share->id, "peer", peer->id,
		                                             "role", sd_role_name(peer->role)));
	}
	g_ptr_array_free(peers, TRUE);
	return memberships;
}

const char *sd_service_owner_token(sd_service *svc, const char *share_id)
{
	const sd_share *share = sd_registry_find_share(svc->reg, share_id);
	return share != NULL ? share->owner_token : NULL;
}

bool sd_service_roster(sd_service *svc, const char *share_id, GArray *recs)
{
	const sd_share *share = sd_registry_find_share(svc->reg, share_id);
	for (guint i = 0; share != NULL && i < share->peers->len; i++) {
		const sd_peer *peer = g_ptr_array_index(share->peers, i);
		if (peer->client == NULL)
			continue;
		sd_member_rec rec;
		member_rec(peer, &rec);
		g_array_append_val(recs, rec);
	}
	return share != NULL;
}

bool sd_service_apply_share(sd_service *svc, const char *share_id, const char *owner_token, gint64 owner_absent_ms,
                            gint64 now_us, sd_error *err)
{
	if (sd_registry_find_share(svc->reg, share_id) != NULL)
		return true;
	gint64 absent_since = owner_absent_ms < 0 ? SD_NOT_SINCE : now_us - owner_absent_ms * 1000;
	return sd_registry_mirror_share(svc->reg, share_id, owner_token, absent_since, now_us, err) != NULL;
}

/* What a record says of a member goes into its standing (its links stay this node's: a list
 * reads the asker's only). */
static void take_rec(sd_peer *peer, const sd_member_rec *rec)
{
	sd_standing *st = &peer->standing;
	peer->role = rec->role;
	peer->relay_only = rec->relay_only;
	st->address = rec->address;
	st->place = rec->place;
	st->complete = rec->complete;
	st->has_have = rec->has_have;
	memcpy(st->have, rec->have, sizeof(st->have));
}

void sd_service_apply_member(sd_service *svc, const char *share_id, guint8 node, const sd_member_rec *rec)
{
	sd_share *share = sd_registry_find_share(svc->reg, share_id);
	if (share == NULL || node == 0)
		return;
	sd_peer *peer = sd_share_find_peer(share, rec->peer);
	if (peer != NULL && peer->client != NULL)
		return;
	if (peer != NULL) {
		peer->node = node; /* its client moved to node, whose record is the newer */
		if (rec->role == SD_ROLE_OWNER)
			share->owner_absent_since = SD_NOT_SINCE;
		take_rec(peer, rec);
		return;
	}
	sd_error err;
	peer = sd_registry_add_remote_peer(svc->reg, share, node, rec->peer, rec->role, &err);
	if (peer == NULL)
		return;
	take_rec(peer, rec);
	announce_join(svc, peer);
}

void sd_service_apply_gone(sd_service *svc, const char *share_id, guint8 node, const char *peer_id, gint64 now_us)
{
	sd_share *share = sd_registry_find_share(svc->reg, share_id);
	sd_peer *peer = share != NULL ? sd_share_find_peer(share, peer_id) : NULL;
	if (peer != NULL && peer->client == NULL && peer->node == node)
		remove_and_announce(svc, peer, now_us);
}

void sd_service_apply_roster(sd_service *svc, const char *share_id, guint8 node, const sd_member_rec *recs, size_t n,
                             gint64 now_us)
{
	sd_share *share = sd_registry_find_share(svc->reg, share_id);
	if (share == NULL || node == 0)
		return;
	GHashTable *named = g_hash_table_new(g_str_hash, g_str_equal);
	for (size_t i = 0; i < n; i++)
		g_hash_table_add(named, (gpointer)recs[i].peer);
	GPtrArray *gone = g_ptr_array_new();
	for (guint i = 0; i < share->peers->len; i++) {
		sd_peer *peer = g_ptr_array_index(share->peers, i);
		if (peer->client == NULL && peer->node == node && !g_hash_table_contains(named, peer->id))
			g_ptr_array_add(gone, peer);
	}
	for (guint i = 0; i < gone->len; i++)
		remove_and_announce(svc, g_ptr_array_index(gone, i), now_us);
	g_ptr_array_free(gone, TRUE);
	g_hash_table_destroy(named);
	for (size_t i = 0; i < n; i++)
		sd_service_apply_member(svc, share_id, node, &recs[i]);
}

void sd_service_apply_close(sd_service *svc, const char *share_id, const char *reason)
{
	sd_share *share = sd_registry_find_share(svc->reg, share_id);
	if (share != NULL)
		close_share(svc, share, NULL, reason, true);
}

void sd_service_node_gone(sd_service *svc, guint8 node, gint64 now_us)
{
	GPtrArray *shares = sd_registry_shares(svc->reg);
	GPtrArray *gone = g_ptr_array_new();
	for (guint s = 0; s < shares->len; s++) {
		const sd_share *share = g_ptr_array_index(shares, s);
		for (guint i = 0; i < share->peers->len; i++) {
			sd_peer *peer = g_ptr_array_index(share->peers, i);
			if (peer->client == NULL && peer->node == node)
				g_ptr_array_add(gone, peer);
		}
	}
	for (guint i = 0; i < gone->len; i++)
		remove_and_announce(svc, g_ptr_array_index(gone, i), now_us);
	g_ptr_array_free(gone, TRUE);
	g_ptr_array_free(shares, TRUE);
}

bool sd_service_deliver_signal(sd_service *svc, const char *share_id, const char *from, const char *to,
                               const json_t *payload)
{
	const sd_share *share = sd_registry_find_share(svc->reg, share_id);
	const sd_peer *target = share != NULL ? sd_share_find_peer(share, to) : NULL;
	if (target == NULL || target->client == NULL || sd_share_find_peer(share, from) == NULL)
		return false;
	emit_signal(svc, share, from, target, payload);
	return true;
}

bool sd_service_release(sd_service *svc, const char *share_id)
{
	sd_share *share = sd_registry_find_share(svc->reg, share_id);
	return share != NULL && drop_mirror(svc, share);
}

void sd_service_member_nodes(sd_service *svc, const char *share_id, GArray *nodes)
{
	const sd_share *share = sd_registry_find_share(svc->reg, share_id);
	guint64 seen[4] = {0}; /* a bit per node index, 0..255 */
	for (guint i = 0; share != NULL && i < share->peers->len; i++) {
		const sd_peer *peer = g_ptr_array_index(share->peers, i);
		if (peer->client != NULL || (seen[peer->node / 64] >> (peer->node % 64) & 1) != 0)
			continue;
		seen[peer->node / 64] |= (guint64)1 << (peer->node % 64);
		g_array_append_val(nodes, peer->node);
	}
}

gint64 sd_service_owner_absent_ms(sd_service *svc, const char *share_id, gint64 now_us)
{
	const sd_share *share = sd_registry_find_share(svc->reg, share_id);
	if (share == NULL || share->owner_absent_since == SD_NOT_SINCE)
		return -1;
	return (now_us - share->owner_absent_since) / 1000;
}

bool sd_service_names_unheld_share(sd_service *svc, const json_t *body, char share_id[SD_SHARE_ID_LEN + 1])
{
	sd_request req;
	if (!sd_request_parse(body, &svc->limits, &req, NULL) || (req.kind != SD_REQ_JOIN && req.kind != SD_REQ_CLOSE) ||
	    sd_registry_find_share(svc->reg, req.share) != NULL)
		return false;
	memcpy(share_id, req.share, SD_SHARE_ID_LEN + 1);
	return true;
}

bool sd_service_remote_member(sd_service *svc, const char *share_id, guint8 node, const char *peer_id)
{
	const sd_share *share = sd_registry_find_share(svc->reg, share_id);
	const sd_peer *peer = share != NULL ? sd_share_find_peer(share, peer_id) : NULL;
	return peer != NULL && peer->client == NULL && peer->node == node;
}

#include <string.h>

#include "sd_relay.h"
#include "unit.h"

/* Three clients (opaque pointers), members A, B, C of one share and D of another. */
static int client_a, client_b, client_c, client_d;
#define SHARE "0123456789abcdef"
#define OTHER_SHARE "fedcba9876543210"
#define A "aaaaaaaaaaaa"
#define B "bbbbbbbbbbbb"
#define C "cccccccccccc"
#define D "dddddddddddd"

typedef struct fixture {
	sd_relay *relay;
	sd_relay_route route;
	sd_error err;
	GArray *credits;
} fixture;

/* References the relay holds and hands out, per client: every one must come back. */
static GHashTable *references;

static void retain(void *client)
{
	g_hash_table_insert(references, client, GINT_TO_POINTER(GPOINTER_TO_INT(g_hash_table_lookup(references, client)) + 1));
}

static void release(void *client)
{
	int held = GPOINTER_TO_INT(g_hash_table_lookup(references, client));
	assert_true(held > 0);
	g_hash_table_insert(references, client, GINT_TO_POINTER(held - 1));
}

/* Endpoints made ("+share/peer ") and removed ("-share/peer "), in order. */
static GString *endpoint_log;

static void noted(const char *share_id, const char *peer_id, bool attached)
{
	g_string_append_printf(endpoint_log, "%c%s/%s ", attached ? '+' : '-', share_id, peer_id);
}

static const sd_relay_hooks counting = {retain, release, noted};

static sd_relay *relay_with(unsigned window_kib, unsigned share_mib, unsigned client_mib, unsigned rate_kib)
{
	sd_limits limits;
	sd_limits_default(&limits);
	limits.relay_window_kib = window_kib;
	limits.relay_share_quota_mib = share_mib;
	limits.relay_client_quota_mib = client_mib;
	limits.relay_client_rate_kib = rate_kib;
	if (references == NULL)
		references = g_hash_table_new(NULL, NULL); /* for the whole run */
	if (endpoint_log == NULL)
		endpoint_log = g_string_new(NULL); /* likewise */
	sd_relay *relay = sd_relay_new(&limits, &counting);
	sd_error err;
	assert_true(sd_relay_attach(relay, &client_a, SHARE, A, &err));
	assert_true(sd_relay_attach(relay, &client_b, SHARE, B, &err));
	assert_true(sd_relay_attach(relay, &client_c, SHARE, C, &err));
	assert_true(sd_relay_attach(relay, &client_d, OTHER_SHARE, D, &err));
	return relay;
}

static fixture *fixture_with(sd_relay *relay)
{
	fixture *fx = g_new0(fixture, 1);
	fx->relay = relay;
	fx->credits = g_array_new(FALSE, TRUE, sizeof(sd_relay_credit));
	return fx;
}

static int set_up(void **state)
{
	*state = fixture_with(relay_with(64, 0, 0, 0));
	return 0;
}

/* What the caller does with the references credits hand it. */
static void clear_credits(fixture *fx)
{
	for (guint i = 0; i < fx->credits->len; i++)
		release(g_array_index(fx->credits, sd_relay_credit, i).client);
	g_array_set_size(fx->credits, 0);
}

/* ... and a route's targets. */
static void give_back(fixture *fx)
{
	for (guint i = 0; i < fx->route.n_targets; i++)
		release(fx->route.targets[i]);
	fx->route.n_targets = 0;
	clear_credits(fx);
}

static int tear_down(void **state)
{
	fixture *fx = *state;
	give_back(fx);
	sd_relay_free(fx->relay);
	g_array_unref(fx->credits);
	g_free(fx);
	GHashTableIter it;
	gpointer held;
	g_hash_table_iter_init(&it, references);
	while (g_hash_table_iter_next(&it, NULL, &held))
		assert_int_equal(GPOINTER_TO_INT(held), 0);
	return 0;
}

static void put_id(guint8 *at, const char *hex)
{
	for (int i = 0; i < SD_RELAY_ID_BYTES; i++) {
		unsigned byte;
		sscanf(hex + 2 * i, "%2x", &byte);
		at[i] = (guint8)byte;
	}
}

/* A relay frame from `from` to the targets (a NULL-terminated list) with `payload` bytes of 0x5a;
 * returns its length. */
static size_t frame(guint8 *buf, guint8 kind, const char *from, const char *const *targets, size_t payload)
{
	guint n = 0;
	while (targets[n] != NULL)
		n++;
	buf[0] = kind;
	put_id(buf + 1, from);
	buf[1 + SD_RELAY_ID_BYTES] = (guint8)n;
	for (guint t = 0; t < n; t++)
		put_id(buf + SD_RELAY_IN_HEADER(t), targets[t]);
	memset(buf + SD_RELAY_IN_HEADER(n), 0x5a, payload);
	return SD_RELAY_IN_HEADER(n) + payload;
}

static bool send_from(fixture *fx, void *client, const char *from, const char *const *targets, size_t payload)
{
	static guint8 in[SD_RELAY_MAX_MESSAGE + 16];
	for (guint i = 0; i < fx->route.n_targets; i++)
		release(fx->route.targets[i]);
	size_t length = frame(in, 1, from, targets, payload);
	return sd_relay_route_message(fx->relay, client, in, length, &fx->route, &fx->err);
}

static void attaching_checks_ids_and_an_id_belongs_to_one_client(void **state)
{
	fixture *fx = *state;
	/* Again by its own client: nothing changes. */
	assert_true(sd_relay_attach(fx->relay, &client_a, SHARE, A, &fx->err));
	assert_int_equal(sd_relay_endpoint_count(fx->relay), 4);
	/* By another client: refused, whatever that client is. */
	int stranger;
	assert_false(sd_relay_attach(fx->relay, &stranger, SHARE, A, &fx->err));
	assert_int_equal(fx->err.code, SD_ERR_ALREADY_JOINED);
	assert_false(sd_relay_attach(fx->relay, &client_b, SHARE, A, &fx->err));
	assert_int_equal(fx->err.code, SD_ERR_ALREADY_JOINED);
	assert_int_equal(sd_relay_expect(fx->relay, &stranger, SHARE, A, &fx->err), SD_RELAY_REFUSED);
	assert_int_equal(fx->err.code, SD_ERR_ALREADY_JOINED);
	assert_int_equal(sd_relay_pending_count(fx->relay, &stranger), 0);
	const char *to_b[] = {B, NULL};
	assert_false(send_from(fx, &stranger, A, to_b, 10));
	assert_int_equal(fx->err.code, SD_ERR_RELAY_NOT_ATTACHED);
	assert_false(sd_relay_attach(fx->relay, &client_a, SHARE, "AAAAAAAAAAAA", &fx->err));
	assert_int_equal(fx->err.code, SD_ERR_INVALID_FIELD);
	assert_false(sd_relay_attach(fx->relay, &client_a, "short", A, &fx->err));
	assert_int_equal(sd_relay_endpoint_count(fx->relay), 4);
	/* A client has one member per share: another id of a's in SHARE replaces A. */
	assert_true(sd_relay_attach(fx->relay, &client_a, SHARE, "a0a0a0a0a0a0", &fx->err));
	assert_int_equal(sd_relay_endpoint_count(fx->relay), 4);
	assert_false(send_from(fx, &client_a, A, to_b, 10));
	assert_int_equal(fx->err.code, SD_ERR_RELAY_NOT_ATTACHED);
	sd_relay_client_gone(fx->relay, &stranger);
}

/* Members that ask for the relay before their client's channel is ready wait for it, and only as
 * long as they are members. */
static void waiting_members_are_attached_when_the_channel_is_ready(void **state)
{
	fixture *fx = *state;
	int client_e;
	const char *E = "eeeeeeeeeeee", *E2 = "e2e2e2e2e2e2";
	assert_int_equal(sd_relay_expect(fx->relay, &client_e, SHARE, E, &fx->err), SD_RELAY_PENDING);
	assert_int_equal(sd_relay_expect(fx->relay, &client_e, OTHER_SHARE, E2, &fx->err), SD_RELAY_PENDING);
	assert_int_equal(sd_relay_expect(fx->relay, &client_e, SHARE, E, &fx->err), SD_RELAY_PENDING); /* once */
	assert_int_equal(sd_relay_pending_count(fx->relay, &client_e), 2);
	assert_int_equal(sd_relay_endpoint_count(fx->relay), 4);
	const char *to_a[] = {A, NULL};
	assert_false(send_from(fx, &client_e, E, to_a, 10));
	assert_int_equal(fx->err.code, SD_ERR_RELAY_NOT_ATTACHED);
	GPtrArray *attached = g_ptr_array_new_with_free_func(g_free);
	assert_true(sd_relay_ready(fx->relay, &client_e, attached));
	assert_int_equal(attached->len, 2);
	assert_string_equal(g_ptr_array_index(attached, 0), E);
	assert_string_equal(g_ptr_array_index(attached, 1), E2);
	assert_int_equal(sd_relay_pending_count(fx->relay, &client_e), 0);
	assert_int_equal(sd_relay_endpoint_count(fx->relay), 6);
	assert_true(send_from(fx, &client_e, E, to_a, 10));
	assert_int_equal(fx->route.n_targets, 1);
	/* Ready once: later calls (drains) do nothing here. */
	g_ptr_array_set_size(attached, 0);
	assert_false(sd_relay_ready(fx->relay, &client_e, attached));
	assert_int_equal(attached->len, 0);
	/* Once ready, asking attaches at once. */
	sd_relay_detach(fx->relay, &client_e, OTHER_SHARE);
	assert_int_equal(sd_relay_expect(fx->relay, &client_e, OTHER_SHARE, E2, &fx->err), SD_RELAY_ATTACHED);
	/* Its channel gone, it waits again for the next one. */
	sd_relay_client_gone(fx->relay, &client_e);
	assert_int_equal(sd_relay_endpoint_count(fx->relay), 4);
	assert_int_equal(sd_relay_expect(fx->relay, &client_e, SHARE, E, &fx->err), SD_RELAY_PENDING);
	sd_relay_client_gone(fx->relay, &client_e);
	assert_int_equal(sd_relay_pending_count(fx->relay, &client_e), 0);
	g_ptr_array_unref(attached);
}

static void a_waiting_member_that_leaves_is_forgotten(void **state)
{
	fixture *fx = *state;
	int client_e;
	const char *E = "eeeeeeeeeeee";
	assert_int_equal(sd_relay_expect(fx->relay, &client_e, SHARE, E, &fx->err), SD_RELAY_PENDING);
	sd_relay_detach(fx->relay, &client_e, SHARE); /* it left the share, or the share closed */
	assert_int_equal(sd_relay_pending_count(fx->relay, &client_e), 0);
	GPtrArray *attached = g_ptr_array_new_with_free_func(g_free);
	assert_true(sd_relay_ready(fx->relay, &client_e, attached));
	assert_int_equal(attached->len, 0);
	assert_int_equal(sd_relay_endpoint_count(fx->relay), 4);
	const char *to_a[] = {A, NULL};
	assert_false(send_from(fx, &client_e, E, to_a, 10));
	assert_int_equal(fx->err.code, SD_ERR_RELAY_NOT_ATTACHED);
	/* Nor can another client that now holds E be beaten to it by e. */
	assert_true(sd_relay_attach(fx->relay, &client_d, SHARE, E, &fx->err));
	assert_int_equal(sd_relay_expect(fx->relay, &client_e, SHARE, E, &fx->err), SD_RELAY_REFUSED);
	assert_int_equal(fx->err.code, SD_ERR_ALREADY_JOINED);
	g_ptr_array_unref(attached);
	sd_relay_client_gone(fx->relay, &client_e);
}

static void what_waits_for_a_channel_is_bounded(void **state)
{
	fixture *fx = *state;
	int client_e;
	sd_limits limits;
	sd_limits_default(&limits);
	/* Join, relay, leave, many times on one client whose channel never gets ready: nothing grows. */
	for (int i = 0; i < 20000; i++) {
		char share[SD_SHARE_ID_LEN + 1], peer[SD_PEER_ID_LEN + 1];
		g_snprintf(share, sizeof(share), "%016x", i % 3);
		g_snprintf(peer, sizeof(peer), "%012x", i);
		assert_int_equal(sd_relay_expect(fx->relay, &client_e, share, peer, &fx->err), SD_RELAY_PENDING);
		if (i % 2 == 0)
			sd_relay_detach(fx->relay, &client_e, share);
		assert_true(sd_relay_pending_count(fx->relay, &client_e) <= 3);
	}
	sd_relay_client_gone(fx->relay, &client_e);
	/* No more shares wait than a handle can be in. */
	for (unsigned i = 0; i < limits.max_shares_per_handle; i++) {
		char share[SD_SHARE_ID_LEN + 1];
		g_snprintf(share, sizeof(share), "%016x", i + 100);
		assert_int_equal(sd_relay_expect(fx->relay, &client_e, share, A, &fx->err), SD_RELAY_PENDING);
	}
	assert_int_equal(sd_relay_expect(fx->relay, &client_e, "ffffffffffffffff", A, &fx->err), SD_RELAY_REFUSED);
	assert_int_equal(fx->err.code, SD_ERR_HANDLE_LIMIT);
	assert_int_equal(sd_relay_pending_count(fx->relay, &client_e), limits.max_shares_per_handle);
	sd_relay_client_gone(fx->relay, &client_e);
}

static void malformed_frames_are_refused_whole(void **state)
{
	fixture *fx = *state;
	guint8 in[SD_RELAY_MAX_MESSAGE + 16];
	const char *to_b[] = {B, NULL};
	size_t good = frame(in, 0, A, to_b, 10);
	struct {
		size_t length;
		guint8 kind, count;
	} cases[] = {
		{0, 0, 1},                         /* empty */
		{SD_RELAY_IN_HEADER(1), 0, 1},     /* no data */
		{good, 2, 1},                      /* unknown kind */
		{good, 0, 0},                      /* no target */
		{good, 0, SD_RELAY_MAX_TARGETS + 1}, /* too many targets */
		{good, 0, 3},                      /* targets run past the end */
		{SD_RELAY_MAX_MESSAGE + 1, 0, 1},  /* larger than Janus carries */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		frame(in, cases[i].kind, A, to_b, sizeof(in) - SD_RELAY_IN_HEADER(1));
		in[1 + SD_RELAY_ID_BYTES] = cases[i].count;
		if (cases[i].count == 3)
			cases[i].length = SD_RELAY_IN_HEADER(3);
		fx->err.code = 0;
		assert_false(sd_relay_route_message(fx->relay, &client_a, in, cases[i].length, &fx->route, &fx->err));
		if (fx->err.code != SD_ERR_RELAY_MALFORMED)
			fail_msg("case %zu: code %d (%s)", i, fx->err.code, fx->err.message);
	}
	assert_int_equal(sd_relay_in_flight(fx->relay, &client_b), 0);
}

static void only_the_clients_own_members_can_send(void **state)
{
	fixture *fx = *state;
	const char *to_b[] = {B, NULL};
	assert_false(send_from(fx, &client_c, A, to_b, 100)); /* C speaking as A */
	assert_int_equal(fx->err.code, SD_ERR_RELAY_NOT_ATTACHED);
	int stranger;
	assert_false(send_from(fx, &stranger, A, to_b, 100));
	assert_int_equal(fx->err.code, SD_ERR_RELAY_NOT_ATTACHED);
}

static void one_upload_fans_out_to_every_target(void **state)
{
	fixture *fx = *state;
	const char *to_bc[] = {B, C, NULL};
	assert_true(send_from(fx, &client_a, A, to_bc, 1000));
	assert_int_equal(fx->route.n_targets, 2);
	assert_ptr_equal(fx->route.targets[0], &client_b);
	assert_ptr_equal(fx->route.targets[1], &client_c);
	assert_int_equal(fx->route.n_refused, 0);
	assert_int_equal(fx->route.out_length, SD_RELAY_OUT_HEADER + 1000);
	const guint8 *out = fx->route.out;
	assert_int_equal(out[0], 1);
	guint8 a_id[SD_RELAY_ID_BYTES];
	put_id(a_id, A);
	assert_memory_equal(out + 1, a_id, SD_RELAY_ID_BYTES);
	for (size_t i = SD_RELAY_OUT_HEADER; i < fx->route.out_length; i++)
		assert_int_equal(out[i], 0x5a);
	assert_int_equal(sd_relay_in_flight(fx->relay, &client_b), fx->route.out_length);
	assert_int_equal(sd_relay_in_flight(fx->relay, &client_c), fx->route.out_length);
	/* The operator's counts: each target's copy, for the relay and for the share. */
	assert_int_equal(sd_relay_relayed_bytes(fx->relay), 2 * fx->route.out_length);
	guint64 bytes;
	guint endpoints;
	sd_relay_share_use(fx->relay, SHARE, &bytes, &endpoints);
	assert_int_equal(bytes, 2 * fx->route.out_length);
	assert_int_equal(endpoints, 3);
	sd_relay_share_use(fx->relay, "0000000000000000", &bytes, &endpoints);
	assert_int_equal(bytes, 0);
	assert_int_equal(endpoints, 0);
}

static void unknown_self_repeated_and_foreign_targets_are_left_out(void **state)
{
	fixture *fx = *state;
	const char *targets[] = {"012345678901", A, B, B, D, NULL};
	assert_true(send_from(fx, &client_a, A, targets, 10));
	assert_int_equal(fx->route.n_targets, 1);
	assert_ptr_equal(fx->route.targets[0], &client_b);
	assert_int_equal(fx->route.n_refused, 4);
	for (guint i = 0; i < fx->route.n_refused; i++)
		assert_int_equal(fx->route.refused[i].error.code, SD_ERR_RELAY_NO_TARGET);
	assert_string_equal(fx->route.refused[3].peer, D);
}

static void a_full_window_holds_one_target_back_until_it_drains(void **state)
{
	fixture *fx = *state;
	const char *to_bc[] = {B, C, NULL};
	const size_t payload = 20000;
	guint64 sent = 0;
	for (int i = 0; i < 3; i++) {
		assert_true(send_from(fx, &client_a, A, to_bc, payload));
		assert_int_equal(fx->route.n_targets, 2);
		sent += fx->route.out_length;
	}
	/* The fourth would pass 64 KiB in flight to both. C drains; B does not. */
	sd_relay_drained(fx->relay, &client_c, 0, fx->credits);
	assert_int_equal(fx->credits->len, 1);
	sd_relay_credit *credit = &g_array_index(fx->credits, sd_relay_credit, 0);
	assert_ptr_equal(credit->client, &client_a);
	assert_string_equal(credit->from, A);
	assert_string_equal(credit->to, C);
	assert_int_equal(credit->bytes, sent);
	assert_true(send_from(fx, &client_a, A, to_bc, payload));
	assert_int_equal(fx->route.n_targets, 1);
	assert_ptr_equal(fx->route.targets[0], &client_c);
	assert_int_equal(fx->route.refused[0].error.code, SD_ERR_RELAY_WINDOW);
	assert_string_equal(fx->route.refused[0].peer, B);
	assert_int_equal(sd_relay_in_flight(fx->relay, &client_b), sent);
	/* A drain with nothing in flight credits nothing. */
	clear_credits(fx);
	sd_relay_drained(fx->relay, &client_d, 0, fx->credits);
	assert_int_equal(fx->credits->len, 0);
}

static void a_stalled_target_never_holds_more_than_the_window(void **state)
{
	fixture *fx = *state;
	const char *to_bc[] = {B, C, NULL};
	guint64 to_c = 0;
	for (int i = 0; i < 1000; i++) {
		assert_true(send_from(fx, &client_a, A, to_bc, 30000));
		to_c += fx->route.out_length;
		assert_true(sd_relay_in_flight(fx->relay, &client_b) <= 64 * 1024);
		sd_relay_drained(fx->relay, &client_c, 0, fx->credits);
	}
	guint64 credited = 0;
	for (guint i = 0; i < fx->credits->len; i++)
		credited += g_array_index(fx->credits, sd_relay_credit, i).bytes;
	assert_int_equal(credited, to_c);
	assert_int_equal(to_c, 1000 * (SD_RELAY_OUT_HEADER + 30000));
}

static void quotas_refuse_with_their_own_codes(void **state)
{
	(void)state;
	fixture *fx = fixture_with(relay_with(16384, 0, 1, 0));
	const char *to_b[] = {B, NULL};
	size_t sent = 0;
	while (send_from(fx, &client_a, A, to_b, 60000)) {
		sent += SD_RELAY_IN_HEADER(1) + 60000;
		sd_relay_drained(fx->relay, &client_b, 0, fx->credits);
	}
	assert_int_equal(fx->err.code, SD_ERR_RELAY_CLIENT_QUOTA);
	assert_true(sent <= 1024 * 1024 && sent + SD_RELAY_IN_HEADER(1) + 60000 > 1024 * 1024);
	/* Another client still sends. */
	const char *to_a[] = {A, NULL};
	assert_true(send_from(fx, &client_c, C, to_a, 60000));
	void **state_of_fx = (void **)&fx;
	tear_down(state_of_fx);

	fx = fixture_with(relay_with(16384, 1, 0, 0));
	const char *to_bc[] = {B, C, NULL};
	while (send_from(fx, &client_a, A, to_bc, 60000)) {
		sd_relay_drained(fx->relay, &client_b, 0, fx->credits);
		sd_relay_drained(fx->relay, &client_c, 0, fx->credits);
	}
	assert_int_equal(fx->err.code, SD_ERR_RELAY_SHARE_QUOTA);
	/* Another share is not affected. */
	assert_true(sd_relay_attach(fx->relay, &client_b, OTHER_SHARE, "eeeeeeeeeeee", &fx->err));
	const char *to_d[] = {D, NULL};
	assert_true(send_from(fx, &client_b, "eeeeeeeeeeee", to_d, 60000));
	tear_down(state_of_fx);
}

static void a_rate_cap_shrinks_the_window_to_seconds_of_it(void **state)
{
	(void)state;
	const struct {
		unsigned window_kib, rate_kib;
		guint64 window;
	} cases[] = {{4096, 0, 4096 * 1024}, {4096, 400, 800 * 1024}, {4096, 10, 256 * 1024}, {1024, 4096, 1024 * 1024}};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		sd_relay *relay = relay_with(cases[i].window_kib, 0, 0, cases[i].rate_kib);
		assert_int_equal(sd_relay_window(relay), cases[i].window);
		sd_relay_free(relay);
	}
}

static void the_rate_cap_pays_credits_as_time_passes(void **state)
{
	(void)state;
	fixture *fx = fixture_with(relay_with(1024, 0, 0, 64)); /* 64 KiB/s */
	const char *to_b[] = {B, NULL};
	guint64 sent = 0;
	for (int i = 0; i < 5; i++) {
		assert_true(send_from(fx, &client_a, A, to_b, 40000));
		sent += fx->route.out_length;
	}
	const gint64 t0 = 1000 * G_USEC_PER_SEC;
	sd_relay_drained(fx->relay, &client_b, t0, fx->credits);
	assert_int_equal(g_array_index(fx->credits, sd_relay_credit, 0).bytes, 64 * 1024); /* a second's burst */
	assert_int_equal(sd_relay_in_flight(fx->relay, &client_b), sent - 64 * 1024);
	guint64 paid = 64 * 1024;
	for (gint64 t = t0 + G_USEC_PER_SEC / 2; paid < sent; t += G_USEC_PER_SEC / 2) {
		clear_credits(fx);
		sd_relay_tick(fx->relay, t, fx->credits);
		assert_int_equal(fx->credits->len, 1);
		guint64 bytes = g_array_index(fx->credits, sd_relay_credit, 0).bytes;
		assert_true(bytes <= 32 * 1024);
		paid += bytes;
	}
	assert_int_equal(paid, sent);
	assert_int_equal(sd_relay_in_flight(fx->relay, &client_b), 0);
	void **state_of_fx = (void **)&fx;
	tear_down(state_of_fx);
}

static void members_that_go_take_their_flows_with_them(void **state)
{
	fixture *fx = *state;
	const char *to_bc[] = {B, C, NULL};
	assert_true(send_from(fx, &client_a, A, to_bc, 5000));
	sd_relay_detach(fx->relay, &client_a, SHARE);
	assert_int_equal(sd_relay_in_flight(fx->relay, &client_b), 0);
	sd_relay_drained(fx->relay, &client_b, 0, fx->credits);
	assert_int_equal(fx->credits->len, 0); /* nobody left to credit */
	const char *to_a[] = {A, NULL};
	assert_true(send_from(fx, &client_b, B, to_a, 10));
	assert_int_equal(fx->route.n_targets, 0);
	assert_int_equal(fx->route.refused[0].error.code, SD_ERR_RELAY_NO_TARGET);
	sd_relay_detach(fx->relay, &client_b, OTHER_SHARE); /* not a member there */
	sd_relay_client_gone(fx->relay, &client_c);
	sd_relay_client_gone(fx->relay, &client_c);
	assert_int_equal(sd_relay_endpoint_count(fx->relay), 2);
	assert_false(send_from(fx, &client_c, C, to_a, 10));
	assert_int_equal(fx->err.code, SD_ERR_RELAY_NOT_ATTACHED);
}


/* Finding 5: a flood of refused frames gets relay_refusals_per_second replies a second per
 * client (a second's worth saved); the rest are counted, and other clients keep their own. */
static void refusal_replies_are_budgeted_per_client(void **state)
{
	fixture *fx = *state; /* default relay_refusals_per_second: 10 */
	gint64 t = G_USEC_PER_SEC * 100;
	int told = 0;
	for (int i = 0; i < 1000; i++) {
		guint8 bad[] = {7};
		assert_false(sd_relay_route_message(fx->relay, &client_a, bad, sizeof(bad), &fx->route, &fx->err));
		told += sd_relay_may_refuse(fx->relay, &client_a, t);
	}
	assert_int_equal(told, 10);
	assert_true(sd_relay_may_refuse(fx->relay, &client_b, t));
	assert_int_equal(sd_relay_dropped_count(fx->relay).refusals, 990);
	/* A tenth of a second earns one more, a long pause only a second's worth. */
	assert_true(sd_relay_may_refuse(fx->relay, &client_a, t + G_USEC_PER_SEC / 10));
	assert_false(sd_relay_may_refuse(fx->relay, &client_a, t + G_USEC_PER_SEC / 10));
	told = 0;
	for (int i = 0; i < 100; i++)
		told += sd_relay_may_refuse(fx->relay, &client_a, t + 60 * G_USEC_PER_SEC);
	assert_int_equal(told, 10);
	/* A client that went and came back starts afresh (its channel is a new one). */
	sd_relay_client_gone(fx->relay, &client_a);
	assert_true(sd_relay_attach(fx->relay, &client_a, SHARE, A, &fx->err));
	assert_true(sd_relay_may_refuse(fx->relay, &client_a, t + 60 * G_USEC_PER_SEC));
}

/* Review 12 item 7: a refusal or text for a client already gone (incoming data racing the
 * handle's end) neither brings its entry back (keyed by a pointer about to be freed) nor is
 * sent; a client never seen gets nothing either. */
static void a_client_gone_is_not_brought_back(void **state)
{
	fixture *fx = *state;
	assert_true(sd_relay_ready(fx->relay, &client_a, NULL));
	sd_relay_client_gone(fx->relay, &client_a);
	int stranger;
	assert_false(sd_relay_may_refuse(fx->relay, &client_a, 0));
	assert_false(sd_relay_text_fits(fx->relay, &client_a, 10));
	assert_false(sd_relay_may_refuse(fx->relay, &stranger, 0));
	assert_false(sd_relay_text_fits(fx->relay, &stranger, 10));
	sd_relay_dropped dropped = sd_relay_dropped_count(fx->relay);
	assert_int_equal(dropped.refusals, 2);
	assert_int_equal(dropped.texts, 2);
	/* Still gone: its channel is not ready, so a new one is announced again. */
	assert_true(sd_relay_ready(fx->relay, &client_a, NULL));
}

/* Review 12 item 8: credits that do not fit within a sender's text bound (it reads nothing for
 * a while) are not dropped: they stay owed, one per sender and target however long the stall,
 * and are paid when the sender's channel drains, every byte the targets took in. */
static void credits_that_do_not_fit_wait_for_the_senders_drain(void **state)
{
	fixture *fx = *state; /* a window of 64 KiB */
	const char *to_bc[] = {B, C, NULL};
	assert_true(sd_relay_ready(fx->relay, &client_a, NULL));
	assert_true(sd_relay_ready(fx->relay, &client_b, NULL));
	assert_true(sd_relay_ready(fx->relay, &client_c, NULL));
	/* A's channel has room left for two credit texts. */
	assert_true(sd_relay_text_fits(fx->relay, &client_a, 64 * 1024 - 2 * SD_RELAY_CREDIT_TEXT_MAX));
	guint64 routed = 0;
	for (int i = 0; i < 50; i++) {
		assert_true(send_from(fx, &client_a, A, to_bc, 1000));
		assert_int_equal(fx->route.n_targets, 2);
		routed += fx->route.out_length;
		sd_relay_drained(fx->relay, &client_b, i, fx->credits);
		sd_relay_drained(fx->relay, &client_c, i, fx->credits);
	}
	assert_int_equal(fx->credits->len, 2);
	guint64 credited[2] = {g_array_index(fx->credits, sd_relay_credit, 0).bytes,
	                       g_array_index(fx->credits, sd_relay_credit, 1).bytes};
	sd_relay_tick(fx->relay, G_USEC_PER_SEC, fx->credits);
	assert_int_equal(fx->credits->len, 2); /* the tick cannot pay them either */
	/* An advisory text for A is dropped and counted; no credit was. */
	assert_false(sd_relay_text_fits(fx->relay, &client_a, 120));
	assert_int_equal(sd_relay_dropped_count(fx->relay).texts, 1);
	assert_int_equal(sd_relay_in_flight(fx->relay, &client_b) + sd_relay_in_flight(fx->relay, &client_c),
	                 2 * routed - credited[0] - credited[1]);
	/* A drains: one credit for B and one for C, the rest of what each took in. */
	clear_credits(fx);
	sd_relay_drained(fx->relay, &client_a, 2 * G_USEC_PER_SEC, fx->credits);
	assert_int_equal(fx->credits->len, 2);
	guint64 to_b = 0, to_c = 0;
	for (guint i = 0; i < 2; i++) {
		const sd_relay_credit *credit = &g_array_index(fx->credits, sd_relay_credit, i);
		assert_ptr_equal(credit->client, &client_a);
		assert_string_equal(credit->from, A);
		*(strcmp(credit->to, B) == 0 ? &to_b : &to_c) += credit->bytes;
	}
	assert_int_equal(to_b + to_c + credited[0] + credited[1], 2 * routed);
	assert_int_equal(sd_relay_in_flight(fx->relay, &client_b), 0);
	assert_int_equal(sd_relay_in_flight(fx->relay, &client_c), 0);
	/* The credits count against A's bound like any text until A drains again. */
	clear_credits(fx);
	sd_relay_tick(fx->relay, 3 * G_USEC_PER_SEC, fx->credits);
	assert_int_equal(fx->credits->len, 0);
}

/* Finding 5: the plugin's own texts to a client count against a window until its channel
 * drains, so a peer that stops acknowledging cannot grow Janus's SCTP queue with them. */
static void the_plugins_texts_count_against_a_window_until_the_channel_drains(void **state)
{
	fixture *fx = *state; /* a window of 64 KiB */
	const size_t credit = 120;
	assert_true(sd_relay_ready(fx->relay, &client_b, NULL));
	assert_true(sd_relay_ready(fx->relay, &client_c, NULL));
	size_t sent = 0;
	while (sd_relay_text_fits(fx->relay, &client_b, credit))
		sent += credit;
	assert_true(sent <= 64 * 1024 && sent + credit > 64 * 1024);
	assert_false(sd_relay_text_fits(fx->relay, &client_b, credit));
	assert_int_equal(sd_relay_dropped_count(fx->relay).texts, 2);
	/* Others are not held back; a drain lets texts go again. */
	assert_true(sd_relay_text_fits(fx->relay, &client_c, credit));
	sd_relay_drained(fx->relay, &client_b, G_USEC_PER_SEC, fx->credits);
	assert_true(sd_relay_text_fits(fx->relay, &client_b, credit));
	clear_credits(fx);
}

/* The endpoint hook hears of each endpoint made and removed once: the operator's relay events. */
static void endpoints_made_and_removed_are_told(void **state)
{
	fixture *fx = *state;
	g_string_truncate(endpoint_log, 0);
	assert_true(sd_relay_attach(fx->relay, &client_a, SHARE, A, &fx->err)); /* already: nothing new */
	sd_relay_detach(fx->relay, &client_b, SHARE);
	sd_relay_detach(fx->relay, &client_b, SHARE);
	/* A client's other member of the same share replaces its first. */
	assert_true(sd_relay_attach(fx->relay, &client_a, SHARE, "eeeeeeeeeeee", &fx->err));
	sd_relay_client_gone(fx->relay, &client_c);
	sd_relay_client_gone(fx->relay, &client_c);
	assert_string_equal(endpoint_log->str,
	                    "-" SHARE "/" B " -" SHARE "/" A " +" SHARE "/eeeeeeeeeeee -" SHARE "/" C " ");
}

/* Node 1's relay (the fixture's: members A, B, C) and node 2's, where member E uses the relay:
 * each has a stand-in for the other node. A frame from A to E is windowed on node 1, handed on by
 * node 2, and credited back from there once E drained. */
#define E "eeeeeeeeeeee"
static int node_1, node_2, client_e;

static void a_member_on_another_node_is_windowed_here_and_credited_from_there(void **state)
{
	fixture *fx = *state;
	sd_limits limits;
	sd_limits_default(&limits);
	limits.relay_window_kib = 64;
	sd_relay *other = sd_relay_new(&limits, &counting);
	assert_true(sd_relay_attach(other, &client_e, SHARE, E, &fx->err));
	assert_true(sd_relay_attach_remote(fx->relay, &node_2, SHARE, E, &fx->err));
	const char *to_e[] = {E, NULL};
	guint8 a_id[SD_RELAY_ID_BYTES], e_id[SD_RELAY_ID_BYTES];
	put_id(a_id, A);
	put_id(e_id, E);
	guint64 sent = 0;
	while (send_from(fx, &client_a, A, to_e, 20000) && fx->route.n_targets == 1) {
		assert_ptr_equal(fx->route.targets[0], &node_2);
		assert_memory_equal(fx->route.target_ids[0], e_id, SD_RELAY_ID_BYTES);
		assert_string_equal(fx->route.share, SHARE);
		sent += fx->route.out_length;
		/* Node 2 hands it on to E. */
		void *target = sd_relay_route_remote(other, &node_1, SHARE, a_id, e_id, fx->route.out_length);
		assert_ptr_equal(target, &client_e);
		release(target);
	}
	assert_int_equal(fx->route.refused[0].error.code, SD_ERR_RELAY_WINDOW); /* node 1 keeps the window */
	assert_int_equal(sent, 3 * (SD_RELAY_OUT_HEADER + 20000));
	/* E drains: node 2 owes node 1 everything at once (node 1 applies A's rate cap, not node 2). */
	GArray *back = g_array_new(FALSE, TRUE, sizeof(sd_relay_credit));
	sd_relay_drained(other, &client_e, 0, back);
	assert_int_equal(back->len, 1);
	sd_relay_credit *credit = &g_array_index(back, sd_relay_credit, 0);
	assert_ptr_equal(credit->client, &node_1);
	assert_string_equal(credit->share, SHARE);
	assert_string_equal(credit->from, A);
	assert_string_equal(credit->to, E);
	assert_int_equal(credit->bytes, sent);
	/* Node 1 hears of it: A is credited, and may send again. Never more than was in flight. */
	sd_relay_remote_credit(fx->relay, &node_2, SHARE, a_id, e_id, credit->bytes * 2, 0, fx->credits);
	release(credit->client);
	g_array_set_size(back, 0);
	assert_int_equal(fx->credits->len, 1);
	assert_ptr_equal(g_array_index(fx->credits, sd_relay_credit, 0).client, &client_a);
	assert_int_equal(g_array_index(fx->credits, sd_relay_credit, 0).bytes, sent);
	clear_credits(fx);
	assert_true(send_from(fx, &client_a, A, to_e, 20000));
	assert_int_equal(fx->route.n_targets, 1);
	/* The engine was away: what was in flight to node 2 counts as taken in. */
	sd_relay_forgive(fx->relay, &node_2, 0, fx->credits);
	assert_int_equal(fx->credits->len, 1);
	assert_int_equal(g_array_index(fx->credits, sd_relay_credit, 0).bytes, fx->route.out_length);
	/* Node 2 forgets what node 1 sent it: E's drain owes node 1 nothing more. */
	sd_relay_forgive(other, &node_1, 0, back);
	sd_relay_drained(other, &client_e, 0, back);
	assert_int_equal(back->len, 0);
	/* A frame for a member that is not node 2's endpoint goes nowhere. */
	guint8 b_id[SD_RELAY_ID_BYTES];
	put_id(b_id, B);
	assert_null(sd_relay_route_remote(other, &node_1, SHARE, a_id, b_id, 100));
	g_array_unref(back);
	sd_relay_client_gone(other, &node_1);
	sd_relay_free(other);
}

static void another_nodes_endpoints_follow_its_records(void **state)
{
	fixture *fx = *state;
	/* An id a client of this node holds is this node's: another's record of it is stale. */
	assert_false(sd_relay_attach_remote(fx->relay, &node_2, SHARE, A, &fx->err));
	assert_int_equal(fx->err.code, SD_ERR_ALREADY_JOINED);
	assert_false(sd_relay_attach_remote(fx->relay, &node_2, SHARE, "not-an-id", &fx->err));
	/* A roster replaces what node 2 had in the share; a member that moves from node 2 to node 1's
	 * client takes its endpoint here. */
	assert_true(sd_relay_attach_remote(fx->relay, &node_2, SHARE, E, &fx->err));
	assert_true(sd_relay_attach_remote(fx->relay, &node_2, SHARE, "ffffffffffff", &fx->err));
	const char *now_on_2[] = {"ffffffffffff", "999999999999"};
	sd_relay_remote_roster(fx->relay, &node_2, SHARE, now_on_2, 2);
	const char *to_e[] = {E, "999999999999", NULL};
	assert_true(send_from(fx, &client_a, A, to_e, 10));
	assert_int_equal(fx->route.n_targets, 1);
	assert_int_equal(fx->route.refused[0].error.code, SD_ERR_RELAY_NO_TARGET);
	int moved;
	assert_true(sd_relay_attach(fx->relay, &moved, SHARE, "999999999999", &fx->err));
	assert_true(send_from(fx, &client_a, A, to_e, 10));
	assert_ptr_equal(fx->route.targets[0], &moved);
	assert_true(sd_relay_serves(fx->relay, SHARE, "999999999999"));
	assert_false(sd_relay_serves(fx->relay, SHARE, "ffffffffffff")); /* node 2's */
	/* Endpoints of another node are not the operator's events here (that node tells its own). */
	assert_null(strstr(endpoint_log->str, "ffffffffffff"));
	sd_relay_client_gone(fx->relay, &moved);
	sd_relay_remote_roster(fx->relay, &node_2, SHARE, NULL, 0);
	assert_int_equal(sd_relay_endpoint_count(fx->relay), 4);
	sd_relay_client_gone(fx->relay, &node_2);
}

int run_relay_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(attaching_checks_ids_and_an_id_belongs_to_one_client, set_up, tear_down),
		cmocka_unit_test_setup_teardown(endpoints_made_and_removed_are_told, set_up, tear_down),
		cmocka_unit_test_setup_teardown(waiting_members_are_attached_when_the_channel_is_ready, set_up, tear_down),
		cmocka_unit_test_setup_teardown(a_waiting_member_that_leaves_is_forgotten, set_up, tear_down),
		cmocka_unit_test_setup_teardown(what_waits_for_a_channel_is_bounded, set_up, tear_down),
		cmocka_unit_test_setup_teardown(malformed_frames_are_refused_whole, set_up, tear_down),
		cmocka_unit_test_setup_teardown(only_the_clients_own_members_can_send, set_up, tear_down),
		cmocka_unit_test_setup_teardown(one_upload_fans_out_to_every_target, set_up, tear_down),
		cmocka_unit_test_setup_teardown(unknown_self_repeated_and_foreign_targets_are_left_out, set_up, tear_down),
		cmocka_unit_test_setup_teardown(a_full_window_holds_one_target_back_until_it_drains, set_up, tear_down),
		cmocka_unit_test_setup_teardown(a_stalled_target_never_holds_more_than_the_window, set_up, tear_down),
		cmocka_unit_test(quotas_refuse_with_their_own_codes),
		cmocka_unit_test(a_rate_cap_shrinks_the_window_to_seconds_of_it),
		cmocka_unit_test(the_rate_cap_pays_credits_as_time_passes),
		cmocka_unit_test_setup_teardown(members_that_go_take_their_flows_with_them, set_up, tear_down),
		cmocka_unit_test_setup_teardown(refusal_replies_are_budgeted_per_client, set_up, tear_down),
		cmocka_unit_test_setup_teardown(the_plugins_texts_count_against_a_window_until_the_channel_drains, set_up,
		                                tear_down),
		cmocka_unit_test_setup_teardown(a_client_gone_is_not_brought_back, set_up, tear_down),
		cmocka_unit_test_setup_teardown(credits_that_do_not_fit_wait_for_the_senders_drain, set_up, tear_down),
		cmocka_unit_test_setup_teardown(a_member_on_another_node_is_windowed_here_and_credited_from_there, set_up,
		                                tear_down),
		cmocka_unit_test_setup_teardown(another_nodes_endpoints_follow_its_records, set_up, tear_down),
	};
	return cmocka_run_group_tests_name("relay", tests, NULL, NULL);
}

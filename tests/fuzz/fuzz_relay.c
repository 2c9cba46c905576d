/* libFuzzer harness over the relay's frame router. Each input is a small script for a fresh
 * sd_relay (tight limits: a 1 KiB window, a 64 KiB quota per client, a rate cap) with four
 * clients: two share A (members 1 and 2, client 0 also member 3 of share B), one in B, one
 * waiting for its channel. Each step is an operation byte, a client byte and, for a frame, a
 * 16-bit length and that many bytes: route a frame, drain a client, tick, detach, a client
 * gone, ready, the refusal and text budgets; the clock moves with every step. Checked: a
 * route never names more targets than the frame, its message (made in place) is the frame's
 * kind, source and data and ends where the frame ends, the credits and what is still in flight
 * never exceed what was routed (and match it while no member went), and what is in flight to a
 * client stays within the windows of its senders. At the end, every client drains and time
 * passes: nothing stays owed (credits that did not fit a text bound were kept, not lost). Built
 * and run by tests/fuzz/run.sh. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "sd_relay.h"

#define CLIENTS 4
#define WINDOW 1024

static const char *const share_a = "0123456789abcdef", *const share_b = "fedcba9876543210";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static guint8 out[SD_RELAY_MAX_MESSAGE];
	sd_limits limits;
	sd_limits_default(&limits);
	limits.relay_window_kib = 1;
	limits.relay_client_quota_mib = 1;
	limits.relay_share_quota_mib = 1;
	limits.relay_client_rate_kib = 4;
	limits.max_shares_per_handle = 2;
	sd_relay *relay = sd_relay_new(&limits, NULL);
	int clients[CLIENTS];
	sd_error err;
	if (!sd_relay_attach(relay, &clients[0], share_a, "a1a1a1a1a1a1", &err) ||
	    !sd_relay_attach(relay, &clients[1], share_a, "b2b2b2b2b2b2", &err) ||
	    !sd_relay_attach(relay, &clients[0], share_b, "c3c3c3c3c3c3", &err) ||
	    !sd_relay_attach(relay, &clients[2], share_b, "d4d4d4d4d4d4", &err) ||
	    sd_relay_expect(relay, &clients[3], share_a, "e5e5e5e5e5e5", &err) != SD_RELAY_PENDING)
		__builtin_trap();
	GArray *credits = g_array_new(FALSE, FALSE, sizeof(sd_relay_credit));
	GPtrArray *attached = g_ptr_array_new_with_free_func(g_free);
	guint64 routed = 0, credited = 0;
	bool removed = false; /* a member went: its flows' bytes are credited to nobody */
	gint64 now = 1000000;
	size_t at = 0;
	while (at + 2 <= size) {
		guint8 op = data[at] % 9;
		void *client = &clients[data[at + 1] % CLIENTS];
		at += 2;
		now += 50000;
		g_array_set_size(credits, 0);
		switch (op) {
		case 0: case 1: case 2: { /* a frame, the most common step */
			if (at + 2 > size)
				break;
			size_t len = (size_t)data[at] << 8 | data[at + 1];
			at += 2;
			len = MIN(len, size - at);
			sd_relay_route route;
			memcpy(out, data + at, len); /* routed in place */
			if (sd_relay_route_message(relay, client, out, len, &route, &err)) {
				if (route.n_targets + route.n_refused > SD_RELAY_MAX_TARGETS || route.out_length > len ||
				    route.out < out || route.out + route.out_length != out + len ||
				    memcmp(route.out + SD_RELAY_OUT_HEADER, data + at + len - (route.out_length - SD_RELAY_OUT_HEADER),
				           route.out_length - SD_RELAY_OUT_HEADER) != 0 ||
				    route.out[0] != data[at] || memcmp(route.out + 1, data + at + 1, SD_RELAY_ID_BYTES) != 0)
					__builtin_trap();
				routed += (guint64)route.out_length * route.n_targets;
			} else if (err.code < SD_ERR_BAD_BODY || err.code > SD_ERR_INTERNAL) {
				__builtin_trap();
			}
			at += len;
			break;
		}
		case 3: sd_relay_drained(relay, client, now, credits); break;
		case 4: sd_relay_tick(relay, now, credits); break;
		case 5:
			sd_relay_detach(relay, client, (data[at - 1] & 4) ? share_b : share_a);
			removed = true;
			break;
		case 6:
			sd_relay_client_gone(relay, client);
			removed = true;
			break;
		case 7:
			g_ptr_array_set_size(attached, 0);
			sd_relay_ready(relay, client, attached);
			break;
		default:
			(void)sd_relay_may_refuse(relay, client, now);
			(void)sd_relay_text_fits(relay, client, (size_t)(data[at - 1]) * 64);
			break;
		}
		for (guint i = 0; i < credits->len; i++)
			credited += g_array_index(credits, sd_relay_credit, i).bytes;
		guint64 outstanding = 0;
		for (int c = 0; c < CLIENTS; c++) {
			guint64 in_flight = sd_relay_in_flight(relay, &clients[c]);
			if (in_flight > (guint64)WINDOW * CLIENTS * CLIENTS)
				__builtin_trap();
			outstanding += in_flight;
		}
		if (credited + outstanding > routed || (!removed && credited + outstanding != routed))
			__builtin_trap();
	}
	/* Every channel drains, again and again, seconds apart: the rate cap (a second's worth of
	 * 4 KiB at a time) and the text bounds let everything owed through. */
	for (int round = 0; round < 16; round++) {
		now += 10 * G_USEC_PER_SEC;
		g_array_set_size(credits, 0);
		for (int c = 0; c < CLIENTS; c++)
			sd_relay_drained(relay, &clients[c], now, credits);
		sd_relay_tick(relay, now, credits);
		for (guint i = 0; i < credits->len; i++)
			credited += g_array_index(credits, sd_relay_credit, i).bytes;
	}
	for (int c = 0; c < CLIENTS; c++)
		if (sd_relay_in_flight(relay, &clients[c]) != 0)
			__builtin_trap();
	if (credited > routed || (!removed && credited != routed))
		__builtin_trap();
	g_ptr_array_unref(attached);
	g_array_unref(credits);
	sd_relay_free(relay);
	return 0;
}

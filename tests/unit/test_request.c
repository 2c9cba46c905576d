#include <stdio.h>
#include <string.h>

#include "sd_request.h"
#include "unit.h"

#define SHARE "0123456789abcdef"
#define PEER "abcdefabcdef"
#define TOKEN "0123456789abcdef0123456789abcdef"

/* The default limits (max_links_per_member 8: 10 links a report) with max_signal_bytes. */
static const sd_limits *limits_with(unsigned max_signal_bytes)
{
	static sd_limits limits;
	sd_limits_default(&limits);
	limits.max_signal_bytes = max_signal_bytes;
	return &limits;
}

/* Parses text as the body and returns the error code (0 when accepted). */
static int parse_code(const char *text, sd_request *req)
{
	json_error_t jerr;
	json_t *body = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	assert_non_null(body);
	sd_error err = {0};
	sd_request scratch;
	bool ok = sd_request_parse(body, limits_with(1024), req != NULL ? req : &scratch, &err);
	if (!ok)
		assert_true(strlen(err.message) > 0);
	json_decref(body);
	return ok ? 0 : err.code;
}

static void each_request_parses(void **state)
{
	(void)state;
	sd_request req;
	assert_int_equal(parse_code("{\"request\":\"create\"}", &req), 0);
	assert_int_equal(req.kind, SD_REQ_CREATE);
	assert_int_equal(parse_code("{\"request\":\"join\",\"share\":\"" SHARE "\"}", &req), 0);
	assert_int_equal(req.kind, SD_REQ_JOIN);
	assert_string_equal(req.share, SHARE);
	assert_string_equal(req.owner_token, "");
	assert_int_equal(parse_code("{\"request\":\"join\",\"share\":\"" SHARE "\",\"owner_token\":\"" TOKEN "\"}", &req), 0);
	assert_string_equal(req.owner_token, TOKEN);
	assert_string_equal(req.peer_secret, "");
	assert_int_equal(parse_code("{\"request\":\"join\",\"share\":\"" SHARE "\",\"peer_secret\":\"" TOKEN "\"}", &req), 0);
	assert_string_equal(req.peer_secret, TOKEN);
	assert_string_equal(req.owner_token, "");
	assert_int_equal(parse_code("{\"request\":\"leave\",\"share\":\"" SHARE "\"}", &req), 0);
	assert_int_equal(req.kind, SD_REQ_LEAVE);
	assert_int_equal(parse_code("{\"request\":\"close\",\"share\":\"" SHARE "\",\"owner_token\":\"" TOKEN "\"}", &req), 0);
	assert_int_equal(req.kind, SD_REQ_CLOSE);
	assert_string_equal(req.share, SHARE);
	assert_string_equal(req.owner_token, TOKEN);
	assert_int_equal(parse_code("{\"request\":\"list\",\"share\":\"" SHARE "\"}", &req), 0);
	assert_int_equal(req.kind, SD_REQ_LIST);
}

static void signal_keeps_payload_and_target(void **state)
{
	(void)state;
	json_t *body = json_pack("{s:s, s:s, s:s, s:{s:s}}", "request", "signal", "share", SHARE, "to", PEER, "payload",
	                         "kind", "ice");
	sd_request req;
	sd_error err;
	assert_true(sd_request_parse(body, limits_with(1024), &req, &err));
	assert_int_equal(req.kind, SD_REQ_SIGNAL);
	assert_string_equal(req.to, PEER);
	assert_ptr_equal(req.payload, json_object_get(body, "payload"));
	json_decref(body);
}

static void operator_requests_take_their_text_fields(void **state)
{
	(void)state;
	sd_request req;
	sd_error err;
	/* The text fields are borrowed from the body. */
	json_t *body = json_pack("{s:s, s:s, s:s}", "request", "publish", "admin_key", "k", "path", "a/b.mkv");
	assert_true(sd_request_parse(body, limits_with(1024), &req, &err));
	assert_int_equal(req.kind, SD_REQ_PUBLISH);
	assert_string_equal(req.admin_key, "k");
	assert_string_equal(req.path, "a/b.mkv");
	assert_false(req.transcode_audio);
	json_decref(body);
	assert_int_equal(
		parse_code("{\"request\":\"publish\",\"admin_key\":\"k\",\"path\":\"x\",\"transcode_audio\":true}", &req), 0);
	assert_true(req.transcode_audio);
	assert_int_equal(parse_code("{\"request\":\"unpublish\",\"admin_key\":\"k\",\"share\":\"" SHARE "\"}", &req), 0);
	assert_int_equal(req.kind, SD_REQ_UNPUBLISH);

	assert_int_equal(parse_code("{\"request\":\"publish\",\"path\":\"x\"}", NULL), SD_ERR_MISSING_FIELD);
	assert_int_equal(parse_code("{\"request\":\"unpublish\",\"admin_key\":\"k\"}", NULL), SD_ERR_MISSING_FIELD);
	assert_int_equal(parse_code("{\"request\":\"publish\",\"admin_key\":\"\",\"path\":\"x\"}", NULL),
	                 SD_ERR_INVALID_FIELD);
	assert_int_equal(parse_code("{\"request\":\"publish\",\"admin_key\":7,\"path\":\"x\"}", NULL), SD_ERR_INVALID_FIELD);
	assert_int_equal(parse_code("{\"request\":\"publish\",\"admin_key\":\"k\",\"path\":\"x\\u0000y\"}", NULL),
	                 SD_ERR_INVALID_FIELD);
	assert_int_equal(
		parse_code("{\"request\":\"publish\",\"admin_key\":\"k\",\"path\":\"x\",\"transcode_audio\":1}", NULL),
		SD_ERR_INVALID_FIELD);
	assert_int_equal(parse_code("{\"request\":\"join\",\"share\":\"" SHARE "\",\"path\":\"x\"}", NULL),
	                 SD_ERR_UNKNOWN_FIELD);
	/* Longer than SD_MEDIA_PATH_MAX. */
	char long_path[SD_MEDIA_PATH_MAX + 100];
	int n = snprintf(long_path, sizeof(long_path), "{\"request\":\"publish\",\"admin_key\":\"k\",\"path\":\"");
	memset(long_path + n, 'a', SD_MEDIA_PATH_MAX + 1);
	strcpy(long_path + n + SD_MEDIA_PATH_MAX + 1, "\"}");
	assert_int_equal(parse_code(long_path, NULL), SD_ERR_INVALID_FIELD);
}

static void bodies_that_are_not_objects_are_refused(void **state)
{
	(void)state;
	assert_int_equal(parse_code("[]", NULL), SD_ERR_BAD_BODY);
	assert_int_equal(parse_code("\"create\"", NULL), SD_ERR_BAD_BODY);
	assert_int_equal(parse_code("null", NULL), SD_ERR_BAD_BODY);
	sd_request req;
	sd_error err;
	assert_false(sd_request_parse(NULL, limits_with(1024), &req, &err));
	assert_int_equal(err.code, SD_ERR_BAD_BODY);
}

static void unknown_or_missing_request_is_refused(void **state)
{
	(void)state;
	assert_int_equal(parse_code("{}", NULL), SD_ERR_UNKNOWN_REQUEST);
	assert_int_equal(parse_code("{\"request\":7}", NULL), SD_ERR_UNKNOWN_REQUEST);
	assert_int_equal(parse_code("{\"request\":\"destroy\"}", NULL), SD_ERR_UNKNOWN_REQUEST);
	assert_int_equal(parse_code("{\"request\":\"CREATE\"}", NULL), SD_ERR_UNKNOWN_REQUEST);
}

static void missing_fields_are_named(void **state)
{
	(void)state;
	assert_int_equal(parse_code("{\"request\":\"join\"}", NULL), SD_ERR_MISSING_FIELD);
	assert_int_equal(parse_code("{\"request\":\"leave\"}", NULL), SD_ERR_MISSING_FIELD);
	assert_int_equal(parse_code("{\"request\":\"list\"}", NULL), SD_ERR_MISSING_FIELD);
	assert_int_equal(parse_code("{\"request\":\"close\",\"share\":\"" SHARE "\"}", NULL), SD_ERR_MISSING_FIELD);
	assert_int_equal(parse_code("{\"request\":\"close\",\"owner_token\":\"" TOKEN "\"}", NULL), SD_ERR_MISSING_FIELD);
	assert_int_equal(parse_code("{\"request\":\"signal\",\"share\":\"" SHARE "\",\"to\":\"" PEER "\"}", NULL),
	                 SD_ERR_MISSING_FIELD);
	assert_int_equal(parse_code("{\"request\":\"signal\",\"share\":\"" SHARE "\",\"payload\":{}}", NULL),
	                 SD_ERR_MISSING_FIELD);
}

static void fields_with_wrong_type_or_shape_are_refused(void **state)
{
	(void)state;
	assert_int_equal(parse_code("{\"request\":\"join\",\"share\":12}", NULL), SD_ERR_INVALID_FIELD);
	assert_int_equal(parse_code("{\"request\":\"join\",\"share\":null}", NULL), SD_ERR_INVALID_FIELD);
	assert_int_equal(parse_code("{\"request\":\"join\",\"share\":\"0123\"}", NULL), SD_ERR_INVALID_FIELD);
	assert_int_equal(parse_code("{\"request\":\"join\",\"share\":\"0123456789ABCDEF\"}", NULL), SD_ERR_INVALID_FIELD);
	assert_int_equal(parse_code("{\"request\":\"join\",\"share\":\"" SHARE "\",\"owner_token\":\"short\"}", NULL),
	                 SD_ERR_INVALID_FIELD);
	assert_int_equal(parse_code("{\"request\":\"join\",\"share\":\"" SHARE "\",\"peer_secret\":\"" PEER "\"}", NULL),
	                 SD_ERR_INVALID_FIELD);
	assert_int_equal(parse_code("{\"request\":\"signal\",\"share\":\"" SHARE "\",\"to\":\"" PEER "\",\"payload\":\"x\"}", NULL),
	                 SD_ERR_INVALID_FIELD);
	assert_int_equal(parse_code("{\"request\":\"signal\",\"share\":\"" SHARE "\",\"to\":\"" SHARE "\",\"payload\":{}}", NULL),
	                 SD_ERR_INVALID_FIELD);
	/* A string with an embedded NUL must not pass as a shorter valid id. */
	assert_int_equal(parse_code("{\"request\":\"join\",\"share\":\"0123456789abcdef\\u0000zz\"}", NULL),
	                 SD_ERR_INVALID_FIELD);
}

static void fields_a_request_does_not_take_are_refused(void **state)
{
	(void)state;
	assert_int_equal(parse_code("{\"request\":\"create\",\"share\":\"" SHARE "\"}", NULL), SD_ERR_UNKNOWN_FIELD);
	assert_int_equal(parse_code("{\"request\":\"leave\",\"share\":\"" SHARE "\",\"owner_token\":\"" TOKEN "\"}", NULL),
	                 SD_ERR_UNKNOWN_FIELD);
	assert_int_equal(parse_code("{\"request\":\"list\",\"share\":\"" SHARE "\",\"extra\":1}", NULL), SD_ERR_UNKNOWN_FIELD);
	/* join's old `peer` (an id asked for without its secret) is gone. */
	assert_int_equal(parse_code("{\"request\":\"join\",\"share\":\"" SHARE "\",\"peer\":\"" PEER "\"}", NULL),
	                 SD_ERR_UNKNOWN_FIELD);
	assert_int_equal(parse_code("{\"request\":\"leave\",\"share\":\"" SHARE "\",\"peer_secret\":\"" TOKEN "\"}", NULL),
	                 SD_ERR_UNKNOWN_FIELD);
}

static void payload_size_is_bounded(void **state)
{
	(void)state;
	char big[1100];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_t *body = json_pack("{s:s, s:s, s:s, s:{s:s}}", "request", "signal", "share", SHARE, "to", PEER, "payload",
	                         "sdp", big);
	sd_request req;
	sd_error err;
	assert_false(sd_request_parse(body, limits_with(1024), &req, &err));
	assert_int_equal(err.code, SD_ERR_TOO_LARGE);
	assert_true(sd_request_parse(body, limits_with(2048), &req, &err));
	json_decref(body);
}

static void long_unknown_names_are_truncated_in_messages(void **state)
{
	(void)state;
	char name[600];
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	json_t *body = json_pack("{s:s}", "request", name);
	sd_request req;
	sd_error err;
	assert_false(sd_request_parse(body, limits_with(1024), &req, &err));
	assert_int_equal(err.code, SD_ERR_UNKNOWN_REQUEST);
	assert_true(strlen(err.message) < sizeof(err.message));
	json_decref(body);
}

#define LINK(peer, rtt, down, up) "{\"peer\":\"" peer "\",\"rtt_ms\":" rtt ",\"down_kbps\":" down ",\"up_kbps\":" up "}"
#define REPORT(fields) "{\"request\":\"report\",\"share\":\"" SHARE "\"," fields "}"
/* 32 bytes: the first 0x80 (bucket 0), the last 0x01 (bucket 255). */
#define HAVE_B0_B255 "gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE="

static void report_takes_what_a_member_holds_and_measures(void **state)
{
	(void)state;
	sd_request req;
	assert_int_equal(parse_code(REPORT("\"complete\":false,\"links\":[]"), &req), 0);
	assert_int_equal(req.kind, SD_REQ_REPORT);
	assert_false(req.complete);
	assert_false(req.has_have);
	assert_int_equal(req.address.family, 0);
	assert_int_equal(req.n_links, 0);
	assert_int_equal(parse_code(REPORT("\"complete\":true,\"address\":\"2001:db8:a::1\",\"have\":\"" HAVE_B0_B255
	                                   "\",\"links\":[" LINK(PEER, "12", "8000", "0") "," LINK("0123456789ab", "0",
	                                                                                          "0", "10000000") "]"),
	                            &req),
	                 0);
	assert_true(req.complete);
	assert_int_equal(req.address.family, 6);
	assert_true(req.has_have);
	assert_int_equal(req.have[0], 0x80);
	assert_int_equal(req.have[31], 0x01);
	assert_int_equal(req.n_links, 2);
	assert_string_equal(req.links[0].peer, PEER);
	assert_int_equal(req.links[0].rtt_ms, 12);
	assert_int_equal(req.links[0].down_kbps, 8000);
	assert_int_equal(req.links[1].up_kbps, 10000000);
	/* join takes an address too */
	assert_int_equal(parse_code("{\"request\":\"join\",\"share\":\"" SHARE "\",\"address\":\"198.18.0.11\"}", &req), 0);
	assert_int_equal(req.address.family, 4);
}

static void bad_reports_are_refused_with_the_field_named(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		int code;
	} cases[] = {
		{REPORT("\"links\":[]"), SD_ERR_MISSING_FIELD},
		{REPORT("\"complete\":true"), SD_ERR_MISSING_FIELD},
		{REPORT("\"complete\":1,\"links\":[]"), SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":{}"), SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[],\"address\":\"example.org\""), SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[],\"address\":\"198.18.0.300\""), SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[],\"address\":\"198.18.0.1\\u0000x\""), SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[],\"address\":7"), SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[],\"have\":\"AAAA\""), SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[],\"have\":\"gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\""),
		 SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[],\"have\":\"gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*E=\""),
		 SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[7]"), SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[" LINK("ABCDEFABCDEF", "1", "1", "1") "]"), SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[" LINK(PEER, "-1", "1", "1") "]"), SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[" LINK(PEER, "1", "10000001", "1") "]"), SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[" LINK(PEER, "1.5", "1", "1") "]"), SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[" LINK(PEER, "\"1\"", "1", "1") "]"), SD_ERR_INVALID_FIELD},
		{REPORT("\"complete\":true,\"links\":[{\"peer\":\"" PEER "\",\"rtt_ms\":1,\"down_kbps\":1}]"),
		 SD_ERR_MISSING_FIELD},
		{REPORT("\"complete\":true,\"links\":[{\"peer\":\"" PEER "\",\"rtt_ms\":1,\"down_kbps\":1,\"up_kbps\":1,"
		        "\"loss\":0}]"),
		 SD_ERR_UNKNOWN_FIELD},
		{REPORT("\"complete\":true,\"links\":[],\"peer_secret\":\"" TOKEN "\""), SD_ERR_UNKNOWN_FIELD},
		{"{\"request\":\"join\",\"share\":\"" SHARE "\",\"address\":\"\"}", SD_ERR_INVALID_FIELD},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int code = parse_code(cases[i].body, NULL);
		if (code != cases[i].code)
			fail_msg("case %zu: code %d, wanted %d: %s", i, code, cases[i].code, cases[i].body);
	}
}

static void a_report_has_at_most_max_links_plus_two_links(void **state)
{
	(void)state;
	sd_limits limits;
	sd_limits_default(&limits);
	limits.max_links_per_member = 2;
	json_t *links = json_array();
	for (int i = 0; i < 5; i++)
		json_array_append_new(links, json_pack("{s:s, s:i, s:i, s:i}", "peer", PEER, "rtt_ms", 1, "down_kbps", 1,
		                                       "up_kbps", 1));
	json_t *body = json_pack("{s:s, s:s, s:b, s:O}", "request", "report", "share", SHARE, "complete", 0, "links", links);
	sd_request req;
	sd_error err;
	assert_false(sd_request_parse(body, &limits, &req, &err));
	assert_int_equal(err.code, SD_ERR_TOO_LARGE);
	assert_non_null(strstr(err.message, "4 allowed"));
	json_array_remove(links, 0);
	json_object_set(body, "links", links);
	assert_true(sd_request_parse(body, &limits, &req, &err));
	assert_int_equal(req.n_links, 4);
	/* At the largest setting, 66 fit the request's fixed room. */
	limits.max_links_per_member = SD_LINKS_MAX;
	while (json_array_size(links) < SD_LINKS_MAX + 3)
		json_array_append(links, json_array_get(links, 0));
	json_object_set(body, "links", links);
	assert_false(sd_request_parse(body, &limits, &req, &err));
	assert_int_equal(err.code, SD_ERR_TOO_LARGE);
	json_array_remove(links, 0);
	json_object_set(body, "links", links);
	assert_true(sd_request_parse(body, &limits, &req, &err));
	assert_int_equal(req.n_links, SD_LINKS_MAX + 2);
	json_decref(links);
	json_decref(body);
}

static void error_json_has_code_and_reason(void **state)
{
	(void)state;
	sd_error err;
	sd_fail(&err, SD_ERR_NO_SUCH_SHARE, "no share %s", SHARE);
	json_t *j = sd_error_json(&err);
	assert_string_equal(json_string_value(json_object_get(j, "swarmdrop")), "error");
	assert_int_equal(json_integer_value(json_object_get(j, "error_code")), 445);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "no share " SHARE);
	json_decref(j);
}

int run_request_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_request_parses),
		cmocka_unit_test(signal_keeps_payload_and_target),
		cmocka_unit_test(operator_requests_take_their_text_fields),
		cmocka_unit_test(bodies_that_are_not_objects_are_refused),
		cmocka_unit_test(unknown_or_missing_request_is_refused),
		cmocka_unit_test(missing_fields_are_named),
		cmocka_unit_test(fields_with_wrong_type_or_shape_are_refused),
		cmocka_unit_test(fields_a_request_does_not_take_are_refused),
		cmocka_unit_test(payload_size_is_bounded),
		cmocka_unit_test(long_unknown_names_are_truncated_in_messages),
		cmocka_unit_test(error_json_has_code_and_reason),
		cmocka_unit_test(report_takes_what_a_member_holds_and_measures),
		cmocka_unit_test(bad_reports_are_refused_with_the_field_named),
		cmocka_unit_test(a_report_has_at_most_max_links_plus_two_links),
	};
	return cmocka_run_group_tests_name("request", tests, NULL, NULL);
}

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
	};
	return cmocka_run_group_tests_name("request", tests, NULL, NULL);
}

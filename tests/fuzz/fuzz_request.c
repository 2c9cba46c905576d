/* libFuzzer harness over the request parser: the input is read as JSON (any value, as a client
 * could send it in a Janus message body) and sd_request_parse checks it under tight limits (the
 * smallest signal payload and link count the .jcfg allows). A refusal must carry a protocol code
 * and a reason that fits; an accepted request must hold what its kind promises. Built and run by
 * tests/fuzz/run.sh. */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "sd_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sd_limits limits;
	static bool ready;
	if (!ready) {
		sd_limits_default(&limits);
		limits.max_signal_bytes = 256;
		limits.max_links_per_member = 2;
		ready = true;
	}
	json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (body == NULL)
		return 0;
	sd_request req;
	sd_error err = {0};
	if (sd_request_parse(body, &limits, &req, &err)) {
		size_t share = strlen(req.share), to = strlen(req.to);
		if ((share != 0 && share != SD_SHARE_ID_LEN) || (to != 0 && to != SD_PEER_ID_LEN) ||
		    req.n_links > limits.max_links_per_member + 2 || (req.kind == SD_REQ_SIGNAL && req.payload == NULL) ||
		    (req.kind == SD_REQ_PUBLISH && req.path == NULL))
			__builtin_trap();
		if (req.payload != NULL && json_dumpb(req.payload, NULL, 0, JSON_COMPACT) > limits.max_signal_bytes)
			__builtin_trap();
	} else {
		if (err.code < SD_ERR_BAD_BODY || err.code > SD_ERR_INTERNAL || memchr(err.message, '\0', sizeof err.message) == NULL)
			__builtin_trap();
		json_decref(sd_error_json(&err));
	}
	json_decref(body);
	return 0;
}

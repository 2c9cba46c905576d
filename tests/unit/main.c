#include <stdio.h>

#include "unit.h"

int main(void)
{
	int failed = run_ids_tests() + run_limits_tests() + run_request_tests() + run_registry_tests() + run_service_tests() + run_nodes_tests() + run_cluster_tests() +
	             run_content_tests() + run_manifest_tests() + run_relay_tests() +
	             run_seed_tests() + run_publish_tests() + run_media_tests() + run_locate_tests() + run_rank_tests() +
	             run_quota_tests() + run_bucket_tests() + run_stats_tests();
	return failed == 0 ? 0 : 1;
}

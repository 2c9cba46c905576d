/* Unit test groups, one per src module; each returns its number of failed tests. */
#ifndef SD_UNIT_H
#define SD_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

int run_ids_tests(void);
int run_limits_tests(void);
int run_request_tests(void);
int run_registry_tests(void);
int run_service_tests(void);
int run_nodes_tests(void);
int run_cluster_tests(void);
int run_content_tests(void);
int run_manifest_tests(void);
int run_relay_tests(void);
int run_seed_tests(void);
int run_publish_tests(void);
int run_media_tests(void);
int run_locate_tests(void);
int run_rank_tests(void);
int run_quota_tests(void);
int run_bucket_tests(void);
int run_stats_tests(void);

#endif

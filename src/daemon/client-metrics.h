/* Prometheus metrics of a Kubernetes client, shared by the daemons:
 * requests by verb, resource and code, request latency, client-side
 * throttling time, and informer watch restarts and relists. */
#pragma once

#include "kube/client.h"
#include "kube/informer.h"
#include "daemon/metrics.h"

struct kube_client_metrics;

struct kube_client_metrics *kube_client_metrics_new(struct metrics *m, struct kube_client *c);
/* Informers whose stats are exported (by resource plural). */
void kube_client_metrics_add_informer(struct kube_client_metrics *km, const char *resource,
                                      struct kube_informer *inf);
/* Refresh gauges that are read on scrape (call from the metrics collector). */
void kube_client_metrics_collect(struct kube_client_metrics *km);
void kube_client_metrics_free(struct kube_client_metrics *km);

/* "GET /api/v1/namespaces/x/services?watch=1" → verb "WATCH", resource
 * "services"; ".../services/y/status" → "GET", "services/status". */
void kube_request_classify(const char *method, const char *path, char *verb, size_t verb_len,
                           char *resource, size_t resource_len);

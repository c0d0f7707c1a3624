/* From the program's configuration to a ready Kubernetes client. */
#pragma once

#include "client.h"
#include "lib/config.h"

/* Load --kubeconfig (else $KUBECONFIG, else in-cluster) and create a client
 * with the configured QPS and burst. Logs and returns a negative errno. */
int kube_connect(sd_event *e, const struct l2lb_config *cfg, const char *user_agent,
                 struct kube_client **ret);

/* GET /version synchronously (start-up check); returns the gitVersion. */
int kube_server_version(struct kube_client *c, char **ret_version, uint64_t timeout_usec);

/* From a kubeconfig path and client limits to a ready Kubernetes client. */
#pragma once

#include "client.h"

struct kube_connect_options {
        const char *kubeconfig; /* NULL or "": $KUBECONFIG, else in-cluster */
        const char *context;    /* NULL or "": the current-context */
        bool home;              /* also try ~/.kube/config before in-cluster (the CLI) */
        double qps;
        unsigned burst;
        const char *user_agent;
};

/* Load the client configuration and create a client with the given QPS and
 * burst. Logs and returns a negative errno. */
int kube_connect(sd_event *e, const struct kube_connect_options *opts, struct kube_client **ret);

/* GET /version synchronously (start-up check); returns the gitVersion. */
int kube_server_version(struct kube_client *c, char **ret_version, uint64_t timeout_usec);

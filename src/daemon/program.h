/* Start-up shared by the l2lb programs: configuration, --help, --version
 * and logging, so every program behaves the same way on the command line. */
#pragma once

#include <systemd/sd-event.h>

#include "daemon/config.h"
#include "kube/client.h"

struct program_info {
        const char *name;     /* "l2lb-agent" */
        unsigned program;     /* CONFIG_AGENT, ... */
        const char *summary;  /* one line: what the program does */
        const char *usage;    /* extra usage lines (subcommands), may be NULL */
};

/* Returns 0 to continue, 1 if the program should exit successfully
 * (--help/--version printed), or a negative errno after printing why. */
int program_init(const struct program_info *info, int argc, char **argv,
                 struct l2lb_config *cfg, char ***ret_args);

/* The program's Kubernetes client from its configuration (--kubeconfig,
 * k8s-client-qps, k8s-client-burst). Logs and returns a negative errno. */
int program_kube_connect(sd_event *e, const struct l2lb_config *cfg, const char *user_agent,
                         struct kube_client **ret);

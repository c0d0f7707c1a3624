/* Start-up shared by the l2lb programs: configuration, --help, --version
 * and logging, so every program behaves the same way on the command line;
 * and the daemons' main loop (signals, event loop, exit codes). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "daemon/config.h"
#include "daemon/metrics.h"
#include "kube/client.h"

/* "NAME version 0.1.0 (commit 5c5060e1a2b3, gcc 12.2.0)": what --version
 * prints (the commit is "unknown" outside a git checkout). Caller frees. */
char *program_version(const char *name);

/* A daemon's metrics registry, with the build_info gauge every daemon
 * exposes: l2lb_build_info{version="0.1.0",commit="5c5060e1a2b3"} 1. */
struct metrics *program_metrics_new(void);

struct program_info {
        const char *name;    /* "l2lb-agent" */
        unsigned program;    /* CONFIG_AGENT, ... */
        const char *summary; /* one line: what the program does */
        const char *usage;   /* extra usage lines (subcommands), may be NULL */
};

/* Returns 0 to continue, 1 if the program should exit successfully
 * (--help/--version printed), or a negative errno after printing why. */
int program_init(const struct program_info *info, int argc, char **argv, struct l2lb_config *cfg,
                 char ***ret_args);

/* The program's Kubernetes client from its configuration (--kubeconfig,
 * k8s-client-qps, k8s-client-burst). Logs and returns a negative errno. */
int program_kube_connect(sd_event *e, const struct l2lb_config *cfg, const char *user_agent,
                         struct kube_client **ret);

/* A name for this instance when none is configured: $env_var if set, else
 * the host name (fallback if it cannot be read), with "_<pid>" appended if
 * unique. */
char *program_default_name(const char *env_var, const char *fallback, bool unique);

/* A daemon, driven by program_run(). */
struct program_ops {
        /* Returns 0 with the daemon's object, 1 after logging that there is
         * nothing to run (exit 0), or a negative errno. cfg outlives it. */
        int (*create)(sd_event *e, struct l2lb_config *cfg, void **ret);
        int (*start)(void *p);
        /* SIGTERM/SIGINT (signal is its name): log, stop, then call
         * done(userdata); the program exits then, or after shutdown_timeout
         * at the latest. */
        void (*shutdown)(void *p, const struct l2lb_config *cfg, const char *signal,
                         void (*done)(void *), void *userdata);
        void (*free)(void *p);
        uint64_t shutdown_timeout; /* µs */
};

/* program_init(), then the daemon on the default event loop until it has
 * stopped after a signal. Returns the exit code: 0, 1 (failed) or 2 (bad
 * command line or configuration). */
int program_run(const struct program_info *info, const struct program_ops *ops, int argc,
                char **argv);

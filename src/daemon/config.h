/* One configuration mechanism for every l2lb program.
 *
 * Every key (Cilium's names) can be given as a flag `--<key>=<value>` (or
 * `--<key> <value>`; a bare `--<key>` sets a boolean), as a file named <key> in
 * `--config-dir DIR` (what a mounted ConfigMap looks like), or left at its
 * default. Flags win over files. Unknown keys and malformed values are refused
 * with a message naming the key, the value and what was expected.
 *
 * A config directory may hold keys for other l2lb programs (one ConfigMap
 * serves the operator and the agent): those are accepted and ignored; names
 * that no l2lb program knows are refused. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum config_program {
        CONFIG_OPERATOR = 1 << 0,
        CONFIG_AGENT = 1 << 1,
        CONFIG_CLI = 1 << 2,
};

enum config_source {
        CONFIG_SOURCE_DEFAULT,
        CONFIG_SOURCE_FILE,
        CONFIG_SOURCE_FLAG,
};

struct l2lb_config {
        /* Kubernetes client */
        char *kubeconfig;
        char *config_dir;
        double k8s_client_qps;
        uint64_t k8s_client_burst;
        char *k8s_namespace;

        /* features */
        bool enable_lb_ipam;
        char *default_lb_service_ipam; /* "lbipam" | "none" */
        bool enable_ipv4;
        bool enable_ipv6;
        bool enable_l2_announcements;
        bool enable_bgp_control_plane;
        bool enable_external_ips;

        /* L2 announcements (agent) */
        uint64_t l2_announcements_lease_duration; /* usec */
        uint64_t l2_announcements_renew_deadline;
        uint64_t l2_announcements_retry_period;
        char *l2_announcements_election; /* "node-heartbeat" | "lease-per-service" */
        char **devices;
        char **l2_announcements_external_ips_cidrs; /* validated CIDRs */
        char *node_name;
        char *bpf_root;
        bool release_on_shutdown;
        char *status_socket;
        char *xdp_mode; /* "auto" | "native" | "generic" */

        /* operator leader election */
        uint64_t leader_election_lease_duration;
        uint64_t leader_election_renew_deadline;
        uint64_t leader_election_retry_period;
        char *identity;

        /* observability */
        char *prometheus_serve_addr;
        char *log_format;
        char *log_level;

        enum config_source *sources; /* one per key of the table */
};

/* Outcome of config_load() besides errors. */
enum config_load_result {
        CONFIG_LOADED,
        CONFIG_HELP,    /* --help was given */
        CONFIG_VERSION, /* --version was given */
};

/* Fill c from defaults, the config directory and argv (argv[0] is skipped).
 * Positional arguments (anything not starting with "--", and everything
 * after "--") are returned in *ret_args (NULL-terminated, may be empty).
 * Returns a config_load_result (>= 0) or a negative errno with *ret_error
 * set to a message for the user. */
int config_load(struct l2lb_config *c, unsigned program, int argc, char **argv, char ***ret_args,
                char **ret_error);
void config_done(struct l2lb_config *c);

/* "key value" lines of the keys used by program, sorted by key, values in
 * their configuration syntax (as `cilium config view` prints them). */
void config_view(const struct l2lb_config *c, unsigned program, FILE *f);
void config_help(unsigned program, FILE *f);
/* Value of one key in configuration syntax; NULL if unknown. Caller frees. */
char *config_format_value(const struct l2lb_config *c, const char *key);

/* The key table below is the whole configuration surface of l2lb: name,
 * type, default, which programs use it, and where in struct l2lb_config the
 * value lands. Loading is defaults → config directory → flags. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "lib/addr.h"
#include "lib/duration.h"
#include "lib/log.h"
#include "lib/util.h"

enum config_type {
        T_BOOL,
        T_STRING,
        T_DURATION,
        T_UINT,
        T_FLOAT,
        T_LIST,
        T_CIDRS, /* a T_LIST whose items must parse as CIDRs */
};

#define ALL (CONFIG_OPERATOR | CONFIG_AGENT | CONFIG_CLI)
#define OP  CONFIG_OPERATOR
#define AG  CONFIG_AGENT
#define CL  CONFIG_CLI

struct config_key {
        const char *name;
        enum config_type type;
        size_t offset;
        const char *def;
        unsigned programs;
        const char *const *choices; /* for T_STRING: allowed values, NULL = any */
        const char *help;
        const char *def_operator; /* the operator's own default, if it differs */
};

static const char *const lb_ipam_choices[] = {"lbipam", "none", NULL};
static const char *const log_format_choices[] = {"logfmt", "json", NULL};
static const char *const log_level_choices[] = {"debug", "info", "warn", "error", NULL};
static const char *const xdp_mode_choices[] = {"auto", "native", "generic", NULL};
static const char *const election_choices[] = {"node-heartbeat", "lease-per-service", NULL};

#define K(n, t, field, d, p, ch, h)                                                                \
        {                                                                                          \
                n, t, offsetof(struct l2lb_config, field), d, p, ch, h, NULL                       \
        }
/* a key whose default differs for the operator (Cilium's operator-k8s-client-*) */
#define KO(n, t, field, d, dop, p, h)                                                              \
        {                                                                                          \
                n, t, offsetof(struct l2lb_config, field), d, p, NULL, h, dop                      \
        }

/* Sorted by name: config_view prints in this order. */
static const struct config_key keys[] = {
    K("bpf-root", T_STRING, bpf_root, "/sys/fs/bpf/l2lb", AG | CL, NULL,
      "bpffs directory for the responder's pinned maps and links"),
    K("config-dir", T_STRING, config_dir, "", ALL, NULL,
      "directory with one file per key (a mounted ConfigMap)"),
    K("default-lb-service-ipam", T_STRING, default_lb_service_ipam, "lbipam", OP, lb_ipam_choices,
      "IPAM for LoadBalancer services without loadBalancerClass"),
    K("devices", T_LIST, devices, "", AG | CL, NULL,
      "comma-separated devices to announce on (empty: chosen as Cilium detects devices)"),
    K("enable-bgp-control-plane", T_BOOL, enable_bgp_control_plane, "false", OP, NULL,
      "accept loadBalancerClass io.cilium/bgp-control-plane"),
    K("enable-external-ips", T_BOOL, enable_external_ips, "false", AG | CL, NULL,
      "announce spec.externalIPs of services"),
    K("enable-ipv4", T_BOOL, enable_ipv4, "true", OP | AG | CL, NULL,
      "allocate and announce IPv4 addresses"),
    K("enable-ipv6", T_BOOL, enable_ipv6, "false", OP | AG | CL, NULL,
      "allocate and announce IPv6 addresses"),
    K("enable-l2-announcements", T_BOOL, enable_l2_announcements, "true", OP | AG | CL, NULL,
      "announce service IPs with ARP/NDP (and accept loadBalancerClass "
      "io.cilium/l2-announcer)"),
    K("enable-lb-ipam", T_BOOL, enable_lb_ipam, "true", OP, NULL,
      "assign LoadBalancer IPs from CiliumLoadBalancerIPPools"),
    K("identity", T_STRING, identity, "", OP, NULL,
      "leader election identity (default: POD_NAME, else hostname_pid)"),
    KO("k8s-client-burst", T_UINT, k8s_client_burst, "20", "200", ALL,
       "Kubernetes client burst above the QPS limit (operator: 200)"),
    KO("k8s-client-qps", T_FLOAT, k8s_client_qps, "10", "100", ALL,
       "Kubernetes client queries per second (operator: 100)"),
    K("k8s-namespace", T_STRING, k8s_namespace, "kube-system", ALL, NULL,
      "namespace of l2lb's Leases"),
    K("kubeconfig", T_STRING, kubeconfig, "", ALL, NULL,
      "kubeconfig file (default: $KUBECONFIG, else in-cluster; the l2lb command tries "
      "~/.kube/config before in-cluster)"),
    K("l2-announcements-election", T_STRING, l2_announcements_election, "node-heartbeat", AG,
      election_choices,
      "how the one node answering each IP is chosen: one heartbeat Lease per node, or one Lease "
      "per service as Cilium does"),
    K("l2-announcements-external-ips-cidrs", T_CIDRS, l2_announcements_external_ips_cidrs, "", AG,
      NULL,
      "comma-separated CIDRs external IPs must be in to be announced (empty: none is, even with "
      "enable-external-ips)"),
    K("l2-announcements-lease-duration", T_DURATION, l2_announcements_lease_duration, "15s",
      AG | CL, NULL, "how long a lease is valid without renewal"),
    K("l2-announcements-renew-deadline", T_DURATION, l2_announcements_renew_deadline, "5s", AG | CL,
      NULL, "the holder stops announcing when it could not renew for this long"),
    K("l2-announcements-retry-period", T_DURATION, l2_announcements_retry_period, "2s", AG | CL,
      NULL, "interval between attempts to acquire or renew"),
    K("leader-election-lease-duration", T_DURATION, leader_election_lease_duration, "15s", OP, NULL,
      "operator leader lease duration"),
    K("leader-election-renew-deadline", T_DURATION, leader_election_renew_deadline, "10s", OP, NULL,
      "operator leader renew deadline"),
    K("leader-election-retry-period", T_DURATION, leader_election_retry_period, "2s", OP, NULL,
      "operator leader retry period"),
    K("log-format", T_STRING, log_format, "logfmt", ALL, log_format_choices, "log line format"),
    K("log-level", T_STRING, log_level, "info", ALL, log_level_choices, "minimum log level"),
    K("node-name", T_STRING, node_name, "", AG | CL, NULL,
      "this node's name (default: NODE_NAME, else the host name)"),
    K("prometheus-serve-addr", T_STRING, prometheus_serve_addr, "", OP | AG, NULL,
      "address for /metrics, /healthz and /readyz: HOST:PORT, [IPv6]:PORT, :PORT (every "
      "interface) or empty (off)"),
    K("release-on-shutdown", T_BOOL, release_on_shutdown, "false", AG, NULL,
      "hand leases over on SIGTERM instead of keeping them for a restart"),
    K("status-socket", T_STRING, status_socket, "/run/l2lb/agent.sock", AG | CL, NULL,
      "unix socket of the agent's local status endpoint"),
    K("xdp-mode", T_STRING, xdp_mode, "auto", AG, xdp_mode_choices,
      "XDP attach mode of the responder (auto: per device, generic on veths without XDP peer)"),
};

#define N_KEYS ELEMENTSOF(keys)

static const struct config_key *key_find(const char *name, size_t len)
{
        for (size_t i = 0; i < N_KEYS; i++)
                if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
                        return &keys[i];
        return NULL;
}

static void *key_ptr(struct l2lb_config *c, const struct config_key *k)
{
        return (char *)c + k->offset;
}

static const void *key_cptr(const struct l2lb_config *c, const struct config_key *k)
{
        return (const char *)c + k->offset;
}

static int parse_bool(const char *s, bool *ret)
{
        /* Go's strconv.ParseBool */
        static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                if (streq(s, t[i])) {
                        *ret = true;
                        return 0;
                }
                if (streq(s, f[i])) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* Parse value for key k into c. On error returns -EINVAL with *err set. */
static int key_set(struct l2lb_config *c, const struct config_key *k, const char *value,
                   const char *origin, char **err)
{
        void *p = key_ptr(c, k);
        char *end;
        int r;

        switch (k->type) {
        case T_BOOL:
                if (parse_bool(value, p) < 0)
                        goto bad;
                return 0;
        case T_STRING:
                if (k->choices) {
                        bool ok = false;

                        for (const char *const *ch = k->choices; *ch; ch++)
                                ok = ok || streq(*ch, value);
                        if (!ok)
                                goto bad;
                }
                free_and_strdup(p, value);
                return 0;
        case T_DURATION:
                r = duration_parse(value, p);
                if (r < 0)
                        goto bad;
                return 0;
        case T_UINT: {
                unsigned long long v;

                errno = 0;
                if (!isdigit((unsigned char)*value))
                        goto bad;
                v = strtoull(value, &end, 10);
                if (errno || *end || v > UINT32_MAX)
                        goto bad;
                *(uint64_t *)p = v;
                return 0;
        }
        case T_FLOAT: {
                double v;

                errno = 0;
                v = strtod(value, &end);
                if (errno || *end || end == value || !isfinite(v) || v < 0)
                        goto bad;
                *(double *)p = v;
                return 0;
        }
        case T_LIST:
        case T_CIDRS: {
                char **v = strv_split_comma(value);

                for (char **i = v; k->type == T_CIDRS && i && *i; i++) {
                        struct iprange ignored;

                        if (iprange_parse_cidr(*i, &ignored) < 0) {
                                strv_free(v);
                                goto bad;
                        }
                }
                strv_free(*(char ***)p);
                *(char ***)p = v;
                return 0;
        }
        }
bad : {
        static const char *const expect[] = {
            [T_BOOL] = "true or false",
            [T_STRING] = "one of",
            [T_DURATION] = "a duration such as 3s, 500ms or 1m30s",
            [T_UINT] = "a non-negative integer",
            [T_FLOAT] = "a non-negative number",
            [T_LIST] = "a comma-separated list",
            [T_CIDRS] = "a comma-separated list of CIDRs such as 192.0.2.0/24",
        };
        char choices[256] = "";

        if (k->choices)
                for (const char *const *ch = k->choices; *ch; ch++) {
                        strncat(choices, " ", sizeof(choices) - strlen(choices) - 1);
                        strncat(choices, *ch, sizeof(choices) - strlen(choices) - 1);
                }
        *err = xasprintf("invalid value \"%s\" for %s%s: expected %s%s", value, origin, k->name,
                         expect[k->type], choices);
        return -EINVAL;
}
}

static int load_dir(struct l2lb_config *c, unsigned program, const char *dir, char **err)
{
        struct dirent **names = NULL;
        int n, r = 0;

        n = scandir(dir, &names, NULL, alphasort);
        if (n < 0) {
                r = -errno;
                *err = xasprintf("cannot read config directory %s: %s", dir, strerror(errno));
                return r;
        }
        for (int i = 0; i < n; i++) {
                const char *name = names[i]->d_name;
                const struct config_key *k;
                _cleanup_free_ char *path = NULL, *value = NULL;

                struct stat st;

                /* ConfigMap volumes carry ..data and ..<timestamp> entries */
                if (r < 0 || name[0] == '.')
                        continue;
                path = xasprintf("%s/%s", dir, name);
                /* one key per regular file (or symlink to one, as in a
                 * ConfigMap volume); a directory is no key, and a FIFO or
                 * device could block or never end: skipped, not fatal */
                if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                        log_warn("config directory entry skipped: not a regular file",
                                 "path=%s type=%s", log_q(path),
                                 S_ISDIR(st.st_mode) ? "directory" : "special");
                        continue;
                }
                k = key_find(name, strlen(name));
                if (!k) {
                        *err = xasprintf("config directory %s: unknown configuration key \"%s\"",
                                         dir, name);
                        r = -EINVAL;
                        continue;
                }
                if (streq(k->name, "config-dir"))
                        continue;
                r = read_full_file(path, &value, NULL);
                if (r < 0) {
                        *err = xasprintf("cannot read %s: %s", path, strerror(-r));
                        continue;
                }
                strstrip(value);
                if (!(k->programs & program))
                        continue; /* another program's key */
                r = key_set(c, k, value, "config file ", err);
                if (r >= 0 && c->sources)
                        c->sources[k - keys] = CONFIG_SOURCE_FILE;
        }
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

static const char *key_default(const struct config_key *k, unsigned program)
{
        return program == CONFIG_OPERATOR && k->def_operator ? k->def_operator : k->def;
}

static void config_defaults(struct l2lb_config *c, unsigned program)
{
        for (size_t i = 0; i < N_KEYS; i++) {
                char *err = NULL;
                int r = key_set(c, &keys[i], key_default(&keys[i], program), "default ", &err);

                assert(r >= 0);
                (void)r;
                free(err);
        }
}

int config_load(struct l2lb_config *c, unsigned program, int argc, char **argv, char ***ret_args,
                char **ret_error)
{
        char **args = xnew(char *, 1);
        const char *config_dir = NULL;
        int r, result = CONFIG_LOADED;

        assert(c);
        assert(ret_error);
        *ret_error = NULL;
        memset(c, 0, sizeof(*c));
        c->sources = xnew(enum config_source, N_KEYS);
        config_defaults(c, program);

        /* First pass: --help, --version and --config-dir decide what comes next. */
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (streq(a, "--"))
                        break;
                if (streq(a, "--help") || streq(a, "-h"))
                        result = CONFIG_HELP;
                else if (streq(a, "--version"))
                        result = result == CONFIG_HELP ? result : CONFIG_VERSION;
                else if (startswith(a, "--config-dir="))
                        config_dir = a + strlen("--config-dir=");
                else if (streq(a, "--config-dir") && i + 1 < argc)
                        config_dir = argv[i + 1];
        }
        if (result != CONFIG_LOADED) {
                strv_free(args);
                config_done(c);
                return result;
        }
        if (config_dir && *config_dir) {
                r = load_dir(c, program, config_dir, ret_error);
                if (r < 0)
                        goto fail;
        }

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *name, *eq, *value;
                const struct config_key *k;

                if (streq(a, "--")) {
                        for (i++; i < argc; i++)
                                strv_push(&args, argv[i]);
                        break;
                }
                name = startswith(a, "--");
                if (!name) {
                        strv_push(&args, a);
                        continue;
                }
                eq = strchr(name, '=');
                k = key_find(name, eq ? (size_t)(eq - name) : strlen(name));
                if (!k || !(k->programs & program)) {
                        *ret_error =
                            xasprintf("unknown flag --%.*s (see --help)",
                                      (int)(eq ? (size_t)(eq - name) : strlen(name)), name);
                        r = -EINVAL;
                        goto fail;
                }
                if (eq)
                        value = eq + 1;
                else if (k->type == T_BOOL)
                        value = "true";
                else if (i + 1 < argc)
                        value = argv[++i];
                else {
                        *ret_error = xasprintf("flag --%s needs a value", k->name);
                        r = -EINVAL;
                        goto fail;
                }
                r = key_set(c, k, value, "flag --", ret_error);
                if (r < 0)
                        goto fail;
                c->sources[k - keys] = CONFIG_SOURCE_FLAG;
        }
        if (ret_args)
                *ret_args = args;
        else
                strv_free(args);
        return CONFIG_LOADED;
fail:
        strv_free(args);
        config_done(c);
        if (!*ret_error)
                *ret_error = xasprintf("%s", strerror(-r));
        return r;
}

void config_done(struct l2lb_config *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < N_KEYS; i++) {
                void *p = key_ptr(c, &keys[i]);

                if (keys[i].type == T_STRING) {
                        free(*(char **)p);
                        *(char **)p = NULL;
                } else if (keys[i].type == T_LIST || keys[i].type == T_CIDRS) {
                        strv_free(*(char ***)p);
                        *(char ***)p = NULL;
                }
        }
        free(c->sources);
        c->sources = NULL;
}

static char *format_key(const struct l2lb_config *c, const struct config_key *k)
{
        const void *p = key_cptr(c, k);
        char buf[64], *s = NULL;

        switch (k->type) {
        case T_BOOL:
                return xstrdup(*(const bool *)p ? "true" : "false");
        case T_STRING:
                return xstrdup(strempty(*(char *const *)p));
        case T_DURATION:
                return xstrdup(duration_format(*(const uint64_t *)p, buf, sizeof(buf)));
        case T_UINT:
                return xasprintf("%" PRIu64, *(const uint64_t *)p);
        case T_FLOAT:
                return xasprintf("%g", *(const double *)p);
        case T_LIST:
        case T_CIDRS: {
                char *const *v = *(char **const *)p;
                size_t len = 1;

                for (size_t i = 0; v && v[i]; i++)
                        len += strlen(v[i]) + 1;
                s = xnew(char, len);
                for (size_t i = 0; v && v[i]; i++) {
                        if (i)
                                strcat(s, ",");
                        strcat(s, v[i]);
                }
                return s;
        }
        }
        return NULL;
}

char *config_format_value(const struct l2lb_config *c, const char *key)
{
        const struct config_key *k = key_find(key, strlen(key));

        return k ? format_key(c, k) : NULL;
}

void config_view(const struct l2lb_config *c, unsigned program, FILE *f)
{
        for (size_t i = 0; i < N_KEYS; i++) {
                _cleanup_free_ char *v = NULL;

                if (!(keys[i].programs & program) || streq(keys[i].name, "config-dir"))
                        continue;
                v = format_key(c, &keys[i]);
                fprintf(f, "%-40s %s\n", keys[i].name, strempty(v));
        }
}

void config_help(unsigned program, FILE *f)
{
        for (size_t i = 0; i < N_KEYS; i++) {
                if (!(keys[i].programs & program))
                        continue;
                fprintf(f, "  --%s=%s\n        %s (default \"%s\")\n", keys[i].name,
                        keys[i].type == T_BOOL       ? "BOOL"
                        : keys[i].type == T_DURATION ? "DURATION"
                        : keys[i].type == T_LIST     ? "LIST"
                        : keys[i].type == T_CIDRS    ? "LIST"
                        : keys[i].type == T_STRING   ? "STRING"
                                                     : "NUMBER",
                        keys[i].help, key_default(&keys[i], program));
        }
}

/* l2lb: the command line.
 *
 *   l2lb config view      effective agent configuration (Cilium's key names)
 *   l2lb status           agent health, devices, leases held, IPs announced
 *   l2lb leases           every L2 announcement lease: service, IPs, holder, age
 *   l2lb pools            LB-IPAM pools: blocks, used/available, conflicts
 *   l2lb bpf l2 list      responder entries with their counters
 *
 * status and config view ask the local agent over its unix socket
 * (--status-socket); leases and pools ask the API server (--kubeconfig);
 * bpf l2 list reads the pinned map under --bpf-root. */
#include <curl/curl.h>
#include <jansson.h>
#include <net/if.h>
#include <glib.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "announce/service.h"
#include "bpf/responder.h"
#include "kube/api.h"
#include "api/objects.h"
#include "daemon/config.h"
#include "lib/duration.h"
#include "lib/log.h"
#include "daemon/program.h"
#include "lib/util.h"

static size_t append(char *ptr, size_t size, size_t n, void *ud)
{
        GString *s = ud;

        g_string_append_len(s, ptr, (gssize)(size * n));
        return size * n;
}

/* GET path from the agent's unix socket. */
static int agent_get(const struct l2lb_config *cfg, const char *path, char **ret)
{
        CURL *c = curl_easy_init();
        GString *body = g_string_new(NULL);
        char url[256], err[CURL_ERROR_SIZE] = "";
        long code = 0;
        CURLcode cc;

        (void)snprintf(url, sizeof(url), "http://agent%s", path);
        (void)curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, cfg->status_socket);
        (void)curl_easy_setopt(c, CURLOPT_URL, url);
        (void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append);
        (void)curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
        (void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
        (void)curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
        cc = curl_easy_perform(c);
        (void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        if (cc != CURLE_OK || code != 200) {
                fprintf(stderr,
                        "l2lb: cannot reach the agent at %s: %s\n"
                        "      (is l2lb-agent running on this node? see --status-socket)\n",
                        cfg->status_socket, cc != CURLE_OK ? err : "unexpected answer");
                g_string_free(body, TRUE);
                return -EHOSTUNREACH;
        }
        *ret = g_string_free(body, FALSE);
        return 0;
}

/* s made safe for the terminal (control characters escaped): strings from
 * the API or the agent never reach it raw. Valid until 32 more calls. */
static const char *esc(const char *s)
{
        static char *ring[32];
        static unsigned next;
        char **slot = &ring[next++ % ELEMENTSOF(ring)];

        free(*slot);
        *slot = str_escape_control(s);
        return *slot;
}

static int cmd_config_view(const struct l2lb_config *cfg)
{
        char *text = NULL;

        if (access(cfg->status_socket, F_OK) == 0 && agent_get(cfg, "/config", &text) >= 0) {
                /* line by line: the newlines are the text's own */
                for (char *line = text, *nl; *line; line = nl ? nl + 1 : line + strlen(line)) {
                        nl = strchr(line, '\n');
                        if (nl)
                                *nl = 0;
                        printf("%s\n", esc(line));
                }
                free(text);
                return 0;
        }
        /* no agent here: the configuration as this command reads it */
        config_view(cfg, CONFIG_CLI, stdout);
        return 0;
}

/* A string member of the agent's answer, escaped for the terminal. */
static const char *jstr(json_t *o, const char *k)
{
        return esc(json_string_value(json_object_get(o, k)));
}

static int cmd_status(const struct l2lb_config *cfg)
{
        _cleanup_free_ char *text = NULL;
        json_t *o, *v;
        size_t i;
        int r;

        r = agent_get(cfg, "/status", &text);
        if (r < 0)
                return r;
        o = json_loads(text, 0, NULL);
        if (!o) {
                fprintf(stderr, "l2lb: malformed answer from the agent\n");
                return -EBADMSG;
        }
        printf("Node:        %s\n", jstr(o, "node"));
        printf("Ready:       %s\n", json_is_true(json_object_get(o, "ready")) ? "yes" : "no");
        printf("Synced:      %s\n", json_is_true(json_object_get(o, "synced")) ? "yes" : "no");
        printf("Leases held: %lld\n",
               (long long)json_integer_value(json_object_get(o, "leasesHeld")));
        if (json_object_get(o, "ipvsArpProblem"))
                printf("Warning:     kube-proxy IPVS without strictARP: %s\n",
                       jstr(o, "ipvsArpProblem"));
        printf("\nDevices (%s):\n  %-16s %-8s %-18s %-8s %s\n",
               streq_ptr(json_string_value(json_object_get(o, "deviceSelection")), "auto")
                   ? "chosen by detection, `devices` is empty"
                   : "configured",
               "NAME", "IFINDEX", "MAC", "CARRIER", "RESPONDER");
        json_array_foreach(json_object_get(o, "devices"), i, v)
        {
                bool att = json_is_true(json_object_get(v, "responder"));

                /* RESPONDER: the XDP mode and why, e.g. "generic (veth peer ...)" */
                printf("  %-16s %-8lld %-18s %-8s %s%s%s%s\n", jstr(v, "name"),
                       (long long)json_integer_value(json_object_get(v, "ifindex")), jstr(v, "mac"),
                       json_is_true(json_object_get(v, "carrier")) ? "up" : "down",
                       att ? jstr(v, "xdpMode") : "-", att ? " (" : "",
                       att ? jstr(v, "xdpModeReason") : "", att ? ")" : "");
        }
        printf("\nLeases:\n  %-48s %-28s %-20s %s\n", "LEASE", "SERVICE", "HOLDER", "ROLE");
        json_array_foreach(json_object_get(o, "leases"), i, v)
            printf("  %-48s %-28s %-20s %s\n", jstr(v, "lease"), jstr(v, "service"),
                   jstr(v, "holder"), jstr(v, "role"));
        printf("\nAnnounced IPs:\n  %-40s %-12s %-12s %-10s %-10s %s\n", "IP", "DEVICE", "DEADLINE",
               "REQUESTS", "REPLIES", "CONFLICTS");
        json_array_foreach(json_object_get(o, "entries"), i, v)
            printf("  %-40s %-12s %-12s %-10lld %-10lld %lld\n", jstr(v, "ip"), jstr(v, "device"),
                   json_integer_value(json_object_get(v, "deadlineMs")) > 0 ? "live" : "expired",
                   (long long)json_integer_value(json_object_get(v, "requests")),
                   (long long)json_integer_value(json_object_get(v, "replies")),
                   (long long)json_integer_value(json_object_get(v, "conflicts")));
        json_decref(o);
        return 0;
}

static int api_list(const struct l2lb_config *cfg, const struct kube_resource *res, const char *ns,
                    json_t **ret)
{
        sd_event *e = NULL;
        struct kube_client *c = NULL;
        struct kube_sync s = {0};
        int r;

        (void)sd_event_new(&e);
        log_setup("l2lb", LOG_FORMAT_LOGFMT, LOG_LEVEL_ERROR);
        r = program_kube_connect(e, cfg, "l2lb", &c);
        if (r < 0) {
                fprintf(stderr, "l2lb: cannot use the Kubernetes API (see --kubeconfig)\n");
                (void)sd_event_unref(e);
                return r;
        }
        r = kube_list(c, res, ns, NULL, kube_sync_callback, &s, NULL);
        if (r >= 0)
                r = kube_sync_wait(c, &s, 15 * USEC_PER_SEC);
        if (r < 0)
                fprintf(stderr, "l2lb: cannot list %s: %s\n", res->plural,
                        s.message ? esc(s.message) : strerror(-r));
        else
                *ret = json_incref(s.body);
        kube_sync_done(&s);
        kube_client_free(c);
        (void)sd_event_unref(e);
        return r;
}

static char *age(const char *ts, char *buf, size_t len)
{
        int64_t t, now = (int64_t)time(NULL) * 1000000;

        if (!ts || k8s_time_parse(ts, &t) < 0 || t > now) {
                (void)snprintf(buf, len, "-");
                return buf;
        }
        return duration_format((uint64_t)(now - t) / USEC_PER_SEC * USEC_PER_SEC, buf, len);
}

static int cmd_leases(const struct l2lb_config *cfg)
{
        json_t *leases = NULL, *services = NULL, *item;
        size_t i;
        int r;

        r = api_list(cfg, &KUBE_LEASES, cfg->k8s_namespace, &leases);
        if (r >= 0)
                r = api_list(cfg, &KUBE_SERVICES, NULL, &services);
        if (r < 0) {
                json_decref(leases);
                return r;
        }
        printf("%-32s %-24s %-20s %-8s %-8s %s\n", "SERVICE", "IPS", "HOLDER", "AGE", "RENEWED",
               "TRANSITIONS");
        json_array_foreach(json_object_get(leases, "items"), i, item)
        {
                struct k8s_lease *l = NULL;
                char *err = NULL, ips[256] = "", a[32], b[32], svcname[256] = "?";
                const char *suffix;
                json_t *s;
                size_t j;

                if (k8s_lease_decode(item, &l, &err) < 0) {
                        free(err);
                        continue;
                }
                suffix = startswith(l->meta.name, ANNOUNCE_LEASE_PREFIX);
                if (!suffix) {
                        k8s_lease_free(l);
                        continue;
                }
                /* the lease name is <prefix><namespace>-<name>: match it to a service */
                json_array_foreach(json_object_get(services, "items"), j, s)
                {
                        struct k8s_service *svc = NULL;
                        char *e2 = NULL, want[512];

                        if (k8s_service_decode(s, &svc, &e2) < 0) {
                                free(e2);
                                continue;
                        }
                        (void)snprintf(want, sizeof(want), "%s-%s", svc->meta.namespace,
                                       svc->meta.name);
                        if (streq(want, suffix)) {
                                (void)snprintf(svcname, sizeof(svcname), "%s/%s",
                                               svc->meta.namespace, svc->meta.name);
                                for (size_t k = 0; svc->external_ips && svc->external_ips[k]; k++)
                                        (void)snprintf(ips + strlen(ips), sizeof(ips) - strlen(ips),
                                                       "%s%s", *ips ? "," : "",
                                                       svc->external_ips[k]);
                                for (size_t k = 0; k < svc->n_ingress; k++)
                                        if (svc->ingress[k].ip)
                                                (void)snprintf(ips + strlen(ips),
                                                               sizeof(ips) - strlen(ips), "%s%s",
                                                               *ips ? "," : "", svc->ingress[k].ip);
                        }
                        k8s_service_free(svc);
                }
                printf("%-32s %-24s %-20s %-8s %-8s %d\n", esc(svcname), *ips ? esc(ips) : "-",
                       isempty(l->holder) ? "<none>" : esc(l->holder), age(l->acquire_time, a, 32),
                       age(l->renew_time, b, 32), l->lease_transitions);
                k8s_lease_free(l);
        }
        json_decref(leases);
        json_decref(services);
        return 0;
}

static int cmd_pools(const struct l2lb_config *cfg)
{
        json_t *pools = NULL, *item;
        size_t i;
        int r;

        r = api_list(cfg, &KUBE_IPPOOLS, NULL, &pools);
        if (r < 0)
                return r;
        printf("%-24s %-40s %-10s %-12s %-10s %s\n", "POOL", "BLOCKS", "USED", "AVAILABLE",
               "DISABLED", "CONFLICT");
        json_array_foreach(json_object_get(pools, "items"), i, item)
        {
                struct k8s_ippool *p = NULL;
                const struct k8s_condition *used, *avail, *conflict;
                char *err = NULL, blocks[512] = "";

                if (k8s_ippool_decode(item, &p, &err) < 0) {
                        free(err);
                        continue;
                }
                for (size_t b = 0; b < p->n_blocks; b++) {
                        const struct k8s_pool_block *bl = &p->blocks[b];

                        if (bl->cidr)
                                (void)snprintf(blocks + strlen(blocks),
                                               sizeof(blocks) - strlen(blocks), "%s%s",
                                               *blocks ? "," : "", bl->cidr);
                        else
                                (void)snprintf(blocks + strlen(blocks),
                                               sizeof(blocks) - strlen(blocks), "%s%s%s%s",
                                               *blocks ? "," : "", strempty(bl->start),
                                               bl->stop ? "-" : "", strempty(bl->stop));
                }
                used = k8s_conditions_find(&p->conditions, "cilium.io/IPsUsed");
                avail = k8s_conditions_find(&p->conditions, "cilium.io/IPsAvailable");
                conflict = k8s_conditions_find(&p->conditions, "cilium.io/PoolConflict");
                printf("%-24s %-40s %-10s %-12s %-10s %s\n", esc(p->meta.name),
                       *blocks ? esc(blocks) : "-", used ? esc(used->message) : "?",
                       avail ? esc(avail->message) : "?", p->disabled ? "true" : "false",
                       conflict && streq_ptr(conflict->status, "True") ? esc(conflict->message)
                                                                       : "no");
                k8s_ippool_free(p);
        }
        json_decref(pools);
        return 0;
}

static int cmd_bpf_l2_list(const struct l2lb_config *cfg)
{
        struct responder_entry *e = NULL;
        size_t n = 0;
        uint64_t now = responder_now_ns();
        int r;

        r = responder_list_pinned(cfg->bpf_root, &e, &n);
        if (r < 0) {
                fprintf(stderr, "l2lb: no responder maps under %s: %s (see --bpf-root)\n",
                        cfg->bpf_root, strerror(-r));
                return r;
        }
        printf("%-40s %-8s %-12s %-10s %s\n", "IP", "IFINDEX", "STATE", "REQUESTS", "REPLIES");
        for (size_t i = 0; i < n; i++) {
                char ip[IPADDR_STRLEN], state[32];

                if (e[i].deadline_ns > now)
                        (void)snprintf(state, sizeof(state), "live %llums",
                                       (unsigned long long)((e[i].deadline_ns - now) / 1000000));
                else
                        (void)snprintf(state, sizeof(state), "expired");
                printf("%-40s %-8d %-12s %-10llu %llu\n", ipaddr_format(&e[i].ip, ip), e[i].ifindex,
                       state, (unsigned long long)e[i].requests, (unsigned long long)e[i].replies);
        }
        free(e);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct program_info info = {
            .name = "l2lb",
            .program = CONFIG_CLI,
            .summary = "inspect l2lb: configuration, agent status, leases, pools, responder",
            .usage = "  version          print the version\n"
                     "  config view      effective agent configuration (Cilium's key names);\n"
                     "                   from the local agent, else from these flags\n"
                     "  status           agent health, devices, leases held, IPs announced\n"
                     "  leases           L2 announcement leases: service, IPs, holder, age\n"
                     "  pools            LB-IPAM pools: blocks, used, available, conflicts\n"
                     "  bpf l2 list      responder entries with their counters\n",
        };
        struct l2lb_config cfg;
        char **args = NULL;
        int r;

        r = program_init(&info, argc, argv, &cfg, &args);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (!args[0] || streq(args[0], "version")) {
                _cleanup_free_ char *v = program_version(info.name);

                printf("%s\n", v);
                r = 0;
        } else if (streq(args[0], "config") && args[1] && streq(args[1], "view"))
                r = cmd_config_view(&cfg);
        else if (streq(args[0], "status"))
                r = cmd_status(&cfg);
        else if (streq(args[0], "leases"))
                r = cmd_leases(&cfg);
        else if (streq(args[0], "pools"))
                r = cmd_pools(&cfg);
        else if (streq(args[0], "bpf") && args[1] && streq(args[1], "l2") && args[2] &&
                 streq(args[2], "list"))
                r = cmd_bpf_l2_list(&cfg);
        else {
                fprintf(stderr, "l2lb: unknown command \"%s\" (see --help)\n", args[0]);
                r = -EINVAL;
        }
        strv_free(args);
        config_done(&cfg);
        return r < 0 ? 1 : 0;
}

/* l2lb: the command line (kubectl's conventions: -o json|yaml, --context,
 * exit status 2 for usage errors).
 *
 *   l2lb config view      the local agent's configuration (Cilium's key names)
 *   l2lb status           agent health, devices, leases held, IPs announced
 *   l2lb leases           every L2 announcement lease: service, IPs, holder, age
 *   l2lb pools            LB-IPAM pools: blocks, used/available, conflicts
 *   l2lb bpf l2 list      responder entries with their counters
 *   l2lb doctor           node checks for what breaks announcements (doctor.c)
 *
 * status and config view ask the local agent over its unix socket
 * (--status-socket); leases and pools ask the API server (--kubeconfig);
 * bpf l2 list reads the pinned map under --bpf-root. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
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
#include "cli/doctor.h"
#include "cli/output.h"
#include "kube/connect.h"
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

/* -o and --context: the CLI's own flags, taken out of argv before the
 * configuration flags are parsed. */
struct cli {
        const struct l2lb_config *cfg;
        enum output_format out;
        const char *context;
};

/* Print v as the chosen format, or as its table. */
static int show(const struct cli *cli, json_t *v, void (*table)(json_t *v))
{
        if (cli->out == OUTPUT_TABLE) {
                table(v);
                return 0;
        }
        return output_print(v, cli->out, stdout);
}

/* A string member for a table: already escaped by output_str. */
static const char *tstr(json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));

        return s ? s : "-";
}

static long long tint(json_t *o, const char *k)
{
        return (long long)json_integer_value(json_object_get(o, k));
}

static void config_table(json_t *v)
{
        const char *k;
        json_t *m;

        json_object_foreach(v, k, m) printf("%-40s %s\n", k, json_string_value(m));
}

/* The agent's /config text ("key value" lines) as {"key": "value"}. */
static json_t *config_json(char *text)
{
        json_t *o = json_object();

        for (char *line = text, *nl; *line; line = nl ? nl + 1 : line + strlen(line)) {
                _cleanup_free_ char *raw = NULL, *key = NULL;
                size_t klen;

                nl = strchr(line, '\n');
                if (nl)
                        *nl = 0;
                klen = strcspn(line, " ");
                if (klen == 0)
                        continue;
                raw = xstrndup(line, klen);
                key = str_escape_control(raw);
                (void)json_object_set_new(o, key,
                                          output_str(line + klen + strspn(line + klen, " ")));
        }
        return o;
}

static int cmd_config_view(const struct cli *cli)
{
        _cleanup_free_ char *text = NULL;
        json_t *o;
        int r;

        /* the agent's configuration or nothing: this command's own flags
         * would describe no running agent */
        r = agent_get(cli->cfg, "/config", &text);
        if (r < 0)
                return r;
        o = config_json(text);
        r = show(cli, o, config_table);
        json_decref(o);
        return r;
}

/* The election in use, and the heartbeat's state or the renewal budget. */
static void election_lines(json_t *o)
{
        json_t *hb = json_object_get(o, "heartbeat"), *lr = json_object_get(o, "leaseRenewal");

        printf("Election:    %s\n", tstr(o, "election"));
        if (hb && json_is_true(json_object_get(hb, "registered")))
                printf("Heartbeat:   epoch %lld, gate %lld ms left, coordinator %s, IPs bound "
                       "here %lld, live nodes %lld\n",
                       tint(hb, "epoch"), tint(hb, "gateMs"),
                       json_is_true(json_object_get(hb, "coordinator")) ? "yes" : "no",
                       tint(hb, "boundHere"), tint(hb, "liveNodes"));
        else if (hb)
                printf("Heartbeat:   not registered (answering nothing), live nodes %lld\n",
                       tint(hb, "liveNodes"));
        if (lr) {
                double need = json_number_value(json_object_get(lr, "qpsNeeded")),
                       qps = json_number_value(json_object_get(lr, "qps"));

                printf("Renewals:    %.1f/s needed (%lld Leases every %lld ms), k8s-client-qps "
                       "%g, burst %lld%s\n",
                       need, tint(lr, "held"), tint(lr, "renewPeriodMs"), qps, tint(lr, "burst"),
                       qps > 0 && need > qps ? " (over: renewals queue)" : "");
        }
}

static void status_table(json_t *o)
{
        size_t i;
        json_t *v;

        printf("Node:        %s\n", tstr(o, "node"));
        printf("Ready:       %s\n", json_is_true(json_object_get(o, "ready")) ? "yes" : "no");
        printf("Synced:      %s\n", json_is_true(json_object_get(o, "synced")) ? "yes" : "no");
        printf("Leases held: %lld\n", tint(o, "leasesHeld"));
        election_lines(o);
        if (json_object_get(o, "ipvsArpProblem"))
                printf("Warning:     kube-proxy IPVS without strictARP: %s\n",
                       tstr(o, "ipvsArpProblem"));
        printf("\nDevices (%s):\n  %-16s %-8s %-18s %-8s %s\n",
               streq_ptr(json_string_value(json_object_get(o, "deviceSelection")), "auto")
                   ? "chosen by detection, `devices` is empty"
                   : "configured",
               "NAME", "IFINDEX", "MAC", "CARRIER", "RESPONDER");
        json_array_foreach(json_object_get(o, "devices"), i, v)
        {
                bool att = json_is_true(json_object_get(v, "responder"));

                /* RESPONDER: the XDP mode and why, e.g. "generic (veth peer ...)" */
                printf("  %-16s %-8lld %-18s %-8s %s%s%s%s\n", tstr(v, "name"), tint(v, "ifindex"),
                       tstr(v, "mac"), json_is_true(json_object_get(v, "carrier")) ? "up" : "down",
                       att ? tstr(v, "xdpMode") : "-", att ? " (" : "",
                       att ? tstr(v, "xdpModeReason") : "", att ? ")" : "");
        }
        printf("\nLeases:\n  %-48s %-28s %-20s %s\n", "LEASE", "SERVICE", "HOLDER", "ROLE");
        json_array_foreach(json_object_get(o, "leases"), i, v)
            printf("  %-48s %-28s %-20s %s\n", tstr(v, "lease"), tstr(v, "service"),
                   tstr(v, "holder"), tstr(v, "role"));
        printf("\nAnnounced IPs:\n  %-40s %-12s %-12s %-10s %-10s %s\n", "IP", "DEVICE", "STATE",
               "REQUESTS", "REPLIES", "CONFLICTS");
        json_array_foreach(json_object_get(o, "entries"), i, v)
            printf("  %-40s %-12s %-12s %-10lld %-10lld %lld\n", tstr(v, "ip"), tstr(v, "device"),
                   tstr(v, "state"), tint(v, "requests"), tint(v, "replies"), tint(v, "conflicts"));
}

/* Copy the named members of from into to: strings escaped, the rest as is;
 * absent members are left out. */
static void pick(json_t *to, json_t *from, const char *const *keys)
{
        for (; *keys; keys++) {
                json_t *v = json_object_get(from, *keys);

                if (!v)
                        continue;
                (void)json_object_set_new(to, *keys,
                                          json_is_string(v) ? output_str(json_string_value(v))
                                                            : json_deep_copy(v));
        }
}

/* The documented, stable subset of the agent's /status. */
static json_t *status_json(json_t *a)
{
        static const char *const top[] = {
            "node",     "ready",          "synced",    "leasesHeld",   "deviceSelection",
            "election", "ipvsArpProblem", "heartbeat", "leaseRenewal", NULL};
        static const char *const dev[] = {"name",      "ifindex", "mac",           "carrier",
                                          "responder", "xdpMode", "xdpModeReason", NULL};
        static const char *const lease[] = {"lease", "service", "holder", "role", NULL};
        static const char *const entry[] = {"ip",      "device",    "requests",
                                            "replies", "conflicts", NULL};
        json_t *o = json_object(), *arr, *v;
        size_t i;

        pick(o, a, top);
        (void)json_object_set_new(o, "devices", arr = json_array());
        json_array_foreach(json_object_get(a, "devices"), i, v)
        {
                json_t *d = json_object();

                pick(d, v, dev);
                (void)json_array_append_new(arr, d);
        }
        (void)json_object_set_new(o, "leases", arr = json_array());
        json_array_foreach(json_object_get(a, "leases"), i, v)
        {
                json_t *l = json_object();

                pick(l, v, lease);
                (void)json_array_append_new(arr, l);
        }
        (void)json_object_set_new(o, "entries", arr = json_array());
        json_array_foreach(json_object_get(a, "entries"), i, v)
        {
                json_t *e = json_object();

                pick(e, v, entry);
                (void)json_object_set_new(
                    e, "state",
                    json_string(json_integer_value(json_object_get(v, "deadlineMs")) > 0
                                    ? "live"
                                    : "expired"));
                (void)json_array_append_new(arr, e);
        }
        return o;
}

static int cmd_status(const struct cli *cli)
{
        _cleanup_free_ char *text = NULL;
        json_t *a, *o;
        bool ready;
        int r;

        r = agent_get(cli->cfg, "/status", &text);
        if (r < 0)
                return r;
        a = json_loads(text, 0, NULL);
        if (!json_is_object(a)) {
                fprintf(stderr, "l2lb: malformed answer from the agent\n");
                json_decref(a);
                return -EBADMSG;
        }
        o = status_json(a);
        json_decref(a);
        ready = json_is_true(json_object_get(o, "ready"));
        r = show(cli, o, status_table);
        json_decref(o);
        if (r >= 0 && !ready) {
                fprintf(stderr, "l2lb: the agent is not ready (see its /readyz and log)\n");
                r = -EAGAIN;
        }
        return r;
}

static int api_list(const struct cli *cli, const struct kube_resource *res, const char *ns,
                    json_t **ret)
{
        const struct kube_connect_options o = {
            .kubeconfig = cli->cfg->kubeconfig,
            .context = cli->context,
            .home = true,
            .qps = cli->cfg->k8s_client_qps,
            .burst = (unsigned)cli->cfg->k8s_client_burst,
            .user_agent = "l2lb",
        };
        sd_event *e = NULL;
        struct kube_client *c = NULL;
        struct kube_sync s = {0};
        int r;

        (void)sd_event_new(&e);
        log_setup("l2lb", LOG_FORMAT_LOGFMT, LOG_LEVEL_ERROR);
        r = kube_connect(e, &o, &c);
        if (r < 0) {
                fprintf(stderr, "l2lb: cannot use the Kubernetes API (see --kubeconfig, "
                                "--context)\n");
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

static const char *age(const char *ts, char *buf, size_t len)
{
        int64_t t, now = (int64_t)time(NULL) * 1000000;

        if (!ts || k8s_time_parse(ts, &t) < 0 || t > now) {
                (void)snprintf(buf, len, "-");
                return buf;
        }
        return duration_format((uint64_t)(now - t) / USEC_PER_SEC * USEC_PER_SEC, buf, len);
}

/* The strings of a JSON array joined with commas, or "-". */
static char *joined(json_t *arr)
{
        GString *g = g_string_new(NULL);
        size_t i;
        json_t *v;

        json_array_foreach(arr, i, v)
            g_string_append_printf(g, "%s%s", g->len ? "," : "", json_string_value(v));
        if (!g->len)
                g_string_append(g, "-");
        return g_string_free(g, FALSE);
}

static void leases_table(json_t *o)
{
        size_t i;
        json_t *v;

        printf("%-32s %-24s %-20s %-8s %-8s %s\n", "SERVICE", "IPS", "HOLDER", "AGE", "RENEWED",
               "TRANSITIONS");
        json_array_foreach(json_object_get(o, "items"), i, v)
        {
                _cleanup_free_ char *ips = joined(json_object_get(v, "ips"));
                const char *holder = json_string_value(json_object_get(v, "holder"));
                char a[32], b[32];

                printf("%-32s %-24s %-20s %-8s %-8s %lld\n", tstr(v, "service"), ips,
                       isempty(holder) ? "<none>" : holder,
                       age(json_string_value(json_object_get(v, "acquireTime")), a, 32),
                       age(json_string_value(json_object_get(v, "renewTime")), b, 32),
                       tint(v, "leaseTransitions"));
        }
}

/* {"items": [...]}: the L2 announcement Leases with their services. */
static json_t *leases_json(json_t *leases, json_t *services)
{
        json_t *o = json_object(), *items = json_array(), *item;
        size_t i;

        (void)json_object_set_new(o, "items", items);
        json_array_foreach(json_object_get(leases, "items"), i, item)
        {
                struct k8s_lease *l = NULL;
                char *err = NULL, svcname[512] = "";
                const char *suffix;
                json_t *s, *ips = json_array(), *e;
                size_t j;

                if (k8s_lease_decode(item, &l, &err) < 0) {
                        free(err);
                        json_decref(ips);
                        continue;
                }
                suffix = startswith(l->meta.name, ANNOUNCE_LEASE_PREFIX);
                if (!suffix) {
                        k8s_lease_free(l);
                        json_decref(ips);
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
                                        (void)json_array_append_new(
                                            ips, output_str(svc->external_ips[k]));
                                for (size_t k = 0; k < svc->n_ingress; k++)
                                        if (svc->ingress[k].ip)
                                                (void)json_array_append_new(
                                                    ips, output_str(svc->ingress[k].ip));
                        }
                        k8s_service_free(svc);
                }
                e = json_object();
                (void)json_object_set_new(e, "lease", output_str(l->meta.name));
                (void)json_object_set_new(e, "service",
                                          *svcname ? output_str(svcname) : json_null());
                (void)json_object_set_new(e, "ips", ips);
                (void)json_object_set_new(e, "holder", output_str(l->holder));
                (void)json_object_set_new(e, "acquireTime", output_str(l->acquire_time));
                (void)json_object_set_new(e, "renewTime", output_str(l->renew_time));
                (void)json_object_set_new(e, "leaseTransitions",
                                          json_integer(l->lease_transitions));
                (void)json_array_append_new(items, e);
                k8s_lease_free(l);
        }
        return o;
}

static int cmd_leases(const struct cli *cli)
{
        json_t *leases = NULL, *services = NULL, *o;
        int r;

        r = api_list(cli, &KUBE_LEASES, cli->cfg->k8s_namespace, &leases);
        if (r >= 0)
                r = api_list(cli, &KUBE_SERVICES, NULL, &services);
        if (r >= 0) {
                o = leases_json(leases, services);
                r = show(cli, o, leases_table);
                json_decref(o);
        }
        json_decref(leases);
        json_decref(services);
        return r;
}

static void pools_table(json_t *o)
{
        size_t i;
        json_t *v;

        printf("%-24s %-40s %-10s %-12s %-10s %s\n", "POOL", "BLOCKS", "USED", "AVAILABLE",
               "DISABLED", "CONFLICT");
        json_array_foreach(json_object_get(o, "items"), i, v)
        {
                _cleanup_free_ char *blocks = joined(json_object_get(v, "blocks"));
                char used[32] = "?", avail[32] = "?";

                if (json_is_integer(json_object_get(v, "used")))
                        (void)snprintf(used, sizeof(used), "%lld", tint(v, "used"));
                if (json_is_integer(json_object_get(v, "available")))
                        (void)snprintf(avail, sizeof(avail), "%lld", tint(v, "available"));
                printf("%-24s %-40s %-10s %-12s %-10s %s\n", tstr(v, "name"), blocks, used, avail,
                       json_is_true(json_object_get(v, "disabled")) ? "true" : "false",
                       json_is_true(json_object_get(v, "conflict")) ? tstr(v, "conflictMessage")
                                                                    : "no");
        }
}

/* A count condition's message as a number, or null. */
static json_t *count(const struct k8s_condition *c)
{
        unsigned long long n;
        char *end;

        if (!c || isempty(c->message) || !g_ascii_isdigit(c->message[0]))
                return json_null();
        errno = 0;
        n = strtoull(c->message, &end, 10);
        if (errno || *end || n > INT64_MAX)
                return json_null();
        return json_integer((json_int_t)n);
}

static json_t *pools_json(json_t *pools)
{
        json_t *o = json_object(), *items = json_array(), *item;
        size_t i;

        (void)json_object_set_new(o, "items", items);
        json_array_foreach(json_object_get(pools, "items"), i, item)
        {
                struct k8s_ippool *p = NULL;
                const struct k8s_condition *conflict;
                char *err = NULL;
                json_t *e, *blocks;

                if (k8s_ippool_decode(item, &p, &err) < 0) {
                        free(err);
                        continue;
                }
                blocks = json_array();
                for (size_t b = 0; b < p->n_blocks; b++) {
                        const struct k8s_pool_block *bl = &p->blocks[b];
                        _cleanup_free_ char *text =
                            bl->cidr ? xstrdup(bl->cidr)
                                     : xasprintf("%s%s%s", strempty(bl->start), bl->stop ? "-" : "",
                                                 strempty(bl->stop));

                        (void)json_array_append_new(blocks, output_str(text));
                }
                conflict = k8s_conditions_find(&p->conditions, "cilium.io/PoolConflict");
                e = json_object();
                (void)json_object_set_new(e, "name", output_str(p->meta.name));
                (void)json_object_set_new(e, "blocks", blocks);
                (void)json_object_set_new(
                    e, "used", count(k8s_conditions_find(&p->conditions, "cilium.io/IPsUsed")));
                (void)json_object_set_new(
                    e, "available",
                    count(k8s_conditions_find(&p->conditions, "cilium.io/IPsAvailable")));
                (void)json_object_set_new(e, "disabled", json_boolean(p->disabled));
                (void)json_object_set_new(
                    e, "conflict", json_boolean(conflict && streq_ptr(conflict->status, "True")));
                (void)json_object_set_new(e, "conflictMessage",
                                          conflict && streq_ptr(conflict->status, "True")
                                              ? output_str(conflict->message)
                                              : json_null());
                (void)json_array_append_new(items, e);
                k8s_ippool_free(p);
        }
        return o;
}

static int cmd_pools(const struct cli *cli)
{
        json_t *pools = NULL, *o;
        int r;

        r = api_list(cli, &KUBE_IPPOOLS, NULL, &pools);
        if (r < 0)
                return r;
        o = pools_json(pools);
        r = show(cli, o, pools_table);
        json_decref(o);
        json_decref(pools);
        return r;
}

static void bpf_table(json_t *o)
{
        size_t i;
        json_t *v;

        printf("%-40s %-16s %-12s %-10s %s\n", "IP", "DEVICE", "STATE", "REQUESTS", "REPLIES");
        json_array_foreach(json_object_get(o, "items"), i, v)
        {
                char state[48];

                if (streq_ptr(json_string_value(json_object_get(v, "state")), "live"))
                        (void)snprintf(state, sizeof(state), "live %lldms", tint(v, "remainingMs"));
                else
                        (void)snprintf(state, sizeof(state), "expired");
                printf("%-40s %-16s %-12s %-10lld %lld\n", tstr(v, "ip"), tstr(v, "device"), state,
                       tint(v, "requests"), tint(v, "replies"));
        }
}

static int cmd_bpf_l2_list(const struct cli *cli)
{
        struct responder_entry *e = NULL;
        size_t n = 0;
        uint64_t now = responder_now_ns();
        json_t *o, *items;
        int r;

        r = responder_list_pinned(cli->cfg->bpf_root, &e, &n);
        if (r < 0) {
                fprintf(stderr, "l2lb: no responder maps under %s: %s (see --bpf-root)\n",
                        cli->cfg->bpf_root, strerror(-r));
                return r;
        }
        o = json_object();
        (void)json_object_set_new(o, "items", items = json_array());
        for (size_t i = 0; i < n; i++) {
                char ip[IPADDR_STRLEN], name[IF_NAMESIZE], dev[IF_NAMESIZE + 16];
                bool live = e[i].deadline_ns > now;
                json_t *v = json_object();

                /* the name in this network namespace (the agent's: l2lb runs on the node) */
                if (if_indextoname((unsigned)e[i].ifindex, name))
                        (void)snprintf(dev, sizeof(dev), "%s", name);
                else
                        (void)snprintf(dev, sizeof(dev), "if%d", e[i].ifindex);
                (void)json_object_set_new(v, "ip", json_string(ipaddr_format(&e[i].ip, ip)));
                (void)json_object_set_new(v, "device", output_str(dev));
                (void)json_object_set_new(v, "ifindex", json_integer(e[i].ifindex));
                (void)json_object_set_new(v, "state", json_string(live ? "live" : "expired"));
                (void)json_object_set_new(
                    v, "remainingMs",
                    json_integer(live ? (json_int_t)((e[i].deadline_ns - now) / 1000000) : 0));
                (void)json_object_set_new(v, "requests", json_integer((json_int_t)e[i].requests));
                (void)json_object_set_new(v, "replies", json_integer((json_int_t)e[i].replies));
                (void)json_object_set_new(v, "conflicts", json_integer((json_int_t)e[i].conflicts));
                (void)json_array_append_new(items, v);
        }
        free(e);
        r = show(cli, o, bpf_table);
        json_decref(o);
        return r;
}

/* Take -o/--output and --context out of argv (argv keeps the rest, in
 * order). Returns 0, or -EINVAL after printing a usage error. */
static int cli_flags(int *argc, char **argv, struct cli *cli)
{
        int out = 1;

        for (int i = 1; i < *argc; i++) {
                const char *a = argv[i], *val = NULL, *flag = NULL;

                if (streq(a, "--")) {
                        while (i < *argc)
                                argv[out++] = argv[i++];
                        break;
                }
                if (streq(a, "-o") || streq(a, "--output") || streq(a, "--context")) {
                        flag = a;
                        if (i + 1 >= *argc) {
                                fprintf(stderr, "l2lb: flag needs an argument: %s\n", a);
                                return -EINVAL;
                        }
                        val = argv[++i];
                } else if (startswith(a, "-o") && !startswith(a, "--")) {
                        flag = "-o";
                        val = a + 2 + (a[2] == '=');
                } else if (startswith(a, "--output=")) {
                        flag = "-o";
                        val = a + strlen("--output=");
                } else if (startswith(a, "--context=")) {
                        flag = "--context";
                        val = a + strlen("--context=");
                }
                if (!flag) {
                        argv[out++] = argv[i];
                        continue;
                }
                if (streq(flag, "--context")) {
                        if (isempty(val)) {
                                fprintf(stderr, "l2lb: --context needs a context name\n");
                                return -EINVAL;
                        }
                        cli->context = val;
                } else if (output_parse(val, &cli->out) < 0) {
                        fprintf(stderr,
                                "l2lb: unable to match a printer suitable for the output "
                                "format \"%s\", allowed formats are: json, table, yaml\n",
                                esc(val));
                        return -EINVAL;
                }
        }
        *argc = out;
        argv[out] = NULL;
        return 0;
}

static bool is(char **args, const char *a, const char *b, const char *c)
{
        return streq_ptr(args[0], a) && (!b || streq_ptr(args[1], b)) &&
               (!c || streq_ptr(args[2], c)) && !args[(b ? 1 : 0) + (c ? 1 : 0) + 1];
}

int main(int argc, char **argv)
{
        static const struct program_info info = {
            .name = "l2lb",
            .program = CONFIG_CLI,
            .summary = "inspect l2lb: configuration, agent status, leases, pools, responder",
            .usage = "  version          print the version\n"
                     "  config view      the local agent's effective configuration (Cilium's\n"
                     "                   key names); fails when no agent answers\n"
                     "  status           agent health, devices, leases held, IPs announced;\n"
                     "                   exits 1 when the agent is not ready\n"
                     "  leases           L2 announcement leases: service, IPs, holder, age\n"
                     "  pools            LB-IPAM pools: blocks, used, available, conflicts\n"
                     "  bpf l2 list      responder entries: IP, device, state, counters\n"
                     "  doctor           check this node for what breaks announcements;\n"
                     "                   exits 1 when a check warns or fails\n"
                     "\nOutput and cluster flags (the l2lb command's own):\n"
                     "  -o, --output FORMAT  table (default), json or yaml: config view,\n"
                     "                       status, leases, pools, bpf l2 list, doctor\n"
                     "                       (fields: docs/cli.md)\n"
                     "  --context NAME       kubeconfig context for leases and pools\n"
                     "                       (default: the current-context)\n"
                     "  The kubeconfig: --kubeconfig, else $KUBECONFIG, else\n"
                     "  ~/.kube/config, else in-cluster\n"
                     "\nExit status: 0 success, 1 error (or not ready / problems found),\n"
                     "2 usage error (unknown command or flag, bad value)\n",
        };
        struct cli cli = {0};
        struct l2lb_config cfg;
        char **args = NULL;
        int r;

        if (cli_flags(&argc, argv, &cli) < 0)
                return 2;
        r = program_init(&info, argc, argv, &cfg, &args);
        if (r != 0)
                return r > 0 ? 0 : 2;
        cli.cfg = &cfg;
        if (!args[0] || is(args, "version", NULL, NULL)) {
                _cleanup_free_ char *v = program_version(info.name);

                printf("%s\n", v);
                r = 0;
        } else if (is(args, "config", "view", NULL))
                r = cmd_config_view(&cli);
        else if (is(args, "status", NULL, NULL))
                r = cmd_status(&cli);
        else if (is(args, "leases", NULL, NULL))
                r = cmd_leases(&cli);
        else if (is(args, "pools", NULL, NULL))
                r = cmd_pools(&cli);
        else if (is(args, "bpf", "l2", "list"))
                r = cmd_bpf_l2_list(&cli);
        else if (is(args, "doctor", NULL, NULL))
                r = cmd_doctor(&cfg, cli.out);
        else {
                _cleanup_free_ char *cmd = g_strjoinv(" ", args);

                fprintf(stderr,
                        "l2lb: unknown command \"%s\" for \"l2lb\"\nRun 'l2lb --help' for usage.\n",
                        esc(cmd));
                r = 2;
        }
        strv_free(args);
        config_done(&cfg);
        return r < 0 ? 1 : r;
}

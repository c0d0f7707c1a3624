/* Wiring of the agent:
 *
 *   informers (policies, services, endpointslices, nodes, leases) ─┐
 *   netlink (devices) ─────────────────────────────────────────────┼─▶ announcer core
 *   lease write results, timer ────────────────────────────────────┘        │ run
 *                                                                           ▼
 *   responder map (entries first: a release hands over only once silent),
 *   gratuitous ARP/NA, Lease writes, policy status, Events, next timer.
 *
 * Inputs only mark the core for a run; the run happens in a defer source
 * after the loop has processed what is pending, so a burst of watch events
 * costs one run. Lease writes carry a timeout of one renew deadline and are
 * never retried by the client: the core decides what to do next. */
#include "agent.h"

#include <glib.h>
#include <net/if.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "announce/announce.h"
#include "announce/timing.h"
#include "bpf/responder.h"
#include "kube/api.h"
#include "daemon/client-metrics.h"
#include "daemon/program.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "daemon/httpd.h"
#include "lib/log.h"
#include "daemon/metrics.h"
#include "lib/util.h"
#include "links.h"

enum informer_kind {
        INF_POLICIES,
        INF_SERVICES,
        INF_SLICES,
        INF_NODES,
        INF_LEASES,
        N_INFORMERS,
};

struct agent {
        struct l2lb_config *cfg;
        sd_event *event;
        char *node_name;
        struct kube_client *client;
        struct kube_informer *inf[N_INFORMERS];
        const struct kube_resource *slices_res;
        struct kube_recorder *recorder;
        struct announcer *ann;
        struct responder *resp;
        struct links *links;
        GHashTable *devices;  /* ifindex → struct link_info */
        GHashTable *attached; /* ifindex set */
        /* ifindex → struct attach_failure: the responder could not be
         * attached; retried with a backoff, and the device is reported to
         * the core as down meanwhile (a node that cannot answer must not
         * hold leases) */
        GHashTable *attach_failed;
        sd_event_source *attach_retry;
        bool synced;
        bool started; /* agent_start() ran: attach configured devices as they appear */
        GHashTable *garps_sent; /* "ip\x1fdevice" → gratuitous packets sent (guint64 *) */
        sd_event_source *run;
        sd_event_source *wakeup;
        unsigned in_flight; /* lease writes */
        uint64_t last_api_ok; /* mono: last successful request or watch event */
        uint64_t runs;

        /* shutdown */
        bool stopping;
        sd_event_source *stop_timer;
        void (*stop_done)(void *);
        void *stop_data;

        struct metrics *metrics;
        struct kube_client_metrics *client_metrics;
        struct metric *m_held, *m_counters, *m_entries, *m_requests, *m_replies, *m_garp,
                *m_garp_ip, *m_heartbeat, *m_ready;
        struct httpd *httpd;
        struct httpd *status;
};

static uint64_t mono(struct agent *a)
{
        uint64_t t = 0;

        sd_event_now(a->event, CLOCK_MONOTONIC, &t);
        return t;
}

static int64_t wall(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void schedule_run(struct agent *a)
{
        sd_event_source_set_enabled(a->run, SD_EVENT_ONESHOT);
}

static const char *ifname(struct agent *a, int ifindex, char *buf)
{
        struct link_info *l = g_hash_table_lookup(a->devices, GINT_TO_POINTER(ifindex));

        if (l)
                return l->name;
        snprintf(buf, IF_NAMESIZE, "if%d", ifindex);
        return buf;
}

/* A device named by the devices key (none when the key is empty). */
static bool device_configured(struct agent *a, const char *name)
{
        return announce_devices_list(a->cfg->devices, name);
}

/* Ready: caches synced and, when devices are configured, the responder
 * attached to every configured device present (at least one). With no
 * devices configured it attaches on demand, to the devices entries need. */
static bool agent_ready(struct agent *a)
{
        GHashTableIter it;
        gpointer v;
        size_t present = 0;

        if (!a->synced)
                return false;
        if (strv_length(a->cfg->devices) == 0)
                return true;
        g_hash_table_iter_init(&it, a->devices);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                const struct link_info *l = v;

                if (!device_configured(a, l->name))
                        continue;
                if (!g_hash_table_contains(a->attached, GINT_TO_POINTER(l->ifindex)))
                        return false;
                present++;
        }
        return present > 0;
}

/* ---- lease writes ---- */

struct write_ctx {
        struct agent *a;
        uint64_t id;
        enum announce_lease_op op;
        char *name;
};

static void on_lease_written(struct kube_client *c, const struct kube_result *res, void *ud)
{
        struct write_ctx *w = ud;
        struct agent *a = w->a;
        enum announce_write_result r = ANNOUNCE_LEASE_ERROR;
        struct k8s_lease *lease = NULL;
        char *err = NULL;

        (void)c;
        a->in_flight--;
        if (kube_result_ok(res)) {
                r = ANNOUNCE_LEASE_OK;
                a->last_api_ok = mono(a);
                if (w->op != ANNOUNCE_LEASE_DELETE && k8s_lease_decode(res->body, &lease, &err) < 0) {
                        log_warn("cannot decode written lease", "lease=%s error=%s", w->name,
                                 log_q(err));
                        free(err);
                        r = ANNOUNCE_LEASE_ERROR;
                }
        } else if (res->http_status == 409)
                r = ANNOUNCE_LEASE_CONFLICT;
        else if (res->http_status == 404)
                r = ANNOUNCE_LEASE_NOT_FOUND;
        if (r == ANNOUNCE_LEASE_ERROR)
                log_warn("lease write failed", "lease=%s status=%ld reason=%s message=%s",
                         w->name, res->http_status, log_q(res->reason), log_q(res->message));
        if (a->ann)
                announcer_lease_result(a->ann, w->id, r, lease, mono(a));
        k8s_lease_free(lease);
        free(w->name);
        free(w);
        schedule_run(a);
}

static void send_action(struct agent *a, const struct announce_lease_action *act)
{
        struct write_ctx *w = calloc(1, sizeof(*w));
        _cleanup_free_ char *path = NULL;
        uint64_t timeout = a->cfg->l2_announcements_renew_deadline;
        json_t *body = act->body;
        const char *method;
        int r;

        if (timeout < 200 * USEC_PER_MSEC)
                timeout = 200 * USEC_PER_MSEC;
        w->a = a;
        w->id = act->id;
        w->op = act->op;
        w->name = strdup(act->name);
        switch (act->op) {
        case ANNOUNCE_LEASE_CREATE:
                method = "POST";
                path = kube_path(&KUBE_LEASES, a->cfg->k8s_namespace, NULL, NULL);
                break;
        case ANNOUNCE_LEASE_UPDATE:
                method = "PUT";
                path = kube_path(&KUBE_LEASES, a->cfg->k8s_namespace, act->name, NULL);
                break;
        case ANNOUNCE_LEASE_DELETE:
        default:
                method = "DELETE";
                path = kube_path(&KUBE_LEASES, a->cfg->k8s_namespace, act->name, NULL);
                body = json_pack("{s:{s:s}}", "preconditions", "resourceVersion",
                                 strempty(act->resource_version));
                break;
        }
        log_debug("lease write", "lease=%s op=%s reason=%s", act->name, method, act->reason);
        a->in_flight++;
        r = kube_call(a->client, method, path, body, "application/json",
                      KUBE_CALL_NO_RETRY | KUBE_CALL_PRIORITY, timeout, on_lease_written, w,
                      NULL);
        if (act->op == ANNOUNCE_LEASE_DELETE)
                json_decref(body);
        if (r < 0) {
                struct kube_result res = {.error = r, .reason = "InternalError"};

                on_lease_written(a->client, &res, w);
        }
}

/* ---- applying decisions ---- */

struct attach_failure {
        uint64_t retry_at; /* mono */
        uint64_t backoff;
};

#define ATTACH_BACKOFF_MIN (1 * USEC_PER_SEC)
#define ATTACH_BACKOFF_MAX (300 * USEC_PER_SEC)

/* The device as the core should see it: up only with carrier and when the
 * responder is not known to be unattachable on it. */
static void report_device(struct agent *a, const struct link_info *l)
{
        struct announcer_device dev = {
                .name = l->name,
                .ifindex = l->ifindex,
                .up = l->carrier &&
                      !g_hash_table_contains(a->attach_failed, GINT_TO_POINTER(l->ifindex)),
        };

        memcpy(dev.mac, l->mac, 6);
        announcer_set_device(a->ann, &dev);
}

static void arm_attach_retry(struct agent *a)
{
        uint64_t first = UINT64_MAX;
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, a->attach_failed);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                const struct attach_failure *f = v;

                if (f->retry_at < first)
                        first = f->retry_at;
        }
        if (first == UINT64_MAX) {
                sd_event_source_set_enabled(a->attach_retry, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(a->attach_retry, first);
        sd_event_source_set_enabled(a->attach_retry, SD_EVENT_ONESHOT);
}

/* Attach the responder to ifindex unless it is. After a failure, attempts
 * wait for a backoff (1 s doubling to 5 min): entries are applied on every
 * run, and each attempt may cost resources (libxdp 1.3.1 leaks a program fd
 * per query of a device with a legacy XDP program). */
static bool ensure_attached(struct agent *a, int ifindex)
{
        enum responder_xdp_mode mode = streq(a->cfg->xdp_mode, "generic") ? RESPONDER_XDP_GENERIC
                                                                         : RESPONDER_XDP_NATIVE;
        struct attach_failure *f = g_hash_table_lookup(a->attach_failed, GINT_TO_POINTER(ifindex));
        struct link_info *l = g_hash_table_lookup(a->devices, GINT_TO_POINTER(ifindex));
        uint64_t now = mono(a);
        char buf[IF_NAMESIZE];
        int r;

        if (g_hash_table_contains(a->attached, GINT_TO_POINTER(ifindex)))
                return true;
        if (f && now < f->retry_at)
                return false;
        r = responder_attach(a->resp, ifindex, mode);
        if (r < 0) {
                bool first = !f;

                if (!f) {
                        f = calloc(1, sizeof(*f));
                        if (!f)
                                return false;
                        f->backoff = ATTACH_BACKOFF_MIN;
                        g_hash_table_insert(a->attach_failed, GINT_TO_POINTER(ifindex), f);
                } else if (f->backoff < ATTACH_BACKOFF_MAX)
                        f->backoff = MIN(2 * f->backoff, ATTACH_BACKOFF_MAX);
                f->retry_at = now + f->backoff;
                log_error_errno(r, "cannot attach the responder: the device counts as down",
                                "device=%s retry_in_ms=%" PRIu64, ifname(a, ifindex, buf),
                                f->backoff / 1000);
                if (first && l) {
                        report_device(a, l);
                        schedule_run(a);
                }
                arm_attach_retry(a);
                return false;
        }
        g_hash_table_add(a->attached, GINT_TO_POINTER(ifindex));
        log_info("responder attached", "device=%s mode=%s", ifname(a, ifindex, buf),
                 a->cfg->xdp_mode);
        if (f) {
                g_hash_table_remove(a->attach_failed, GINT_TO_POINTER(ifindex));
                arm_attach_retry(a);
                if (l) {
                        report_device(a, l);
                        schedule_run(a);
                }
        }
        return true;
}

static int on_attach_retry(sd_event_source *s, uint64_t usec, void *ud)
{
        struct agent *a = ud;
        GList *keys = g_hash_table_get_keys(a->attach_failed);

        (void)s;
        (void)usec;
        for (GList *k = keys; k; k = k->next) {
                int ifindex = GPOINTER_TO_INT(k->data);

                if (g_hash_table_contains(a->devices, GINT_TO_POINTER(ifindex)))
                        ensure_attached(a, ifindex);
                else
                        g_hash_table_remove(a->attach_failed, k->data);
        }
        g_list_free(keys);
        arm_attach_retry(a);
        return 0;
}

static void apply_entries(struct agent *a, const struct announce_decisions *d)
{
        struct responder_want *want = calloc(d->n_entries + 1, sizeof(*want));
        int r;

        for (size_t i = 0; i < d->n_entries; i++) {
                ensure_attached(a, d->entries[i].ifindex);
                want[i].ip = d->entries[i].ip;
                want[i].ifindex = d->entries[i].ifindex;
                want[i].deadline_ns = responder_deadline_from_usec(d->entries[i].deadline);
        }
        r = responder_reconcile(a->resp, want, d->n_entries);
        if (r < 0)
                log_error_errno(r, "cannot update the responder map");
        free(want);
}

/* Key of a->garps_sent (and of the set of announced IPs in collect()). */
static char *garp_key(const char *ip, const char *dev)
{
        return g_strdup_printf("%s\x1f%s", ip, dev);
}

static void apply_garps(struct agent *a, const struct announce_decisions *d)
{
        for (size_t i = 0; i < d->n_garps; i++) {
                char ip[IPADDR_STRLEN], buf[IF_NAMESIZE];
                int r = responder_announce(a->resp, &d->garps[i].ip, d->garps[i].ifindex);
                const char *dev = ifname(a, d->garps[i].ifindex, buf);

                ipaddr_format(&d->garps[i].ip, ip);
                if (r < 0)
                        log_warn_errno(r, "cannot send gratuitous announcement", "ip=%s device=%s",
                                       ip, dev);
                else {
                        /* one burst: ARP request + reply for IPv4, one NA for IPv6 */
                        char *key = garp_key(ip, dev);
                        guint64 *n = g_hash_table_lookup(a->garps_sent, key);

                        if (!n) {
                                n = g_new0(guint64, 1);
                                g_hash_table_insert(a->garps_sent, key, n);
                        } else
                                g_free(key);
                        *n += d->garps[i].ip.family == AF_INET ? 2 : 1;
                }
        }
}

static void on_policy_patched(struct kube_client *c, const struct kube_result *res, void *ud)
{
        char *name = ud;

        (void)c;
        if (!kube_result_ok(res) && !kube_result_conflict(res))
                log_warn("cannot write policy status", "policy=%s status=%ld message=%s", name,
                         res->http_status, log_q(res->message));
        free(name);
}

/* One line per condition: an error while it is True, its resolution once False. */
static void log_policy_status(const struct announce_policy_status *s)
{
        for (size_t i = 0; i < s->conditions.n; i++) {
                const struct k8s_condition *c = &s->conditions.items[i];

                if (streq_ptr(c->status, "True"))
                        log_warn("policy error", "policy=%s condition=%s reason=%s message=%s",
                                 s->policy, c->type, strempty(c->reason), log_q(c->message));
                else
                        log_info("policy condition cleared", "policy=%s condition=%s status=%s",
                                 s->policy, c->type, strempty(c->status));
        }
}

static void apply_statuses(struct agent *a, const struct announce_decisions *d)
{
        for (size_t i = 0; i < d->n_statuses; i++) {
                const struct k8s_l2policy *p =
                        kube_informer_get(a->inf[INF_POLICIES], NULL, d->statuses[i].policy);
                json_t *patch = announce_policy_status_patch(&d->statuses[i]);

                if (p && p->meta.resource_version)
                        json_object_set_new(patch, "metadata",
                                            json_pack("{s:s}", "resourceVersion",
                                                      p->meta.resource_version));
                log_policy_status(&d->statuses[i]);
                kube_patch(a->client, &KUBE_L2POLICIES, NULL, d->statuses[i].policy, "status",
                           KUBE_PATCH_MERGE, patch, on_policy_patched,
                           strdup(d->statuses[i].policy), NULL);
                json_decref(patch);
        }
}

static void apply_events(struct agent *a, const struct announce_decisions *d)
{
        for (size_t i = 0; i < d->n_events; i++) {
                const struct announce_event *ev = &d->events[i];
                bool started = ev->kind == ANNOUNCE_STARTED;
                const char *slash = ev->service ? strchr(ev->service, '/') : NULL;

                log_info(started ? "announcing" : "stopped announcing", "service=%s lease=%s reason=%s",
                         strempty(ev->service), strempty(ev->lease), strempty(ev->reason));
                if (slash) {
                        _cleanup_free_ char *ns = strndup(ev->service,
                                                          (size_t)(slash - ev->service));
                        const struct k8s_meta *m =
                                kube_informer_get(a->inf[INF_SERVICES], ns, slash + 1);
                        struct kube_object_ref ref = {.api_version = "v1",
                                                      .kind = "Service",
                                                      .namespace = ns,
                                                      .name = slash + 1,
                                                      .uid = m ? m->uid : NULL};

                        if (m)
                                kube_event(a->recorder, &ref, "Normal",
                                           started ? "L2AnnouncementStarted"
                                                   : "L2AnnouncementStopped",
                                           "%s node %s (%s)",
                                           started ? "announced by" : "no longer announced by",
                                           a->node_name, strempty(ev->reason));
                }
        }
}

static void arm_wakeup(struct agent *a, uint64_t when)
{
        if (when == UINT64_MAX) {
                sd_event_source_set_enabled(a->wakeup, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(a->wakeup, when);
        sd_event_source_set_enabled(a->wakeup, SD_EVENT_ONESHOT);
}

static void run_core(struct agent *a)
{
        struct announce_decisions d = {0};
        int r;

        r = announcer_run(a->ann, mono(a), wall(), &d);
        if (r < 0) {
                log_error_errno(r, "announcer run failed");
                arm_wakeup(a, mono(a) + a->cfg->l2_announcements_retry_period);
                return;
        }
        a->runs++;
        /* order matters: fall silent before handing a lease over */
        apply_entries(a, &d);
        apply_garps(a, &d);
        for (size_t i = 0; i < d.n_actions; i++)
                send_action(a, &d.actions[i]);
        apply_statuses(a, &d);
        apply_events(a, &d);
        arm_wakeup(a, d.next_wakeup);
        announce_decisions_done(&d);
}

static int on_run(sd_event_source *s, void *ud)
{
        (void)s;
        run_core(ud);
        return 0;
}

static int on_wakeup(sd_event_source *s, uint64_t usec, void *ud)
{
        (void)s;
        (void)usec;
        run_core(ud);
        return 0;
}

/* ---- inputs ---- */

static void check_synced(struct agent *a)
{
        if (a->synced)
                return;
        for (int i = 0; i < N_INFORMERS; i++)
                if (!kube_informer_synced(a->inf[i]))
                        return;
        a->synced = true;
        announcer_set_synced(a->ann);
        log_info("caches synced", "policies=%zu services=%zu nodes=%zu leases=%zu",
                 kube_informer_count(a->inf[INF_POLICIES]),
                 kube_informer_count(a->inf[INF_SERVICES]),
                 kube_informer_count(a->inf[INF_NODES]), kube_informer_count(a->inf[INF_LEASES]));
        schedule_run(a);
}

#define HANDLERS(kind, type, upsert_call, remove_call)                                             \
        static void kind##_add(void *ud, const void *obj)                                          \
        {                                                                                          \
                struct agent *a = ud;                                                              \
                const type *o = obj;                                                               \
                a->last_api_ok = mono(a);                                                          \
                upsert_call;                                                                       \
                schedule_run(a);                                                                   \
        }                                                                                          \
        static void kind##_update(void *ud, const void *old, const void *obj)                      \
        {                                                                                          \
                (void)old;                                                                         \
                kind##_add(ud, obj);                                                               \
        }                                                                                          \
        static void kind##_remove(void *ud, const void *obj)                                       \
        {                                                                                          \
                struct agent *a = ud;                                                              \
                const type *o = obj;                                                               \
                a->last_api_ok = mono(a);                                                          \
                remove_call;                                                                       \
                schedule_run(a);                                                                   \
        }

HANDLERS(policy, struct k8s_l2policy, announcer_upsert_policy(a->ann, o),
         announcer_remove_policy(a->ann, o->meta.name))
HANDLERS(service, struct k8s_service, announcer_upsert_service(a->ann, o),
         announcer_remove_service(a->ann, o->meta.namespace, o->meta.name))
HANDLERS(slice, struct k8s_endpointslice, announcer_upsert_endpointslice(a->ann, o),
         announcer_remove_endpointslice(a->ann, o->meta.namespace, o->meta.name))
HANDLERS(node, struct k8s_node, announcer_upsert_node(a->ann, o),
         announcer_remove_node(a->ann, o->meta.name))
HANDLERS(lease, struct k8s_lease, announcer_upsert_lease(a->ann, o, mono(a)),
         announcer_remove_lease(a->ann, o->meta.name, mono(a)))

static void on_synced(void *ud)
{
        check_synced(ud);
}

static void on_link(void *ud, const struct link_info *l, bool removed)
{
        struct agent *a = ud;
        struct link_info *old = g_hash_table_lookup(a->devices, GINT_TO_POINTER(l->ifindex));

        if (removed) {
                if (old) {
                        log_info("device removed", "device=%s", old->name);
                        announcer_remove_device(a->ann, old->name);
                        g_hash_table_remove(a->attached, GINT_TO_POINTER(l->ifindex));
                        g_hash_table_remove(a->attach_failed, GINT_TO_POINTER(l->ifindex));
                        g_hash_table_remove(a->devices, GINT_TO_POINTER(l->ifindex));
                }
        } else if (l->ether) {
                if (!old || old->carrier != l->carrier || strcmp(old->name, l->name) ||
                    memcmp(old->mac, l->mac, 6))
                        log_info("device", "device=%s ifindex=%d carrier=%s", l->name, l->ifindex,
                                 l->carrier ? "up" : "down");
                if (old && strcmp(old->name, l->name))
                        announcer_remove_device(a->ann, old->name);
                g_hash_table_replace(a->devices, GINT_TO_POINTER(l->ifindex),
                                     g_memdup2(l, sizeof(*l)));
                report_device(a, l);
                if (a->started && device_configured(a, l->name))
                        ensure_attached(a, l->ifindex);
        }
        if (a->run)
                schedule_run(a);
}

/* ---- status endpoint, metrics, health ---- */

static json_t *status_json(struct agent *a)
{
        struct announce_lease_info *leases = NULL;
        struct responder_entry *entries = NULL;
        size_t n_leases = 0, n_entries = 0;
        json_t *o = json_object(), *devs = json_array(), *ls = json_array(), *es = json_array();
        uint64_t now = mono(a), now_ns = responder_now_ns();
        GHashTableIter it;
        gpointer v;

        json_object_set_new(o, "node", json_string(a->node_name));
        json_object_set_new(o, "synced", json_boolean(a->synced));
        json_object_set_new(o, "ready", json_boolean(agent_ready(a)));
        json_object_set_new(o, "leasesHeld", json_integer((json_int_t)announcer_n_held(a->ann, now)));
        g_hash_table_iter_init(&it, a->devices);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct link_info *l = v;
                char mac[18];

                snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", l->mac[0], l->mac[1],
                         l->mac[2], l->mac[3], l->mac[4], l->mac[5]);
                json_array_append_new(
                        devs, json_pack("{s:s, s:i, s:s, s:b, s:b}", "name", l->name, "ifindex",
                                        l->ifindex, "mac", mac, "carrier", l->carrier,
                                        "responder",
                                        g_hash_table_contains(a->attached,
                                                              GINT_TO_POINTER(l->ifindex))));
        }
        json_object_set_new(o, "devices", devs);
        if (announcer_leases(a->ann, now, &leases, &n_leases) >= 0) {
                for (size_t i = 0; i < n_leases; i++) {
                        json_t *l = json_pack("{s:s, s:s?, s:s?, s:s, s:b}", "lease",
                                              leases[i].lease, "service", leases[i].service,
                                              "holder", leases[i].holder, "role",
                                              announce_role_to_string(leases[i].role),
                                              "canonical", leases[i].canonical);

                        if (leases[i].role == ANNOUNCE_ROLE_HOLDER && leases[i].deadline > now)
                                json_object_set_new(l, "deadlineMs",
                                                    json_integer((json_int_t)(leases[i].deadline -
                                                                              now) / 1000));
                        if (leases[i].role == ANNOUNCE_ROLE_FOLLOWER && leases[i].expires_at > now)
                                json_object_set_new(l, "expiresInMs",
                                                    json_integer((json_int_t)(leases[i].expires_at -
                                                                              now) / 1000));
                        if (leases[i].not_candidate)
                                json_object_set_new(l, "notCandidate",
                                                    json_string(leases[i].not_candidate));
                        json_array_append_new(ls, l);
                }
                announce_lease_infos_free(leases, n_leases);
        }
        json_object_set_new(o, "leases", ls);
        if (responder_list(a->resp, &entries, &n_entries) >= 0) {
                for (size_t i = 0; i < n_entries; i++) {
                        char ip[IPADDR_STRLEN], buf[IF_NAMESIZE];
                        int64_t left = (int64_t)entries[i].deadline_ns - (int64_t)now_ns;

                        json_array_append_new(
                                es, json_pack("{s:s, s:s, s:i, s:I, s:I, s:I}", "ip",
                                              ipaddr_format(&entries[i].ip, ip), "device",
                                              ifname(a, entries[i].ifindex, buf), "ifindex",
                                              entries[i].ifindex, "deadlineMs",
                                              (json_int_t)(left / 1000000), "requests",
                                              (json_int_t)entries[i].requests, "replies",
                                              (json_int_t)entries[i].replies));
                }
                free(entries);
        }
        json_object_set_new(o, "entries", es);
        return o;
}

static void on_status(const char *method, const char *path, struct httpd_response *r, void *ud)
{
        struct agent *a = ud;

        if (!streq(method, "GET"))
                return;
        r->content_type = "application/json";
        if (streq(path, "/status")) {
                json_t *o = status_json(a);

                r->status = 200;
                r->body = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                json_decref(o);
        } else if (streq(path, "/config")) {
                char *buf = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&buf, &len);

                config_view(a->cfg, CONFIG_AGENT, f);
                fclose(f);
                r->status = 200;
                r->content_type = "text/plain";
                r->body = buf;
        }
}

static void collect(struct metrics *m, void *ud)
{
        struct agent *a = ud;
        const struct announce_counters *c = announcer_counters(a->ann);
        struct responder_entry *entries = NULL;
        struct responder_stats st;
        size_t n = 0;
        uint64_t now = mono(a);

        (void)m;
        kube_client_metrics_collect(a->client_metrics);
        metric_set(a->m_held, (double)announcer_n_held(a->ann, now));
        metric_set(a->m_counters, (double)c->acquisitions, "acquisition");
        metric_set(a->m_counters, (double)c->renewals, "renewal");
        metric_set(a->m_counters, (double)c->renew_failures, "renewal_failure");
        metric_set(a->m_counters, (double)c->releases, "release");
        metric_set(a->m_counters, (double)c->lost, "lost");
        metric_set(a->m_counters, (double)c->deletions, "deletion");
        metric_clear(a->m_requests);
        metric_clear(a->m_replies);
        metric_clear(a->m_garp_ip);
        if (responder_list(a->resp, &entries, &n) >= 0) {
                GHashTable *live = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
                GHashTableIter it;
                gpointer k, v;

                for (size_t i = 0; i < n; i++) {
                        char ip[IPADDR_STRLEN], buf[IF_NAMESIZE];
                        const char *dev = ifname(a, entries[i].ifindex, buf);

                        ipaddr_format(&entries[i].ip, ip);
                        metric_set(a->m_requests, (double)entries[i].requests, ip, dev);
                        metric_set(a->m_replies, (double)entries[i].replies, ip, dev);
                        g_hash_table_add(live, garp_key(ip, dev));
                }
                free(entries);
                /* per announced IP: counts of IPs no longer announced go */
                g_hash_table_iter_init(&it, a->garps_sent);
                while (g_hash_table_iter_next(&it, &k, &v)) {
                        const char *sep = strchr(k, '\x1f');
                        _cleanup_free_ char *ip = NULL;

                        if (!g_hash_table_contains(live, k)) {
                                g_hash_table_iter_remove(&it);
                                continue;
                        }
                        ip = strndup(k, (size_t)(sep - (const char *)k));
                        metric_set(a->m_garp_ip, (double)*(guint64 *)v, ip, sep + 1);
                }
                g_hash_table_unref(live);
        }
        metric_set(a->m_entries, (double)n);
        responder_get_stats(a->resp, &st);
        metric_set(a->m_garp, (double)st.arp_requests_sent, "arp_request");
        metric_set(a->m_garp, (double)st.arp_replies_sent, "arp_reply");
        metric_set(a->m_garp, (double)st.nas_sent, "neighbor_advertisement");
        metric_set(a->m_heartbeat, a->last_api_ok ? (double)(now - a->last_api_ok) / 1e6 : -1);
        metric_set(a->m_ready, agent_ready(a) ? 1 : 0);
}

static void on_http(const char *method, const char *path, struct httpd_response *r, void *ud)
{
        struct agent *a = ud;

        if (!streq(method, "GET"))
                return;
        if (streq(path, "/metrics")) {
                r->status = 200;
                r->content_type = "text/plain; version=0.0.4";
                r->body = metrics_render(a->metrics);
        } else if (streq(path, "/healthz")) {
                r->status = 200;
                r->body = strdup("ok\n");
        } else if (streq(path, "/readyz")) {
                bool ready = agent_ready(a);

                r->status = ready ? 200 : 503;
                r->body = strdup(ready ? "ok\n"
                                 : !a->synced ? "caches not synced\n"
                                              : "responder not attached to any configured device\n");
        } else
                on_status(method, path, r, ud);
}

static void setup_metrics(struct agent *a)
{
        static const char *const kind[] = {"event", NULL};
        static const char *const ipdev[] = {"ip", "device", NULL};
        static const char *const garp[] = {"type", NULL};

        a->metrics = metrics_new();
        a->client_metrics = kube_client_metrics_new(a->metrics, a->client);
        kube_client_metrics_add_informer(a->client_metrics, "ciliuml2announcementpolicies",
                                         a->inf[INF_POLICIES]);
        kube_client_metrics_add_informer(a->client_metrics, "services", a->inf[INF_SERVICES]);
        kube_client_metrics_add_informer(a->client_metrics, "endpointslices", a->inf[INF_SLICES]);
        kube_client_metrics_add_informer(a->client_metrics, "nodes", a->inf[INF_NODES]);
        kube_client_metrics_add_informer(a->client_metrics, "leases", a->inf[INF_LEASES]);
        a->m_held = metrics_gauge(a->metrics, "l2lb_agent_leases_held",
                                  "Leases this node holds and announces.", NULL);
        a->m_counters = metrics_counter(a->metrics, "l2lb_agent_lease_transitions_total",
                                        "Lease events of this node: acquisition, renewal, "
                                        "renewal_failure, release, lost, deletion.",
                                        kind);
        a->m_entries = metrics_gauge(a->metrics, "l2lb_responder_entries",
                                     "Entries in the responder map.", NULL);
        a->m_requests = metrics_counter(a->metrics, "l2lb_responder_requests_total",
                                        "ARP requests and Neighbor Solicitations seen, per IP.",
                                        ipdev);
        a->m_replies = metrics_counter(a->metrics, "l2lb_responder_replies_total",
                                       "ARP replies and Neighbor Advertisements sent, per IP.",
                                       ipdev);
        a->m_garp = metrics_counter(a->metrics, "l2lb_responder_gratuitous_sent_total",
                                    "Gratuitous ARP requests/replies and unsolicited NAs sent.",
                                    garp);
        a->m_garp_ip = metrics_counter(a->metrics, "l2lb_responder_gratuitous_ip_sent_total",
                                       "Gratuitous packets sent per announced IP (ARP request + "
                                       "reply, or unsolicited NA), while the IP is announced.",
                                       ipdev);
        a->m_heartbeat = metrics_gauge(a->metrics, "l2lb_agent_heartbeat_age_seconds",
                                       "Seconds since the agent last heard from the API server.",
                                       NULL);
        a->m_ready = metrics_gauge(a->metrics, "l2lb_agent_ready",
                                   "1 when caches are synced and the responder is attached.",
                                   NULL);
        metrics_set_collector(a->metrics, collect, a);
}

/* ---- lifecycle ---- */

static char *default_node_name(void)
{
        const char *env = getenv("NODE_NAME");
        char host[256] = "";

        if (!isempty(env))
                return strdup(env);
        gethostname(host, sizeof(host) - 1);
        return strdup(host);
}

/* discovery.k8s.io/v1 where served (1.21+), else v1beta1 (1.20). */
static const struct kube_resource *pick_slices(struct kube_client *c)
{
        struct kube_sync s = {0};
        const struct kube_resource *res = &KUBE_ENDPOINTSLICES_V1BETA1;

        if (kube_call(c, "GET", "/apis/discovery.k8s.io/v1", NULL, NULL, 0, 0, kube_sync_callback,
                      &s, NULL) >= 0 &&
            kube_sync_wait(c, &s, 10 * USEC_PER_SEC) >= 0)
                res = &KUBE_ENDPOINTSLICES_V1;
        kube_sync_done(&s);
        return res;
}

int agent_new(sd_event *e, struct l2lb_config *cfg, struct agent **ret)
{
        static const struct kube_informer_handlers hp = {policy_add, policy_update, policy_remove,
                                                         on_synced};
        static const struct kube_informer_handlers hs = {service_add, service_update,
                                                         service_remove, on_synced};
        static const struct kube_informer_handlers he = {slice_add, slice_update, slice_remove,
                                                         on_synced};
        static const struct kube_informer_handlers hn = {node_add, node_update, node_remove,
                                                         on_synced};
        static const struct kube_informer_handlers hl = {lease_add, lease_update, lease_remove,
                                                         on_synced};
        struct agent *a = calloc(1, sizeof(*a));
        struct kube_informer_options lo = {.namespace = cfg->k8s_namespace};
        struct announcer_config ac;
        int r;

        if (!a)
                return -ENOMEM;
        a->cfg = cfg;
        a->event = sd_event_ref(e);
        if (timing_sanitize(&cfg->l2_announcements_lease_duration,
                                       &cfg->l2_announcements_renew_deadline,
                                       &cfg->l2_announcements_retry_period))
                log_warn("lease timings adjusted as Cilium does (duration >= 1s, renew deadline < "
                         "duration, retry period < renew deadline / 1.2)");
        a->node_name = isempty(cfg->node_name) ? default_node_name() : strdup(cfg->node_name);
        a->devices = g_hash_table_new_full(NULL, NULL, NULL, g_free);
        a->garps_sent = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        a->attached = g_hash_table_new(NULL, NULL);
        a->attach_failed = g_hash_table_new_full(NULL, NULL, NULL, free);
        ac = (struct announcer_config){
                .node_name = a->node_name,
                .lease_namespace = cfg->k8s_namespace,
                .lease_duration = cfg->l2_announcements_lease_duration,
                .renew_deadline = cfg->l2_announcements_renew_deadline,
                .retry_period = cfg->l2_announcements_retry_period,
                .enable_external_ips = cfg->enable_external_ips,
                .enable_ipv4 = cfg->enable_ipv4,
                .enable_ipv6 = cfg->enable_ipv6,
                .devices = cfg->devices,
        };
        r = announcer_new(&ac, &a->ann);
        if (r < 0)
                goto fail;
        r = responder_open(cfg->bpf_root, &a->resp);
        if (r < 0) {
                log_error_errno(r, "cannot load the responder", "bpf_root=%s", cfg->bpf_root);
                goto fail;
        }
        /* entries pinned by a previous run keep answering until the core
         * has decided about them */
        {
                struct responder_entry *pinned = NULL;
                size_t n = 0;
                uint64_t now_ns = responder_now_ns(), now_us = mono(a);

                if (responder_list(a->resp, &pinned, &n) >= 0) {
                        for (size_t i = 0; i < n; i++) {
                                struct announce_entry en = {.ip = pinned[i].ip,
                                                            .ifindex = pinned[i].ifindex};
                                int64_t left = (int64_t)pinned[i].deadline_ns - (int64_t)now_ns;

                                en.deadline = left > 0 ? now_us + (uint64_t)left / 1000 : 0;
                                announcer_add_pinned_entry(a->ann, &en);
                        }
                        if (n)
                                log_info("re-adopting pinned responder entries", "entries=%zu", n);
                        free(pinned);
                }
        }
        r = links_open(e, on_link, a, &a->links);
        if (r < 0)
                goto fail;
        r = program_kube_connect(e, cfg, "l2lb-agent", &a->client);
        if (r < 0)
                goto fail;
        a->slices_res = pick_slices(a->client);
        r = kube_informer_new(a->client, &KUBE_L2POLICIES, &K8S_TYPE_L2POLICY, NULL, &hp, a,
                              &a->inf[INF_POLICIES]);
        if (r >= 0)
                r = kube_informer_new(a->client, &KUBE_SERVICES, &K8S_TYPE_SERVICE, NULL, &hs, a,
                                      &a->inf[INF_SERVICES]);
        if (r >= 0)
                r = kube_informer_new(a->client, a->slices_res, &K8S_TYPE_ENDPOINTSLICE, NULL,
                                      &he, a, &a->inf[INF_SLICES]);
        if (r >= 0)
                r = kube_informer_new(a->client, &KUBE_NODES, &K8S_TYPE_NODE, NULL, &hn, a,
                                      &a->inf[INF_NODES]);
        if (r >= 0)
                r = kube_informer_new(a->client, &KUBE_LEASES, &K8S_TYPE_LEASE, &lo, &hl, a,
                                      &a->inf[INF_LEASES]);
        if (r < 0)
                goto fail;
        kube_recorder_new(a->client, "l2lb-agent", a->node_name, &a->recorder);
        r = sd_event_add_defer(e, &a->run, on_run, a);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(a->run, SD_EVENT_OFF);
        sd_event_source_set_priority(a->run, SD_EVENT_PRIORITY_IDLE);
        r = sd_event_add_time(e, &a->wakeup, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_wakeup, a);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(a->wakeup, SD_EVENT_OFF);
        r = sd_event_add_time(e, &a->attach_retry, CLOCK_MONOTONIC, UINT64_MAX, 10000,
                              on_attach_retry, a);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(a->attach_retry, SD_EVENT_OFF);
        setup_metrics(a);
        if (!isempty(cfg->prometheus_serve_addr)) {
                r = httpd_start(e, cfg->prometheus_serve_addr, on_http, a, &a->httpd);
                if (r < 0)
                        goto fail;
                log_info("serving metrics and health", "address=%s port=%u",
                         cfg->prometheus_serve_addr, httpd_port(a->httpd));
        }
        if (!isempty(cfg->status_socket)) {
                r = httpd_start_unix(e, cfg->status_socket, on_status, a, &a->status);
                if (r < 0)
                        goto fail;
        }
        *ret = a;
        return 0;
fail:
        agent_free(a);
        return r;
}

int agent_start(struct agent *a)
{
        GHashTableIter it;
        gpointer v;
        bool any = false;

        log_info("starting", "node=%s namespace=%s lease_duration_ms=%" PRIu64
                 " renew_deadline_ms=%" PRIu64 " retry_period_ms=%" PRIu64,
                 a->node_name, a->cfg->k8s_namespace,
                 a->cfg->l2_announcements_lease_duration / 1000,
                 a->cfg->l2_announcements_renew_deadline / 1000,
                 a->cfg->l2_announcements_retry_period / 1000);
        /* attach at once to the configured devices that exist */
        g_hash_table_iter_init(&it, a->devices);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct link_info *l = v;

                if (!device_configured(a, l->name))
                        continue;
                ensure_attached(a, l->ifindex);
                any = true;
        }
        a->started = true;
        if (!any && strv_length(a->cfg->devices) > 0)
                log_warn("none of the configured devices exists (yet)");
        for (int i = 0; i < N_INFORMERS; i++)
                kube_informer_start(a->inf[i]);
        return 0;
}

static void stop_finish(struct agent *a)
{
        sd_event_source_disable_unref(a->stop_timer);
        a->stop_timer = NULL;
        if (a->stop_done) {
                void (*done)(void *) = a->stop_done;

                a->stop_done = NULL;
                done(a->stop_data);
        }
}

static int on_stop_poll(sd_event_source *s, uint64_t usec, void *ud)
{
        struct agent *a = ud;
        static int polls;

        (void)s;
        (void)usec;
        if (a->in_flight == 0 || ++polls > 100) {
                /* feed the results (done by on_lease_written), apply the last entries */
                run_core(a);
                stop_finish(a);
                return 0;
        }
        sd_event_source_set_time_relative(a->stop_timer, 10 * USEC_PER_MSEC);
        sd_event_source_set_enabled(a->stop_timer, SD_EVENT_ONESHOT);
        return 0;
}

void agent_shutdown(struct agent *a, bool release, void (*done)(void *), void *userdata)
{
        if (a->stopping)
                return;
        a->stopping = true;
        a->stop_done = done;
        a->stop_data = userdata;
        if (release)
                announcer_release_all(a->ann);
        else
                announcer_renew_all_now(a->ann);
        run_core(a);
        /* wait for the writes (each has a timeout of one renew deadline) */
        sd_event_add_time_relative(a->event, &a->stop_timer, CLOCK_MONOTONIC, 10 * USEC_PER_MSEC,
                                   1000, on_stop_poll, a);
}

void agent_free(struct agent *a)
{
        if (!a)
                return;
        httpd_free(a->httpd);
        httpd_free(a->status);
        kube_client_metrics_free(a->client_metrics);
        metrics_free(a->metrics);
        sd_event_source_disable_unref(a->run);
        sd_event_source_disable_unref(a->wakeup);
        sd_event_source_disable_unref(a->attach_retry);
        sd_event_source_disable_unref(a->stop_timer);
        for (int i = 0; i < N_INFORMERS; i++)
                kube_informer_free(a->inf[i]);
        kube_recorder_free(a->recorder);
        kube_client_free(a->client);
        links_free(a->links);
        responder_close(a->resp);
        announcer_free(a->ann);
        g_hash_table_unref(a->devices);
        g_hash_table_unref(a->attached);
        if (a->attach_failed)
                g_hash_table_unref(a->attach_failed);
        if (a->garps_sent)
                g_hash_table_unref(a->garps_sent);
        sd_event_unref(a->event);
        free(a->node_name);
        free(a);
}

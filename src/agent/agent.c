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
 * never retried by the client: the core decides what to do next.
 *
 * This file: lifecycle, the inputs and applying the core's decisions;
 * attaching the responder is agent-attach.c, status and metrics are
 * agent-status.c. */
#include <stdio.h>
#include <time.h>

#include "agent-internal.h"
#include "announce/status.h"
#include "announce/timing.h"
#include "bpf/responder.h"
#include "daemon/program.h"
#include "devices.h"
#include "kube/api.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "lib/log.h"
#include "lib/util.h"

uint64_t agent_mono(struct agent *a)
{
        uint64_t t = 0;

        (void)sd_event_now(a->event, CLOCK_MONOTONIC, &t);
        return t;
}

static int64_t wall(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void agent_schedule_run(struct agent *a)
{
        (void)sd_event_source_set_enabled(a->run, SD_EVENT_ONESHOT);
}

const char *agent_ifname(struct agent *a, int ifindex, char buf[static IF_NAMESIZE])
{
        struct link_info *l = g_hash_table_lookup(a->devices, GINT_TO_POINTER(ifindex));

        if (l)
                return l->name;
        (void)snprintf(buf, IF_NAMESIZE, "if%d", ifindex);
        return buf;
}

bool agent_device_configured(struct agent *a, const char *name)
{
        return announce_devices_list(a->cfg->devices, name);
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
                a->last_api_ok = agent_mono(a);
                if (w->op != ANNOUNCE_LEASE_DELETE &&
                    k8s_lease_decode(res->body, &lease, &err) < 0) {
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
                log_warn("lease write failed", "lease=%s status=%ld reason=%s message=%s", w->name,
                         res->http_status, log_q(res->reason), log_q(res->message));
        if (a->ann)
                announcer_lease_result(a->ann, w->id, r, lease, agent_mono(a));
        k8s_lease_free(lease);
        free(w->name);
        free(w);
        agent_schedule_run(a);
}

static void send_action(struct agent *a, const struct announce_lease_action *act)
{
        struct write_ctx *w = xnew(struct write_ctx, 1);
        _cleanup_free_ char *path = NULL;
        uint64_t timeout = announcer_timing(a->ann)->renew_deadline;
        json_t *body = act->body;
        const char *method;
        int r;

        if (timeout < 200 * USEC_PER_MSEC)
                timeout = 200 * USEC_PER_MSEC;
        w->a = a;
        w->id = act->id;
        w->op = act->op;
        w->name = xstrdup(act->name);
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
        /* time-critical writes (renewals above all) go ahead of every other
         * request of the agent; the compatibility Leases after all of them */
        r = kube_call(a->client, method, path, body, "application/json",
                      KUBE_CALL_NO_RETRY | (act->low_priority ? KUBE_CALL_LOW : KUBE_CALL_PRIORITY),
                      timeout, on_lease_written, w, NULL);
        if (act->op == ANNOUNCE_LEASE_DELETE)
                json_decref(body);
        if (r < 0) {
                struct kube_result res = {.error = r, .reason = "InternalError"};

                on_lease_written(a->client, &res, w);
        }
}

/* ---- applying decisions ---- */

static void apply_entries(struct agent *a, const struct announce_decisions *d)
{
        struct responder_want *want = xnew(struct responder_want, d->n_entries + 1);
        int r;

        for (size_t i = 0; i < d->n_entries; i++) {
                want[i].ip = d->entries[i].ip;
                want[i].ifindex = d->entries[i].ifindex;
                want[i].deadline_ns =
                    responder_deadline_from_monotonic_usec(d->entries[i].deadline);
        }
        r = responder_reconcile(a->resp, want, d->n_entries);
        if (r < 0)
                log_error_errno(r, "cannot update the responder map");
        free(want);
}

static void apply_garps(struct agent *a, const struct announce_decisions *d)
{
        for (size_t i = 0; i < d->n_garps; i++) {
                char ip[IPADDR_STRLEN], buf[IF_NAMESIZE];
                int r = responder_announce(a->resp, &d->garps[i].ip, d->garps[i].ifindex);
                const char *dev = agent_ifname(a, d->garps[i].ifindex, buf);

                ipaddr_format(&d->garps[i].ip, ip);
                if (r < 0)
                        log_warn_errno(r, "cannot send gratuitous announcement", "ip=%s device=%s",
                                       ip, dev);
                else
                        /* one burst: ARP request + reply for IPv4, one NA for IPv6 */
                        agent_count_garps(a, ip, dev, d->garps[i].ip.family == AF_INET ? 2 : 1);
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
                        json_object_set_new(
                            patch, "metadata",
                            json_pack("{s:s}", "resourceVersion", p->meta.resource_version));
                log_policy_status(&d->statuses[i]);
                (void)kube_patch(a->client, &KUBE_L2POLICIES, NULL, d->statuses[i].policy, "status",
                                 KUBE_PATCH_MERGE, patch, on_policy_patched,
                                 xstrdup(d->statuses[i].policy), NULL);
                json_decref(patch);
        }
}

static void apply_events(struct agent *a, const struct announce_decisions *d)
{
        for (size_t i = 0; i < d->n_events; i++) {
                const struct announce_event *ev = &d->events[i];
                bool started = ev->kind == ANNOUNCE_STARTED;
                const char *slash = ev->service ? strchr(ev->service, '/') : NULL;

                if (ev->kind == ANNOUNCE_MALFORMED) {
                        /* A shard or heartbeat Lease of the election that does
                         * not parse: it binds nothing until rewritten. */
                        log_warn("malformed election lease", "lease=%s error=%s",
                                 strempty(ev->lease), log_q(strempty(ev->detail)));
                        continue;
                }
                log_info(started ? "announcing" : "stopped announcing",
                         "service=%s lease=%s reason=%s", strempty(ev->service),
                         strempty(ev->lease), strempty(ev->reason));
                if (slash) {
                        _cleanup_free_ char *ns =
                            xstrndup(ev->service, (size_t)(slash - ev->service));
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
                (void)sd_event_source_set_enabled(a->wakeup, SD_EVENT_OFF);
                return;
        }
        (void)sd_event_source_set_time(a->wakeup, when);
        (void)sd_event_source_set_enabled(a->wakeup, SD_EVENT_ONESHOT);
}

static void log_chosen(struct agent *a);

static void run_core(struct agent *a)
{
        struct announce_decisions d = {0};
        int r;

        if (a->devices_changed) {
                a->devices_changed = false;
                log_chosen(a);
        }
        r = announcer_run(a->ann, agent_mono(a), wall(), &d);
        if (r < 0) {
                log_error_errno(r, "announcer run failed");
                arm_wakeup(a, agent_mono(a) + announcer_timing(a->ann)->retry_period);
                return;
        }
        a->runs++;
        /* the responder where the entries need it, then the entries; order
         * matters: fall silent before handing a lease over */
        agent_attach_set_entries(a, &d);
        agent_attach_pass(a);
        apply_entries(a, &d);
        apply_garps(a, &d);
        for (size_t i = 0; i < d.n_actions; i++)
                send_action(a, &d.actions[i]);
        apply_statuses(a, &d);
        apply_events(a, &d);
        arm_wakeup(a, d.next_wakeup);
        announce_decisions_done(&d);
        agent_check_renewal_budget(a);
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
                 kube_informer_count(a->inf[INF_SERVICES]), kube_informer_count(a->inf[INF_NODES]),
                 kube_informer_count(a->inf[INF_LEASES]));
        agent_schedule_run(a);
}

#define HANDLERS(kind, type, upsert_call, remove_call)                                             \
        static void kind##_add(void *ud, const void *obj)                                          \
        {                                                                                          \
                struct agent *a = ud;                                                              \
                const type *o = obj;                                                               \
                a->last_api_ok = agent_mono(a);                                                    \
                upsert_call;                                                                       \
                agent_schedule_run(a);                                                             \
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
                a->last_api_ok = agent_mono(a);                                                    \
                remove_call;                                                                       \
                agent_schedule_run(a);                                                             \
        }

/* Our Node labelled exclude-from-external-load-balancers: said once. */
static void upsert_node(struct agent *a, const struct k8s_node *n)
{
        if (streq(n->meta.name, a->node_name)) {
                bool excluded = announce_node_excluded(&n->meta.labels);

                if (excluded && !a->self_excluded)
                        log_warn("this node is labelled " ANNOUNCE_EXCLUDE_LABEL
                                 ": it announces nothing",
                                 "value=%s",
                                 log_q(labels_get(&n->meta.labels, ANNOUNCE_EXCLUDE_LABEL)));
                else if (!excluded && a->self_excluded)
                        log_info("this node is no longer excluded from external load balancers");
                a->self_excluded = excluded;
        }
        announcer_upsert_node(a->ann, n);
}

HANDLERS(policy, struct k8s_l2policy, announcer_upsert_policy(a->ann, o),
         announcer_remove_policy(a->ann, o->meta.name))
HANDLERS(service, struct k8s_service, announcer_upsert_service(a->ann, o),
         announcer_remove_service(a->ann, o->meta.namespace, o->meta.name))
HANDLERS(slice, struct k8s_endpointslice, announcer_upsert_endpointslice(a->ann, o),
         announcer_remove_endpointslice(a->ann, o->meta.namespace, o->meta.name))
HANDLERS(node, struct k8s_node, upsert_node(a, o), announcer_remove_node(a->ann, o->meta.name))
/* (a lease that changes nothing the core decides on needs no run) */
HANDLERS(lease, struct k8s_lease, if (!announcer_upsert_lease(a->ann, o, agent_mono(a))) return,
         announcer_remove_lease(a->ann, o->meta.name, agent_mono(a)))

static void on_synced(void *ud)
{
        check_synced(ud);
}

/* ---- devices ---- */

/* The devices key empty: the agent chooses its devices (devices.h). */
static bool devices_auto(struct agent *a)
{
        return strv_length(a->cfg->devices) == 0;
}

static const char *skip_reason(const struct link_info *l)
{
        struct device_facts f = {
            .name = l->name,
            .kind = l->kind,
            .flags = l->flags,
            .master = l->master,
            .ether = l->ether,
            .global_addr = l->global_addr,
            .default_route = l->default_route,
        };

        return devices_skip_reason(&f);
}

static gint name_cmp(gconstpointer x, gconstpointer y)
{
        return strcmp(((const struct link_info *)x)->name, ((const struct link_info *)y)->name);
}

/* One line with the chosen devices (the devices key empty). */
static void log_chosen(struct agent *a)
{
        GList *vals = g_list_sort(g_hash_table_get_values(a->devices), name_cmp);
        GString *names = g_string_new(NULL);

        for (GList *v = vals; v; v = v->next)
                g_string_append_printf(names, "%s%s", names->len ? "," : "",
                                       ((const struct link_info *)v->data)->name);
        if (names->len)
                log_info("devices chosen", "devices=%s", names->str);
        else
                log_warn("no device chosen: none is up, Ethernet, with a global unicast address "
                         "or a default route and not a bridge, tunnel, dummy or pod veth; set "
                         "`devices`");
        g_string_free(names, TRUE);
        g_list_free(vals);
}

/* Why a device is not chosen, once per reason: at info when it looks like
 * an uplink (an address or a default route), else (pod veths) at debug;
 * not when it was chosen until now (said as "no longer chosen"). */
static void note_skipped(struct agent *a, const struct link_info *l, const char *why,
                         bool was_chosen)
{
        if (g_hash_table_lookup(a->skipped, GINT_TO_POINTER(l->ifindex)) == why)
                return;
        g_hash_table_replace(a->skipped, GINT_TO_POINTER(l->ifindex), (gpointer)why);
        if (was_chosen)
                return;
        if (l->global_addr || l->default_route)
                log_info("device not chosen", "device=%s kind=%s reason=%s", l->name,
                         isempty(l->kind) ? "none" : l->kind, log_q(why));
        else
                log_debug("device not chosen", "device=%s kind=%s reason=%s", l->name,
                          isempty(l->kind) ? "none" : l->kind, log_q(why));
}

/* The device is gone, or no longer chosen: the core stops using it. */
static void drop_device(struct agent *a, const struct link_info *old, bool removed)
{
        if (!removed && g_hash_table_contains(a->attached, GINT_TO_POINTER(old->ifindex))) {
                int r = responder_detach(a->resp, old->ifindex);

                if (r < 0)
                        log_warn_errno(r, "cannot detach the responder", "device=%s", old->name);
        }
        announcer_remove_device(a->ann, old->name);
        agent_attach_forget(a, old->ifindex);
        g_hash_table_remove(a->devices, GINT_TO_POINTER(old->ifindex));
}

#define IPVS_RECHECK (60 * USEC_PER_SEC)
#define IPVS_REWARN  (600 * USEC_PER_SEC)

/* kube-proxy in IPVS mode without strictARP: every node answers ARP for the
 * service IPs. Checked on link changes and every minute (a sysctl change
 * makes no netlink event); warned about every ten minutes while it lasts. */
static void check_ipvs(struct agent *a)
{
        int ignore = -1, announce = -1;
        const char *problem;
        uint64_t now = agent_mono(a);

        if (a->ipvs_ifindex)
                links_arp_sysctls(&ignore, &announce);
        problem = devices_ipvs_arp_problem(a->ipvs_ifindex != 0, ignore, announce);
        if (problem && (problem != a->ipvs_problem || now >= a->ipvs_warned + IPVS_REWARN)) {
                log_warn("kube-proxy runs in IPVS mode without strictARP: the kernel of every node "
                         "answers ARP for the service IPs, so the one-answerer guarantee is lost; "
                         "set ipvs.strictARP: true in kube-proxy's configuration",
                         "problem=%s arp_ignore=%d arp_announce=%d", log_q(problem), ignore,
                         announce);
                a->ipvs_warned = now;
        } else if (!problem && a->ipvs_problem)
                log_info("ARP for IPVS service IPs fixed",
                         "ipvs_device=%s arp_ignore=%d "
                         "arp_announce=%d",
                         a->ipvs_ifindex ? "present" : "absent", ignore, announce);
        a->ipvs_problem = problem;
}

static int on_ipvs_timer(sd_event_source *s, uint64_t usec, void *ud)
{
        (void)s;
        check_ipvs(ud);
        (void)sd_event_source_set_time(s, usec + IPVS_RECHECK);
        return 0;
}

static void on_link(void *ud, const struct link_info *l, bool removed)
{
        struct agent *a = ud;
        struct link_info *old = g_hash_table_lookup(a->devices, GINT_TO_POINTER(l->ifindex));
        char mac[18], old_mac[18];
        bool was_ipvs = a->ipvs_ifindex != 0 && a->ipvs_ifindex == l->ifindex;
        const char *skip = NULL;
        bool membership = false;

        if (removed) {
                g_hash_table_remove(a->skipped, GINT_TO_POINTER(l->ifindex));
                if (was_ipvs)
                        a->ipvs_ifindex = 0;
        } else if (streq(l->name, IPVS_DEVICE))
                a->ipvs_ifindex = l->ifindex;
        else if (was_ipvs)
                a->ipvs_ifindex = 0; /* renamed */
        if (!removed && devices_auto(a)) {
                skip = skip_reason(l);
                if (skip)
                        note_skipped(a, l, skip, old != NULL);
                else
                        g_hash_table_remove(a->skipped, GINT_TO_POINTER(l->ifindex));
        }
        if (removed) {
                if (old) {
                        log_info("device removed", "device=%s", old->name);
                        drop_device(a, old, true);
                        membership = true;
                }
        } else if (skip) {
                if (old) {
                        log_info("device no longer chosen", "device=%s reason=%s", old->name,
                                 log_q(skip));
                        drop_device(a, old, false);
                        membership = true;
                }
        } else if (l->ether) {
                if (!old || old->carrier != l->carrier || !streq(old->name, l->name) ||
                    memcmp(old->mac, l->mac, 6) != 0)
                        log_info("device", "device=%s ifindex=%d carrier=%s mac=%s", l->name,
                                 l->ifindex, l->carrier ? "up" : "down",
                                 agent_mac_format(l->mac, mac));
                /* the core restarts the gratuitous series of the device's
                 * addresses, the run stores the new MAC into their entries */
                if (old && memcmp(old->mac, l->mac, 6) != 0)
                        log_info("device MAC changed: announcing its addresses again",
                                 "device=%s old_mac=%s mac=%s", l->name,
                                 agent_mac_format(old->mac, old_mac),
                                 agent_mac_format(l->mac, mac));
                if (old && !streq(old->name, l->name))
                        announcer_remove_device(a->ann, old->name);
                membership = !old || !streq(old->name, l->name);
                g_hash_table_replace(a->devices, GINT_TO_POINTER(l->ifindex),
                                     g_memdup2(l, sizeof(*l)));
                agent_report_device(a, l);
                if (a->started && agent_device_configured(a, l->name))
                        agent_attach_pass(a);
        }
        /* said once the loop has handled what is pending (a route moving
         * from one device to another is one change); a->links is set once
         * the first dump has been reported */
        if (a->links && membership && devices_auto(a))
                a->devices_changed = true;
        if (a->links && (was_ipvs || a->ipvs_ifindex == l->ifindex))
                check_ipvs(a);
        if (a->run)
                agent_schedule_run(a);
}

/* ---- lifecycle ---- */

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

int agent_new(sd_event *e, const struct l2lb_config *cfg, struct agent **ret)
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
        struct kube_informer_options lo = {.namespace = cfg->k8s_namespace};
        struct announcer_config ac;
        struct agent *a;
        int r;

        assert(e);
        assert(cfg);
        assert(ret);
        a = xnew(struct agent, 1);
        a->cfg = cfg;
        a->event = sd_event_ref(e);
        a->node_name = isempty(cfg->node_name) ? program_default_name("NODE_NAME", "", false)
                                               : xstrdup(cfg->node_name);
        a->devices = g_hash_table_new_full(NULL, NULL, NULL, g_free);
        a->skipped = g_hash_table_new(NULL, NULL);
        r = agent_attach_setup(a);
        if (r < 0)
                goto fail;
        r = announce_election_from_string(cfg->l2_announcements_election);
        if (r < 0) {
                log_error("invalid l2-announcements-election", "value=%s",
                          log_q(cfg->l2_announcements_election));
                goto fail;
        }
        a->election = (enum announce_election)r;
        /* the configured timings: the core sanitises them (announcer_timing) */
        ac = (struct announcer_config){
            .node_name = a->node_name,
            .election = a->election,
            .lease_namespace = cfg->k8s_namespace,
            .lease_duration = cfg->l2_announcements_lease_duration,
            .renew_deadline = cfg->l2_announcements_renew_deadline,
            .retry_period = cfg->l2_announcements_retry_period,
            .enable_external_ips = cfg->enable_external_ips,
            .external_ips_cidrs = cfg->l2_announcements_external_ips_cidrs,
            .enable_ipv4 = cfg->enable_ipv4,
            .enable_ipv6 = cfg->enable_ipv6,
            .devices = cfg->devices,
        };
        r = announcer_new(&ac, &a->ann);
        if (r < 0)
                goto fail;
        if (cfg->enable_external_ips && strv_length(cfg->l2_announcements_external_ips_cidrs) == 0)
                log_warn("enable-external-ips is on but l2-announcements-external-ips-cidrs is "
                         "empty: no external IP is announced (policies selecting some say so in "
                         "condition " COND_EXTERNAL_IPS_NOT_ALLOWED ")");
        if (announcer_timing(a->ann)->adjusted)
                log_warn("lease timings adjusted as Cilium does (duration >= 1s, renew deadline < "
                         "duration, retry period < renew deadline / 1.2)");
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
                uint64_t now_ns = responder_now_ns(), now_us = agent_mono(a);

                if (responder_list(a->resp, &pinned, &n) >= 0) {
                        for (size_t i = 0; i < n; i++) {
                                struct announce_entry en = {.ip = pinned[i].ip,
                                                            .ifindex = pinned[i].ifindex};
                                int64_t left = (int64_t)pinned[i].deadline_ns - (int64_t)now_ns;

                                en.deadline = left > 0 ? now_us + (uint64_t)left / 1000 : 0;
                                (void)announcer_add_pinned_entry(a->ann, &en);
                        }
                        if (n)
                                log_info("re-adopting pinned responder entries", "entries=%zu", n);
                        free(pinned);
                }
        }
        r = links_open(e, on_link, a, &a->links);
        if (r < 0)
                goto fail;
        if (devices_auto(a))
                log_chosen(a);
        check_ipvs(a);
        r = sd_event_add_time_relative(e, &a->ipvs_timer, CLOCK_MONOTONIC, IPVS_RECHECK,
                                       USEC_PER_SEC, on_ipvs_timer, a);
        if (r < 0)
                goto fail;
        (void)sd_event_source_set_enabled(a->ipvs_timer, SD_EVENT_ON);
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
                r = kube_informer_new(a->client, a->slices_res, &K8S_TYPE_ENDPOINTSLICE, NULL, &he,
                                      a, &a->inf[INF_SLICES]);
        if (r >= 0)
                r = kube_informer_new(a->client, &KUBE_NODES, &K8S_TYPE_NODE, NULL, &hn, a,
                                      &a->inf[INF_NODES]);
        if (r >= 0)
                r = kube_informer_new(a->client, &KUBE_LEASES, &K8S_TYPE_LEASE, &lo, &hl, a,
                                      &a->inf[INF_LEASES]);
        if (r < 0)
                goto fail;
        (void)kube_recorder_new(a->client, "l2lb-agent", a->node_name, &a->recorder);
        r = sd_event_add_defer(e, &a->run, on_run, a);
        if (r < 0)
                goto fail;
        (void)sd_event_source_set_enabled(a->run, SD_EVENT_OFF);
        (void)sd_event_source_set_priority(a->run, SD_EVENT_PRIORITY_IDLE);
        r = sd_event_add_time(e, &a->wakeup, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_wakeup, a);
        if (r < 0)
                goto fail;
        (void)sd_event_source_set_enabled(a->wakeup, SD_EVENT_OFF);
        r = agent_status_setup(a);
        if (r < 0)
                goto fail;
        *ret = a;
        return 0;
fail:
        agent_free(a);
        return r;
}

int agent_start(struct agent *a)
{
        const struct timing *t;
        GHashTableIter it;
        gpointer v;
        bool any = false;

        assert(a);
        t = announcer_timing(a->ann);
        log_info("starting",
                 "node=%s namespace=%s election=%s lease_duration_ms=%" PRIu64
                 " renew_deadline_ms=%" PRIu64 " retry_period_ms=%" PRIu64,
                 a->node_name, a->cfg->k8s_namespace, announce_election_to_string(a->election),
                 t->duration / 1000, t->renew_deadline / 1000, t->retry_period / 1000);
        g_hash_table_iter_init(&it, a->devices);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (agent_device_configured(a, ((const struct link_info *)v)->name))
                        any = true;
        /* attach at once to the configured devices that exist */
        a->started = true;
        agent_attach_pass(a);
        if (!any && strv_length(a->cfg->devices) > 0)
                log_warn("none of the configured devices exists (yet)");
        for (int i = 0; i < N_INFORMERS; i++)
                (void)kube_informer_start(a->inf[i]);
        return 0;
}

static void stop_finish(struct agent *a)
{
        a->stop_timer = sd_event_source_disable_unref(a->stop_timer);
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
        (void)sd_event_source_set_time_relative(a->stop_timer, 10 * USEC_PER_MSEC);
        (void)sd_event_source_set_enabled(a->stop_timer, SD_EVENT_ONESHOT);
        return 0;
}

void agent_shutdown(struct agent *a, bool release, void (*done)(void *), void *userdata)
{
        assert(a);
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
        (void)sd_event_add_time_relative(a->event, &a->stop_timer, CLOCK_MONOTONIC,
                                         10 * USEC_PER_MSEC, 1000, on_stop_poll, a);
}

void agent_free(struct agent *a)
{
        if (!a)
                return;
        agent_status_done(a);
        (void)sd_event_source_disable_unref(a->run);
        (void)sd_event_source_disable_unref(a->wakeup);
        (void)sd_event_source_disable_unref(a->stop_timer);
        (void)sd_event_source_disable_unref(a->ipvs_timer);
        for (int i = 0; i < N_INFORMERS; i++)
                kube_informer_free(a->inf[i]);
        kube_recorder_free(a->recorder);
        kube_client_free(a->client);
        links_free(a->links);
        responder_close(a->resp);
        announcer_free(a->ann);
        agent_attach_done(a);
        g_hash_table_unref(a->devices);
        g_hash_table_unref(a->skipped);
        (void)sd_event_unref(a->event);
        free(a->node_name);
        free(a);
}

/* Wiring of the operator:
 *
 *   informers (pools, services) ──upsert/delete──▶ ipam core ──dirty──▶ reconcile
 *        ▲                                                               │
 *        └──────────── our own status patches come back ◀── patch ◀──────┘
 *
 * All replicas keep their caches warm; only the leader has a core and
 * writes. A new leader builds a fresh core from the caches and imports the
 * existing allocations (ipam_start) before allocating anything, so a leader
 * change never moves an IP. Patches carry the resourceVersion they were
 * computed from; a 409 is resolved by the informer's next update, which
 * makes the object dirty again if it still differs. */
#include "operator.h"

#include <glib.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "ipam/ipam.h"
#include "kube/api.h"
#include "daemon/client-metrics.h"
#include "daemon/program.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/leader.h"
#include "daemon/httpd.h"
#include "lib/duration.h"
#include "lib/log.h"
#include "daemon/metrics.h"
#include "lib/util.h"

#define LEADER_LEASE "l2lb-operator-resource-lock"

struct patch_ctx;

struct pending {
        bool again;           /* dirty again while the patch was in flight */
        uint64_t dirty_since; /* mono µs, for the reconcile latency */
        struct kube_call *call;
        struct patch_ctx *ctx;
};

struct operator
{
        struct l2lb_config *cfg;
        sd_event *event;
        struct kube_client *client;
        struct kube_informer *pools;
        struct kube_informer *services;
        struct kube_leader *leader;
        struct kube_recorder *recorder;
        char *identity;
        struct ipam *ipam; /* while leading and synced */
        bool leading;
        sd_event_source *reconcile;
        sd_event_source *retry_timer;
        GHashTable *in_flight; /* "s/ns/name" | "p/name" → struct pending */
        GHashTable *retry;     /* keys to reconcile again after a failure */
        unsigned retry_failures;

        struct metrics *metrics;
        struct kube_client_metrics *client_metrics;
        struct metric *m_leader, *m_ips_capacity, *m_ips_available, *m_ips_used, *m_pool_conflict,
            *m_svc_matching, *m_svc_unsatisfied, *m_latency, *m_patches;
        struct httpd *httpd;

        void (*shutdown_done)(void *);
        void *shutdown_data;
};

static uint64_t mono(struct operator* o)
{
        uint64_t t = 0;

        (void)sd_event_now(o->event, CLOCK_MONOTONIC, &t); /* cannot fail for CLOCK_MONOTONIC */
        return t;
}

/* Wall-clock µs for the conditions' lastTransitionTime (whole seconds). */
static int64_t now_wall(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000;
}

static void schedule_reconcile(struct operator* o)
{
        if (o->ipam)
                (void)sd_event_source_set_enabled(o->reconcile, SD_EVENT_ONESHOT);
}

/* ---- patches ---- */

struct patch_ctx {
        struct operator* o;
        char *key;
};

static void reconcile_key(struct operator* o, const char *key);

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct operator* o = userdata;
        GList *keys;

        (void)s;
        (void)usec;
        o->retry_timer = sd_event_source_disable_unref(o->retry_timer);
        keys = g_hash_table_get_keys(o->retry);
        g_hash_table_steal_all(o->retry);
        for (GList *l = keys; l; l = l->next) {
                reconcile_key(o, l->data);
                free(l->data);
        }
        g_list_free(keys);
        return 0;
}

static void retry_later(struct operator* o, const char *key)
{
        uint64_t delay;

        g_hash_table_add(o->retry, xstrdup(key));
        if (o->retry_timer)
                return;
        o->retry_failures++;
        delay = USEC_PER_SEC << (o->retry_failures > 5 ? 5 : o->retry_failures - 1);
        (void)sd_event_add_time_relative(o->event, &o->retry_timer, CLOCK_MONOTONIC, delay, 10000,
                                         on_retry_timer, o);
}

static void on_patched(struct kube_client *c, const struct kube_result *res, void *userdata)
{
        struct patch_ctx *ctx = userdata;
        struct operator* o = ctx->o;
        struct pending *p = g_hash_table_lookup(o->in_flight, ctx->key);
        bool again = p && p->again;

        (void)c;
        metric_add(o->m_patches, 1, ctx->key[0] == 's' ? "services/status" : "pools/status",
                   res->error == 0             ? "ok"
                   : kube_result_conflict(res) ? "conflict"
                                               : "error");
        if (kube_result_ok(res)) {
                o->retry_failures = 0;
                if (p)
                        metric_observe(o->m_latency, (double)(mono(o) - p->dirty_since) / 1e6);
        } else if (kube_result_conflict(res) || kube_result_not_found(res)) {
                /* the informer brings the newer version (or the deletion) */
                log_debug("status patch raced another writer", "object=%s", ctx->key);
        } else {
                log_warn("status patch failed, retrying",
                         "object=%s status=%ld reason=%s "
                         "message=%s",
                         ctx->key, res->http_status, log_q(res->reason), log_q(res->message));
                retry_later(o, ctx->key);
        }
        g_hash_table_remove(o->in_flight, ctx->key);
        if (again)
                reconcile_key(o, ctx->key);
        free(ctx->key);
        free(ctx);
}

static void send_status_patch(struct operator* o, const char *key, const struct kube_resource *res,
                              const char *ns, const char *name, json_t *patch)
{
        struct patch_ctx *ctx = xnew(struct patch_ctx, 1);
        struct pending *p = xnew(struct pending, 1);
        _cleanup_free_ char *path = kube_path(res, ns, name, "status");

        ctx->o = o;
        ctx->key = xstrdup(key);
        p->dirty_since = mono(o);
        g_hash_table_replace(o->in_flight, xstrdup(key), p);
        /* pool counters are bookkeeping: they wait while services wait */
        p->ctx = ctx;
        if (kube_call(o->client, "PATCH", path, patch, "application/merge-patch+json",
                      res == &KUBE_IPPOOLS ? KUBE_CALL_LOW : 0, 0, on_patched, ctx, &p->call) < 0) {
                g_hash_table_remove(o->in_flight, key);
                retry_later(o, key);
                free(ctx->key);
                free(ctx);
        }
}

/* ---- services ---- */

static void reconcile_service(struct operator* o, const char *key, const char *ns, const char *name)
{
        const struct k8s_service *svc = kube_informer_get(o->services, ns, name);
        struct ipam_service_status st;
        struct k8s_conditions conds;
        bool changed, ingress_ok;
        json_t *patch, *status, *lb;

        if (!svc)
                return;
        ipam_service_status(o->ipam, ns, name, &st);
        if (st.action == IPAM_SERVICE_IGNORE) {
                ipam_service_status_done(&st);
                return;
        }
        k8s_conditions_copy(&conds, &svc->conditions);
        if (st.action == IPAM_SERVICE_WRITE)
                changed = k8s_conditions_merge(&conds, &st.condition, 1, now_wall());
        else
                changed = k8s_conditions_remove(&conds, IPAM_CONDITION_SATISFIED);
        ingress_ok = ipam_service_ingress_equal(svc, &st);
        if (changed || !ingress_ok) {
                lb = json_object();
                if (st.n_ips > 0) {
                        json_t *ing = json_array();

                        for (size_t i = 0; i < st.n_ips; i++)
                                json_array_append_new(ing, json_pack("{s:s}", "ip", st.ips[i]));
                        json_object_set_new(lb, "ingress", ing);
                } else
                        json_object_set_new(lb, "ingress", json_null());
                status = json_object();
                json_object_set_new(status, "loadBalancer", lb);
                json_object_set_new(status, "conditions",
                                    conds.n ? k8s_conditions_to_json(&conds) : json_null());
                patch = json_pack("{s:{s:s}, s:o}", "metadata", "resourceVersion",
                                  svc->meta.resource_version, "status", status);
                send_status_patch(o, key, &KUBE_SERVICES, ns, name, patch);
                json_decref(patch);
        }
        k8s_conditions_done(&conds);
        ipam_service_status_done(&st);
}

/* ---- pools ---- */

static void reconcile_pool(struct operator* o, const char *key, const char *name)
{
        const struct k8s_ippool *pool = kube_informer_get(o->pools, NULL, name);
        struct ipam_pool_status st;
        struct k8s_conditions conds;
        json_t *patch;

        if (!pool)
                return;
        ipam_pool_status(o->ipam, name, &st);
        if (!st.known) {
                ipam_pool_status_done(&st);
                return;
        }
        k8s_conditions_copy(&conds, &pool->conditions);
        if (k8s_conditions_merge(&conds, st.conditions, IPAM_POOL_CONDITIONS, now_wall())) {
                patch = json_pack("{s:{s:s}, s:{s:o}}", "metadata", "resourceVersion",
                                  pool->meta.resource_version, "status", "conditions",
                                  k8s_conditions_to_json(&conds));
                send_status_patch(o, key, &KUBE_IPPOOLS, NULL, name, patch);
                json_decref(patch);
        }
        k8s_conditions_done(&conds);
        ipam_pool_status_done(&st);
}

/* key: "s/<ns>/<name>" or "p/<name>" */
static void reconcile_key(struct operator* o, const char *key)
{
        struct pending *p;

        if (!o->ipam)
                return;
        p = g_hash_table_lookup(o->in_flight, key);
        if (p) {
                p->again = true;
                return;
        }
        if (key[0] == 's') {
                const char *ns = key + 2, *slash = strchr(ns, '/');
                _cleanup_free_ char *nsbuf = slash ? xstrndup(ns, (size_t)(slash - ns)) : NULL;

                if (slash)
                        reconcile_service(o, key, nsbuf, slash + 1);
        } else
                reconcile_pool(o, key, key + 2);
}

static void publish_events(struct operator* o)
{
        struct ipam_event ev;

        while (ipam_event_pop(o->ipam, &ev)) {
                struct kube_object_ref ref = {.namespace = ev.namespace, .name = ev.name};
                const struct k8s_meta *m;

                if (ev.pool) {
                        ref.api_version = "cilium.io/v2";
                        ref.kind = "CiliumLoadBalancerIPPool";
                        m = kube_informer_get(o->pools, NULL, ev.name);
                } else {
                        ref.api_version = "v1";
                        ref.kind = "Service";
                        m = kube_informer_get(o->services, ev.namespace, ev.name);
                }
                ref.uid = m ? m->uid : NULL;
                if (ev.warning)
                        log_warn("LB-IPAM", "object=%s%s%s reason=%s message=%s",
                                 strempty(ev.namespace), ev.namespace ? "/" : "", ev.name,
                                 ev.reason, log_q(ev.message));
                else
                        log_info("LB-IPAM", "object=%s%s%s reason=%s message=%s",
                                 strempty(ev.namespace), ev.namespace ? "/" : "", ev.name,
                                 ev.reason, log_q(ev.message));
                kube_event(o->recorder, &ref, ev.warning ? "Warning" : "Normal", ev.reason, "%s",
                           ev.message);
                ipam_event_done(&ev);
        }
}

static int on_reconcile(sd_event_source *s, void *userdata)
{
        struct operator* o = userdata;
        struct ipam_dirty d;

        (void)s;
        if (!o->ipam)
                return 0;
        ipam_take_dirty(o->ipam, &d);
        for (size_t i = 0; i < d.n_pools; i++) {
                char *key = g_strdup_printf("p/%s", d.pools[i]);

                reconcile_key(o, key);
                g_free(key);
        }
        for (size_t i = 0; i < d.n_services; i++) {
                char *key = g_strdup_printf("s/%s/%s", d.services[i].namespace, d.services[i].name);

                reconcile_key(o, key);
                g_free(key);
        }
        ipam_dirty_done(&d);
        publish_events(o);
        return 0;
}

/* ---- the core's life: only while leading ---- */

static void feed_pool(const void *obj, void *ud)
{
        struct operator* o = ud;
        const struct k8s_ippool *p = obj;
        char *err = NULL;

        if (ipam_pool_upsert(o->ipam, p, &err) < 0)
                log_warn("pool rejected, keeping its previous state", "pool=%s error=%s",
                         p->meta.name, log_q(err));
        free(err);
}

static void feed_service(const void *obj, void *ud)
{
        struct operator* o = ud;

        ipam_service_upsert(o->ipam, obj);
}

static void maybe_activate(struct operator* o)
{
        struct ipam_options opts = {
            .enable_ipv4 = o->cfg->enable_ipv4,
            .enable_ipv6 = o->cfg->enable_ipv6,
            .l2_announcements = o->cfg->enable_l2_announcements,
            .bgp_control_plane = o->cfg->enable_bgp_control_plane,
            .default_lbipam = streq(o->cfg->default_lb_service_ipam, "lbipam"),
        };

        if (o->ipam || !o->leading || !kube_informer_synced(o->pools) ||
            !kube_informer_synced(o->services))
                return;
        o->ipam = ipam_new(&opts);
        kube_informer_foreach(o->pools, feed_pool, o);
        kube_informer_foreach(o->services, feed_service, o);
        ipam_start(o->ipam);
        log_info("LB-IPAM active", "pools=%zu services=%zu allocations=%zu",
                 kube_informer_count(o->pools), kube_informer_count(o->services),
                 ipam_n_allocations(o->ipam));
        schedule_reconcile(o);
}

static void on_started_leading(void *ud)
{
        struct operator* o = ud;

        o->leading = true;
        maybe_activate(o);
}

/* Drop the writes decided while leading: a new term decides afresh from
 * what the API shows (patches on the wire may still land; they carry the
 * resourceVersion they were computed from). */
static void cancel_patches(struct operator* o)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, o->in_flight);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct pending *p = v;

                kube_call_cancel(p->call);
                if (p->ctx) {
                        free(p->ctx->key);
                        free(p->ctx);
                }
        }
        g_hash_table_remove_all(o->in_flight);
}

static void on_stopped_leading(void *ud)
{
        struct operator* o = ud;

        o->leading = false;
        ipam_free(o->ipam);
        o->ipam = NULL;
        cancel_patches(o);
        g_hash_table_remove_all(o->retry);
        log_info("LB-IPAM inactive (not the leader)");
}

/* ---- informer handlers ---- */

static void pool_add(void *ud, const void *obj)
{
        struct operator* o = ud;

        if (o->ipam) {
                feed_pool(obj, o);
                schedule_reconcile(o);
        }
}

static void pool_update(void *ud, const void *old, const void *obj)
{
        (void)old;
        pool_add(ud, obj);
}

static void pool_remove(void *ud, const void *obj)
{
        struct operator* o = ud;
        const struct k8s_ippool *p = obj;

        if (o->ipam) {
                ipam_pool_delete(o->ipam, p->meta.name);
                schedule_reconcile(o);
        }
}

static void service_add(void *ud, const void *obj)
{
        struct operator* o = ud;

        if (o->ipam) {
                ipam_service_upsert(o->ipam, obj);
                schedule_reconcile(o);
        }
}

static void service_update(void *ud, const void *old, const void *obj)
{
        (void)old;
        service_add(ud, obj);
}

static void service_remove(void *ud, const void *obj)
{
        struct operator* o = ud;
        const struct k8s_service *s = obj;

        if (o->ipam) {
                ipam_service_delete(o->ipam, s->meta.namespace, s->meta.name);
                schedule_reconcile(o);
        }
}

static void synced(void *ud)
{
        maybe_activate(ud);
}

/* ---- metrics and health ---- */

static void collect(struct metrics *m, void *ud)
{
        struct operator* o = ud;
        size_t n = 0;
        const void **pools, **svcs;
        size_t matching = 0, unsatisfied = 0;

        (void)m;
        kube_client_metrics_collect(o->client_metrics);
        metric_set(o->m_leader, o->leading ? 1 : 0);
        metric_clear(o->m_ips_capacity);
        metric_clear(o->m_ips_available);
        metric_clear(o->m_ips_used);
        metric_clear(o->m_pool_conflict);
        metric_clear(o->m_svc_matching);
        metric_clear(o->m_svc_unsatisfied);
        if (!o->ipam)
                return;
        pools = kube_informer_list(o->pools, &n);
        for (size_t i = 0; i < n; i++) {
                const struct k8s_ippool *p = pools[i];
                struct ipam_pool_status st;

                ipam_pool_status(o->ipam, p->meta.name, &st);
                if (st.known) {
                        metric_set(o->m_ips_capacity, bigcount_to_double(&st.total), p->meta.name);
                        metric_set(o->m_ips_available, bigcount_to_double(&st.available),
                                   p->meta.name);
                        metric_set(o->m_ips_used, bigcount_to_double(&st.used), p->meta.name);
                        metric_set(o->m_pool_conflict, st.conflicting ? 1 : 0, p->meta.name);
                }
                ipam_pool_status_done(&st);
        }
        free(pools);
        svcs = kube_informer_list(o->services, &n);
        for (size_t i = 0; i < n; i++) {
                const struct k8s_service *s = svcs[i];
                struct ipam_service_status st;

                ipam_service_status(o->ipam, s->meta.namespace, s->meta.name, &st);
                if (st.action == IPAM_SERVICE_WRITE) {
                        matching++;
                        if (!streq_ptr(st.condition.status, "True"))
                                unsatisfied++;
                }
                ipam_service_status_done(&st);
        }
        free(svcs);
        metric_set(o->m_svc_matching, (double)matching);
        metric_set(o->m_svc_unsatisfied, (double)unsatisfied);
}

static void on_http(const char *method, const char *path, struct httpd_response *r, void *ud)
{
        struct operator* o = ud;
        /* with LB-IPAM disabled the operator has nothing to sync and is ready */
        bool synced_all = !o->cfg->enable_lb_ipam ||
                          (kube_informer_synced(o->pools) && kube_informer_synced(o->services));

        if (!streq(method, "GET"))
                return;
        (void)httpd_serve_health(path, o->metrics, synced_all ? NULL : "caches not synced\n", r);
}

static void setup_metrics(struct operator* o)
{
        static const char *const pool[] = {"pool", NULL};
        static const char *const patch[] = {"resource", "result", NULL};
        static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, -1};

        o->metrics = program_metrics_new();
        o->client_metrics = kube_client_metrics_new(o->metrics, o->client);
        kube_client_metrics_add_informer(o->client_metrics, "ciliumloadbalancerippools", o->pools);
        kube_client_metrics_add_informer(o->client_metrics, "services", o->services);
        o->m_leader = metrics_gauge(o->metrics, "l2lb_operator_leader",
                                    "1 if this replica is the leader.", NULL);
        /* Cilium's names (without its gauges' former _total suffix) */
        o->m_ips_capacity = metrics_gauge(o->metrics, "l2lb_lbipam_ips_capacity",
                                          "IP addresses of a pool (available + used).", pool);
        o->m_ips_available = metrics_gauge(o->metrics, "l2lb_lbipam_ips_available",
                                           "IP addresses of a pool still free.", pool);
        o->m_ips_used = metrics_gauge(o->metrics, "l2lb_lbipam_ips_used",
                                      "IP addresses of a pool in use (or reserved).", pool);
        o->m_pool_conflict = metrics_gauge(o->metrics, "l2lb_lbipam_pool_conflicting",
                                           "1 if the pool conflicts with another.", pool);
        o->m_svc_matching = metrics_gauge(o->metrics, "l2lb_lbipam_services_matching",
                                          "LoadBalancer services LB-IPAM handles.", NULL);
        o->m_svc_unsatisfied =
            metrics_gauge(o->metrics, "l2lb_lbipam_services_unsatisfied",
                          "LoadBalancer services LB-IPAM handles without all their IPs.", NULL);
        o->m_latency = metrics_histogram(o->metrics, "l2lb_lbipam_reconcile_duration_seconds",
                                         "From a status change being decided to the patch "
                                         "acknowledged.",
                                         NULL, buckets);
        o->m_patches = metrics_counter(o->metrics, "l2lb_lbipam_status_patches_total",
                                       "Status patches by resource and result.", patch);
        metrics_add_collector(o->metrics, collect, o, NULL);
}

/* ---- lifecycle ---- */

int operator_new(sd_event *e, struct l2lb_config *cfg, struct operator** ret)
{
        static const struct kube_informer_handlers pool_h = {pool_add, pool_update, pool_remove,
                                                             synced};
        static const struct kube_informer_handlers svc_h = {service_add, service_update,
                                                            service_remove, synced};
        struct operator* o;
        struct kube_leader_config lc;
        const char *why;
        int r;

        if (kube_leader_check_timings(cfg->leader_election_lease_duration,
                                      cfg->leader_election_renew_deadline,
                                      cfg->leader_election_retry_period, &why) < 0) {
                char ld[32], rd[32], rp[32];

                log_error("invalid leader election timings",
                          "leader-election-lease-duration=%s leader-election-renew-deadline=%s "
                          "leader-election-retry-period=%s error=%s",
                          duration_format(cfg->leader_election_lease_duration, ld, sizeof(ld)),
                          duration_format(cfg->leader_election_renew_deadline, rd, sizeof(rd)),
                          duration_format(cfg->leader_election_retry_period, rp, sizeof(rp)),
                          log_q(why));
                return -EINVAL;
        }
        o = xnew(struct operator, 1);
        o->cfg = cfg;
        o->event = sd_event_ref(e);
        o->in_flight = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
        o->retry = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        o->identity = isempty(cfg->identity)
                          ? program_default_name("POD_NAME", "l2lb-operator", true)
                          : xstrdup(cfg->identity);
        r = program_kube_connect(e, cfg, "l2lb-operator", &o->client);
        if (r < 0)
                goto fail;
        r = kube_informer_new(o->client, &KUBE_IPPOOLS, &K8S_TYPE_IPPOOL, NULL, &pool_h, o,
                              &o->pools);
        if (r < 0)
                goto fail;
        r = kube_informer_new(o->client, &KUBE_SERVICES, &K8S_TYPE_SERVICE, NULL, &svc_h, o,
                              &o->services);
        if (r < 0)
                goto fail;
        (void)kube_recorder_new(o->client, "l2lb-operator", o->identity, &o->recorder);
        lc = (struct kube_leader_config){
            .namespace = cfg->k8s_namespace,
            .name = LEADER_LEASE,
            .identity = o->identity,
            .lease_duration = cfg->leader_election_lease_duration,
            .renew_deadline = cfg->leader_election_renew_deadline,
            .retry_period = cfg->leader_election_retry_period,
            .started_leading = on_started_leading,
            .stopped_leading = on_stopped_leading,
            .userdata = o,
        };
        r = kube_leader_new(o->client, &lc, &o->leader);
        if (r < 0)
                goto fail;
        r = sd_event_add_defer(e, &o->reconcile, on_reconcile, o);
        if (r < 0)
                goto fail;
        (void)sd_event_source_set_enabled(o->reconcile, SD_EVENT_OFF);
        /* after the informers' own work in the same iteration */
        (void)sd_event_source_set_priority(o->reconcile, SD_EVENT_PRIORITY_IDLE);
        setup_metrics(o);
        if (!isempty(cfg->prometheus_serve_addr)) {
                r = httpd_start(e, cfg->prometheus_serve_addr, on_http, o, &o->httpd);
                if (r < 0)
                        goto fail;
                log_info("serving metrics and health", "address=%s port=%u",
                         cfg->prometheus_serve_addr, httpd_port(o->httpd));
        }
        *ret = o;
        return 0;
fail:
        operator_free(o);
        return r;
}

int operator_start(struct operator* o)
{
        if (!o->cfg->enable_lb_ipam) {
                log_info("LB-IPAM disabled (enable-lb-ipam=false): nothing to do");
                return 0;
        }
        log_info("starting", "identity=%s namespace=%s lease=%s", o->identity,
                 o->cfg->k8s_namespace, LEADER_LEASE);
        (void)kube_informer_start(o->pools);
        (void)kube_informer_start(o->services);
        return kube_leader_start(o->leader);
}

static void released(void *ud)
{
        struct operator* o = ud;

        if (o->shutdown_done)
                o->shutdown_done(o->shutdown_data);
}

void operator_shutdown(struct operator* o, void (*done)(void *), void *userdata)
{
        o->shutdown_done = done;
        o->shutdown_data = userdata;
        ipam_free(o->ipam);
        o->ipam = NULL;
        kube_leader_release(o->leader, released, o);
}

void operator_free(struct operator* o)
{
        if (!o)
                return;
        cancel_patches(o);
        httpd_free(o->httpd);
        kube_client_metrics_free(o->client_metrics);
        metrics_free(o->metrics);
        (void)sd_event_source_disable_unref(o->reconcile);
        (void)sd_event_source_disable_unref(o->retry_timer);
        ipam_free(o->ipam);
        kube_leader_free(o->leader);
        kube_informer_free(o->pools);
        kube_informer_free(o->services);
        kube_recorder_free(o->recorder);
        kube_client_free(o->client);
        g_hash_table_unref(o->in_flight);
        g_hash_table_unref(o->retry);
        (void)sd_event_unref(o->event);
        free(o->identity);
        free(o);
}

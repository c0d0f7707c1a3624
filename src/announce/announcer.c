/* The announcer object: its caches of the inputs (copied out of the shell's
 * objects) and the model built from them, the lease slots, the `devices`
 * option matcher, write results, shutdown requests and introspection. The
 * decisions of a run are in run.c. */
#include "announcer-internal.h"

#include "lib/util.h"
#include "policy.h"

static void node_info_free(struct node_info *n)
{
        if (!n)
                return;
        free(n->name);
        labels_done(&n->labels);
        free(n);
}

static void slice_info_free(struct slice_info *s)
{
        if (!s)
                return;
        free(s->svc_key);
        strv_free(s->ready_nodes);
        strv_free(s->serving_nodes);
        free(s);
}

static void device_info_free(struct device_info *d)
{
        if (!d)
                return;
        free(d->name);
        free(d);
}

static void status_sent_free(struct status_sent *s)
{
        if (!s)
                return;
        free(s->resource_version);
        free(s);
}

#define TABLE(free_fn) g_hash_table_new_full(g_str_hash, g_str_equal, free, (GDestroyNotify)free_fn)

int announcer_new(const struct announcer_config *c, struct announcer **ret)
{
        struct announcer *a;

        assert(c);
        assert(ret);
        assert(!isempty(c->node_name));
        assert(!isempty(c->lease_namespace));
        a = xnew(struct announcer, 1);
        a->node = xstrdup(c->node_name);
        a->election = c->election;
        a->ns = xstrdup(c->lease_namespace);
        a->devices_cfg = strv_copy(c->devices);
        timing_init(&a->t, c->lease_duration, c->renew_deadline, c->retry_period);
        if (a->election == ANNOUNCE_ELECTION_NODE_HEARTBEAT)
                a->hb = hb_new(a->node, a->t.duration);
        a->external_ips = c->enable_external_ips;
        a->n_ext_allowed = strv_length(c->external_ips_cidrs);
        a->ext_allowed = xnew(struct iprange, a->n_ext_allowed);
        for (size_t i = 0; i < a->n_ext_allowed; i++)
                if (iprange_parse_cidr(c->external_ips_cidrs[i], &a->ext_allowed[i]) < 0) {
                        free(a->ext_allowed);
                        hb_free(a->hb);
                        free(a->node);
                        free(a->ns);
                        strv_free(a->devices_cfg);
                        free(a);
                        return -EINVAL;
                }
        a->fam = (struct announce_svc_families){c->enable_ipv4, c->enable_ipv6};
        a->policies = TABLE(l2pol_free);
        a->services = TABLE(announce_svc_free);
        a->nodes = TABLE(node_info_free);
        a->slices = TABLE(slice_info_free);
        a->devices = TABLE(device_info_free);
        a->slots = TABLE(slot_free);
        a->status_sent = TABLE(status_sent_free);
        a->pending = g_hash_table_new_full(g_int64_hash, g_int64_equal, free, NULL);
        garp_table_init(&a->garps);
        *ret = a;
        return 0;
}

void announcer_free(struct announcer *a)
{
        if (!a)
                return;
        model_done(&a->model);
        if (a->ext_refused)
                g_hash_table_unref(a->ext_refused);
        free(a->ext_allowed);
        g_hash_table_unref(a->pending);
        g_hash_table_unref(a->slots);
        g_hash_table_unref(a->policies);
        g_hash_table_unref(a->services);
        g_hash_table_unref(a->nodes);
        g_hash_table_unref(a->slices);
        g_hash_table_unref(a->devices);
        g_hash_table_unref(a->status_sent);
        garp_table_done(&a->garps);
        hb_free(a->hb);
        free(a->svc_slots);
        free(a->sorted);
        free(a->pinned);
        strv_free(a->devices_cfg);
        free(a->node);
        free(a->ns);
        free(a);
}

void announcer_invalidate(struct announcer *a)
{
        assert(a);
        /* Drop it now: it borrows pointers into the tables being changed. */
        model_done(&a->model);
        a->model_valid = false;
        if (a->ext_refused)
                g_hash_table_unref(a->ext_refused);
        a->ext_refused = NULL;
        free(a->svc_slots);
        a->svc_slots = NULL;
}

const struct model *announcer_model(struct announcer *a)
{
        struct model_input in;

        assert(a);
        if (!a->model_valid) {
                in = (struct model_input){
                    .node_name = a->node,
                    .external_ips = a->external_ips,
                    .policies = a->policies,
                    .services = a->services,
                    .nodes = a->nodes,
                    .slices = a->slices,
                    .devices = a->devices,
                };
                model_build(&in, &a->model);
                a->model_valid = true;
                a->designated = announcer_designated(a);
        }
        return &a->model;
}

static int svc_order(const void *pa, const void *pb)
{
        const struct announce_svc *x = *(const struct announce_svc *const *)pa;
        const struct announce_svc *y = *(const struct announce_svc *const *)pb;

        return strcmp(x->key, y->key);
}

#define REFUSED_LISTED 10 /* refused addresses a message names; the rest are counted */

/* "<namespace>/<name> <ip>, ..." of the external IPs p selects but may not announce. */
static char *refused_message(const struct announcer *a, const struct l2pol *p,
                             struct announce_svc *const *svcs, size_t n_svcs)
{
        _cleanup_free_ char *list = NULL;
        const char *why = a->n_ext_allowed == 0
                              ? "not announced: l2-announcements-external-ips-cidrs is empty"
                              : "not announced: not in l2-announcements-external-ips-cidrs";
        size_t n = 0;

        for (size_t i = 0; i < n_svcs; i++) {
                const struct announce_svc *s = svcs[i];

                if (!s->class_ok || !l2pol_matches_service(p, s))
                        continue;
                for (size_t j = 0; j < s->external_refused.n; j++, n++) {
                        char ip[IPADDR_STRLEN];
                        char *next;

                        if (n >= REFUSED_LISTED)
                                continue;
                        ipaddr_format(&s->external_refused.items[j], ip);
                        next = xasprintf("%s%s%s %s", strempty(list), list ? ", " : "", s->key, ip);
                        free(list);
                        list = next;
                }
        }
        if (n == 0)
                return NULL;
        if (n > REFUSED_LISTED)
                return xasprintf("%s: %s and %zu more", why, list, n - REFUSED_LISTED);
        return xasprintf("%s: %s", why, list);
}

const char *announcer_refused_external_ips(struct announcer *a, const struct l2pol *p)
{
        assert(a);
        assert(p);
        if (!a->external_ips || !p->external_ips)
                return NULL;
        if (!a->ext_refused) {
                _cleanup_free_ struct announce_svc **svcs = NULL;
                GHashTableIter it;
                gpointer v;
                size_t n = 0;

                a->ext_refused = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
                svcs = xnew(struct announce_svc *, g_hash_table_size(a->services));
                g_hash_table_iter_init(&it, a->services);
                while (g_hash_table_iter_next(&it, NULL, &v))
                        svcs[n++] = v;
                qsort_safe(svcs, n, sizeof(*svcs), svc_order);
                g_hash_table_iter_init(&it, a->policies);
                while (g_hash_table_iter_next(&it, NULL, &v)) {
                        const struct l2pol *q = v;
                        char *m = q->external_ips ? refused_message(a, q, svcs, n) : NULL;

                        if (m)
                                g_hash_table_replace(a->ext_refused, xstrdup(q->name), m);
                }
        }
        return g_hash_table_lookup(a->ext_refused, p->name);
}

struct slot *announcer_slot(struct announcer *a, const char *name, uint64_t now)
{
        struct slot *s;

        assert(a);
        assert(name);
        s = g_hash_table_lookup(a->slots, name);
        if (s)
                return s;
        s = slot_new(name, now);
        g_hash_table_insert(a->slots, xstrdup(name), s);
        free(a->sorted);
        a->sorted = NULL;
        return s;
}

bool announcer_designated(const struct announcer *a)
{
        const struct node_info *self;
        GHashTableIter it;
        gpointer v;

        assert(a);
        self = g_hash_table_lookup(a->nodes, a->node);
        if (!self || !self->ready || self->unschedulable)
                return false;
        g_hash_table_iter_init(&it, a->nodes);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                const struct node_info *n = v;

                if (n->ready && !n->unschedulable && strcmp(n->name, a->node) < 0)
                        return false;
        }
        return true;
}

/* ---- inputs ---- */

/* Insert or replace; invalidates the model unless equal says nothing changed. */
static void table_put(struct announcer *a, GHashTable *t, const char *key, void *v,
                      bool (*equal)(const void *, const void *), void (*free_fn)(void *))
{
        void *old = g_hash_table_lookup(t, key);

        if (old && equal && equal(old, v)) {
                free_fn(v);
                return;
        }
        announcer_invalidate(a);
        g_hash_table_replace(t, xstrdup(key), v);
}

static void table_del(struct announcer *a, GHashTable *t, const char *key)
{
        if (g_hash_table_contains(t, key)) {
                announcer_invalidate(a);
                g_hash_table_remove(t, key);
        }
}

void announcer_upsert_policy(struct announcer *a, const struct k8s_l2policy *p)
{
        struct l2pol *pol;

        assert(a);
        assert(p);
        pol = l2pol_from_k8s(p);
        table_put(a, a->policies, pol->name, pol, NULL, (void (*)(void *))l2pol_free);
}

void announcer_remove_policy(struct announcer *a, const char *name)
{
        assert(a);
        assert(name);
        table_del(a, a->policies, name);
        g_hash_table_remove(a->status_sent, name);
}

static bool service_equal(const void *pa, const void *pb)
{
        const struct announce_svc *x = pa, *y = pb;

        return streq(x->key, y->key) && labels_equal(&x->sel_labels, &y->sel_labels) &&
               x->class_ok == y->class_ok && x->etp_local == y->etp_local &&
               announce_ip_list_equal(&x->external, &y->external) &&
               announce_ip_list_equal(&x->external_refused, &y->external_refused) &&
               announce_ip_list_equal(&x->ingress, &y->ingress);
}

void announcer_upsert_service(struct announcer *a, const struct k8s_service *s)
{
        struct announce_svc *v;

        assert(a);
        assert(s);
        v = announce_svc_from_k8s(s, a->fam,
                                  (struct announce_ext_allowed){a->ext_allowed, a->n_ext_allowed});
        table_put(a, a->services, v->key, v, service_equal, (void (*)(void *))announce_svc_free);
}

void announcer_remove_service(struct announcer *a, const char *ns, const char *name)
{
        _cleanup_free_ char *k = NULL;

        assert(a);
        assert(name);
        k = k8s_key(ns, name);
        table_del(a, a->services, k);
}

static bool slice_equal(const void *pa, const void *pb)
{
        const struct slice_info *x = pa, *y = pb;

        return streq_ptr(x->svc_key, y->svc_key) && strv_equal(x->ready_nodes, y->ready_nodes) &&
               strv_equal(x->serving_nodes, y->serving_nodes);
}

void announcer_upsert_endpointslice(struct announcer *a, const struct k8s_endpointslice *e)
{
        _cleanup_free_ char *k = NULL;
        struct slice_info *s;

        assert(a);
        assert(e);
        k = k8s_key(e->meta.namespace, e->meta.name);
        s = xnew(struct slice_info, 1);
        if (e->service_name)
                s->svc_key = k8s_key(e->meta.namespace, e->service_name);
        s->ready_nodes = xnew(char *, 1);
        s->serving_nodes = xnew(char *, 1);
        for (size_t i = 0; i < e->n_endpoints; i++) {
                const struct k8s_endpoint *ep = &e->endpoints[i];
                char ***to = ep->ready                        ? &s->ready_nodes
                             : ep->serving && ep->terminating ? &s->serving_nodes
                                                              : NULL;

                if (!to || isempty(ep->node_name) || strv_contains(*to, ep->node_name))
                        continue;
                strv_push(to, ep->node_name);
        }
        table_put(a, a->slices, k, s, slice_equal, (void (*)(void *))slice_info_free);
}

void announcer_remove_endpointslice(struct announcer *a, const char *ns, const char *name)
{
        _cleanup_free_ char *k = NULL;

        assert(a);
        assert(name);
        k = k8s_key(ns, name);
        table_del(a, a->slices, k);
}

bool announce_node_excluded(const struct labels *node_labels)
{
        static const char *const false_values[] = {"0", "f", "F", "false", "False", "FALSE", NULL};
        const char *v;

        assert(node_labels);
        v = labels_get(node_labels, ANNOUNCE_EXCLUDE_LABEL);
        return v && !strv_contains((char *const *)false_values, v);
}

static bool node_equal(const void *pa, const void *pb)
{
        const struct node_info *x = pa, *y = pb;

        return streq(x->name, y->name) && labels_equal(&x->labels, &y->labels) &&
               x->ready == y->ready && x->unschedulable == y->unschedulable;
}

void announcer_upsert_node(struct announcer *a, const struct k8s_node *n)
{
        struct node_info *v;

        assert(a);
        assert(n);
        v = xnew(struct node_info, 1);
        v->name = xstrdup(n->meta.name);
        v->ready = n->ready;
        v->unschedulable = n->unschedulable;
        v->excluded = announce_node_excluded(&n->meta.labels);
        labels_copy(&v->labels, &n->meta.labels);
        table_put(a, a->nodes, v->name, v, node_equal, (void (*)(void *))node_info_free);
}

void announcer_remove_node(struct announcer *a, const char *name)
{
        assert(a);
        assert(name);
        table_del(a, a->nodes, name);
}

const char *announce_election_to_string(enum announce_election e)
{
        switch (e) {
        case ANNOUNCE_ELECTION_NODE_HEARTBEAT:
                return "node-heartbeat";
        case ANNOUNCE_ELECTION_LEASE_PER_SERVICE:
                return "lease-per-service";
        }
        return "unknown";
}

int announce_election_from_string(const char *s)
{
        if (streq_ptr(s, "node-heartbeat"))
                return ANNOUNCE_ELECTION_NODE_HEARTBEAT;
        if (streq_ptr(s, "lease-per-service"))
                return ANNOUNCE_ELECTION_LEASE_PER_SERVICE;
        return -EINVAL;
}

bool announce_devices_list(char *const *devices, const char *name)
{
        assert(name);
        for (char *const *p = devices; p && *p; p++) {
                size_t l = strlen(*p);

                if (l > 0 && (*p)[l - 1] == '+' ? strncmp(*p, name, l - 1) == 0 : streq(*p, name))
                        return true;
        }
        return false;
}

/* No devices option: every device the shell reports. */
static bool device_configured(const struct announcer *a, const char *name)
{
        return !a->devices_cfg || !a->devices_cfg[0] || announce_devices_list(a->devices_cfg, name);
}

static bool device_equal(const void *pa, const void *pb)
{
        const struct device_info *x = pa, *y = pb;

        return streq(x->name, y->name) && x->ifindex == y->ifindex &&
               memcmp(x->mac, y->mac, sizeof(x->mac)) == 0 && x->up == y->up;
}

void announcer_set_device(struct announcer *a, const struct announcer_device *d)
{
        struct device_info *v;

        assert(a);
        assert(d);
        assert(d->name);
        if (!device_configured(a, d->name)) {
                table_del(a, a->devices, d->name);
                return;
        }
        /* a new MAC: neighbours must learn it at once, not when their cache
         * expires */
        v = g_hash_table_lookup(a->devices, d->name);
        if (v && v->ifindex == d->ifindex && memcmp(v->mac, d->mac, sizeof(v->mac)) != 0)
                garp_table_restart(&a->garps, d->ifindex);
        v = xnew(struct device_info, 1);
        v->name = xstrdup(d->name);
        v->ifindex = d->ifindex;
        memcpy(v->mac, d->mac, sizeof(v->mac));
        v->up = d->up;
        table_put(a, a->devices, v->name, v, device_equal, (void (*)(void *))device_info_free);
}

void announcer_remove_device(struct announcer *a, const char *name)
{
        assert(a);
        assert(name);
        table_del(a, a->devices, name);
}

static bool our_lease(const struct announcer *a, const char *ns, const char *name)
{
        return (!ns || streq(ns, a->ns)) && startswith(name, ANNOUNCE_LEASE_PREFIX);
}

bool announcer_upsert_lease(struct announcer *a, const struct k8s_lease *l, uint64_t observed_mono)
{
        struct slot *s;

        assert(a);
        assert(l);
        if (a->hb)
                return (!l->meta.namespace || streq(l->meta.namespace, a->ns)) &&
                       hb_upsert_lease(a, l, observed_mono);
        if (!our_lease(a, l->meta.namespace, l->meta.name))
                return true;
        s = announcer_slot(a, l->meta.name, observed_mono);
        if (slot_observe(s, l, observed_mono, a->node))
                a->counters.lost++;
        return true;
}

void announcer_remove_lease(struct announcer *a, const char *name, uint64_t observed_mono)
{
        struct slot *s;

        assert(a);
        assert(name);
        if (a->hb) {
                (void)hb_remove_lease(a, name, observed_mono);
                return;
        }
        s = g_hash_table_lookup(a->slots, name);
        if (s && slot_observe_deleted(s, observed_mono, a->node, &a->t))
                a->counters.lost++;
}

void announcer_add_pinned_entry(struct announcer *a, const struct announce_entry *e)
{
        assert(a);
        assert(e);
        a->pinned = xreallocarray(a->pinned, a->n_pinned + 1, sizeof(*a->pinned));
        a->pinned[a->n_pinned++] = *e;
}

void announcer_forget_pinned(struct announcer *a)
{
        for (size_t i = 0; i < a->n_pinned; i++)
                garp_table_quiet(&a->garps,
                                 &(struct garp_key){a->pinned[i].ip, a->pinned[i].ifindex});
        free(a->pinned);
        a->pinned = NULL;
        a->n_pinned = 0;
}

void announcer_set_synced(struct announcer *a)
{
        assert(a);
        a->synced = true;
}

/* ---- write results ---- */

void announcer_lease_result(struct announcer *a, uint64_t id, enum announce_write_result r,
                            const struct k8s_lease *lease, uint64_t now_mono)
{
        static const enum slot_result map[] = {
            [ANNOUNCE_LEASE_OK] = SLOT_RESULT_OK,
            [ANNOUNCE_LEASE_CONFLICT] = SLOT_RESULT_CONFLICT,
            [ANNOUNCE_LEASE_NOT_FOUND] = SLOT_RESULT_NOT_FOUND,
            [ANNOUNCE_LEASE_ERROR] = SLOT_RESULT_ERROR,
        };
        struct slot *s;
        uint64_t sent;
        bool was_held, adoption;
        enum slot_write kind;
        gint64 key = (gint64)id;

        assert(a);
        assert((size_t)r < ELEMENTSOF(map));
        if (a->hb) {
                (void)hb_lease_result(a, id, r, lease, now_mono);
                return;
        }
        s = g_hash_table_lookup(a->pending, &key);
        if (!s)
                return;
        g_hash_table_remove(a->pending, &key);
        sent = s->pending_sent;
        was_held = s->held;
        adoption = s->adoption_write;
        s->adoption_write = false;
        kind = slot_result(s, id, map[r], lease, now_mono, a->node, &a->t);
        if (kind == SLOT_WRITE_NONE)
                return;
        if (adoption && a->n_adopting > 0)
                a->n_adopting--;
        if (r != ANNOUNCE_LEASE_ERROR && now_mono >= sent)
                rtt_sample(&a->rtt, now_mono - sent);

        switch (kind) {
        case SLOT_WRITE_CREATE:
        case SLOT_WRITE_ACQUIRE:
                if (r == ANNOUNCE_LEASE_OK && s->held)
                        a->counters.acquisitions++;
                break;
        case SLOT_WRITE_RENEW:
                if (r == ANNOUNCE_LEASE_OK && s->held)
                        a->counters.renewals++;
                else if (r != ANNOUNCE_LEASE_OK)
                        a->counters.renew_failures++;
                if (was_held && !s->held)
                        a->counters.lost++;
                break;
        case SLOT_WRITE_RELEASE:
                if (r == ANNOUNCE_LEASE_OK)
                        a->counters.releases++;
                break;
        case SLOT_WRITE_DELETE:
                if (r == ANNOUNCE_LEASE_OK)
                        a->counters.deletions++;
                break;
        case SLOT_WRITE_NONE:
                break;
        }
}

/* ---- shutdown ---- */

void announcer_release_all(struct announcer *a)
{
        assert(a);
        a->release_all = true;
        a->shutting_down = true;
}

void announcer_renew_all_now(struct announcer *a)
{
        assert(a);
        a->renew_all = true;
        a->shutting_down = true;
}

/* ---- introspection ---- */

const char *announce_role_to_string(enum announce_role r)
{
        static const char *const names[] = {
            [ANNOUNCE_ROLE_NONE] = "none",       [ANNOUNCE_ROLE_FOLLOWER] = "follower",
            [ANNOUNCE_ROLE_WAITING] = "waiting", [ANNOUNCE_ROLE_ACQUIRING] = "acquiring",
            [ANNOUNCE_ROLE_HOLDER] = "holder",   [ANNOUNCE_ROLE_LAPSED] = "lapsed",
        };

        return (size_t)r < ELEMENTSOF(names) ? names[r] : "unknown";
}

const struct announce_counters *announcer_counters(const struct announcer *a)
{
        assert(a);
        return &a->counters;
}

const struct timing *announcer_timing(const struct announcer *a)
{
        assert(a);
        return &a->t;
}

size_t announcer_n_held(const struct announcer *a, uint64_t now_mono)
{
        GHashTableIter it;
        gpointer v;
        size_t n = 0;

        assert(a);
        if (a->hb)
                return hb_n_held(a, now_mono);
        g_hash_table_iter_init(&it, a->slots);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (slot_announcing(v, now_mono) && ((struct slot *)v)->want != WANT_RELEASE)
                        n++;
        return n;
}

size_t announcer_n_unannounced(struct announcer *a, uint64_t now_mono)
{
        const struct model *m;
        size_t n = 0;

        assert(a);
        if (a->hb)
                return hb_n_unannounced(a, now_mono);
        m = announcer_model(a);
        for (size_t i = 0; i < m->n_svcs; i++) {
                const struct model_svc *c = &m->svcs[m->groups[m->svcs[i].group].canonical];
                const struct slot *s = g_hash_table_lookup(a->slots, c->svc->lease_name);

                if (m->svcs[i].ips.n == 0)
                        continue;
                if (!s || (!(slot_announcing(s, now_mono) && s->want != WANT_RELEASE) &&
                           !slot_held_by_other(s, a->node, now_mono, &a->t)))
                        n++;
        }
        return n;
}

static int info_order(const void *pa, const void *pb)
{
        const struct announce_lease_info *x = pa, *y = pb;

        return strcmp(x->lease, y->lease);
}

static enum announce_role slot_role(const struct announcer *a, const struct slot *s,
                                    const struct model_svc *ms, uint64_t now)
{
        const struct model_group *g = ms ? &a->model.groups[ms->group] : NULL;

        if (slot_announcing(s, now) && s->want != WANT_RELEASE)
                return ANNOUNCE_ROLE_HOLDER;
        if (s->pending == SLOT_WRITE_CREATE || s->pending == SLOT_WRITE_ACQUIRE)
                return ANNOUNCE_ROLE_ACQUIRING;
        if (slot_mine(s, a->node))
                return ANNOUNCE_ROLE_LAPSED;
        if (!g || !g->self_candidate || s->want == WANT_RELEASE)
                return ANNOUNCE_ROLE_NONE;
        return slot_held_by_other(s, a->node, now, &a->t) ? ANNOUNCE_ROLE_FOLLOWER
                                                          : ANNOUNCE_ROLE_WAITING;
}

void announce_lease_infos_free(struct announce_lease_info *l, size_t n)
{
        for (size_t i = 0; l && i < n; i++) {
                free(l[i].lease);
                free(l[i].service);
                free(l[i].holder);
        }
        free(l);
}

int announcer_leases(struct announcer *a, uint64_t now_mono, struct announce_lease_info **ret,
                     size_t *ret_n)
{
        const struct model *m;
        struct announce_lease_info *l;
        GHashTableIter it;
        gpointer v;
        size_t n = 0;

        assert(a);
        assert(ret);
        assert(ret_n);
        if (a->hb)
                return hb_leases(a, now_mono, ret, ret_n);
        m = announcer_model(a);
        l = xnew(struct announce_lease_info, g_hash_table_size(a->slots));
        g_hash_table_iter_init(&it, a->slots);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                const struct slot *s = v;
                const struct model_svc *ms = model_by_lease(m, s->name);
                struct announce_lease_info *i = &l[n++];

                i->lease = xstrdup(s->name);
                i->service = ms ? xstrdup(ms->svc->key) : NULL;
                i->holder = s->rec.present ? xstrdup(strempty(s->rec.holder)) : NULL;
                i->role = slot_role(a, s, ms, now_mono);
                i->canonical = ms && m->groups[ms->group].canonical == (size_t)(ms - m->svcs);
                i->deadline = s->held ? s->deadline : 0;
                i->expires_at = slot_free_at(s, a->node, &a->t);
                if (i->role == ANNOUNCE_ROLE_NONE && ms && ms->local != LOCAL_CANDIDATE)
                        i->not_candidate = local_status_to_string(ms->local);
        }
        qsort_safe(l, n, sizeof(*l), info_order);
        *ret = l;
        *ret_n = n;
        return 0;
}

int announcer_heartbeat_info(struct announcer *a, uint64_t now_mono,
                             struct announce_heartbeat_info *ret)
{
        assert(a);
        assert(ret);
        if (!a->hb) {
                *ret = (struct announce_heartbeat_info){0};
                return -EOPNOTSUPP;
        }
        return hb_info(a, now_mono, ret);
}

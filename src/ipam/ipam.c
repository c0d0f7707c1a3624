/* The LB-IPAM core's inputs and outputs; see ipam.h.
 *
 * Every public input is one operation: it touches what it changes (the
 * journal, journal.c), lets reconcile.c decide what services hold, and ends
 * the operation, which turns the journal into Events and dirty marks. */
#include "internal.h"

#include <stdio.h>

#include "ipam/conflict.h"
#include "lib/util.h"

#define WHY_NOT_HANDLED                                                                            \
        "the service is no longer handled by LB-IPAM (type or loadBalancerClass changed)"

struct ipam *ipam_new(const struct ipam_options *o)
{
        struct ipam *ipam = g_new0(struct ipam, 1);

        assert(o);
        ipam->o = *o;
        ipam->pools = g_hash_table_new(g_str_hash, g_str_equal);
        index_init(ipam);
        ipam->scratch_find = g_ptr_array_new();
        ipam->scratch_ranges = g_ptr_array_new();
        ipam->services = g_hash_table_new(g_str_hash, g_str_equal);
        ipam->by_age = g_tree_new_full(svc_age_cmp, NULL, NULL, NULL);
        ipam->unsatisfied = g_tree_new_full(svc_age_cmp, NULL, NULL, NULL);
        ipam->waiting = g_tree_new_full(svc_age_cmp, NULL, NULL, NULL);
        ipam->allocs = g_tree_new_full(ipaddr_tree_cmp, NULL, NULL, NULL);
        ipam->by_sharing_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                     (GDestroyNotify)g_ptr_array_unref);
        journal_init(&ipam->journal);
        return ipam;
}

static void svc_free(struct ipam_svc *svc)
{
        if (!svc)
                return;
        journal_service_clear(svc);
        g_free(svc->key); /* namespace and name live in the same block */
        labels_packed_free(&svc->labels);
        svc_request_done(&svc->req);
        g_free(svc->ingress);
        observed_condition_done(&svc->observed);
        g_ptr_array_free(svc->allocs, TRUE);
        g_free(svc->message);
        g_free(svc);
}

static void alloc_free_all(struct ipam *ipam)
{
        g_autoptr(GPtrArray) all = g_ptr_array_new();
        GTreeNode *n;

        for (n = g_tree_node_first(ipam->allocs); n; n = g_tree_node_next(n))
                g_ptr_array_add(all, g_tree_node_value(n));
        for (guint i = 0; i < all->len; i++) {
                struct ipam_alloc *a = all->pdata[i];

                g_ptr_array_free(a->members, TRUE);
                g_free(a->indexed_key);
                g_free(a);
        }
}

void ipam_free(struct ipam *ipam)
{
        GHashTableIter it;
        gpointer v;

        if (!ipam)
                return;
        alloc_free_all(ipam);
        g_tree_destroy(ipam->allocs);
        g_hash_table_destroy(ipam->by_sharing_key);
        g_tree_destroy(ipam->by_age);
        g_tree_destroy(ipam->unsatisfied);
        g_tree_destroy(ipam->waiting);
        g_hash_table_iter_init(&it, ipam->services);
        while (g_hash_table_iter_next(&it, NULL, &v))
                svc_free(v);
        g_hash_table_destroy(ipam->services);
        g_hash_table_iter_init(&it, ipam->pools);
        while (g_hash_table_iter_next(&it, NULL, &v))
                pool_free(v);
        g_hash_table_destroy(ipam->pools);
        index_done(ipam);
        g_ptr_array_free(ipam->scratch_find, TRUE);
        g_ptr_array_free(ipam->scratch_ranges, TRUE);
        journal_done(&ipam->journal);
        g_free(ipam);
}

static void op_end(struct ipam *ipam)
{
        journal_end(ipam);
        ipam->capacity_changed = false;
        ipam->groups_changed = false;
}

/* ---- pools ---- */

static void settle(struct ipam *ipam)
{
        for (guint i = 0; i < ipam->pool_order->len; i++)
                journal_touch_pool(ipam, ipam->pool_order->pdata[i]);
        conflicts_settle(ipam->pool_order);
}

/* Unchanged blocks keep their range (and allocations); removed ones release
 * theirs (adoption may take them back from a block that still contains
 * them); new ones start with whatever is already allocated taken out. The
 * old ranges and the spec's blocks are both sorted by iprange_cmp: they are
 * matched in one merge walk (a pool may have 10,000 blocks). */
static void pool_apply(struct ipam *ipam, struct ipam_pool *pool, struct pool_spec *spec)
{
        GPtrArray *old = pool->ranges;
        _cleanup_free_ bool *kept = xnew(bool, old->len + 1);
        _cleanup_free_ bool *matched = xnew(bool, spec->n_blocks + 1);
        g_autofree char *why = NULL;

        pool->ranges = g_ptr_array_new_full(spec->n_blocks, NULL);
        for (size_t b = 0, i = 0; b < spec->n_blocks && i < old->len;) {
                struct ipam_range *r = old->pdata[i];
                int c = iprange_cmp(&r->r, &spec->blocks[b].r);

                if (c < 0) {
                        i++;
                        continue;
                }
                if (c == 0) {
                        kept[i] = matched[b] = true;
                        r->from_cidr = spec->blocks[b].from_cidr;
                        g_ptr_array_add(pool->ranges, r);
                        i++;
                }
                b++;
        }
        why = g_strdup_printf("the block of pool '%s' containing it was removed", pool->name);
        /* release everything before freeing anything: the index still
         * lists the old ranges */
        for (guint i = 0; i < old->len; i++)
                if (!kept[i])
                        alloc_release_range(ipam, old->pdata[i], why);
        for (guint i = 0; i < old->len; i++)
                if (!kept[i])
                        range_free(old->pdata[i]);
        g_ptr_array_free(old, TRUE);
        for (size_t b = 0; b < spec->n_blocks; b++) {
                struct ipam_range *r;

                if (matched[b])
                        continue;
                r = range_new(&spec->blocks[b].r, spec->blocks[b].from_cidr, pool);
                alloc_prepare_range(ipam, r);
                g_ptr_array_add(pool->ranges, r);
        }
        g_ptr_array_sort(pool->ranges, range_cmp_addr);
        for (guint i = 0; i < pool->ranges->len; i++) {
                bool reserve = !spec->allow_first_last;

                range_set_reserved(pool->ranges->pdata[i], reserve, reserve, alloc_held_cb, ipam);
        }
        selector_free(pool->selector);
        pool->selector = spec->selector;
        spec->selector = NULL;
        pool->disabled = spec->disabled;
        pool->allow_first_last = spec->allow_first_last;
        pool->priority = spec->priority;
        pool->valid = true;
}

static void activate(struct ipam *ipam);

static void maybe_activate(struct ipam *ipam)
{
        if (ipam->started && !ipam->active && g_hash_table_size(ipam->pools) > 0)
                activate(ipam);
}

static struct ipam_pool *pool_get(struct ipam *ipam, const struct k8s_ippool *k)
{
        struct ipam_pool *p = g_hash_table_lookup(ipam->pools, k->meta.name);
        const struct k8s_condition *c;

        if (p) {
                /* deleted and created again while we were not looking */
                p->created = k->meta.creation_timestamp;
                return p;
        }
        p = pool_new(k->meta.name, k->meta.creation_timestamp);
        /* marks are sticky: a pool the API shows marked stays marked until
         * it overlaps no unmarked pool (restart-proof, as in Cilium) */
        c = k8s_conditions_find(&k->conditions, IPAM_CONDITION_CONFLICT);
        if (c && streq_ptr(c->status, "True")) {
                p->conflicting = true;
                p->conflict_message = g_strdup(c->message);
        }
        g_hash_table_insert(ipam->pools, p->name, p);
        index_rebuild(ipam);
        return p;
}

int ipam_pool_upsert(struct ipam *ipam, const struct k8s_ippool *k, char **ret_error)
{
        static const char *const types[_POOL_COND_MAX] = {
            IPAM_CONDITION_TOTAL, IPAM_CONDITION_AVAILABLE, IPAM_CONDITION_USED,
            IPAM_CONDITION_CONFLICT};
        struct pool_spec spec = {0};
        struct ipam_pool *p;
        char *error = NULL;
        int r;

        assert(ipam);
        assert(k);
        assert(k->meta.name);
        if (ret_error)
                *ret_error = NULL;
        r = pool_spec_parse(k, &spec, &error);
        p = pool_get(ipam, k);
        journal_touch_pool(ipam, p);
        for (size_t i = 0; i < _POOL_COND_MAX; i++)
                observed_condition_set(&p->observed[i], &k->conditions, types[i]);
        if (r < 0) {
                if (!streq_ptr(p->error, error)) {
                        g_free(p->error);
                        p->error = g_strdup(error);
                        journal_event(ipam, true, NULL, p->name, true, "InvalidSpec",
                                      "Pool update rejected, %s: %s",
                                      p->valid ? "the previous spec stays in effect"
                                               : "the pool allocates nothing",
                                      error);
                }
                if (ret_error)
                        *ret_error = error;
                else
                        g_free(error);
                maybe_activate(ipam);
                op_end(ipam);
                return r;
        }
        g_free(p->error);
        p->error = NULL;
        g_free(p->warning);
        p->warning = spec.n_blocks == 0 ? g_strdup("the pool has no blocks") : NULL;
        if (!pool_spec_equal(p, &spec)) {
                pool_apply(ipam, p, &spec);
                index_rebuild(ipam);
                if (ipam->active) {
                        settle(ipam);
                        reconcile_all(ipam);
                }
        }
        p->generation = k->meta.generation;
        pool_spec_done(&spec);
        maybe_activate(ipam);
        op_end(ipam);
        return 0;
}

int ipam_pool_delete(struct ipam *ipam, const char *name)
{
        struct ipam_pool *p;
        g_autofree char *why = NULL;

        assert(ipam);
        assert(name);
        p = g_hash_table_lookup(ipam->pools, name);
        if (!p)
                return 0;
        why = g_strdup_printf("pool '%s' was deleted", p->name);
        for (guint i = 0; i < p->ranges->len; i++)
                alloc_release_range(ipam, p->ranges->pdata[i], why);
        g_hash_table_remove(ipam->pools, p->name);
        journal_forget_pool(ipam, p);
        index_rebuild(ipam);
        pool_free(p);
        if (ipam->active) {
                settle(ipam);
                /* it may have been what let services keep addresses of
                 * overlapping pools */
                reconcile_all(ipam);
        }
        op_end(ipam);
        return 0;
}

/* ---- services ---- */

static struct ipam_svc *svc_lookup(const struct ipam *ipam, const char *namespace, const char *name)
{
        size_t ln = strlen(strempty(namespace)), lm = strlen(name);
        char buf[256];
        g_autofree char *key = NULL;

        /* namespaces and names are at most 63 characters: no allocation */
        if (ln + lm + 2 <= sizeof(buf)) {
                memcpy(buf, strempty(namespace), ln);
                buf[ln] = '/';
                memcpy(buf + ln + 1, name, lm + 1);
                return g_hash_table_lookup(ipam->services, buf);
        }
        key = k8s_key(namespace, name);
        return g_hash_table_lookup(ipam->services, key);
}

/* svc->labels already are k's labels plus the synthetic ones (the common
 * case of an update: no copy). */
static bool svc_labels_current(const struct ipam_svc *svc, const struct k8s_service *k)
{
        static const char *const synthetic[] = {K8S_LABEL_SERVICE_NAME,
                                                K8S_LABEL_SERVICE_NAMESPACE};
        const struct labels *a = &svc->labels, *b = &k->meta.labels;
        size_t i = 0, j = 0;

        for (;;) {
                while (i < a->n && (streq(a->items[i].key, synthetic[0]) ||
                                    streq(a->items[i].key, synthetic[1])))
                        i++;
                while (j < b->n && (streq(b->items[j].key, synthetic[0]) ||
                                    streq(b->items[j].key, synthetic[1])))
                        return false; /* overwritten user labels: just rebuild */
                if (i == a->n || j == b->n)
                        return i == a->n && j == b->n;
                if (!streq(a->items[i].key, b->items[j].key) ||
                    !streq(a->items[i].value, b->items[j].value))
                        return false;
                i++;
                j++;
        }
}

/* The labels pool selectors see (k8s_service_selector_labels), packed. */
static void svc_labels_packed(const struct k8s_service *k, struct labels *ret)
{
        struct label buf[16];
        g_autofree struct label *heap = NULL;
        struct labels view = {.items = buf};

        if (k->meta.labels.n + 2 > ELEMENTSOF(buf))
                view.items = heap = g_new(struct label, k->meta.labels.n + 2);
        view.n = k8s_service_selector_labels_view(k, view.items);
        labels_pack(&view, ret);
}

static struct ipam_svc *svc_new(struct ipam *ipam, const struct k8s_service *k)
{
        struct ipam_svc *svc = g_new0(struct ipam_svc, 1);

        const char *ns = strempty(k->meta.namespace);
        size_t ln = strlen(ns), lm = strlen(k->meta.name);

        /* one block: "ns/name\0ns\0name\0" */
        svc->key = g_malloc(2 * (ln + lm) + 4);
        memcpy(svc->key, ns, ln);
        svc->key[ln] = '/';
        memcpy(svc->key + ln + 1, k->meta.name, lm + 1);
        svc->namespace = svc->key + ln + lm + 2;
        memcpy(svc->namespace, ns, ln + 1);
        svc->name = svc->namespace + ln + 1;
        memcpy(svc->name, k->meta.name, lm + 1);
        svc->created = k->meta.creation_timestamp;
        svc->allocs = g_ptr_array_sized_new(1);
        g_hash_table_insert(ipam->services, svc->key, svc);
        g_tree_insert(ipam->by_age, svc, svc);
        return svc;
}

static void svc_destroy(struct ipam *ipam, struct ipam_svc *svc)
{
        assert(svc->allocs->len == 0);
        svc_unqueue(ipam, svc);
        g_tree_remove(ipam->by_age, svc);
        g_hash_table_remove(ipam->services, svc->key);
        journal_forget_service(ipam, svc);
        svc_free(svc);
}

static void svc_observe(struct ipam_svc *svc, const struct k8s_service *k)
{
        const struct k8s_condition *c;

        g_free(svc->ingress);
        svc->ingress = k->n_ingress ? g_new(struct ipaddr, k->n_ingress) : NULL;
        svc->n_ingress = 0;
        svc->ingress_exact = true;
        for (size_t i = 0; i < k->n_ingress; i++) {
                const struct k8s_lb_ingress *g = &k->ingress[i];

                if (!g->ip || ipaddr_parse(g->ip, &svc->ingress[svc->n_ingress]) < 0) {
                        svc->ingress_exact = false;
                        continue;
                }
                if (g->hostname)
                        svc->ingress_exact = false;
                svc->n_ingress++;
        }
        observed_condition_set(&svc->observed, &k->conditions, IPAM_CONDITION_SATISFIED);
        c = k8s_conditions_find(&k->conditions, IPAM_CONDITION_SATISFIED);
        svc->observed_satisfied_true = c && streq_ptr(c->status, "True");
        svc->generation = k->meta.generation;
}

int ipam_service_upsert(struct ipam *ipam, const struct k8s_service *k)
{
        struct svc_request req = {0};
        struct labels labels = {0};
        struct ipam_svc *svc;
        bool managed, relabel = false;

        assert(ipam);
        assert(k);
        assert(k->meta.name);
        svc = svc_lookup(ipam, k->meta.namespace, k->meta.name);
        managed = svc_request_managed(&ipam->o, k);
        if (!managed && !svc && !k8s_conditions_find(&k->conditions, IPAM_CONDITION_SATISFIED))
                return 0; /* not ours, never was */
        if (managed) {
                svc_request_parse(&ipam->o, k, &req);
                if (!svc || !svc_labels_current(svc, k)) {
                        svc_labels_packed(k, &labels);
                        relabel = true;
                }
        }
        if (!svc)
                svc = svc_new(ipam, k);
        else if (svc->created != k->meta.creation_timestamp) {
                bool queued = svc->queued;

                svc_unqueue(ipam, svc);
                g_tree_remove(ipam->by_age, svc);
                svc->created = k->meta.creation_timestamp;
                g_tree_insert(ipam->by_age, svc, svc);
                svc_queue_set(ipam, svc, queued);
        }
        journal_touch_service(ipam, svc);
        svc_observe(svc, k);

        if (!managed) {
                if (svc->managed)
                        svc_set_unmanaged(ipam, svc, WHY_NOT_HANDLED);
                if (!svc->observed.present)
                        svc_destroy(ipam, svc);
                if (ipam->active && ipam->capacity_changed)
                        reconcile_unsatisfied(ipam);
                op_end(ipam);
                return 0;
        }
        if (ipam->active && req.bad_entries && !strv_equal(req.bad_entries, svc->req.bad_entries)) {
                g_autofree char *all = g_strjoinv("; ", req.bad_entries);

                journal_event(ipam, false, svc->namespace, svc->name, true, "InvalidAnnotation",
                              "Skipped unparsable requested IPs: %s", all);
        }
        if (ipam->active && req.bad_permit && !streq_ptr(req.bad_permit, svc->req.bad_permit))
                journal_event(ipam, false, svc->namespace, svc->name, true, "InvalidAnnotation",
                              "%s", req.bad_permit);
        /* a holder's sharing attributes matter to those waiting to join */
        if (svc->allocs->len > 0 && !svc_request_sharing_equal(&svc->req, &req))
                ipam->groups_changed = true;
        svc_request_done(&svc->req);
        svc->req = req;
        svc_queue_set(ipam, svc, svc->queued);
        if (relabel) {
                labels_packed_free(&svc->labels);
                svc->labels = labels;
        }
        svc->managed = true;
        /* sharing groups are filed under their first member's key */
        for (guint i = 0; i < svc->allocs->len; i++)
                alloc_reindex(ipam, svc->allocs->pdata[i]);
        if (ipam->active) {
                svc_strip(ipam, svc);
                svc_adopt(ipam, svc);
                svc_satisfy(ipam, svc);
                if (ipam->capacity_changed)
                        reconcile_unsatisfied(ipam);
                else
                        reconcile_waiting(ipam);
        }
        op_end(ipam);
        return 0;
}

int ipam_service_delete(struct ipam *ipam, const char *namespace, const char *name)
{
        struct ipam_svc *svc;

        assert(ipam);
        assert(name);
        svc = svc_lookup(ipam, namespace, name);
        if (!svc)
                return 0;
        svc_release_all(ipam, svc, "the service was deleted");
        svc_destroy(ipam, svc);
        if (ipam->active && ipam->capacity_changed)
                reconcile_unsatisfied(ipam);
        op_end(ipam);
        return 0;
}

/* ---- start ---- */

static gboolean touch_observed_cb(gpointer key, gpointer value, gpointer data)
{
        struct ipam_svc *svc = value;

        journal_touch_service_observed(data, svc);
        /* a service that stopped qualifying while nobody watched */
        if (!svc->managed)
                for (size_t i = 0; i < svc->n_ingress; i++)
                        journal_record_released(svc, &svc->ingress[i], WHY_NOT_HANDLED);
        return FALSE;
}

static void activate(struct ipam *ipam)
{
        ipam->active = true;
        settle(ipam);
        g_tree_foreach(ipam->by_age, touch_observed_cb, ipam);
        reconcile_start(ipam);
}

int ipam_start(struct ipam *ipam)
{
        assert(ipam);
        if (ipam->started)
                return 0;
        ipam->started = true;
        maybe_activate(ipam);
        op_end(ipam);
        return 0;
}

bool ipam_active(const struct ipam *ipam)
{
        assert(ipam);
        return ipam->active;
}

/* ---- outputs ---- */

void ipam_service_mark_dirty(struct ipam *ipam, const char *namespace, const char *name)
{
        struct ipam_svc *svc;

        assert(ipam);
        assert(name);
        svc = svc_lookup(ipam, namespace, name);
        if (svc)
                journal_mark_service(ipam, svc);
}

void ipam_pool_mark_dirty(struct ipam *ipam, const char *name)
{
        struct ipam_pool *p;

        assert(ipam);
        assert(name);
        p = g_hash_table_lookup(ipam->pools, name);
        if (p)
                journal_mark_pool(ipam, p);
}

void ipam_service_status(const struct ipam *ipam, const char *namespace, const char *name,
                         struct ipam_service_status *ret)
{
        const struct ipam_svc *svc;
        struct k8s_condition want;

        assert(ipam);
        assert(name);
        assert(ret);
        memset(ret, 0, sizeof(*ret));
        svc = svc_lookup(ipam, namespace, name);
        if (!svc)
                return;
        ret->action = svc_action(ipam, svc);
        if (ret->action != IPAM_SERVICE_WRITE)
                return;
        ret->n_ips = svc->allocs->len;
        ret->ips = xnew(char *, ret->n_ips + 1);
        for (size_t i = 0; i < ret->n_ips; i++) {
                char buf[IPADDR_STRLEN];

                ret->ips[i] =
                    xstrdup(ipaddr_format(&((struct ipam_alloc *)svc->allocs->pdata[i])->ip, buf));
        }
        svc_desired_condition(svc, &want);
        ret->condition.type = xstrdup(want.type);
        ret->condition.status = xstrdup(want.status);
        ret->condition.reason = xstrdup(want.reason);
        ret->condition.message = xstrdup(strempty(want.message));
        ret->condition.observed_generation = want.observed_generation;
}

void ipam_service_status_done(struct ipam_service_status *st)
{
        if (!st)
                return;
        strv_free(st->ips);
        free(st->condition.type);
        free(st->condition.status);
        free(st->condition.reason);
        free(st->condition.message);
        free(st->condition.last_transition_time);
        memset(st, 0, sizeof(*st));
}

void ipam_pool_status(const struct ipam *ipam, const char *name, struct ipam_pool_status *ret)
{
        const struct ipam_pool *p;

        assert(ipam);
        assert(name);
        assert(ret);
        memset(ret, 0, sizeof(*ret));
        p = g_hash_table_lookup(ipam->pools, name);
        if (!p)
                return;
        ret->known = true;
        pool_desired_conditions(p, ret->conditions);
        pool_counts(p, &ret->total, &ret->available, &ret->used);
        ret->conflicting = p->conflicting;
        ret->error = xstrdup(p->error);
        ret->warning = xstrdup(p->warning);
        ret->priority = p->priority;
}

void ipam_pool_status_done(struct ipam_pool_status *st)
{
        if (!st)
                return;
        pool_conditions_done(st->conditions);
        free(st->error);
        free(st->warning);
        memset(st, 0, sizeof(*st));
}

size_t ipam_n_services(const struct ipam *ipam)
{
        assert(ipam);
        return g_hash_table_size(ipam->services);
}

size_t ipam_n_allocations(const struct ipam *ipam)
{
        assert(ipam);
        return (size_t)g_tree_nnodes(ipam->allocs);
}

size_t ipam_n_free_intervals(const struct ipam *ipam)
{
        size_t n = 0;

        assert(ipam);
        for (guint i = 0; i < ipam->pool_order->len; i++) {
                const struct ipam_pool *p = ipam->pool_order->pdata[i];

                for (guint j = 0; j < p->ranges->len; j++)
                        n += range_n_intervals(p->ranges->pdata[j]);
        }
        return n;
}

size_t ipam_ip_holders(const struct ipam *ipam, const char *ip, const char **ret_pool)
{
        struct ipaddr a;
        const struct ipam_alloc *al;

        assert(ipam);
        assert(ip);
        if (ret_pool)
                *ret_pool = NULL;
        if (ipaddr_parse(ip, &a) < 0)
                return 0;
        al = alloc_lookup(ipam, &a);
        if (!al)
                return 0;
        if (ret_pool)
                *ret_pool = al->origin->pool->name;
        return al->members->len;
}

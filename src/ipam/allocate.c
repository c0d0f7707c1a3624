/* Where a LoadBalancer address comes from.
 *
 * Allocation order (deterministic: the same inputs give the same IPs):
 *
 *   1. Pools are tried in allocation order: higher lbipam.l2lb.io/priority
 *      first (an integer annotation on the pool, default 0), then by name.
 *      A pool is a candidate when it is accepted, not disabled, not marked
 *      conflicting, and its serviceSelector selects the service.
 *   2. Within a pool, its blocks are tried by address (IPv4 before IPv6,
 *      lower first), only those of the wanted family.
 *   3. Within a block, the lowest free address is taken. Reserved first and
 *      last addresses (allowFirstLastIPs: No) are never free.
 *
 * So a service gets the lowest free address of the first matching pool. A
 * service with a sharing key first joins an existing group with the same
 * key (the first created such group that accepts it and whose pool is a
 * candidate for the service: Cilium keeps a list per key, appended when an
 * address is allocated, and joins its first fit), and only then gets a new
 * address. A group's age is when its address was filed under the key: at
 * its allocation, or when its members took the key; after a restart, the
 * import order (oldest service first).
 *
 * Addresses are unique across pools: the allocation index (a GTree keyed by
 * address) holds every allocated address once, with its origin range and
 * sharing group. Every range containing an allocated address has it out of
 * its free set, so ranges of overlapping (conflicting) pools never hand out
 * an address twice. The pools that may select a service and the ranges
 * containing an address come from index.c, so neither allocating nor
 * granting a requested IP tests every pool. */
#include "internal.h"

#include "ipam/sharing.h"
#include "lib/util.h"

gint ipaddr_tree_cmp(gconstpointer a, gconstpointer b, gpointer userdata)
{
        return ipaddr_cmp(a, b);
}

struct ipam_alloc *alloc_lookup(const struct ipam *ipam, const struct ipaddr *ip)
{
        assert(ipam);
        assert(ip);
        return g_tree_lookup(ipam->allocs, ip);
}

bool alloc_held_cb(const struct ipam_range *range, u128 v, void *userdata)
{
        struct ipaddr a = {.family = range->r.family, .v = v};

        return alloc_lookup(userdata, &a) != NULL;
}

/* Calls fn on every range containing ip (origin included). */
static void foreach_range_containing(struct ipam *ipam, struct ipam_range *origin,
                                     const struct ipaddr *ip,
                                     void (*fn)(struct ipam *, struct ipam_range *, u128))
{
        GPtrArray *list = ipam->scratch_ranges;
        bool seen = false;

        g_ptr_array_set_size(list, 0);
        index_ranges_containing(ipam, ip, list);
        for (guint i = 0; i < list->len; i++) {
                seen = seen || list->pdata[i] == origin;
                fn(ipam, list->pdata[i], ip->v);
        }
        if (origin && !seen)
                fn(ipam, origin, ip->v);
}

static void take_cb(struct ipam *ipam, struct ipam_range *r, u128 v)
{
        if (range_take(r, v))
                journal_touch_pool(ipam, r->pool);
}

static void give_cb(struct ipam *ipam, struct ipam_range *r, u128 v)
{
        bool was = range_is_free(r, v);

        range_give(r, v);
        if (!was && range_is_free(r, v))
                journal_touch_pool(ipam, r->pool);
}

static gint alloc_addr_cmp(gconstpointer a, gconstpointer b)
{
        const struct ipam_alloc *x = *(struct ipam_alloc *const *)a;
        const struct ipam_alloc *y = *(struct ipam_alloc *const *)b;

        return ipaddr_cmp(&x->ip, &y->ip);
}

static void svc_add_alloc(struct ipam_svc *svc, struct ipam_alloc *a)
{
        g_ptr_array_add(svc->allocs, a);
        g_ptr_array_sort(svc->allocs, alloc_addr_cmp);
}

void alloc_reindex(struct ipam *ipam, struct ipam_alloc *a)
{
        const char *want = NULL;
        GPtrArray *list;

        if (a->members->len > 0)
                want = ((struct ipam_svc *)a->members->pdata[0])->req.sharing_key;
        if (streq_ptr(want, a->indexed_key))
                return;
        if (a->indexed_key) {
                list = g_hash_table_lookup(ipam->by_sharing_key, a->indexed_key);
                assert(list);
                g_ptr_array_remove_fast(list, a);
                if (list->len == 0)
                        g_hash_table_remove(ipam->by_sharing_key, a->indexed_key);
                g_free(a->indexed_key);
                a->indexed_key = NULL;
        }
        if (want) {
                list = g_hash_table_lookup(ipam->by_sharing_key, want);
                if (!list) {
                        list = g_ptr_array_new();
                        g_hash_table_insert(ipam->by_sharing_key, g_strdup(want), list);
                }
                g_ptr_array_add(list, a);
                a->indexed_key = g_strdup(want);
                a->filed = ipam->next_filed++;
        }
}

void alloc_new(struct ipam *ipam, struct ipam_range *origin, const struct ipaddr *ip,
               struct ipam_svc *svc)
{
        struct ipam_alloc *a;

        assert(ipam);
        assert(origin);
        assert(range_contains(origin, ip));
        assert(!alloc_lookup(ipam, ip));
        journal_touch_service(ipam, svc);
        a = g_new0(struct ipam_alloc, 1);
        a->ip = *ip;
        a->origin = origin;
        a->members = g_ptr_array_sized_new(1);
        g_ptr_array_add(a->members, svc);
        g_tree_insert(ipam->allocs, &a->ip, a);
        ipam->groups_changed = true;
        foreach_range_containing(ipam, origin, ip, take_cb);
        svc_add_alloc(svc, a);
        alloc_reindex(ipam, a);
}

void alloc_join(struct ipam *ipam, struct ipam_alloc *a, struct ipam_svc *svc)
{
        guint i;

        assert(a);
        assert(!svc_holds(svc, &a->ip));
        journal_touch_service(ipam, svc);
        /* members oldest first, whatever the joining order: the group reads
         * the same after a restart (first incompatible member, Events) */
        for (i = 0; i < a->members->len; i++)
                if (svc_age_cmp(svc, a->members->pdata[i], NULL) < 0)
                        break;
        g_ptr_array_insert(a->members, (gint)i, svc);
        ipam->groups_changed = true;
        svc_add_alloc(svc, a);
        alloc_reindex(ipam, a);
}

void alloc_leave(struct ipam *ipam, struct ipam_alloc *a, struct ipam_svc *svc, const char *why)
{
        assert(a);
        assert(svc);
        journal_touch_service(ipam, svc);
        g_ptr_array_remove(a->members, svc);
        g_ptr_array_remove(svc->allocs, a);
        journal_record_released(svc, &a->ip, why);
        ipam->capacity_changed = true;
        ipam->groups_changed = true;
        if (a->members->len > 0) {
                alloc_reindex(ipam, a);
                return;
        }
        alloc_reindex(ipam, a);
        g_tree_remove(ipam->allocs, &a->ip);
        foreach_range_containing(ipam, a->origin, &a->ip, give_cb);
        g_ptr_array_free(a->members, TRUE);
        g_free(a);
}

const char *alloc_incompatible(const struct ipam_alloc *a, const struct ipam_svc *svc)
{
        for (guint i = 0; i < a->members->len; i++) {
                const struct ipam_svc *m = a->members->pdata[i];
                const char *why;

                if (m == svc)
                        continue;
                why = sharing_incompatible(&m->req, m->namespace, &svc->req, svc->namespace);
                if (why)
                        return why;
        }
        return NULL;
}

static bool candidate(const struct ipam_pool *p, const struct ipam_svc *svc)
{
        return pool_usable(p) && pool_selects(p, &svc->labels);
}

int alloc_find_free(const struct ipam *ipam, const struct ipam_svc *svc, int family,
                    struct ipam_range **ret_range, u128 *ret_v)
{
        GPtrArray *pools = ipam->scratch_find;
        bool matched = false;

        assert(ipam);
        assert(svc);
        g_ptr_array_set_size(pools, 0);
        index_candidate_pools(ipam, &svc->labels, pools);
        for (guint i = 0; i < pools->len; i++) {
                struct ipam_pool *p = pools->pdata[i];

                if (!candidate(p, svc))
                        continue;
                for (guint j = 0; j < p->ranges->len; j++) {
                        struct ipam_range *r = p->ranges->pdata[j];

                        if (r->r.family != family)
                                continue;
                        matched = true;
                        if (range_lowest_free(r, ret_v)) {
                                *ret_range = r;
                                return 0;
                        }
                }
        }
        return matched ? -ENOSPC : -ENOENT;
}

struct ipam_alloc *alloc_find_shared(const struct ipam *ipam, const struct ipam_svc *svc,
                                     int family)
{
        GPtrArray *list;
        struct ipam_alloc *best = NULL;

        if (!svc->req.sharing_key)
                return NULL;
        list = g_hash_table_lookup(ipam->by_sharing_key, svc->req.sharing_key);
        for (guint i = 0; list && i < list->len; i++) {
                struct ipam_alloc *a = list->pdata[i];

                bool unselected;

                if (a->ip.family != family || svc_holds(svc, &a->ip) ||
                    alloc_incompatible(a, svc) ||
                    !alloc_range_for_request(ipam, svc, &a->ip, &unselected))
                        continue;
                if (!best || a->filed < best->filed)
                        best = a;
        }
        return best;
}

struct ipam_range *alloc_range_for_request(const struct ipam *ipam, const struct ipam_svc *svc,
                                           const struct ipaddr *ip, bool *ret_unselected)
{
        GPtrArray *list = ipam->scratch_find;

        *ret_unselected = false;
        g_ptr_array_set_size(list, 0);
        index_ranges_containing(ipam, ip, list);
        for (guint i = 0; i < list->len; i++) {
                struct ipam_range *r = list->pdata[i];

                if (!pool_usable(r->pool))
                        continue;
                if (pool_selects(r->pool, &svc->labels))
                        return r;
                *ret_unselected = true;
        }
        return NULL;
}

struct ipam_range *alloc_range_for_adoption(const struct ipam *ipam, const struct ipam_svc *svc,
                                            const struct ipaddr *ip)
{
        GPtrArray *list = ipam->scratch_find;

        g_ptr_array_set_size(list, 0);
        index_ranges_containing(ipam, ip, list);
        for (int pass = 0; pass < 2; pass++)
                for (guint i = 0; i < list->len; i++) {
                        struct ipam_range *r = list->pdata[i];

                        if (pool_usable(r->pool) == (pass == 0) &&
                            pool_selects(r->pool, &svc->labels))
                                return r;
                }
        return NULL;
}

void alloc_prepare_range(struct ipam *ipam, struct ipam_range *range)
{
        struct ipaddr lo = {.family = range->r.family, .v = range->r.from};
        GTreeNode *n = g_tree_lower_bound(ipam->allocs, &lo);

        for (; n; n = g_tree_node_next(n)) {
                struct ipam_alloc *a = g_tree_node_value(n);

                if (a->ip.family != range->r.family || a->ip.v > range->r.to)
                        break;
                (void)range_take(range, a->ip.v);
        }
}

void alloc_release_range(struct ipam *ipam, struct ipam_range *range, const char *why)
{
        struct ipaddr lo = {.family = range->r.family, .v = range->r.from};
        g_autoptr(GPtrArray) victims = g_ptr_array_new();

        for (GTreeNode *n = g_tree_lower_bound(ipam->allocs, &lo); n; n = g_tree_node_next(n)) {
                struct ipam_alloc *a = g_tree_node_value(n);

                if (a->ip.family != range->r.family || a->ip.v > range->r.to)
                        break;
                if (a->origin == range)
                        g_ptr_array_add(victims, a);
        }
        for (guint i = 0; i < victims->len; i++) {
                struct ipam_alloc *a = victims->pdata[i];

                /* each leave drops the last member; the last leave frees a,
                 * and ends the loop (the analyzer cannot see that) */
                for (guint left = a->members->len; left > 0; left--)
                        // NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
                        alloc_leave(ipam, a, a->members->pdata[left - 1], why);
        }
}

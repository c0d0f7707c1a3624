/* Lookup structures over the pools, rebuilt whenever a pool is added,
 * deleted or changes its spec (rare; a few microseconds for 100 pools):
 *
 *   pool_order        every pool in allocation order (pool_cmp_order), each
 *                     pool knowing its rank in it
 *   ranges_by_addr    every range by (family, first address), with the
 *                     running maximum of last addresses per family, so the
 *                     ranges containing an address are a binary search and
 *                     a short walk back (one step when nothing overlaps)
 *   by_label          pools whose selector requires one label value
 *                     (matchLabels, or In with one value), filed under that
 *                     key=value; the other pools are "unindexed". The pools
 *                     that may select a service are then the unindexed ones
 *                     plus those filed under one of its labels — so
 *                     allocating for a service does not test every pool's
 *                     selector. */
#include "internal.h"

#include "lib/util.h"

struct label_key {
        const char *key;
        const char *value;
};

static guint label_hash(gconstpointer p)
{
        const struct label_key *k = p;

        return g_str_hash(k->key) * 33u ^ g_str_hash(k->value);
}

static gboolean label_equal(gconstpointer a, gconstpointer b)
{
        const struct label_key *x = a, *y = b;

        return streq(x->key, y->key) && streq(x->value, y->value);
}

static gint order_cmp(gconstpointer a, gconstpointer b)
{
        return pool_cmp_order(*(struct ipam_pool *const *)a, *(struct ipam_pool *const *)b);
}

static gint rank_cmp(gconstpointer a, gconstpointer b)
{
        const struct ipam_pool *x = *(struct ipam_pool *const *)a;
        const struct ipam_pool *y = *(struct ipam_pool *const *)b;

        return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static gint range_rank_cmp(gconstpointer a, gconstpointer b)
{
        const struct ipam_range *x = *(struct ipam_range *const *)a;
        const struct ipam_range *y = *(struct ipam_range *const *)b;

        if (x->pool->rank != y->pool->rank)
                return x->pool->rank < y->pool->rank ? -1 : 1;
        return range_cmp_addr(a, b);
}

/* The requirement a pool is filed under, or NULL. */
static const struct selector_requirement *index_requirement(const struct ipam_pool *p)
{
        for (size_t i = 0; p->selector && i < p->selector->n; i++) {
                const struct selector_requirement *r = &p->selector->reqs[i];

                if (r->op == SELECTOR_IN && r->n_values == 1)
                        return r;
        }
        return NULL;
}

void index_rebuild(struct ipam *ipam)
{
        GHashTableIter it;
        gpointer v;

        g_ptr_array_set_size(ipam->pool_order, 0);
        g_hash_table_iter_init(&it, ipam->pools);
        while (g_hash_table_iter_next(&it, NULL, &v))
                g_ptr_array_add(ipam->pool_order, v);
        g_ptr_array_sort(ipam->pool_order, order_cmp);

        g_ptr_array_set_size(ipam->ranges_by_addr, 0);
        g_ptr_array_set_size(ipam->unindexed, 0);
        g_hash_table_remove_all(ipam->by_label);
        for (guint i = 0; i < ipam->pool_order->len; i++) {
                struct ipam_pool *p = ipam->pool_order->pdata[i];
                const struct selector_requirement *r = index_requirement(p);

                p->rank = i;
                for (guint j = 0; j < p->ranges->len; j++)
                        g_ptr_array_add(ipam->ranges_by_addr, p->ranges->pdata[j]);
                if (!p->valid)
                        continue; /* selects nothing */
                if (!r)
                        g_ptr_array_add(ipam->unindexed, p);
                else {
                        struct label_key key = {r->key, r->values[0]};
                        GPtrArray *list = g_hash_table_lookup(ipam->by_label, &key);

                        if (!list) {
                                list = g_ptr_array_new();
                                g_hash_table_insert(ipam->by_label, g_memdup2(&key, sizeof(key)),
                                                    list);
                        }
                        g_ptr_array_add(list, p); /* in order: pools are visited in order */
                }
        }
        g_ptr_array_sort(ipam->ranges_by_addr, range_cmp_addr);
        g_free(ipam->max_to);
        ipam->max_to = g_new(u128, ipam->ranges_by_addr->len + 1);
        for (guint i = 0; i < ipam->ranges_by_addr->len; i++) {
                const struct ipam_range *r = ipam->ranges_by_addr->pdata[i];
                const struct ipam_range *prev = i ? ipam->ranges_by_addr->pdata[i - 1] : NULL;

                ipam->max_to[i] = r->r.to;
                if (prev && prev->r.family == r->r.family && ipam->max_to[i - 1] > r->r.to)
                        ipam->max_to[i] = ipam->max_to[i - 1];
        }
}

void index_init(struct ipam *ipam)
{
        ipam->pool_order = g_ptr_array_new();
        ipam->ranges_by_addr = g_ptr_array_new();
        ipam->unindexed = g_ptr_array_new();
        ipam->by_label = g_hash_table_new_full(label_hash, label_equal, g_free,
                                               (GDestroyNotify)g_ptr_array_unref);
}

void index_done(struct ipam *ipam)
{
        g_ptr_array_free(ipam->pool_order, TRUE);
        g_ptr_array_free(ipam->ranges_by_addr, TRUE);
        g_ptr_array_free(ipam->unindexed, TRUE);
        g_hash_table_destroy(ipam->by_label);
        g_free(ipam->max_to);
}

/* Orders ip before the ranges starting after it, and after the others
 * (never equal): lower_bound() then finds the first range starting after ip. */
static int ip_before_range(const void *key, const void *element)
{
        const struct ipaddr *ip = key;
        const struct ipam_range *r = *(struct ipam_range *const *)element;

        return ip->family < r->r.family || (ip->family == r->r.family && ip->v < r->r.from) ? -1
                                                                                            : 1;
}

void index_ranges_containing(const struct ipam *ipam, const struct ipaddr *ip, GPtrArray *out)
{
        GPtrArray *a = ipam->ranges_by_addr;
        guint start = out->len;

        for (size_t i = lower_bound(ip, a->pdata, a->len, sizeof(gpointer), ip_before_range); i > 0;
             i--) {
                const struct ipam_range *r = a->pdata[i - 1];

                if (r->r.family != ip->family || ipam->max_to[i - 1] < ip->v)
                        break;
                if (r->r.to >= ip->v)
                        g_ptr_array_add(out, a->pdata[i - 1]);
        }
        qsort_safe(out->pdata + start, out->len - start, sizeof(gpointer),
                   (int (*)(const void *, const void *))range_rank_cmp);
}

void index_candidate_pools(const struct ipam *ipam, const struct labels *l, GPtrArray *out)
{
        guint start = out->len;

        for (guint i = 0; i < ipam->unindexed->len; i++)
                g_ptr_array_add(out, ipam->unindexed->pdata[i]);
        if (g_hash_table_size(ipam->by_label) > 0)
                for (size_t i = 0; l && i < l->n; i++) {
                        struct label_key key = {l->items[i].key, l->items[i].value};
                        GPtrArray *list = g_hash_table_lookup(ipam->by_label, &key);

                        for (guint j = 0; list && j < list->len; j++)
                                g_ptr_array_add(out, list->pdata[j]);
                }
        qsort_safe(out->pdata + start, out->len - start, sizeof(gpointer),
                   (int (*)(const void *, const void *))rank_cmp);
}

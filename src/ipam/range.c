/* Free-interval allocator of one pool block; see range.h. Intervals are
 * keys of the GTree and are edited in place when an edit cannot change
 * their order (moving a start up to a value still above the previous
 * interval's end), so most operations are one lookup. */
#include "range.h"

#include "lib/util.h"

struct free_interval {
        u128 from, to; /* inclusive */
};

static gint interval_cmp(gconstpointer a, gconstpointer b, gpointer userdata)
{
        u128 x = ((const struct free_interval *)a)->from;
        u128 y = ((const struct free_interval *)b)->from;

        return x < y ? -1 : x > y ? 1 : 0;
}

static void interval_insert(GTree *t, u128 from, u128 to)
{
        struct free_interval *i = g_new(struct free_interval, 1);

        i->from = from;
        i->to = to;
        g_tree_insert(t, i, i);
}

struct ipam_range *range_new(const struct iprange *r, bool from_cidr, struct ipam_pool *pool)
{
        struct ipam_range *range = g_new0(struct ipam_range, 1);

        assert(r);
        assert(r->from <= r->to);
        range->r = *r;
        range->from_cidr = from_cidr;
        range->pool = pool;
        range->free = g_tree_new_full(interval_cmp, NULL, g_free, NULL);
        interval_insert(range->free, r->from, r->to);
        return range;
}

void range_free(struct ipam_range *range)
{
        if (!range)
                return;
        g_tree_destroy(range->free);
        g_free(range);
}

gint range_cmp_addr(gconstpointer a, gconstpointer b)
{
        return iprange_cmp(&(*(struct ipam_range *const *)a)->r,
                           &(*(struct ipam_range *const *)b)->r);
}

bool range_contains(const struct ipam_range *range, const struct ipaddr *a)
{
        assert(range);
        assert(a);
        return iprange_contains(&range->r, a);
}

/* The interval with the greatest start <= v, or NULL. */
static GTreeNode *interval_at_or_before(GTree *t, u128 v)
{
        struct free_interval key = {.from = v, .to = v};
        GTreeNode *next = g_tree_upper_bound(t, &key);

        return next ? g_tree_node_previous(next) : g_tree_node_last(t);
}

static struct free_interval *node_interval(GTreeNode *n)
{
        return n ? g_tree_node_key(n) : NULL;
}

bool range_is_free(const struct ipam_range *range, u128 v)
{
        struct free_interval *i;

        assert(range);
        if (v < range->r.from || v > range->r.to)
                return false;
        i = node_interval(interval_at_or_before(range->free, v));
        return i && i->to >= v;
}

bool range_is_reserved(const struct ipam_range *range, u128 v)
{
        assert(range);
        return (range->reserve_first && v == range->r.from) ||
               (range->reserve_last && v == range->r.to);
}

bool range_take(struct ipam_range *range, u128 v)
{
        struct free_interval *i;

        assert(range);
        if (v < range->r.from || v > range->r.to)
                return false;
        i = node_interval(interval_at_or_before(range->free, v));
        if (!i || i->to < v)
                return false;
        if (i->from == v && i->to == v)
                g_tree_remove(range->free, i);
        else if (i->from == v)
                i->from++;
        else if (i->to == v)
                i->to--;
        else {
                u128 to = i->to;

                i->to = v - 1;
                interval_insert(range->free, v + 1, to);
        }
        range->taken++;
        return true;
}

void range_give(struct ipam_range *range, u128 v)
{
        GTreeNode *pn, *nn;
        struct free_interval *prev, *next, key = {.from = v, .to = v};
        bool join_prev, join_next;

        assert(range);
        assert(v >= range->r.from && v <= range->r.to);
        if (range_is_reserved(range, v))
                return;
        nn = g_tree_upper_bound(range->free, &key);
        pn = nn ? g_tree_node_previous(nn) : g_tree_node_last(range->free);
        prev = node_interval(pn);
        next = node_interval(nn);
        if (prev && prev->to >= v)
                return; /* already free */
        /* prev->to < v <= max and v < next->from: the +1s cannot overflow */
        join_prev = prev && prev->to + 1 == v;
        join_next = next && v + 1 == next->from;
        if (join_prev && join_next) {
                prev->to = next->to;
                g_tree_remove(range->free, next);
        } else if (join_prev)
                prev->to = v;
        else if (join_next)
                next->from = v; /* still above prev->to: order unchanged */
        else
                interval_insert(range->free, v, v);
        range->taken--;
}

bool range_lowest_free(const struct ipam_range *range, u128 *ret)
{
        GTreeNode *n;

        assert(range);
        assert(ret);
        n = g_tree_node_first(range->free);
        if (!n)
                return false;
        *ret = node_interval(n)->from;
        return true;
}

bool range_can_reserve(const struct ipam_range *range)
{
        assert(range);
        return range->from_cidr && iprange_span(&range->r) >= 2;
}

static void set_one(struct ipam_range *range, bool *flag, bool want, u128 v,
                    bool (*held)(const struct ipam_range *, u128, void *), void *userdata)
{
        if (*flag == want)
                return;
        *flag = want;
        if (want)
                (void)range_take(range, v); /* held by a service: stays with it */
        else if (!range_is_free(range, v) && !(held && held(range, v, userdata)))
                range_give(range, v);
}

void range_set_reserved(struct ipam_range *range, bool first, bool last,
                        bool (*held)(const struct ipam_range *range, u128 v, void *userdata),
                        void *userdata)
{
        assert(range);
        if (!range_can_reserve(range))
                first = last = false;
        set_one(range, &range->reserve_first, first, range->r.from, held, userdata);
        set_one(range, &range->reserve_last, last, range->r.to, held, userdata);
}

struct bigcount range_total(const struct ipam_range *range)
{
        struct bigcount c = {0, 0};

        assert(range);
        bigcount_add(&c, iprange_span(&range->r));
        bigcount_add_one(&c);
        return c;
}

struct bigcount range_available(const struct ipam_range *range)
{
        struct bigcount taken = {range->taken, 0};

        return bigcount_minus(range_total(range), taken);
}

size_t range_n_intervals(const struct ipam_range *range)
{
        assert(range);
        return (size_t)g_tree_nnodes(range->free);
}

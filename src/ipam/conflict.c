/* Conflict settlement; see conflict.h. A pool's ranges are sorted by
 * (family, from, to) (pool_apply), so the first overlap within a pool or
 * between two pools is found in one walk, linear in their ranges: a pool
 * may have 10,000 blocks (the pairwise check took 0.3 s per settlement). */
#include "conflict.h"

#include "lib/util.h"

/* The first overlap in the order of a nested loop over a's ranges, then b's
 * (within one pool: b's ranges after a's), without the nested loop.
 *   Within one pool: if ranges[i] overlaps any later range, it overlaps
 * ranges[i + 1] (same family, from between theirs), which is then the first.
 *   Between two pools: the first of b's ranges that can overlap a[i] is the
 * first of its family with to >= a[i].from; it overlaps a[i] iff its from
 * <= a[i].to (the later ones start no earlier). As a[i].from grows, that
 * index only moves forward. */
static bool first_overlap(const struct ipam_pool *a, const struct ipam_pool *b,
                          const struct ipam_range **ret_a, const struct ipam_range **ret_b)
{
        const struct ipam_range *x = NULL, *y = NULL;

        if (a == b) {
                for (guint i = 0; i + 1 < a->ranges->len && !x; i++)
                        if (iprange_overlaps(
                                &((const struct ipam_range *)a->ranges->pdata[i])->r,
                                &((const struct ipam_range *)a->ranges->pdata[i + 1])->r)) {
                                x = a->ranges->pdata[i];
                                y = a->ranges->pdata[i + 1];
                        }
        } else {
                guint j = 0;

                for (guint i = 0; i < a->ranges->len && !x; i++) {
                        const struct iprange *r =
                            &((const struct ipam_range *)a->ranges->pdata[i])->r;
                        const struct iprange *q = NULL;

                        for (; j < b->ranges->len; j++) {
                                q = &((const struct ipam_range *)b->ranges->pdata[j])->r;
                                if (q->family > r->family ||
                                    (q->family == r->family && q->to >= r->from))
                                        break;
                        }
                        if (j == b->ranges->len)
                                break;
                        if (iprange_overlaps(r, q)) {
                                x = a->ranges->pdata[i];
                                y = b->ranges->pdata[j];
                        }
                }
        }
        if (!x)
                return false;
        if (ret_a)
                *ret_a = x;
        if (ret_b)
                *ret_b = y;
        return true;
}

static void mark(struct ipam_pool *p, const struct ipam_range *mine,
                 const struct ipam_range *theirs, const struct ipam_pool *other)
{
        char a[2 * IPADDR_STRLEN + 4], b[2 * IPADDR_STRLEN + 4];

        p->conflicting = true;
        g_free(p->conflict_message);
        p->conflict_message =
            g_strdup_printf("Pool conflicts since range '%s' overlaps range '%s' from IP Pool '%s'",
                            iprange_format(&mine->r, a, sizeof(a)),
                            iprange_format(&theirs->r, b, sizeof(b)), other->name);
}

static void unmark(struct ipam_pool *p)
{
        p->conflicting = false;
        g_free(p->conflict_message);
        p->conflict_message = NULL;
}

static gint age_cmp(gconstpointer a, gconstpointer b)
{
        return pool_cmp_age(*(struct ipam_pool *const *)a, *(struct ipam_pool *const *)b);
}

/* Unmarks, oldest first, the marked pools that overlap no unmarked pool any
 * more. Returns whether anything changed. */
static bool unmark_pass(GPtrArray *byage)
{
        bool changed = false;

        for (guint i = 0; i < byage->len; i++) {
                struct ipam_pool *p = byage->pdata[i];
                bool still;

                if (!p->conflicting)
                        continue;
                still = first_overlap(p, p, NULL, NULL);
                for (guint j = 0; j < byage->len && !still; j++) {
                        struct ipam_pool *q = byage->pdata[j];

                        still = q != p && !q->conflicting && first_overlap(p, q, NULL, NULL);
                }
                if (!still) {
                        unmark(p);
                        changed = true;
                }
        }
        return changed;
}

/* Marks, oldest first, internal overlaps and the younger of two unmarked
 * overlapping pools. */
static bool mark_pass(GPtrArray *byage)
{
        bool changed = false;

        for (guint i = 0; i < byage->len; i++) {
                struct ipam_pool *p = byage->pdata[i];
                const struct ipam_range *a, *b;

                if (p->conflicting)
                        continue;
                if (first_overlap(p, p, &a, &b)) {
                        mark(p, a, b, p);
                        changed = true;
                        continue;
                }
                for (guint j = 0; j < byage->len; j++) {
                        struct ipam_pool *q = byage->pdata[j];

                        if (q == p || q->conflicting || !first_overlap(p, q, &a, &b))
                                continue;
                        changed = true;
                        if (j < i) {
                                mark(p, a, b, q);
                                break;
                        }
                        mark(q, b, a, p);
                }
        }
        return changed;
}

void conflicts_settle(GPtrArray *pools)
{
        g_autoptr(GPtrArray) byage = g_ptr_array_copy(pools, NULL, NULL);

        assert(pools);
        g_ptr_array_sort(byage, age_cmp);
        /* a fixed point, so the result does not depend on how we got here
         * (a mark can free another pool: unmark again) */
        for (guint round = 0, changed = true; changed && round <= byage->len + 1; round++) {
                changed = unmark_pass(byage);
                changed = mark_pass(byage) || changed;
        }
}

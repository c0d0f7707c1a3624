/* Conflict settlement; see conflict.h. Pairwise range checks: pools have a
 * handful of blocks and clusters a handful of pools, so O(ranges²) over a
 * few hundred ranges is a few microseconds. */
#include "conflict.h"

#include "lib/util.h"

static bool first_overlap(const struct ipam_pool *a, const struct ipam_pool *b,
                          const struct ipam_range **ret_a, const struct ipam_range **ret_b)
{
        for (guint i = 0; i < a->ranges->len; i++)
                for (guint j = 0; j < b->ranges->len; j++) {
                        const struct ipam_range *x = a->ranges->pdata[i], *y = b->ranges->pdata[j];

                        if (a == b && j <= i)
                                continue;
                        if (iprange_overlaps(&x->r, &y->r)) {
                                if (ret_a)
                                        *ret_a = x;
                                if (ret_b)
                                        *ret_b = y;
                                return true;
                        }
                }
        return false;
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

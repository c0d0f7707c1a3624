/* Union-find over services, joined by equal addresses (see groups.h). */
#include "groups.h"

#include "lib/util.h"

struct pair {
        struct ipaddr ip;
        size_t svc;
};

static int pair_cmp(const void *a, const void *b)
{
        const struct pair *x = a, *y = b;
        int c = ipaddr_cmp(&x->ip, &y->ip);

        if (c)
                return c;
        return x->svc < y->svc ? -1 : x->svc > y->svc;
}

static size_t find(size_t *parent, size_t i)
{
        while (parent[i] != i) {
                parent[i] = parent[parent[i]];
                i = parent[i];
        }
        return i;
}

/* Union by lowest index, so the root of a component is its canonical member. */
static void unite(size_t *parent, size_t a, size_t b)
{
        a = find(parent, a);
        b = find(parent, b);
        if (a < b)
                parent[b] = a;
        else if (b < a)
                parent[a] = b;
}

size_t groups_build(const struct announce_ip_list *const *sets, size_t n, size_t *group)
{
        _cleanup_free_ size_t *parent = NULL, *number = NULL;
        _cleanup_free_ struct pair *pairs = NULL;
        size_t n_pairs = 0, k = 0, n_groups = 0;

        assert(sets || n == 0);
        assert(group || n == 0);
        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                n_pairs += sets[i]->n;
        parent = xnew(size_t, n);
        number = xnew(size_t, n);
        pairs = xnew(struct pair, n_pairs);
        for (size_t i = 0; i < n; i++) {
                parent[i] = i;
                for (size_t j = 0; j < sets[i]->n; j++)
                        pairs[k++] = (struct pair){sets[i]->items[j], i};
        }
        qsort_safe(pairs, n_pairs, sizeof(*pairs), pair_cmp);
        for (size_t i = 1; i < n_pairs; i++)
                if (ipaddr_equal(&pairs[i].ip, &pairs[i - 1].ip))
                        unite(parent, pairs[i].svc, pairs[i - 1].svc);
        /* Roots are the lowest members: numbering roots in index order
         * numbers groups in order of their canonical service. */
        for (size_t i = 0; i < n; i++) {
                size_t r = find(parent, i);

                if (r == i)
                        number[i] = n_groups++;
                group[i] = number[r];
        }
        return n_groups;
}

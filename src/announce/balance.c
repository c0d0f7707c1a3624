/* Fair share and per-node ordering (see balance.h). */
#include "balance.h"

#include <math.h>

#include "lib/util.h"

size_t balance_others(const struct model *m, size_t g, GHashTable *dead, const char *released)
{
        const struct model_group *gr;
        size_t n = 0;

        assert(m);
        assert(g < m->n_groups);
        gr = &m->groups[g];
        for (size_t i = 0; i < gr->n_candidates; i++) {
                const char *name = m->nodes[gr->candidates[i]]->name;

                if ((!dead || !g_hash_table_contains(dead, name)) && !streq_ptr(name, released))
                        n++;
        }
        return n;
}

size_t balance_share(const struct model *m, GHashTable *dead, const char *const *released)
{
        double sum = 0;

        assert(m);
        for (size_t g = 0; g < m->n_groups; g++)
                if (m->groups[g].self_candidate)
                        sum += 1.0 / (double)(1 + balance_others(m, g, dead,
                                                                 released ? released[g] : NULL));
        /* Guard against 49.999999 + rounding turning an exact share into +1. */
        return (size_t)ceil(sum - 1e-9);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
        for (; *s; s++) {
                h ^= (uint8_t)*s;
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

uint64_t balance_order(const char *node, const char *lease)
{
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        assert(node);
        assert(lease);
        h = fnv1a(h, node);
        h = fnv1a(h, "\n");
        h = fnv1a(h, lease);
        /* MurmurHash3's finaliser: FNV alone mixes the last bytes poorly, and
         * lease names often differ only there. */
        h ^= h >> 33;
        h *= UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 33;
        h *= UINT64_C(0xc4ceb9fe1a85ec53);
        h ^= h >> 33;
        return h;
}

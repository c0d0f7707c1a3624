/* Scheduling of gratuitous ARP / unsolicited NA series (see garp.h). */
#include "garp.h"

#include "lib/util.h"

struct garp_state {
        struct garp_key key;
        unsigned sent;
        uint64_t next;
        bool seen; /* in the current set (mark and sweep) */
};

static guint key_hash(gconstpointer p)
{
        const struct garp_key *k = p;
        uint64_t lo = (uint64_t)k->ip.v, hi = (uint64_t)(k->ip.v >> 64);

        return (guint)(lo ^ (lo >> 32) ^ hi ^ (hi >> 32) ^ (uint64_t)k->ifindex * 2654435761u ^
                       k->ip.family);
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
        const struct garp_key *x = a, *y = b;

        return x->ifindex == y->ifindex && ipaddr_equal(&x->ip, &y->ip);
}

void garp_table_init(struct garp_table *g)
{
        assert(g);
        g->t = g_hash_table_new_full(key_hash, key_equal, NULL, free);
}

void garp_table_done(struct garp_table *g)
{
        if (g && g->t)
                g_hash_table_unref(g->t);
        if (g)
                g->t = NULL;
}

static struct garp_state *garp_get(struct garp_table *g, const struct garp_key *k, uint64_t now)
{
        struct garp_state *st = g_hash_table_lookup(g->t, k);

        if (st)
                return st;
        st = xnew(struct garp_state, 1);
        st->key = *k;
        st->next = now;
        g_hash_table_insert(g->t, &st->key, st);
        return st;
}

void garp_table_quiet(struct garp_table *g, const struct garp_key *k)
{
        assert(g);
        assert(k);
        garp_get(g, k, 0)->sent = GARP_COUNT;
}

void garp_table_restart(struct garp_table *g, int ifindex)
{
        GHashTableIter it;
        gpointer v;

        assert(g);
        g_hash_table_iter_init(&it, g->t);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct garp_state *st = v;

                if (st->key.ifindex != ifindex)
                        continue;
                st->sent = 0;
                st->next = 0;
        }
}

void garp_table_update(struct garp_table *g, const struct garp_key *current, size_t n, uint64_t now,
                       struct garp_key **due, size_t *n_due, uint64_t *next_wakeup)
{
        GHashTableIter it;
        gpointer v;

        assert(g);
        assert(current || n == 0);
        assert(due);
        assert(n_due);
        assert(next_wakeup);
        g_hash_table_iter_init(&it, g->t);
        while (g_hash_table_iter_next(&it, NULL, &v))
                ((struct garp_state *)v)->seen = false;
        for (size_t i = 0; i < n; i++) {
                struct garp_state *st = garp_get(g, &current[i], now);

                st->seen = true;
                if (st->sent >= GARP_COUNT)
                        continue;
                if (st->next <= now) {
                        *due = xreallocarray(*due, *n_due + 1, sizeof(**due));
                        (*due)[(*n_due)++] = st->key;
                        st->sent++;
                        /* From now, not from the missed time: no bursts after a late run. */
                        st->next = now + GARP_INTERVAL;
                }
                if (st->sent < GARP_COUNT && st->next < *next_wakeup)
                        *next_wakeup = st->next;
        }
        g_hash_table_iter_init(&it, g->t);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (!((struct garp_state *)v)->seen)
                        g_hash_table_iter_remove(&it);
}

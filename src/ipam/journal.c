/* The LB-IPAM core's journal: what an operation changed, and what it leaves
 * for the shell.
 *
 * What it records. Every public input (ipam.c) is one operation. An object
 * changed during an operation is "touched" on its first change: a service
 * remembers what it held and its condition before (at the restart: what the
 * API shows), and why it let go of each address it released; a pool
 * remembers its conflict mark. At the end of the operation (journal_end) the
 * journal compares before and after: the difference gives the Events (IP
 * allocated, released with why, request unsatisfied, pool marked or
 * resolved), and an object whose desired status differs from what the API
 * showed last goes into the dirty set (and leaves it once they agree
 * again). Then the touched marks are cleared.
 *
 * Who writes it: allocate.c and reconcile.c touch services and pools before
 * changing them and record releases; ipam.c touches what its inputs change,
 * queues the input's own Events, and ends the operation.
 *
 * Who reads it: the shell, through ipam_take_dirty() (services and pools
 * whose status to write) and ipam_event_pop() (Events to publish);
 * reconcile.c, which adopts released addresses back (a block replaced, a
 * pool deleted) and explains the ingress IPs a restart drops. */
#include "internal.h"

#include <stdarg.h>

#include "lib/util.h"

void journal_init(struct ipam_journal *j)
{
        assert(j);
        j->touched_services = g_ptr_array_new();
        j->touched_pools = g_ptr_array_new();
        /* keys are the objects' own key/name strings (forgotten before they go) */
        j->dirty_services = g_hash_table_new(g_str_hash, g_str_equal);
        j->dirty_pools = g_hash_table_new(g_str_hash, g_str_equal);
        j->events = g_queue_new();
}

static void event_free(struct ipam_event *e)
{
        ipam_event_done(e);
        g_free(e);
}

void journal_done(struct ipam_journal *j)
{
        assert(j);
        g_ptr_array_free(j->touched_services, TRUE);
        g_ptr_array_free(j->touched_pools, TRUE);
        g_hash_table_destroy(j->dirty_services);
        g_hash_table_destroy(j->dirty_pools);
        g_queue_free_full(j->events, (GDestroyNotify)event_free);
}

/* ---- touching ---- */

void journal_touch_service(struct ipam *ipam, struct ipam_svc *svc)
{
        assert(ipam);
        assert(svc);
        if (!ipam->active || svc->touched)
                return;
        svc->touched = true;
        svc->n_before = svc->allocs->len;
        svc->before = svc->n_before <= ELEMENTSOF(svc->before_inline)
                          ? svc->before_inline
                          : g_new(struct ipaddr, svc->n_before);
        for (guint i = 0; i < svc->allocs->len; i++)
                svc->before[i] = ((struct ipam_alloc *)svc->allocs->pdata[i])->ip;
        svc->before_evaluated = svc->evaluated;
        svc->before_satisfied = svc->satisfied;
        svc->before_reason = g_strdup(svc->reason);
        svc->before_message = g_strdup(svc->message);
        g_ptr_array_add(ipam->journal.touched_services, svc);
}

void journal_touch_service_observed(struct ipam *ipam, struct ipam_svc *svc)
{
        assert(!svc->touched);
        journal_touch_service(ipam, svc);
        if (svc->before != svc->before_inline)
                g_free(svc->before);
        svc->n_before = svc->n_ingress;
        svc->before = g_memdup2(svc->ingress, sizeof(struct ipaddr) * svc->n_ingress);
        svc->before_evaluated = svc->observed.present;
        svc->before_satisfied = streq_ptr(svc->observed.status, "True");
        g_free(svc->before_reason);
        svc->before_reason = g_strdup(svc->observed.reason);
        g_free(svc->before_message);
        svc->before_message = g_strdup(svc->observed.message);
}

void journal_touch_pool(struct ipam *ipam, struct ipam_pool *pool)
{
        assert(ipam);
        assert(pool);
        if (!ipam->active || pool->touched)
                return;
        pool->touched = true;
        pool->was_conflicting = pool->conflicting;
        g_ptr_array_add(ipam->journal.touched_pools, pool);
}

void journal_record_released(struct ipam_svc *svc, const struct ipaddr *ip, const char *why)
{
        struct released_ip r = {.ip = *ip, .why = g_strdup(why)};

        assert(svc);
        if (!svc->released)
                svc->released = g_array_new(FALSE, FALSE, sizeof(struct released_ip));
        g_array_append_val(svc->released, r);
}

bool journal_released_has(const struct ipam_svc *svc, const struct ipaddr *ip)
{
        assert(svc);
        for (guint i = 0; svc->released && i < svc->released->len; i++)
                if (ipaddr_equal(&g_array_index(svc->released, struct released_ip, i).ip, ip))
                        return true;
        return false;
}

void journal_service_clear(struct ipam_svc *svc)
{
        assert(svc);
        svc->touched = false;
        if (svc->before != svc->before_inline)
                g_free(svc->before);
        svc->before = NULL;
        svc->n_before = 0;
        g_free(svc->before_reason);
        svc->before_reason = NULL;
        g_free(svc->before_message);
        svc->before_message = NULL;
        if (svc->released) {
                for (guint i = 0; i < svc->released->len; i++)
                        g_free(g_array_index(svc->released, struct released_ip, i).why);
                g_array_free(svc->released, TRUE);
                svc->released = NULL;
        }
}

void journal_forget_service(struct ipam *ipam, struct ipam_svc *svc)
{
        assert(ipam);
        assert(svc);
        g_hash_table_remove(ipam->journal.dirty_services, svc->key);
        g_ptr_array_remove(ipam->journal.touched_services, svc);
}

void journal_forget_pool(struct ipam *ipam, struct ipam_pool *pool)
{
        assert(ipam);
        assert(pool);
        g_hash_table_remove(ipam->journal.dirty_pools, pool->name);
        g_ptr_array_remove(ipam->journal.touched_pools, pool);
}

/* ---- events ---- */

void journal_event(struct ipam *ipam, bool pool, const char *namespace, const char *name,
                   bool warning, const char *reason, const char *fmt, ...)
{
        struct ipam_event *e = g_new0(struct ipam_event, 1);
        va_list ap;

        assert(ipam);
        e->pool = pool;
        e->namespace = pool ? NULL : g_strdup(namespace);
        e->name = g_strdup(name);
        e->warning = warning;
        e->reason = g_strdup(reason);
        va_start(ap, fmt);
        e->message = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        g_queue_push_tail(ipam->journal.events, e);
}

bool ipam_event_pop(struct ipam *ipam, struct ipam_event *ret)
{
        struct ipam_event *e;

        assert(ipam);
        assert(ret);
        e = g_queue_pop_head(ipam->journal.events);
        if (!e)
                return false;
        *ret = *e;
        g_free(e);
        return true;
}

void ipam_event_done(struct ipam_event *e)
{
        if (!e)
                return;
        g_free(e->namespace);
        g_free(e->name);
        g_free(e->reason);
        g_free(e->message);
        memset(e, 0, sizeof(*e));
}

/* ---- the end of an operation ---- */

static const char *released_why(const struct ipam_svc *svc, const struct ipaddr *ip)
{
        for (guint i = svc->released ? svc->released->len : 0; i > 0; i--) {
                const struct released_ip *r =
                    &g_array_index(svc->released, struct released_ip, i - 1);

                if (ipaddr_equal(&r->ip, ip))
                        return r->why;
        }
        return "released";
}

static bool was_held(const struct ipam_svc *svc, const struct ipaddr *ip)
{
        for (size_t i = 0; i < svc->n_before; i++)
                if (ipaddr_equal(&svc->before[i], ip))
                        return true;
        return false;
}

static void service_events(struct ipam *ipam, struct ipam_svc *svc)
{
        char buf[IPADDR_STRLEN];

        for (size_t i = 0; i < svc->n_before; i++) {
                if (svc_holds(svc, &svc->before[i]) ||
                    (i > 0 && ipaddr_equal(&svc->before[i - 1], &svc->before[i])))
                        continue;
                journal_event(ipam, false, svc->namespace, svc->name, false, "IPReleased",
                              "Released IP %s: %s", ipaddr_format(&svc->before[i], buf),
                              released_why(svc, &svc->before[i]));
        }
        for (guint i = 0; i < svc->allocs->len; i++) {
                const struct ipam_alloc *a = svc->allocs->pdata[i];
                const struct ipam_svc *other = a->members->pdata[0];

                if (was_held(svc, &a->ip))
                        continue;
                ipaddr_format(&a->ip, buf);
                if (other == svc)
                        journal_event(ipam, false, svc->namespace, svc->name, false, "IPAllocated",
                                      "Allocated IP %s from pool '%s'", buf, a->origin->pool->name);
                else
                        journal_event(ipam, false, svc->namespace, svc->name, false, "IPAllocated",
                                      "Allocated IP %s from pool '%s', shared with %s "
                                      "(sharing key '%s')",
                                      buf, a->origin->pool->name, other->key,
                                      strempty(svc->req.sharing_key));
        }
        if (svc->managed && svc->evaluated && !svc->satisfied &&
            (!svc->before_evaluated || svc->before_satisfied ||
             !streq_ptr(svc->before_reason, svc->reason) ||
             !streq_ptr(strempty(svc->before_message), strempty(svc->message))))
                journal_event(ipam, false, svc->namespace, svc->name, true,
                              "IPAMRequestUnsatisfied", "%s: %s", svc->reason, svc->message);
}

static void mark_dirty(GHashTable *set, char *key, bool dirty)
{
        if (dirty)
                g_hash_table_add(set, key);
        else
                g_hash_table_remove(set, key);
}

void journal_end(struct ipam *ipam)
{
        struct ipam_journal *j = &ipam->journal;

        for (guint i = 0; i < j->touched_services->len; i++) {
                struct ipam_svc *svc = j->touched_services->pdata[i];

                service_events(ipam, svc);
                mark_dirty(j->dirty_services, svc->key, !svc_in_sync(ipam, svc));
                journal_service_clear(svc);
        }
        g_ptr_array_set_size(j->touched_services, 0);
        for (guint i = 0; i < j->touched_pools->len; i++) {
                struct ipam_pool *p = j->touched_pools->pdata[i];

                if (p->conflicting && !p->was_conflicting)
                        journal_event(ipam, true, NULL, p->name, true, "PoolConflict", "%s",
                                      p->conflict_message);
                else if (!p->conflicting && p->was_conflicting)
                        journal_event(ipam, true, NULL, p->name, false, "PoolConflictResolved",
                                      "The pool no longer overlaps another pool");
                mark_dirty(j->dirty_pools, p->name, !pool_in_sync(p));
                p->touched = false;
        }
        g_ptr_array_set_size(j->touched_pools, 0);
}

/* ---- the dirty sets ---- */

void journal_mark_service(struct ipam *ipam, struct ipam_svc *svc)
{
        assert(ipam);
        assert(svc);
        if (ipam->active)
                g_hash_table_add(ipam->journal.dirty_services, svc->key);
}

void journal_mark_pool(struct ipam *ipam, struct ipam_pool *pool)
{
        assert(ipam);
        assert(pool);
        if (ipam->active)
                g_hash_table_add(ipam->journal.dirty_pools, pool->name);
}

static int ref_cmp(const void *a, const void *b)
{
        const struct ipam_ref *x = a, *y = b;
        int c = strcmp(x->namespace, y->namespace);

        return c ? c : strcmp(x->name, y->name);
}

static int str_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

void ipam_take_dirty(struct ipam *ipam, struct ipam_dirty *ret)
{
        struct ipam_journal *j;
        GHashTableIter it;
        gpointer k;
        size_t n = 0;

        assert(ipam);
        assert(ret);
        j = &ipam->journal;
        memset(ret, 0, sizeof(*ret));
        ret->services = g_new0(struct ipam_ref, g_hash_table_size(j->dirty_services) + 1);
        g_hash_table_iter_init(&it, j->dirty_services);
        while (g_hash_table_iter_next(&it, &k, NULL)) {
                const struct ipam_svc *svc = g_hash_table_lookup(ipam->services, k);

                if (!svc)
                        continue;
                ret->services[n].namespace = g_strdup(svc->namespace);
                ret->services[n].name = g_strdup(svc->name);
                n++;
        }
        ret->n_services = n;
        qsort_safe(ret->services, n, sizeof(*ret->services), ref_cmp);
        n = 0;
        ret->pools = g_new0(char *, g_hash_table_size(j->dirty_pools) + 1);
        g_hash_table_iter_init(&it, j->dirty_pools);
        while (g_hash_table_iter_next(&it, &k, NULL))
                ret->pools[n++] = g_strdup(k);
        ret->n_pools = n;
        qsort_safe(ret->pools, n, sizeof(char *), str_cmp);
        g_hash_table_remove_all(j->dirty_services);
        g_hash_table_remove_all(j->dirty_pools);
}

void ipam_dirty_done(struct ipam_dirty *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n_services; i++) {
                g_free(d->services[i].namespace);
                g_free(d->services[i].name);
        }
        g_free(d->services);
        for (size_t i = 0; i < d->n_pools; i++)
                g_free(d->pools[i]);
        g_free(d->pools);
        memset(d, 0, sizeof(*d));
}

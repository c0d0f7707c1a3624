/* What a service should hold, in three steps:
 *
 *   strip    drop allocations no longer valid: no pool containing the
 *            address selects the service any more, the service no longer
 *            fits its sharing group, the address is no longer requested, its
 *            family is no longer wanted (or a second one of a family).
 *            Disabled and marked pools keep their allocations (drain).
 *   adopt    keep addresses the service already shows (its status ingress)
 *            or held a moment ago (a block was replaced, a pool deleted):
 *            when a pool selecting the service contains one — usable pools
 *            first, then disabled or marked ones, which keep existing
 *            allocations — and it is free, or held by a group the service
 *            may join, and it matches the request. This is the restart
 *            import, and what keeps IPs stable across pool edits. Strip and
 *            adopt apply the same validity rule, which depends only on the
 *            current objects: what a running core keeps, a restarted one
 *            adopts.
 *   satisfy  grant requested IPs, or allocate one address per wanted
 *            family (allocate.c), then compute the condition.
 *
 * Unsatisfied services are retried, oldest first (creationTimestamp,
 * namespace, name), whenever an address was released or a pool changed —
 * all of them adopt before any of them allocates, so a freshly released
 * address goes back to whoever showed it, not to whoever came first. Those
 * with a sharing key ("waiting") are also retried whenever a sharing group
 * changes, since joining one (and the reason they cannot) depends on its
 * members. */
#include "internal.h"

#include <stdio.h>

#include "lib/util.h"

#define MSG_NO_POOL "There are no enabled CiliumLoadBalancerIPPools that match this service"
#define MSG_OUT_OF_IPS                                                                             \
        "All enabled CiliumLoadBalancerIPPools that match this service ran out of allocatable IPs"

void svc_release_all(struct ipam *ipam, struct ipam_svc *svc, const char *why)
{
        while (svc->allocs->len > 0)
                alloc_leave(ipam, svc->allocs->pdata[svc->allocs->len - 1], svc, why);
}

/* Whether a pool that contains the address selects the service: the
 * allocation's own pool, or any other (a block moved between pools, pools
 * overlapping). Independent of history, so a restart agrees with it. */
static bool selected_for(const struct ipam *ipam, const struct ipam_alloc *a,
                         const struct ipam_svc *svc)
{
        return pool_selects(a->origin->pool, &svc->labels) ||
               alloc_range_for_adoption(ipam, svc, &a->ip) != NULL;
}

void svc_strip(struct ipam *ipam, struct ipam_svc *svc)
{
        bool have4 = false, have6 = false;

        for (guint i = 0; i < svc->allocs->len;) {
                struct ipam_alloc *a = svc->allocs->pdata[i];
                const struct ipam_pool *p = a->origin->pool;
                bool *have = a->ip.family == AF_INET ? &have4 : &have6;
                g_autofree char *why = NULL;
                const char *bad;

                if (svc->req.refusal)
                        why = g_strdup("the service requests too many IPs");
                else if (!selected_for(ipam, a, svc))
                        why = g_strdup_printf("pool '%s' no longer selects the service", p->name);
                else if ((bad = alloc_incompatible(a, svc)))
                        why = g_strdup_printf("the service no longer fits its sharing group: %s",
                                              bad);
                else if (svc->req.n_ips > 0) {
                        if (!svc_request_has_ip(&svc->req, &a->ip))
                                why = g_strdup("the IP is no longer requested");
                } else if (!svc_request_wants_family(&svc->req, a->ip.family))
                        why = g_strdup("its IP family is no longer requested");
                else if (*have)
                        why = g_strdup("the service already has an IP of this family");
                if (!why) {
                        if (svc->req.n_ips == 0)
                                *have = true;
                        i++;
                        continue;
                }
                alloc_leave(ipam, a, svc, why);
        }
}

/* Why svc cannot keep ip, or NULL once it holds it. */
static char *adopt_one(struct ipam *ipam, struct ipam_svc *svc, const struct ipaddr *ip)
{
        struct ipam_alloc *a;
        struct ipam_range *r;
        const char *bad;

        if (svc_holds(svc, ip))
                return NULL;
        if (svc->req.refusal)
                return g_strdup("the service requests too many IPs");
        if (svc->req.n_ips > 0) {
                if (!svc_request_has_ip(&svc->req, ip))
                        return g_strdup("the IP is not requested by the service");
        } else if (!svc_request_wants_family(&svc->req, ip->family))
                return g_strdup("its IP family is not requested by the service");
        else if (svc_holds_family(svc, ip->family))
                return g_strdup("the service already has an IP of this family");
        a = alloc_lookup(ipam, ip);
        if (a) {
                if (!svc->req.sharing_key)
                        return g_strdup("the IP is held by another service");
                if (!selected_for(ipam, a, svc))
                        return g_strdup("no pool selecting the service contains the IP");
                bad = alloc_incompatible(a, svc);
                if (bad)
                        return g_strdup_printf("the IP is held by an incompatible service: %s",
                                               bad);
                alloc_join(ipam, a, svc);
                return NULL;
        }
        r = alloc_range_for_adoption(ipam, svc, ip);
        if (!r)
                return g_strdup("no pool selecting the service contains the IP");
        alloc_new(ipam, r, ip, svc);
        return NULL;
}

void svc_adopt(struct ipam *ipam, struct ipam_svc *svc)
{
        size_t n_released = svc->released ? svc->released->len : 0;

        for (size_t i = 0; i < svc->n_ingress + n_released; i++) {
                struct ipaddr ip =
                    i < svc->n_ingress
                        ? svc->ingress[i]
                        : g_array_index(svc->released, struct released_ip, i - svc->n_ingress).ip;
                g_autofree char *why = adopt_one(ipam, svc, &ip);

                /* the reason explains a restart dropping an ingress IP
                 * (the restart touches every service first) */
                if (why && i < svc->n_ingress && svc->touched && !journal_released_has(svc, &ip))
                        journal_record_released(svc, &ip, why);
        }
}

struct failure {
        const char *reason;
        char *message;
};

static void fail(struct failure *f, const char *reason, char *message)
{
        if (f->reason) { /* the first failure is reported */
                g_free(message);
                return;
        }
        f->reason = reason;
        f->message = message;
}

static void grant(struct ipam *ipam, struct ipam_svc *svc, const struct ipaddr *ip,
                  struct failure *f)
{
        char buf[IPADDR_STRLEN];
        struct ipam_alloc *a;
        struct ipam_range *r;
        bool unselected;
        const char *bad;

        ipaddr_format(ip, buf);
        r = alloc_range_for_request(ipam, svc, ip, &unselected);
        if (!r) {
                if (unselected)
                        fail(f, "pool_selector_mismatch",
                             g_strdup_printf("The pool with the CIDR containing '%s', doesn't "
                                             "select this service",
                                             buf));
                else
                        fail(f, "no_pool",
                             g_strdup_printf("No pool exists with a CIDR containing '%s'", buf));
                return;
        }
        a = alloc_lookup(ipam, ip);
        if (!a && range_is_free(r, ip->v)) {
                alloc_new(ipam, r, ip, svc);
                return;
        }
        if (!a || !svc->req.sharing_key) {
                /* reserved, or held without a key to share it */
                fail(f, "already_allocated",
                     g_strdup_printf("The IP '%s' is already allocated to another service", buf));
                return;
        }
        bad = alloc_incompatible(a, svc);
        if (bad) {
                fail(f, "already_allocated_incompatible_service",
                     g_strdup_printf("The IP '%s' is already allocated to an incompatible "
                                     "service. Reason: %s",
                                     buf, bad));
                return;
        }
        alloc_join(ipam, a, svc);
}

static void allocate_family(struct ipam *ipam, struct ipam_svc *svc, int family, struct failure *f)
{
        struct ipam_alloc *a = alloc_find_shared(ipam, svc, family);
        struct ipam_range *r;
        struct ipaddr ip = {.family = (uint8_t)family};
        int k;

        if (a) {
                alloc_join(ipam, a, svc);
                return;
        }
        k = alloc_find_free(ipam, svc, family, &r, &ip.v);
        if (k == 0)
                alloc_new(ipam, r, &ip, svc);
        else if (k == -ENOSPC)
                fail(f, "out_of_ips", g_strdup(MSG_OUT_OF_IPS));
        else
                fail(f, "no_pool", g_strdup(MSG_NO_POOL));
}

static bool svc_is_satisfied(const struct ipam_svc *svc)
{
        if (svc->req.n_ips > 0) {
                for (size_t i = 0; i < svc->req.n_ips; i++)
                        if (!svc_holds(svc, &svc->req.ips[i]))
                                return false;
                return true;
        }
        return (!svc->req.want4 || svc_holds_family(svc, AF_INET)) &&
               (!svc->req.want6 || svc_holds_family(svc, AF_INET6));
}

static void set_condition(struct ipam *ipam, struct ipam_svc *svc, bool satisfied,
                          const char *reason, char *message)
{
        if (svc->evaluated && svc->satisfied == satisfied && streq_ptr(svc->reason, reason) &&
            streq_ptr(svc->message, message)) {
                g_free(message);
                return;
        }
        journal_touch_service(ipam, svc);
        svc->evaluated = true;
        svc->satisfied = satisfied;
        svc->reason = reason;
        g_free(svc->message);
        svc->message = message;
}

/* Puts svc into set or takes it out; *member says where it is. */
static void set_member(GTree *set, struct ipam_svc *svc, bool *member, bool want)
{
        if (want == *member)
                return;
        if (want)
                g_tree_insert(set, svc, svc);
        else
                g_tree_remove(set, svc);
        *member = want;
}

void svc_queue_set(struct ipam *ipam, struct ipam_svc *svc, bool unsatisfied)
{
        set_member(ipam->unsatisfied, svc, &svc->queued, unsatisfied);
        set_member(ipam->waiting, svc, &svc->waiting, unsatisfied && svc->req.sharing_key);
}

void svc_unqueue(struct ipam *ipam, struct ipam_svc *svc)
{
        svc_queue_set(ipam, svc, false);
}

void svc_set_unmanaged(struct ipam *ipam, struct ipam_svc *svc, const char *why)
{
        svc_release_all(ipam, svc, why);
        svc_unqueue(ipam, svc);
        if (svc->evaluated)
                journal_touch_service(ipam, svc);
        svc->managed = false;
        svc->evaluated = false;
        svc->reason = NULL;
        g_free(svc->message);
        svc->message = NULL;
}

void svc_satisfy(struct ipam *ipam, struct ipam_svc *svc)
{
        struct failure f = {0};

        assert(svc->managed);
        if (svc->req.refusal) { /* retrying is pointless: not queued */
                set_condition(ipam, svc, false, IPAM_REASON_TOO_MANY_IPS,
                              g_strdup(svc->req.refusal));
                svc_queue_set(ipam, svc, false);
                return;
        }
        if (svc->req.n_ips > 0) {
                for (size_t i = 0; i < svc->req.n_ips; i++)
                        if (!svc_holds(svc, &svc->req.ips[i]))
                                grant(ipam, svc, &svc->req.ips[i], &f);
        } else {
                if (svc->req.want4 && !svc_holds_family(svc, AF_INET))
                        allocate_family(ipam, svc, AF_INET, &f);
                if (svc->req.want6 && !svc_holds_family(svc, AF_INET6))
                        allocate_family(ipam, svc, AF_INET6, &f);
        }
        if (svc_is_satisfied(svc)) {
                g_free(f.message);
                set_condition(ipam, svc, true, "satisfied", NULL);
        } else {
                assert(f.reason);
                set_condition(ipam, svc, false, f.reason, f.message);
        }
        svc_queue_set(ipam, svc, svc->managed && !svc->satisfied);
}

static gboolean collect_cb(gpointer key, gpointer value, gpointer data)
{
        g_ptr_array_add(data, value);
        return FALSE;
}

void reconcile_unsatisfied(struct ipam *ipam)
{
        g_autoptr(GPtrArray) list = g_ptr_array_new();

        ipam->capacity_changed = false;
        g_tree_foreach(ipam->unsatisfied, collect_cb, list);
        for (guint i = 0; i < list->len; i++)
                svc_adopt(ipam, list->pdata[i]);
        for (guint i = 0; i < list->len; i++)
                svc_satisfy(ipam, list->pdata[i]);
        reconcile_waiting(ipam);
}

void reconcile_waiting(struct ipam *ipam)
{
        /* joins only add members, so this ends; usually after one round */
        while (ipam->groups_changed && g_tree_nnodes(ipam->waiting) > 0) {
                g_autoptr(GPtrArray) list = g_ptr_array_new();

                ipam->groups_changed = false;
                g_tree_foreach(ipam->waiting, collect_cb, list);
                for (guint i = 0; i < list->len; i++)
                        svc_satisfy(ipam, list->pdata[i]);
        }
}

void reconcile_all(struct ipam *ipam)
{
        g_autoptr(GPtrArray) list = g_ptr_array_new();

        g_tree_foreach(ipam->by_age, collect_cb, list);
        for (guint i = 0; i < list->len; i++) {
                struct ipam_svc *svc = list->pdata[i];

                if (!svc->managed)
                        continue;
                svc_strip(ipam, svc);
                if (!svc->queued && !svc_is_satisfied(svc))
                        /* satisfied below, after every service has adopted */
                        svc_queue_set(ipam, svc, true);
        }
        reconcile_unsatisfied(ipam);
}

void reconcile_start(struct ipam *ipam)
{
        g_autoptr(GPtrArray) list = g_ptr_array_new();

        g_tree_foreach(ipam->by_age, collect_cb, list);
        /* services the API shows satisfied first, then the others */
        for (int pass = 0; pass < 2; pass++)
                for (guint i = 0; i < list->len; i++) {
                        struct ipam_svc *svc = list->pdata[i];

                        if (svc->managed && svc->observed_satisfied_true == (pass == 0))
                                svc_adopt(ipam, svc);
                }
        for (guint i = 0; i < list->len; i++) {
                struct ipam_svc *svc = list->pdata[i];

                if (svc->managed)
                        svc_satisfy(ipam, svc);
        }
        if (ipam->capacity_changed)
                reconcile_unsatisfied(ipam);
        reconcile_waiting(ipam);
}

/* Building the selection model (see model.h). */
#include "model.h"

#include "groups.h"
#include "lib/util.h"
#include "policy.h"

const char *local_status_to_string(enum local_status s)
{
        switch (s) {
        case LOCAL_CANDIDATE:
                return "candidate";
        case LOCAL_NODE_UNKNOWN:
                return "node not known yet";
        case LOCAL_CORDONED:
                return "node cordoned";
        case LOCAL_EXCLUDED:
                return "node excluded from external load balancers";
        case LOCAL_NOT_SELECTED:
                return "no policy selects the service on this node";
        case LOCAL_LINKS_DOWN:
                return "every announcing interface is down";
        case LOCAL_NO_ENDPOINT:
                return "no ready local endpoint (externalTrafficPolicy Local)";
        }
        return "unknown";
}

void model_done(struct model *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n_svcs; i++) {
                announce_ip_list_done(&m->svcs[i].ips);
                free(m->svcs[i].entries);
                free(m->svcs[i].candidates);
        }
        free(m->svcs);
        for (size_t i = 0; i < m->n_groups; i++) {
                free(m->groups[i].members);
                free(m->groups[i].candidates);
        }
        free(m->groups);
        free(m->nodes);
        free(m->owners);
        if (m->by_lease)
                g_hash_table_unref(m->by_lease);
        *m = (struct model){0};
}

static int service_order(const void *a, const void *b)
{
        const struct announce_svc *x = *(const struct announce_svc *const *)a;
        const struct announce_svc *y = *(const struct announce_svc *const *)b;
        int c = strcmp(x->namespace, y->namespace);

        return c ? c : strcmp(x->name, y->name);
}

static int node_order(const void *a, const void *b)
{
        const struct node_info *x = *(const struct node_info *const *)a;
        const struct node_info *y = *(const struct node_info *const *)b;

        return strcmp(x->name, y->name);
}

static int owner_order(const void *a, const void *b)
{
        const struct ip_owner *x = a, *y = b;
        int c = ipaddr_cmp(&x->ip, &y->ip);

        if (c)
                return c;
        return x->svc < y->svc ? -1 : x->svc > y->svc;
}

/* Values of a hash table as an array (borrowed pointers). */
static void **table_values(GHashTable *t, size_t *ret_n)
{
        GHashTableIter it;
        gpointer v;
        void **a = xnew(void *, g_hash_table_size(t));
        size_t n = 0;

        g_hash_table_iter_init(&it, t);
        while (g_hash_table_iter_next(&it, NULL, &v))
                a[n++] = v;
        *ret_n = n;
        return a;
}

/* Set of "svc_key\nnode" for every ready endpoint. */
/* Adds "<svc_key>\n<node>" to set for each of nodes (NULL-terminated). */
static void add_endpoint_nodes(GHashTable *set, const char *svc_key, char **nodes)
{
        for (size_t i = 0; nodes && nodes[i]; i++)
                g_hash_table_add(set, xasprintf("%s\n%s", svc_key, nodes[i]));
}

static GHashTable *ready_endpoints(GHashTable *slices)
{
        GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        GHashTable *with_ready = g_hash_table_new(g_str_hash, g_str_equal);
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, slices);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                const struct slice_info *s = v;

                if (!s->svc_key)
                        continue;
                add_endpoint_nodes(set, s->svc_key, s->ready_nodes);
                if (s->ready_nodes && s->ready_nodes[0])
                        g_hash_table_add(with_ready, s->svc_key);
        }
        /* A service with no ready endpoint anywhere falls back to those
         * terminating but still serving, as kube-proxy does for
         * externalTrafficPolicy Local (KEP-1669): during a rollout that
         * leaves no ready pod for a while, the nodes that still serve keep
         * the address. */
        g_hash_table_iter_init(&it, slices);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                const struct slice_info *s = v;

                if (!s->svc_key || g_hash_table_contains(with_ready, s->svc_key))
                        continue;
                add_endpoint_nodes(set, s->svc_key, s->serving_nodes);
        }
        g_hash_table_unref(with_ready);
        return set;
}

static bool has_endpoint(GHashTable *ready, const struct announce_svc *s, const char *node)
{
        _cleanup_free_ char *k = xasprintf("%s\n%s", s->key, node);

        return g_hash_table_contains(ready, k);
}

static void add_entry(struct model_svc *m, const struct ipaddr *ip, const struct device_info *d)
{
        for (size_t i = 0; i < m->n_entries; i++)
                if (m->entries[i].ifindex == d->ifindex && ipaddr_equal(&m->entries[i].ip, ip))
                        return;
        m->entries = xreallocarray(m->entries, m->n_entries + 1, sizeof(*m->entries));
        m->entries[m->n_entries++] = (struct local_entry){*ip, d->ifindex, d->up};
}

static int entry_order(const void *a, const void *b)
{
        const struct local_entry *x = a, *y = b;
        int c = ipaddr_cmp(&x->ip, &y->ip);

        if (c)
                return c;
        return x->ifindex < y->ifindex ? -1 : x->ifindex > y->ifindex;
}

/* This node's entries for one policy and one service. */
static void local_entries(struct model_svc *m, const struct l2pol *p,
                          const struct announce_ip_list *ips, const struct device_info *const *devs,
                          size_t n_devs)
{
        for (size_t d = 0; d < n_devs; d++) {
                if (!l2pol_matches_device(p, devs[d]->name))
                        continue;
                for (size_t i = 0; i < ips->n; i++)
                        add_entry(m, &ips->items[i], devs[d]);
        }
}

static enum local_status local_status(const struct model_svc *m, const struct node_info *self,
                                      GHashTable *ready)
{
        bool up = false;

        if (!self)
                return LOCAL_NODE_UNKNOWN;
        if (self->unschedulable)
                return LOCAL_CORDONED;
        if (self->excluded)
                return LOCAL_EXCLUDED;
        if (m->n_entries == 0)
                return LOCAL_NOT_SELECTED;
        for (size_t i = 0; i < m->n_entries; i++)
                up = up || m->entries[i].up;
        if (!up)
                return LOCAL_LINKS_DOWN;
        if (m->svc->etp_local && !has_endpoint(ready, m->svc, self->name))
                return LOCAL_NO_ENDPOINT;
        return LOCAL_CANDIDATE;
}

/* Sorted union of index arrays, using mark[] (one slot per node). */
static void add_candidates(size_t **set, size_t *n, const size_t *add, size_t n_add, bool *mark)
{
        for (size_t i = 0; i < n_add; i++) {
                if (mark[add[i]])
                        continue;
                *set = xreallocarray(*set, *n + 1, sizeof(**set));
                (*set)[(*n)++] = add[i];
                mark[add[i]] = true;
        }
}

static int size_cmp(const void *a, const void *b)
{
        size_t x = *(const size_t *)a, y = *(const size_t *)b;

        return x < y ? -1 : x > y;
}

struct build {
        const struct model_input *in;
        struct model *m;
        const struct node_info *self;
        const struct l2pol **pols; /* active policies */
        size_t n_pols;
        bool *pol_local;  /* policy matches this node */
        bool **pol_nodes; /* [policy][node]: matches another node (Ready, schedulable) */
        const struct device_info **devs;
        size_t n_devs;
        GHashTable *ready;
        bool *mark;
};

static void build_service(struct build *b, const struct announce_svc *s)
{
        struct model *m = b->m;
        struct model_svc ms = {.svc = s};
        _cleanup_free_ bool *cand = NULL;

        if (!s->class_ok)
                return;
        cand = xnew(bool, m->n_nodes);
        for (size_t p = 0; p < b->n_pols; p++) {
                struct announce_ip_list ips = {0};

                l2pol_service_ips(b->pols[p], s, b->in->external_ips, &ips);
                if (ips.n > 0) {
                        announce_ip_list_merge(&ms.ips, &ips);
                        if (b->pol_local[p])
                                local_entries(&ms, b->pols[p], &ips, b->devs, b->n_devs);
                        for (size_t n = 0; n < m->n_nodes; n++)
                                cand[n] = cand[n] || b->pol_nodes[p][n];
                }
                announce_ip_list_done(&ips);
        }
        if (ms.ips.n == 0)
                return; /* not selected; entries come with addresses, so there are none */
        for (size_t n = 0; n < m->n_nodes; n++) {
                if (!cand[n] || (s->etp_local && !has_endpoint(b->ready, s, m->nodes[n]->name)))
                        continue;
                ms.candidates =
                    xreallocarray(ms.candidates, ms.n_candidates + 1, sizeof(*ms.candidates));
                ms.candidates[ms.n_candidates++] = n;
        }
        qsort_safe(ms.entries, ms.n_entries, sizeof(*ms.entries), entry_order);
        ms.local = local_status(&ms, b->self, b->ready);
        m->svcs[m->n_svcs++] = ms;
}

static void build_groups(struct build *b)
{
        struct model *m = b->m;
        _cleanup_free_ const struct announce_ip_list **sets = NULL;
        _cleanup_free_ size_t *group = NULL;

        sets = xnew(const struct announce_ip_list *, m->n_svcs);
        group = xnew(size_t, m->n_svcs);
        for (size_t i = 0; i < m->n_svcs; i++)
                sets[i] = &m->svcs[i].ips;
        m->n_groups = groups_build(sets, m->n_svcs, group);
        m->groups = xnew(struct model_group, m->n_groups);
        for (size_t i = 0; i < m->n_svcs; i++) {
                struct model_group *g = &m->groups[group[i]];

                g->members = xreallocarray(g->members, g->n_members + 1, sizeof(*g->members));
                if (g->n_members == 0)
                        g->canonical = i;
                g->members[g->n_members++] = i;
                m->svcs[i].group = group[i];
                g->self_candidate = g->self_candidate || m->svcs[i].local == LOCAL_CANDIDATE;
        }
        for (size_t gi = 0; gi < m->n_groups; gi++) {
                struct model_group *g = &m->groups[gi];

                memset(b->mark, 0, (m->n_nodes + 1) * sizeof(*b->mark));
                for (size_t k = 0; k < g->n_members; k++) {
                        const struct model_svc *ms = &m->svcs[g->members[k]];

                        add_candidates(&g->candidates, &g->n_candidates, ms->candidates,
                                       ms->n_candidates, b->mark);
                }
                qsort_safe(g->candidates, g->n_candidates, sizeof(size_t), size_cmp);
        }
}

static void build_owners(struct model *m)
{
        size_t n = 0;

        for (size_t i = 0; i < m->n_svcs; i++)
                n += m->svcs[i].ips.n;
        m->owners = xnew(struct ip_owner, n);
        for (size_t i = 0; i < m->n_svcs; i++)
                for (size_t j = 0; j < m->svcs[i].ips.n; j++)
                        m->owners[m->n_owners++] = (struct ip_owner){m->svcs[i].ips.items[j], i};
        qsort_safe(m->owners, m->n_owners, sizeof(*m->owners), owner_order);
        m->by_lease = g_hash_table_new(g_str_hash, g_str_equal);
        for (size_t i = 0; i < m->n_svcs; i++)
                g_hash_table_insert(m->by_lease, m->svcs[i].svc->lease_name,
                                    GSIZE_TO_POINTER(i + 1));
}

/* Policies, this node, the other nodes and the devices, ready for matching. */
static void build_prepare(struct build *b)
{
        const struct model_input *in = b->in;
        struct model *m = b->m;
        _cleanup_free_ void **nodes = NULL;
        size_t n_nodes = 0, n_all;

        b->self = g_hash_table_lookup(in->nodes, in->node_name);
        nodes = table_values(in->nodes, &n_all);
        m->nodes = xnew(const struct node_info *, n_all);
        for (size_t i = 0; i < n_all; i++)
                if (!streq(((struct node_info *)nodes[i])->name, in->node_name))
                        m->nodes[n_nodes++] = nodes[i];
        m->n_nodes = n_nodes;
        qsort_safe(m->nodes, m->n_nodes, sizeof(*m->nodes), node_order);

        b->pols = (const struct l2pol **)table_values(in->policies, &b->n_pols);
        b->pol_local = xnew(bool, b->n_pols);
        b->pol_nodes = xnew(bool *, b->n_pols);
        b->mark = xnew(bool, m->n_nodes + 1);
        for (size_t p = 0; p < b->n_pols; p++) {
                b->pol_local[p] = b->self && l2pol_matches_node(b->pols[p], &b->self->labels);
                b->pol_nodes[p] = xnew(bool, m->n_nodes);
                for (size_t n = 0; n < m->n_nodes; n++)
                        b->pol_nodes[p][n] = m->nodes[n]->ready && !m->nodes[n]->unschedulable &&
                                             !m->nodes[n]->excluded &&
                                             l2pol_matches_node(b->pols[p], &m->nodes[n]->labels);
        }
        b->devs = (const struct device_info **)table_values(in->devices, &b->n_devs);
        b->ready = ready_endpoints(in->slices);
}

static void build_done(struct build *b)
{
        for (size_t p = 0; b->pol_nodes && p < b->n_pols; p++)
                free(b->pol_nodes[p]);
        free(b->pol_nodes);
        free(b->pol_local);
        free(b->pols);
        free(b->devs);
        free(b->mark);
        if (b->ready)
                g_hash_table_unref(b->ready);
}

void model_build(const struct model_input *in, struct model *ret)
{
        struct model m = {0};
        struct build b = {.in = in, .m = &m};
        _cleanup_free_ void **svcs = NULL;
        size_t n_svcs = 0;

        assert(in);
        assert(ret);
        build_prepare(&b);
        svcs = table_values(in->services, &n_svcs);
        qsort_safe(svcs, n_svcs, sizeof(*svcs), service_order);
        m.svcs = xnew(struct model_svc, n_svcs);
        for (size_t i = 0; i < n_svcs; i++)
                build_service(&b, svcs[i]);
        build_groups(&b);
        build_owners(&m);
        build_done(&b);
        *ret = m;
}

const struct model_svc *model_by_lease(const struct model *m, const char *lease_name)
{
        gpointer v;

        assert(m);
        assert(lease_name);
        if (!m->by_lease)
                return NULL;
        v = g_hash_table_lookup(m->by_lease, lease_name);
        return v ? &m->svcs[GPOINTER_TO_SIZE(v) - 1] : NULL;
}

static int owner_key_cmp(const void *key, const void *elem)
{
        return ipaddr_cmp(key, &((const struct ip_owner *)elem)->ip);
}

void model_owners(const struct model *m, const struct ipaddr *ip, size_t *ret_from, size_t *ret_to)
{
        size_t from, to;

        assert(m);
        assert(ip);
        assert(ret_from);
        assert(ret_to);
        from = lower_bound(ip, m->owners, m->n_owners, sizeof(*m->owners), owner_key_cmp);
        to = from;
        while (to < m->n_owners && ipaddr_equal(&m->owners[to].ip, ip))
                to++;
        *ret_from = from;
        *ret_to = to;
}

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

static int svc_order(const void *a, const void *b)
{
        const struct announce_svc *x = *(const struct announce_svc *const *)a, *y = *(const struct announce_svc *const *)b;
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
        void **a;
        size_t n = 0;

        a = calloc(g_hash_table_size(t) + 1, sizeof(*a));
        if (!a)
                return NULL;
        g_hash_table_iter_init(&it, t);
        while (g_hash_table_iter_next(&it, NULL, &v))
                a[n++] = v;
        *ret_n = n;
        return a;
}

/* Set of "svc_key\nnode" for every ready endpoint. */
static GHashTable *ready_endpoints(GHashTable *slices)
{
        GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, slices);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                const struct slice_info *s = v;

                for (size_t i = 0; s->ready_nodes && s->ready_nodes[i]; i++) {
                        char *k;

                        if (asprintf(&k, "%s\n%s", s->svc_key, s->ready_nodes[i]) < 0) {
                                g_hash_table_unref(set);
                                return NULL;
                        }
                        g_hash_table_add(set, k);
                }
        }
        return set;
}

static bool has_endpoint(GHashTable *ready, const struct announce_svc *s, const char *node)
{
        _cleanup_free_ char *k = NULL;

        if (asprintf(&k, "%s\n%s", s->key, node) < 0)
                return false;
        return g_hash_table_contains(ready, k);
}

static int add_entry(struct model_svc *m, const struct ipaddr *ip, const struct device_info *d)
{
        struct local_entry *n;

        for (size_t i = 0; i < m->n_entries; i++)
                if (m->entries[i].ifindex == d->ifindex && ipaddr_equal(&m->entries[i].ip, ip))
                        return 0;
        n = realloc(m->entries, (m->n_entries + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        m->entries = n;
        n[m->n_entries++] = (struct local_entry){*ip, d->ifindex, d->up};
        return 0;
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
static int local_entries(struct model_svc *m, const struct l2pol *p, const struct announce_ip_list *ips,
                         const struct device_info *const *devs, size_t n_devs)
{
        for (size_t d = 0; d < n_devs; d++) {
                if (!l2pol_matches_device(p, devs[d]->name))
                        continue;
                for (size_t i = 0; i < ips->n; i++) {
                        int r = add_entry(m, &ips->items[i], devs[d]);

                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static enum local_status local_status(const struct model_svc *m, const struct node_info *self,
                                      GHashTable *ready)
{
        bool up = false;

        if (!self)
                return LOCAL_NODE_UNKNOWN;
        if (self->unschedulable)
                return LOCAL_CORDONED;
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
static int add_candidates(size_t **set, size_t *n, const size_t *add, size_t n_add, bool *mark)
{
        for (size_t i = 0; i < n_add; i++) {
                size_t *a;

                if (mark[add[i]])
                        continue;
                a = realloc(*set, (*n + 1) * sizeof(**set));
                if (!a)
                        return -ENOMEM;
                *set = a;
                a[(*n)++] = add[i];
                mark[add[i]] = true;
        }
        return 0;
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

static int build_service(struct build *b, const struct announce_svc *s)
{
        struct model *m = b->m;
        struct model_svc ms = {.svc = s};
        _cleanup_free_ bool *cand = NULL;
        int r = 0;

        if (!s->class_ok)
                return 0;
        cand = calloc(m->n_nodes + 1, sizeof(*cand));
        if (!cand)
                return -ENOMEM;
        for (size_t p = 0; r >= 0 && p < b->n_pols; p++) {
                struct announce_ip_list ips = {0};

                r = l2pol_service_ips(b->pols[p], s, b->in->external_ips, &ips);
                if (r >= 0 && ips.n > 0) {
                        r = announce_ip_list_merge(&ms.ips, &ips);
                        if (r >= 0 && b->pol_local[p])
                                r = local_entries(&ms, b->pols[p], &ips, b->devs, b->n_devs);
                        for (size_t n = 0; n < m->n_nodes; n++)
                                cand[n] = cand[n] || b->pol_nodes[p][n];
                }
                announce_ip_list_done(&ips);
        }
        if (r < 0 || ms.ips.n == 0)
                goto out;
        for (size_t n = 0; r >= 0 && n < m->n_nodes; n++) {
                size_t *a;

                if (!cand[n] || (s->etp_local && !has_endpoint(b->ready, s, m->nodes[n]->name)))
                        continue;
                a = realloc(ms.candidates, (ms.n_candidates + 1) * sizeof(*a));
                if (!a) {
                        r = -ENOMEM;
                        break;
                }
                ms.candidates = a;
                a[ms.n_candidates++] = n;
        }
        if (r < 0)
                goto out;
        qsort_safe(ms.entries, ms.n_entries, sizeof(*ms.entries), entry_order);
        ms.local = local_status(&ms, b->self, b->ready);
        m->svcs[m->n_svcs++] = ms;
        return 0;
out:
        announce_ip_list_done(&ms.ips);
        free(ms.entries);
        free(ms.candidates);
        return r;
}

static int build_groups(struct build *b)
{
        struct model *m = b->m;
        _cleanup_free_ const struct announce_ip_list **sets = NULL;
        _cleanup_free_ size_t *group = NULL;
        int n;

        sets = calloc(m->n_svcs + 1, sizeof(*sets));
        group = calloc(m->n_svcs + 1, sizeof(*group));
        if (!sets || !group)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_svcs; i++)
                sets[i] = &m->svcs[i].ips;
        n = groups_build(sets, m->n_svcs, group);
        if (n < 0)
                return n;
        m->groups = calloc((size_t)n + 1, sizeof(*m->groups));
        if (!m->groups)
                return -ENOMEM;
        m->n_groups = (size_t)n;
        for (size_t i = 0; i < m->n_svcs; i++) {
                struct model_group *g = &m->groups[group[i]];
                size_t *a = realloc(g->members, (g->n_members + 1) * sizeof(*a));

                if (!a)
                        return -ENOMEM;
                g->members = a;
                if (g->n_members == 0)
                        g->canonical = i;
                a[g->n_members++] = i;
                m->svcs[i].group = group[i];
                g->self_candidate = g->self_candidate || m->svcs[i].local == LOCAL_CANDIDATE;
        }
        for (size_t gi = 0; gi < m->n_groups; gi++) {
                struct model_group *g = &m->groups[gi];

                memset(b->mark, 0, (m->n_nodes + 1) * sizeof(*b->mark));
                for (size_t k = 0; k < g->n_members; k++) {
                        const struct model_svc *ms = &m->svcs[g->members[k]];
                        int r = add_candidates(&g->candidates, &g->n_candidates, ms->candidates,
                                               ms->n_candidates, b->mark);

                        if (r < 0)
                                return r;
                }
                qsort_safe(g->candidates, g->n_candidates, sizeof(size_t), size_cmp);
        }
        return 0;
}

static int build_owners(struct model *m)
{
        size_t n = 0;

        for (size_t i = 0; i < m->n_svcs; i++)
                n += m->svcs[i].ips.n;
        m->owners = calloc(n + 1, sizeof(*m->owners));
        if (!m->owners)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_svcs; i++)
                for (size_t j = 0; j < m->svcs[i].ips.n; j++)
                        m->owners[m->n_owners++] = (struct ip_owner){m->svcs[i].ips.items[j], i};
        qsort_safe(m->owners, m->n_owners, sizeof(*m->owners), owner_order);
        m->by_lease = g_hash_table_new(g_str_hash, g_str_equal);
        for (size_t i = 0; i < m->n_svcs; i++)
                g_hash_table_insert(m->by_lease, m->svcs[i].svc->lease_name,
                                    GSIZE_TO_POINTER(i + 1));
        return 0;
}

/* Policies, this node, the other nodes and the devices, ready for matching. */
static int build_prepare(struct build *b)
{
        const struct model_input *in = b->in;
        struct model *m = b->m;
        _cleanup_free_ void **nodes = NULL;
        size_t n_nodes = 0, n_all;
        void **v;

        b->self = g_hash_table_lookup(in->nodes, in->node_name);
        nodes = table_values(in->nodes, &n_all);
        if (!nodes)
                return -ENOMEM;
        m->nodes = calloc(n_all + 1, sizeof(*m->nodes));
        if (!m->nodes)
                return -ENOMEM;
        for (size_t i = 0; i < n_all; i++)
                if (!streq(((struct node_info *)nodes[i])->name, in->node_name))
                        m->nodes[n_nodes++] = nodes[i];
        m->n_nodes = n_nodes;
        qsort_safe(m->nodes, m->n_nodes, sizeof(*m->nodes), node_order);

        v = table_values(in->policies, &b->n_pols);
        if (!v)
                return -ENOMEM;
        b->pols = (const struct l2pol **)v;
        b->pol_local = calloc(b->n_pols + 1, sizeof(*b->pol_local));
        b->pol_nodes = calloc(b->n_pols + 1, sizeof(*b->pol_nodes));
        b->mark = calloc(m->n_nodes + 1, sizeof(*b->mark));
        if (!b->pol_local || !b->pol_nodes || !b->mark)
                return -ENOMEM;
        for (size_t p = 0; p < b->n_pols; p++) {
                b->pol_local[p] = b->self && l2pol_matches_node(b->pols[p], &b->self->labels);
                b->pol_nodes[p] = calloc(m->n_nodes + 1, sizeof(bool));
                if (!b->pol_nodes[p])
                        return -ENOMEM;
                for (size_t n = 0; n < m->n_nodes; n++)
                        b->pol_nodes[p][n] = m->nodes[n]->ready && !m->nodes[n]->unschedulable &&
                                             l2pol_matches_node(b->pols[p], &m->nodes[n]->labels);
        }
        v = table_values(in->devices, &b->n_devs);
        if (!v)
                return -ENOMEM;
        b->devs = (const struct device_info **)v;
        b->ready = ready_endpoints(in->slices);
        return b->ready ? 0 : -ENOMEM;
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

int model_build(const struct model_input *in, struct model *ret)
{
        struct model m = {0};
        struct build b = {.in = in, .m = &m};
        _cleanup_free_ void **svcs = NULL;
        size_t n_svcs = 0;
        int r;

        assert(in);
        assert(ret);
        r = build_prepare(&b);
        if (r >= 0) {
                svcs = table_values(in->services, &n_svcs);
                if (!svcs)
                        r = -ENOMEM;
        }
        if (r >= 0) {
                qsort_safe(svcs, n_svcs, sizeof(*svcs), svc_order);
                m.svcs = calloc(n_svcs + 1, sizeof(*m.svcs));
                if (!m.svcs)
                        r = -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < n_svcs; i++)
                r = build_service(&b, svcs[i]);
        if (r >= 0)
                r = build_groups(&b);
        if (r >= 0)
                r = build_owners(&m);
        build_done(&b);
        if (r < 0) {
                model_done(&m);
                return r;
        }
        *ret = m;
        return 0;
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

/* Pool spec validation, counts and desired conditions; see pool.h. */
#include "pool.h"

#include <limits.h>
#include <stdio.h>

#include "ipam/ipam.h"
#include "lib/util.h"

static int block_cmp(const void *a, const void *b)
{
        return iprange_cmp(&((const struct pool_block *)a)->r, &((const struct pool_block *)b)->r);
}

static int parse_block(const struct k8s_pool_block *b, size_t i, struct pool_block *ret,
                       char **ret_error)
{
        const char *why = NULL;

        if (!isempty(b->cidr)) {
                if (iprange_parse_cidr(b->cidr, &ret->r) < 0) {
                        *ret_error = xasprintf("blocks[%zu]: invalid CIDR '%s'", i, b->cidr);
                        return -EINVAL;
                }
                ret->from_cidr = true;
                return 0;
        }
        if (isempty(b->start)) {
                *ret_error = xasprintf("blocks[%zu]: needs a cidr or a start address", i);
                return -EINVAL;
        }
        if (iprange_from_start_stop(b->start, b->stop, &ret->r, &why) < 0) {
                *ret_error = xasprintf("blocks[%zu]: %s (start '%s', stop '%s')", i, why, b->start,
                                       strempty(b->stop));
                return -EINVAL;
        }
        ret->from_cidr = false;
        return 0;
}

static int parse_priority(const char *s, int32_t *ret, char **ret_error)
{
        char *end = NULL;
        long long v;

        *ret = 0;
        if (!s)
                return 0;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (isempty(s) || *end || errno || v < INT32_MIN || v > INT32_MAX || g_ascii_isspace(*s)) {
                *ret_error = xasprintf("annotation %s: '%s' is not an integer between %d and %d",
                                       IPAM_ANNOTATION_PRIORITY, s, INT32_MIN, INT32_MAX);
                return -EINVAL;
        }
        *ret = (int32_t)v;
        return 0;
}

int pool_spec_parse(const struct k8s_ippool *p, struct pool_spec *ret, char **ret_error)
{
        struct pool_spec s = {0};
        char *error = NULL;
        int r;

        assert(p);
        assert(ret);
        assert(ret_error);
        *ret_error = NULL;
        if (p->service_selector_error) {
                *ret_error = xasprintf("serviceSelector: %s", p->service_selector_error);
                return -EINVAL;
        }
        r = parse_priority(labels_get(&p->meta.annotations, IPAM_ANNOTATION_PRIORITY), &s.priority,
                           &error);
        if (r < 0) {
                *ret_error = error;
                return r;
        }
        s.blocks = g_new0(struct pool_block, p->n_blocks ? p->n_blocks : 1);
        for (size_t i = 0; i < p->n_blocks; i++) {
                r = parse_block(&p->blocks[i], i, &s.blocks[s.n_blocks], &error);
                if (r < 0) {
                        pool_spec_done(&s);
                        *ret_error = error;
                        return r;
                }
                s.n_blocks++;
        }
        qsort_safe(s.blocks, s.n_blocks, sizeof(*s.blocks), block_cmp);
        s.selector = selector_copy(p->service_selector);
        s.disabled = p->disabled;
        s.allow_first_last = p->allow_first_last;
        *ret = s;
        return 0;
}

void pool_spec_done(struct pool_spec *s)
{
        if (!s)
                return;
        g_free(s->blocks);
        selector_free(s->selector);
        memset(s, 0, sizeof(*s));
}

/* Canonical decimal (no sign, no leading zero) into a bigcount. */
static bool parse_count(const char *s, struct bigcount *ret)
{
        struct bigcount c = {0, 0};

        if (isempty(s) || (s[0] == '0' && s[1]))
                return false;
        for (; *s; s++) {
                u128 l0, l1, h;

                if (*s < '0' || *s > '9')
                        return false;
                /* c = c * 10 + digit, on three 64-bit limbs */
                l0 = (u128)(uint64_t)c.lo * 10;
                l1 = (c.lo >> 64) * 10 + (l0 >> 64);
                h = (u128)c.hi * 10 + (l1 >> 64);
                if (h >> 64)
                        return false;
                c.lo = ((u128)(uint64_t)l1 << 64) | (uint64_t)l0;
                c.hi = (uint64_t)h;
                bigcount_add(&c, (u128)(*s - '0'));
        }
        *ret = c;
        return true;
}

void observed_condition_set(struct observed_condition *o, const struct k8s_conditions *c,
                            const char *type)
{
        size_t n = 0;

        assert(o);
        observed_condition_done(o);
        for (size_t i = 0; c && i < c->n; i++) {
                const struct k8s_condition *k = &c->items[i];

                if (!streq_ptr(k->type, type))
                        continue;
                if (n++ > 0) {
                        o->duplicate = true;
                        continue;
                }
                o->present = true;
                o->status = g_strdup(k->status);
                o->reason = g_strdup(k->reason);
                o->message = g_strdup(k->message);
                o->observed_generation = k->observed_generation;
                o->count_valid = parse_count(k->message, &o->count);
        }
}

void observed_condition_done(struct observed_condition *o)
{
        if (!o)
                return;
        g_free(o->status);
        g_free(o->reason);
        g_free(o->message);
        memset(o, 0, sizeof(*o));
}

bool observed_condition_equal(const struct observed_condition *o, const struct k8s_condition *c)
{
        assert(o);
        assert(c);
        return o->present && !o->duplicate && streq_ptr(o->status, c->status) &&
               streq_ptr(strempty(o->reason), strempty(c->reason)) &&
               streq_ptr(strempty(o->message), strempty(c->message)) &&
               o->observed_generation == c->observed_generation;
}

struct ipam_pool *pool_new(const char *name, time_t created)
{
        struct ipam_pool *p = g_new0(struct ipam_pool, 1);

        assert(name);
        p->name = g_strdup(name);
        p->created = created;
        p->ranges = g_ptr_array_new();
        return p;
}

void pool_free(struct ipam_pool *p)
{
        if (!p)
                return;
        for (guint i = 0; i < p->ranges->len; i++)
                range_free(p->ranges->pdata[i]);
        g_ptr_array_free(p->ranges, TRUE);
        selector_free(p->selector);
        g_free(p->name);
        g_free(p->conflict_message);
        g_free(p->error);
        g_free(p->warning);
        for (size_t i = 0; i < _POOL_COND_MAX; i++)
                observed_condition_done(&p->observed[i]);
        g_free(p);
}

bool pool_selects(const struct ipam_pool *p, const struct labels *service_labels)
{
        assert(p);
        return p->valid && selector_matches(p->selector, service_labels);
}

bool pool_usable(const struct ipam_pool *p)
{
        assert(p);
        return p->valid && !p->disabled && !p->conflicting;
}

void pool_counts(const struct ipam_pool *p, struct bigcount *total, struct bigcount *available,
                 struct bigcount *used)
{
        struct bigcount t = {0, 0}, a = {0, 0};

        assert(p);
        for (guint i = 0; i < p->ranges->len; i++) {
                struct ipam_range *r = p->ranges->pdata[i];
                struct bigcount rt = range_total(r), ra = range_available(r);

                bigcount_add(&t, rt.lo);
                t.hi += rt.hi;
                bigcount_add(&a, ra.lo);
                a.hi += ra.hi;
        }
        if (total)
                *total = t;
        if (available)
                *available = a;
        if (used)
                *used = bigcount_minus(t, a);
}

static void set_condition(struct k8s_condition *c, const char *type, const char *status,
                          const char *reason, const char *message, int64_t generation)
{
        c->type = xstrdup(type);
        c->status = xstrdup(status);
        c->reason = xstrdup(reason);
        c->message = xstrdup(message);
        c->observed_generation = generation;
        c->last_transition_time = NULL;
}

void pool_desired_conditions(const struct ipam_pool *p, struct k8s_condition ret[_POOL_COND_MAX])
{
        struct bigcount total, available, used;
        char buf[64];

        assert(p);
        pool_counts(p, &total, &available, &used);
        set_condition(&ret[POOL_COND_TOTAL], IPAM_CONDITION_TOTAL, "Unknown", "noreason",
                      bigcount_format(&total, buf), p->generation);
        set_condition(&ret[POOL_COND_AVAILABLE], IPAM_CONDITION_AVAILABLE, "Unknown", "noreason",
                      bigcount_format(&available, buf), p->generation);
        set_condition(&ret[POOL_COND_USED], IPAM_CONDITION_USED, "Unknown", "noreason",
                      bigcount_format(&used, buf), p->generation);
        if (p->conflicting)
                set_condition(&ret[POOL_COND_CONFLICT], IPAM_CONDITION_CONFLICT, "True",
                              "cidr_overlap", strempty(p->conflict_message), p->generation);
        else
                set_condition(&ret[POOL_COND_CONFLICT], IPAM_CONDITION_CONFLICT, "False",
                              "resolved", "", p->generation);
}

void pool_conditions_done(struct k8s_condition c[_POOL_COND_MAX])
{
        for (size_t i = 0; i < _POOL_COND_MAX; i++) {
                free(c[i].type);
                free(c[i].status);
                free(c[i].reason);
                free(c[i].message);
                free(c[i].last_transition_time);
                memset(&c[i], 0, sizeof(c[i]));
        }
}

/* Numbers compared as numbers: this runs after every allocation. */
static bool count_in_sync(const struct observed_condition *o, const struct bigcount *want,
                          int64_t generation)
{
        return o->present && !o->duplicate && o->count_valid &&
               bigcount_cmp(&o->count, want) == 0 && streq_ptr(o->status, "Unknown") &&
               streq_ptr(o->reason, "noreason") && o->observed_generation == generation;
}

bool pool_in_sync(const struct ipam_pool *p)
{
        const struct observed_condition *c = &p->observed[POOL_COND_CONFLICT];
        struct bigcount total, available, used;

        pool_counts(p, &total, &available, &used);
        if (!count_in_sync(&p->observed[POOL_COND_TOTAL], &total, p->generation) ||
            !count_in_sync(&p->observed[POOL_COND_AVAILABLE], &available, p->generation) ||
            !count_in_sync(&p->observed[POOL_COND_USED], &used, p->generation))
                return false;
        return c->present && !c->duplicate && c->observed_generation == p->generation &&
               streq_ptr(c->status, p->conflicting ? "True" : "False") &&
               streq_ptr(c->reason, p->conflicting ? "cidr_overlap" : "resolved") &&
               streq_ptr(strempty(c->message), p->conflicting ? strempty(p->conflict_message) : "");
}

bool pool_spec_equal(const struct ipam_pool *p, const struct pool_spec *s)
{
        assert(p);
        assert(s);
        if (!p->valid || p->ranges->len != s->n_blocks || p->disabled != s->disabled ||
            p->allow_first_last != s->allow_first_last || p->priority != s->priority ||
            !selector_equal(p->selector, s->selector))
                return false;
        for (size_t i = 0; i < s->n_blocks; i++) {
                const struct ipam_range *r = p->ranges->pdata[i];

                if (iprange_cmp(&r->r, &s->blocks[i].r) != 0 ||
                    r->from_cidr != s->blocks[i].from_cidr)
                        return false;
        }
        return true;
}

int pool_cmp_age(const struct ipam_pool *a, const struct ipam_pool *b)
{
        if (a->created != b->created)
                return a->created < b->created ? -1 : 1;
        return strcmp(a->name, b->name);
}

int pool_cmp_order(const struct ipam_pool *a, const struct ipam_pool *b)
{
        if (a->priority != b->priority)
                return a->priority > b->priority ? -1 : 1;
        return strcmp(a->name, b->name);
}

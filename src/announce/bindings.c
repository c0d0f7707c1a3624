/* The shard codec of the node-heartbeat election (see bindings.h). */
#include "bindings.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>

#include "announce.h"
#include "lib/util.h"

#define NAME_MAX_K8S 253

uint32_t announce_fnv1a(const char *s)
{
        uint32_t h = 2166136261u;

        for (; *s; s++) {
                h ^= (uint8_t)*s;
                h *= 16777619u;
        }
        return h;
}

unsigned announce_shard_of(const struct ipaddr *ip)
{
        char buf[IPADDR_STRLEN];

        assert(ip);
        return announce_fnv1a(ipaddr_format(ip, buf)) % ANNOUNCE_SHARDS;
}

void announce_uid8(const char *uid, char buf[ANNOUNCE_UID8 + 1])
{
        (void)snprintf(buf, ANNOUNCE_UID8 + 1, "%s", strempty(uid));
}

char *announce_heartbeat_name(const char *node)
{
        size_t keep = NAME_MAX_K8S - strlen(ANNOUNCE_HEARTBEAT_PREFIX) - 9;

        assert(node);
        if (strlen(ANNOUNCE_HEARTBEAT_PREFIX) + strlen(node) <= NAME_MAX_K8S)
                return xasprintf("%s%s", ANNOUNCE_HEARTBEAT_PREFIX, node);
        return xasprintf("%s%.*s-%08" PRIx32, ANNOUNCE_HEARTBEAT_PREFIX, (int)keep, node,
                         announce_fnv1a(node));
}

char *announce_shard_name(unsigned k)
{
        return xasprintf("%s%u", ANNOUNCE_SHARD_PREFIX, k);
}

void bindings_done(struct bindings *b)
{
        if (!b)
                return;
        for (size_t i = 0; i < b->n; i++)
                free(b->items[i].node);
        free(b->items);
        *b = (struct bindings){0};
}

void bindings_copy(struct bindings *dst, const struct bindings *src)
{
        *dst = (struct bindings){0};
        dst->items = xnew(struct binding, src->n);
        for (size_t i = 0; i < src->n; i++) {
                dst->items[i] = src->items[i];
                dst->items[i].node = xstrdup(src->items[i].node);
        }
        dst->n = src->n;
}

static int key_cmp(const void *key, const void *elem)
{
        return ipaddr_cmp(key, &((const struct binding *)elem)->ip);
}

const struct binding *bindings_get(const struct bindings *b, const struct ipaddr *ip)
{
        size_t i;

        assert(b);
        assert(ip);
        i = lower_bound(ip, b->items, b->n, sizeof(*b->items), key_cmp);
        return i < b->n && ipaddr_equal(&b->items[i].ip, ip) ? &b->items[i] : NULL;
}

void bindings_set(struct bindings *b, const struct ipaddr *ip, const char *node, int32_t epoch,
                  const char *uid8)
{
        size_t i;
        struct binding *x;

        assert(b);
        assert(node);
        i = lower_bound(ip, b->items, b->n, sizeof(*b->items), key_cmp);
        if (i < b->n && ipaddr_equal(&b->items[i].ip, ip)) {
                x = &b->items[i];
                free(x->node);
        } else {
                b->items = xreallocarray(b->items, b->n + 1, sizeof(*b->items));
                memmove(&b->items[i + 1], &b->items[i], (b->n - i) * sizeof(*b->items));
                b->n++;
                x = &b->items[i];
        }
        x->ip = *ip;
        x->node = xstrdup(node);
        x->epoch = epoch;
        announce_uid8(uid8, x->uid8);
}

bool bindings_remove(struct bindings *b, const struct ipaddr *ip)
{
        size_t i;

        assert(b);
        i = lower_bound(ip, b->items, b->n, sizeof(*b->items), key_cmp);
        if (i >= b->n || !ipaddr_equal(&b->items[i].ip, ip))
                return false;
        free(b->items[i].node);
        memmove(&b->items[i], &b->items[i + 1], (b->n - i - 1) * sizeof(*b->items));
        b->n--;
        return true;
}

/* "<node>/<epoch>/<uid8>": node non-empty without '/', epoch 0..INT32_MAX
 * without sign or leading zero, uid8 exactly 8 characters without '/'. */
static bool value_parse(const char *v, char **ret_node, int32_t *ret_epoch,
                        char uid8[ANNOUNCE_UID8 + 1])
{
        const char *s1 = strchr(v, '/'), *s2;
        uint64_t e = 0;

        if (!s1 || s1 == v)
                return false;
        s2 = strchr(s1 + 1, '/');
        if (!s2 || s2 == s1 + 1 || (s2 - s1 > 2 && s1[1] == '0'))
                return false;
        for (const char *p = s1 + 1; p < s2; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                e = e * 10 + (uint64_t)(*p - '0');
                if (e > INT32_MAX)
                        return false;
        }
        if (strlen(s2 + 1) != ANNOUNCE_UID8 || strchr(s2 + 1, '/'))
                return false;
        *ret_node = xstrndup(v, (size_t)(s1 - v));
        *ret_epoch = (int32_t)e;
        memcpy(uid8, s2 + 1, ANNOUNCE_UID8 + 1);
        return true;
}

static void note(size_t *n_bad, char **ret_error, char *msg)
{
        if ((*n_bad)++ == 0 && ret_error)
                *ret_error = msg;
        else
                free(msg);
}

size_t bindings_parse(const char *text, int shard, struct bindings *ret, char **ret_error)
{
        json_error_t err;
        json_t *o, *v;
        const char *k;
        size_t n_bad = 0;

        assert(ret);
        *ret = (struct bindings){0};
        if (ret_error)
                *ret_error = NULL;
        if (!text)
                return 0;
        o = json_loads(text, JSON_REJECT_DUPLICATES, &err);
        if (!o || !json_is_object(o)) {
                note(&n_bad, ret_error,
                     o ? xstrdup("not a JSON object") : xasprintf("not JSON: %s", err.text));
                json_decref(o);
                return n_bad;
        }
        json_object_foreach(o, k, v)
        {
                struct ipaddr ip;
                char canon[IPADDR_STRLEN];
                char *node = NULL;
                int32_t epoch;
                char uid8[ANNOUNCE_UID8 + 1];

                if (ipaddr_parse(k, &ip) < 0 || !streq(ipaddr_format(&ip, canon), k)) {
                        note(&n_bad, ret_error,
                             xasprintf("%s: not an address in canonical form", k));
                        continue;
                }
                if (shard >= 0 && announce_shard_of(&ip) != (unsigned)shard) {
                        note(&n_bad, ret_error, xasprintf("%s: belongs to another shard", k));
                        continue;
                }
                if (!json_is_string(v) || !value_parse(json_string_value(v), &node, &epoch, uid8)) {
                        note(&n_bad, ret_error,
                             xasprintf("%s: value is not \"<node>/<epoch>/<uid8>\"", k));
                        continue;
                }
                bindings_set(ret, &ip, node, epoch, uid8);
                free(node);
        }
        json_decref(o);
        return n_bad;
}

char *bindings_format(const struct bindings *b)
{
        char *out = xstrdup("{");

        assert(b);
        /* Built by hand: jansson would not keep the address order. */
        for (size_t i = 0; i < b->n; i++) {
                char ip[IPADDR_STRLEN];
                _cleanup_free_ char *value = xasprintf("%s/%" PRId32 "/%s", b->items[i].node,
                                                       b->items[i].epoch, b->items[i].uid8);
                json_t *v = json_string(value);
                _cleanup_free_ char *quoted = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
                char *next;

                json_decref(v);
                if (!quoted)
                        continue; /* not UTF-8: node names never are */
                next = xasprintf("%s%s\"%s\":%s", out, i ? "," : "",
                                 ipaddr_format(&b->items[i].ip, ip), quoted);
                free(out);
                out = next;
        }
        {
                char *r = xasprintf("%s}", out);

                free(out);
                return r;
        }
}

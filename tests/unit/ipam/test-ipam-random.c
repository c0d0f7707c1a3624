/* Random sequences of pool and service changes (fixed seeds, so failures
 * replay), checking after every step what must always hold:
 *   - an address shown by several services is shared by compatible ones,
 *     and the core agrees with the API on who holds what;
 *   - IPsTotal = IPsUsed + IPsAvailable;
 *   - a service shown satisfied has what it asked for;
 *   - services that are not ours show nothing of ours;
 * and, every few steps, that a restart (a fresh core fed the API's objects,
 * both feeding orders) changes and writes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "ipam/request.h"
#include "ipam/sharing.h"
#include "api/objects.h"
#include "lib/util.h"

#define N_POOLS    4
#define N_SERVICES 10

static const char *const BLOCKS[] = {
    "{'cidr':'10.0.0.0/29'}", "{'cidr':'10.0.0.8/29'}", "{'cidr':'10.0.0.0/28'}",
    "{'cidr':'10.0.1.0/30'}", "{'cidr':'fd00::/126'}",  "{'start':'10.0.2.1','stop':'10.0.2.3'}",
    "{'cidr':'10.0.3.7/32'}",
};
static const char *const REQUESTS[] = {"10.0.0.1", "10.0.0.9", "10.0.1.0", "fd00::2",
                                       "10.0.2.2", "10.9.9.9", "10.0.0.0"};

static const char *pick(GRand *r, const char *const *v, size_t n)
{
        return v[g_rand_int_range(r, 0, (gint32)n)];
}

static void random_pool(struct api *api, GRand *r)
{
        int i = g_rand_int_range(r, 0, N_POOLS);
        GString *blocks;
        int nb = g_rand_int_range(r, 0, 3);
        static const char *const sel[] = {"", ",'serviceSelector':{'matchLabels':{'color':'red'}}",
                                          ",'serviceSelector':{'matchLabels':{'color':'blue'}}",
                                          (",'serviceSelector':{'matchExpressions':[{'key':"
                                           "'color','operator':'NotIn','values':['red']}]}")};
        static const char *const prio[] = {"", ",'annotations':{'lbipam.l2lb.io/priority':'1'}",
                                           ",'annotations':{'lbipam.l2lb.io/priority':'-1'}"};

        if (g_rand_int_range(r, 0, 8) == 0) {
                char name[8];

                snprintf(name, sizeof(name), "p%d", i);
                if (json_object_get(api->pools, name))
                        api_delete_pool(api, name);
                return;
        }
        blocks = g_string_new("");
        for (int b = 0; b < nb; b++)
                g_string_append_printf(blocks, "%s%s", b ? "," : "",
                                       pick(r, BLOCKS, G_N_ELEMENTS(BLOCKS)));
        api_pool(api,
                 "{'metadata':{'name':'p%d'%s},'spec':{'blocks':[%s]%s,'disabled':%s,"
                 "'allowFirstLastIPs':'%s'}}",
                 i, pick(r, prio, G_N_ELEMENTS(prio)), blocks->str, pick(r, sel, G_N_ELEMENTS(sel)),
                 g_rand_int_range(r, 0, 8) == 0 ? "true" : "false",
                 g_rand_int_range(r, 0, 3) == 0 ? "No" : "Yes");
        g_string_free(blocks, TRUE);
}

static void random_service(struct api *api, GRand *r)
{
        int i = g_rand_int_range(r, 0, N_SERVICES);
        static const char *const labels[] = {"", "'color':'red'", "'color':'blue'"};
        static const char *const policies[] = {
            "", ",'ipFamilyPolicy':'SingleStack'", ",'ipFamilyPolicy':'PreferDualStack'",
            ",'ipFamilyPolicy':'RequireDualStack'",
            ",'ipFamilyPolicy':'SingleStack','ipFamilies':['IPv6']"};
        static const char *const ports[] = {"[{'port':80}]", "[{'port':81}]",
                                            "[{'port':80},{'port':443}]",
                                            "[{'port':80,'protocol':'UDP'}]"};
        static const char *const keys[] = {"", "k1", "k2"};
        GString *ann = g_string_new("");
        const char *key = pick(r, keys, G_N_ELEMENTS(keys));
        char name[8];

        snprintf(name, sizeof(name), "s%d", i);
        if (g_rand_int_range(r, 0, 10) == 0) {
                g_autofree char *k = g_strdup_printf("default/%s", name);

                if (json_object_get(api->services, k))
                        api_delete_svc(api, "default", name);
                g_string_free(ann, TRUE);
                return;
        }
        if (*key)
                g_string_append_printf(ann, "'lbipam.cilium.io/sharing-key':'%s'", key);
        if (*key && g_rand_int_range(r, 0, 3) == 0)
                g_string_append(ann, ",'lbipam.cilium.io/sharing-cross-namespace':'*'");
        if (g_rand_int_range(r, 0, 3) == 0)
                g_string_append_printf(
                    ann, "%s'lbipam.cilium.io/ips':'%s%s%s'", ann->len ? "," : "",
                    pick(r, REQUESTS, G_N_ELEMENTS(REQUESTS)), g_rand_boolean(r) ? "," : "",
                    g_rand_boolean(r) ? "" : "10.0.0.2");
        api_svc(api,
                "{'metadata':{'name':'%s','labels':{%s},'annotations':{%s}},'spec':{'type':'%s',"
                "'ports':%s%s%s}}",
                name, pick(r, labels, G_N_ELEMENTS(labels)), ann->str,
                g_rand_int_range(r, 0, 10) == 0 ? "ClusterIP" : "LoadBalancer",
                pick(r, ports, G_N_ELEMENTS(ports)), pick(r, policies, G_N_ELEMENTS(policies)),
                g_rand_int_range(r, 0, 5) == 0
                    ? (g_rand_boolean(r) ? ",'externalTrafficPolicy':'Local','selector':{'app':'x'}"
                                         : ",'externalTrafficPolicy':'Local'")
                    : "");
        g_string_free(ann, TRUE);
}

static struct k8s_service *decoded(json_t *obj)
{
        struct k8s_service *s = NULL;
        char *err = NULL;

        if (k8s_service_decode(obj, &s, &err) < 0)
                fail_msg("%s", err);
        return s;
}

static u128 count(struct api *api, const char *pool, const char *type)
{
        const char *m = pool_cond(api, pool, type, "message");

        return (u128)g_ascii_strtoull(m, NULL, 10);
}

static void check_invariants(struct api *api)
{
        struct ipam_options o = api->o;
        GHashTable *holders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                    (GDestroyNotify)g_ptr_array_unref);
        const char *k;
        json_t *obj;
        GHashTableIter it;
        gpointer key, value;

        json_object_foreach(api->pools, k, obj)
        {
                assert_true(count(api, k, "cilium.io/IPsTotal") ==
                            count(api, k, "cilium.io/IPsUsed") +
                                count(api, k, "cilium.io/IPsAvailable"));
        }
        json_object_foreach(api->services, k, obj)
        {
                struct k8s_service *s = decoded(obj);
                bool ours = svc_request_managed(&o, s);

                if (!ipam_active(api->ipam)) {
                        /* dormant (no pool since the restart): nothing is written */
                        k8s_service_free(s);
                        continue;
                }
                if (!ours) {
                        assert_int_equal(s->n_ingress, 0);
                        assert_null(k8s_conditions_find(&s->conditions, IPAM_CONDITION_SATISFIED));
                        k8s_service_free(s);
                        continue;
                }
                for (size_t i = 0; i < s->n_ingress; i++) {
                        GPtrArray *list = g_hash_table_lookup(holders, s->ingress[i].ip);

                        if (!list) {
                                list = g_ptr_array_new_with_free_func(
                                    (GDestroyNotify)k8s_service_free);
                                g_hash_table_insert(holders, g_strdup(s->ingress[i].ip), list);
                        }
                        g_ptr_array_add(list, decoded(obj));
                }
                if (streq_ptr(svc_status(api, s->meta.namespace, s->meta.name), "True")) {
                        struct svc_request r;
                        bool v4 = false, v6 = false;

                        svc_request_parse(&o, s, &r);
                        for (size_t i = 0; i < s->n_ingress; i++) {
                                struct ipaddr a;

                                assert_int_equal(ipaddr_parse(s->ingress[i].ip, &a), 0);
                                v4 |= a.family == AF_INET;
                                v6 |= a.family == AF_INET6;
                                if (r.n_ips)
                                        assert_true(svc_request_has_ip(&r, &a));
                        }
                        if (r.n_ips)
                                assert_int_equal(s->n_ingress, r.n_ips);
                        else {
                                assert_int_equal(v4, r.want4);
                                assert_int_equal(v6, r.want6);
                        }
                        svc_request_done(&r);
                }
                k8s_service_free(s);
        }
        g_hash_table_iter_init(&it, holders);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                GPtrArray *list = value;
                const char *pool = NULL;

                /* the core agrees, and the address is in a pool */
                assert_int_equal(ipam_ip_holders(api->ipam, key, &pool), list->len);
                assert_non_null(pool);
                for (guint i = 0; i < list->len; i++)
                        for (guint j = i + 1; j < list->len; j++) {
                                const struct k8s_service *a = list->pdata[i], *b = list->pdata[j];
                                struct svc_request ra, rb;

                                svc_request_parse(&o, a, &ra);
                                svc_request_parse(&o, b, &rb);
                                assert_non_null(ra.sharing_key);
                                if (sharing_incompatible(&ra, a->meta.namespace, &rb,
                                                         b->meta.namespace))
                                        fail_msg("%s shared by incompatible %s and %s", (char *)key,
                                                 a->meta.name, b->meta.name);
                                svc_request_done(&ra);
                                svc_request_done(&rb);
                        }
        }
        g_hash_table_destroy(holders);
}

static guint32 current_seed;
static int current_step;

static void check_restart(struct api *api)
{
        g_autofree char *before = api_dump(api);

        for (int services_first = 0; services_first < 2; services_first++) {
                unsigned patches = api->patches;
                g_autofree char *after = NULL;

                api_restart(api, services_first);
                after = api_dump(api);
                if (!streq(after, before)) {
                        g_file_set_contents("/tmp/ipam-random-before", before, -1, NULL);
                        g_file_set_contents("/tmp/ipam-random-after", after, -1, NULL);
                        g_file_set_contents("/tmp/ipam-random-events", api_events(api), -1, NULL);
                        fail_msg("seed %u step %d: restart changed the state (services first: "
                                 "%d), see /tmp/ipam-random-{before,after}",
                                 current_seed, current_step, services_first);
                }
                assert_int_equal(api->patches, patches);
        }
}

static void run(guint32 seed, int steps)
{
        GRand *r = g_rand_new_with_seed(seed);
        struct api *api = api_new_started(true, g_rand_boolean(r));

        current_seed = seed;
        for (int step = 0; step < steps; step++) {
                current_step = step;
                if (g_getenv("IPAM_RANDOM_TRACE"))
                        fprintf(stderr, "--- step %d\n%s", step, api_events(api));
                if (g_rand_int_range(r, 0, 3) == 0)
                        random_pool(api, r);
                else
                        random_service(api, r);
                check_invariants(api);
                if (step % 10 == 9)
                        check_restart(api);
        }
        api_free(api);
        g_rand_free(r);
}

/* IPAM_RANDOM_SEEDS=N, IPAM_RANDOM_FIRST=S and IPAM_RANDOM_STEPS=K explore
 * further; IPAM_TRACE=1 prints every input. */
static guint32 first_seed(void)
{
        const char *s = g_getenv("IPAM_RANDOM_FIRST");

        return s ? (guint32)g_ascii_strtoull(s, NULL, 10) : 1;
}

static guint32 n_seeds(void)
{
        const char *s = g_getenv("IPAM_RANDOM_SEEDS");

        return s ? (guint32)g_ascii_strtoull(s, NULL, 10) : 30;
}

static void test_random_sequences(void **state)
{
        const char *steps = g_getenv("IPAM_RANDOM_STEPS");

        (void)state;
        for (guint32 seed = first_seed(); seed < first_seed() + n_seeds(); seed++)
                run(seed, steps ? atoi(steps) : 80);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_random_sequences),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

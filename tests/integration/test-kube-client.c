/* The Kubernetes client against a real kube-apiserver (KUBECONFIG from the
 * test runner): CRUD on every type l2lb uses, pagination, watches and
 * informers, 409 on a stale update, RBAC errors, rate limiting, 429 with
 * Retry-After from priority and fairness, a dead server, a NUL in an
 * annotation value. Tests that restart the apiserver or
 * compact etcd start their own instance with scripts/kube-testenv (L2LB_TESTENV). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube/api.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "lib/util.h"

#define TIMEOUT (20 * USEC_PER_SEC)

static sd_event *ev;
static struct kube_client *client;
static char ns[64];

static void apf_cleanup(void);

/* ---- helpers ---- */

static struct kube_client *connect_to(const char *kubeconfig, double qps, unsigned burst)
{
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;
        struct kube_client_options o = {.qps = qps, .burst = burst, .user_agent = "l2lb-test"};
        char *err = NULL;

        if (kube_config_load(kubeconfig, &cfg, &err) < 0)
                fail_msg("kubeconfig: %s", err);
        assert_int_equal(kube_client_new(ev, cfg, &o, &c), 0);
        kube_config_free(cfg);
        return c;
}

/* Run a call synchronously; returns the result (caller: kube_sync_done). */
#define SYNC(s, call_expr)                                                                         \
        do {                                                                                       \
                memset(&(s), 0, sizeof(s));                                                        \
                assert_int_equal((call_expr), 0);                                                  \
                kube_sync_wait(client, &(s), TIMEOUT);                                             \
                assert_true((s).done);                                                             \
        } while (0)

static void expect_ok(struct kube_sync *s, const char *what)
{
        if (s->error)
                fail_msg("%s: status %ld reason %s: %s", what, s->http_status, s->reason,
                         s->message);
}

static json_t *J(const char *fmt, ...) _printf_(1, 2);
static json_t *J(const char *fmt, ...)
{
        char buf[4096];
        va_list ap;
        json_error_t e;
        json_t *j;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        j = json_loads(buf, JSON_ALLOW_NUL, &e);
        if (!j)
                fail_msg("bad JSON %s: %s", e.text, buf);
        return j;
}

static void run_for(uint64_t usec)
{
        uint64_t start, now;

        sd_event_now(ev, CLOCK_MONOTONIC, &start);
        do {
                sd_event_run(ev, 50000);
                sd_event_now(ev, CLOCK_MONOTONIC, &now);
        } while (now - start < usec);
}

/* Run the loop until *flag or timeout; returns *flag. */
static bool run_until(bool (*cond)(void *), void *data, uint64_t timeout)
{
        uint64_t start, now;

        sd_event_now(ev, CLOCK_MONOTONIC, &start);
        while (!cond(data)) {
                sd_event_run(ev, 50000);
                sd_event_now(ev, CLOCK_MONOTONIC, &now);
                if (now - start > timeout)
                        return false;
        }
        return true;
}

static int sh(const char *fmt, ...) _printf_(1, 2);
static int sh(const char *fmt, ...)
{
        char cmd[2048];
        va_list ap;
        int r;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        r = system(cmd);
        return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

/* Whether the apiserver serves an API group version ("/apis/G/V"): the tests
 * run against Kubernetes 1.20 and 1.37 (scripts/kube-testenv --kube-version),
 * which serve different versions of some groups. */
static bool served(const char *path)
{
        struct kube_sync s;
        long status;

        SYNC(s, kube_call(client, "GET", path, NULL, NULL, 0, 0, kube_sync_callback, &s, NULL));
        status = s.http_status;
        kube_sync_done(&s);
        if (status != 200 && status != 404)
                fail_msg("GET %s: HTTP %ld", path, status);
        return status == 200;
}

static int setup(void **state)
{
        struct kube_sync s;
        json_t *o;

        (void)state;
        if (!getenv("KUBECONFIG")) {
                fprintf(stderr, "KUBECONFIG is not set: run through scripts/run-tests\n");
                return -1;
        }
        if (sd_event_new(&ev) < 0)
                return -1;
        client = connect_to(NULL, 0, 0);
        snprintf(ns, sizeof(ns), "it-%d-%ld", (int)getpid(), (long)time(NULL) % 100000);
        o = J("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
        SYNC(s, kube_create(client, &KUBE_NAMESPACES, NULL, o, kube_sync_callback, &s, NULL));
        expect_ok(&s, "create namespace");
        kube_sync_done(&s);
        json_decref(o);
        return 0;
}

static int teardown(void **state)
{
        struct kube_sync s;

        (void)state;
        if (!client)
                return 0;
        apf_cleanup(); /* cluster-scoped, if test_retry_after_429 failed half-way */
        SYNC(s,
             kube_delete(client, &KUBE_NAMESPACES, NULL, ns, NULL, kube_sync_callback, &s, NULL));
        kube_sync_done(&s);
        kube_client_free(client);
        sd_event_unref(ev);
        return 0;
}

/* ---- CRUD ---- */

static void test_service_crud(void **state)
{
        struct kube_sync s;
        struct k8s_service *svc = NULL;
        char *err = NULL;
        json_t *o, *p;

        (void)state;
        o = J("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","
              "\"labels\":{\"color\":\"red\"}},\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{"
              "\"port\":80}],\"selector\":{\"app\":\"web\"}}}");
        SYNC(s, kube_create(client, &KUBE_SERVICES, ns, o, kube_sync_callback, &s, NULL));
        expect_ok(&s, "create service");
        assert_int_equal(s.http_status, 201);
        assert_int_equal(k8s_service_decode(s.body, &svc, &err), 0);
        assert_string_equal(svc->type, "LoadBalancer");
        assert_string_equal(svc->meta.namespace, ns);
        k8s_service_free(svc);
        kube_sync_done(&s);
        json_decref(o);

        /* already exists */
        o = J("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"},"
              "\"spec\":{\"ports\":[{\"port\":80}]}}");
        SYNC(s, kube_create(client, &KUBE_SERVICES, ns, o, kube_sync_callback, &s, NULL));
        assert_int_equal(s.http_status, 409);
        assert_string_equal(s.reason, "AlreadyExists");
        kube_sync_done(&s);
        json_decref(o);

        /* merge patch of labels */
        p = J("{\"metadata\":{\"labels\":{\"color\":\"blue\"}}}");
        SYNC(s, kube_patch(client, &KUBE_SERVICES, ns, "web", NULL, KUBE_PATCH_MERGE, p,
                           kube_sync_callback, &s, NULL));
        expect_ok(&s, "merge patch");
        kube_sync_done(&s);
        json_decref(p);

        /* JSON patch of the status subresource */
        p = J("[{\"op\":\"add\",\"path\":\"/status/loadBalancer\",\"value\":{\"ingress\":[{\"ip\":"
              "\"12.0.0.200\"}]}}]");
        SYNC(s, kube_patch(client, &KUBE_SERVICES, ns, "web", "status", KUBE_PATCH_JSON, p,
                           kube_sync_callback, &s, NULL));
        expect_ok(&s, "status json patch");
        kube_sync_done(&s);
        json_decref(p);

        SYNC(s, kube_get(client, &KUBE_SERVICES, ns, "web", kube_sync_callback, &s, NULL));
        expect_ok(&s, "get");
        assert_int_equal(k8s_service_decode(s.body, &svc, &err), 0);
        assert_string_equal(labels_get(&svc->meta.labels, "color"), "blue");
        assert_int_equal(svc->n_ingress, 1);
        assert_string_equal(svc->ingress[0].ip, "12.0.0.200");
        k8s_service_free(svc);
        kube_sync_done(&s);

        /* strategic merge patch on a built-in type */
        p = J("{\"spec\":{\"externalIPs\":[\"12.0.0.100\"]}}");
        SYNC(s, kube_patch(client, &KUBE_SERVICES, ns, "web", NULL, KUBE_PATCH_STRATEGIC, p,
                           kube_sync_callback, &s, NULL));
        expect_ok(&s, "strategic patch");
        kube_sync_done(&s);
        json_decref(p);

        SYNC(s, kube_delete(client, &KUBE_SERVICES, ns, "web", NULL, kube_sync_callback, &s, NULL));
        expect_ok(&s, "delete");
        kube_sync_done(&s);
        SYNC(s, kube_get(client, &KUBE_SERVICES, ns, "web", kube_sync_callback, &s, NULL));
        assert_int_equal(s.http_status, 404);
        assert_string_equal(s.reason, "NotFound");
        assert_int_equal(s.error, -ENOENT);
        kube_sync_done(&s);
}

static void test_lease_update_conflict(void **state)
{
        struct kube_sync s;
        struct k8s_lease *l = NULL;
        char *err = NULL, rv[64];
        json_t *o;

        (void)state;
        o = J("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{"
              "\"name\":\"cilium-l2announce-x-y\"},\"spec\":{\"holderIdentity\":\"kind-worker\","
              "\"leaseDurationSeconds\":3,\"acquireTime\":\"2026-11-26T10:00:00.000000Z\","
              "\"renewTime\":\"2026-11-26T10:00:00.000000Z\",\"leaseTransitions\":0}}");
        SYNC(s, kube_create(client, &KUBE_LEASES, ns, o, kube_sync_callback, &s, NULL));
        expect_ok(&s, "create lease");
        assert_int_equal(k8s_lease_decode(s.body, &l, &err), 0);
        snprintf(rv, sizeof(rv), "%s", l->meta.resource_version);
        kube_sync_done(&s);
        json_decref(o);

        /* renew with the right resourceVersion */
        free(l->renew_time);
        l->renew_time = strdup("2026-11-26T10:00:01.000000Z");
        o = k8s_lease_to_json(l);
        SYNC(s, kube_update(client, &KUBE_LEASES, ns, l->meta.name, NULL, o, 0, kube_sync_callback,
                            &s, NULL));
        expect_ok(&s, "update lease");
        kube_sync_done(&s);

        /* the same resourceVersion again: 409 Conflict */
        SYNC(s, kube_update(client, &KUBE_LEASES, ns, l->meta.name, NULL, o, KUBE_CALL_NO_RETRY,
                            kube_sync_callback, &s, NULL));
        assert_int_equal(s.http_status, 409);
        assert_string_equal(s.reason, "Conflict");
        assert_non_null(strstr(s.message, "the object has been modified"));
        kube_sync_done(&s);
        json_decref(o);

        /* delete with a stale resourceVersion precondition: 409 */
        o = J("{\"preconditions\":{\"resourceVersion\":\"%s\"}}", rv);
        SYNC(s,
             kube_delete(client, &KUBE_LEASES, ns, l->meta.name, o, kube_sync_callback, &s, NULL));
        assert_int_equal(s.http_status, 409);
        kube_sync_done(&s);
        json_decref(o);
        k8s_lease_free(l);
}

static void test_custom_resources(void **state)
{
        struct kube_sync s;
        struct k8s_ippool *p = NULL;
        struct k8s_l2policy *pol = NULL;
        char *err = NULL, name[96];
        json_t *o;

        (void)state;
        snprintf(name, sizeof(name), "%s-pool", ns);
        /* v2alpha1 with the older spec.cidrs, read back as v2 */
        o = J("{\"apiVersion\":\"cilium.io/v2alpha1\",\"kind\":\"CiliumLoadBalancerIPPool\","
              "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"cidrs\":[{\"cidr\":\"12.0.0.128/25\"}],"
              "\"serviceSelector\":{\"matchLabels\":{\"color\":\"blue\"}}}}",
              name);
        SYNC(s, kube_create(client, &KUBE_IPPOOLS_V2ALPHA1, NULL, o, kube_sync_callback, &s, NULL));
        expect_ok(&s, "create pool");
        kube_sync_done(&s);
        json_decref(o);
        SYNC(s, kube_get(client, &KUBE_IPPOOLS, NULL, name, kube_sync_callback, &s, NULL));
        expect_ok(&s, "get pool v2");
        assert_int_equal(k8s_ippool_decode(s.body, &p, &err), 0);
        assert_int_equal(p->n_blocks, 1);
        assert_string_equal(p->blocks[0].cidr, "12.0.0.128/25");
        k8s_ippool_free(p);
        kube_sync_done(&s);

        /* status subresource: conditions written, spec untouched */
        o = J("{\"status\":{\"conditions\":[{\"type\":\"cilium.io/IPsTotal\",\"status\":"
              "\"Unknown\",\"reason\":\"noreason\",\"message\":\"128\",\"observedGeneration\":1,"
              "\"lastTransitionTime\":\"2026-11-26T10:00:00Z\"}]}}");
        SYNC(s, kube_patch(client, &KUBE_IPPOOLS, NULL, name, "status", KUBE_PATCH_MERGE, o,
                           kube_sync_callback, &s, NULL));
        expect_ok(&s, "patch pool status");
        assert_int_equal(k8s_ippool_decode(s.body, &p, &err), 0);
        assert_string_equal(k8s_conditions_find(&p->conditions, "cilium.io/IPsTotal")->message,
                            "128");
        k8s_ippool_free(p);
        kube_sync_done(&s);
        json_decref(o);
        SYNC(s, kube_delete(client, &KUBE_IPPOOLS, NULL, name, NULL, kube_sync_callback, &s, NULL));
        expect_ok(&s, "delete pool");
        kube_sync_done(&s);

        snprintf(name, sizeof(name), "%s-policy", ns);
        o = J("{\"apiVersion\":\"cilium.io/v2alpha1\",\"kind\":\"CiliumL2AnnouncementPolicy\","
              "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"externalIPs\":true,\"loadBalancerIPs\":"
              "false,\"interfaces\":[\"net0\"],\"serviceSelector\":{\"matchLabels\":{\"color\":"
              "\"blue\"}},\"nodeSelector\":{\"matchExpressions\":[{\"key\":"
              "\"node-role.kubernetes.io/control-plane\",\"operator\":\"DoesNotExist\"}]}}}",
              name);
        SYNC(s, kube_create(client, &KUBE_L2POLICIES, NULL, o, kube_sync_callback, &s, NULL));
        expect_ok(&s, "create policy");
        assert_int_equal(k8s_l2policy_decode(s.body, &pol, &err), 0);
        assert_true(pol->external_ips);
        k8s_l2policy_free(pol);
        kube_sync_done(&s);
        json_decref(o);
        SYNC(s,
             kube_delete(client, &KUBE_L2POLICIES, NULL, name, NULL, kube_sync_callback, &s, NULL));
        expect_ok(&s, "delete policy");
        kube_sync_done(&s);
}

static void test_node_and_endpointslice(void **state)
{
        struct kube_sync s;
        struct k8s_node *n = NULL;
        struct k8s_endpointslice *e = NULL;
        char *err = NULL, name[96];
        json_t *o;

        (void)state;
        snprintf(name, sizeof(name), "%s-node", ns);
        o = J("{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"labels\":{"
              "\"kubernetes.io/hostname\":\"%s\"}}}",
              name, name);
        SYNC(s, kube_create(client, &KUBE_NODES, NULL, o, kube_sync_callback, &s, NULL));
        expect_ok(&s, "create node");
        kube_sync_done(&s);
        json_decref(o);
        o = J("{\"spec\":{\"unschedulable\":true}}");
        SYNC(s, kube_patch(client, &KUBE_NODES, NULL, name, NULL, KUBE_PATCH_MERGE, o,
                           kube_sync_callback, &s, NULL));
        expect_ok(&s, "cordon");
        assert_int_equal(k8s_node_decode(s.body, &n, &err), 0);
        assert_true(n->unschedulable);
        k8s_node_free(n);
        kube_sync_done(&s);
        json_decref(o);
        SYNC(s, kube_delete(client, &KUBE_NODES, NULL, name, NULL, kube_sync_callback, &s, NULL));
        expect_ok(&s, "delete node");
        kube_sync_done(&s);

        /* discovery.k8s.io/v1 from 1.21 (the node in nodeName), v1beta1 on 1.20
         * (the node in the topology map; v1beta1 is gone since 1.25) */
        if (served("/apis/discovery.k8s.io/v1")) {
                o = J("{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
                      "\"metadata\":{\"name\":\"web-abc\",\"labels\":{\"kubernetes.io/"
                      "service-name\":\"web\"}},\"addressType\":\"IPv4\",\"endpoints\":[{"
                      "\"addresses\":[\"10.244.1.5\"],\"conditions\":{\"ready\":true},"
                      "\"nodeName\":\"kind-worker\"}],\"ports\":[{\"port\":80}]}");
                SYNC(s, kube_create(client, &KUBE_ENDPOINTSLICES_V1, ns, o, kube_sync_callback, &s,
                                    NULL));
        } else {
                o = J("{\"apiVersion\":\"discovery.k8s.io/v1beta1\",\"kind\":\"EndpointSlice\","
                      "\"metadata\":{\"name\":\"web-abc\",\"labels\":{\"kubernetes.io/"
                      "service-name\":\"web\"}},\"addressType\":\"IPv4\",\"endpoints\":[{"
                      "\"addresses\":[\"10.244.1.5\"],\"conditions\":{\"ready\":true},"
                      "\"topology\":{\"kubernetes.io/hostname\":\"kind-worker\"}}],"
                      "\"ports\":[{\"port\":80}]}");
                SYNC(s, kube_create(client, &KUBE_ENDPOINTSLICES_V1BETA1, ns, o, kube_sync_callback,
                                    &s, NULL));
        }
        expect_ok(&s, "create endpointslice");
        assert_int_equal(k8s_endpointslice_decode(s.body, &e, &err), 0);
        assert_string_equal(e->service_name, "web");
        assert_string_equal(e->endpoints[0].node_name, "kind-worker");
        k8s_endpointslice_free(e);
        kube_sync_done(&s);
        json_decref(o);
}

/* ---- list pagination ---- */

static void create_leases(const char *prefix, int n)
{
        for (int i = 0; i < n; i++) {
                struct kube_sync s;
                json_t *o = J("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                              "\"metadata\":{\"name\":\"%s-%02d\",\"labels\":{\"set\":\"%s\"}},"
                              "\"spec\":{\"holderIdentity\":\"n%d\"}}",
                              prefix, i, prefix, i % 3);

                SYNC(s, kube_create(client, &KUBE_LEASES, ns, o, kube_sync_callback, &s, NULL));
                expect_ok(&s, "create lease");
                kube_sync_done(&s);
                json_decref(o);
        }
}

static void test_list_pagination(void **state)
{
        struct kube_list_opts o = {.limit = 10, .label_selector = "set=page"};
        char cont[2048] = "";
        int pages = 0, items = 0;

        (void)state;
        create_leases("page", 25);
        do {
                struct kube_sync s;
                const char *c;

                o.continue_token = *cont ? cont : NULL;
                SYNC(s, kube_list(client, &KUBE_LEASES, ns, &o, kube_sync_callback, &s, NULL));
                expect_ok(&s, "list page");
                items += (int)json_array_size(json_object_get(s.body, "items"));
                c = json_string_value(
                    json_object_get(json_object_get(s.body, "metadata"), "continue"));
                snprintf(cont, sizeof(cont), "%s", c ? c : "");
                pages++;
                kube_sync_done(&s);
        } while (*cont && pages < 10);
        assert_int_equal(items, 25);
        assert_int_equal(pages, 3);

        /* field selector */
        {
                struct kube_sync s;
                struct kube_list_opts f = {.field_selector = "metadata.name=page-07"};

                SYNC(s, kube_list(client, &KUBE_LEASES, ns, &f, kube_sync_callback, &s, NULL));
                expect_ok(&s, "field selector");
                assert_int_equal(json_array_size(json_object_get(s.body, "items")), 1);
                kube_sync_done(&s);
        }
}

/* ---- informer ---- */

struct seen {
        int adds, updates, removes, synced;
        char last[128];
};

static void on_add(void *ud, const void *obj)
{
        struct seen *s = ud;
        const struct k8s_meta *m = obj;

        s->adds++;
        snprintf(s->last, sizeof(s->last), "add %s", m->name);
}

static void on_update(void *ud, const void *old, const void *obj)
{
        struct seen *s = ud;
        const struct k8s_lease *o = old, *n = obj;

        s->updates++;
        snprintf(s->last, sizeof(s->last), "update %s %s->%s", n->meta.name, strempty(o->holder),
                 strempty(n->holder));
}

static void on_remove(void *ud, const void *obj)
{
        struct seen *s = ud;
        const struct k8s_meta *m = obj;

        s->removes++;
        snprintf(s->last, sizeof(s->last), "remove %s", m->name);
}

static void on_synced(void *ud)
{
        ((struct seen *)ud)->synced++;
}

static const struct kube_informer_handlers handlers = {on_add, on_update, on_remove, on_synced};

static bool is_synced(void *d)
{
        return ((struct seen *)d)->synced > 0;
}

struct want {
        struct seen *s;
        const char *last;
};

static bool saw(void *d)
{
        struct want *w = d;

        return streq(w->s->last, w->last);
}

static void test_informer(void **state)
{
        struct kube_informer_options io = {
            .namespace = ns, .label_selector = "set=inf", .page_size = 4};
        struct kube_informer *inf = NULL;
        struct seen seen = {0};
        struct kube_sync s;
        struct want w = {&seen, NULL};
        json_t *o;

        (void)state;
        create_leases("inf", 9);
        assert_int_equal(
            kube_informer_new(client, &KUBE_LEASES, &K8S_TYPE_LEASE, &io, &handlers, &seen, &inf),
            0);
        kube_informer_start(inf);
        assert_true(run_until(is_synced, &seen, TIMEOUT));
        assert_int_equal(seen.adds, 9); /* three pages of 4, 4, 1 */
        assert_int_equal(kube_informer_count(inf), 9);
        assert_non_null(kube_informer_get(inf, ns, "inf-03"));

        /* watch events in order */
        o = J("{\"metadata\":{\"labels\":{\"set\":\"inf\"}},\"spec\":{\"holderIdentity\":\"nX\"}}");
        SYNC(s, kube_patch(client, &KUBE_LEASES, ns, "inf-03", NULL, KUBE_PATCH_MERGE, o,
                           kube_sync_callback, &s, NULL));
        expect_ok(&s, "patch");
        kube_sync_done(&s);
        json_decref(o);
        w.last = "update inf-03 n0->nX";
        assert_true(run_until(saw, &w, TIMEOUT));
        create_leases("inf-new", 1);
        w.last = "add inf-new-00";
        /* label inf-new does not match set=inf: nothing arrives; then a matching one */
        run_for(300000);
        assert_int_equal(seen.adds, 9);
        o = J("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{"
              "\"name\":\"inf-late\",\"labels\":{\"set\":\"inf\"}},\"spec\":{}}");
        SYNC(s, kube_create(client, &KUBE_LEASES, ns, o, kube_sync_callback, &s, NULL));
        expect_ok(&s, "create");
        kube_sync_done(&s);
        json_decref(o);
        w.last = "add inf-late";
        assert_true(run_until(saw, &w, TIMEOUT));
        SYNC(s,
             kube_delete(client, &KUBE_LEASES, ns, "inf-05", NULL, kube_sync_callback, &s, NULL));
        expect_ok(&s, "delete");
        kube_sync_done(&s);
        w.last = "remove inf-05";
        assert_true(run_until(saw, &w, TIMEOUT));
        assert_int_equal(kube_informer_count(inf), 9);
        assert_null(kube_informer_get(inf, ns, "inf-05"));
        assert_int_equal(seen.synced, 1);
        kube_informer_free(inf);
}

/* ---- errors ---- */

/* ---- a NUL in an annotation value ---- */

/* The apiserver accepts a NUL in an annotation value. Lists, the informer's
 * sync and its watch events must all get through: before JSON_ALLOW_NUL
 * every list of Services failed and the object's events were skipped. */

static const char *svc_note(const void *obj)
{
        const struct k8s_service *s = obj;

        return strempty(labels_get(&s->meta.annotations, "l2lb.io/note"));
}

static void on_svc_add(void *ud, const void *obj)
{
        struct seen *s = ud;

        s->adds++;
        snprintf(s->last, sizeof(s->last), "add %s %s", ((const struct k8s_meta *)obj)->name,
                 svc_note(obj));
}

static void on_svc_update(void *ud, const void *old, const void *obj)
{
        struct seen *s = ud;

        s->updates++;
        snprintf(s->last, sizeof(s->last), "update %s %s->%s", ((const struct k8s_meta *)obj)->name,
                 svc_note(old), svc_note(obj));
}

static const struct kube_informer_handlers svc_handlers = {on_svc_add, on_svc_update, on_remove,
                                                           on_synced};

static json_t *note_of(json_t *obj, const char *key)
{
        return json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"),
                               key);
}

static void test_nul_annotation(void **state)
{
        struct kube_informer_options io = {.namespace = ns, .label_selector = "set=nul"};
        struct kube_list_opts lo = {.label_selector = "set=nul"};
        struct kube_informer *inf = NULL;
        struct seen seen = {0};
        struct want w = {&seen, NULL};
        struct kube_sync s;
        const struct k8s_service *svc;
        json_t *o, *items, *note;

        (void)state;
        o = J("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"nul\","
              "\"labels\":{\"set\":\"nul\"},\"annotations\":{\"note\":\"a\\u0000b\","
              "\"l2lb.io/note\":\"x\\u0000y\"}},\"spec\":{\"type\":\"LoadBalancer\","
              "\"ports\":[{\"port\":80}]}}");
        SYNC(s, kube_create(client, &KUBE_SERVICES, ns, o, kube_sync_callback, &s, NULL));
        expect_ok(&s, "create service with a NUL in an annotation");
        kube_sync_done(&s);
        json_decref(o);

        /* the list decodes, the value whole */
        SYNC(s, kube_list(client, &KUBE_SERVICES, ns, &lo, kube_sync_callback, &s, NULL));
        expect_ok(&s, "list");
        items = json_object_get(s.body, "items");
        assert_int_equal(json_array_size(items), 1);
        note = note_of(json_array_get(items, 0), "note");
        assert_int_equal(json_string_length(note), 3);
        assert_memory_equal(json_string_value(note), "a\0b", 3);
        kube_sync_done(&s);

        /* the informer syncs; the kept annotation is whole (NUL spelled
         * \u0000), not cut at the NUL */
        assert_int_equal(kube_informer_new(client, &KUBE_SERVICES, &K8S_TYPE_SERVICE, &io,
                                           &svc_handlers, &seen, &inf),
                         0);
        kube_informer_start(inf);
        assert_true(run_until(is_synced, &seen, TIMEOUT));
        assert_int_equal(seen.adds, 1);
        svc = kube_informer_get(inf, ns, "nul");
        assert_non_null(svc);
        assert_string_equal(svc_note(svc), "x\\u0000y");
        assert_int_equal(strlen(svc_note(svc)), 8);

        /* MODIFIED then DELETED reach the handlers */
        o = J("{\"metadata\":{\"annotations\":{\"note\":\"c\\u0000d\",\"l2lb.io/note\":"
              "\"x\\u0000z\"}}}");
        SYNC(s, kube_patch(client, &KUBE_SERVICES, ns, "nul", NULL, KUBE_PATCH_MERGE, o,
                           kube_sync_callback, &s, NULL));
        expect_ok(&s, "patch");
        kube_sync_done(&s);
        json_decref(o);
        w.last = "update nul x\\u0000y->x\\u0000z";
        assert_true(run_until(saw, &w, TIMEOUT));
        SYNC(s, kube_delete(client, &KUBE_SERVICES, ns, "nul", NULL, kube_sync_callback, &s, NULL));
        expect_ok(&s, "delete");
        kube_sync_done(&s);
        w.last = "remove nul";
        assert_true(run_until(saw, &w, TIMEOUT));
        assert_int_equal(seen.removes, 1);
        assert_int_equal(kube_informer_count(inf), 0);
        kube_informer_free(inf);
}

static void test_forbidden(void **state)
{
        const char *env = getenv("L2LB_TESTENV");
        char path[] = "/tmp/l2lb-it-nobody-XXXXXX";
        struct kube_client *nobody;
        struct kube_sync s;
        int fd;

        (void)state;
        if (!env)
                skip();
        fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        /* the instance of KUBECONFIG: its state dir holds config.env with NAME */
        assert_int_equal(
            sh("\"%s\" kubeconfig --name \"$(basename \"$(dirname \"$KUBECONFIG\")\")\" "
               "--user nobody --out %s >/dev/null 2>&1",
               env, path),
            0);
        nobody = connect_to(path, 0, 0);
        memset(&s, 0, sizeof(s));
        assert_int_equal(kube_list(nobody, &KUBE_SERVICES, ns, NULL, kube_sync_callback, &s, NULL),
                         0);
        kube_sync_wait(nobody, &s, TIMEOUT);
        assert_int_equal(s.http_status, 403);
        assert_string_equal(s.reason, "Forbidden");
        assert_int_equal(s.error, -EACCES);
        assert_non_null(strstr(s.message, "User \"nobody\" cannot list resource \"services\""));
        kube_sync_done(&s);
        kube_client_free(nobody);
        unlink(path);
}

static void test_dead_server(void **state)
{
        struct kube_config cfg = {.server = "https://127.0.0.1:1", .insecure = true};
        struct kube_client *dead;
        struct kube_sync s = {0};
        uint64_t t0, t1;

        (void)state;
        assert_int_equal(kube_client_new(ev, &cfg, NULL, &dead), 0);
        sd_event_now(ev, CLOCK_MONOTONIC, &t0);
        /* a write is not retried: the error comes at once */
        assert_int_equal(kube_call(dead, "PUT", "/api/v1/namespaces/x/services/y", NULL, NULL, 0, 0,
                                   kube_sync_callback, &s, NULL),
                         0);
        kube_sync_wait(dead, &s, TIMEOUT);
        assert_true(s.done);
        assert_int_equal(s.error, -ECONNREFUSED);
        assert_int_equal(s.http_status, 0);
        kube_sync_done(&s);
        /* a read is retried with backoff, then fails */
        memset(&s, 0, sizeof(s));
        assert_int_equal(
            kube_call(dead, "GET", "/version", NULL, NULL, 0, 0, kube_sync_callback, &s, NULL), 0);
        kube_sync_wait(dead, &s, 60 * USEC_PER_SEC);
        sd_event_now(ev, CLOCK_MONOTONIC, &t1);
        assert_true(s.done);
        assert_int_equal(s.error, -ECONNREFUSED);
        assert_true(t1 - t0 > 1 * USEC_PER_SEC); /* it did back off */
        kube_sync_done(&s);
        /* cancelled calls never call back, and freeing with calls pending is clean */
        memset(&s, 0, sizeof(s));
        {
                struct kube_call *call;

                assert_int_equal(kube_call(dead, "GET", "/version", NULL, NULL, 0, 0,
                                           kube_sync_callback, &s, &call),
                                 0);
                kube_call_cancel(call);
                assert_int_equal(kube_call(dead, "GET", "/version", NULL, NULL, 0, 0,
                                           kube_sync_callback, &s, NULL),
                                 0);
        }
        run_for(200000);
        kube_client_free(dead);
        assert_false(s.done);
}

static int order_counter;

struct ordered {
        struct kube_sync s;
        int order;
};

static void ordered_cb(struct kube_client *c, const struct kube_result *res, void *ud)
{
        struct ordered *o = ud;

        o->order = ++order_counter;
        kube_sync_callback(c, res, &o->s);
}

static void test_rate_limit(void **state)
{
        struct kube_client *slow = connect_to(NULL, 5, 1);
        struct ordered s[7];
        uint64_t t0, t1;

        (void)state;
        sd_event_now(ev, CLOCK_MONOTONIC, &t0);
        memset(s, 0, sizeof(s));
        order_counter = 0;
        for (int i = 0; i < 6; i++)
                assert_int_equal(
                    kube_call(slow, "GET", "/version", NULL, NULL, 0, 0, ordered_cb, &s[i], NULL),
                    0);
        /* a priority call queued last overtakes the waiting ones */
        assert_int_equal(kube_call(slow, "GET", "/version", NULL, NULL, KUBE_CALL_PRIORITY, 0,
                                   ordered_cb, &s[6], NULL),
                         0);
        for (int i = 0; i < 7; i++) {
                kube_sync_wait(slow, &s[i].s, TIMEOUT);
                expect_ok(&s[i].s, "version");
                kube_sync_done(&s[i].s);
        }
        sd_event_now(ev, CLOCK_MONOTONIC, &t1);
        /* burst 1 then 5 per second: the seventh starts after ~1.2 s */
        assert_true(t1 - t0 >= 1100 * USEC_PER_MSEC);
        assert_true(kube_client_throttled_usec(slow) >= 2 * USEC_PER_SEC);
        assert_true(s[6].order <= 2);
        kube_client_free(slow);
}

/* ---- 429 and Retry-After ---- */

/* The apiserver's priority and fairness rejects with 429 and "Retry-After: 1"
 * what a priority level cannot seat: a level with the smallest share (a few
 * seats) and limitResponse Reject, for the user l2lb-tester only
 * (system:masters is exempt from priority and fairness). API v1beta1 in 1.20,
 * v1 from 1.29, where the share is nominalConcurrencyShares and a level may
 * borrow seats unless borrowingLimitPercent is 0. */
#define APF_LEVEL  "l2lb-test-reject"
#define APF_SCHEMA "l2lb-test-reject-tester"
#define APF_GROUP  "/apis/flowcontrol.apiserver.k8s.io/"

static const char *apf_version(void)
{
        static const char *v;

        if (!v)
                v = served(APF_GROUP "v1") ? "v1" : "v1beta1";
        return v;
}

static char *apf_path(const char *rest)
{
        return xasprintf(APF_GROUP "%s%s", apf_version(), rest);
}

struct observed {
        char path[200];
        long status;
        uint64_t at;
};
static struct {
        struct observed ev[1024];
        size_t n;
} apf_seen;

static void observe(const char *method, const char *path, long status, uint64_t dur, void *ud)
{
        (void)method;
        (void)dur;
        (void)ud;
        if (apf_seen.n < sizeof(apf_seen.ev) / sizeof(apf_seen.ev[0])) {
                struct observed *o = &apf_seen.ev[apf_seen.n++];

                snprintf(o->path, sizeof(o->path), "%s", path);
                o->status = status;
                sd_event_now(ev, CLOCK_MONOTONIC, &o->at);
        }
}

static void admin_call(const char *method, const char *path, json_t *body, bool may_fail)
{
        struct kube_sync s;

        SYNC(s, kube_call(client, method, path, body, NULL, 0, 0, kube_sync_callback, &s, NULL));
        if (!may_fail)
                expect_ok(&s, path);
        kube_sync_done(&s);
}

/* Static: a failed assertion leaves calls in flight, whose callbacks must
 * not write into a stack frame that is gone. */
static struct kube_client *apf_tester;
static struct kube_sync apf_sync[8];

static void apf_cleanup(void)
{
        kube_client_free(apf_tester);
        apf_tester = NULL;
        _cleanup_free_ char *schema = apf_path("/flowschemas/" APF_SCHEMA),
                            *level = apf_path("/prioritylevelconfigurations/" APF_LEVEL);

        admin_call("DELETE", schema, NULL, true);
        admin_call("DELETE", level, NULL, true);
}

static char *tester_token(void)
{
        _cleanup_free_ char *kc = strdup(getenv("KUBECONFIG")), *path = NULL;
        char *tok = NULL;

        /* next to the instance's admin kubeconfig */
        *strrchr(kc, '/') = '\0';
        path = xasprintf("%s/tester.token", kc);
        if (read_full_file(path, &tok, NULL) < 0)
                fail_msg("cannot read %s (an instance of scripts/kube-testenv writes it)", path);
        strstrip(tok);
        return tok;
}

static void test_retry_after_429(void **state)
{
        enum { PARALLEL = sizeof(apf_sync) / sizeof(apf_sync[0]), BURSTS = 20 };
        struct kube_config *cfg = NULL;
        struct kube_client_options o = {.user_agent = "l2lb-test"};
        _cleanup_free_ char *data = malloc(60001), *levels = NULL, *schemas = NULL;
        char *err = NULL;
        size_t n429 = 0, checked = 0;
        json_t *obj;

        (void)state;
        apf_cleanup();
        levels = apf_path("/prioritylevelconfigurations");
        schemas = apf_path("/flowschemas");
        /* the tester may list ConfigMaps in the test's namespace */
        {
                _cleanup_free_ char *
                    roles = xasprintf("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles", ns),
                   *bindings = xasprintf(
                       "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings", ns);

                obj = J("{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\","
                        "\"metadata\":{\"name\":\"tester\"},\"rules\":[{\"apiGroups\":[\"\"],"
                        "\"resources\":[\"configmaps\"],\"verbs\":[\"get\",\"list\"]}]}");
                admin_call("POST", roles, obj, false);
                json_decref(obj);
                obj = J("{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":"
                        "\"RoleBinding\",\"metadata\":{\"name\":\"tester\"},\"subjects\":[{"
                        "\"kind\":\"User\",\"name\":\"l2lb-tester\",\"apiGroup\":"
                        "\"rbac.authorization.k8s.io\"}],\"roleRef\":{\"kind\":\"Role\","
                        "\"name\":\"tester\",\"apiGroup\":\"rbac.authorization.k8s.io\"}}");
                admin_call("POST", bindings, obj, false);
                json_decref(obj);
        }
        if (streq(apf_version(), "v1"))
                obj = J("{\"apiVersion\":\"flowcontrol.apiserver.k8s.io/v1\",\"kind\":"
                        "\"PriorityLevelConfiguration\",\"metadata\":{\"name\":\"" APF_LEVEL
                        "\"},\"spec\":{\"type\":\"Limited\",\"limited\":{"
                        "\"nominalConcurrencyShares\":1,\"lendablePercent\":0,"
                        "\"borrowingLimitPercent\":0,\"limitResponse\":{\"type\":\"Reject\"}}}}");
        else
                obj =
                    J("{\"apiVersion\":\"flowcontrol.apiserver.k8s.io/v1beta1\",\"kind\":"
                      "\"PriorityLevelConfiguration\",\"metadata\":{\"name\":\"" APF_LEVEL
                      "\"},\"spec\":{\"type\":\"Limited\",\"limited\":{"
                      "\"assuredConcurrencyShares\":1,\"limitResponse\":{\"type\":\"Reject\"}}}}");
        admin_call("POST", levels, obj, false);
        json_decref(obj);
        obj =
            J("{\"apiVersion\":\"flowcontrol.apiserver.k8s.io/%s\",\"kind\":\"FlowSchema\","
              "\"metadata\":{\"name\":\"" APF_SCHEMA "\"},\"spec\":{"
              "\"priorityLevelConfiguration\":{\"name\":\"" APF_LEVEL "\"},"
              "\"matchingPrecedence\":100,\"distinguisherMethod\":{\"type\":\"ByUser\"},"
              "\"rules\":[{\"subjects\":[{\"kind\":\"User\",\"user\":{\"name\":\"l2lb-tester\"}}],"
              "\"resourceRules\":[{\"verbs\":[\"*\"],\"apiGroups\":[\"*\"],\"resources\":[\"*\"],"
              "\"namespaces\":[\"*\"],\"clusterScope\":true}]}]}}",
              apf_version());
        admin_call("POST", schemas, obj, false);
        json_decref(obj);
        /* lists that take a while, so that parallel ones overlap */
        assert_non_null(data);
        memset(data, 'x', 60000);
        data[60000] = '\0';
        for (int i = 0; i < 30; i++) {
                _cleanup_free_ char *p = xasprintf("/api/v1/namespaces/%s/configmaps", ns),
                                    *name = xasprintf("big-%d", i);

                obj = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
                                "ConfigMap", "metadata", "name", name, "data", "x", data);
                assert_non_null(obj);
                admin_call("POST", p, obj, false);
                json_decref(obj);
        }

        if (kube_config_load(NULL, &cfg, &err) < 0)
                fail_msg("kubeconfig: %s", err);
        free(cfg->token);
        cfg->token = tester_token();
        assert_int_equal(kube_client_new(ev, cfg, &o, &apf_tester), 0);
        kube_config_free(cfg);
        kube_client_set_observer(apf_tester, observe, NULL);
        apf_seen.n = 0;
        /* The apiserver applies new flow schemas within a moment: bursts of
         * parallel lists, each with a path of its own, until one met a 429. */
        for (int b = 0; b < BURSTS && n429 == 0; b++) {
                struct kube_sync *s = apf_sync;

                memset(apf_sync, 0, sizeof(apf_sync));
                for (int i = 0; i < PARALLEL; i++) {
                        _cleanup_free_ char *p = xasprintf(
                            "/api/v1/namespaces/%s/configmaps?labelSelector=burst%%21%%3Db%d-%d",
                            ns, b, i);

                        assert_int_equal(kube_call(apf_tester, "GET", p, NULL, NULL, 0, 0,
                                                   kube_sync_callback, &s[i], NULL),
                                         0);
                }
                for (int i = 0; i < PARALLEL; i++) {
                        kube_sync_wait(apf_tester, &s[i], TIMEOUT);
                        /* every request ends well, retried as often as it took */
                        expect_ok(&s[i], "list as l2lb-tester");
                        assert_int_equal(json_array_size(json_object_get(s[i].body, "items")), 30);
                        kube_sync_done(&s[i]);
                }
                for (size_t i = 0; i < apf_seen.n; i++)
                        n429 += apf_seen.ev[i].status == 429;
                if (n429 == 0)
                        run_for(200000);
        }
        fprintf(stderr, "test_retry_after_429: %zu responses, %zu of them 429\n", apf_seen.n, n429);
        assert_true(n429 > 0);
        /* each retry of a rejected request started after Retry-After (1 s),
         * not after the 150-250 ms of the first backoff step */
        for (size_t i = 0; i < apf_seen.n; i++) {
                if (apf_seen.ev[i].status != 429)
                        continue;
                for (size_t j = i + 1; j < apf_seen.n; j++)
                        if (streq(apf_seen.ev[j].path, apf_seen.ev[i].path)) {
                                assert_true(apf_seen.ev[j].at - apf_seen.ev[i].at >=
                                            990 * USEC_PER_MSEC);
                                checked++;
                                break;
                        }
        }
        assert_int_equal(checked, n429);
        apf_cleanup();
}

static void test_events(void **state)
{
        struct kube_recorder *rec = NULL;
        struct kube_object_ref ref = {.api_version = "v1",
                                      .kind = "Service",
                                      .namespace = ns,
                                      .name = "evt-svc",
                                      .uid = "1234"};
        struct kube_list_opts o = {.field_selector = "involvedObject.name=evt-svc"};
        struct kube_sync s;
        json_t *items;

        (void)state;
        assert_int_equal(kube_recorder_new(client, "l2lb-test", "node-a", &rec), 0);
        kube_event(rec, &ref, "Normal", "IPAllocated", "Assigned IP %s from pool %s", "12.0.0.128",
                   "pool-blue");
        run_for(500000);
        kube_event(rec, &ref, "Normal", "IPAllocated", "Assigned IP %s from pool %s", "12.0.0.128",
                   "pool-blue");
        kube_event(rec, &ref, "Warning", "NoPool", "no pool");
        run_for(1000000);
        SYNC(s, kube_list(client, &KUBE_EVENTS, ns, &o, kube_sync_callback, &s, NULL));
        expect_ok(&s, "list events");
        items = json_object_get(s.body, "items");
        assert_int_equal(json_array_size(items), 2);
        for (size_t i = 0; i < json_array_size(items); i++) {
                json_t *e = json_array_get(items, i);
                const char *reason = json_string_value(json_object_get(e, "reason"));

                if (streq(reason, "IPAllocated")) {
                        assert_int_equal(json_integer_value(json_object_get(e, "count")), 2);
                        assert_string_equal(json_string_value(json_object_get(e, "message")),
                                            "Assigned IP 12.0.0.128 from pool pool-blue");
                        assert_string_equal(json_string_value(json_object_get(
                                                json_object_get(e, "source"), "component")),
                                            "l2lb-test");
                } else {
                        assert_string_equal(reason, "NoPool");
                        assert_string_equal(json_string_value(json_object_get(e, "type")),
                                            "Warning");
                }
        }
        kube_sync_done(&s);
        kube_recorder_free(rec);
}

/* Every watch and request of a client shares one HTTP/2 connection. */
static void test_http2_one_connection(void **state)
{
        static const struct kube_resource *const res[] = {&KUBE_SERVICES, &KUBE_LEASES, &KUBE_NODES,
                                                          &KUBE_IPPOOLS};
        static const struct k8s_type *const types[] = {&K8S_TYPE_SERVICE, &K8S_TYPE_LEASE,
                                                       &K8S_TYPE_NODE, &K8S_TYPE_IPPOOL};
        struct kube_client *c = connect_to(NULL, 0, 0);
        struct kube_informer *inf[4];
        struct seen seen[4];
        char cmd[512], line[64] = "";
        FILE *f;
        int n = -1;

        (void)state;
        memset(seen, 0, sizeof(seen));
        for (int i = 0; i < 4; i++) {
                assert_int_equal(
                    kube_informer_new(c, res[i], types[i], NULL, NULL, &seen[i], &inf[i]), 0);
                kube_informer_start(inf[i]);
        }
        for (int i = 0; i < 4; i++)
                while (!kube_informer_synced(inf[i]))
                        sd_event_run(ev, 50000);
        run_for(300000); /* the watches are open */
        snprintf(cmd, sizeof(cmd), "ss -tnpH state established 2>/dev/null | grep -c 'pid=%d,'",
                 (int)getpid());
        f = popen(cmd, "r");
        assert_non_null(f);
        if (fgets(line, sizeof(line), f))
                n = atoi(line);
        pclose(f);
        /* this process also holds the shared client's connection */
        assert_true(n >= 1 && n <= 2);
        for (int i = 0; i < 4; i++)
                kube_informer_free(inf[i]);
        kube_client_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_service_crud),     cmocka_unit_test(test_lease_update_conflict),
            cmocka_unit_test(test_custom_resources), cmocka_unit_test(test_node_and_endpointslice),
            cmocka_unit_test(test_list_pagination),  cmocka_unit_test(test_informer),
            cmocka_unit_test(test_forbidden),        cmocka_unit_test(test_dead_server),
            cmocka_unit_test(test_rate_limit),       cmocka_unit_test(test_retry_after_429),
            cmocka_unit_test(test_events),           cmocka_unit_test(test_http2_one_connection),
            cmocka_unit_test(test_nul_annotation),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

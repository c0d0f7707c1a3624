/* Informers recovering from the control plane going away, on an instance of
 * their own (scripts/kube-testenv): a watch that survives an apiserver
 * restart, and a relist after "410 Gone" forced by changing etcd behind the
 * apiserver's back and compacting it — the informer must emit exactly the
 * differences (one delete, one add) and end with the API's view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kube/api.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "lib/util.h"

#define TIMEOUT (60 * USEC_PER_SEC)

static sd_event *ev;
static struct kube_client *client;
static char instance[64];
static char kubeconfig[512];
static const char *testenv;

static int sh(const char *fmt, ...) _printf_(1, 2);
static int sh(const char *fmt, ...)
{
        char cmd[4096];
        va_list ap;
        int r;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        r = system(cmd);
        return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static int setup(void **state)
{
        struct kube_config *cfg = NULL;
        char *err = NULL, line[1024] = "";
        FILE *p;
        char cmd[1024];

        (void)state;
        testenv = getenv("L2LB_TESTENV");
        if (!testenv) {
                fprintf(stderr, "L2LB_TESTENV is not set: run through scripts/run-tests\n");
                return -1;
        }
        snprintf(instance, sizeof(instance), "it-recovery-%d", (int)getpid());
        snprintf(cmd, sizeof(cmd), "\"%s\" up --name %s --port 0 2>/dev/null", testenv, instance);
        p = popen(cmd, "r");
        if (!p)
                return -1;
        while (fgets(line, sizeof(line), p))
                if (startswith(line, "export KUBECONFIG="))
                        snprintf(kubeconfig, sizeof(kubeconfig), "%s",
                                 strstrip(line + strlen("export KUBECONFIG=")));
        if (pclose(p) != 0 || !*kubeconfig) {
                fprintf(stderr, "kube-testenv up failed\n");
                return -1;
        }
        if (sd_event_new(&ev) < 0 || kube_config_load(kubeconfig, &cfg, &err) < 0)
                return -1;
        if (kube_client_new(ev, cfg, NULL, &client) < 0)
                return -1;
        kube_config_free(cfg);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        kube_client_free(client);
        sd_event_unref(ev);
        sh("\"%s\" down --name %s >/dev/null 2>&1", testenv, instance);
        return 0;
}

struct seen {
        int adds, updates, removes, synced;
        char log[1024];
};

static void note(struct seen *s, const char *what, const void *obj)
{
        const struct k8s_meta *m = obj;
        size_t l = strlen(s->log);

        snprintf(s->log + l, sizeof(s->log) - l, "%s%s %s", l ? "," : "", what, m->name);
}

static void on_add(void *ud, const void *obj)
{
        ((struct seen *)ud)->adds++;
        note(ud, "add", obj);
}

static void on_update(void *ud, const void *old, const void *obj)
{
        (void)old;
        ((struct seen *)ud)->updates++;
        note(ud, "update", obj);
}

static void on_remove(void *ud, const void *obj)
{
        ((struct seen *)ud)->removes++;
        note(ud, "remove", obj);
}

static void on_synced(void *ud)
{
        ((struct seen *)ud)->synced++;
}

static const struct kube_informer_handlers handlers = {on_add, on_update, on_remove, on_synced};

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

static bool is_synced(void *d)
{
        return ((struct seen *)d)->synced > 0;
}

struct logwant {
        struct seen *s;
        const char *needle;
};

static bool log_has(void *d)
{
        struct logwant *w = d;

        return strstr(w->s->log, w->needle) != NULL;
}

static void create(const struct kube_resource *r, const char *ns, const char *json)
{
        struct kube_sync s = {0};
        json_t *o = json_loads(json, 0, NULL);

        assert_non_null(o);
        assert_int_equal(kube_create(client, r, ns, o, kube_sync_callback, &s, NULL), 0);
        kube_sync_wait(client, &s, TIMEOUT);
        if (s.error)
                fail_msg("create: %s", s.message);
        kube_sync_done(&s);
        json_decref(o);
}

static void test_watch_survives_apiserver_restart(void **state)
{
        struct kube_informer_options io = {.namespace = "default"};
        struct kube_informer *inf = NULL;
        struct seen seen = {0};
        struct logwant w = {&seen, "add after-restart"};

        (void)state;
        create(&KUBE_LEASES, "default",
               "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{"
               "\"name\":\"before-restart\"},\"spec\":{}}");
        assert_int_equal(
            kube_informer_new(client, &KUBE_LEASES, &K8S_TYPE_LEASE, &io, &handlers, &seen, &inf),
            0);
        kube_informer_start(inf);
        assert_true(run_until(is_synced, &seen, TIMEOUT));
        assert_int_equal(seen.adds, 1);

        assert_int_equal(sh("\"%s\" stop-apiserver --name %s >/dev/null 2>&1", testenv, instance),
                         0);
        /* let the informer notice and back off against a dead server */
        {
                uint64_t t0, t;

                sd_event_now(ev, CLOCK_MONOTONIC, &t0);
                do {
                        sd_event_run(ev, 100000);
                        sd_event_now(ev, CLOCK_MONOTONIC, &t);
                } while (t - t0 < 3 * USEC_PER_SEC);
        }
        assert_int_equal(sh("\"%s\" start-apiserver --name %s >/dev/null 2>&1", testenv, instance),
                         0);
        create(&KUBE_LEASES, "default",
               "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{"
               "\"name\":\"after-restart\"},\"spec\":{}}");
        assert_true(run_until(log_has, &w, TIMEOUT));
        assert_int_equal(kube_informer_count(inf), 2);
        /* nothing was emitted twice and nothing removed */
        assert_int_equal(seen.adds, 2);
        assert_int_equal(seen.removes, 0);
        {
                struct kube_informer_stats st;

                kube_informer_get_stats(inf, &st);
                assert_true(st.watch_errors >= 1);
        }
        kube_informer_free(inf);
}

static long etcd_revision(void)
{
        char cmd[1024], buf[4096] = "";
        const char *p;
        FILE *f;

        snprintf(cmd, sizeof(cmd),
                 "\"%s\" etcdctl --name %s -- put /l2lb-test/bump x -w json 2>/dev/null", testenv,
                 instance);
        f = popen(cmd, "r");
        assert_non_null(f);
        if (!fgets(buf, sizeof(buf), f))
                buf[0] = 0;
        pclose(f);
        p = strstr(buf, "\"revision\":");
        assert_non_null(p);
        return strtol(p + strlen("\"revision\":"), NULL, 10);
}

static void test_relist_after_gone(void **state)
{
        struct kube_informer *inf = NULL;
        struct seen seen = {0};
        struct logwant w = {&seen, "add pool-c"};
        struct kube_informer_stats st;
        long rev;

        (void)state;
        create(&KUBE_IPPOOLS, NULL,
               "{\"apiVersion\":\"cilium.io/v2\",\"kind\":\"CiliumLoadBalancerIPPool\",\"metadata\""
               ":{\"name\":\"pool-a\"},\"spec\":{\"blocks\":[{\"cidr\":\"10.1.0.0/24\"}]}}");
        create(&KUBE_IPPOOLS, NULL,
               "{\"apiVersion\":\"cilium.io/v2\",\"kind\":\"CiliumLoadBalancerIPPool\",\"metadata\""
               ":{\"name\":\"pool-b\"},\"spec\":{\"blocks\":[{\"cidr\":\"10.2.0.0/24\"}]}}");
        assert_int_equal(kube_informer_new(client, &KUBE_IPPOOLS, &K8S_TYPE_IPPOOL, NULL, &handlers,
                                           &seen, &inf),
                         0);
        kube_informer_start(inf);
        assert_true(run_until(is_synced, &seen, TIMEOUT));
        assert_string_equal(seen.log, "add pool-a,add pool-b");
        seen.log[0] = 0;

        /* behind the apiserver's back: pool-a goes, pool-c appears, history is compacted */
        assert_int_equal(sh("\"%s\" stop-apiserver --name %s >/dev/null 2>&1", testenv, instance),
                         0);
        assert_int_equal(
            sh("\"%s\" etcdctl --name %s -- del /registry/cilium.io/ciliumloadbalancerippools/"
               "pool-a >/dev/null",
               testenv, instance),
            0);
        assert_int_equal(
            sh("\"%s\" etcdctl --name %s -- put /registry/cilium.io/ciliumloadbalancerippools/"
               "pool-c '{\"apiVersion\":\"cilium.io/v2\",\"kind\":\"CiliumLoadBalancerIPPool\","
               "\"metadata\":{\"name\":\"pool-c\",\"uid\":\"0b9e5c1e-0000-4000-8000-00000000000c\","
               "\"generation\":1,\"creationTimestamp\":\"2026-11-26T10:00:00Z\"},\"spec\":{"
               "\"blocks\":[{\"cidr\":\"10.3.0.0/24\"}]}}' >/dev/null",
               testenv, instance),
            0);
        rev = etcd_revision();
        assert_int_equal(
            sh("\"%s\" etcdctl --name %s -- compact %ld >/dev/null", testenv, instance, rev), 0);
        assert_int_equal(sh("\"%s\" start-apiserver --name %s >/dev/null 2>&1", testenv, instance),
                         0);

        assert_true(run_until(log_has, &w, TIMEOUT));
        /* exactly the differences: pool-a removed, pool-c added, pool-b untouched */
        assert_string_equal(seen.log, "remove pool-a,add pool-c");
        assert_int_equal(kube_informer_count(inf), 2);
        assert_non_null(kube_informer_get(inf, NULL, "pool-b"));
        assert_non_null(kube_informer_get(inf, NULL, "pool-c"));
        assert_null(kube_informer_get(inf, NULL, "pool-a"));
        kube_informer_get_stats(inf, &st);
        assert_int_equal(st.lists, 2);
        assert_int_equal(seen.synced, 1);
        kube_informer_free(inf);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_watch_survives_apiserver_restart),
            cmocka_unit_test(test_relist_after_gone),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

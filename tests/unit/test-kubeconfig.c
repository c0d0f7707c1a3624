/* kubeconfig and in-cluster configuration: good files, every way a bad one
 * fails, $KUBECONFIG merging and the tls-server-name route. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tfile.h"

#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "lib/util.h"

static char dir[] = "/tmp/l2lb-test-kubeconfig-XXXXXX";

static int setup(void **state)
{
        (void)state;
        if (!mkdtemp(dir))
                return -1;
        twrite_file(dir, "ca.crt", "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
        twrite_file(dir, "token", "file-token\n");
        return 0;
}

static int teardown(void **state)
{
        char cmd[600];

        (void)state;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd);
}

#define HEAD                                                                                       \
        "apiVersion: v1\nkind: Config\ncurrent-context: test\n"                                    \
        "contexts:\n- name: other\n  context: {cluster: nope, user: nope}\n"                       \
        "- name: test\n  context:\n    cluster: c1\n    user: u1\n    namespace: lab\n"

static struct kube_config *parse_ok(const char *text)
{
        struct kube_config *c = NULL;
        char *err = NULL;

        if (kube_config_parse(text, strlen(text), dir, &c, &err) < 0)
                fail_msg("parse failed: %s", err);
        return c;
}

static void expect_error(const char *text, const char *fragment)
{
        struct kube_config *c = NULL;
        char *err = NULL;

        assert_true(kube_config_parse(text, strlen(text), dir, &c, &err) < 0);
        assert_null(c);
        assert_non_null(err);
        if (!strstr(err, fragment))
                fail_msg("error \"%s\" lacks \"%s\"", err, fragment);
        free(err);
}

static void test_token_and_ca_file(void **state)
{
        struct kube_config *c;

        (void)state;
        c = parse_ok(HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://127.0.0.1:6443/\n"
                          "    certificate-authority: ca.crt\n"
                          "users:\n- name: u1\n  user:\n    token: abc123\n");
        assert_string_equal(c->server, "https://127.0.0.1:6443");
        assert_non_null(c->ca_data);
        assert_non_null(strstr(c->ca_data, "BEGIN CERTIFICATE"));
        assert_string_equal(c->token, "abc123");
        assert_string_equal(c->namespace, "lab");
        assert_false(c->insecure);
        kube_config_free(c);
}

static void test_data_fields(void **state)
{
        struct kube_config *c;

        (void)state;
        /* "hello" / "cert" / "key" in base64 */
        c = parse_ok(HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://k:6443\n"
                          "    certificate-authority-data: aGVsbG8=\n"
                          "users:\n- name: u1\n  user:\n    client-certificate-data: Y2VydA==\n"
                          "    client-key-data: a2V5\n");
        assert_int_equal(c->ca_len, 5);
        assert_memory_equal(c->ca_data, "hello", 5);
        assert_memory_equal(c->cert_data, "cert", 4);
        assert_memory_equal(c->key_data, "key", 3);
        kube_config_free(c);
}

static void test_token_file_insecure_json(void **state)
{
        struct kube_config *c;
        char text[1024];

        (void)state;
        snprintf(text, sizeof(text),
                 "{\"current-context\":\"t\",\"contexts\":[{\"name\":\"t\",\"context\":{"
                 "\"cluster\":\"c\",\"user\":\"u\"}}],\"clusters\":[{\"name\":\"c\",\"cluster\":{"
                 "\"server\":\"https://[::1]:6443\",\"insecure-skip-tls-verify\":true}}],"
                 "\"users\":[{\"name\":\"u\",\"user\":{\"tokenFile\":\"%s/token\"}}]}",
                 dir);
        c = parse_ok(text);
        assert_true(c->insecure);
        assert_non_null(strstr(c->token_file, "/token"));
        assert_null(c->token);
        kube_config_free(c);
}

static void test_bad(void **state)
{
        (void)state;
        expect_error("{", "not valid YAML");
        expect_error("- a\n- b\n", "not a mapping");
        expect_error("apiVersion: v1\n", "no current-context");
        expect_error("current-context: x\n", "context \"x\" not found");
        expect_error(HEAD "clusters: []\n", "cluster \"c1\" not found");
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {}\n", "has no server");
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: ftp://x}\n",
                     "not an http(s) URL");
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://x', "
                          "certificate-authority-data: '!!!'}\n",
                     "certificate-authority-data is not valid base64");
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://x', "
                          "certificate-authority: missing.crt}\n",
                     "cannot read certificate-authority");
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://x'}\n"
                          "users: []\n",
                     "user \"u1\" not found");
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://x'}\n"
                          "users:\n- name: u1\n  user:\n    exec: {command: aws}\n",
                     "exec and auth-provider credentials are not supported");
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://x'}\n"
                          "users:\n- name: u1\n  user: {username: a, password: b}\n",
                     "basic authentication is not supported");
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://x'}\n"
                          "users:\n- name: u1\n  user: {client-certificate-data: Y2VydA==}\n",
                     "needs both certificate and key");
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://x'}\n"
                          "users:\n- name: u1\n  user: {tokenFile: /nonexistent/token}\n",
                     "cannot read tokenFile");
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: [a]}\n", "has no server");
}

static void test_file_and_in_cluster(void **state)
{
        struct kube_config *c = NULL;
        char *err = NULL, path[600];

        (void)state;
        assert_true(kube_config_from_file("/nonexistent/kubeconfig", &c, &err) < 0);
        assert_non_null(strstr(err, "cannot read kubeconfig"));
        free(err);

        twrite_file(dir, "kc",
                    HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://h:1\n"
                         "    certificate-authority: ca.crt\n"
                         "users:\n- name: u1\n  user: {token: t}\n");
        snprintf(path, sizeof(path), "%s/kc", dir);
        assert_int_equal(kube_config_from_file(path, &c, &err), 0);
        assert_non_null(c->ca_data); /* relative to the kubeconfig's directory */
        kube_config_free(c);

        unsetenv("KUBERNETES_SERVICE_HOST");
        err = NULL;
        assert_int_equal(kube_config_in_cluster(dir, &c, &err), -ENOENT);
        assert_non_null(strstr(err, "not running in a cluster"));
        free(err);
        setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
        setenv("KUBERNETES_SERVICE_PORT", "443", 1);
        twrite_file(dir, "namespace", "kube-system\n");
        assert_int_equal(kube_config_in_cluster(dir, &c, &err), 0);
        assert_string_equal(c->server, "https://10.96.0.1:443");
        assert_string_equal(c->namespace, "kube-system");
        assert_non_null(c->ca_data);
        kube_config_free(c);
        setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
        assert_int_equal(kube_config_in_cluster(dir, &c, &err), 0);
        assert_string_equal(c->server, "https://[fd00::1]:443");
        kube_config_free(c);
        unsetenv("KUBERNETES_SERVICE_HOST");
        unsetenv("KUBERNETES_SERVICE_PORT");
}

#define CLUSTER_HTTP "clusters:\n- name: c1\n  cluster: {server: 'http://127.0.0.1:8080'}\n"

static void test_no_credentials_over_http(void **state)
{
        struct kube_config *c;

        (void)state;
        expect_error(HEAD CLUSTER_HTTP "users:\n- name: u1\n  user: {token: abc}\n",
                     "refusing to send credentials to the plain http server "
                     "http://127.0.0.1:8080");
        expect_error(HEAD CLUSTER_HTTP "users:\n- name: u1\n  user: {tokenFile: token}\n",
                     "refusing to send credentials");
        expect_error(HEAD CLUSTER_HTTP "users:\n- name: u1\n  user: {client-certificate-data: "
                                       "Y2VydA==, client-key-data: a2V5}\n",
                     "refusing to send credentials");
        expect_error(HEAD CLUSTER_HTTP "users:\n- name: u1\n  user: {username: a, password: b}\n",
                     "basic authentication is not supported");
        /* anonymous over http stays allowed */
        c = parse_ok(HEAD CLUSTER_HTTP "users:\n- name: u1\n  user: {}\n");
        assert_string_equal(c->server, "http://127.0.0.1:8080");
        assert_null(c->token);
        kube_config_free(c);
}

static void test_insecure_with_ca(void **state)
{
        (void)state;
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://x', "
                          "insecure-skip-tls-verify: true, certificate-authority-data: aGVsbG8=}\n",
                     "cluster \"c1\": specifying a root certificates file with the insecure flag "
                     "is not allowed");
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://x', "
                          "insecure-skip-tls-verify: true, certificate-authority: ca.crt}\n",
                     "specifying a root certificates file with the insecure flag");
}

static void test_empty_token_file(void **state)
{
        struct kube_config *c = NULL;
        char *err = NULL, sa[600], path[700];

        (void)state;
        twrite_file(dir, "empty-token", " \n");
        snprintf(path, sizeof(path), "user \"u1\": tokenFile %s/empty-token is empty", dir);
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://x'}\n"
                          "users:\n- name: u1\n  user: {tokenFile: empty-token}\n",
                     path);

        snprintf(sa, sizeof(sa), "%s/sa", dir);
        assert_int_equal(mkdir(sa, 0700), 0);
        twrite_file(sa, "token", "");
        twrite_file(sa, "ca.crt", "CA");
        setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
        setenv("KUBERNETES_SERVICE_PORT", "443", 1);
        assert_int_equal(kube_config_in_cluster(sa, &c, &err), -EINVAL);
        assert_null(c);
        snprintf(path, sizeof(path), "in-cluster: token file %s/token is empty", sa);
        assert_string_equal(err, path);
        free(err);
        unsetenv("KUBERNETES_SERVICE_HOST");
        unsetenv("KUBERNETES_SERVICE_PORT");
}

static void expect_route(const char *server, const char *name, const char *url,
                         const char *connect_to, const char *host)
{
        struct kube_config c = {.server = (char *)server, .tls_server_name = (char *)name};
        char *u, *ct, *h;

        assert_int_equal(kube_config_server_route(&c, &u, &ct, &h), 0);
        if (!url) {
                assert_null(u);
                assert_null(ct);
                assert_null(h);
                return;
        }
        assert_string_equal(u, url);
        assert_string_equal(ct, connect_to);
        assert_string_equal(h, host);
        free(u);
        free(ct);
        free(h);
}

static void test_tls_server_name(void **state)
{
        struct kube_config *c, bad = {.server = "https://user@h:1", .tls_server_name = "n"};
        char *u, *ct, *h;

        (void)state;
        c = parse_ok(HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443\n"
                          "    tls-server-name: kubernetes.default.svc\n"
                          "users:\n- name: u1\n  user: {token: t}\n");
        assert_string_equal(c->tls_server_name, "kubernetes.default.svc");
        kube_config_free(c);

        expect_route("https://10.0.0.1:6443", "api.example", "https://api.example:6443",
                     "api.example:6443:10.0.0.1:6443", "10.0.0.1:6443");
        expect_route("https://[fd00::1]:6443/prefix", "api", "https://api:6443/prefix",
                     "api:6443:[fd00::1]:6443", "[fd00::1]:6443");
        expect_route("https://k8s.lan", "api", "https://api:443", "api:443:k8s.lan:443", "k8s.lan");
        expect_route("https://10.0.0.1:6443", NULL, NULL, NULL, NULL);
        expect_route("http://10.0.0.1:8080", "api", NULL, NULL, NULL);
        assert_int_equal(kube_config_server_route(&bad, &u, &ct, &h), -EINVAL);
        bad.server = "https://h:x1";
        assert_int_equal(kube_config_server_route(&bad, &u, &ct, &h), -EINVAL);
        bad.server = "https://[fd00::1";
        assert_int_equal(kube_config_server_route(&bad, &u, &ct, &h), -EINVAL);

        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://x', "
                          "tls-server-name: 'evil/path?'}\n",
                     "tls-server-name \"evil/path?\" is not a host name");
        expect_error(HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://u@x', "
                          "tls-server-name: api}\n",
                     "has no host to reach under tls-server-name");
}

/* Every TLS option the client sets is accepted at creation (a refused one
 * fails kube_client_new; this libcurl accepts them all). */
static void test_client_tls_options(void **state)
{
        struct kube_config cfg = {
            .server = "https://10.0.0.1:6443",
            .ca_data = "CA",
            .ca_len = 2,
            .cert_data = "CERT",
            .cert_len = 4,
            .key_data = "KEY",
            .key_len = 3,
            .tls_server_name = "api.example",
        };
        struct kube_client *k = NULL;
        sd_event *e = NULL;

        (void)state;
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(kube_client_new(e, &cfg, NULL, &k), 0);
        kube_client_free(k);
        cfg.tls_server_name = NULL;
        cfg.ca_data = NULL;
        cfg.insecure = true;
        assert_int_equal(kube_client_new(e, &cfg, NULL, &k), 0);
        kube_client_free(k);
        sd_event_unref(e);
}

static void test_kubeconfig_merge(void **state)
{
        struct kube_config *c = NULL;
        char *err = NULL, sub[600], list[2000];

        (void)state;
        /* a: current-context, the context and the cluster (CA relative to a) */
        twrite_file(dir, "a.yaml",
                    "current-context: dev\ncontexts:\n- name: dev\n  context: {cluster: c1, "
                    "user: u1, namespace: from-a}\n"
                    "clusters:\n- name: c1\n  cluster: {server: 'https://a:1', "
                    "certificate-authority: ca.crt}\n");
        /* b: the user (token file relative to b), and entries a already has */
        snprintf(sub, sizeof(sub), "%s/b", dir);
        assert_int_equal(mkdir(sub, 0700), 0);
        twrite_file(sub, "tok", "from-b\n");
        twrite_file(sub, "b.yaml",
                    "current-context: other\ncontexts:\n- name: dev\n  context: {cluster: c2, "
                    "user: u2}\n"
                    "clusters:\n- name: c1\n  cluster: {server: 'https://b:1'}\n"
                    "users:\n- name: u1\n  user: {tokenFile: tok}\n");
        snprintf(list, sizeof(list), "%s/a.yaml::%s/missing.yaml:%s/b.yaml:%s/a.yaml", dir, dir,
                 sub, dir);
        setenv("KUBECONFIG", list, 1);
        assert_int_equal(kube_config_load(NULL, &c, &err), 0);
        assert_string_equal(c->server, "https://a:1");
        assert_string_equal(c->namespace, "from-a");
        assert_non_null(c->ca_data);
        assert_non_null(strstr(c->token_file, "/b/tok"));
        kube_config_free(c);

        /* the current-context of the first file that sets one */
        snprintf(list, sizeof(list), "%s/b/b.yaml:%s/a.yaml", dir, dir);
        setenv("KUBECONFIG", list, 1);
        assert_int_equal(kube_config_load(NULL, &c, &err), -EINVAL);
        assert_non_null(strstr(err, "context \"other\" not found"));
        free(err);

        snprintf(list, sizeof(list), "%s/none1:%s/none2", dir, dir);
        setenv("KUBECONFIG", list, 1);
        assert_int_equal(kube_config_load(NULL, &c, &err), -ENOENT);
        assert_non_null(strstr(err, "none of the kubeconfig files"));
        free(err);

        twrite_file(dir, "broken.yaml", "{");
        snprintf(list, sizeof(list), "%s/a.yaml:%s/broken.yaml", dir, dir);
        setenv("KUBECONFIG", list, 1);
        assert_int_equal(kube_config_load(NULL, &c, &err), -EINVAL);
        assert_non_null(strstr(err, "broken.yaml: kubeconfig is not valid YAML"));
        free(err);
        unsetenv("KUBECONFIG");
}

/* kubectl's search for the CLI: $KUBECONFIG, then ~/.kube/config, then
 * in-cluster; --context picks a context of the merged files. */
static void test_context_and_home(void **state)
{
        struct kube_config *c = NULL;
        char *err = NULL, home[600], kube[700];
        const char *two = "current-context: one\ncontexts:\n"
                          "- name: one\n  context: {cluster: c1, namespace: ns-one}\n"
                          "- name: two\n  context: {cluster: c2, namespace: ns-two}\n"
                          "clusters:\n- name: c1\n  cluster: {server: 'https://one:1'}\n"
                          "- name: c2\n  cluster: {server: 'https://two:2'}\n";
        struct kube_config_source src = {.home = true};

        (void)state;
        snprintf(home, sizeof(home), "%s/home", dir);
        snprintf(kube, sizeof(kube), "%s/.kube", home);
        assert_int_equal(mkdir(home, 0700), 0);
        assert_int_equal(mkdir(kube, 0700), 0);
        twrite_file(kube, "config", two);
        unsetenv("KUBECONFIG");
        unsetenv("KUBERNETES_SERVICE_HOST");
        setenv("HOME", home, 1);

        /* ~/.kube/config when nothing else is given */
        assert_int_equal(kube_config_load_source(&src, &c, &err), 0);
        assert_string_equal(c->server, "https://one:1");
        assert_string_equal(c->namespace, "ns-one");
        kube_config_free(c);
        /* ... but only when asked (the daemons go in-cluster) */
        assert_int_equal(kube_config_load(NULL, &c, &err), -ENOENT);
        assert_non_null(strstr(err, "not running in a cluster"));
        free(err);

        /* --context over current-context, in ~/.kube/config and $KUBECONFIG */
        src.context = "two";
        assert_int_equal(kube_config_load_source(&src, &c, &err), 0);
        assert_string_equal(c->server, "https://two:2");
        assert_string_equal(c->namespace, "ns-two");
        kube_config_free(c);
        twrite_file(dir, "two.yaml", two);
        snprintf(kube, sizeof(kube), "%s/two.yaml", dir);
        src.path = kube;
        assert_int_equal(kube_config_load_source(&src, &c, &err), 0);
        assert_string_equal(c->server, "https://two:2");
        kube_config_free(c);
        src.path = NULL;
        setenv("KUBECONFIG", kube, 1);
        assert_int_equal(kube_config_load_source(&src, &c, &err), 0);
        assert_string_equal(c->server, "https://two:2");
        kube_config_free(c);

        /* an absent context is an error, not the current one */
        src.context = "three";
        assert_int_equal(kube_config_load_source(&src, &c, &err), -EINVAL);
        assert_non_null(strstr(err, "context \"three\" not found"));
        free(err);

        /* no file anywhere: in-cluster, which cannot honour a context */
        unsetenv("KUBECONFIG");
        setenv("HOME", dir, 1);
        assert_int_equal(kube_config_load_source(&src, &c, &err), -ENOENT);
        assert_non_null(strstr(err, "context \"three\" given but no kubeconfig"));
        free(err);
        unsetenv("HOME");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_token_and_ca_file),
            cmocka_unit_test(test_data_fields),
            cmocka_unit_test(test_token_file_insecure_json),
            cmocka_unit_test(test_bad),
            cmocka_unit_test(test_file_and_in_cluster),
            cmocka_unit_test(test_no_credentials_over_http),
            cmocka_unit_test(test_insecure_with_ca),
            cmocka_unit_test(test_empty_token_file),
            cmocka_unit_test(test_tls_server_name),
            cmocka_unit_test(test_client_tls_options),
            cmocka_unit_test(test_kubeconfig_merge),
            cmocka_unit_test(test_context_and_home),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

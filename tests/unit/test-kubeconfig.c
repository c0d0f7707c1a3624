/* kubeconfig and in-cluster configuration: good files and every way a bad
 * one fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tfile.h"

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

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_token_and_ca_file),        cmocka_unit_test(test_data_fields),
            cmocka_unit_test(test_token_file_insecure_json), cmocka_unit_test(test_bad),
            cmocka_unit_test(test_file_and_in_cluster),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

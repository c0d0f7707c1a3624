/* kubeconfig parsing with libyaml's document API (kubeconfig may also be
 * JSON, which YAML includes), and the in-cluster configuration. Only what a
 * controller needs: server, TLS trust, bearer token (inline or file) and
 * client certificates. exec and auth-provider plugins are refused clearly. */
#include "kubeconfig.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/util.h"

void kube_config_free(struct kube_config *c)
{
        if (!c)
                return;
        free(c->server);
        free(c->ca_data);
        free(c->ca_file);
        free(c->token);
        free(c->token_file);
        free(c->cert_data);
        free(c->key_data);
        free(c->cert_file);
        free(c->key_file);
        free(c->namespace);
        free(c);
}

static yaml_node_t *ynode(yaml_document_t *d, int id)
{
        return id ? yaml_document_get_node(d, id) : NULL;
}

static yaml_node_t *ymap_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
        if (!map || map->type != YAML_MAPPING_NODE)
                return NULL;
        for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
             p++) {
                yaml_node_t *k = ynode(d, p->key);

                if (k && k->type == YAML_SCALAR_NODE && streq((char *)k->data.scalar.value, key))
                        return ynode(d, p->value);
        }
        return NULL;
}

/* Scalar value, or NULL if absent; *bad set if present but not a scalar. */
static const char *yscalar(yaml_node_t *n, bool *bad)
{
        if (!n)
                return NULL;
        if (n->type != YAML_SCALAR_NODE) {
                *bad = true;
                return NULL;
        }
        return (const char *)n->data.scalar.value;
}

/* Find the entry of a named list (clusters, users, contexts) and return its
 * inner object (entry[field]). */
static yaml_node_t *ynamed(yaml_document_t *d, yaml_node_t *root, const char *list,
                           const char *field, const char *name)
{
        yaml_node_t *seq = ymap_get(d, root, list);

        if (!seq || seq->type != YAML_SEQUENCE_NODE)
                return NULL;
        for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
             i++) {
                yaml_node_t *e = ynode(d, *i);
                bool bad = false;
                const char *n = yscalar(ymap_get(d, e, "name"), &bad);

                if (n && streq(n, name))
                        return ymap_get(d, e, field);
        }
        return NULL;
}

static char *resolve_path(const char *base_dir, const char *p)
{
        if (p[0] == '/' || !base_dir)
                return xstrdup(p);
        return xasprintf("%s/%s", base_dir, p);
}

static int decode_b64(const char *field, const char *b64, char **ret, size_t *ret_len, char **err)
{
        gsize len = 0;
        guchar *raw;

        /* g_base64_decode is lenient: check the alphabet first */
        for (const char *p = b64; *p; p++)
                if (!g_ascii_isalnum(*p) && !strchr("+/=\n\r \t", *p)) {
                        *err = strprintf("%s is not valid base64", field);
                        return -EINVAL;
                }
        raw = g_base64_decode(b64, &len);
        if (!raw || len == 0) {
                g_free(raw);
                *err = strprintf("%s is empty or not valid base64", field);
                return -EINVAL;
        }
        *ret = xmalloc(len + 1);
        memcpy(*ret, raw, len);
        (*ret)[len] = 0;
        *ret_len = len;
        g_free(raw);
        return 0;
}

static int read_file_field(const char *field, const char *path, char **ret, size_t *ret_len,
                           char **err)
{
        int r = read_full_file(path, ret, ret_len);

        if (r < 0)
                *err = strprintf("cannot read %s %s: %s", field, path, strerror(-r));
        return r;
}

static int parse_doc(yaml_document_t *d, const char *base_dir, struct kube_config *c, char **err)
{
        yaml_node_t *root = yaml_document_get_root_node(d), *ctx, *cluster, *user;
        const char *cur, *cname, *uname, *s;
        bool bad = false;
        int r;

        if (!root || root->type != YAML_MAPPING_NODE) {
                *err = strprintf("kubeconfig is not a mapping");
                return -EINVAL;
        }
        cur = yscalar(ymap_get(d, root, "current-context"), &bad);
        if (isempty(cur)) {
                *err = strprintf("kubeconfig has no current-context");
                return -EINVAL;
        }
        ctx = ynamed(d, root, "contexts", "context", cur);
        if (!ctx || ctx->type != YAML_MAPPING_NODE) {
                *err = strprintf("context \"%s\" not found in kubeconfig", cur);
                return -EINVAL;
        }
        cname = yscalar(ymap_get(d, ctx, "cluster"), &bad);
        uname = yscalar(ymap_get(d, ctx, "user"), &bad);
        s = yscalar(ymap_get(d, ctx, "namespace"), &bad);
        if (bad) {
                *err = strprintf("context \"%s\" is malformed", cur);
                return -EINVAL;
        }
        if (!isempty(s))
                c->namespace = xstrdup(s);
        if (isempty(cname)) {
                *err = strprintf("context \"%s\" names no cluster", cur);
                return -EINVAL;
        }
        cluster = ynamed(d, root, "clusters", "cluster", cname);
        if (!cluster || cluster->type != YAML_MAPPING_NODE) {
                *err = strprintf("cluster \"%s\" not found in kubeconfig", cname);
                return -EINVAL;
        }
        s = yscalar(ymap_get(d, cluster, "server"), &bad);
        if (isempty(s) || bad) {
                *err = strprintf("cluster \"%s\" has no server", cname);
                return -EINVAL;
        }
        if (!startswith(s, "https://") && !startswith(s, "http://")) {
                *err = strprintf("cluster \"%s\": server \"%s\" is not an http(s) URL", cname, s);
                return -EINVAL;
        }
        c->server = xstrdup(s);
        while (strlen(c->server) > 8 && c->server[strlen(c->server) - 1] == '/')
                c->server[strlen(c->server) - 1] = 0;
        s = yscalar(ymap_get(d, cluster, "insecure-skip-tls-verify"), &bad);
        c->insecure = s && (streq(s, "true") || streq(s, "True"));
        s = yscalar(ymap_get(d, cluster, "certificate-authority-data"), &bad);
        if (!isempty(s)) {
                r = decode_b64("certificate-authority-data", s, &c->ca_data, &c->ca_len, err);
                if (r < 0)
                        return r;
        } else if (!isempty(s = yscalar(ymap_get(d, cluster, "certificate-authority"), &bad))) {
                c->ca_file = resolve_path(base_dir, s);
                r = read_file_field("certificate-authority", c->ca_file, &c->ca_data, &c->ca_len,
                                    err);
                if (r < 0)
                        return r;
        }
        if (bad) {
                *err = strprintf("cluster \"%s\" is malformed", cname);
                return -EINVAL;
        }

        if (isempty(uname))
                return 0; /* anonymous */
        user = ynamed(d, root, "users", "user", uname);
        if (!user || user->type != YAML_MAPPING_NODE) {
                *err = strprintf("user \"%s\" not found in kubeconfig", uname);
                return -EINVAL;
        }
        if (ymap_get(d, user, "exec") || ymap_get(d, user, "auth-provider")) {
                *err =
                    strprintf("user \"%s\": exec and auth-provider credentials are not supported; "
                              "use a token, a token file or a client certificate",
                              uname);
                return -EOPNOTSUPP;
        }
        if (ymap_get(d, user, "username") || ymap_get(d, user, "password")) {
                *err = strprintf("user \"%s\": basic authentication is not supported", uname);
                return -EOPNOTSUPP;
        }
        s = yscalar(ymap_get(d, user, "token"), &bad);
        if (!isempty(s))
                c->token = xstrdup(s);
        s = yscalar(ymap_get(d, user, "tokenFile"), &bad);
        if (!isempty(s)) {
                _cleanup_free_ char *tok = NULL;

                c->token_file = resolve_path(base_dir, s);
                r = read_file_field("tokenFile", c->token_file, &tok, NULL, err);
                if (r < 0)
                        return r;
        }
        s = yscalar(ymap_get(d, user, "client-certificate-data"), &bad);
        if (!isempty(s)) {
                r = decode_b64("client-certificate-data", s, &c->cert_data, &c->cert_len, err);
                if (r < 0)
                        return r;
        } else if (!isempty(s = yscalar(ymap_get(d, user, "client-certificate"), &bad))) {
                c->cert_file = resolve_path(base_dir, s);
                r = read_file_field("client-certificate", c->cert_file, &c->cert_data, &c->cert_len,
                                    err);
                if (r < 0)
                        return r;
        }
        s = yscalar(ymap_get(d, user, "client-key-data"), &bad);
        if (!isempty(s)) {
                r = decode_b64("client-key-data", s, &c->key_data, &c->key_len, err);
                if (r < 0)
                        return r;
        } else if (!isempty(s = yscalar(ymap_get(d, user, "client-key"), &bad))) {
                c->key_file = resolve_path(base_dir, s);
                r = read_file_field("client-key", c->key_file, &c->key_data, &c->key_len, err);
                if (r < 0)
                        return r;
        }
        if (bad) {
                *err = strprintf("user \"%s\" is malformed", uname);
                return -EINVAL;
        }
        if (!!c->cert_data != !!c->key_data) {
                *err = strprintf("user \"%s\": a client certificate needs both certificate and key",
                                 uname);
                return -EINVAL;
        }
        return 0;
}

int kube_config_parse(const char *text, size_t len, const char *base_dir, struct kube_config **ret,
                      char **ret_error)
{
        yaml_parser_t parser;
        yaml_document_t doc;
        struct kube_config *c;
        int r;

        assert(text);
        assert(ret);
        assert(ret_error);
        *ret_error = NULL;
        if (!yaml_parser_initialize(&parser))
                oom(); /* its only failure */
        c = xnew(struct kube_config, 1);
        yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
        if (!yaml_parser_load(&parser, &doc)) {
                *ret_error =
                    strprintf("kubeconfig is not valid YAML: %s at line %zu column %zu",
                              parser.problem ? parser.problem : "parse error",
                              parser.problem_mark.line + 1, parser.problem_mark.column + 1);
                yaml_parser_delete(&parser);
                free(c);
                return -EINVAL;
        }
        r = parse_doc(&doc, base_dir, c, ret_error);
        yaml_document_delete(&doc);
        yaml_parser_delete(&parser);
        if (r < 0) {
                kube_config_free(c);
                if (!*ret_error)
                        *ret_error = strprintf("kubeconfig: %s", strerror(-r));
                return r;
        }
        *ret = c;
        return 0;
}

int kube_config_from_file(const char *path, struct kube_config **ret, char **ret_error)
{
        _cleanup_free_ char *text = NULL;
        char *dir;
        size_t len;
        int r;

        r = read_full_file(path, &text, &len);
        if (r < 0) {
                *ret_error = strprintf("cannot read kubeconfig %s: %s", path, strerror(-r));
                return r;
        }
        dir = g_path_get_dirname(path);
        r = kube_config_parse(text, len, dir, ret, ret_error);
        g_free(dir);
        if (r < 0 && *ret_error) {
                char *e = strprintf("%s: %s", path, *ret_error);

                free(*ret_error);
                *ret_error = e;
        }
        return r;
}

int kube_config_in_cluster(const char *sa_dir, struct kube_config **ret, char **ret_error)
{
        const char *host = getenv("KUBERNETES_SERVICE_HOST");
        const char *port = getenv("KUBERNETES_SERVICE_PORT");
        struct kube_config *c;
        _cleanup_free_ char *ns = NULL, *tok = NULL, *nspath = NULL;
        int r;

        if (!sa_dir)
                sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
        if (isempty(host) || isempty(port)) {
                *ret_error = strprintf("no kubeconfig given and not running in a cluster "
                                       "(KUBERNETES_SERVICE_HOST/PORT unset); use --kubeconfig");
                return -ENOENT;
        }
        c = xnew(struct kube_config, 1);
        c->server = strchr(host, ':') ? xasprintf("https://[%s]:%s", host, port)
                                      : xasprintf("https://%s:%s", host, port);
        c->token_file = xasprintf("%s/token", sa_dir);
        c->ca_file = xasprintf("%s/ca.crt", sa_dir);
        nspath = xasprintf("%s/namespace", sa_dir);
        r = read_full_file(c->token_file, &tok, NULL);
        if (r < 0) {
                *ret_error =
                    strprintf("in-cluster: cannot read %s: %s", c->token_file, strerror(-r));
                kube_config_free(c);
                return r;
        }
        r = read_full_file(c->ca_file, &c->ca_data, &c->ca_len);
        if (r < 0) {
                *ret_error = strprintf("in-cluster: cannot read %s: %s", c->ca_file, strerror(-r));
                kube_config_free(c);
                return r;
        }
        if (read_full_file(nspath, &ns, NULL) >= 0)
                c->namespace = xstrdup(strstrip(ns));
        *ret = c;
        return 0;
}

int kube_config_load(const char *path, struct kube_config **ret, char **ret_error)
{
        const char *env = getenv("KUBECONFIG");

        *ret_error = NULL;
        if (!isempty(path))
                return kube_config_from_file(path, ret, ret_error);
        if (!isempty(env)) {
                /* like kubectl: the first file of a colon-separated list */
                _cleanup_free_ char *first = xstrndup(env, strcspn(env, ":"));

                return kube_config_from_file(first, ret, ret_error);
        }
        return kube_config_in_cluster(NULL, ret, ret_error);
}

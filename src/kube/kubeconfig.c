/* kubeconfig parsing with libyaml's document API (kubeconfig may also be
 * JSON, which YAML includes), and the in-cluster configuration. Only what a
 * controller needs: server, TLS trust, bearer token (inline or file) and
 * client certificates, checked as client-go checks them (no credentials over
 * plain http, no CA together with insecure-skip-tls-verify); several files
 * merge as kubectl merges $KUBECONFIG. exec and auth-provider plugins are
 * refused clearly. */
#include "kubeconfig.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
        free(c->tls_server_name);
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

/* One kubeconfig file of a merged set. */
struct kc_doc {
        yaml_document_t doc;
        yaml_node_t *root; /* NULL: an empty file */
        char *dir;         /* resolves the relative paths it names */
};

/* The inner object (entry[field]) of the first entry called name in list
 * (clusters, users, contexts), looked up through the files in order: the
 * first file that names it wins, as in kubectl's merge. */
static yaml_node_t *kc_named(struct kc_doc *docs, size_t n, const char *list, const char *field,
                             const char *name, struct kc_doc **ret_doc)
{
        for (size_t f = 0; f < n; f++) {
                yaml_document_t *d = &docs[f].doc;
                yaml_node_t *seq = ymap_get(d, docs[f].root, list);

                if (!seq || seq->type != YAML_SEQUENCE_NODE)
                        continue;
                for (yaml_node_item_t *i = seq->data.sequence.items.start;
                     i < seq->data.sequence.items.top; i++) {
                        yaml_node_t *e = ynode(d, *i);
                        bool bad = false;
                        const char *en = yscalar(ymap_get(d, e, "name"), &bad);

                        if (en && streq(en, name)) {
                                *ret_doc = &docs[f];
                                return ymap_get(d, e, field);
                        }
                }
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
                        *err = xasprintf("%s is not valid base64", field);
                        return -EINVAL;
                }
        raw = g_base64_decode(b64, &len);
        if (!raw || len == 0) {
                g_free(raw);
                *err = xasprintf("%s is empty or not valid base64", field);
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
                *err = xasprintf("cannot read %s %s: %s", field, path, strerror(-r));
        return r;
}

/* Put "what: " before an error message. */
static void prefix_error(char **err, const char *what)
{
        char *e;

        if (!*err)
                return;
        e = xasprintf("%s: %s", what, *err);
        free(*err);
        *err = e;
}

/* A token file that holds no token is a mistake (a secret not mounted yet,
 * a truncated write), not anonymous access. */
static bool token_blank(const char *tok)
{
        return strspn(tok, " \t\r\n") == strlen(tok);
}

/* What tls-server-name may hold: a DNS name or an address, nothing that
 * would change the meaning of the URL it is put into. */
static bool tls_server_name_valid(const char *s)
{
        return !isempty(s) && strlen(s) <= 253 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
                   strlen(s);
}

static int parse_cluster(struct kc_doc *kd, yaml_node_t *cluster, const char *cname,
                         struct kube_config *c, char **err)
{
        yaml_document_t *d = &kd->doc;
        const char *s;
        bool bad = false;
        int r;

        s = yscalar(ymap_get(d, cluster, "server"), &bad);
        if (isempty(s) || bad) {
                *err = xasprintf("cluster \"%s\" has no server", cname);
                return -EINVAL;
        }
        if (!startswith(s, "https://") && !startswith(s, "http://")) {
                *err = xasprintf("cluster \"%s\": server \"%s\" is not an http(s) URL", cname, s);
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
                c->ca_file = resolve_path(kd->dir, s);
                r = read_file_field("certificate-authority", c->ca_file, &c->ca_data, &c->ca_len,
                                    err);
                if (r < 0)
                        return r;
        }
        s = yscalar(ymap_get(d, cluster, "tls-server-name"), &bad);
        if (s && !tls_server_name_valid(s)) {
                *err = xasprintf("cluster \"%s\": tls-server-name \"%s\" is not a host name", cname,
                                 s);
                return -EINVAL;
        }
        if (s)
                c->tls_server_name = xstrdup(s);
        if (bad) {
                *err = xasprintf("cluster \"%s\" is malformed", cname);
                return -EINVAL;
        }
        /* client-go's rule: trusting a CA and trusting anything contradict */
        if (c->insecure && c->ca_data) {
                *err = xasprintf("cluster \"%s\": specifying a root certificates file with the "
                                 "insecure flag is not allowed",
                                 cname);
                return -EINVAL;
        }
        if (c->tls_server_name) {
                _cleanup_free_ char *url = NULL, *connect_to = NULL, *host = NULL;

                if (kube_config_server_route(c, &url, &connect_to, &host) < 0) {
                        *err = xasprintf("cluster \"%s\": server \"%s\" has no host to reach "
                                         "under tls-server-name",
                                         cname, c->server);
                        return -EINVAL;
                }
        }
        return 0;
}

static int parse_user(struct kc_doc *kd, yaml_node_t *user, const char *uname,
                      struct kube_config *c, char **err)
{
        yaml_document_t *d = &kd->doc;
        const char *s;
        bool bad = false;
        int r;

        if (ymap_get(d, user, "exec") || ymap_get(d, user, "auth-provider")) {
                *err =
                    xasprintf("user \"%s\": exec and auth-provider credentials are not supported; "
                              "use a token, a token file or a client certificate",
                              uname);
                return -EOPNOTSUPP;
        }
        if (ymap_get(d, user, "username") || ymap_get(d, user, "password")) {
                *err = xasprintf("user \"%s\": basic authentication is not supported", uname);
                return -EOPNOTSUPP;
        }
        s = yscalar(ymap_get(d, user, "token"), &bad);
        if (!isempty(s))
                c->token = xstrdup(s);
        s = yscalar(ymap_get(d, user, "tokenFile"), &bad);
        if (!isempty(s)) {
                _cleanup_free_ char *tok = NULL;

                c->token_file = resolve_path(kd->dir, s);
                r = read_file_field("tokenFile", c->token_file, &tok, NULL, err);
                if (r < 0)
                        return r;
                if (token_blank(tok)) {
                        *err =
                            xasprintf("user \"%s\": tokenFile %s is empty", uname, c->token_file);
                        return -EINVAL;
                }
        }
        s = yscalar(ymap_get(d, user, "client-certificate-data"), &bad);
        if (!isempty(s)) {
                r = decode_b64("client-certificate-data", s, &c->cert_data, &c->cert_len, err);
                if (r < 0)
                        return r;
        } else if (!isempty(s = yscalar(ymap_get(d, user, "client-certificate"), &bad))) {
                c->cert_file = resolve_path(kd->dir, s);
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
                c->key_file = resolve_path(kd->dir, s);
                r = read_file_field("client-key", c->key_file, &c->key_data, &c->key_len, err);
                if (r < 0)
                        return r;
        }
        if (bad) {
                *err = xasprintf("user \"%s\" is malformed", uname);
                return -EINVAL;
        }
        if (!!c->cert_data != !!c->key_data) {
                *err = xasprintf("user \"%s\": a client certificate needs both certificate and key",
                                 uname);
                return -EINVAL;
        }
        /* client-go silently drops credentials on a plain http connection;
         * refusing says why the server then sees an anonymous client */
        if (startswith(c->server, "http://") && (c->token || c->token_file || c->cert_data)) {
                *err = xasprintf("user \"%s\": refusing to send credentials to the plain http "
                                 "server %s; use https",
                                 uname, c->server);
                return -EINVAL;
        }
        return 0;
}

static int parse_docs(struct kc_doc *docs, size_t n, const char *context, struct kube_config *c,
                      char **err)
{
        struct kc_doc *dctx = NULL, *dcluster = NULL, *duser = NULL;
        yaml_node_t *ctx, *cluster, *user;
        const char *cur = NULL, *cname, *uname, *s;
        bool bad = false;
        int r;

        for (size_t f = 0; f < n; f++)
                if (docs[f].root && docs[f].root->type != YAML_MAPPING_NODE) {
                        *err = xasprintf("kubeconfig is not a mapping");
                        return -EINVAL;
                }
        if (!isempty(context))
                cur = context; /* --context: chosen over current-context */
        for (size_t f = 0; f < n && isempty(cur); f++)
                cur = yscalar(ymap_get(&docs[f].doc, docs[f].root, "current-context"), &bad);
        if (isempty(cur)) {
                *err = xasprintf("kubeconfig has no current-context");
                return -EINVAL;
        }
        ctx = kc_named(docs, n, "contexts", "context", cur, &dctx);
        if (!ctx || ctx->type != YAML_MAPPING_NODE) {
                *err = xasprintf("context \"%s\" not found in kubeconfig", cur);
                return -EINVAL;
        }
        cname = yscalar(ymap_get(&dctx->doc, ctx, "cluster"), &bad);
        uname = yscalar(ymap_get(&dctx->doc, ctx, "user"), &bad);
        s = yscalar(ymap_get(&dctx->doc, ctx, "namespace"), &bad);
        if (bad) {
                *err = xasprintf("context \"%s\" is malformed", cur);
                return -EINVAL;
        }
        if (!isempty(s))
                c->namespace = xstrdup(s);
        if (isempty(cname)) {
                *err = xasprintf("context \"%s\" names no cluster", cur);
                return -EINVAL;
        }
        cluster = kc_named(docs, n, "clusters", "cluster", cname, &dcluster);
        if (!cluster || cluster->type != YAML_MAPPING_NODE) {
                *err = xasprintf("cluster \"%s\" not found in kubeconfig", cname);
                return -EINVAL;
        }
        r = parse_cluster(dcluster, cluster, cname, c, err);
        if (r < 0)
                return r;

        if (isempty(uname))
                return 0; /* anonymous */
        user = kc_named(docs, n, "users", "user", uname, &duser);
        if (!user || user->type != YAML_MAPPING_NODE) {
                *err = xasprintf("user \"%s\" not found in kubeconfig", uname);
                return -EINVAL;
        }
        return parse_user(duser, user, uname, c, err);
}

/* Load one file's YAML into kd; *err names no file (the caller does). */
static int kc_doc_load(struct kc_doc *kd, const char *text, size_t len, const char *dir, char **err)
{
        yaml_parser_t parser;
        int r = 0;

        if (!yaml_parser_initialize(&parser))
                oom(); /* its only failure */
        yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
        if (!yaml_parser_load(&parser, &kd->doc)) {
                *err = xasprintf("kubeconfig is not valid YAML: %s at line %zu column %zu",
                                 parser.problem ? parser.problem : "parse error",
                                 parser.problem_mark.line + 1, parser.problem_mark.column + 1);
                r = -EINVAL;
        } else {
                kd->root = yaml_document_get_root_node(&kd->doc);
                kd->dir = xstrdup(dir);
        }
        yaml_parser_delete(&parser);
        return r;
}

static void kc_docs_free(struct kc_doc *docs, size_t n)
{
        for (size_t f = 0; f < n; f++) {
                yaml_document_delete(&docs[f].doc);
                free(docs[f].dir);
        }
        free(docs);
}

/* The configuration the loaded files make together. */
static int kc_build(struct kc_doc *docs, size_t n, const char *context, struct kube_config **ret,
                    char **err)
{
        struct kube_config *c = xnew(struct kube_config, 1);
        int r;

        r = parse_docs(docs, n, context, c, err);
        if (r < 0) {
                kube_config_free(c);
                if (!*err)
                        *err = xasprintf("kubeconfig: %s", strerror(-r));
                return r;
        }
        *ret = c;
        return 0;
}

int kube_config_parse(const char *text, size_t len, const char *base_dir, struct kube_config **ret,
                      char **ret_error)
{
        struct kc_doc *doc = xnew(struct kc_doc, 1);
        int r;

        assert(text);
        assert(ret);
        assert(ret_error);
        *ret_error = NULL;
        r = kc_doc_load(doc, text, len, base_dir, ret_error);
        if (r < 0) {
                free(doc);
                return r;
        }
        r = kc_build(doc, 1, NULL, ret, ret_error);
        kc_docs_free(doc, 1);
        return r;
}

/* Read and load one file; missing files give -ENOENT without a message when
 * skip_missing. Errors name the file. */
static int kc_doc_read(struct kc_doc *kd, const char *path, bool skip_missing, char **err)
{
        _cleanup_free_ char *text = NULL;
        char *dir;
        size_t len;
        int r;

        r = read_full_file(path, &text, &len);
        if (r == -ENOENT && skip_missing)
                return r;
        if (r < 0) {
                *err = xasprintf("cannot read kubeconfig %s: %s", path, strerror(-r));
                return r;
        }
        dir = g_path_get_dirname(path);
        r = kc_doc_load(kd, text, len, dir, err);
        g_free(dir);
        if (r < 0)
                prefix_error(err, path);
        return r;
}

static int from_file(const char *path, const char *context, struct kube_config **ret,
                     char **ret_error)
{
        struct kc_doc *doc = xnew(struct kc_doc, 1);
        int r;

        assert(path);
        *ret_error = NULL;
        r = kc_doc_read(doc, path, false, ret_error);
        if (r < 0) {
                free(doc);
                return r;
        }
        r = kc_build(doc, 1, context, ret, ret_error);
        kc_docs_free(doc, 1);
        if (r < 0)
                prefix_error(ret_error, path);
        return r;
}

int kube_config_from_file(const char *path, struct kube_config **ret, char **ret_error)
{
        return from_file(path, NULL, ret, ret_error);
}

static int from_path_list(const char *list, const char *context, struct kube_config **ret,
                          char **ret_error)
{
        g_auto(GStrv) paths = NULL;
        struct kc_doc *docs;
        size_t n = 0;
        int r = 0;

        assert(list);
        *ret_error = NULL;
        paths = g_strsplit(list, ":", -1);
        docs = xnew(struct kc_doc, g_strv_length(paths));
        for (size_t i = 0; paths[i]; i++) {
                bool seen = false;

                if (isempty(paths[i]))
                        continue;
                for (size_t j = 0; j < i; j++)
                        seen = seen || streq(paths[i], paths[j]);
                if (seen)
                        continue;
                r = kc_doc_read(&docs[n], paths[i], true, ret_error);
                if (r == -ENOENT) {
                        r = 0; /* kubectl skips missing files */
                        continue;
                }
                if (r < 0)
                        break;
                n++;
        }
        if (r >= 0 && n == 0) {
                *ret_error = xasprintf("none of the kubeconfig files %s exists", list);
                r = -ENOENT;
        } else if (r >= 0) {
                r = kc_build(docs, n, context, ret, ret_error);
                if (r < 0)
                        prefix_error(ret_error, list);
        }
        kc_docs_free(docs, n);
        return r;
}

int kube_config_from_path_list(const char *list, struct kube_config **ret, char **ret_error)
{
        return from_path_list(list, NULL, ret, ret_error);
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
                *ret_error = xasprintf("no kubeconfig given and not running in a cluster "
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
                    xasprintf("in-cluster: cannot read %s: %s", c->token_file, strerror(-r));
                kube_config_free(c);
                return r;
        }
        if (token_blank(tok)) {
                *ret_error = xasprintf("in-cluster: token file %s is empty", c->token_file);
                kube_config_free(c);
                return -EINVAL;
        }
        r = read_full_file(c->ca_file, &c->ca_data, &c->ca_len);
        if (r < 0) {
                *ret_error = xasprintf("in-cluster: cannot read %s: %s", c->ca_file, strerror(-r));
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
        const struct kube_config_source src = {.path = path};

        return kube_config_load_source(&src, ret, ret_error);
}

int kube_config_load_source(const struct kube_config_source *src, struct kube_config **ret,
                            char **ret_error)
{
        const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
        _cleanup_free_ char *home_config = NULL;

        assert(src);
        *ret_error = NULL;
        if (!isempty(src->path))
                return from_file(src->path, src->context, ret, ret_error);
        if (!isempty(env))
                return from_path_list(env, src->context, ret, ret_error);
        if (src->home && !isempty(home)) {
                home_config = xasprintf("%s/.kube/config", home);
                if (access(home_config, F_OK) == 0)
                        return from_file(home_config, src->context, ret, ret_error);
        }
        if (!isempty(src->context)) {
                *ret_error = xasprintf("context \"%s\" given but no kubeconfig found "
                                       "(--kubeconfig, $KUBECONFIG%s)",
                                       src->context, src->home ? ", ~/.kube/config" : "");
                return -ENOENT;
        }
        return kube_config_in_cluster(NULL, ret, ret_error);
}

int kube_config_server_route(const struct kube_config *c, char **ret_url, char **ret_connect_to,
                             char **ret_host)
{
        const char *authority, *rest, *port_sep;
        _cleanup_free_ char *host = NULL, *port = NULL;
        size_t alen;

        assert(c);
        assert(ret_url);
        assert(ret_connect_to);
        assert(ret_host);
        *ret_url = *ret_connect_to = *ret_host = NULL;
        if (!c->tls_server_name || !startswith(c->server, "https://"))
                return 0;
        authority = c->server + strlen("https://");
        alen = strcspn(authority, "/?#");
        rest = authority + alen;
        if (alen == 0 || memchr(authority, '@', alen))
                return -EINVAL;
        if (authority[0] == '[') { /* [IPv6]:port */
                const char *end = memchr(authority, ']', alen);

                if (!end)
                        return -EINVAL;
                host = xstrndup(authority, (size_t)(end - authority) + 1);
                port_sep = end + 1;
        } else {
                host = xstrndup(authority, strcspn(authority, ":/?#"));
                port_sep = authority + strlen(host);
        }
        if (port_sep < rest && *port_sep != ':')
                return -EINVAL;
        if (port_sep < rest)
                port = xstrndup(port_sep + 1, (size_t)(rest - port_sep - 1));
        if (isempty(host) ||
            (port && (isempty(port) || strspn(port, "0123456789") != strlen(port))))
                return -EINVAL;
        if (!port)
                port = xstrdup("443");
        *ret_url = xasprintf("https://%s:%s%s", c->tls_server_name, port, rest);
        *ret_connect_to = xasprintf("%s:%s:%s:%s", c->tls_server_name, port, host, port);
        *ret_host = xstrndup(authority, alen);
        return 0;
}

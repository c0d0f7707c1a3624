/* Where and how to reach the Kubernetes API: a kubeconfig file (current
 * context) or the in-cluster service-account configuration. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct kube_config {
        char *server;  /* "https://host:port", no trailing slash */
        char *ca_data; /* PEM */
        size_t ca_len;
        char *ca_file;
        bool insecure; /* insecure-skip-tls-verify */
        char *token;
        char *token_file;           /* re-read when it changes */
        char *cert_data, *key_data; /* PEM */
        size_t cert_len, key_len;
        char *cert_file, *key_file;
        char *namespace;       /* context namespace, or the pod's namespace in-cluster */
        char *tls_server_name; /* tls-server-name: checked against the server certificate */
};

/* Parse kubeconfig text (YAML or JSON). base_dir resolves relative file
 * paths (the kubeconfig's directory). Files named in it (CA, cert, key,
 * token) are read here, so errors surface at startup. */
int kube_config_parse(const char *text, size_t len, const char *base_dir, struct kube_config **ret,
                      char **ret_error);
int kube_config_from_file(const char *path, struct kube_config **ret, char **ret_error);
/* A colon-separated list of kubeconfig files ($KUBECONFIG), merged as kubectl
 * does: missing files are skipped, the first file that names a cluster, user
 * or context wins it, current-context comes from the first file that sets
 * one, and relative paths resolve against the file that holds them. */
int kube_config_from_path_list(const char *list, struct kube_config **ret, char **ret_error);
/* KUBERNETES_SERVICE_HOST/_PORT and /var/run/secrets/kubernetes.io/serviceaccount/
 * (root overridable for tests). */
int kube_config_in_cluster(const char *sa_dir, struct kube_config **ret, char **ret_error);
/* path non-empty: that kubeconfig; else $KUBECONFIG if set; else in-cluster. */
int kube_config_load(const char *path, struct kube_config **ret, char **ret_error);

struct kube_config_source {
        const char *path;    /* NULL or "": look further */
        const char *context; /* NULL or "": the current-context; else this one (error if absent) */
        bool home;           /* try $HOME/.kube/config before in-cluster, as kubectl does */
};
/* kube_config_load() with a context choice and kubectl's search: path, else
 * $KUBECONFIG, else (home) ~/.kube/config if it exists, else in-cluster
 * (refused when a context was asked for). */
int kube_config_load_source(const struct kube_config_source *src, struct kube_config **ret,
                            char **ret_error);
void kube_config_free(struct kube_config *c);

/* How to reach an https server under its tls-server-name: *ret_url is the
 * server URL with the host replaced by that name (libcurl sends it as SNI
 * and verifies the certificate against it), *ret_connect_to the
 * CURLOPT_CONNECT_TO entry that maps the name back to the real host and port,
 * *ret_host the real authority for the Host header. All three NULL when no
 * rerouting is needed (no tls-server-name, or plain http). -EINVAL if the
 * server URL has no host it can map. */
int kube_config_server_route(const struct kube_config *c, char **ret_url, char **ret_connect_to,
                             char **ret_host);

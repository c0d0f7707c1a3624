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
        char *namespace; /* context namespace, or the pod's namespace in-cluster */
};

/* Parse kubeconfig text (YAML or JSON). base_dir resolves relative file
 * paths (the kubeconfig's directory). Files named in it (CA, cert, key,
 * token) are read here, so errors surface at startup. */
int kube_config_parse(const char *text, size_t len, const char *base_dir, struct kube_config **ret,
                      char **ret_error);
int kube_config_from_file(const char *path, struct kube_config **ret, char **ret_error);
/* KUBERNETES_SERVICE_HOST/_PORT and /var/run/secrets/kubernetes.io/serviceaccount/
 * (root overridable for tests). */
int kube_config_in_cluster(const char *sa_dir, struct kube_config **ret, char **ret_error);
/* path non-empty: that kubeconfig; else $KUBECONFIG if set; else in-cluster. */
int kube_config_load(const char *path, struct kube_config **ret, char **ret_error);
void kube_config_free(struct kube_config *c);

/* Client creation shared by the operator, the agent and the CLI. */
#include "connect.h"

#include "lib/log.h"
#include "lib/util.h"

int kube_connect(sd_event *e, const struct kube_connect_options *opts, struct kube_client **ret)
{
        struct kube_config *kc = NULL;
        _cleanup_free_ char *err = NULL;
        struct kube_client_options o = {
            .qps = opts->qps,
            .burst = opts->burst,
            .user_agent = opts->user_agent,
        };
        const struct kube_config_source src = {
            .path = opts->kubeconfig,
            .context = opts->context,
            .home = opts->home,
        };
        int r;

        assert(opts);
        r = kube_config_load_source(&src, &kc, &err);
        if (r < 0)
                return log_error_errno(r, "cannot load Kubernetes client configuration",
                                       "error_detail=%s", log_q(err));
        r = kube_client_new(e, kc, &o, ret);
        if (r >= 0)
                log_info("Kubernetes client ready", "server=%s qps=%g burst=%u", log_q(kc->server),
                         o.qps, o.burst);
        kube_config_free(kc);
        if (r < 0)
                return log_error_errno(r, "cannot create Kubernetes client");
        return 0;
}

int kube_server_version(struct kube_client *c, char **ret_version, uint64_t timeout_usec)
{
        struct kube_sync s = {0};
        int r;

        r = kube_call(c, "GET", "/version", NULL, NULL, KUBE_CALL_NO_RETRY, timeout_usec,
                      kube_sync_callback, &s, NULL);
        if (r < 0)
                return r;
        r = kube_sync_wait(c, &s, timeout_usec + USEC_PER_SEC);
        if (r >= 0) {
                const char *v = json_string_value(json_object_get(s.body, "gitVersion"));

                *ret_version = xstrdup(v ? v : "unknown");
        } else
                log_error_errno(r, "cannot reach the Kubernetes API",
                                "status=%ld reason=%s message=%s", s.http_status, log_q(s.reason),
                                log_q(s.message));
        kube_sync_done(&s);
        return r;
}

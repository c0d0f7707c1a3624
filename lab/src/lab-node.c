/* l2lb-lab-node: the lab's node agent, doing the kubelet's part for one
 * node namespace.
 *
 *   start-up: clean what a previous run left (pod namespaces of this node),
 *             register the Node (labels, taint on the control plane, status)
 *   then, on one sd-event loop:
 *     every 2 s   renew the node Lease (kube-node-lease/<node>)
 *     every 10 s  re-assert the Node status (Ready, addresses, capacity)
 *     Nodes       learn our pod CIDR; route the other nodes' pod CIDRs via
 *                 their InternalIP (lab/podnet route)
 *     Pods        run the pods bound here (lab-pod.c)
 *   SIGTERM: stop the pods, remove their namespaces, exit. */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kube/api.h"
#include "kube/kubeconfig.h"
#include "lab-node.h"
#include "lab-obj.h"
#include "lab-run.h"
#include "lib/log.h"
#include "lib/util.h"

#define LEASE_NAMESPACE "kube-node-lease"
#define LEASE_SECONDS   40
#define HEARTBEAT_USEC  (2 * USEC_PER_SEC)
#define STATUS_EVERY    5 /* heartbeats */
#define K8S_VERSION     "v1.20.2"

int64_t lab_now_usec(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *lab_time(int64_t usec, char *buf, size_t len)
{
        return k8s_time_format(usec, false, buf, len);
}

/* ---- Node object ---- */

static json_t *node_labels(struct lab_node *n)
{
        json_t *l = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kubernetes.io/hostname", n->name,
                              "kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64",
                              "beta.kubernetes.io/os", "linux", "beta.kubernetes.io/arch", "amd64");

        if (n->control_plane) {
                json_object_set_new(l, "node-role.kubernetes.io/control-plane", json_string(""));
                json_object_set_new(l, "node-role.kubernetes.io/master", json_string(""));
        }
        return l;
}

static json_t *node_taints(struct lab_node *n)
{
        /* what kubeadm 1.20 puts on a control-plane node */
        if (n->control_plane)
                return json_pack("[{s:s, s:s}]", "key", "node-role.kubernetes.io/master", "effect",
                                 "NoSchedule");
        return json_array();
}

static json_t *node_condition(const char *type, const char *status, const char *reason,
                              const char *message, int64_t now, int64_t since)
{
        char a[64], b[64];

        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status, "reason",
                         reason, "message", message, "lastHeartbeatTime",
                         lab_time(now, a, sizeof(a)), "lastTransitionTime",
                         lab_time(since, b, sizeof(b)));
}

static json_t *node_status(struct lab_node *n)
{
        int64_t now = lab_now_usec(), since = n->started_usec;
        struct utsname u;
        json_t *res = json_pack("{s:s, s:s, s:s, s:s}", "cpu", "2", "memory", "4Gi", "pods", "110",
                                "ephemeral-storage", "10Gi");

        if (uname(&u) < 0)
                strcpy(u.release, "unknown");
        return json_pack(
            "{s:[{s:s, s:s}, {s:s, s:s}], s:O, s:o, s:[o, o, o, o], s:{s:s, s:s, s:s, s:s, "
            "s:s, s:s, s:s, s:s, s:s, s:s}, s:{s:{s:i}}}",
            "addresses", "type", "InternalIP", "address", n->node_ip, "type", "Hostname", "address",
            n->name, "capacity", res, "allocatable", res, "conditions",
            node_condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                           "kubelet has sufficient memory available", now, since),
            node_condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                           "kubelet has no disk pressure", now, since),
            node_condition("PIDPressure", "False", "KubeletHasSufficientPID",
                           "kubelet has sufficient PID available", now, since),
            node_condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now,
                           since),
            "nodeInfo", "kubeletVersion", K8S_VERSION, "kubeProxyVersion", K8S_VERSION,
            "operatingSystem", "linux", "architecture", "amd64", "containerRuntimeVersion",
            "lab://l2lb-lab-node", "osImage", "l2lb lab node (network namespace)", "kernelVersion",
            u.release, "machineID", "", "systemUUID", "", "bootID", "", "daemonEndpoints",
            "kubeletEndpoint", "Port", 10250);
}

/* Blocking call for start-up: returns 0, or the failed result's errno. */
static int sync_call(struct lab_node *n, const char *method, const char *path, json_t *body,
                     const char *content_type, struct kube_sync *s)
{
        int r;

        memset(s, 0, sizeof(*s));
        r = kube_call(n->client, method, path, body, content_type, KUBE_CALL_NO_RETRY,
                      10 * USEC_PER_SEC, kube_sync_callback, s, NULL);
        if (r < 0)
                return r;
        return kube_sync_wait(n->client, s, 15 * USEC_PER_SEC);
}

static int node_register_once(struct lab_node *n)
{
        _cleanup_free_ char *coll = kube_path(&KUBE_NODES, NULL, NULL, NULL);
        _cleanup_free_ char *path = kube_path(&KUBE_NODES, NULL, n->name, NULL);
        _cleanup_free_ char *spath = kube_path(&KUBE_NODES, NULL, n->name, "status");
        json_t *obj, *patch;
        struct kube_sync s;
        int r;

        obj = json_pack("{s:s, s:s, s:{s:s, s:o}, s:{s:o}, s:o}", "apiVersion", "v1", "kind",
                        "Node", "metadata", "name", n->name, "labels", node_labels(n), "spec",
                        "taints", node_taints(n), "status", node_status(n));
        r = sync_call(n, "POST", coll, obj, "application/json", &s);
        json_decref(obj);
        if (r < 0 && s.http_status == 409) {
                kube_sync_done(&s);
                patch = json_pack("{s:{s:o}, s:{s:o}}", "metadata", "labels", node_labels(n),
                                  "spec", "taints", node_taints(n));
                r = sync_call(n, "PATCH", path, patch, "application/merge-patch+json", &s);
                json_decref(patch);
        }
        if (r < 0) {
                log_warn("cannot register the node", "node=%s status=%ld message=%s", n->name,
                         s.http_status, log_q(s.message));
                kube_sync_done(&s);
                return r;
        }
        kube_sync_done(&s);
        patch = json_pack("{s:o}", "status", node_status(n));
        r = sync_call(n, "PATCH", spath, patch, "application/merge-patch+json", &s);
        json_decref(patch);
        if (r < 0)
                log_warn("cannot set the node status", "node=%s status=%ld message=%s", n->name,
                         s.http_status, log_q(s.message));
        kube_sync_done(&s);
        return r;
}

/* ---- heartbeat: Lease and status ---- */

static void on_lease_result(struct kube_client *c, const struct kube_result *res, void *ud);

static void lease_create(struct lab_node *n)
{
        char t[64];
        json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s}}", "apiVersion",
                                "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name",
                                n->name, "namespace", LEASE_NAMESPACE, "spec", "holderIdentity",
                                n->name, "leaseDurationSeconds", LEASE_SECONDS, "renewTime",
                                k8s_time_format(lab_now_usec(), true, t, sizeof(t)));
        int r;

        r = kube_create(n->client, &KUBE_LEASES, LEASE_NAMESPACE, obj, on_lease_result, n, NULL);
        json_decref(obj);
        if (r < 0)
                log_warn_errno(r, "cannot create the node lease");
}

static void on_lease_result(struct kube_client *c, const struct kube_result *res, void *ud)
{
        struct lab_node *n = ud;

        if (kube_result_not_found(res)) {
                lease_create(n);
                return;
        }
        if (!kube_result_ok(res) && !kube_result_already_exists(res))
                log_warn("cannot renew the node lease", "status=%ld message=%s", res->http_status,
                         log_q(res->message));
}

static void on_status_result(struct kube_client *c, const struct kube_result *res, void *ud)
{
        if (!kube_result_ok(res))
                log_warn("cannot update the node status", "status=%ld message=%s", res->http_status,
                         log_q(res->message));
}

static int on_heartbeat(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct lab_node *n = userdata;
        char t[64];
        json_t *patch;
        int r;

        patch = json_pack("{s:{s:s, s:i, s:s}}", "spec", "holderIdentity", n->name,
                          "leaseDurationSeconds", LEASE_SECONDS, "renewTime",
                          k8s_time_format(lab_now_usec(), true, t, sizeof(t)));
        r = kube_patch(n->client, &KUBE_LEASES, LEASE_NAMESPACE, n->name, NULL, KUBE_PATCH_MERGE,
                       patch, on_lease_result, n, NULL);
        json_decref(patch);
        if (r < 0)
                log_warn_errno(r, "cannot renew the node lease");

        if (++n->status_tick >= STATUS_EVERY) {
                n->status_tick = 0;
                patch = json_pack("{s:o}", "status", node_status(n));
                r = kube_patch(n->client, &KUBE_NODES, NULL, n->name, "status", KUBE_PATCH_MERGE,
                               patch, on_status_result, n, NULL);
                json_decref(patch);
                if (r < 0)
                        log_warn_errno(r, "cannot update the node status");
        }
        (void)sd_event_source_set_time_relative(s, HEARTBEAT_USEC);
        return 0;
}

/* ---- Nodes: our pod CIDR, routes to the others ---- */

static const char *node_internal_ip(const struct lab_obj *o)
{
        json_t *addrs = json_object_get(json_object_get(o->json, "status"), "addresses"), *a;
        size_t i;

        json_array_foreach(addrs, i, a)
        {
                if (streq_ptr(json_string_value(json_object_get(a, "type")), "InternalIP"))
                        return json_string_value(json_object_get(a, "address"));
        }
        return NULL;
}

static int cidr_parse(const char *s, uint32_t *base, uint32_t *size)
{
        char ip[INET_ADDRSTRLEN];
        const char *slash = strchr(s, '/');
        struct in_addr a;
        char *end;
        long len;

        if (!slash || (size_t)(slash - s) >= sizeof(ip))
                return -EINVAL;
        memcpy(ip, s, (size_t)(slash - s));
        ip[slash - s] = 0;
        len = strtol(slash + 1, &end, 10);
        if (*end || len < 8 || len > 30 || inet_pton(AF_INET, ip, &a) != 1)
                return -EINVAL;
        *size = 1u << (32 - len);
        *base = ntohl(a.s_addr) & ~(*size - 1);
        return 0;
}

static void on_route_done(int status, void *userdata)
{
        char *cidr = userdata;

        if (status != 0)
                log_warn("pod CIDR route failed", "cidr=%s status=%d", cidr, status);
        free(cidr);
}

static void route_run(struct lab_node *n, const char *op, const char *cidr, const char *via)
{
        char *argv[] = {n->podnet, (char *)op, (char *)cidr, (char *)via, NULL};
        char *c = xstrdup(cidr);
        int r;

        r = lab_run_start(n->event, argv, on_route_done, c, NULL);
        if (r < 0) {
                log_warn_errno(r, "cannot run the pod network helper");
                free(c);
        }
}

static void on_node_event(void *userdata, const void *obj)
{
        struct lab_node *n = userdata;
        const struct lab_obj *o = obj;
        const char *cidr = lab_obj_str(o, "spec.podCIDR"), *via;
        uint32_t base, size;

        if (!cidr)
                return;
        if (streq(o->meta.name, n->name)) {
                if (streq_ptr(cidr, n->pod_cidr))
                        return;
                if (cidr_parse(cidr, &base, &size) < 0) {
                        log_error("unusable pod CIDR", "cidr=%s", cidr);
                        return;
                }
                if (n->pod_cidr)
                        log_warn("pod CIDR changed; new pods use the new one", "old=%s new=%s",
                                 n->pod_cidr, cidr);
                free_and_strdup(&n->pod_cidr, cidr);
                n->cidr_base = base;
                n->cidr_size = size;
                log_info("pod CIDR assigned", "cidr=%s", cidr);
                lab_pods_on_cidr(n);
                return;
        }
        via = node_internal_ip(o);
        if (!via || streq_ptr(g_hash_table_lookup(n->routes, cidr), via))
                return;
        log_info("routing pod CIDR", "node=%s cidr=%s via=%s", o->meta.name, cidr, via);
        g_hash_table_replace(n->routes, xstrdup(cidr), xstrdup(via));
        route_run(n, "route", cidr, via);
}

static void on_node_add(void *userdata, const void *obj)
{
        on_node_event(userdata, obj);
}

static void on_node_update(void *userdata, const void *old_obj, const void *new_obj)
{
        on_node_event(userdata, new_obj);
}

static void on_node_remove(void *userdata, const void *obj)
{
        struct lab_node *n = userdata;
        const char *cidr = lab_obj_str(obj, "spec.podCIDR");

        if (!cidr || streq(((const struct lab_obj *)obj)->meta.name, n->name))
                return;
        if (g_hash_table_remove(n->routes, cidr))
                route_run(n, "unroute", cidr, NULL);
}

static const struct kube_informer_handlers node_handlers = {
    .add = on_node_add,
    .update = on_node_update,
    .remove = on_node_remove,
};

/* ---- main ---- */

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct lab_node *n = userdata;

        log_info("stopping: removing the pods of this node", "signal=%u", si->ssi_signo);
        lab_pods_shutdown(n);
        return sd_event_exit(n->event, 0);
}

static void usage(void)
{
        printf("l2lb-lab-node — the lab's node agent (the kubelet's part)\n\n"
               "Usage: l2lb-lab-node --node-name NAME --node-ip IP --kubeconfig PATH\n"
               "                     --podnet PATH --deathstar PATH --pid-dir DIR --log-dir DIR\n"
               "                     [--control-plane] [--log-level L]\n");
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
            {"node-name", required_argument, NULL, 'n'},
            {"node-ip", required_argument, NULL, 'i'},
            {"kubeconfig", required_argument, NULL, 'k'},
            {"podnet", required_argument, NULL, 'p'},
            {"deathstar", required_argument, NULL, 'd'},
            {"pid-dir", required_argument, NULL, 'P'},
            {"log-dir", required_argument, NULL, 'L'},
            {"control-plane", no_argument, NULL, 'c'},
            {"log-level", required_argument, NULL, 'l'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct lab_node n = {0};
        const char *kubeconfig = NULL;
        struct kube_config *kc = NULL;
        _cleanup_free_ char *err = NULL, *selector = NULL;
        struct kube_informer_options po = {0};
        enum log_level level = LOG_LEVEL_INFO;
        struct kube_client_options co = {.qps = 50, .burst = 100, .user_agent = "l2lb-lab-node"};
        sigset_t ss;
        int r, c;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case 'n':
                        n.name = optarg;
                        break;
                case 'i':
                        n.node_ip = optarg;
                        break;
                case 'k':
                        kubeconfig = optarg;
                        break;
                case 'p':
                        n.podnet = optarg;
                        break;
                case 'd':
                        n.deathstar = optarg;
                        break;
                case 'P':
                        n.pid_dir = optarg;
                        break;
                case 'L':
                        n.log_dir = optarg;
                        break;
                case 'c':
                        n.control_plane = true;
                        break;
                case 'l':
                        if (log_parse_level(optarg, &level) < 0) {
                                fprintf(stderr, "l2lb-lab-node: bad --log-level '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        usage();
                        return 0;
                default:
                        return 2;
                }
        }
        if (!n.name || !n.node_ip || !kubeconfig || !n.podnet || !n.deathstar || !n.pid_dir ||
            !n.log_dir || optind < argc) {
                usage();
                return 2;
        }
        log_setup("l2lb-lab-node", LOG_FORMAT_LOGFMT, level);

        (void)sigemptyset(&ss);
        (void)sigaddset(&ss, SIGTERM);
        (void)sigaddset(&ss, SIGINT);
        (void)sigaddset(&ss, SIGCHLD);
        (void)sigprocmask(SIG_BLOCK, &ss, NULL);
        (void)signal(SIGPIPE, SIG_IGN);

        r = kube_config_from_file(kubeconfig, &kc, &err);
        if (r < 0) {
                log_error_errno(r, "cannot read the kubeconfig", "path=%s error=%s", kubeconfig,
                                log_q(err));
                return 1;
        }
        r = sd_event_default(&n.event);
        if (r >= 0)
                r = kube_client_new(n.event, kc, &co, &n.client);
        kube_config_free(kc);
        if (r < 0) {
                log_error_errno(r, "cannot create the Kubernetes client");
                goto out;
        }
        n.started_usec = lab_now_usec();
        n.routes = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
        lab_pods_init(&n);

        {
                char *argv_clean[] = {n.podnet, "cleanup", n.name, NULL};

                r = lab_run_wait(argv_clean);
                if (r != 0)
                        log_warn("clean-up of earlier pod namespaces failed", "status=%d", r);
        }
        for (unsigned attempt = 0;; attempt++) {
                r = node_register_once(&n);
                if (r >= 0)
                        break;
                if (attempt >= 120) {
                        log_error_errno(r, "giving up registering the node");
                        goto out;
                }
                (void)sleep(1);
        }
        log_info("node registered", "node=%s ip=%s control_plane=%s", n.name, n.node_ip,
                 n.control_plane ? "true" : "false");

        r = sd_event_add_time_relative(n.event, &n.heartbeat, CLOCK_MONOTONIC, 0, USEC_PER_SEC / 10,
                                       on_heartbeat, &n);
        if (r >= 0)
                r = sd_event_source_set_enabled(n.heartbeat, SD_EVENT_ON);
        if (r >= 0)
                r = kube_informer_new(n.client, &KUBE_NODES, &LAB_TYPE_OBJECT, NULL, &node_handlers,
                                      &n, &n.nodes);
        selector = xasprintf("spec.nodeName=%s", n.name);
        po.field_selector = selector;
        if (r >= 0)
                r = kube_informer_new(n.client, &KUBE_PODS, &LAB_TYPE_OBJECT, &po,
                                      &lab_pod_handlers, &n, &n.pods);
        if (r >= 0)
                r = kube_informer_start(n.nodes);
        if (r >= 0)
                r = kube_informer_start(n.pods);
        if (r >= 0)
                r = sd_event_add_signal(n.event, NULL, SIGTERM, on_signal, &n);
        if (r >= 0)
                r = sd_event_add_signal(n.event, NULL, SIGINT, on_signal, &n);
        if (r < 0) {
                log_error_errno(r, "cannot start the node agent");
                goto out;
        }
        r = sd_event_loop(n.event);
out:
        kube_informer_free(n.pods);
        kube_informer_free(n.nodes);
        if (n.pods_by_key)
                g_hash_table_destroy(n.pods_by_key);
        if (n.used_ips)
                g_hash_table_destroy(n.used_ips);
        if (n.routes)
                g_hash_table_destroy(n.routes);
        (void)sd_event_source_disable_unref(n.heartbeat);
        kube_client_free(n.client);
        free(n.pod_cidr);
        (void)sd_event_unref(n.event);
        return r < 0 ? 1 : 0;
}

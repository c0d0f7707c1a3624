/* The pods of one lab node: each pod bound to the node (spec.nodeName) runs
 * as a process in its own network namespace, with a veth into the node and
 * an IP from the node's pod CIDR, and is reported Running and Ready.
 *
 * One state machine per pod, driven by informer events, the pod network
 * helper's completion (lab/podnet, run asynchronously), the process's
 * readiness byte and its exit:
 *
 *   WAIT_CIDR → NET_SETUP → STARTING → RUNNING ⇄ BACKOFF (restart on exit)
 *   any ──stop──▶ STOPPING (SIGTERM, then SIGKILL) → NET_TEARDOWN → DONE
 *   IMAGE_ERROR: an image the lab does not have (reported, never started)
 *
 * A pod being deleted is stopped, its namespace removed, and its deletion
 * finalised with a grace period of 0, as the kubelet does. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sched.h>

#include "kube/api.h"
#include "lab-node.h"
#include "lab-obj.h"
#include "lab-run.h"
#include "lib/log.h"
#include "lib/util.h"

#define STARWARS_IMAGE    "docker.io/cilium/starwars"
#define POD_PORT          80
#define STOP_TIMEOUT_USEC (5 * USEC_PER_SEC)
#define RETRY_USEC        (2 * USEC_PER_SEC)

enum pod_state {
        POD_WAIT_CIDR,
        POD_IMAGE_ERROR,
        POD_NET_SETUP,
        POD_STARTING,
        POD_RUNNING,
        POD_BACKOFF,
        POD_STOPPING,
        POD_NET_TEARDOWN,
        POD_DONE,
};

struct lab_pod {
        struct lab_node *node;
        char *key; /* "ns/name" */
        char *namespace, *name, *uid;
        char *netns, *veth;
        char *bad_image;    /* first container image the lab cannot run */
        json_t *containers; /* [{name, image}] */
        uint32_t ip;        /* host order, 0 = none */
        char *previous_ip;  /* status.podIP seen in the API (kept across agent restarts) */

        enum pod_state state;
        bool want_stop;    /* deleting or gone */
        bool api_deleting; /* deletionTimestamp seen: finalise with DELETE */
        bool api_gone;     /* removed from the API: free when DONE */
        bool delete_sent;
        bool pull_backoff; /* image error reported once: now ImagePullBackOff */
        unsigned restarts;
        int64_t start_time, started_at; /* realtime usec */

        struct lab_run *run;
        struct kube_call *status_call, *delete_call; /* cancelled when the pod is freed */
        pid_t pid;
        sd_event_source *child;
        sd_event_source *ready_io;
        int ready_fd;
        sd_event_source *timer;
        char *reported; /* last reported status text, to skip identical patches */
};

static void pod_sync(struct lab_pod *p);

/* ---- helpers ---- */

static bool image_available(const char *image)
{
        const char *rest;

        if (!image)
                return false;
        rest = startswith(image, STARWARS_IMAGE);
        if (!rest)
                rest = startswith(image, "cilium/starwars");
        /* any tag or digest of the image */
        return rest && (*rest == 0 || *rest == ':' || *rest == '@');
}

static char *ip_text(uint32_t ip)
{
        struct in_addr a = {.s_addr = htonl(ip)};
        char buf[INET_ADDRSTRLEN];

        return xstrdup(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
}

static int ip_parse(const char *s, uint32_t *ret)
{
        struct in_addr a;

        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        *ret = ntohl(a.s_addr);
        return 0;
}

/* Short, stable host-side veth name for a pod ("veth" + 8 hex digits). */
static char *veth_name(const char *key)
{
        uint32_t h = 2166136261u; /* FNV-1a */

        for (const char *c = key; *c; c++)
                h = (h ^ (unsigned char)*c) * 16777619u;
        return xasprintf("veth%08x", h);
}

static bool ip_in_cidr(struct lab_node *n, uint32_t ip)
{
        return n->cidr_size > 0 && ip - n->cidr_base < n->cidr_size;
}

/* The pod keeps its previous IP when it can; else the lowest free host
 * address after the gateway (.1). */
static int pod_allocate_ip(struct lab_pod *p)
{
        struct lab_node *n = p->node;
        uint32_t ip;

        if (p->ip)
                return 0;
        if (ip_parse(p->previous_ip, &ip) >= 0 && ip_in_cidr(n, ip) && ip - n->cidr_base >= 2 &&
            ip - n->cidr_base < n->cidr_size - 1 &&
            !g_hash_table_contains(n->used_ips, GUINT_TO_POINTER(ip))) {
                p->ip = ip;
        } else {
                for (uint32_t i = 2; i + 1 < n->cidr_size; i++) {
                        if (!g_hash_table_contains(n->used_ips,
                                                   GUINT_TO_POINTER(n->cidr_base + i))) {
                                p->ip = n->cidr_base + i;
                                break;
                        }
                }
        }
        if (!p->ip)
                return -ENOSPC;
        g_hash_table_add(n->used_ips, GUINT_TO_POINTER(p->ip));
        return 0;
}

static void pod_release_ip(struct lab_pod *p)
{
        if (p->ip)
                g_hash_table_remove(p->node->used_ips, GUINT_TO_POINTER(p->ip));
        p->ip = 0;
}

static char *pid_file(struct lab_pod *p)
{
        return xasprintf("%s/%s.pid", p->node->pid_dir, p->netns);
}

/* "PID STARTTIME" like scripts/kube-testenv, so the lab stops exactly this
 * process and never a recycled PID. */
static void pid_file_write(struct lab_pod *p)
{
        _cleanup_free_ char *path = pid_file(p), *stat = NULL, *tmp = NULL;
        char proc[64];
        unsigned long long st = 0;
        FILE *f;

        (void)snprintf(proc, sizeof(proc), "/proc/%d/stat", (int)p->pid);
        if (read_full_file(proc, &stat, NULL) >= 0) {
                const char *q = strrchr(stat, ')');
                int field = 2;

                for (; q && *q; q++)
                        if (*q == ' ' && ++field == 22) {
                                st = strtoull(q + 1, NULL, 10);
                                break;
                        }
        }
        tmp = xasprintf("%s.tmp", path);
        f = fopen(tmp, "we");
        if (!f)
                return;
        fprintf(f, "%d %llu\n", (int)p->pid, st);
        if (fclose(f) == 0)
                (void)rename(tmp, path);
}

static void pid_file_remove(struct lab_pod *p)
{
        _cleanup_free_ char *path = pid_file(p);

        (void)unlink(path);
}

/* ---- status ---- */

static json_t *condition(const char *type, bool ok, const char *reason, int64_t since)
{
        char t[64];
        json_t *c = json_pack("{s:s, s:s, s:n, s:s}", "type", type, "status", ok ? "True" : "False",
                              "lastProbeTime", "lastTransitionTime", lab_time(since, t, sizeof(t)));

        if (!ok && reason)
                json_object_set_new(c, "reason", json_string(reason));
        return c;
}

static json_t *container_statuses(struct lab_pod *p)
{
        json_t *a = json_array();
        size_t i;
        json_t *ctr;
        char t[64], id[64];
        bool running = p->state == POD_RUNNING;

        (void)snprintf(id, sizeof(id), "lab://%d", (int)p->pid);
        json_array_foreach(p->containers, i, ctr)
        {
                const char *name = json_string_value(json_object_get(ctr, "name"));
                const char *image = json_string_value(json_object_get(ctr, "image"));
                json_t *state, *cs;

                if (running)
                        state = json_pack("{s:{s:s}}", "running", "startedAt",
                                          lab_time(p->started_at, t, sizeof(t)));
                else if (p->state == POD_IMAGE_ERROR) {
                        _cleanup_free_ char *msg = xasprintf(
                            "image \"%s\" is not available in this lab: only " STARWARS_IMAGE
                            " is (it runs l2lb-deathstar)",
                            strempty(image));

                        state = json_pack("{s:{s:s, s:s}}", "waiting", "reason",
                                          p->pull_backoff ? "ImagePullBackOff" : "ErrImagePull",
                                          "message", msg);
                } else if (p->state == POD_BACKOFF)
                        state = json_pack("{s:{s:s, s:s}}", "waiting", "reason", "CrashLoopBackOff",
                                          "message", "l2lb-deathstar exited; restarting");
                else
                        state = json_pack("{s:{s:s}}", "waiting", "reason", "ContainerCreating");
                cs = json_pack("{s:s, s:s, s:s, s:b, s:b, s:i, s:o}", "name", strempty(name),
                               "image", strempty(image), "imageID",
                               running ? "lab://l2lb-deathstar" : "", "ready", running, "started",
                               running, "restartCount", (int)p->restarts, "state", state);
                if (running)
                        json_object_set_new(cs, "containerID", json_string(id));
                json_array_append_new(a, cs);
        }
        return a;
}

static void on_status_patched(struct kube_client *c, const struct kube_result *res, void *ud)
{
        struct lab_pod *p = ud;

        p->status_call = NULL;
        if (!kube_result_ok(res) && !kube_result_not_found(res)) {
                log_warn("cannot report pod status", "pod=%s status=%ld message=%s", p->key,
                         res->http_status, log_q(res->message));
                free(p->reported); /* report again at the next change or retry */
                p->reported = NULL;
        }
}

static void pod_report(struct lab_pod *p)
{
        struct lab_node *n = p->node;
        bool running = p->state == POD_RUNNING;
        _cleanup_free_ char *ip = p->ip ? ip_text(p->ip) : NULL, *text = NULL;
        json_t *status, *patch;
        const char *phase;
        char t[64];
        int r;

        if (p->want_stop || p->state == POD_DONE)
                return;
        phase = (running || p->state == POD_BACKOFF) ? "Running" : "Pending";
        status = json_pack("{s:s, s:s, s:s, s:[o,o,o,o], s:o}", "phase", phase, "hostIP",
                           n->node_ip, "startTime", lab_time(p->start_time, t, sizeof(t)),
                           "conditions", condition("Initialized", true, NULL, p->start_time),
                           condition("Ready", running, "ContainersNotReady",
                                     running ? p->started_at : p->start_time),
                           condition("ContainersReady", running, "ContainersNotReady",
                                     running ? p->started_at : p->start_time),
                           condition("PodScheduled", true, NULL, p->start_time),
                           "containerStatuses", container_statuses(p));
        if (ip && (running || p->state == POD_BACKOFF || p->state == POD_STARTING)) {
                json_object_set_new(status, "podIP", json_string(ip));
                json_object_set_new(status, "podIPs", json_pack("[{s:s}]", "ip", ip));
        }
        patch = json_pack("{s:o}", "status", status);
        /* compare without the per-state timestamps that do not change */
        text = json_dumps(patch, JSON_SORT_KEYS | JSON_COMPACT);
        if (streq_ptr(text, p->reported)) {
                json_decref(patch);
                return;
        }
        free(p->reported);
        p->reported = text;
        text = NULL;
        kube_call_cancel(p->status_call); /* the newer status wins */
        p->status_call = NULL;
        r = kube_patch(n->client, &KUBE_PODS, p->namespace, p->name, "status", KUBE_PATCH_MERGE,
                       patch, on_status_patched, p, &p->status_call);
        if (r < 0)
                log_warn_errno(r, "cannot report pod status", "pod=%s", p->key);
        json_decref(patch);
}

/* ---- process ---- */

static void pod_clear_process(struct lab_pod *p)
{
        p->child = sd_event_source_disable_unref(p->child);
        p->ready_io = sd_event_source_disable_unref(p->ready_io);
        if (p->ready_fd >= 0)
                (void)close(p->ready_fd);
        p->ready_fd = -1;
        pid_file_remove(p);
        p->pid = 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct lab_pod *p = userdata;

        p->timer = sd_event_source_disable_unref(p->timer);
        if (p->state == POD_STOPPING && p->pid > 0) {
                log_warn("pod process ignored SIGTERM: SIGKILL", "pod=%s pid=%d", p->key,
                         (int)p->pid);
                (void)kill(p->pid, SIGKILL);
                return 0;
        }
        if (p->state == POD_BACKOFF)
                p->state = POD_STARTING; /* restart below */
        pod_sync(p);
        return 0;
}

static void pod_arm_timer(struct lab_pod *p, uint64_t usec)
{
        int r;

        p->timer = sd_event_source_disable_unref(p->timer);
        r = sd_event_add_time_relative(p->node->event, &p->timer, CLOCK_MONOTONIC, usec,
                                       USEC_PER_SEC / 20, on_timer, p);
        if (r < 0)
                log_error_errno(r, "cannot arm pod timer", "pod=%s", p->key);
}

static void pod_net_teardown(struct lab_pod *p);

static int on_pod_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        struct lab_pod *p = userdata;

        log_info("pod process exited", "pod=%s pid=%d code=%d status=%d", p->key, (int)p->pid,
                 si->si_code, si->si_status);
        pod_clear_process(p);
        p->timer = sd_event_source_disable_unref(p->timer);
        if (p->state == POD_STOPPING) {
                pod_net_teardown(p);
                return 0;
        }
        /* crashed: restart after a pause, as restartPolicy Always does */
        p->restarts++;
        p->state = POD_BACKOFF;
        pod_report(p);
        pod_arm_timer(p, USEC_PER_SEC);
        return 0;
}

static int on_pod_ready(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct lab_pod *p = userdata;
        char b;

        p->ready_io = sd_event_source_disable_unref(p->ready_io);
        if (read(fd, &b, 1) == 1 && p->state == POD_STARTING) {
                p->state = POD_RUNNING;
                p->started_at = lab_now_usec();
                log_info("pod running", "pod=%s pid=%d", p->key, (int)p->pid);
                pod_report(p);
        }
        /* EOF without the byte: the process is exiting; on_pod_exit handles it */
        (void)close(p->ready_fd);
        p->ready_fd = -1;
        return 0;
}

/* Child side: enter the pod's network namespace and exec the server. */
_Noreturn static void pod_exec(struct lab_pod *p, int ready_w, int log_fd)
{
        char nspath[PATH_MAX];
        sigset_t ss;
        int fd;

        (void)sigemptyset(&ss);
        (void)sigprocmask(SIG_SETMASK, &ss, NULL);
        (void)prctl(PR_SET_PDEATHSIG, SIGTERM); /* pods die with their node */
        if (log_fd >= 0) {
                (void)dup2(log_fd, STDOUT_FILENO);
                (void)dup2(log_fd, STDERR_FILENO);
        }
        fd = open("/dev/null", O_RDONLY);
        if (fd >= 0)
                (void)dup2(fd, STDIN_FILENO);
        (void)snprintf(nspath, sizeof(nspath), "/run/netns/%s", p->netns);
        fd = open(nspath, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
                fprintf(stderr, "cannot enter %s: %m\n", nspath);
                _exit(126);
        }
        if (ready_w == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(ready_w, 3) < 0)
                _exit(126);
        (void)setsid();
        execl(p->node->deathstar, "l2lb-deathstar", "--hostname", p->name, "--port", "80",
              "--ready-fd", "3", (char *)NULL);
        fprintf(stderr, "cannot execute %s: %m\n", p->node->deathstar);
        _exit(127);
}

static int pod_start_process(struct lab_pod *p)
{
        struct lab_node *n = p->node;
        _cleanup_free_ char *log_path = xasprintf("%s/%s.%s.log", n->log_dir, n->name, p->netns);
        int pipefd[2], log_fd = -1, r;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        pid = fork();
        if (pid < 0) {
                r = -errno;
                (void)close(pipefd[0]);
                (void)close(pipefd[1]);
                if (log_fd >= 0)
                        (void)close(log_fd);
                return r;
        }
        if (pid == 0)
                pod_exec(p, pipefd[1], log_fd);
        (void)close(pipefd[1]);
        if (log_fd >= 0)
                (void)close(log_fd);
        p->pid = pid;
        p->ready_fd = pipefd[0];
        pid_file_write(p);
        r = sd_event_add_child(n->event, &p->child, pid, WEXITED, on_pod_exit, p);
        if (r >= 0)
                r = sd_event_add_io(n->event, &p->ready_io, p->ready_fd, EPOLLIN, on_pod_ready, p);
        if (r < 0) {
                (void)kill(pid, SIGKILL);
                (void)waitpid(pid, NULL, 0);
                pod_clear_process(p);
                return r;
        }
        log_info("pod process started", "pod=%s pid=%d netns=%s", p->key, (int)pid, p->netns);
        return 0;
}

/* ---- network ---- */

static void on_net_setup(int status, void *userdata)
{
        struct lab_pod *p = userdata;
        int r;

        p->run = NULL;
        if (status != 0) {
                log_warn("pod network setup failed; retrying", "pod=%s status=%d", p->key, status);
                p->state = POD_WAIT_CIDR;
                pod_arm_timer(p, RETRY_USEC);
                return;
        }
        if (p->want_stop) {
                p->state = POD_STOPPING;
                pod_net_teardown(p);
                return;
        }
        p->state = POD_STARTING;
        r = pod_start_process(p);
        if (r < 0) {
                log_error_errno(r, "cannot start pod process; retrying", "pod=%s", p->key);
                p->state = POD_BACKOFF;
                pod_arm_timer(p, RETRY_USEC);
        }
        pod_report(p);
}

static void pod_net_setup(struct lab_pod *p)
{
        struct lab_node *n = p->node;
        _cleanup_free_ char *ip = NULL, *gw = NULL;
        int r;

        r = pod_allocate_ip(p);
        if (r < 0) {
                log_error_errno(r, "no free pod IP", "pod=%s cidr=%s", p->key, n->pod_cidr);
                pod_arm_timer(p, RETRY_USEC);
                return;
        }
        ip = ip_text(p->ip);
        gw = ip_text(n->cidr_base + 1);
        char *argv[] = {n->podnet, "add", n->name, p->netns, p->veth, ip, gw, NULL};

        p->state = POD_NET_SETUP;
        log_info("setting up pod network", "pod=%s netns=%s ip=%s", p->key, p->netns, ip);
        r = lab_run_start(n->event, argv, on_net_setup, p, &p->run);
        if (r < 0) {
                log_error_errno(r, "cannot run the pod network helper", "helper=%s", n->podnet);
                p->state = POD_WAIT_CIDR;
                pod_arm_timer(p, RETRY_USEC);
        }
}

static void on_pod_deleted(struct kube_client *c, const struct kube_result *res, void *ud)
{
        struct lab_pod *p = ud;

        p->delete_call = NULL;
        if (!kube_result_ok(res) && !kube_result_not_found(res) && !kube_result_conflict(res)) {
                log_warn("cannot finalise pod deletion; retrying", "pod=%s status=%ld message=%s",
                         p->key, res->http_status, log_q(res->message));
                p->delete_sent = false;
                pod_arm_timer(p, RETRY_USEC);
                return;
        }
        log_info("pod deleted", "pod=%s", p->key);
}

static void pod_finalise(struct lab_pod *p)
{
        json_t *opts;
        int r;

        if (!p->api_deleting || p->api_gone || p->delete_sent)
                return;
        opts = json_pack("{s:s, s:s, s:i, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
                         "gracePeriodSeconds", 0, "preconditions", "uid", strempty(p->uid));
        p->delete_sent = true;
        r = kube_delete(p->node->client, &KUBE_PODS, p->namespace, p->name, opts, on_pod_deleted, p,
                        &p->delete_call);
        json_decref(opts);
        if (r < 0) {
                p->delete_sent = false;
                log_warn_errno(r, "cannot delete pod", "pod=%s", p->key);
        }
}

static void pod_free(struct lab_pod *p);

static void on_net_teardown(int status, void *userdata)
{
        struct lab_pod *p = userdata;

        p->run = NULL;
        if (status != 0)
                log_warn("pod network teardown failed", "pod=%s status=%d", p->key, status);
        p->state = POD_DONE;
        pod_release_ip(p);
        log_info("pod stopped", "pod=%s", p->key);
        if (p->api_gone) {
                g_hash_table_remove(p->node->pods_by_key, p->key); /* frees p */
                return;
        }
        pod_finalise(p);
}

static void pod_net_teardown(struct lab_pod *p)
{
        struct lab_node *n = p->node;
        char *argv[] = {n->podnet, "del", n->name, p->netns, p->veth, NULL};
        int r;

        p->state = POD_NET_TEARDOWN;
        r = lab_run_start(n->event, argv, on_net_teardown, p, &p->run);
        if (r < 0) {
                log_error_errno(r, "cannot run the pod network helper", "helper=%s", n->podnet);
                on_net_teardown(1, p);
        }
}

/* ---- state machine ---- */

static void pod_stop(struct lab_pod *p)
{
        switch (p->state) {
        case POD_WAIT_CIDR:
        case POD_IMAGE_ERROR:
                p->timer = sd_event_source_disable_unref(p->timer);
                if (p->state == POD_WAIT_CIDR && p->ip)
                        pod_net_teardown(p); /* a failed setup may have left parts */
                else {
                        p->state = POD_STOPPING;
                        on_net_teardown(0, p);
                }
                break;
        case POD_BACKOFF:
                p->timer = sd_event_source_disable_unref(p->timer);
                pod_net_teardown(p);
                break;
        case POD_STARTING:
        case POD_RUNNING:
                if (p->pid <= 0) { /* STARTING after a failed fork */
                        pod_net_teardown(p);
                        break;
                }
                p->state = POD_STOPPING;
                log_info("stopping pod", "pod=%s pid=%d", p->key, (int)p->pid);
                (void)kill(p->pid, SIGTERM);
                pod_arm_timer(p, STOP_TIMEOUT_USEC);
                break;
        case POD_NET_SETUP:    /* on_net_setup sees want_stop */
        case POD_STOPPING:     /* on_pod_exit continues */
        case POD_NET_TEARDOWN: /* on_net_teardown continues */
                break;
        case POD_DONE:
                pod_finalise(p);
                break;
        }
}

static void pod_sync(struct lab_pod *p)
{
        struct lab_node *n = p->node;
        int r;

        if (p->want_stop) {
                pod_stop(p);
                return;
        }
        switch (p->state) {
        case POD_WAIT_CIDR:
                if (p->bad_image) {
                        p->state = POD_IMAGE_ERROR;
                        log_warn("pod image not available in the lab", "pod=%s image=%s", p->key,
                                 log_q(p->bad_image));
                        pod_report(p);
                        pod_arm_timer(p, 5 * USEC_PER_SEC); /* → ImagePullBackOff */
                        return;
                }
                if (!n->pod_cidr || p->run || p->timer)
                        return;
                pod_net_setup(p);
                break;
        case POD_IMAGE_ERROR:
                if (!p->pull_backoff) { /* the back-off timer fired */
                        p->pull_backoff = true;
                        pod_report(p);
                }
                break;
        case POD_STARTING:
                if (p->pid > 0 || p->run)
                        return;
                r = pod_start_process(p); /* restart after a crash */
                if (r < 0) {
                        log_error_errno(r, "cannot start pod process; retrying", "pod=%s", p->key);
                        p->state = POD_BACKOFF;
                        pod_arm_timer(p, RETRY_USEC);
                }
                break;
        default:
                break;
        }
}

/* ---- informer handlers ---- */

static void pod_free(struct lab_pod *p)
{
        if (!p)
                return;
        lab_run_cancel(p->run);
        kube_call_cancel(p->status_call);
        kube_call_cancel(p->delete_call);
        if (p->pid > 0) {
                (void)kill(p->pid, SIGKILL);
                (void)waitpid(p->pid, NULL, 0);
        }
        pod_clear_process(p);
        (void)sd_event_source_disable_unref(p->timer);
        pod_release_ip(p);
        json_decref(p->containers);
        free(p->key);
        free(p->namespace);
        free(p->name);
        free(p->uid);
        free(p->netns);
        free(p->veth);
        free(p->bad_image);
        free(p->previous_ip);
        free(p->reported);
        free(p);
}

static void pod_read_spec(struct lab_pod *p, const struct lab_obj *o)
{
        json_t *ctrs = json_object_get(json_object_get(o->json, "spec"), "containers"), *c;
        size_t i;

        json_decref(p->containers);
        p->containers = json_array();
        free(p->bad_image);
        p->bad_image = NULL;
        json_array_foreach(ctrs, i, c)
        {
                const char *name = json_string_value(json_object_get(c, "name"));
                const char *image = json_string_value(json_object_get(c, "image"));

                json_array_append_new(p->containers, json_pack("{s:s, s:s}", "name", strempty(name),
                                                               "image", strempty(image)));
                if (!image_available(image) && !p->bad_image)
                        p->bad_image = xstrdup(strempty(image));
        }
        if (json_array_size(p->containers) == 0 && !p->bad_image)
                p->bad_image = xstrdup("(no containers)");
}

static const char *pod_namespace(const struct lab_obj *o)
{
        return o->meta.namespace ? o->meta.namespace : "default";
}

/* "ns/name", the key of pods_by_key */
static char *pod_key(const struct lab_obj *o)
{
        return xasprintf("%s/%s", pod_namespace(o), o->meta.name);
}

static struct lab_pod *pod_new(struct lab_node *n, const struct lab_obj *o)
{
        struct lab_pod *p = xnew(struct lab_pod, 1);
        const char *ns = pod_namespace(o);

        p->node = n;
        p->ready_fd = -1;
        p->namespace = xstrdup(ns);
        p->name = xstrdup(o->meta.name);
        p->uid = xstrdup(strempty(o->meta.uid));
        p->key = pod_key(o);
        p->netns = xasprintf("pod-%s-%s", ns, o->meta.name);
        p->veth = veth_name(p->key);
        p->previous_ip = xstrdup(lab_obj_str(o, "status.podIP"));
        p->start_time = lab_now_usec();
        pod_read_spec(p, o);
        return p;
}

static void on_pod_event(void *userdata, const void *obj)
{
        struct lab_node *n = userdata;
        const struct lab_obj *o = obj;
        _cleanup_free_ char *key = NULL;
        struct lab_pod *p;

        if (n->stopping)
                return;
        key = pod_key(o);
        p = g_hash_table_lookup(n->pods_by_key, key);
        if (p && !streq_ptr(p->uid, o->meta.uid)) {
                /* a new pod with the name of an old one: the old is gone */
                p->api_gone = p->want_stop = true;
                pod_sync(p);
                if (g_hash_table_contains(n->pods_by_key, key))
                        return; /* the new one is picked up at its next event */
                p = NULL;
        }
        if (!p) {
                if (o->meta.deleting) {
                        /* never started here: just finalise */
                        p = pod_new(n, o);
                        p->api_deleting = p->want_stop = true;
                        p->state = POD_DONE;
                        g_hash_table_insert(n->pods_by_key, xstrdup(p->key), p);
                        pod_finalise(p);
                        return;
                }
                p = pod_new(n, o);
                g_hash_table_insert(n->pods_by_key, xstrdup(p->key), p);
                log_info("pod bound to this node", "pod=%s uid=%s", p->key, p->uid);
        }
        if (o->meta.deleting && !p->api_deleting) {
                p->api_deleting = p->want_stop = true;
                log_info("pod deleting", "pod=%s", p->key);
        }
        pod_sync(p);
}

static void on_pod_add(void *userdata, const void *obj)
{
        on_pod_event(userdata, obj);
}

static void on_pod_update(void *userdata, const void *old_obj, const void *new_obj)
{
        on_pod_event(userdata, new_obj);
}

static void on_pod_remove(void *userdata, const void *obj)
{
        struct lab_node *n = userdata;
        const struct lab_obj *o = obj;
        _cleanup_free_ char *key = pod_key(o);
        struct lab_pod *p;

        p = g_hash_table_lookup(n->pods_by_key, key);
        if (!p || !streq_ptr(p->uid, o->meta.uid))
                return;
        p->api_gone = p->want_stop = true;
        if (p->state == POD_DONE) {
                g_hash_table_remove(n->pods_by_key, key);
                return;
        }
        pod_sync(p);
}

const struct kube_informer_handlers lab_pod_handlers = {
    .add = on_pod_add,
    .update = on_pod_update,
    .remove = on_pod_remove,
};

static void pod_free_cb(gpointer p)
{
        pod_free(p);
}

void lab_pods_init(struct lab_node *n)
{
        n->pods_by_key = g_hash_table_new_full(g_str_hash, g_str_equal, free, pod_free_cb);
        n->used_ips = g_hash_table_new(g_direct_hash, g_direct_equal);
}

void lab_pods_on_cidr(struct lab_node *n)
{
        GList *pods = g_hash_table_get_values(n->pods_by_key);

        /* only pods waiting for the CIDR: they start their network setup,
         * which never frees a pod, so the list stays valid */
        for (GList *l = pods; l; l = l->next) {
                struct lab_pod *p = l->data;

                if (p->state == POD_WAIT_CIDR && !p->want_stop)
                        pod_sync(p);
        }
        g_list_free(pods);
}

void lab_pods_shutdown(struct lab_node *n)
{
        GHashTableIter it;
        gpointer v;

        n->stopping = true;
        g_hash_table_iter_init(&it, n->pods_by_key);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct lab_pod *p = v;
                char *argv[] = {n->podnet, "del", n->name, p->netns, p->veth, NULL};

                lab_run_cancel(p->run);
                p->run = NULL;
                if (p->pid > 0) {
                        (void)kill(p->pid, SIGTERM);
                        (void)waitpid(p->pid, NULL, 0);
                }
                pod_clear_process(p);
                if (p->state != POD_DONE && p->state != POD_IMAGE_ERROR)
                        (void)lab_run_wait(argv);
        }
        g_hash_table_remove_all(n->pods_by_key);
}

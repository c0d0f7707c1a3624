/* What the agent tells about itself: the status socket (`l2lb status`,
 * `l2lb config view`), /healthz and /readyz, and the Prometheus metrics. */
#include <stdio.h>

#include "agent-internal.h"
#include "announce/timing.h"
#include "bpf/responder.h"
#include "daemon/client-metrics.h"
#include "daemon/httpd.h"
#include "daemon/metrics.h"
#include "daemon/program.h"
#include "kube/informer.h"
#include "lib/log.h"
#include "lib/util.h"

bool agent_ready(struct agent *a)
{
        GHashTableIter it;
        gpointer v;
        size_t present = 0;

        assert(a);
        if (!a->synced)
                return false;
        /* with no devices configured it attaches on demand, to the devices
         * entries need */
        if (strv_length(a->cfg->devices) == 0)
                return true;
        g_hash_table_iter_init(&it, a->devices);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                const struct link_info *l = v;

                if (!agent_device_configured(a, l->name))
                        continue;
                if (!g_hash_table_contains(a->attached, GINT_TO_POINTER(l->ifindex)))
                        return false;
                present++;
        }
        return present > 0;
}

const char *agent_mac_format(const uint8_t mac[6], char buf[static 18])
{
        (void)snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                       mac[4], mac[5]);
        return buf;
}

/* Key of a->garps_sent (and of the set of announced IPs in collect()). */
static char *garp_key(const char *ip, const char *dev)
{
        return g_strdup_printf("%s\x1f%s", ip, dev);
}

void agent_count_garps(struct agent *a, const char *ip, const char *dev, unsigned n)
{
        char *key;
        guint64 *sent;

        assert(a);
        key = garp_key(ip, dev);
        sent = g_hash_table_lookup(a->garps_sent, key);
        if (!sent) {
                sent = g_new0(guint64, 1);
                g_hash_table_insert(a->garps_sent, key, sent);
        } else
                g_free(key);
        *sent += n;
}

/* ---- address conflicts ---- */

/* The entries' conflict counters are read every CONFLICT_CHECK_INTERVAL; a
 * growing one is logged at once, then at most every CONFLICT_LOG_INTERVAL
 * per entry (an address taken over by another host keeps announcing). */
#define CONFLICT_CHECK_INTERVAL (2 * USEC_PER_SEC)
#define CONFLICT_LOG_INTERVAL   (60 * USEC_PER_SEC)

struct conflict_log {
        uint64_t logged;    /* the counter when last logged */
        uint64_t logged_at; /* mono; 0: never */
        bool seen;          /* mark and sweep */
};

/* Log the conflict counters of entries[0..n) that grew (rate-limited) and
 * forget the entries gone. */
static void check_conflicts(struct agent *a, const struct responder_entry *entries, size_t n)
{
        uint64_t now = agent_mono(a);
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, a->conflicts_logged);
        while (g_hash_table_iter_next(&it, NULL, &v))
                ((struct conflict_log *)v)->seen = false;
        for (size_t i = 0; i < n; i++) {
                char ip[IPADDR_STRLEN], buf[IF_NAMESIZE];
                const char *dev = agent_ifname(a, entries[i].ifindex, buf);
                struct conflict_log *c;
                char *key;

                if (entries[i].conflicts == 0)
                        continue;
                key = garp_key(ipaddr_format(&entries[i].ip, ip), dev);
                c = g_hash_table_lookup(a->conflicts_logged, key);
                if (!c) {
                        c = xnew(struct conflict_log, 1);
                        g_hash_table_insert(a->conflicts_logged, key, c);
                } else
                        g_free(key);
                c->seen = true;
                if (entries[i].conflicts <= c->logged ||
                    (c->logged_at && now - c->logged_at < CONFLICT_LOG_INTERVAL))
                        continue;
                log_warn("address conflict: another host claims an announced IP",
                         "ip=%s device=%s conflicts=%" PRIu64 " new=%" PRIu64, ip, dev,
                         entries[i].conflicts, entries[i].conflicts - c->logged);
                c->logged = entries[i].conflicts;
                c->logged_at = now;
        }
        g_hash_table_iter_init(&it, a->conflicts_logged);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (!((struct conflict_log *)v)->seen)
                        g_hash_table_iter_remove(&it);
}

static int on_conflict_check(sd_event_source *s, uint64_t usec, void *ud)
{
        struct agent *a = ud;
        struct responder_entry *entries = NULL;
        size_t n = 0;

        if (responder_list(a->resp, &entries, &n) >= 0) {
                check_conflicts(a, entries, n);
                free(entries);
        }
        (void)sd_event_source_set_time(s, usec + CONFLICT_CHECK_INTERVAL);
        (void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

double agent_renewal_qps_needed(struct agent *a, uint64_t now)
{
        const struct timing *t = announcer_timing(a->ann);

        /* one renewal per held Lease per renew deadline (timing.h) */
        return (double)announcer_n_held(a->ann, now) * (double)USEC_PER_SEC /
               (double)t->renew_deadline;
}

/* The warning about renewals beyond k8s-client-qps: when it starts, at most
 * once a minute while it lasts, and once when it clears. */
#define RENEWAL_BUDGET_REWARN (60 * USEC_PER_SEC)

void agent_check_renewal_budget(struct agent *a)
{
        uint64_t now = agent_mono(a);
        double needed, qps = a->cfg->k8s_client_qps;
        bool over;

        if (a->election != ANNOUNCE_ELECTION_LEASE_PER_SERVICE)
                return;
        needed = agent_renewal_qps_needed(a, now);
        over = qps > 0 && needed > qps;
        if (over && (!a->budget_warned_at || now >= a->budget_warned_at + RENEWAL_BUDGET_REWARN)) {
                log_warn("Lease renewals need more requests per second than k8s-client-qps "
                         "allows: they wait in the client's queue (ahead of every other "
                         "request); raise k8s-client-qps, lengthen the lease timings, or use "
                         "l2-announcements-election node-heartbeat",
                         "held=%zu renew_period_ms=%" PRIu64
                         " qps_needed=%.1f k8s_client_qps=%g k8s_client_burst=%" PRIu64,
                         announcer_n_held(a->ann, now),
                         announcer_timing(a->ann)->renew_deadline / 1000, needed, qps,
                         a->cfg->k8s_client_burst);
                a->budget_warned_at = now;
                a->budget_warned = true;
        } else if (!over && a->budget_warned) {
                log_info("Lease renewals fit k8s-client-qps again",
                         "held=%zu qps_needed=%.1f k8s_client_qps=%g",
                         announcer_n_held(a->ann, now), needed, qps);
                a->budget_warned = false;
        }
}

/* What the election looks like from here: the heartbeat's state, or the
 * per-service Leases' renewal budget. */
static void election_json(struct agent *a, json_t *o, uint64_t now)
{
        struct announce_heartbeat_info hb;

        if (announcer_heartbeat_info(a->ann, now, &hb) >= 0) {
                json_object_set_new(
                    o, "heartbeat",
                    json_pack("{s:b, s:i, s:I, s:b, s:I, s:I}", "registered", hb.registered,
                              "epoch", (int)hb.epoch, "gateMs",
                              (json_int_t)(hb.gate > now ? (hb.gate - now) / 1000 : 0),
                              "coordinator", hb.coordinator, "boundHere", (json_int_t)hb.n_bound,
                              "liveNodes", (json_int_t)hb.n_live));
                return;
        }
        json_object_set_new(o, "leaseRenewal",
                            json_pack("{s:I, s:I, s:f, s:f, s:I}", "held",
                                      (json_int_t)announcer_n_held(a->ann, now), "renewPeriodMs",
                                      (json_int_t)(announcer_timing(a->ann)->renew_deadline / 1000),
                                      "qpsNeeded", agent_renewal_qps_needed(a, now), "qps",
                                      a->cfg->k8s_client_qps, "burst",
                                      (json_int_t)a->cfg->k8s_client_burst));
}

static json_t *status_json(struct agent *a)
{
        struct announce_lease_info *leases = NULL;
        struct responder_entry *entries = NULL;
        size_t n_leases = 0, n_entries = 0;
        json_t *o = json_object(), *devs = json_array(), *ls = json_array(), *es = json_array();
        uint64_t now = agent_mono(a), now_ns = responder_now_ns();
        GHashTableIter it;
        gpointer v;

        json_object_set_new(o, "node", json_string(a->node_name));
        json_object_set_new(o, "synced", json_boolean(a->synced));
        json_object_set_new(o, "ready", json_boolean(agent_ready(a)));
        json_object_set_new(o, "leasesHeld",
                            json_integer((json_int_t)announcer_n_held(a->ann, now)));
        json_object_set_new(o, "election", json_string(announce_election_to_string(a->election)));
        election_json(a, o, now);
        g_hash_table_iter_init(&it, a->devices);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct link_info *l = v;
                const struct responder_attachment *how =
                    g_hash_table_lookup(a->attached, GINT_TO_POINTER(l->ifindex));
                char mac[18];
                json_t *d = json_pack("{s:s, s:i, s:s, s:b, s:b}", "name", l->name, "ifindex",
                                      l->ifindex, "mac", agent_mac_format(l->mac, mac), "carrier",
                                      l->carrier, "responder", how != NULL);

                if (how) {
                        json_object_set_new(d, "xdpMode",
                                            json_string(responder_xdp_mode_name(how->mode)));
                        json_object_set_new(d, "xdpModeReason", json_string(how->reason));
                }
                json_array_append_new(devs, d);
        }
        json_object_set_new(o, "devices", devs);
        /* auto: `devices` empty, the devices listed are those detection chose */
        json_object_set_new(o, "deviceSelection",
                            json_string(strv_length(a->cfg->devices) ? "configured" : "auto"));
        if (a->ipvs_problem)
                json_object_set_new(o, "ipvsArpProblem", json_string(a->ipvs_problem));
        if (announcer_leases(a->ann, now, &leases, &n_leases) >= 0) {
                for (size_t i = 0; i < n_leases; i++) {
                        json_t *l =
                            json_pack("{s:s, s:s?, s:s?, s:s, s:b}", "lease", leases[i].lease,
                                      "service", leases[i].service, "holder", leases[i].holder,
                                      "role", announce_role_to_string(leases[i].role), "canonical",
                                      leases[i].canonical);

                        if (leases[i].role == ANNOUNCE_ROLE_HOLDER && leases[i].deadline > now)
                                json_object_set_new(
                                    l, "deadlineMs",
                                    json_integer((json_int_t)(leases[i].deadline - now) / 1000));
                        if (leases[i].role == ANNOUNCE_ROLE_FOLLOWER && leases[i].expires_at > now)
                                json_object_set_new(
                                    l, "expiresInMs",
                                    json_integer((json_int_t)(leases[i].expires_at - now) / 1000));
                        if (leases[i].not_candidate)
                                json_object_set_new(l, "notCandidate",
                                                    json_string(leases[i].not_candidate));
                        json_array_append_new(ls, l);
                }
                announce_lease_infos_free(leases, n_leases);
        }
        json_object_set_new(o, "leases", ls);
        if (responder_list(a->resp, &entries, &n_entries) >= 0) {
                for (size_t i = 0; i < n_entries; i++) {
                        char ip[IPADDR_STRLEN], buf[IF_NAMESIZE];
                        int64_t left = (int64_t)entries[i].deadline_ns - (int64_t)now_ns;

                        json_array_append_new(es,
                                              json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:I}", "ip",
                                                        ipaddr_format(&entries[i].ip, ip), "device",
                                                        agent_ifname(a, entries[i].ifindex, buf),
                                                        "ifindex", entries[i].ifindex, "deadlineMs",
                                                        (json_int_t)(left / 1000000), "requests",
                                                        (json_int_t)entries[i].requests, "replies",
                                                        (json_int_t)entries[i].replies, "conflicts",
                                                        (json_int_t)entries[i].conflicts));
                }
                free(entries);
        }
        json_object_set_new(o, "entries", es);
        return o;
}

static void on_status(const char *method, const char *path, struct httpd_response *r, void *ud)
{
        struct agent *a = ud;

        if (!streq(method, "GET"))
                return;
        r->content_type = "application/json";
        if (streq(path, "/status")) {
                json_t *o = status_json(a);

                r->status = 200;
                r->body = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                json_decref(o);
        } else if (streq(path, "/config")) {
                char *buf = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&buf, &len);

                config_view(a->cfg, CONFIG_AGENT, f);
                (void)fclose(f);
                r->status = 200;
                r->content_type = "text/plain";
                r->body = buf;
        }
}

static void collect_election(struct agent *a, uint64_t now)
{
        struct announce_heartbeat_info hb;

        metric_clear(a->m_election);
        metric_set(a->m_election, 1, announce_election_to_string(a->election));
        metric_clear(a->m_epoch);
        metric_clear(a->m_coordinator);
        metric_clear(a->m_renewal_qps);
        if (announcer_heartbeat_info(a->ann, now, &hb) >= 0) {
                /* absent until registered: an epoch 0 would be a real one */
                if (hb.registered)
                        metric_set(a->m_epoch, (double)hb.epoch);
                metric_set(a->m_coordinator, hb.coordinator ? 1 : 0);
        } else
                metric_set(a->m_renewal_qps, agent_renewal_qps_needed(a, now));
}

static void collect(struct metrics *m, void *ud)
{
        struct agent *a = ud;
        const struct announce_counters *c = announcer_counters(a->ann);
        struct responder_entry *entries = NULL;
        struct responder_stats st;
        size_t n = 0;
        uint64_t now = agent_mono(a), wall = 0;

        (void)m;
        kube_client_metrics_collect(a->client_metrics);
        metric_set(a->m_held, (double)announcer_n_held(a->ann, now));
        metric_clear(a->m_unannounced); /* unknown until the Leases are listed */
        if (a->synced)
                metric_set(a->m_unannounced, (double)announcer_n_unannounced(a->ann, now));
        metric_set(a->m_counters, (double)c->acquisitions, "acquisition");
        metric_set(a->m_counters, (double)c->renewals, "renewal");
        metric_set(a->m_counters, (double)c->renew_failures, "renewal_failure");
        metric_set(a->m_counters, (double)c->releases, "release");
        metric_set(a->m_counters, (double)c->lost, "lost");
        metric_set(a->m_counters, (double)c->deletions, "deletion");
        metric_clear(a->m_requests);
        metric_clear(a->m_replies);
        metric_clear(a->m_garp_ip);
        metric_clear(a->m_conflicts);
        if (responder_list(a->resp, &entries, &n) >= 0) {
                GHashTable *live = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
                GHashTableIter it;
                gpointer k, v;

                for (size_t i = 0; i < n; i++) {
                        char ip[IPADDR_STRLEN], buf[IF_NAMESIZE];
                        const char *dev = agent_ifname(a, entries[i].ifindex, buf);

                        ipaddr_format(&entries[i].ip, ip);
                        metric_set(a->m_requests, (double)entries[i].requests, ip, dev);
                        metric_set(a->m_replies, (double)entries[i].replies, ip, dev);
                        metric_set(a->m_conflicts, (double)entries[i].conflicts, ip, dev);
                        g_hash_table_add(live, garp_key(ip, dev));
                }
                free(entries);
                /* per announced IP: counts of IPs no longer announced go */
                g_hash_table_iter_init(&it, a->garps_sent);
                while (g_hash_table_iter_next(&it, &k, &v)) {
                        const char *sep = strchr(k, '\x1f');
                        _cleanup_free_ char *ip = NULL;

                        if (!g_hash_table_contains(live, k)) {
                                g_hash_table_iter_remove(&it);
                                continue;
                        }
                        ip = xstrndup(k, (size_t)(sep - (const char *)k));
                        metric_set(a->m_garp_ip, (double)*(guint64 *)v, ip, sep + 1);
                }
                g_hash_table_unref(live);
        }
        metric_set(a->m_entries, (double)n);
        responder_get_stats(a->resp, &st);
        metric_set(a->m_garp, (double)st.arp_requests_sent, "arp_request");
        metric_set(a->m_garp, (double)st.arp_replies_sent, "arp_reply");
        metric_set(a->m_garp, (double)st.nas_sent, "neighbor_advertisement");
        /* a timestamp, absent before the first contact (no sentinel) */
        metric_clear(a->m_heartbeat);
        if (a->last_api_ok && sd_event_now(a->event, CLOCK_REALTIME, &wall) >= 0)
                metric_set(a->m_heartbeat, (double)(wall - (now - a->last_api_ok)) / 1e6);
        metric_set(a->m_ready, agent_ready(a) ? 1 : 0);
        collect_election(a, now);
}

static void on_http(const char *method, const char *path, struct httpd_response *r, void *ud)
{
        struct agent *a = ud;
        const char *not_ready = agent_ready(a) ? NULL
                                : !a->synced   ? "caches not synced\n"
                                             : "responder not attached to any configured device\n";

        if (!streq(method, "GET"))
                return;
        if (!httpd_serve_health(path, a->metrics, not_ready, r))
                on_status(method, path, r, ud);
}

static void setup_metrics(struct agent *a)
{
        static const char *const kind[] = {"event", NULL};
        static const char *const ipdev[] = {"ip", "device", NULL};
        static const char *const garp[] = {"type", NULL};
        static const char *const mode[] = {"mode", NULL};

        a->metrics = program_metrics_new();
        a->client_metrics = kube_client_metrics_new(a->metrics, a->client);
        kube_client_metrics_add_informer(a->client_metrics, "ciliuml2announcementpolicies",
                                         a->inf[INF_POLICIES]);
        kube_client_metrics_add_informer(a->client_metrics, "services", a->inf[INF_SERVICES]);
        kube_client_metrics_add_informer(a->client_metrics, "endpointslices", a->inf[INF_SLICES]);
        kube_client_metrics_add_informer(a->client_metrics, "nodes", a->inf[INF_NODES]);
        kube_client_metrics_add_informer(a->client_metrics, "leases", a->inf[INF_LEASES]);
        a->m_held = metrics_gauge(a->metrics, "l2lb_agent_leases_held",
                                  "Leases this node holds and announces.", NULL);
        a->m_unannounced =
            metrics_gauge(a->metrics, "l2lb_agent_services_unannounced",
                          "Selected services with IPs whose Lease no node holds now.", NULL);
        a->m_counters = metrics_counter(a->metrics, "l2lb_agent_lease_transitions_total",
                                        "Lease events of this node: acquisition, renewal, "
                                        "renewal_failure, release, lost, deletion.",
                                        kind);
        a->m_entries = metrics_gauge(a->metrics, "l2lb_responder_entries",
                                     "Entries in the responder map.", NULL);
        a->m_requests =
            metrics_counter(a->metrics, "l2lb_responder_requests_total",
                            "ARP requests and Neighbor Solicitations seen, per IP.", ipdev);
        a->m_replies =
            metrics_counter(a->metrics, "l2lb_responder_replies_total",
                            "ARP replies and Neighbor Advertisements sent, per IP.", ipdev);
        a->m_conflicts = metrics_counter(
            a->metrics, "l2lb_responder_conflicts_total",
            "ARP replies/announcements and Neighbor Advertisements from other hosts claiming an "
            "announced IP, per IP.",
            ipdev);
        a->m_garp =
            metrics_counter(a->metrics, "l2lb_responder_gratuitous_sent_total",
                            "Gratuitous ARP requests/replies and unsolicited NAs sent.", garp);
        a->m_garp_ip = metrics_counter(a->metrics, "l2lb_responder_gratuitous_ip_sent_total",
                                       "Gratuitous packets sent per announced IP (ARP request + "
                                       "reply, or unsolicited NA), while the IP is announced.",
                                       ipdev);
        a->m_heartbeat =
            metrics_gauge(a->metrics, "l2lb_agent_heartbeat_timestamp_seconds",
                          "When the agent last heard from the API server (Unix time).", NULL);
        a->m_ready = metrics_gauge(a->metrics, "l2lb_agent_ready",
                                   "1 when caches are synced and the responder is attached.", NULL);
        a->m_election = metrics_gauge(a->metrics, "l2lb_agent_election_info",
                                      "1 for the l2-announcements-election in use.", mode);
        a->m_epoch = metrics_gauge(a->metrics, "l2lb_agent_heartbeat_epoch",
                                   "Epoch (leaseTransitions) of this node's heartbeat Lease "
                                   "(node-heartbeat election, while registered).",
                                   NULL);
        a->m_coordinator = metrics_gauge(a->metrics, "l2lb_agent_coordinator",
                                         "1 when this node is the coordinator of the "
                                         "node-heartbeat election.",
                                         NULL);
        a->m_renewal_qps = metrics_gauge(
            a->metrics, "l2lb_agent_lease_renewal_qps_needed",
            "Requests per second the renewals of the Leases held need (held Leases / renew "
            "deadline; lease-per-service election). Above k8s-client-qps they queue.",
            NULL);
        metrics_add_collector(a->metrics, collect, a, NULL);
}

int agent_status_setup(struct agent *a)
{
        const struct l2lb_config *cfg;
        int r;

        assert(a);
        cfg = a->cfg;
        a->garps_sent = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        a->conflicts_logged = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free);
        setup_metrics(a);
        r = sd_event_add_time_relative(a->event, &a->conflict_check, CLOCK_MONOTONIC,
                                       CONFLICT_CHECK_INTERVAL, USEC_PER_SEC / 10,
                                       on_conflict_check, a);
        if (r < 0)
                return r;
        if (!isempty(cfg->prometheus_serve_addr)) {
                r = httpd_start(a->event, cfg->prometheus_serve_addr, on_http, a, &a->httpd);
                if (r < 0)
                        return r;
                log_info("serving metrics and health", "address=%s port=%u",
                         cfg->prometheus_serve_addr, httpd_port(a->httpd));
        }
        if (!isempty(cfg->status_socket)) {
                r = httpd_start_unix(a->event, cfg->status_socket, on_status, a, &a->status);
                if (r < 0)
                        return r;
        }
        return 0;
}

void agent_status_done(struct agent *a)
{
        assert(a);
        httpd_free(a->httpd);
        httpd_free(a->status);
        kube_client_metrics_free(a->client_metrics);
        metrics_free(a->metrics);
        a->httpd = a->status = NULL;
        a->client_metrics = NULL;
        a->metrics = NULL;
        g_clear_pointer(&a->garps_sent, g_hash_table_unref);
        a->conflict_check = sd_event_source_disable_unref(a->conflict_check);
        g_clear_pointer(&a->conflicts_logged, g_hash_table_unref);
}

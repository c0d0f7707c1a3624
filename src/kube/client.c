/* The requests of the Kubernetes client: building them (URL, headers, TLS,
 * token), starting them as throttle.c lets them (priority classes, token
 * bucket) within the in-flight limit, completing them (HTTP status and
 * Status body to a kube_result), retrying them, and watches: delivering
 * their events (framed by watch-frame.c), ending them on a malformed one, and
 * the watchdog of stalled ones. Driving libcurl on the event
 * loop is curl-event.c's.
 *
 * Life of a call: kube_call() → waiting queue → (token bucket) → added to the
 * curl multi handle from a defer source → bytes arrive in write_cb, which only
 * buffers → after curl_multi_socket_action returns, curl-event's pump has
 * watch lines decoded and delivered and finished transfers completed (or
 * scheduled for retry). User callbacks therefore never run inside libcurl. */
#include "client.h"

#include <curl/curl.h>
#include <glib.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "curl-event.h"
#include "lib/log.h"
#include "lib/util.h"
#include "throttle.h"
#include "watch-frame.h"

enum call_state {
        CALL_WAITING,  /* for a rate-limit token */
        CALL_ACTIVE,   /* in the curl multi handle */
        CALL_RETRY,    /* backing off before another attempt */
        CALL_FINISHED, /* callback done or cancelled, being freed */
};

struct kube_call {
        struct kube_client *client;
        enum call_state state;
        CURL *easy;
        char *method;
        char *path;
        char *body;
        char *content_type;
        struct curl_slist *headers;
        GString *resp;
        size_t resp_parsed; /* watch: bytes already decoded */
        bool watch;
        bool heard;         /* watch: something arrived (the watchdog applies) */
        uint64_t last_data; /* watch: mono µs of the last bytes received */
        bool pending_data;  /* in client->data_pending */
        bool dispatching;
        bool cancelled;
        unsigned flags;
        uint64_t timeout_usec;
        unsigned attempts;
        uint64_t enqueued_usec;
        uint64_t started_usec;
        sd_event_source *retry_timer;
        kube_callback_t cb;
        kube_watch_event_t on_event;
        void *userdata;
        char errbuf[CURL_ERROR_SIZE];
};

struct kube_client {
        sd_event *event;
        struct curl_event *curl;
        sd_event_source *pump; /* defer: start waiting calls */
        sd_event_source *rate_timer;
        sd_event_source *watchdog;
        struct kube_client_options opts;
        char *server;      /* URL prefix: the server, or its tls-server-name route */
        char *host_header; /* "Host: ..." when routed under tls-server-name */
        struct curl_slist *connect_to;
        char *ca_data;
        size_t ca_len;
        bool insecure;
        char *token;
        char *token_file;
        struct timespec token_mtime;
        char *cert_data, *key_data;
        size_t cert_len, key_len;
        struct kube_throttle throttle; /* calls waiting to start */
        uint64_t throttled_usec;
        GQueue data_pending;
        GHashTable *calls; /* every live call, to free them with the client */
        unsigned in_flight;
        unsigned in_flight_ordinary; /* counted against opts.max_in_flight */
        kube_observer_t observer;
        void *observer_data;
        bool sockopt_warned; /* kube_tcp_set_timeouts() failed once (logged) */
};

static uint64_t now_usec(struct kube_client *c)
{
        uint64_t t = 0;

        (void)sd_event_now(c->event, CLOCK_MONOTONIC, &t);
        return t;
}

static void call_free(struct kube_call *call)
{
        if (!call)
                return;
        g_hash_table_remove(call->client->calls, call);
        if (call->pending_data)
                g_queue_remove(&call->client->data_pending, call);
        if (call->easy)
                curl_easy_cleanup(call->easy);
        curl_slist_free_all(call->headers);
        sd_event_source_disable_unref(call->retry_timer);
        if (call->resp)
                g_string_free(call->resp, TRUE);
        free(call->method);
        free(call->path);
        free(call->body);
        free(call->content_type);
        free(call);
}

/* ---- transfers ---- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct kube_call *call = userdata;
        size_t n = size * nmemb;

        g_string_append_len(call->resp, ptr, (gssize)n);
        if (call->watch) {
                call->heard = true;
                call->last_data = now_usec(call->client);
        }
        if (call->watch && !call->pending_data) {
                call->pending_data = true;
                g_queue_push_tail(&call->client->data_pending, call);
        }
        return n;
}

/* ---- rate limiting and starting calls ---- */

static void call_setup_easy(struct kube_call *call);

/* Counted against opts.max_in_flight: all but priority calls (which
 * include every watch, see kube_watch_call). */
static bool ordinary(const struct kube_call *call)
{
        return !(call->flags & KUBE_CALL_PRIORITY);
}

static void start_call(struct kube_client *c, struct kube_call *call, uint64_t now)
{
        CURLMcode mc;

        call_setup_easy(call);
        call->state = CALL_ACTIVE;
        call->started_usec = now;
        call->attempts++;
        c->in_flight++;
        if (ordinary(call))
                c->in_flight_ordinary++;
        mc = curl_event_add(c->curl, call->easy);
        if (mc != CURLM_OK) {
                log_error("cannot start API request", "error=%s", log_q(curl_multi_strerror(mc)));
                c->in_flight--;
                if (ordinary(call))
                        c->in_flight_ordinary--;
                call->state = CALL_FINISHED;
                if (call->cb) {
                        struct kube_result res = {.error = -EIO,
                                                  .reason = "InternalError",
                                                  .message = curl_multi_strerror(mc)};
                        call->cb(c, &res, call->userdata);
                }
                call_free(call);
        }
}

static int on_pump(sd_event_source *s, void *userdata);

static void schedule_pump(struct kube_client *c)
{
        (void)sd_event_source_set_enabled(c->pump, SD_EVENT_ONESHOT);
}

static int on_rate_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s;
        (void)usec;
        return on_pump(NULL, userdata);
}

static int on_pump(sd_event_source *s, void *userdata)
{
        struct kube_client *c = userdata;
        uint64_t now = now_usec(c), wait = 0;

        (void)s;
        for (;;) {
                /* ordinary calls wait for a slot on the wire (woken by
                 * finish_call); priority calls never do */
                struct kube_call *call = kube_throttle_pop(
                    &c->throttle, now, c->in_flight_ordinary < c->opts.max_in_flight, &wait);

                if (!call)
                        break;
                c->throttled_usec += now - call->enqueued_usec;
                start_call(c, call, now);
        }
        if (wait > 0) {
                (void)sd_event_source_set_time(c->rate_timer, now + wait);
                (void)sd_event_source_set_enabled(c->rate_timer, SD_EVENT_ONESHOT);
        }
        return 0;
}

static enum kube_throttle_class call_class(const struct kube_call *call)
{
        if (call->flags & KUBE_CALL_PRIORITY)
                return KUBE_THROTTLE_PRIORITY;
        if (call->flags & KUBE_CALL_LOW)
                return KUBE_THROTTLE_LOW;
        return KUBE_THROTTLE_ORDINARY;
}

static void enqueue(struct kube_client *c, struct kube_call *call)
{
        call->state = CALL_WAITING;
        call->enqueued_usec = now_usec(c);
        kube_throttle_push(&c->throttle, call_class(call), call);
        schedule_pump(c);
}

/* ---- request construction ---- */

static void refresh_token(struct kube_client *c)
{
        struct stat st;
        _cleanup_free_ char *tok = NULL;

        if (!c->token_file || stat(c->token_file, &st) < 0)
                return;
        if (st.st_mtim.tv_sec == c->token_mtime.tv_sec &&
            st.st_mtim.tv_nsec == c->token_mtime.tv_nsec && c->token)
                return;
        if (read_full_file(c->token_file, &tok, NULL) < 0) {
                log_warn("cannot re-read token file", "path=%s", log_q(c->token_file));
                return;
        }
        strstrip(tok);
        free(c->token);
        c->token = tok;
        tok = NULL;
        c->token_mtime = st.st_mtim;
}

/* The TLS options of every transfer: trust, client certificate and the
 * tls-server-name route. On failure *ret_what names the option. */
static CURLcode client_set_tls(struct kube_client *c, CURL *e, const char **ret_what)
{
        CURLcode cc = CURLE_OK;

#define SET_TLS(opt, val)                                                                          \
        do {                                                                                       \
                cc = curl_easy_setopt(e, opt, val);                                                \
                if (cc != CURLE_OK) {                                                              \
                        *ret_what = #opt;                                                          \
                        return cc;                                                                 \
                }                                                                                  \
        } while (0)
        if (c->insecure) {
                SET_TLS(CURLOPT_SSL_VERIFYPEER, 0L);
                SET_TLS(CURLOPT_SSL_VERIFYHOST, 0L);
        } else if (c->ca_data) {
                struct curl_blob blob = {
                    .data = c->ca_data, .len = c->ca_len, .flags = CURL_BLOB_NOCOPY};

                SET_TLS(CURLOPT_CAINFO_BLOB, &blob);
        }
        if (c->cert_data && c->key_data) {
                struct curl_blob cert = {
                    .data = c->cert_data, .len = c->cert_len, .flags = CURL_BLOB_NOCOPY};
                struct curl_blob key = {
                    .data = c->key_data, .len = c->key_len, .flags = CURL_BLOB_NOCOPY};

                SET_TLS(CURLOPT_SSLCERT_BLOB, &cert);
                SET_TLS(CURLOPT_SSLCERTTYPE, "PEM");
                SET_TLS(CURLOPT_SSLKEY_BLOB, &key);
                SET_TLS(CURLOPT_SSLKEYTYPE, "PEM");
        }
        /* the URL carries tls-server-name (SNI and certificate check), the
         * connection goes to the real server */
        if (c->connect_to)
                SET_TLS(CURLOPT_CONNECT_TO, c->connect_to);
#undef SET_TLS
        return cc;
}

/* A TLS option libcurl refuses (a build without blob support, a backend
 * without client certificates) fails client creation, not every call. */
static int client_check_tls(struct kube_client *c)
{
        CURL *e = curl_easy_init();
        const char *what = NULL;
        CURLcode cc;

        if (!e)
                oom(); /* its only failure */
        cc = client_set_tls(c, e, &what);
        curl_easy_cleanup(e);
        if (cc == CURLE_OK)
                return 0;
        log_error("libcurl refused a TLS option", "option=%s error=%s", what,
                  log_q(curl_easy_strerror(cc)));
        return cc == CURLE_UNKNOWN_OPTION || cc == CURLE_NOT_BUILT_IN ? -EOPNOTSUPP : -EINVAL;
}

/* curl_slist_append fails only when it cannot allocate. */
static void headers_append(struct curl_slist **headers, const char *s)
{
        struct curl_slist *l = curl_slist_append(*headers, s);

        if (!l)
                oom();
        *headers = l;
}

int kube_tcp_set_timeouts(int fd)
{
        static const struct {
                int level, name, value;
        } opts[] = {
            {SOL_SOCKET, SO_KEEPALIVE, 1},
            {IPPROTO_TCP, TCP_KEEPIDLE, KUBE_TCP_KEEPIDLE_SEC},
            {IPPROTO_TCP, TCP_KEEPINTVL, KUBE_TCP_KEEPINTVL_SEC},
            {IPPROTO_TCP, TCP_KEEPCNT, KUBE_TCP_KEEPCNT},
            {IPPROTO_TCP, TCP_USER_TIMEOUT, KUBE_TCP_USER_TIMEOUT_MSEC},
        };

        for (size_t i = 0; i < ELEMENTSOF(opts); i++)
                if (setsockopt(fd, opts[i].level, opts[i].name, &opts[i].value,
                               sizeof(opts[i].value)) < 0)
                        return -errno;
        return 0;
}

/* Every connection curl opens to the apiserver, before it connects. */
static int on_sockopt(void *userdata, curl_socket_t fd, curlsocktype purpose)
{
        struct kube_client *c = userdata;
        int r;

        if (purpose != CURLSOCKTYPE_IPCXN)
                return CURL_SOCKOPT_OK;
        r = kube_tcp_set_timeouts(fd);
        if (r < 0 && !c->sockopt_warned) {
                /* the connection still works; only a black hole would take
                 * longer to notice, so go on (and say it once) */
                c->sockopt_warned = true;
                log_warn_errno(r, "cannot set TCP keepalive/user timeout on the apiserver "
                                  "connection, dead connections are noticed late");
        }
        return CURL_SOCKOPT_OK;
}

static void call_setup_easy(struct kube_call *call)
{
        struct kube_client *c = call->client;
        _cleanup_free_ char *url = NULL;
        const char *what = NULL;
        CURL *e;

        if (call->resp)
                g_string_truncate(call->resp, 0);
        else
                call->resp = g_string_sized_new(call->watch ? 16384 : 4096);
        call->resp_parsed = 0;
        call->errbuf[0] = 0;
        if (call->easy) {
                curl_easy_reset(call->easy);
                e = call->easy;
        } else {
                e = call->easy = curl_easy_init();
                if (!e)
                        oom(); /* its only failure */
        }
        curl_slist_free_all(call->headers);
        call->headers = NULL;
        refresh_token(c);
        url = xasprintf("%s%s", c->server, call->path);
        headers_append(&call->headers, "Accept: application/json");
        if (call->body) {
                _cleanup_free_ char *ct =
                    xasprintf("Content-Type: %s",
                              call->content_type ? call->content_type : "application/json");

                headers_append(&call->headers, ct);
        }
        if (c->host_header)
                headers_append(&call->headers, c->host_header);
        if (c->token) {
                _cleanup_free_ char *auth = xasprintf("Authorization: Bearer %s", c->token);

                headers_append(&call->headers, auth);
        }
        (void)curl_easy_setopt(e, CURLOPT_URL, url);
        (void)curl_easy_setopt(e, CURLOPT_PRIVATE, call);
        (void)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
        (void)curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
        (void)curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf);
        (void)curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        (void)curl_easy_setopt(e, CURLOPT_USERAGENT,
                               c->opts.user_agent ? c->opts.user_agent : "l2lb");
        (void)curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        (void)curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
        (void)curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
        (void)curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, c);
        (void)curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        (void)curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(call->timeout_usec / 1000));
        (void)curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method);
        /* checked once by client_check_tls() when the client was made */
        (void)client_set_tls(c, e, &what);
        if (call->body) {
                (void)curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
                (void)curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(call->body));
        } else if (streq(call->method, "GET"))
                (void)curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        (void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
}

/* NULL when body cannot be serialised (a reference cycle). */
static struct kube_call *call_new(struct kube_client *c, const char *method, const char *path,
                                  json_t *body, const char *content_type, unsigned flags,
                                  uint64_t timeout_usec)
{
        struct kube_call *call = xnew(struct kube_call, 1);

        call->client = c;
        g_hash_table_add(c->calls, call);
        call->flags = flags;
        call->timeout_usec = timeout_usec ? timeout_usec : c->opts.timeout_usec;
        call->method = xstrdup(method);
        call->path = xstrdup(path);
        call->content_type = xstrdup(content_type);
        if (body) {
                call->body = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
                if (!call->body) {
                        call_free(call);
                        return NULL;
                }
        }
        return call;
}

/* ---- completion ---- */

static int errno_for_status(long status)
{
        switch (status) {
        case 400:
        case 422:
                return -EINVAL;
        case 401:
        case 403:
                return -EACCES;
        case 404:
                return -ENOENT;
        case 409:
                return -EEXIST;
        case 410:
                return -ESTALE;
        case 429:
                return -EBUSY;
        default:
                return -EIO;
        }
}

static int errno_for_curl(CURLcode cc, const char **reason)
{
        switch (cc) {
        case CURLE_COULDNT_CONNECT:
                *reason = "ConnectionRefused";
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                *reason = "Timeout";
                return -ETIMEDOUT;
        case CURLE_COULDNT_RESOLVE_HOST:
                *reason = "UnknownHost";
                return -EHOSTUNREACH;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
                *reason = "TLSError";
                return -EPERM;
        case CURLE_OUT_OF_MEMORY:
                *reason = "InternalError";
                return -ENOMEM;
        default:
                *reason = "TransportError";
                return -ECONNRESET;
        }
}

static uint64_t backoff_usec(unsigned attempt)
{
        /* 200 ms doubling to 10 s, with ±25 % jitter */
        double base = 200000.0 * pow(2.0, attempt > 6 ? 6 : attempt - 1);

        if (base > 10e6)
                base = 10e6;
        return (uint64_t)(base * (0.75 + 0.5 * g_random_double()));
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct kube_call *call = userdata;

        (void)s;
        (void)usec;
        sd_event_source_disable_unref(call->retry_timer);
        call->retry_timer = NULL;
        enqueue(call->client, call);
        return 0;
}

static bool should_retry(struct kube_call *call, long status, CURLcode cc, bool has_retry_after)
{
        struct kube_client *c = call->client;
        bool idempotent = streq(call->method, "GET");

        if ((call->flags & KUBE_CALL_NO_RETRY) || call->attempts > c->opts.max_retries)
                return false;
        if (call->watch)
                return false; /* the informer decides */
        if (cc != CURLE_OK)
                return idempotent;
        if (status == 429)
                return true;
        if (status >= 500)
                return has_retry_after || idempotent;
        return false;
}

static void dispatch_watch_lines(struct kube_call *call);

/* Take a call out of whatever queue holds it and free it. */
static void call_discard(struct kube_call *call)
{
        struct kube_client *c = call->client;

        switch (call->state) {
        case CALL_WAITING:
                kube_throttle_remove(&c->throttle, call_class(call), call);
                break;
        case CALL_ACTIVE:
                curl_event_remove(c->curl, call->easy);
                c->in_flight--;
                if (ordinary(call)) {
                        c->in_flight_ordinary--;
                        schedule_pump(c);
                }
                break;
        case CALL_RETRY:
        case CALL_FINISHED:
                break;
        }
        call_free(call);
}

static void finish_call(struct kube_client *c, struct kube_call *call, CURLcode cc)
{
        struct kube_result res = {0};
        long status = 0;
        curl_off_t retry_after = 0;
        json_t *body = NULL;
        json_error_t jerr; /* its text is the result's message: lives until the callback ran */
        uint64_t now = now_usec(c);

        curl_event_remove(c->curl, call->easy);
        c->in_flight--;
        if (ordinary(call)) {
                c->in_flight_ordinary--;
                schedule_pump(c);
        }
        call->state = CALL_FINISHED;
        (void)curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
        (void)curl_easy_getinfo(call->easy, CURLINFO_RETRY_AFTER, &retry_after);
        if (c->observer)
                c->observer(call->method, call->path, cc == CURLE_OK ? status : 0,
                            now - call->started_usec, c->observer_data);

        if (cc == CURLE_OK && call->watch && status == 200) {
                /* deliver what is left, then report a normal end */
                dispatch_watch_lines(call);
                if (call->cancelled) {
                        call_free(call);
                        return;
                }
        }

        if (should_retry(call, status, cc, retry_after > 0)) {
                /* at least Retry-After, plus up to 20 % so that requests
                 * rejected together do not come back together */
                uint64_t delay = retry_after > 0 ? (uint64_t)((double)retry_after * USEC_PER_SEC *
                                                              (1.0 + 0.2 * g_random_double()))
                                                 : backoff_usec(call->attempts);

                log_debug("retrying API request", "method=%s path=%s status=%ld delay_ms=%" PRIu64,
                          call->method, log_q(call->path), status, delay / 1000);
                call->state = CALL_RETRY;
                if (sd_event_add_time_relative(c->event, &call->retry_timer, CLOCK_MONOTONIC, delay,
                                               1000, on_retry_timer, call) >= 0)
                        return;
                /* cannot schedule: report the failure below */
        }

        res.http_status = cc == CURLE_OK ? status : 0;
        if (cc == CURLE_OK && retry_after > 0)
                /* for the informer, which decides a watch's retry itself */
                res.retry_after_usec = (uint64_t)MIN(retry_after, (curl_off_t)86400) * USEC_PER_SEC;
        if (cc != CURLE_OK) {
                res.error = errno_for_curl(cc, &res.reason);
                res.message = call->errbuf[0] ? call->errbuf : curl_easy_strerror(cc);
        } else if (call->watch && status == 200) {
                res.error = 0;
        } else {
                if (call->resp->len > 0)
                        /* the API allows a NUL in free text (annotation values) */
                        body = json_loadb(call->resp->str, call->resp->len, JSON_ALLOW_NUL, &jerr);
                if (status >= 200 && status < 300) {
                        if (call->resp->len > 0 && !body) {
                                res.error = -EBADMSG;
                                res.reason = "MalformedResponse";
                                res.message = jerr.text;
                        }
                } else {
                        json_t *reason = json_object_get(body, "reason");
                        json_t *message = json_object_get(body, "message");

                        res.error = errno_for_status(status);
                        res.reason = json_is_string(reason) ? json_string_value(reason) : "";
                        res.message =
                            json_is_string(message) ? json_string_value(message) : call->resp->str;
                }
        }
        res.body = body;
        call->state = CALL_FINISHED;
        if (!call->cancelled && call->cb)
                call->cb(c, &res, call->userdata);
        json_decref(body);
        call_free(call);
}

/* A line that is not a watch event: end the watch with -EBADMSG (never
 * skip it, its event would be lost), so that the owner lists again. The
 * caller frees the call, which is now cancelled. */
static void watch_broken(struct kube_call *call, const char *error)
{
        kube_callback_t cb = call->cb;
        struct kube_result res = {.http_status = 200,
                                  .error = -EBADMSG,
                                  .reason = "MalformedWatchEvent",
                                  .message = error};

        log_warn("malformed watch event, ending the watch", "path=%s error=%s", log_q(call->path),
                 log_q(error));
        call->cancelled = true;
        if (cb)
                cb(call->client, &res, call->userdata);
}

/* Decode complete newline-terminated watch events in the buffer. */
static void dispatch_watch_lines(struct kube_call *call)
{
        struct kube_client *c = call->client;
        long status = 0;

        (void)curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200)
                return; /* an error Status body: read whole at the end */
        call->dispatching = true;
        while (!call->cancelled) {
                struct kube_watch_event ev;
                _cleanup_free_ char *error = NULL;
                int r = kube_watch_frame_next(call->resp->str, call->resp->len, &call->resp_parsed,
                                              &ev, &error);

                if (r == 0)
                        break;
                if (r < 0) {
                        watch_broken(call, error);
                        break;
                }
                if (call->on_event)
                        call->on_event(c, ev.type, ev.object, call->userdata);
                json_decref(ev.json);
        }
        call->dispatching = false;
        if (call->resp_parsed > 0) {
                g_string_erase(call->resp, 0, (gssize)call->resp_parsed);
                call->resp_parsed = 0;
        }
}

/* ---- the curl_event ops: what the pump hands over ---- */

static void deliver_watch_data(void *userdata)
{
        struct kube_client *c = userdata;

        while (!g_queue_is_empty(&c->data_pending)) {
                struct kube_call *call = g_queue_pop_head(&c->data_pending);

                call->pending_data = false;
                dispatch_watch_lines(call);
                if (call->cancelled)
                        call_discard(call);
        }
}

static bool watch_data_pending(void *userdata)
{
        struct kube_client *c = userdata;

        return !g_queue_is_empty(&c->data_pending);
}

static void transfer_done(CURL *easy, CURLcode result, void *userdata)
{
        struct kube_call *call = NULL;

        (void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&call);
        if (call)
                finish_call(userdata, call, result);
}

static const struct curl_event_ops curl_ops = {
    .deliver = deliver_watch_data,
    .pending = watch_data_pending,
    .done = transfer_done,
};

/* Stalled watches. A watch that has heard from the apiserver keeps hearing
 * from it at least about every minute: events, or bookmarks, which 1.17+
 * sends to watchers of a resource that has had events. An overloaded 1.20
 * apiserver that "forces a watcher close due to unresponsiveness" was seen
 * to leave the response open and silent until the watch's timeout (minutes),
 * so 90 s of silence after something was heard ends the watch (the informer
 * watches again from its resourceVersion). Watches of resources that never
 * changed get no bookmarks and are left alone. */
#define WATCH_SILENCE_USEC (90 * USEC_PER_SEC)

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct kube_client *c = userdata;
        uint64_t now = now_usec(c);
        GList *stalled = NULL;
        GHashTableIter it;
        gpointer k;

        g_hash_table_iter_init(&it, c->calls);
        while (g_hash_table_iter_next(&it, &k, NULL)) {
                struct kube_call *call = k;

                if (call->watch && call->state == CALL_ACTIVE && call->heard && !call->cancelled &&
                    now - call->last_data > WATCH_SILENCE_USEC)
                        stalled = g_list_prepend(stalled, call);
        }
        for (GList *l = stalled; l; l = l->next) {
                struct kube_call *call = l->data;
                kube_callback_t cb = call->cb;
                void *ud = call->userdata;
                struct kube_result res = {.error = -ETIMEDOUT,
                                          .reason = "Stalled",
                                          .message = "no data from the apiserver for 90 s"};

                call_discard(call);
                if (cb)
                        cb(c, &res, ud);
        }
        g_list_free(stalled);
        (void)sd_event_source_set_time(s, usec + 15 * USEC_PER_SEC);
        return 0;
}

void kube_client_flush(struct kube_client *c)
{
        if (curl_event_busy(c->curl))
                return; /* inside libcurl: it will send when it returns */
        on_pump(NULL, c);
        curl_event_kick(c->curl);
}

/* ---- public API ---- */

int kube_client_new(sd_event *event, const struct kube_config *cfg,
                    const struct kube_client_options *opts, struct kube_client **ret)
{
        _cleanup_free_ char *route = NULL, *host = NULL;
        struct kube_client *c;
        int r;

        assert(event);
        assert(cfg);
        assert(ret);
        c = xnew(struct kube_client, 1);
        c->event = sd_event_ref(event);
        if (opts)
                c->opts = *opts;
        if (c->opts.max_retries == 0)
                c->opts.max_retries = 5;
        if (c->opts.timeout_usec == 0)
                c->opts.timeout_usec = 30 * USEC_PER_SEC;
        if (c->opts.max_in_flight == 0)
                c->opts.max_in_flight = 64;
        c->insecure = cfg->insecure;
        kube_throttle_init(&c->throttle, c->opts.qps, c->opts.burst, now_usec(c));
        g_queue_init(&c->data_pending);
        c->calls = g_hash_table_new(NULL, NULL);
        r = kube_config_server_route(cfg, &c->server, &route, &host);
        if (r < 0)
                goto fail;
        if (route) {
                headers_append(&c->connect_to, route);
                c->host_header = xasprintf("Host: %s", host);
        } else
                c->server = xstrdup(cfg->server);
        if (cfg->ca_data) {
                c->ca_data = g_memdup2(cfg->ca_data, cfg->ca_len);
                c->ca_len = cfg->ca_len;
        }
        if (cfg->cert_data && cfg->key_data) {
                c->cert_data = g_memdup2(cfg->cert_data, cfg->cert_len);
                c->cert_len = cfg->cert_len;
                c->key_data = g_memdup2(cfg->key_data, cfg->key_len);
                c->key_len = cfg->key_len;
        }
        c->token = xstrdup(cfg->token);
        c->token_file = xstrdup(cfg->token_file);
        r = client_check_tls(c);
        if (r < 0)
                goto fail;
        r = curl_event_new(event, &curl_ops, c, &c->curl);
        if (r < 0)
                goto fail;
        r = sd_event_add_time(event, &c->rate_timer, CLOCK_MONOTONIC, UINT64_MAX, 1000,
                              on_rate_timer, c);
        if (r < 0)
                goto fail;
        (void)sd_event_source_set_enabled(c->rate_timer, SD_EVENT_OFF);
        r = sd_event_add_defer(event, &c->pump, on_pump, c);
        if (r < 0)
                goto fail;
        r = sd_event_add_time_relative(event, &c->watchdog, CLOCK_MONOTONIC, 15 * USEC_PER_SEC,
                                       USEC_PER_SEC, on_watchdog, c);
        if (r < 0)
                goto fail;
        (void)sd_event_source_set_enabled(c->watchdog, SD_EVENT_ON);
        (void)sd_event_source_set_enabled(c->pump, SD_EVENT_OFF);
        *ret = c;
        return 0;
fail:
        kube_client_free(c);
        return r;
}

void kube_client_free(struct kube_client *c)
{
        if (!c)
                return;
        kube_throttle_done(&c->throttle);
        g_queue_clear(&c->data_pending);
        if (c->calls) {
                GList *all = g_hash_table_get_keys(c->calls);

                for (GList *l = all; l; l = l->next) {
                        struct kube_call *call = l->data;

                        if (call->state == CALL_ACTIVE)
                                curl_event_remove(c->curl, call->easy);
                        call_free(call);
                }
                g_list_free(all);
                g_hash_table_unref(c->calls);
        }
        curl_event_free(c->curl);
        sd_event_source_disable_unref(c->rate_timer);
        sd_event_source_disable_unref(c->watchdog);
        sd_event_source_disable_unref(c->pump);
        sd_event_unref(c->event);
        free(c->server);
        free(c->host_header);
        curl_slist_free_all(c->connect_to);
        g_free(c->ca_data);
        g_free(c->cert_data);
        g_free(c->key_data);
        free(c->token);
        free(c->token_file);
        free(c);
}

sd_event *kube_client_event(struct kube_client *c)
{
        return c->event;
}

void kube_client_set_observer(struct kube_client *c, kube_observer_t fn, void *userdata)
{
        c->observer = fn;
        c->observer_data = userdata;
}

uint64_t kube_client_throttled_usec(struct kube_client *c)
{
        return c->throttled_usec;
}

size_t kube_client_queued(struct kube_client *c, enum kube_throttle_class cls)
{
        return cls < _KUBE_THROTTLE_CLASS_MAX ? g_queue_get_length(&c->throttle.waiting[cls]) : 0;
}

unsigned kube_client_in_flight(struct kube_client *c)
{
        return c->in_flight;
}

int kube_call(struct kube_client *c, const char *method, const char *path, json_t *body,
              const char *content_type, unsigned flags, uint64_t timeout_usec, kube_callback_t cb,
              void *userdata, struct kube_call **ret)
{
        struct kube_call *call;

        assert(c);
        assert(method);
        assert(path);
        call = call_new(c, method, path, body, content_type, flags, timeout_usec);
        if (!call)
                return -EINVAL;
        call->cb = cb;
        call->userdata = userdata;
        enqueue(c, call);
        if (ret)
                *ret = call;
        return 0;
}

int kube_watch_call(struct kube_client *c, const char *path, uint64_t timeout_usec,
                    kube_watch_event_t on_event, kube_callback_t done, void *userdata,
                    struct kube_call **ret)
{
        struct kube_call *call;

        assert(c);
        assert(path);
        /* informers must keep up even when bulk work waits for tokens */
        call = call_new(c, "GET", path, NULL, NULL, KUBE_CALL_NO_RETRY | KUBE_CALL_PRIORITY, 0);
        call->watch = true;
        call->timeout_usec = timeout_usec; /* 0: none */
        call->on_event = on_event;
        call->cb = done;
        call->userdata = userdata;
        enqueue(c, call);
        if (ret)
                *ret = call;
        return 0;
}

void kube_call_cancel(struct kube_call *call)
{
        if (!call || call->cancelled)
                return;
        call->cancelled = true;
        if (call->dispatching || call->state == CALL_FINISHED)
                return; /* whoever is delivering it frees it */
        call_discard(call);
}

bool kube_result_is(const struct kube_result *r, long status, const char *reason)
{
        if (r->http_status != status)
                return false;
        return !reason || streq_ptr(r->reason, reason);
}

void kube_sync_callback(struct kube_client *c, const struct kube_result *res, void *userdata)
{
        struct kube_sync *s = userdata;

        (void)c;
        s->done = true;
        s->http_status = res->http_status;
        s->error = res->error;
        s->reason = xstrdup(res->reason);
        s->message = xstrdup(res->message);
        s->body = json_incref(res->body);
}

int kube_sync_wait(struct kube_client *c, struct kube_sync *s, uint64_t timeout_usec)
{
        uint64_t start = 0, now = 0;

        (void)sd_event_now(c->event, CLOCK_MONOTONIC, &start);
        while (!s->done) {
                int r;

                (void)sd_event_now(c->event, CLOCK_MONOTONIC, &now);
                if (timeout_usec && now - start >= timeout_usec)
                        return -ETIMEDOUT;
                r = sd_event_run(c->event,
                                 timeout_usec ? timeout_usec - (now - start) : UINT64_MAX);
                if (r < 0)
                        return r;
        }
        return s->error;
}

void kube_sync_done(struct kube_sync *s)
{
        free(s->reason);
        free(s->message);
        json_decref(s->body);
        memset(s, 0, sizeof(*s));
}

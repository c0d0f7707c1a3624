/* l2lb-deathstar: the lab's built-in stand-in for the docker.io/cilium/starwars
 * image. A small HTTP/1.x server on one sd-event loop that answers the Death
 * Star API of the Cilium demo (`GET /v1/` returns the JSON of the seed's
 * transcript with "hostname" = the pod name).
 *
 * Each connection reads one request head (http-request.c), reads and drops
 * the body, writes one response and closes. Malformed requests get 400,
 * oversized ones 413/431, slow clients are cut after a timeout; nothing a
 * client sends can crash the server or make it allocate without bound. */
#include <arpa/inet.h>
#include <getopt.h>
#include <glib.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "http-request.h"
#include "lib/log.h"
#include "lib/util.h"

#define CONN_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define MAX_CONNECTIONS   512

struct server {
        sd_event *event;
        int listen_fd;
        char *hostname;
        unsigned n_conns;
};

struct conn {
        struct server *server;
        int fd;
        sd_event_source *io;
        sd_event_source *timer;
        char in[HTTP_MAX_HEAD];
        size_t in_len;
        bool have_head;
        struct http_request req;
        size_t body_left; /* body bytes still to read and drop */
        char *out;
        size_t out_len, out_off;
};

static void conn_free(struct conn *c)
{
        if (!c)
                return;
        (void)sd_event_source_disable_unref(c->io);
        (void)sd_event_source_disable_unref(c->timer);
        if (c->fd >= 0)
                (void)close(c->fd);
        free(c->out);
        c->server->n_conns--;
        free(c);
}

static const char *status_text(int code)
{
        switch (code) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 413:
                return "Payload Too Large";
        case 431:
                return "Request Header Fields Too Large";
        case 503:
                return "Service Unavailable";
        default:
                return "Internal Server Error";
        }
}

/* Queue the whole response and switch the connection to writing. */
static int conn_respond(struct conn *c, int code, const char *content_type, const char *allow,
                        const char *body)
{
        char allow_hdr[64] = "";

        if (allow) /* "GET, POST, PUT" at most */
                (void)snprintf(allow_hdr, sizeof(allow_hdr), "Allow: %s\r\n", allow);
        free(c->out);
        c->out = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                           "Connection: close\r\n\r\n%s",
                           code, status_text(code), content_type, strlen(body), allow_hdr, body);
        c->out_len = strlen(c->out);
        c->out_off = 0;
        return sd_event_source_set_io_events(c->io, EPOLLOUT);
}

static char *deathstar_json(const char *hostname)
{
        GString *h = g_string_new(NULL);
        char *s;

        for (const char *p = hostname; *p; p++) {
                unsigned char ch = (unsigned char)*p;

                if (ch == '"' || ch == '\\')
                        g_string_append_printf(h, "\\%c", ch);
                else if (ch < 0x20)
                        g_string_append_printf(h, "\\u%04x", ch);
                else
                        g_string_append_c(h, (char)ch);
        }
        s = xasprintf("{\n"
                      "\t\"name\": \"Death Star\",\n"
                      "\t\"hostname\": \"%s\",\n"
                      "\t\"model\": \"DS-1 Orbital Battle Station\",\n"
                      "\t\"manufacturer\": \"Imperial Department of Military Research, Sienar "
                      "Fleet Systems\",\n"
                      "\t\"cost_in_credits\": \"1000000000000\",\n"
                      "\t\"length\": \"120000\",\n"
                      "\t\"crew\": \"342953\",\n"
                      "\t\"passengers\": \"843342\",\n"
                      "\t\"cargo_capacity\": \"1000000000000\",\n"
                      "\t\"hyperdrive_rating\": \"4.0\",\n"
                      "\t\"starship_class\": \"Deep Space Mobile Battlestation\",\n"
                      "\t\"api\": [\n"
                      "\t\t\"GET   /v1\",\n"
                      "\t\t\"GET   /v1/healthz\",\n"
                      "\t\t\"POST  /v1/request-landing\",\n"
                      "\t\t\"PUT   /v1/cargobay\",\n"
                      "\t\t\"GET   /v1/hyper-matter-reactor/status\",\n"
                      "\t\t\"PUT   /v1/exhaust-port\"\n"
                      "\t]\n"
                      "}\n",
                      h->str);
        g_string_free(h, TRUE);
        return s;
}

static const char exhaust_port_panic[] =
    "Panic: deathstar exploded\n\n"
    "goroutine 1 [running]:\n"
    "main.HandleGarbage(0x2080c3f50, 0x2, 0x4, 0x425c0, 0x5, 0xa)\n"
    "\t/code/src/github.com/empire/deathstar/\n"
    "\ttemp/main.go:9 +0x64\n"
    "main.main()\n"
    "\t/code/src/github.com/empire/deathstar/\n"
    "\ttemp/main.go:5 +0x85\n";

struct route {
        const char *method;
        const char *path;
        int code;
        const char *content_type;
        const char *body; /* NULL: the Death Star JSON */
};

static const struct route routes[] = {
    {"GET", "/v1", 200, "application/json", NULL},
    {"GET", "/v1/", 200, "application/json", NULL},
    {"GET", "/v1/healthz", 200, "text/plain", "OK\n"},
    {"POST", "/v1/request-landing", 200, "text/plain", "Ship landed\n"},
    {"PUT", "/v1/cargobay", 200, "text/plain", "Cargo bay loaded\n"},
    {"GET", "/v1/hyper-matter-reactor/status", 200, "application/json",
     "{\"status\": \"online\", \"output\": \"nominal\"}\n"},
    {"PUT", "/v1/exhaust-port", 503, "text/plain", exhaust_port_panic},
};

static int conn_route(struct conn *c)
{
        const struct route *match = NULL;
        bool path_known = false;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                if (!streq(routes[i].path, c->req.path))
                        continue;
                path_known = true;
                if (streq(routes[i].method, c->req.method))
                        match = &routes[i];
        }
        log_debug("request", "method=%s path=%s", c->req.method, log_q(c->req.path));
        if (!match) {
                if (path_known)
                        return conn_respond(c, 405, "text/plain", "GET, POST, PUT",
                                            "Method Not Allowed\n");
                return conn_respond(c, 404, "text/plain", NULL, "Not Found\n");
        }
        if (match->body)
                return conn_respond(c, match->code, match->content_type, NULL, match->body);
        {
                _cleanup_free_ char *json = deathstar_json(c->server->hostname);

                r = conn_respond(c, match->code, match->content_type, NULL, json);
        }
        return r;
}

/* After new input: parse the head once, then drop body bytes. */
static int conn_process(struct conn *c)
{
        int r;

        if (!c->have_head) {
                r = http_request_parse(c->in, c->in_len, &c->req);
                if (r == -EAGAIN)
                        return 0;
                if (r == -E2BIG)
                        return conn_respond(c, c->req.head_len ? 413 : 431, "text/plain", NULL,
                                            "Request too large\n");
                if (r < 0)
                        return conn_respond(c, 400, "text/plain", NULL, "Bad Request\n");
                c->have_head = true;
                c->body_left = c->req.body_len;
                /* body bytes that arrived with the head */
                size_t extra = c->in_len - c->req.head_len;

                c->body_left -= extra < c->body_left ? extra : c->body_left;
                c->in_len = 0;
        }
        if (c->body_left > 0)
                return 0;
        return conn_route(c);
}

static int conn_read(struct conn *c)
{
        char drop[4096];
        ssize_t n;

        for (;;) {
                if (!c->have_head) {
                        if (c->in_len == sizeof(c->in))
                                return conn_respond(c, 431, "text/plain", NULL,
                                                    "Request too large\n");
                        n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
                } else
                        n = recv(c->fd, drop,
                                 c->body_left < sizeof(drop) ? c->body_left : sizeof(drop), 0);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno;
                }
                if (n == 0)
                        return -ECONNRESET; /* peer closed before a full request */
                if (!c->have_head)
                        c->in_len += (size_t)n;
                else
                        c->body_left -= (size_t)n;
                int r = conn_process(c);

                if (r < 0 || c->out)
                        return r;
        }
}

static int conn_write(struct conn *c)
{
        while (c->out_off < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno;
                }
                c->out_off += (size_t)n;
        }
        return 1; /* done */
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct conn *c = userdata;
        int r;

        if (c->out)
                r = conn_write(c);
        else {
                r = conn_read(c);
                if (r >= 0 && c->out)
                        r = conn_write(c);
        }
        if (r != 0) {
                if (r > 0)
                        (void)shutdown(c->fd, SHUT_WR);
                conn_free(c);
        }
        return 0;
}

static int on_conn_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        conn_free(userdata);
        return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct server *srv = userdata;

        for (;;) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                struct conn *c;
                int r;

                if (cfd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_warn_errno(-errno, "accept failed");
                        return 0;
                }
                if (srv->n_conns >= MAX_CONNECTIONS) {
                        (void)close(cfd);
                        continue;
                }
                c = xnew(struct conn, 1);
                c->server = srv;
                c->fd = cfd;
                srv->n_conns++;
                r = sd_event_add_io(srv->event, &c->io, cfd, EPOLLIN, on_conn_io, c);
                if (r >= 0)
                        r = sd_event_add_time_relative(srv->event, &c->timer, CLOCK_MONOTONIC,
                                                       CONN_TIMEOUT_USEC, USEC_PER_SEC / 10,
                                                       on_conn_timeout, c);
                if (r < 0) {
                        log_warn_errno(r, "cannot watch connection");
                        conn_free(c);
                }
        }
}

static int listen_on(const char *address, uint16_t port)
{
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } sa = {0};
        socklen_t len;
        int fd, one = 1, zero = 0;

        if (isempty(address) || streq(address, "::")) {
                sa.in6.sin6_family = AF_INET6;
                sa.in6.sin6_port = htons(port);
                len = sizeof(sa.in6);
        } else {
                sa.in.sin_family = AF_INET;
                sa.in.sin_port = htons(port);
                if (inet_pton(AF_INET, address, &sa.in.sin_addr) != 1)
                        return -EINVAL;
                len = sizeof(sa.in);
        }
        fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 && sa.sa.sa_family == AF_INET6 && errno == EAFNOSUPPORT)
                return listen_on("0.0.0.0", port);
        if (fd < 0)
                return -errno;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (sa.sa.sa_family == AF_INET6)
                (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        if (bind(fd, &sa.sa, len) < 0 || listen(fd, 128) < 0) {
                int r = -errno;

                (void)close(fd);
                return r;
        }
        return fd;
}

static void usage(void)
{
        printf("l2lb-deathstar — the Death Star HTTP server of the Cilium starwars demo\n\n"
               "Usage: l2lb-deathstar [--port N] [--address ADDR] [--hostname NAME] "
               "[--ready-fd FD]\n\n"
               "  --port N         TCP port (default 80)\n"
               "  --address ADDR   IPv4 address to listen on (default: every address)\n"
               "  --hostname NAME  \"hostname\" in GET /v1/ (default: the host name)\n"
               "  --ready-fd FD    write one byte to FD and close it once listening\n"
               "  --log-level L    debug, info, warn, error\n");
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
            {"port", required_argument, NULL, 'p'},
            {"address", required_argument, NULL, 'a'},
            {"hostname", required_argument, NULL, 'n'},
            {"ready-fd", required_argument, NULL, 'r'},
            {"log-level", required_argument, NULL, 'l'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct server srv = {.listen_fd = -1};
        const char *address = NULL;
        enum log_level level = LOG_LEVEL_INFO;
        sd_event_source *listen_src = NULL;
        long port = 80, ready_fd = -1;
        char host[256] = "";
        sigset_t ss;
        int r, c;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                char *end;

                switch (c) {
                case 'p':
                        port = strtol(optarg, &end, 10);
                        if (*end || port < 1 || port > 65535) {
                                fprintf(stderr, "l2lb-deathstar: bad --port '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case 'a':
                        address = optarg;
                        break;
                case 'n':
                        srv.hostname = optarg;
                        break;
                case 'r':
                        ready_fd = strtol(optarg, &end, 10);
                        if (*end || ready_fd < 0) {
                                fprintf(stderr, "l2lb-deathstar: bad --ready-fd '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case 'l':
                        if (log_parse_level(optarg, &level) < 0) {
                                fprintf(stderr, "l2lb-deathstar: bad --log-level '%s'\n", optarg);
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
        if (optind < argc) {
                fprintf(stderr, "l2lb-deathstar: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        log_setup("l2lb-deathstar", LOG_FORMAT_LOGFMT, level);
        if (!srv.hostname) {
                (void)gethostname(host, sizeof(host) - 1);
                srv.hostname = host;
        }

        (void)sigemptyset(&ss);
        (void)sigaddset(&ss, SIGTERM);
        (void)sigaddset(&ss, SIGINT);
        (void)sigprocmask(SIG_BLOCK, &ss, NULL);
        (void)signal(SIGPIPE, SIG_IGN);

        r = sd_event_default(&srv.event);
        if (r < 0)
                goto out;
        srv.listen_fd = listen_on(address, (uint16_t)port);
        if (srv.listen_fd < 0) {
                r = log_error_errno(srv.listen_fd, "cannot listen", "address=%s port=%ld",
                                    address ? address : "*", port);
                goto out;
        }
        r = sd_event_add_io(srv.event, &listen_src, srv.listen_fd, EPOLLIN, on_accept, &srv);
        if (r >= 0)
                r = sd_event_add_signal(srv.event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(srv.event, NULL, SIGINT, NULL, NULL);
        if (r < 0) {
                log_error_errno(r, "cannot set up the event loop");
                goto out;
        }
        log_info("Death Star listening", "port=%ld hostname=%s", port, log_q(srv.hostname));
        if (ready_fd >= 0) {
                (void)!write((int)ready_fd, "1", 1);
                (void)close((int)ready_fd);
        }
        r = sd_event_loop(srv.event);
out:
        (void)sd_event_source_disable_unref(listen_src);
        if (srv.listen_fd >= 0)
                (void)close(srv.listen_fd);
        (void)sd_event_unref(srv.event);
        return r < 0 ? 1 : 0;
}

/* libmicrohttpd does the HTTP; this file only ties its epoll fd and its
 * timeouts into sd-event and turns a handler's answer into a response. */
#include "httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "metrics.h"
#include "lib/log.h"
#include "lib/util.h"

struct httpd {
        struct MHD_Daemon *daemon;
        sd_event_source *io;
        sd_event_source *timer;
        sd_event *event;
        httpd_handler_t handler;
        void *userdata;
        unsigned port;
        char *unix_path;
};

static void rearm(struct httpd *h)
{
        MHD_UNSIGNED_LONG_LONG timeout;
        uint64_t now = 0;

        if (MHD_get_timeout(h->daemon, &timeout) == MHD_YES) {
                (void)sd_event_now(h->event, CLOCK_MONOTONIC, &now);
                (void)sd_event_source_set_time(h->timer, now + (uint64_t)timeout * 1000);
                (void)sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
        } else
                (void)sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct httpd *h = userdata;

        (void)s;
        (void)fd;
        (void)revents;
        (void)MHD_run(h->daemon);
        rearm(h);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)usec;
        return on_io(s, -1, 0, userdata);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        struct httpd *h = cls;
        struct httpd_response resp = {.status = 404, .content_type = "text/plain"};
        struct MHD_Response *r;
        enum MHD_Result ret;

        (void)version;
        (void)upload_data;
        if (!*con_cls) {
                /* first call: headers only */
                *con_cls = h;
                return MHD_YES;
        }
        if (*upload_data_size) {
                *upload_data_size = 0; /* bodies are ignored */
                return MHD_YES;
        }
        h->handler(method, url, &resp, h->userdata);
        if (!resp.body)
                resp.body = xstrdup(resp.status == 404 ? "not found\n" : "");
        r = MHD_create_response_from_buffer(strlen(resp.body), resp.body, MHD_RESPMEM_MUST_FREE);
        (void)MHD_add_response_header(r, "Content-Type", resp.content_type);
        ret = MHD_queue_response(conn, resp.status, r);
        MHD_destroy_response(r);
        return ret;
}

int httpd_parse_listen_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
        const char *colon = strrchr(addr, ':');
        char host[128];
        unsigned long port;
        char *end;

        if (!colon)
                return -EINVAL;
        port = strtoul(colon + 1, &end, 10);
        if (*end || port > 65535 || end == colon + 1)
                return -EINVAL;
        memset(ss, 0, sizeof(*ss));
        (void)snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

                host[strlen(host) - 1] = 0;
                if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
                        return -EINVAL;
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons((uint16_t)port);
                *len = sizeof(*s6);
        } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

                if (*host && inet_pton(AF_INET, host, &s4->sin_addr) != 1)
                        return -EINVAL;
                s4->sin_family = AF_INET;
                s4->sin_port = htons((uint16_t)port);
                *len = sizeof(*s4);
        }
        return 0;
}

static int attach(struct httpd *h, sd_event *e);

/* A listening TCP socket as libmicrohttpd would make it (SO_REUSEADDR; an
 * IPv6 address listens on IPv6 only), or -errno. */
static int listen_socket(const struct sockaddr_storage *ss, socklen_t len)
{
        int fd, one = 1, r;

        fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            (ss->ss_family == AF_INET6 &&
             setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
            bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                (void)close(fd);
                return r;
        }
        return fd;
}

int httpd_start(sd_event *e, const char *addr, httpd_handler_t handler, void *userdata,
                struct httpd **ret)
{
        struct sockaddr_storage ss;
        socklen_t len;
        struct httpd *h;
        int fd, r;

        r = httpd_parse_listen_addr(addr, &ss, &len);
        if (r < 0)
                return log_error_errno(r, "invalid listen address (expected HOST:PORT or :PORT)",
                                       "address=%s", log_q(addr));
        /* the socket is ours, so that a failure reports its real cause
         * (libmicrohttpd only says that it could not start) */
        fd = listen_socket(&ss, len);
        if (fd < 0)
                return log_error_errno(fd, "cannot listen for HTTP", "address=%s", log_q(addr));
        h = xnew(struct httpd, 1);
        h->event = sd_event_ref(e);
        h->handler = handler;
        h->userdata = userdata;
        h->daemon = MHD_start_daemon(MHD_USE_EPOLL | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                                     0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
                                     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
        if (!h->daemon) {
                (void)close(fd);
                httpd_free(h);
                return log_error_errno(-EIO, "cannot serve HTTP", "address=%s", log_q(addr));
        }
        r = attach(h, e);
        if (r < 0) {
                httpd_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

int httpd_start_unix(sd_event *e, const char *path, httpd_handler_t handler, void *userdata,
                     struct httpd **ret)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct httpd *h;
        mode_t mask;
        int fd, r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return log_error_errno(-ENAMETOOLONG, "socket path too long", "path=%s",
                                       log_q(path));
        {
                char *dir = xstrdup(path), *slash = strrchr(dir, '/');

                if (slash && slash != dir) {
                        *slash = 0;
                        for (char *p = dir + 1; *p; p++)
                                if (*p == '/') {
                                        *p = 0;
                                        (void)mkdir(dir, 0755);
                                        *p = '/';
                                }
                        (void)mkdir(dir, 0755);
                }
                free(dir);
        }
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void)unlink(path);
        /* created 0600: never open to others, not even until a chmod */
        mask = umask(0177);
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
        (void)umask(mask);
        if (r >= 0 && listen(fd, 16) < 0)
                r = -errno;
        if (r < 0) {
                (void)close(fd);
                return log_error_errno(r, "cannot listen on unix socket", "path=%s", log_q(path));
        }
        h = xnew(struct httpd, 1);
        h->event = sd_event_ref(e);
        h->handler = handler;
        h->userdata = userdata;
        h->unix_path = xstrdup(path);
        h->daemon =
            MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET,
                             fd, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
        if (!h->daemon) {
                (void)close(fd);
                httpd_free(h);
                return log_error_errno(-EIO, "cannot serve on unix socket", "path=%s", log_q(path));
        }
        r = attach(h, e);
        if (r < 0) {
                httpd_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

static int attach(struct httpd *h, sd_event *e)
{
        const union MHD_DaemonInfo *info;
        int r;

        info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        r = sd_event_add_io(e, &h->io, info->epoll_fd, EPOLLIN, on_io, h);
        if (r >= 0)
                r = sd_event_add_time(e, &h->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_timer, h);
        if (r < 0)
                return r;
        if (!h->unix_path) {
                struct sockaddr_storage ss;
                socklen_t len = sizeof(ss);

                memset(&ss, 0, sizeof(ss));
                info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_LISTEN_FD);
                if (info && getsockname(info->listen_fd, (struct sockaddr *)&ss, &len) == 0)
                        h->port =
                            ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                           : ((struct sockaddr_in *)&ss)->sin_port);
        }
        rearm(h);
        return 0;
}

bool httpd_serve_health(const char *path, struct metrics *m, const char *not_ready,
                        struct httpd_response *r)
{
        assert(path);
        assert(m);
        assert(r);
        if (streq(path, "/metrics")) {
                r->status = 200;
                r->content_type = "text/plain; version=0.0.4";
                r->body = metrics_render(m);
        } else if (streq(path, "/healthz")) {
                r->status = 200;
                r->body = xstrdup("ok\n");
        } else if (streq(path, "/readyz")) {
                r->status = not_ready ? 503 : 200;
                r->body = xstrdup(not_ready ? not_ready : "ok\n");
        } else
                return false;
        return true;
}

unsigned httpd_port(const struct httpd *h)
{
        return h->port;
}

void httpd_free(struct httpd *h)
{
        if (!h)
                return;
        (void)sd_event_source_disable_unref(h->io);
        (void)sd_event_source_disable_unref(h->timer);
        if (h->daemon)
                MHD_stop_daemon(h->daemon);
        if (h->unix_path)
                (void)unlink(h->unix_path);
        free(h->unix_path);
        (void)sd_event_unref(h->event);
        free(h);
}

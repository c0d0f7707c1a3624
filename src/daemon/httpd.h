/* A small HTTP server on the event loop (libmicrohttpd in external-epoll
 * mode, driven by sd-event) for /metrics, /healthz and /readyz. */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

struct httpd;
struct metrics;

struct httpd_response {
        unsigned status;
        const char *content_type;
        char *body; /* malloc'ed; freed by the server */
};

/* Called for each request; must fill resp. */
typedef void (*httpd_handler_t)(const char *method, const char *path, struct httpd_response *resp,
                                void *userdata);

/* addr: "HOST:PORT", ":PORT" (all addresses) or "[v6]:PORT". */
int httpd_parse_listen_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len);
int httpd_start(sd_event *e, const char *addr, httpd_handler_t handler, void *userdata,
                struct httpd **ret);
/* The same on a unix stream socket at path (replaced if it exists; parent
 * directories are created), for local status endpoints. */
int httpd_start_unix(sd_event *e, const char *path, httpd_handler_t handler, void *userdata,
                     struct httpd **ret);
unsigned httpd_port(const struct httpd *h);
/* The daemons' /metrics (m rendered), /healthz and /readyz (503 with
 * not_ready as the body unless it is NULL). Returns false for other paths. */
bool httpd_serve_health(const char *path, struct metrics *m, const char *not_ready,
                        struct httpd_response *r);
void httpd_free(struct httpd *h);

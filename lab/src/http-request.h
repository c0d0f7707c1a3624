/* A minimal HTTP/1.x request-head parser for the lab's Death Star server.
 *
 * It only needs the method, the path and the body length, so that is all it
 * extracts. Input is untrusted bytes from the network: the parser never
 * reads past len, never allocates, and rejects anything unusual (bare
 * control characters, over-long lines, conflicting lengths, chunked bodies)
 * with -EBADMSG instead of guessing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEAD 8192        /* request line + headers */
#define HTTP_MAX_BODY (64 * 1024) /* bodies are read and ignored */

struct http_request {
        char method[16];
        char path[1024]; /* target without the query string */
        size_t head_len; /* bytes up to and including the blank line */
        size_t body_len; /* Content-Length, 0 when absent */
        bool keep_alive; /* HTTP/1.1 without "Connection: close" */
};

/* Parse the head at the start of buf. Returns 0 when complete (req filled),
 * -EAGAIN when more bytes are needed, -EBADMSG for a malformed request and
 * -E2BIG when the head or the body exceeds the limits above. */
int http_request_parse(const char *buf, size_t len, struct http_request *req);

/* HTTP/1.x request heads: request line and the few headers the Death Star
 * server cares about. See http-request.h for the contract. */
#include "http-request.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* Find the end of the head: an empty line (CRLF CRLF, or LF LF from lax
 * clients). Returns the length including it, or 0. */
static size_t head_end(const char *buf, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                if (buf[i] != '\n')
                        continue;
                if (i + 1 < len && buf[i + 1] == '\n')
                        return i + 2;
                if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
                        return i + 3;
        }
        return 0;
}

static bool is_tchar(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* One line [p, eol) without its CR LF. */
struct line {
        const char *p;
        size_t n;
};

static bool next_line(const char **cur, const char *end, struct line *ret)
{
        const char *nl = memchr(*cur, '\n', (size_t)(end - *cur));

        if (!nl)
                return false;
        ret->p = *cur;
        ret->n = (size_t)(nl - *cur);
        if (ret->n > 0 && ret->p[ret->n - 1] == '\r')
                ret->n--;
        *cur = nl + 1;
        return true;
}

static int parse_request_line(const struct line *l, struct http_request *req, bool *http11)
{
        const char *p = l->p, *end = l->p + l->n, *sp;
        size_t n;

        sp = memchr(p, ' ', l->n);
        if (!sp)
                return -EBADMSG;
        n = (size_t)(sp - p);
        if (n == 0 || n >= sizeof(req->method))
                return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                if (p[i] < 'A' || p[i] > 'Z')
                        return -EBADMSG;
        memcpy(req->method, p, n);
        req->method[n] = 0;

        p = sp + 1;
        sp = memchr(p, ' ', (size_t)(end - p));
        if (!sp)
                return -EBADMSG;
        n = (size_t)(sp - p);
        if (n == 0 || p[0] != '/')
                return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
                        return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                if (p[i] == '?' || p[i] == '#') {
                        n = i;
                        break;
                }
        if (n >= sizeof(req->path))
                return -E2BIG;
        memcpy(req->path, p, n);
        req->path[n] = 0;

        p = sp + 1;
        n = (size_t)(end - p);
        if (n == 8 && memcmp(p, "HTTP/1.1", 8) == 0)
                *http11 = true;
        else if (n == 8 && memcmp(p, "HTTP/1.0", 8) == 0)
                *http11 = false;
        else
                return -EBADMSG;
        return 0;
}

static bool value_is(const char *v, size_t n, const char *word)
{
        return strlen(word) == n && strncasecmp(v, word, n) == 0;
}

static int parse_content_length(const char *v, size_t n, size_t *ret)
{
        size_t x = 0;

        if (n == 0 || n > 9)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                if (v[i] < '0' || v[i] > '9')
                        return -EBADMSG;
                x = x * 10 + (size_t)(v[i] - '0');
        }
        if (x > HTTP_MAX_BODY)
                return -E2BIG;
        *ret = x;
        return 0;
}

static int parse_header(const struct line *l, struct http_request *req, bool *have_length,
                        int *connection)
{
        const char *colon = memchr(l->p, ':', l->n), *v, *end = l->p + l->n;
        size_t name_len, len;
        int r;

        if (!colon || colon == l->p)
                return -EBADMSG;
        name_len = (size_t)(colon - l->p);
        for (size_t i = 0; i < name_len; i++)
                if (!is_tchar(l->p[i]))
                        return -EBADMSG;
        v = colon + 1;
        for (const char *q = v; q < end; q++)
                if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
                        return -EBADMSG;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        len = (size_t)(end - v);

        if (name_len == 14 && strncasecmp(l->p, "Content-Length", 14) == 0) {
                size_t x;

                r = parse_content_length(v, len, &x);
                if (r < 0)
                        return r;
                if (*have_length && x != req->body_len)
                        return -EBADMSG;
                req->body_len = x;
                *have_length = true;
        } else if (name_len == 17 && strncasecmp(l->p, "Transfer-Encoding", 17) == 0) {
                return -EBADMSG; /* no chunked bodies here */
        } else if (name_len == 10 && strncasecmp(l->p, "Connection", 10) == 0) {
                if (value_is(v, len, "close"))
                        *connection = 0;
                else if (value_is(v, len, "keep-alive"))
                        *connection = 1;
        }
        return 0;
}

int http_request_parse(const char *buf, size_t len, struct http_request *req)
{
        const char *cur = buf, *end;
        struct line l;
        bool http11 = false, have_length = false;
        int connection = -1; /* -1: not given, 0: close, 1: keep-alive */
        size_t hl;
        int r;

        memset(req, 0, sizeof(*req));
        hl = head_end(buf, len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD);
        if (hl == 0)
                return len >= HTTP_MAX_HEAD ? -E2BIG : -EAGAIN;
        end = buf + hl;
        req->head_len = hl;

        if (!next_line(&cur, end, &l))
                return -EBADMSG;
        r = parse_request_line(&l, req, &http11);
        if (r < 0)
                return r;
        while (next_line(&cur, end, &l) && l.n > 0) {
                r = parse_header(&l, req, &have_length, &connection);
                if (r < 0)
                        return r;
        }
        req->keep_alive = connection == 1 || (http11 && connection != 0);
        return 0;
}

/* String vectors and file helpers shared by all layers. */
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

void oom(void)
{
        static const char msg[] = "l2lb: out of memory\n";

        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        abort();
}

void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);

        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);

        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t n)
{
        p = realloc(p, n ? n : 1);
        if (!p)
                oom();
        return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
        p = reallocarray(p, n ? n : 1, size ? size : 1);
        if (!p)
                oom();
        return p;
}

char *xstrdup(const char *s)
{
        char *c;

        if (!s)
                return NULL;
        c = strdup(s);
        if (!c)
                oom();
        return c;
}

char *xstrndup(const char *s, size_t n)
{
        char *c;

        assert(s);
        c = strndup(s, n);
        if (!c)
                oom();
        return c;
}

char *xvasprintf(const char *fmt, va_list ap)
{
        char *s = NULL;

        if (vasprintf(&s, fmt, ap) < 0)
                oom();
        return s;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = xvasprintf(fmt, ap);
        va_end(ap);
        return s;
}

/* jansson's allocations follow the same rule (see util.h). */
__attribute__((constructor)) static void util_init_json_alloc(void)
{
        json_set_alloc_funcs(xmalloc, free);
}

void free_and_strdup(char **p, const char *s)
{
        char *c = xstrdup(s);

        assert(p);
        free(*p);
        *p = c;
}

char *strstrip(char *s)
{
        char *e;

        assert(s);
        /* one memmove: trimming is linear in the length of s */
        for (e = s; isspace((unsigned char)*e); e++)
                ;
        if (e > s)
                memmove(s, e, strlen(e) + 1);
        e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
                *--e = 0;
        return s;
}

size_t strv_length(char *const *v)
{
        size_t n = 0;

        if (!v)
                return 0;
        while (v[n])
                n++;
        return n;
}

void strv_free(char **v)
{
        if (!v)
                return;
        for (char **i = v; *i; i++)
                free(*i);
        free(v);
}

bool strv_contains(char *const *v, const char *s)
{
        if (!v)
                return false;
        for (; *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

void strv_push_n(char ***v, size_t n, const char *s)
{
        char **nv;

        assert(v);
        assert(n == 0 || *v);
        nv = xreallocarray(*v, n + 2, sizeof(char *));
        nv[n] = xstrdup(s);
        nv[n + 1] = NULL;
        *v = nv;
}

void strv_push(char ***v, const char *s)
{
        assert(v);
        strv_push_n(v, strv_length(*v), s);
}

char **strv_copy(char *const *v)
{
        size_t n = strv_length(v);
        char **c = xnew(char *, n + 1);

        for (size_t i = 0; i < n; i++)
                c[i] = xstrdup(v[i]);
        return c;
}

bool strv_equal(char *const *a, char *const *b)
{
        size_t n = strv_length(a);

        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

/* isspace() of the C locale, inline: the list scanners below call it for
 * every byte of 256 KiB annotations. */
static inline bool is_blank(char c)
{
        return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The next entry of a comma-separated list at *p, blanks around it trimmed:
 * its start and length (0 for an empty entry). Returns false at the end of
 * the list; *p moves past the entry and its comma. */
static bool comma_next(const char **p, const char **ret_start, size_t *ret_len)
{
        const char *b = *p, *e;

        if (!b)
                return false;
        while (is_blank(*b))
                b++;
        for (e = b; *e && *e != ','; e++)
                ;
        *p = *e ? e + 1 : NULL;
        while (e > b && is_blank(e[-1]))
                e--;
        *ret_start = b;
        *ret_len = (size_t)(e - b);
        return true;
}

size_t strv_count_comma(const char *s)
{
        const char *start;
        size_t n = 0, len;

        while (comma_next(&s, &start, &len))
                n += len > 0;
        return n;
}

char **strv_split_comma(const char *s)
{
        char **v = xnew(char *, strv_count_comma(s) + 1);
        const char *start;
        size_t n = 0, len;

        while (comma_next(&s, &start, &len))
                if (len > 0)
                        v[n++] = xstrndup(start, len);
        return v;
}

char **strv_split_comma_packed(const char *s)
{
        size_t n = 0, bytes = 0, len;
        const char *p = s, *start;
        char **v, *q;

        while (comma_next(&p, &start, &len))
                if (len > 0) {
                        n++;
                        bytes += len + 1;
                }
        v = xmalloc((n + 1) * sizeof(char *) + bytes);
        q = (char *)(v + n + 1);
        n = 0;
        while (comma_next(&s, &start, &len))
                if (len > 0) {
                        v[n++] = memcpy(q, start, len);
                        q[len] = 0;
                        q += len + 1;
                }
        v[n] = NULL;
        return v;
}

size_t lower_bound(const void *key, const void *base, size_t n, size_t size,
                   int (*cmp)(const void *key, const void *elem))
{
        size_t lo = 0, hi = n;

        assert(base || n == 0);
        assert(cmp);
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (cmp(key, (const char *)base + mid * size) > 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* The length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_len(const unsigned char *p)
{
        size_t n;

        if (*p < 0x80)
                return 1;
        if (*p >= 0xc2 && *p <= 0xdf)
                n = 2;
        else if (*p >= 0xe0 && *p <= 0xef)
                n = 3;
        else if (*p >= 0xf0 && *p <= 0xf4)
                n = 4;
        else
                return 0;
        /* no overlong forms, surrogates or code points above U+10FFFF */
        if ((*p == 0xe0 && p[1] < 0xa0) || (*p == 0xed && p[1] > 0x9f) ||
            (*p == 0xf0 && p[1] < 0x90) || (*p == 0xf4 && p[1] > 0x8f))
                return 0;
        for (size_t i = 1; i < n; i++)
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
        return n;
}

char *str_escape_control(const char *s)
{
        static const char hex[] = "0123456789abcdef";
        const unsigned char *p = (const unsigned char *)(s ? s : "");
        char *out = xmalloc(strlen((const char *)p) * 4 + 1), *o = out;

        while (*p) {
                size_t n = utf8_len(p);

                if (n == 1 && *p >= ' ' && *p != 0x7f && *p != '\\')
                        *o++ = (char)*p;
                else if (n == 1 && strchr("\\\n\r\t", *p)) {
                        *o++ = '\\';
                        *o++ = *p == '\n' ? 'n' : *p == '\r' ? 'r' : *p == '\t' ? 't' : '\\';
                } else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
                        memcpy(o, "\\u00", 4);
                        o += 4;
                        *o++ = hex[p[1] >> 4];
                        *o++ = hex[p[1] & 15];
                } else if (n > 1) {
                        memcpy(o, p, n);
                        o += n;
                } else {
                        *o++ = '\\';
                        *o++ = 'x';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 15];
                        n = 1;
                }
                p += n;
        }
        *o = 0;
        return out;
}

int read_full_file(const char *path, char **ret, size_t *ret_size)
{
        FILE *f;
        char *buf = NULL;
        size_t len = 0, cap = 0;
        int r = 0;

        assert(path);
        assert(ret);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        for (;;) {
                size_t n;

                if (cap - len < 4096) {
                        cap = cap ? cap * 2 : 8192;
                        if (cap > 64u * 1024 * 1024) {
                                r = -EFBIG;
                                break;
                        }
                        buf = xrealloc(buf, cap + 1);
                }
                n = fread(buf + len, 1, cap - len, f);
                len += n;
                if (n == 0) {
                        if (ferror(f))
                                r = -EIO;
                        break;
                }
        }
        (void)fclose(f);
        if (r < 0) {
                free(buf);
                return r;
        }
        if (!buf)
                buf = xmalloc(1);
        buf[len] = 0;
        *ret = buf;
        if (ret_size)
                *ret_size = len;
        return 0;
}

int read_int_file(const char *path)
{
        _cleanup_free_ char *text = NULL;
        char *end;
        long v;

        if (read_full_file(path, &text, NULL) < 0 || !text)
                return -1;
        errno = 0;
        v = strtol(text, &end, 10);
        if (errno || end == text || (*end && !streq(end, "\n")) || v < 0 || v > INT_MAX)
                return -1;
        return (int)v;
}

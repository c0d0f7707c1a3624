/* String vectors and file helpers shared by all layers. */
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>

int free_and_strdup(char **p, const char *s)
{
        char *c = NULL;

        assert(p);
        if (s) {
                c = strdup(s);
                if (!c)
                        return -ENOMEM;
        }
        free(*p);
        *p = c;
        return 0;
}

char *strstrip(char *s)
{
        char *e;

        assert(s);
        while (isspace((unsigned char)*s))
                memmove(s, s + 1, strlen(s));
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

int strv_push(char ***v, const char *s)
{
        size_t n = strv_length(*v);
        char **nv, *c;

        c = strdup(s);
        if (!c)
                return -ENOMEM;
        nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv) {
                free(c);
                return -ENOMEM;
        }
        nv[n] = c;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

char **strv_copy(char *const *v)
{
        size_t n = strv_length(v);
        char **c = calloc(n + 1, sizeof(char *));

        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(v[i]);
                if (!c[i]) {
                        strv_free(c);
                        return NULL;
                }
        }
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

char **strv_split_comma(const char *s)
{
        char **v = calloc(1, sizeof(char *));
        const char *p = s;

        if (!v)
                return NULL;
        if (!s)
                return v;
        for (;;) {
                const char *e = strchr(p, ',');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                char *item = strndup(p, l);

                if (!item) {
                        strv_free(v);
                        return NULL;
                }
                strstrip(item);
                if (*item && strv_push(&v, item) < 0) {
                        free(item);
                        strv_free(v);
                        return NULL;
                }
                free(item);
                if (!e)
                        break;
                p = e + 1;
        }
        return v;
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
                        char *nb;

                        cap = cap ? cap * 2 : 8192;
                        if (cap > 64u * 1024 * 1024) {
                                r = -EFBIG;
                                break;
                        }
                        nb = realloc(buf, cap + 1);
                        if (!nb) {
                                r = -ENOMEM;
                                break;
                        }
                        buf = nb;
                }
                n = fread(buf + len, 1, cap - len, f);
                len += n;
                if (n == 0) {
                        if (ferror(f))
                                r = -EIO;
                        break;
                }
        }
        fclose(f);
        if (r < 0) {
                free(buf);
                return r;
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[len] = 0;
        *ret = buf;
        if (ret_size)
                *ret_size = len;
        return 0;
}

char *strprintf(const char *fmt, ...)
{
        va_list ap;
        char *s = NULL;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return s;
}

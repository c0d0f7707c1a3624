/* Small helpers used everywhere: cleanup attributes, array sizes, string
 * helpers, allocation.
 *
 * Errors in l2lb are negative errno values (systemd style), for what can
 * really go wrong at run time: bad input, I/O, the API.
 *
 * Out of memory is not such an error. It is fatal everywhere, as it already
 * is in GLib (g_malloc, the hash tables and arrays of every layer) and in the
 * kernel's view of an overcommitting process: allocation goes through the
 * x-functions below, which print one line and abort when they fail, and no
 * code checks their result or returns -ENOMEM. The pod is restarted and
 * relists; nothing half-applied survives. jansson allocates through xmalloc
 * too (set at start-up in util.c), so json_object()/json_array() never
 * return NULL; json_string() still does, for invalid UTF-8 — that is bad
 * input and is checked. */
#pragma once

#include <assert.h>
#include <stdarg.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ELEMENTSOF(x)  (sizeof(x) / sizeof((x)[0]))
#define _unused_       __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _noreturn_     __attribute__((noreturn))
#define _likely_(x)    __builtin_expect(!!(x), 1)
#define _unlikely_(x)  __builtin_expect(!!(x), 0)

#define USEC_PER_SEC  ((uint64_t)1000000ULL)
#define USEC_PER_MSEC ((uint64_t)1000ULL)
#define NSEC_PER_USEC ((uint64_t)1000ULL)
#define NSEC_PER_SEC  ((uint64_t)1000000000ULL)

static inline void freep(void *p)
{
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline bool streq_ptr(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)

static inline bool isempty(const char *s)
{
        return !s || !*s;
}

static inline const char *strempty(const char *s)
{
        return s ? s : "";
}

/* Returns the suffix after prefix if s starts with it, else NULL. */
static inline const char *startswith(const char *s, const char *prefix)
{
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

_noreturn_ void oom(void);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* reallocarray: n * size checked for overflow (an overflow aborts too). */
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s); /* NULL stays NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);
#define xnew(type, n) ((type *)xcalloc((n), sizeof(type)))

/* Replace *p with a copy of s (NULL allowed). */
void free_and_strdup(char **p, const char *s);

/* Split a comma-separated list, trimming blanks around entries and dropping
 * empty ones. Returns a NULL-terminated vector (free with strv_free). Linear
 * in the length of s. s may be NULL (an empty vector). */
char **strv_split_comma(const char *s);
/* The same in one allocation (the pointers, then the strings): free it with
 * free(), not strv_free(); for long read-only lists. */
char **strv_split_comma_packed(const char *s);
/* The number of entries strv_split_comma(s) returns, without allocating. */
size_t strv_count_comma(const char *s);
void strv_free(char **v);
size_t strv_length(char *const *v);
bool strv_contains(char *const *v, const char *s);
char **strv_copy(char *const *v);
bool strv_equal(char *const *a, char *const *b);
/* Append a copy of s. strv_push() counts the entries first (linear per
 * call); a caller that appends many should keep the length and use
 * strv_push_n() with n = strv_length(*v). */
void strv_push(char ***v, const char *s);
void strv_push_n(char ***v, size_t n, const char *s);
static inline void strv_freep(char ***v)
{
        strv_free(*v);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* -errno after a failed libc call, never 0 (or a positive value) even if the
 * call forgot to set errno: callers test the result with < 0. */
static inline int negative_errno(void)
{
        return errno > 0 ? -errno : -EIO;
}

/* qsort, skipping what needs no sorting: n may be 0 with base NULL, which
 * qsort itself does not allow (its pointers must not be NULL). */
static inline void qsort_safe(void *base, size_t n, size_t size,
                              int (*cmp)(const void *, const void *))
{
        if (n > 1)
                qsort(base, n, size, cmp);
}

/* Binary search in base[0..n), sorted by cmp: the index of the first element
 * not less than key (n if every element is less). cmp(key, elem) compares
 * the key with an element, as bsearch's does, so key may be of another type
 * than the elements (a name, an address). */
size_t lower_bound(const void *key, const void *base, size_t n, size_t size,
                   int (*cmp)(const void *key, const void *elem));

/* Trim ASCII whitespace in place; returns s. */
char *strstrip(char *s);

/* A printable copy of s (NULL: "") for a terminal or a log line: control
 * characters are escaped (\n, \r, \t, \\, else \xNN; the C1 controls
 * U+0080..U+009F as \uNNNN) and so is every byte that is not part of valid
 * UTF-8, so that a string from the API cannot move the cursor, recolour the
 * terminal or start a line of its own. */
char *str_escape_control(const char *s);

/* Read a whole small file (config files, tokens). Returns -errno. */
int read_full_file(const char *path, char **ret, size_t *ret_size);
/* A file holding one non-negative integer (/proc/sys, sysfs), a trailing
 * newline allowed; -1 if unreadable or anything else. */
int read_int_file(const char *path);

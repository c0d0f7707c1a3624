/* Structured logging: one line per event, logfmt or JSON.
 *
 *   log_info("lease acquired", "service=%s ip=%s", key, ip);
 *   return log_error_errno(r, "cannot attach responder", "device=%s", dev);
 *
 * The first argument is the message; the optional second one is a printf
 * format producing logfmt fields (key=value pairs). Values that may contain
 * blanks or quotes go through log_q(), which quotes and escapes them. In JSON
 * mode the fields are turned into JSON members. */
#pragma once

#include <stdbool.h>

#include "util.h"

enum log_level {
        LOG_LEVEL_DEBUG,
        LOG_LEVEL_INFO,
        LOG_LEVEL_WARN,
        LOG_LEVEL_ERROR,
};

enum log_format {
        LOG_FORMAT_LOGFMT,
        LOG_FORMAT_JSON,
};

void log_setup(const char *component, enum log_format format, enum log_level level);
int log_parse_level(const char *s, enum log_level *ret);
int log_parse_format(const char *s, enum log_format *ret);
bool log_enabled(enum log_level level);

/* Returns -abs(err) when err != 0, so that callers can `return log_..._errno()`. */
int log_emit(enum log_level level, int err, const char *msg, const char *fields, ...)
    _printf_(4, 5);

/* A logfmt-quoted copy of s, valid until a few more log_q() calls have been
 * made (rotating buffers; the daemons are single-threaded). */
const char *log_q(const char *s);

#define log_debug(msg, ...)            log_emit(LOG_LEVEL_DEBUG, 0, msg, "" __VA_ARGS__)
#define log_info(msg, ...)             log_emit(LOG_LEVEL_INFO, 0, msg, "" __VA_ARGS__)
#define log_warn(msg, ...)             log_emit(LOG_LEVEL_WARN, 0, msg, "" __VA_ARGS__)
#define log_error(msg, ...)            log_emit(LOG_LEVEL_ERROR, 0, msg, "" __VA_ARGS__)
#define log_debug_errno(err, msg, ...) log_emit(LOG_LEVEL_DEBUG, err, msg, "" __VA_ARGS__)
#define log_warn_errno(err, msg, ...)  log_emit(LOG_LEVEL_WARN, err, msg, "" __VA_ARGS__)
#define log_error_errno(err, msg, ...) log_emit(LOG_LEVEL_ERROR, err, msg, "" __VA_ARGS__)

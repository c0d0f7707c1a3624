/* Durations in Go's syntax ("3s", "500ms", "1m30s", "1.5h", "0"), as Cilium's
 * configuration uses them. Values are kept in microseconds, the unit of the
 * event loop's timers. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Parse a non-negative Go duration. Returns 0, -EINVAL (syntax, negative) or
 * -ERANGE (overflow). Sub-microsecond remainders are truncated. */
int duration_parse(const char *s, uint64_t *ret_usec);

/* Format like Go's time.Duration.String(): "3s", "500ms", "1m30s", "0s". */
char *duration_format(uint64_t usec, char *buf, size_t len);

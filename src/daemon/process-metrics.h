/* The standard process_* metrics of the Prometheus client libraries on
 * Linux (CPU time, memory, file descriptors, start time), read from /proc at
 * scrape time. The parsers are pure: they take the files' text. */
#pragma once

#include <stdint.h>

#include "metrics.h"

struct process_stat {
        double cpu_seconds;    /* utime + stime */
        double start_seconds;  /* since boot */
        double virtual_bytes;  /* vsize */
        double resident_bytes; /* rss pages × page size */
};

/* /proc/<pid>/stat: fields after the parenthesised command name (which may
 * itself contain blanks and parentheses). -EINVAL when malformed. */
int process_parse_stat(const char *text, long ticks_per_second, long page_size,
                       struct process_stat *ret);
/* The btime line of /proc/stat: seconds since the epoch at boot. */
int process_parse_boot_time(const char *text, double *ret);
/* The soft limit of "Max open files" in /proc/<pid>/limits (+Inf when
 * unlimited). */
int process_parse_max_fds(const char *text, double *ret);

/* Adds the process_* families and a collector that fills them from
 * /proc/self (a series is left out when its file cannot be read). */
void process_metrics_add(struct metrics *m);

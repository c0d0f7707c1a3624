/* Child processes on the event loop: run a helper command (lab/podnet)
 * without blocking, and get its exit status in a callback. */
#pragma once

#include <systemd/sd-event.h>

struct lab_run;

/* status: the exit code (0 = success), 128+N when killed by signal N. */
typedef void (*lab_run_done_t)(int status, void *userdata);

/* Start argv[0] (a path) with argv; stdin is /dev/null, stdout and stderr
 * are inherited. *ret (optional) allows lab_run_cancel() until done runs.
 * SIGCHLD must be blocked (sd-event requirement). */
int lab_run_start(sd_event *e, char *const *argv, lab_run_done_t done, void *userdata,
                  struct lab_run **ret);
/* The callback will not run; the child still runs to completion and is
 * reaped. */
void lab_run_cancel(struct lab_run *r);
/* Run synchronously (start-up clean-up only). Returns the status or -errno. */
int lab_run_wait(char *const *argv);

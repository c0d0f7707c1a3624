/* Async helper commands for the lab node agent: fork, exec, and an sd-event
 * child source that reports the exit status and frees itself. */
#include "lab-run.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

struct lab_run {
        sd_event_source *child;
        lab_run_done_t done;
        void *userdata;
};

static int status_of(const siginfo_t *si)
{
        if (si->si_code == CLD_EXITED)
                return si->si_status;
        return 128 + si->si_status;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        struct lab_run *r = userdata;

        if (r->done)
                r->done(status_of(si), r->userdata);
        (void)sd_event_source_unref(r->child);
        free(r);
        return 0;
}

static pid_t spawn(char *const *argv)
{
        pid_t pid = fork();

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                sigset_t ss;
                int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

                (void)sigemptyset(&ss);
                (void)sigprocmask(SIG_SETMASK, &ss, NULL);
                if (fd >= 0)
                        (void)dup2(fd, STDIN_FILENO);
                execv(argv[0], argv);
                fprintf(stderr, "cannot execute %s: %m\n", argv[0]);
                _exit(127);
        }
        return pid;
}

int lab_run_start(sd_event *e, char *const *argv, lab_run_done_t done, void *userdata,
                  struct lab_run **ret)
{
        struct lab_run *r;
        pid_t pid;
        int k;

        assert(e && argv && argv[0]);
        pid = spawn(argv);
        if (pid < 0)
                return (int)pid;
        r = xnew(struct lab_run, 1);
        r->done = done;
        r->userdata = userdata;
        k = sd_event_add_child(e, &r->child, pid, WEXITED, on_child, r);
        if (k < 0) {
                /* cannot watch it: wait for it here rather than leak a zombie */
                (void)waitpid(pid, NULL, 0);
                free(r);
                return k;
        }
        if (ret)
                *ret = r;
        return 0;
}

void lab_run_cancel(struct lab_run *r)
{
        if (r)
                r->done = NULL;
}

int lab_run_wait(char *const *argv)
{
        pid_t pid = spawn(argv);
        int st;

        if (pid < 0)
                return (int)pid;
        if (waitpid(pid, &st, 0) < 0)
                return -errno;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

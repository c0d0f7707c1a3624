/* l2lb-pause: the lab's pause container (image l2lb.local/pause:1), the
 * process that holds a pod sandbox's namespaces. It does what Kubernetes'
 * own pause does: sleeps, reaps the children that end up with it as PID 1
 * (it is the init of the pod's PID namespace when the pod shares one), and
 * exits 0 on SIGINT or SIGTERM. It links only the C library, statically,
 * so its image holds this one file.
 *
 *   l2lb-pause [-v]     -v prints the version and exits */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "version.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
        if (sig != SIGCHLD)
                stop_signal = sig;
}

int main(int argc, char **argv)
{
        struct sigaction sa = {.sa_handler = on_signal};
        sigset_t block, wait_mask;

        if (argc == 2 && strcmp(argv[1], "-v") == 0) {
                printf("l2lb-pause %s\n", L2LB_VERSION);
                return 0;
        }
        if (argc > 1) {
                fprintf(stderr, "usage: l2lb-pause [-v]\n");
                return 2;
        }
        /* The signals stay blocked except inside sigsuspend(), so none can
         * arrive between the checks below and the sleep (pause() would then
         * sleep through it). */
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &block, &wait_mask) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
            sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGCHLD, &sa, NULL) < 0) {
                perror("l2lb-pause: cannot set up signals");
                return 1;
        }
        sigdelset(&wait_mask, SIGINT);
        sigdelset(&wait_mask, SIGTERM);
        sigdelset(&wait_mask, SIGCHLD);
        for (;;) {
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
                if (stop_signal) {
                        fprintf(stderr, "l2lb-pause: signal %d: exiting\n", (int)stop_signal);
                        return 0;
                }
                sigsuspend(&wait_mask);
        }
}

/* l2lb-mount-bpffs: the agent DaemonSet's init container. Makes sure the
 * host's bpffs is mounted at /sys/fs/bpf (systemd mounts it on most
 * distributions; some leave it to whoever needs it), then creates l2lb's own
 * directory in it, /sys/fs/bpf/l2lb (0700, also if it was there already:
 * a kubelet's hostPath DirectoryOrCreate makes it 0755), the only part of
 * bpffs the agent container mounts. Then it exits.
 *
 * What is at the mount point decides, by the topmost entry for it in
 * /proc/self/mountinfo (later entries are mounted over earlier ones):
 *   bpf     mounted already: nothing to do
 *   sysfs   the kernel's empty /sys/fs/bpf, directly or through the pod's
 *           hostPath bind mount of it: mount bpffs over it
 *   none    a plain directory: mount bpffs on it
 *   other   refused, with a message: mounting over someone's filesystem
 *           would hide it
 * With the hostPath volume's Bidirectional propagation the new mount is the
 * host's. It needs CAP_SYS_ADMIN and nothing else of the image: it links
 * only the C library, so the init container runs no shell.
 *
 *   l2lb-mount-bpffs [--bpffs=/sys/fs/bpf] [--dir=l2lb]
 *
 * Exit status: 0 done (mounted, or found mounted), 1 error, 2 usage. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#define BPF_FS_MAGIC_VALUE 0xcafe4a11 /* linux/magic.h BPF_FS_MAGIC */
#define PROG               "l2lb-mount-bpffs"

/* Undo mountinfo's octal escapes (\040 space, \011 tab, \012 newline, \134
 * backslash), in place. */
static void unescape(char *s)
{
        char *out = s;

        for (char *p = s; *p;) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
                    p[3] >= '0' && p[3] <= '7') {
                        *out++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
                        p += 4;
                } else {
                        *out++ = *p++;
                }
        }
        *out = 0;
}

/* The filesystem type of the topmost mount at path (canonical), copied into
 * fstype; "" if nothing is mounted there. Returns 0 or -errno. */
static int mount_type_at(const char *path, char *fstype, size_t size)
{
        FILE *f;
        char *line = NULL;
        size_t cap = 0;
        int r = 0;

        fstype[0] = 0;
        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -errno;
        for (;;) {
                char *fields[5], *save = NULL, *sep, *type;
                size_t n = 0;

                errno = 0;
                if (getline(&line, &cap, f) < 0) {
                        r = errno ? -errno : 0;
                        break;
                }
                line[strcspn(line, "\n")] = 0;
                /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER" */
                sep = strstr(line, " - ");
                if (!sep) {
                        r = -EBADMSG;
                        break;
                }
                *sep = 0;
                type = strtok_r(sep + 3, " ", &save);
                save = NULL;
                for (char *t = strtok_r(line, " ", &save); t && n < 5;
                     t = strtok_r(NULL, " ", &save))
                        fields[n++] = t;
                if (n < 5 || !type) {
                        r = -EBADMSG;
                        break;
                }
                unescape(fields[4]);
                if (strcmp(fields[4], path) == 0)
                        (void)snprintf(fstype, size, "%s", type); /* a later one is on top */
        }
        free(line);
        (void)fclose(f);
        return r;
}

static int usage(FILE *out, int status)
{
        fprintf(out, "Usage: " PROG " [--bpffs=/sys/fs/bpf] [--dir=l2lb]\n"
                     "Mount bpffs at the --bpffs path unless it is there, create the directory\n"
                     "--dir in it (mode 0700), exit.\n");
        return status;
}

int main(int argc, char **argv)
{
        const char *bpffs = "/sys/fs/bpf", *dir = "l2lb";
        char path[PATH_MAX], sub[PATH_MAX + NAME_MAX + 2], fstype[64];
        struct statfs sfs;
        struct stat st;
        int r;

        for (int i = 1; i < argc; i++) {
                if (strncmp(argv[i], "--bpffs=", 8) == 0 && argv[i][8])
                        bpffs = argv[i] + 8;
                else if (strncmp(argv[i], "--dir=", 6) == 0 && argv[i][6] &&
                         !strchr(argv[i] + 6, '/') && strcmp(argv[i] + 6, "..") != 0 &&
                         strcmp(argv[i] + 6, ".") != 0)
                        dir = argv[i] + 6;
                else if (strcmp(argv[i], "--help") == 0)
                        return usage(stdout, 0);
                else {
                        fprintf(stderr, PROG ": bad argument \"%s\"\n", argv[i]);
                        return usage(stderr, 2);
                }
        }
        if (!realpath(bpffs, path)) {
                fprintf(stderr, PROG ": %s: %s (the bpffs mount point must exist)\n", bpffs,
                        strerror(errno));
                return 1;
        }
        r = mount_type_at(path, fstype, sizeof(fstype));
        if (r < 0) {
                fprintf(stderr, PROG ": cannot read /proc/self/mountinfo: %s\n", strerror(-r));
                return 1;
        }
        if (strcmp(fstype, "bpf") == 0) {
                printf(PROG ": bpffs already mounted at %s\n", path);
        } else if (fstype[0] == 0 || strcmp(fstype, "sysfs") == 0) {
                if (mount("bpf", path, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME,
                          "mode=0700") < 0) {
                        fprintf(stderr, PROG ": cannot mount bpffs at %s: %s%s\n", path,
                                strerror(errno),
                                errno == EPERM ? " (needs CAP_SYS_ADMIN: a privileged container)"
                                               : "");
                        return 1;
                }
                printf(PROG ": mounted bpffs at %s\n", path);
        } else {
                fprintf(stderr,
                        PROG ": %s is a %s mount, not bpffs: not mounting bpffs over it (it would "
                             "hide it); unmount it or mount bpffs there\n",
                        path, fstype);
                return 1;
        }
        /* whatever mountinfo says, the pins go to bpffs or nowhere */
        if (statfs(path, &sfs) < 0) {
                fprintf(stderr, PROG ": statfs %s: %s\n", path, strerror(errno));
                return 1;
        }
        if ((unsigned long)sfs.f_type != BPF_FS_MAGIC_VALUE) {
                fprintf(stderr, PROG ": %s is not bpffs after all (filesystem magic %#lx)\n", path,
                        (unsigned long)sfs.f_type);
                return 1;
        }
        (void)snprintf(sub, sizeof(sub), "%s/%s", path, dir);
        if (mkdir(sub, 0700) < 0 && errno != EEXIST) {
                fprintf(stderr, PROG ": cannot create %s: %s\n", sub, strerror(errno));
                return 1;
        }
        if (lstat(sub, &st) < 0 || !S_ISDIR(st.st_mode)) {
                fprintf(stderr, PROG ": %s exists and is not a directory\n", sub);
                return 1;
        }
        if ((st.st_mode & 07777) != 0700 && chmod(sub, 0700) < 0) {
                fprintf(stderr, PROG ": cannot make %s mode 0700: %s\n", sub, strerror(errno));
                return 1;
        }
        printf(PROG ": %s ready\n", sub);
        return 0;
}

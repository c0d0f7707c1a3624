/* libFuzzer target: the configuration's flag values and names (the same
 * value parsers read the files of --config-dir) for each program, and the
 * listen addresses of prometheus-serve-addr. The input is split at newlines
 * into arguments; --config-dir is left out (it would read the file system). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "daemon/httpd.h"
#include "lib/util.h"

enum { MAX_ARGS = 16 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const unsigned programs[] = {CONFIG_OPERATOR, CONFIG_AGENT, CONFIG_CLI};
        char *argv[MAX_ARGS + 2] = {"l2lb"};
        char *copy = strndup((const char *)data, size), *save = NULL;
        int argc = 1;

        if (!copy)
                return 0;
        for (char *a = strtok_r(copy, "\n", &save); a && argc <= MAX_ARGS;
             a = strtok_r(NULL, "\n", &save))
                if (strncmp(a, "--config-dir", strlen("--config-dir")) != 0)
                        argv[argc++] = a;
        for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
                struct l2lb_config c;
                char **args = NULL, *err = NULL;

                if (config_load(&c, programs[i], argc, argv, &args, &err) == CONFIG_LOADED) {
                        struct sockaddr_storage ss;
                        socklen_t len;

                        if (c.prometheus_serve_addr && *c.prometheus_serve_addr)
                                (void)httpd_parse_listen_addr(c.prometheus_serve_addr, &ss, &len);
                        config_done(&c);
                }
                strv_free(args);
                free(err);
        }
        /* every argument as a listen address too */
        for (int i = 1; i < argc; i++) {
                struct sockaddr_storage ss;
                socklen_t len;

                (void)httpd_parse_listen_addr(argv[i], &ss, &len);
        }
        free(copy);
        return 0;
}

/* Files for unit tests that read configuration from disk (see tfile.h). */
#include "tfile.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

void twrite_file(const char *dir, const char *name, const char *content)
{
        char path[512];
        FILE *f;

        assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path));
        f = fopen(path, "we");
        assert_non_null(f);
        assert_true(fputs(content, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

/* Files for unit tests that read configuration from disk. */
#pragma once

/* Write content to dir/name; fails the test (cmocka) if it cannot. */
void twrite_file(const char *dir, const char *name, const char *content);

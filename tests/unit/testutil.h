/* SPDX-License-Identifier: Apache-2.0 */
/* Shared scaffolding for the Check unit tests: one suite per module, one main per test binary. */
#pragma once

#include <check.h>
#include <stdlib.h>

/* Defines main() that runs the suite built by fn and exits non-zero when any test failed. */
#define MBOX_TEST_MAIN(fn)                                         \
        int main(void) {                                           \
                SRunner *sr = srunner_create(fn());                \
                int failed;                                        \
                srunner_run_all(sr, CK_NORMAL);                    \
                failed = srunner_ntests_failed(sr);                \
                srunner_free(sr);                                  \
                return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;  \
        }

/* SPDX-License-Identifier: Apache-2.0 */
/* The controllers mbox-operator runs; a new one is one more line here and an enum op_ctl value. */
#include "operator/controller.h"

const struct op_controller *const op_controllers[CTL__MAX] = {
        [CTL_PROJECT] = &op_project_controller,
        [CTL_TEMPLATE] = &op_template_controller,
        [CTL_SANDBOX] = &op_sandbox_controller,
        [CTL_TASK] = &op_task_controller,
};

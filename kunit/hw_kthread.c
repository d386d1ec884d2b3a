// SPDX-License-Identifier: GPL-2.0
/* lbrctx_hwtest's copy of the test modules' kernel helpers. */
#include "kthread.c"

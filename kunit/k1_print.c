// SPDX-License-Identifier: GPL-2.0
/* lbrctx_k1's copy of the printk wrappers. */
#include "../module/shim/print.c"

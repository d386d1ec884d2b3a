// SPDX-License-Identifier: GPL-2.0
/* lbrctx_k1's copy of K1's floor probe. */
#include "bench_probe.c"

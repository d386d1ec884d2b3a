// SPDX-License-Identifier: GPL-2.0
/* The store's class, compiled into lbrctx_bench.ko for a Store of its own. */
#include "../module/store.cpp"
#include "../module/store_global.cpp"

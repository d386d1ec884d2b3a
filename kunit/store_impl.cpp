// SPDX-License-Identifier: GPL-2.0
/*
 * The store's class, compiled into lbrctx_kunit.ko: the lbrctx_store suite
 * tests Store instances of its own, with the lbrctx.ko shim underneath.
 */
#include "../module/store.cpp"
#include "../module/store_global.cpp"

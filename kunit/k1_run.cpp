// SPDX-License-Identifier: GPL-2.0
/* lbrctx_k1's copy of K1 (kunit/k1.cpp). */
#include "k1.cpp"

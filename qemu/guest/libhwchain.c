// SPDX-License-Identifier: GPL-2.0
/*
 * libhwchain.so: the shared library of qemu/guest/hwchain.c. lib_chain
 * calls lib_mid (static: a direct call), which calls lib_deep (exported:
 * through the PLT), which calls the program back through the pointer it
 * was given; lib_leaf is the leaf the program's callback calls last. Built
 * as hwchain is (frame pointers, no inlining, no tail calls), with -fPIC
 * -shared (scripts/lib.sh build_hwchain).
 */
#define NOINLINE __attribute__((noinline, noclone))

typedef unsigned long (*hw_cb)(int n, unsigned long k);

static volatile unsigned long lib_sink = 0x9e3779b97f4a7c15UL;

#define SPIN(k)                                                                      \
	do {                                                                         \
		for (unsigned long i_ = (k); i_; i_--)                               \
			lib_sink = lib_sink * 2862933555777941757UL + 3037000493UL;  \
	} while (0)

/* The leaf's frame (see LEAF_FRAME in hwchain.c). */
#define LEAF_FRAME()                                        \
	do {                                                \
		unsigned long frame_[1];                    \
		__asm__ volatile("" : : "r"(frame_) : "memory"); \
	} while (0)

NOINLINE unsigned long lib_leaf(unsigned long k)
{
	LEAF_FRAME();
	SPIN(k);
	return lib_sink;
}

NOINLINE unsigned long lib_deep(int n, unsigned long k, hw_cb cb)
{
	unsigned long v;

	SPIN(k / 8);
	v = cb(n, k);
	SPIN(k / 16);
	return v + 3;
}

static NOINLINE unsigned long lib_mid(int n, unsigned long k, hw_cb cb)
{
	unsigned long v;

	SPIN(k / 8);
	v = lib_deep(n, k, cb);
	SPIN(k / 16);
	return v + 2;
}

NOINLINE unsigned long lib_chain(int n, unsigned long k, hw_cb cb)
{
	unsigned long v;

	SPIN(k / 8);
	v = lib_mid(n, k, cb);
	SPIN(k / 16);
	return v + 1;
}

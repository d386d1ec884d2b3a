// SPDX-License-Identifier: GPL-2.0
/*
 * hwchain: the program of qemu/guest/hwchain.sh, whose LBR call stacks
 * (perf record -e lbrctx/callstack/ --call-graph lbr) are compared sample
 * by sample with its frame-pointer chains. Its call chains, every level
 * spinning a little before and after its call and the leaves longer:
 *
 *   deep:      round_all -> run_deep -> d01 -> d02 -> ... -> d20 (direct)
 *   recursion: round_all -> run_rec -> rec(10) -> rec(9) -> ... -> rec(0)
 *   pointers:  round_all -> run_ptr -> p_a(8) -> ptab[..](7) -> ... ->
 *              p_?(0), every call through the table ptab
 *   library:   round_all -> run_lib -> lib_chain -> lib_mid -> lib_deep
 *              (libhwchain.so) -> cb, through a pointer, back in the
 *              program -> lib_chain again, twice, then the callback's call
 *              of lib_leaf: the chain crosses between the objects 7 times
 *
 * main calls round_all. The deep chain is 23 frames with main; with the
 * three calls of the C library's start under main (_start ->
 * __libc_start_main -> __libc_start_call_main -> main), its stack holds
 * 25 calls: below the LBR's 32. Built with frame pointers everywhere and neither inlining nor
 * tail calls (scripts/lib.sh build_hwchain):
 *   gcc -O1 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-inline
 *       -fno-optimize-sibling-calls -o hwchain hwchain.c -L. -lhwchain
 *       -Wl,-rpath,'$ORIGIN'
 *
 *   hwchain [SECONDS [SPIN_US]]   default 3 s of rounds, leaves of 300 us
 *
 * The spin is calibrated at the start (a loop of multiplications, no call),
 * so that nothing but the program's and the library's own code runs during
 * the rounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOINLINE __attribute__((noinline, noclone))

/* libhwchain.so */
typedef unsigned long (*hw_cb)(int n, unsigned long k);
unsigned long lib_chain(int n, unsigned long k, hw_cb cb);
unsigned long lib_leaf(unsigned long k);

volatile unsigned long hw_sink = 88172645463325252UL;

/* Spin K iterations, in the body of the function that uses it. */
#define SPIN(k)                                                                    \
	do {                                                                       \
		for (unsigned long i_ = (k); i_; i_--)                             \
			hw_sink = hw_sink * 6364136223846793005UL + 1442695040888963407UL; \
	} while (0)

/*
 * A leaf's frame. GCC drops the frame pointer of a leaf function that uses
 * no stack, -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer or not
 * (ix86_finalize_stack_frame_flags, GCC 12): a stack slot whose address
 * escapes keeps push %rbp; mov %rsp,%rbp.
 */
#define LEAF_FRAME()                                        \
	do {                                                \
		unsigned long frame_[1];                    \
		__asm__ volatile("" : : "r"(frame_) : "memory"); \
	} while (0)

/* Deep: d20 is the leaf; d01 .. d19 each call the next one directly. */
NOINLINE unsigned long d20(unsigned long k)
{
	LEAF_FRAME();
	SPIN(k);
	return hw_sink;
}

#define DEEP(n, next)                                    \
	NOINLINE unsigned long d##n(unsigned long k)     \
	{                                                \
		unsigned long v;                         \
		SPIN(k / 8);                             \
		v = next(k);                             \
		SPIN(k / 16);                            \
		return v + 1##n - 100;                   \
	}
DEEP(19, d20)
DEEP(18, d19)
DEEP(17, d18)
DEEP(16, d17)
DEEP(15, d16)
DEEP(14, d15)
DEEP(13, d14)
DEEP(12, d13)
DEEP(11, d12)
DEEP(10, d11)
DEEP(09, d10)
DEEP(08, d09)
DEEP(07, d08)
DEEP(06, d07)
DEEP(05, d06)
DEEP(04, d05)
DEEP(03, d04)
DEEP(02, d03)
DEEP(01, d02)

NOINLINE unsigned long run_deep(unsigned long k)
{
	return d01(k) + 1;
}

/* Recursion: rec(10) .. rec(0), the leaf at 0. */
NOINLINE unsigned long rec(int n, unsigned long k)
{
	unsigned long v;

	if (n == 0) {
		SPIN(k);
		return hw_sink;
	}
	SPIN(k / 8);
	v = rec(n - 1, k);
	SPIN(k / 16);
	return v + n;
}

NOINLINE unsigned long run_rec(unsigned long k)
{
	return rec(10, k) + 1;
}

/*
 * Pointers: p_a, p_b and p_c call each other through ptab (volatile: the
 * compiler cannot know the targets), the leaf at 0.
 */
typedef unsigned long (*step_fn)(int n, unsigned long k);
static unsigned long p_a(int n, unsigned long k);
static unsigned long p_b(int n, unsigned long k);
static unsigned long p_c(int n, unsigned long k);
static step_fn volatile ptab[3] = { p_a, p_b, p_c };

#define STEP(name, add)                                          \
	static NOINLINE unsigned long name(int n, unsigned long k)  \
	{                                                        \
		unsigned long v;                                 \
		if (n == 0) {                                    \
			SPIN(k);                                 \
			return hw_sink;                          \
		}                                                \
		SPIN(k / 8);                                     \
		v = ptab[(n + add) % 3](n - 1, k);               \
		SPIN(k / 16);                                    \
		return v + add;                                  \
	}
STEP(p_a, 1)
STEP(p_b, 2)
STEP(p_c, 3)

NOINLINE unsigned long run_ptr(unsigned long k)
{
	return ptab[0](8, k) + 1;
}

/*
 * The library: lib_chain(n) calls back here through the pointer; the
 * callback enters the library again (lib_chain(n - 1)), and at 0 calls its
 * leaf lib_leaf.
 */
NOINLINE unsigned long cb(int n, unsigned long k)
{
	unsigned long v;

	SPIN(k / 8);
	if (n == 0)
		v = lib_leaf(k);
	else
		v = lib_chain(n - 1, k, cb);
	SPIN(k / 16);
	return v + 5;
}

NOINLINE unsigned long run_lib(unsigned long k)
{
	return lib_chain(2, k, cb) + 1;
}

NOINLINE unsigned long round_all(unsigned long k)
{
	unsigned long v = run_deep(k);

	v += run_rec(k);
	v += run_ptr(k);
	v += run_lib(k);
	return v;
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	double spin_us = argc > 2 ? atof(argv[2]) : 300;
	unsigned long n = 1UL << 12, k, v = 0;
	double t0, t = 0, per_round;
	long rounds;

	/* Iterations of SPIN per microsecond: at least 20 ms of spin measured. */
	for (;;) {
		t0 = now_us();
		SPIN(n);
		t = now_us() - t0;
		if (t >= 20000 || n >= 1UL << 36)
			break;
		n *= 2;
	}
	k = (unsigned long)(spin_us * n / (t > 0 ? t : 1));
	if (k < 16)
		k = 16;
	t0 = now_us();
	v += round_all(k);
	per_round = now_us() - t0;
	rounds = (long)(seconds * 1e6 / (per_round > 1 ? per_round : 1));
	/* The rounds: no call but the program's and the library's own. */
	for (long r = 0; r < rounds; r++)
		v += round_all(k);
	printf("hwchain: %lu iterations for %.0f us, %ld rounds of %.0f us, %lu\n",
	       k, spin_us, rounds + 1, per_round, v & 1);
	return 0;
}

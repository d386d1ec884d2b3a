// SPDX-License-Identifier: GPL-2.0
/*
 * tchain: seed 003's user-space program, main -> f1 -> f2 -> f3. f3
 * alternates between spinning (where samples land, with the whole chain
 * on the call stack) and blocking for a millisecond, so that other tasks
 * run on the CPU in between and the LBR state has to survive context
 * switches. Run several under `taskset -c 0` and record them with
 * `perf record -e lbrctx/callstack/ --call-graph lbr`.
 *
 *   tchain [ROUNDS [SPIN_US [a|b|- [REPEAT [STOPFILE]]]]]   default 40 rounds of 300 us, once
 *
 * With "a" or "b", main calls the chain through mark_a() or mark_b(): the
 * isolation test's markers, which tell two instances' records apart.
 *
 * Built with frame pointers and without inlining, so that the functions
 * exist as symbols and the frame-pointer chain agrees with the LBR one:
 *   gcc -O1 -g -fno-omit-frame-pointer -fno-inline -o tchain tchain.c
 */
#include <stdlib.h>
#include <unistd.h>
#include <time.h>

static unsigned long long seed = 88172645463325252ULL;

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

__attribute__((noinline)) unsigned long long f3(int rounds, int spin_us)
{
	struct timespec block = { 0, 1000000 };

	for (int r = 0; r < rounds; r++) {
		double end = now_us() + spin_us;

		while (now_us() < end)
			for (int i = 0; i < 2000; i++)
				seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		/* Block: the other instances run now. */
		nanosleep(&block, NULL);
	}
	return seed;
}

__attribute__((noinline)) unsigned long long f2(int rounds, int spin_us)
{
	unsigned long long v = f3(rounds, spin_us);

	__asm__ volatile("" : : : "memory");
	return v + 2;
}

__attribute__((noinline)) unsigned long long f1(int rounds, int spin_us)
{
	unsigned long long v = f2(rounds, spin_us);

	__asm__ volatile("" : : : "memory");
	return v + 1;
}

__attribute__((noinline)) unsigned long long mark_a(int rounds, int spin_us)
{
	unsigned long long v = f1(rounds, spin_us);

	__asm__ volatile("" : : : "memory");
	return v + 3;
}

__attribute__((noinline)) unsigned long long mark_b(int rounds, int spin_us)
{
	unsigned long long v = f1(rounds, spin_us);

	__asm__ volatile("" : : : "memory");
	return v + 4;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 40;
	int spin_us = argc > 2 ? atoi(argv[2]) : 300;
	char mark = argc > 3 ? argv[3][0] : 0;
	int repeat = argc > 4 ? atoi(argv[4]) : 1;
	/* STOPFILE: after the REPEAT runs, go on until that file exists. */
	const char *stop = argc > 5 ? argv[5] : 0;
	unsigned long long v = 0;

	for (int i = 0; i < repeat || (stop && access(stop, F_OK) != 0); i++) {
		if (mark == 'a')
			v += mark_a(rounds, spin_us);
		else if (mark == 'b')
			v += mark_b(rounds, spin_us);
		else
			v += f1(rounds, spin_us);
	}
	return (int)(v & 1) * 0;
}

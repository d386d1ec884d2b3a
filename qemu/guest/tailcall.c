// SPDX-License-Identifier: GPL-2.0
/*
 * tailcall: probed functions entered by a tail call (jmp) from another
 * probed function, the case where a uprobe finds the uretprobe trampoline
 * as its return address (qemu/guest/tailcall.sh, docs/PMU.md).
 *
 *   main -> work -> outer --jmp--> inner               (in the program)
 *   main -> work -> twice --jmp--> outer --jmp--> inner (two in a row)
 *   main -> work -> lz_crc32 --jmp--> lz_crc32_z        (liblz.so, via the PLT)
 *
 *   tailcall [ROUNDS [MAPS]]    ROUNDS of each (default 200); then
 *                               /proc/self/maps is copied to MAPS
 *   tailcall sleep SECONDS      map the program and wait
 *
 * refused is a function uprobes refuse to probe (its first instruction is
 * hlt, which they cannot single-step), never called: the uprobe-set test
 * (qemu/guest/uprobes-size.sh) names it beside others.
 *
 * Built with -O2 (sibling calls on) and frame pointers; noipa keeps the
 * functions whole and unspecialized (scripts/lib.sh build_tailcall, which
 * checks each tail call is a jmp).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))

unsigned long lz_crc32(unsigned long crc, const unsigned char *buf, unsigned int len);

__asm__(".text\n"
	".globl refused\n"
	".type refused, @function\n"
	"refused:\n"
	"\thlt\n"
	"\tret\n"
	".size refused, . - refused\n");

static unsigned char buf[4096];
static volatile unsigned long sink;

/* The work: a spin where the samples land. */
NOIPA unsigned long inner(unsigned long n)
{
	unsigned long x = n;

	for (unsigned long i = 0; i < 20000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}

NOIPA unsigned long outer(unsigned long n)
{
	return inner(n + 1);
}

NOIPA unsigned long twice(unsigned long n)
{
	return outer(n * 3);
}

NOIPA unsigned long work(unsigned long r)
{
	unsigned long v = outer(r);

	v ^= twice(v);
	v ^= lz_crc32(v, buf, sizeof(buf));
	return v;
}

static void copy_maps(const char *to)
{
	FILE *in = fopen("/proc/self/maps", "r"), *out = fopen(to, "w");
	char line[512];

	while (in && out && fgets(line, sizeof(line), in))
		fputs(line, out);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 200;

	if (argc > 2 && !strcmp(argv[1], "sleep")) {
		sleep(atoi(argv[2]));
		return 0;
	}

	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	for (long r = 0; r < rounds; r++)
		sink ^= work((unsigned long)r);
	if (argc > 2)
		copy_maps(argv[2]);
	return 0;
}

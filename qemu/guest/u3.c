// SPDX-License-Identifier: GPL-2.0
/*
 * u3 N [direct]: make bench's U3 workload (qemu/guest/bench.sh). N rounds
 * of two calls into Debian's libz through its exports: crc32() and
 * adler32() of a 64-byte buffer (in Debian's libz each is a tail call, a
 * jmp, to crc32_z() and adler32_z()), or with "direct" crc32_z() and
 * adler32_z() themselves (no tail call). Prints
 *   u3 calls=<2N> ns_per_call=<ns> lib=<the libz file mapped> sum=<hex>
 * timed with CLOCK_MONOTONIC around the loop alone. libz's prototypes are
 * written here (zlib.h is in zlib1g-dev, which the machine need not have);
 * built for the host by scripts/bench.sh against libz.so.1 itself (the
 * guests share the host's root).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned int len);
unsigned long adler32(unsigned long adler, const unsigned char *buf, unsigned int len);
unsigned long crc32_z(unsigned long crc, const unsigned char *buf, size_t len);
unsigned long adler32_z(unsigned long adler, const unsigned char *buf, size_t len);

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned char buf[64];
	unsigned long c = 0, a = 1;
	Dl_info info = { 0 };
	double t0, t1;
	int direct;
	long n;

	if (argc < 2 || argc > 3 || (n = strtol(argv[1], NULL, 0)) <= 0 ||
	    (argc == 3 && strcmp(argv[2], "direct"))) {
		fprintf(stderr, "usage: u3 N [direct]\n");
		return 2;
	}
	direct = argc == 3;
	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 1);
	t0 = now_ns();
	if (direct) {
		for (long i = 0; i < n; i++) {
			c = crc32_z(c, buf, sizeof(buf));
			a = adler32_z(a, buf, sizeof(buf));
		}
	} else {
		for (long i = 0; i < n; i++) {
			c = crc32(c, buf, sizeof(buf));
			a = adler32(a, buf, sizeof(buf));
		}
	}
	t1 = now_ns();
	if (!dladdr((void *)crc32, &info) || !info.dli_fname) {
		fprintf(stderr, "u3: dladdr(crc32) found no library\n");
		return 1;
	}
	printf("u3 calls=%ld ns_per_call=%.1f lib=%s sum=%lx\n", 2 * n, (t1 - t0) / (2 * n),
	       info.dli_fname, c ^ a);
	return 0;
}

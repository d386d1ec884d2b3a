// SPDX-License-Identifier: GPL-2.0
/*
 * liblz.so: a libz-style pair for qemu/guest/tailcall.c. lz_crc32() is
 * libz's crc32(): an exported function whose body is a tail call of the
 * exported lz_crc32_z(), which -O2 -fPIC builds as Debian's libz has it,
 * "mov %edx,%edx; jmp lz_crc32_z@plt" (scripts/lib.sh build_tailcall
 * checks the jmp is there).
 */
#include <stddef.h>

unsigned long lz_crc32_z(unsigned long crc, const unsigned char *buf, size_t len)
{
	crc = ~crc & 0xffffffffUL;
	while (len--) {
		crc ^= *buf++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320UL : crc >> 1;
	}
	return ~crc & 0xffffffffUL;
}

unsigned long lz_crc32(unsigned long crc, const unsigned char *buf, unsigned int len)
{
	return lz_crc32_z(crc, buf, len);
}

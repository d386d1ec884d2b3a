/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the user branch source checks of a probed file: an x86-64 ELF file
 * (System V gABI, "ELF Header") whose offset lies in an executable PT_LOAD
 * segment ("Program Header"). Symbols are resolved in user space
 * (scripts/lbrctx-uprobes); the kernel reads only the file's headers. Pure
 * logic over the bytes the caller read from the start of the file.
 */
#pragma once

#include <lbrctx/result.h>

namespace lbrctx::elf {

inline constexpr u32 kEhdrSize = 64;
inline constexpr u32 kPhdrSize = 56;
inline constexpr u16 kMachineX86_64 = 62;
inline constexpr u32 kPtLoad = 1;
inline constexpr u32 kPfX = 1;

template <class T> T load(const u8 *p)
{
	T v;
	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * -ENOEXEC when @hdr (the first @n bytes of the file) is not a 64-bit
 * little-endian x86-64 ELF file whose program headers lie in @hdr;
 * -EINVAL when @offset is in no executable PT_LOAD segment.
 */
inline Result<void> check_executable_offset(const u8 *hdr, size_t n, u64 offset)
{
	if (n < kEhdrSize || hdr[0] != 0x7f || hdr[1] != 'E' || hdr[2] != 'L' || hdr[3] != 'F' ||
	    hdr[4] != 2 /* ELFCLASS64 */ || hdr[5] != 1 /* ELFDATA2LSB */ ||
	    load<u16>(hdr + 18) != kMachineX86_64)
		return Error{-LBRCTX_K_ENOEXEC};
	u64 phoff = load<u64>(hdr + 32);
	u16 phentsize = load<u16>(hdr + 54), phnum = load<u16>(hdr + 56);
	if (phentsize < kPhdrSize || phoff > n || phnum > (n - phoff) / phentsize)
		return Error{-LBRCTX_K_ENOEXEC};
	for (u16 i = 0; i < phnum; i++) {
		const u8 *ph = hdr + phoff + static_cast<size_t>(i) * phentsize;
		u32 type = load<u32>(ph), flags = load<u32>(ph + 4);
		u64 off = load<u64>(ph + 8), filesz = load<u64>(ph + 32);
		if (type == kPtLoad && (flags & kPfX) && offset >= off && offset - off < filesz)
			return {};
	}
	return err::inval();
}

} // namespace lbrctx::elf

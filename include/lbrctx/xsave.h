/* SPDX-License-Identifier: GPL-2.0 */
/*
 * XSAVE area layout and instructions.
 *
 * Intel SDM Vol. 1, 13.4: the XSAVE area starts with the 512-byte legacy
 * region (x87 and SSE state, FXSAVE layout), followed by the 64-byte XSAVE
 * header; extended components follow at offset 576 in the standard format.
 * 13.7: XSAVE and XRSTOR require the area to be 64-byte aligned and raise
 * #GP otherwise.
 *
 * Intel SDM Vol. 3B, 18.1.3 (Architectural LBRs) and Vol. 1, 13.5.14: the
 * Arch LBR state component (XSAVE component 15) holds LBR_CTL, LBR_DEPTH,
 * LER_FROM, LER_TO, LER_INFO and then LBR_DEPTH entries of FROM, TO, INFO.
 * The kernel mirrors it as struct arch_lbr_state; the static_asserts below
 * hold our copy to the kernel's generated offsets.
 */
#pragma once

#include <lbrctx/types.h>
#ifndef LBRCTX_HOST
#include <lbrctx/layout.h>
#endif

namespace lbrctx::xsave {

inline constexpr size_t kAlign = 64;
inline constexpr size_t kLegacySize = 512;
inline constexpr size_t kHeaderSize = 64;
inline constexpr u32 kLbrMaxDepth = 32;
/* Legacy-region offsets (FXSAVE layout, SDM Vol. 1, Table 10-2). */
inline constexpr size_t kMxcsrOffset = 24;
inline constexpr size_t kMxcsrMaskOffset = 28;
inline constexpr u64 kMaskFpSse = 0x3;

struct Header {
	u64 xstate_bv;
	u64 xcomp_bv;
	u64 reserved[6];
};

struct LbrEntry {
	u64 from;
	u64 to;
	u64 info;
};

struct ArchLbrState {
	u64 lbr_ctl;
	u64 lbr_depth;
	u64 ler_from;
	u64 ler_to;
	u64 ler_info;
	LbrEntry entries[kLbrMaxDepth];
};

/*
 * The legacy region's XMM0-XMM15 bytes (SDM Vol. 1, Table 10-2: bytes 160
 * to 415). lbrctx's areas set only the Arch LBR bit of XSTATE_BV, and
 * XRSTOR initializes a component whose XSTATE_BV bit is clear without
 * reading its part of the area (SDM Vol. 1, 13.8.1), so these bytes are
 * free: the store keeps the records' user frame slots there (lbr.h).
 */
inline constexpr size_t kXmmOffset = 160;
inline constexpr size_t kXmmSize = 256;
static_assert(kXmmSize == kLbrMaxDepth * sizeof(u64), "one frame slot per record");

/* A standard-format XSAVE area holding the legacy region and Arch LBR state. */
struct alignas(kAlign) LbrArea {
	u8 legacy[kLegacySize];
	Header header;
	ArchLbrState lbr;

	/* The records' frame slots, in the XMM bytes (see kXmmOffset). */
	u64 *slots() { return reinterpret_cast<u64 *>(legacy + kXmmOffset); }
};

#ifndef LBRCTX_HOST
/* Our layout must be the kernel's (generated from asm/fpu/types.h). */
static_assert(kLegacySize == LBRCTX_K_SIZEOF_FXREGS, "legacy region is FXSAVE's 512 bytes");
static_assert(sizeof(Header) == LBRCTX_K_SIZEOF_XSTATE_HEADER, "XSAVE header is 64 bytes");
static_assert(LBRCTX_K_XFEATURE_MASK_FPSSE == kMaskFpSse, "x87 and SSE are components 0 and 1");
static_assert(__builtin_offsetof(ArchLbrState, lbr_ctl) == LBRCTX_K_ARCH_LBR_LBR_CTL, "");
static_assert(__builtin_offsetof(ArchLbrState, lbr_depth) == LBRCTX_K_ARCH_LBR_LBR_DEPTH, "");
static_assert(__builtin_offsetof(ArchLbrState, ler_from) == LBRCTX_K_ARCH_LBR_LER_FROM, "");
static_assert(__builtin_offsetof(ArchLbrState, ler_to) == LBRCTX_K_ARCH_LBR_LER_TO, "");
static_assert(__builtin_offsetof(ArchLbrState, ler_info) == LBRCTX_K_ARCH_LBR_LER_INFO, "");
static_assert(__builtin_offsetof(ArchLbrState, entries) == LBRCTX_K_ARCH_LBR_ENTRIES, "");
static_assert(sizeof(LbrEntry) == LBRCTX_K_SIZEOF_LBR_ENTRY, "FROM, TO, INFO: 3 x 8 bytes");
static_assert(sizeof(ArchLbrState) ==
		      LBRCTX_K_SIZEOF_ARCH_LBR_STATE + kLbrMaxDepth * LBRCTX_K_SIZEOF_LBR_ENTRY,
	      "the kernel's flexible entries[] holds up to 32 entries");
/* Extended components start right after the header in the standard format. */
static_assert(__builtin_offsetof(LbrArea, header) == kLegacySize, "");
static_assert(__builtin_offsetof(LbrArea, lbr) == kLegacySize + kHeaderSize, "");
#endif
static_assert(alignof(LbrArea) == kAlign && sizeof(LbrArea) % kAlign == 0, "");
static_assert(sizeof(LbrEntry) == 24 && sizeof(ArchLbrState) == 40 + 32 * 24,
	      "SDM Vol. 1, 13.5.14: five 8-byte MSRs, then FROM/TO/INFO per record");

/*
 * XSAVE64/XRSTOR64 of the components in @mask. Must run inside an
 * kernel FPU section (kunit/ktest.h has one); @area must be 64-byte aligned or the CPU raises #GP.
 */
inline void save(void *area, u64 mask)
{
	asm volatile("xsave64 (%[area])"
		     :
		     : [area] "r"(area), "a"(static_cast<u32>(mask)),
		       "d"(static_cast<u32>(mask >> 32))
		     : "memory");
}

inline void restore(const void *area, u64 mask)
{
	asm volatile("xrstor64 (%[area])"
		     :
		     : [area] "r"(area), "a"(static_cast<u32>(mask)),
		       "d"(static_cast<u32>(mask >> 32))
		     : "memory");
}

inline u32 read_mxcsr()
{
	u32 v;
	asm volatile("stmxcsr %0" : "=m"(v));
	return v;
}

inline void write_mxcsr(u32 v)
{
	asm volatile("ldmxcsr %0" : : "m"(v));
}

} // namespace lbrctx::xsave

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The LBR hardware of a QEMU TCG guest: the contract between the plugin
 * that models it (qemu/plugin, host C++ loaded by QEMU with -plugin) and
 * lbrctx, its driver in the guest (module/hw.cpp).
 *
 * The plugin sees every translated block and every block's execution, so
 * it sees every taken branch of every program. Per vCPU it models Arch
 * LBR units (Intel SDM Vol. 3B, 18.1.3) with the same implementation the
 * probe sources use (include/lbrctx/lbr.h, units.h), and decodes each
 * block's last instruction with include/lbrctx/x86.h.
 *
 * The channel is QEMU's ivshmem-plain PCI device (hw/misc/ivshmem.c),
 * whose BAR 2 is a memory-backend-file with share=on that the plugin maps
 * too. Its first page is global; page 1 + i belongs to vCPU i. A vCPU's
 * page holds one Arch LBR XSAVE state component per unit (LBR_CTL,
 * LBR_DEPTH, LER, the records youngest first) and a control block.
 *
 * The guest cannot interrupt the plugin and plugin API 1 cannot read
 * guest registers or write guest memory, so the driver rings a doorbell:
 * a NOP encoding nothing else uses, nopl kDoorbell+command(%rax). The
 * plugin picks such instructions out at translation time and runs the
 * command when one executes, on that vCPU, before the next instruction:
 * as WRMSR, XSAVES and XRSTORS would. Its operands are in the vCPU's page.
 *
 * Memory order: with single-threaded TCG (how lbrctx runs QEMU) every
 * vCPU runs on one host thread, and the plugin runs on it too, so each
 * side sees the other's stores at once. Under multi-threaded TCG a vCPU's
 * commands still run on that vCPU's own thread, which wrote the operands;
 * what would be missing is a fence between a driver that reads another
 * CPU's page and that CPU's plugin thread, and lbrctx never does that
 * (every command and read is on the CPU's own page with preemption off).
 *
 * The guest can write anything into its pages. The plugin validates every
 * field it reads, refuses what WRMSR or XRSTORS would #GP on, and counts
 * it; the driver validates what the plugin wrote (the magic, the version,
 * the vCPU index, a record index, a depth) before it uses it.
 */
#pragma once

#include <lbrctx/xsave.h>

namespace lbrctx::hw {

/* QEMU's ivshmem-plain (hw/misc/ivshmem.c): Red Hat's vendor id; BAR 2 is the memory. */
inline constexpr u16 kPciVendor = 0x1af4;
inline constexpr u16 kPciDevice = 0x1110;
inline constexpr u32 kPciBar = 2;

inline constexpr u32 kMagic = 0x52424c48; /* "HLBR" */
inline constexpr u32 kVersion = 1;
inline constexpr size_t kPageSize = 4096;
/* The region: the global page and one page per vCPU (a power of two, as ivshmem wants). */
inline constexpr size_t kRegionSize = 1u << 20;
inline constexpr u32 kMaxVcpus = kRegionSize / kPageSize - 1;
/* Units per vCPU: one per concurrent configuration, as include/lbrctx/units.h. */
inline constexpr u32 kUnits = 4;
inline constexpr u32 kVectors = 256;

/* A Restore's prev_task when no task is switched out: no task_struct is there. */
inline constexpr u64 kNoTask = ~0ull;

/* The doorbell: nopl kDoorbell+cmd(%rax), 0f 1f 80 <disp32>. */
inline constexpr u32 kDoorbell = 0x4c420000;
inline constexpr u8 kDoorbellOpcode[3] = {0x0f, 0x1f, 0x80};
inline constexpr u32 kDoorbellLength = 7;

enum class Cmd : u8 {
	/* Check ctl.cpu against the vCPU index; fill in magic, version, vcpu; ack = nonce. */
	Hello = 1,
	/* Take global.vectors[] as the IDT's handler entries (every vCPU's). */
	Vectors = 2,
	/*
	 * XSAVES: for each unit i in ctl.mask, unit[i] = its LBR_CTL,
	 * LBR_DEPTH and records (youngest first, the rest zero, LER zero),
	 * and ctl.recorded[i].
	 */
	Save = 3,
	/*
	 * XRSTORS: for each unit i in ctl.mask, the unit takes unit[i]:
	 * LBR_CTL, LBR_DEPTH and the leading records whose TO is not zero.
	 * Reserved LBR_CTL bits or a depth other than 8, 16, 24, 32 refuse
	 * that unit (status kBadCtl, kBadDepth), which is reset and disabled,
	 * as XRSTORS would #GP. With ctl.prev_task and ctl.next_task set it is
	 * a context switch: the plugin keeps what it holds for the outgoing
	 * task's unfinished interrupt entries under prev_task and takes back
	 * next_task's (see below). A Sample's freeze is not part of the state
	 * (as LBR_FRZ is not): a Restore leaves it, and at a context switch it
	 * goes and comes back with the entry it belongs to.
	 */
	Restore = 4,
	/*
	 * Freeze on PMI, then Save: the units go back to their state at the
	 * entry of the interrupt being handled (the newest one the plugin saw
	 * on this vCPU), as hardware that froze its LBR there would be; where
	 * the plugin could not tell at that entry which way the interrupted
	 * block's last branch went, ctl.ip (the interrupted instruction)
	 * says, and that branch is recorded. Nothing of the handler, the
	 * driver's sampling path included, stays in the records: the units
	 * stay frozen until that interrupt's IRET, also when the task is
	 * switched out in the handler and back (the records a Save there
	 * gives, and a Restore gives back, are the interrupted code's).
	 */
	Sample = 5,
};

enum Status : s32 {
	kOk = 0,
	kBadCpu = 1,	 /* ctl.cpu is not this vCPU's index: nothing done */
	kBadCtl = 2,	 /* a unit's LBR_CTL has reserved bits */
	kBadDepth = 3,	 /* a unit's LBR_DEPTH is not 8, 16, 24 or 32 */
	kBadMask = 4,	 /* ctl.mask names a unit beyond kUnits */
	kBadCommand = 5, /* no such command */
	kBadPage = 6,	 /* a field of the page is out of range (counted, ignored) */
};

/* The global page (page 0). */
struct alignas(64) Global {
	u32 magic;	   /* plugin, at load */
	u32 version;	   /* plugin */
	u32 nvcpus;	   /* plugin: the vCPUs it models */
	u32 page_size;	   /* plugin: kPageSize */
	u64 vectors_taken; /* plugin: non-zero entries it took at the last Vectors */
	u64 reserved[5];
	u64 vectors[kVectors]; /* driver: each IDT gate's handler address, 0 if none */
};

/* A vCPU's control block: who writes each field is named. */
struct alignas(64) Control {
	u32 magic;    /* plugin */
	u32 version;  /* plugin */
	u32 vcpu;     /* plugin: its index of this vCPU */
	u32 cpu;      /* driver: its CPU number, before every command */
	u32 mask;     /* driver: the units (bit i: unit[i]) Save, Restore and Sample cover */
	s32 status;   /* plugin: the last command's Status */
	u64 commands; /* plugin: commands run on this vCPU */
	u64 refused;  /* plugin: commands refused (status not kOk) */
	u64 ip;	      /* driver, Sample: the interrupted instruction */
	/*
	 * driver, Restore at a context switch: the outgoing task, else 0;
	 * kNoTask when the driver gives next_task its records back
	 * outside a switch (an event bound on a CPU that had none): the
	 * pending entries are then no task's, and next_task's come back.
	 */
	u64 prev_task;
	u64 next_task;	      /* driver: the incoming task, else 0 */
	u64 nonce;	      /* driver, Hello */
	u64 ack;	      /* plugin, Hello: the nonce */
	u64 recorded[kUnits]; /* plugin, Save and Sample: branches each unit recorded (monotonic) */
	/* Plugin, for the driver's statistics and the tests; monotonic. */
	u64 branches;	/* taken branches seen, before any unit's filter */
	u64 interrupts; /* interrupt and exception entries seen */
	u64 resolved;	/* entries whose interrupted branch was told later (iret, Sample) */
	u64 unresolved; /* entries whose interrupted branch was never told */
	u64 reserved[6];
};

/* A vCPU's page: the units' XSAVE components, then the control block. */
struct alignas(64) Vcpu {
	xsave::ArchLbrState unit[kUnits];
	Control ctl;
};

static_assert(sizeof(Global) <= kPageSize, "the global page fits a page");
static_assert(sizeof(Vcpu) <= kPageSize, "a vCPU's units and control fit its page");
static_assert(__builtin_offsetof(Vcpu, unit) == 0, "the page starts with the XSAVE components");
static_assert(sizeof(Control) % 64 == 0 && __builtin_offsetof(Vcpu, ctl) % 64 == 0, "");
static_assert(kMaxVcpus >= 64, "");

/* The page of vCPU @i in a mapped region at @base. */
inline Vcpu *vcpu_page(void *base, u32 i)
{
	return reinterpret_cast<Vcpu *>(static_cast<u8 *>(base) +
					(1 + static_cast<size_t>(i)) * kPageSize);
}

inline Global *global_page(void *base)
{
	return static_cast<Global *>(base);
}

/* Is @b (at least kDoorbellLength bytes) a doorbell, and which command? 0 if none. */
constexpr u8 doorbell_command(const u8 *b)
{
	if (b[0] != kDoorbellOpcode[0] || b[1] != kDoorbellOpcode[1] || b[2] != kDoorbellOpcode[2])
		return 0;
	u32 disp = b[3] | b[4] << 8 | b[5] << 16 | static_cast<u32>(b[6]) << 24;
	if ((disp & 0xffffff00u) != kDoorbell)
		return 0;
	return static_cast<u8>(disp & 0xff);
}

#define LBRCTX_HW_DOORBELL(cmd)                                                            \
	asm volatile(".byte 0x0f, 0x1f, 0x80\n\t.long %c0" ::"i"(::lbrctx::hw::kDoorbell | \
								 static_cast<u32>(cmd))    \
		     : "memory")

/* Ring the doorbell of command @c on this CPU (its page's operands written). */
template <Cmd c> inline void ring()
{
	LBRCTX_HW_DOORBELL(c);
}

} // namespace lbrctx::hw

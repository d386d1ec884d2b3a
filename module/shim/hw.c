// SPDX-License-Identifier: GPL-2.0
/*
 * The LBR hardware of a QEMU TCG guest (include/lbrctx/hwlbr.h): a PCI
 * driver for QEMU's ivshmem-plain device, whose BAR 2 is memory the QEMU
 * plugin maps too, and the kernel facts its driver (module/hw.cpp) needs:
 * the IDT's handler addresses, and a function run on each CPU.
 */
#include <linux/io.h>
#include <linux/pci.h>
#include <linux/smp.h>
#include <asm/desc.h>
#include <lbrctx/shim.h>

#define LBRCTX_HW_BAR 2

/* Task context (PCI probe: at pci_register_driver(), or a hotplug or rescan). */
static int lbrctx_hw_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	resource_size_t len = pci_resource_len(pdev, LBRCTX_HW_BAR);
	void *base;
	int ret;

	ret = pci_enable_device_mem(pdev);
	if (ret)
		return ret;
	ret = pci_request_region(pdev, LBRCTX_HW_BAR, "lbrctx");
	if (ret)
		goto disable;
	/* RAM behind the BAR (a memory-backend-file): cacheable, as the plugin maps it. */
	base = memremap(pci_resource_start(pdev, LBRCTX_HW_BAR), len, MEMREMAP_WB);
	if (!base) {
		ret = -ENOMEM;
		goto release;
	}
	ret = lbrctx_hw_probe(base, len);
	if (ret)
		goto unmap;
	pci_set_drvdata(pdev, base);
	return 0;
unmap:
	memunmap(base);
release:
	pci_release_region(pdev, LBRCTX_HW_BAR);
disable:
	pci_disable_device(pdev);
	return ret;
}

/* Task context: unbind (module exit), sysfs remove, or hot-unplug. */
static void lbrctx_hw_pci_remove(struct pci_dev *pdev)
{
	void *base = pci_get_drvdata(pdev);

	lbrctx_hw_remove();	/* no CPU uses the page past this */
	memunmap(base);
	pci_release_region(pdev, LBRCTX_HW_BAR);
	pci_disable_device(pdev);
}

/* QEMU's ivshmem-plain: Red Hat's vendor id and the ivshmem device id (hw/misc/ivshmem.c). */
static const struct pci_device_id lbrctx_hw_ids[] = {
	{ PCI_DEVICE(0x1af4, 0x1110) },
	{ }
};

static struct pci_driver lbrctx_hw_driver = {
	.name = "lbrctx",
	.id_table = lbrctx_hw_ids,
	.probe = lbrctx_hw_pci_probe,
	.remove = lbrctx_hw_pci_remove,
};

/* Task context: binds the devices present now (synchronously). */
int lbrctx_shim_hw_register(void)
{
	return pci_register_driver(&lbrctx_hw_driver);
}

void lbrctx_shim_hw_unregister(void)
{
	pci_unregister_driver(&lbrctx_hw_driver);
}

/*
 * The handler address of each of the first @n IDT gates, 0 for a gate
 * not present; returns how many are present. Any context: the IDT is
 * read-only once the kernel is up.
 */
u32 lbrctx_shim_idt_handlers(u64 *out, u32 n)
{
	struct desc_ptr dt;
	const gate_desc *idt;
	u32 i, present = 0;

	store_idt(&dt);
	idt = (const gate_desc *)dt.address;
	for (i = 0; i < n; i++) {
		out[i] = 0;
		if ((i + 1) * sizeof(gate_desc) > (u64)dt.size + 1 || !idt[i].bits.p)
			continue;
		out[i] = gate_offset(&idt[i]);
		present++;
	}
	return present;
}

/* Task context: @fn(@arg) on every online CPU, with interrupts off there; waits. */
void lbrctx_shim_on_each_cpu(void (*fn)(void *arg), void *arg)
{
	on_each_cpu(fn, arg, 1);
}

u32 lbrctx_shim_cpu_id(void)
{
	return raw_smp_processor_id();
}

/* Task context: every interrupts-off section that began before it has ended. */
void lbrctx_shim_synchronize_rcu(void)
{
	synchronize_rcu();
}

# SPDX-License-Identifier: GPL-2.0
#
# lbrctx front end. Kbuild (the Kbuild file) does the building; this file
# drives it and the test, demo and benchmark scripts.
#
#   make demo                         the seed-003 replica under perf, as a
#                                     report and a picture (qemu guest, 7.x)
#   make check                        every test on every kernel series
#   make [KDIR=<built kernel tree>]   build lbrctx.ko and the test modules
#   make install [KDIR=...]           install lbrctx.ko for KDIR's kernel
#                                     (default: the running one) and depmod
#   make check-all                    make check plus the 6.1 and 6.12 debug
#                                     kernels, the default kernels' stress
#                                     guests and build-rule checks
#   make stress                       the long stress run on 7.x and 7.x debug
#   make check-stock                  Debian's stock 6.1, 6.12 and 7.x images:
#                                     dkms install, modprobe, the tests
#   make deb                          the lbrctx-dkms Debian package
#                                     (artifacts/deb), lintian-checked
#   make bench                        benchmarks P1 to P5, in a guest
#   make clean

KDIR ?= /lib/modules/$(shell uname -r)/build
MODULES := lbrctx.ko lbrctx_kunit.ko lbrctx_bench.ko lbrctx_k1.ko lbrctx_tchain.ko

all: modules

modules:
	@test -f $(KDIR)/Makefile || { echo "lbrctx: no kernel build tree at KDIR=$(KDIR); pass KDIR=<tree> or install the headers"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
	@scripts/postlink-check.sh $$(ls $(MODULES) 2>/dev/null)

clean:
	@test ! -f $(KDIR)/Makefile || $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf include/generated

KRELEASE = $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)

install: modules
	@test -n "$(KRELEASE)" || { echo "lbrctx: no kernel release in $(KDIR)/include/config/kernel.release"; exit 1; }
	install -D -m 644 lbrctx.ko $(INSTALL_MOD_PATH)/lib/modules/$(KRELEASE)/updates/lbrctx.ko
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KRELEASE)

check:
	@scripts/check.sh

check-all:
	@LBRCTX_DEBUG_SERIES="7.x 6.1 6.12" LBRCTX_STRESS_SERIES="6.1 6.12 7.x" \
		LBRCTX_BUILD_RULES_SERIES="6.1 6.12 7.x" LBRCTX_DEBUG_E2E_USER=1 scripts/check.sh

check-stock:
	@scripts/stock.sh all 6.1 6.12 7.x

stress:
	@LBRCTX_SERIES=7.x LBRCTX_STRESS_SERIES=7.x LBRCTX_DEBUG_SERIES=7.x LBRCTX_STOCK_SERIES= LBRCTX_STRESS_LONG=1 LBRCTX_DKMS=0 scripts/check.sh

# make demo SERIES=6.12 PROBES='vfs_*' WORKLOAD='...'
export SERIES PROBES WORKLOAD
demo:
	@scripts/demo.sh

bench:
	@scripts/bench.sh

deb:
	@scripts/deb.sh

kernels:
	@for s in 6.1 6.12 7.x; do scripts/kernels.sh build $$s default || exit 1; done
	@for s in 7.x 6.1; do scripts/kernels.sh build $$s debug || exit 1; done

.PHONY: all modules clean install check check-all check-stock stress demo bench deb kernels

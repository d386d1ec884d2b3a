# SPDX-License-Identifier: GPL-2.0
#
# lbrctx front end. Kbuild (the Kbuild file) does the building; this file
# drives it and the test, demo and benchmark scripts.
#
#   make [KDIR=<built kernel tree>]   build lbrctx.ko and lbrctx_kunit.ko
#   make check                        every test on every kernel series
#   make bench                        the store benchmarks, in a guest
#   make clean

KDIR ?= /lib/modules/$(shell uname -r)/build
MODULES := lbrctx.ko lbrctx_kunit.ko lbrctx_bench.ko lbrctx_tchain.ko

all: modules

modules:
	@test -f $(KDIR)/Makefile || { echo "lbrctx: no kernel build tree at KDIR=$(KDIR); pass KDIR=<tree> or install the headers"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
	@scripts/postlink-check.sh $(MODULES)

clean:
	@test ! -f $(KDIR)/Makefile || $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf include/generated

check:
	@scripts/check.sh

bench:
	@scripts/bench.sh

kernels:
	@for s in 6.1 6.12 7.x; do scripts/kernels.sh build $$s default || exit 1; done
	@scripts/kernels.sh build 7.x debug

.PHONY: all modules clean check bench kernels

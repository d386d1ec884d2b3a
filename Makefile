# SPDX-License-Identifier: GPL-2.0
#
# lbrctx front end. Kbuild (the Kbuild file) does the building; this file
# drives it and the test, demo and benchmark scripts.
#
#   make demo                         lbrctx on the QEMU plugin's LBR hardware
#                                     under perf: seed 003's tchain and an
#                                     unmodified perl, a report and two
#                                     pictures (Debian's stock 6.12 image)
#   make check                        every test on every kernel series
#   make [KDIR=<built kernel tree>]   build lbrctx.ko and the test modules
#   make install [KDIR=...]           install lbrctx.ko for KDIR's kernel
#                                     (default: the running one) and depmod
#   make check-all                    make check plus the 6.1 and 6.12 debug
#                                     kernels, the default kernels' stress
#                                     guests and build-rule checks, the
#                                     stock guests' full hardening run (the
#                                     storms) and the syscall fuzzer's long
#                                     form
#   make stress                       the long stress run on 7.x and 7.x debug
#   make check-stock                  Debian's stock 6.1, 6.12 and 7.x images:
#                                     dkms install, modprobe, the tests
#   make deb                          the lbrctx-dkms Debian package
#                                     (artifacts/deb), lintian-checked
#   make bench                        benchmarks (K, P, U, H), in guests
#   make plugin                       the guest's LBR hardware, a QEMU TCG
#                                     plugin (qemu/plugin/lbrctx-plugin.so)
#   make plugin-test                  its model's host tests, also under
#                                     ASan and UBSan
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
	rm -f qemu/plugin/lbrctx-plugin.so $(PLUGIN_TESTS)

KRELEASE = $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)

install: modules
	@test -n "$(KRELEASE)" || { echo "lbrctx: no kernel release in $(KDIR)/include/config/kernel.release"; exit 1; }
	install -D -m 644 lbrctx.ko $(INSTALL_MOD_PATH)/lib/modules/$(KRELEASE)/updates/lbrctx.ko
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KRELEASE)

check:
	@scripts/check.sh

check-all:
	@LBRCTX_DEBUG_SERIES="7.x 6.1 6.12" LBRCTX_STRESS_SERIES="6.1 6.12 7.x" \
		LBRCTX_BUILD_RULES_SERIES="6.1 6.12 7.x" LBRCTX_DEBUG_E2E=1 LBRCTX_DEBUG_E2E_USER=1 \
		LBRCTX_HW_FULL_SERIES="6.1 6.12 7.x" LBRCTX_STOCK_DEB_SERIES="6.1 6.12 7.x" \
		LBRCTX_STOCK_SERIES="6.1 6.12 7.x" LBRCTX_STOCK_HW_SERIES=6.12 \
		LBRCTX_STOCK_STRESS_QUICK=0 LBRCTX_FUZZ_LONG=1 scripts/check.sh

check-stock:
	@scripts/stock.sh all 6.1 6.12 7.x

stress:
	@LBRCTX_SERIES=7.x LBRCTX_STRESS_SERIES=7.x LBRCTX_DEBUG_SERIES=7.x LBRCTX_STOCK_SERIES= LBRCTX_STRESS_LONG=1 LBRCTX_DKMS=0 \
		LBRCTX_FUZZ_SERIES= scripts/check.sh

# make demo [SERIES=6.1|6.12|7.x] [WORKLOAD='...']: SERIES boots that test
# kernel instead of the stock image; WORKLOAD replaces perl in part 2.
export SERIES WORKLOAD
demo:
	@scripts/demo.sh

bench:
	@scripts/bench.sh

deb:
	@scripts/deb.sh

kernels:
	@for s in 6.1 6.12 7.x; do scripts/kernels.sh build $$s default || exit 1; done
	@for s in 7.x 6.1; do scripts/kernels.sh build $$s debug || exit 1; done

# The QEMU TCG plugin that is the guest's LBR hardware (qemu/plugin), and
# its model's tests: host C++, which plain make (Kbuild's module build)
# leaves alone. The plugin is built against the qemu-plugin.h of the
# installed QEMU, which scripts/qemu-plugin.sh fetches and caches; PLUGIN_OUT
# puts the .so elsewhere (scripts/qemu-plugin.sh build DIR).
PLUGIN_OUT ?= qemu/plugin
PLUGIN_SRCS := qemu/plugin/lbrctx-plugin.cpp qemu/plugin/model.cpp
PLUGIN_DEPS := qemu/plugin/model.cpp qemu/plugin/model.h \
	$(addprefix include/lbrctx/,types.h xsave.h lbr.h x86.h hwlbr.h)
PLUGIN_TESTS := qemu/plugin/tests/test_model qemu/plugin/tests/test_model-san \
	qemu/plugin/tests/test_x86
HOST_CXXFLAGS := -std=c++20 -Wall -Wextra -Werror -DLBRCTX_HOST -Iinclude -Iqemu/plugin

plugin:
	@hdr=$$(scripts/qemu-plugin.sh header) && \
		$(MAKE) --no-print-directory $(PLUGIN_OUT)/lbrctx-plugin.so QEMU_PLUGIN_H="$$hdr"

$(PLUGIN_OUT)/lbrctx-plugin.so: $(PLUGIN_SRCS) $(PLUGIN_DEPS) $(QEMU_PLUGIN_H)
	@test -n "$(QEMU_PLUGIN_H)" || { echo "lbrctx: build it with make plugin"; exit 1; }
	g++ $(HOST_CXXFLAGS) -O2 -flto=auto -fPIC -shared -fvisibility=hidden \
		-I$(dir $(QEMU_PLUGIN_H)) -o $@ $(PLUGIN_SRCS)

plugin-test: $(PLUGIN_TESTS)
	qemu/plugin/tests/test_model
	qemu/plugin/tests/test_model-san
	qemu/plugin/tests/test_x86

# The decoder the plugin uses (include/lbrctx/x86.h) against the table the
# KUnit suite lbrctx_x86 checks in the guest (kunit/x86_table.h).
qemu/plugin/tests/test_x86: qemu/plugin/tests/test_x86.cpp kunit/x86_table.h include/lbrctx/x86.h \
		include/lbrctx/types.h
	g++ $(HOST_CXXFLAGS) -Ikunit -O2 -o $@ $<

qemu/plugin/tests/test_model: qemu/plugin/tests/test_model.cpp $(PLUGIN_DEPS)
	g++ $(HOST_CXXFLAGS) -O2 -o $@ $< qemu/plugin/model.cpp

qemu/plugin/tests/test_model-san: qemu/plugin/tests/test_model.cpp $(PLUGIN_DEPS)
	g++ $(HOST_CXXFLAGS) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer -o $@ $< qemu/plugin/model.cpp

.PHONY: all modules clean install check check-all check-stock stress demo bench deb kernels \
	plugin plugin-test

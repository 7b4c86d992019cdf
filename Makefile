# SPDX-License-Identifier: GPL-2.0
#
# stap, the socket tap: out-of-tree build, VM tests and quality gates.
#
#   make run        build everything and show stap working inside a VM
#   make check      build everything, run every gate and test
#                   (CHECK_KERNELS, CHECK_DKMS_KERNELS: default 6.1)
#   make check-faults  the fault-injection run at length, on 7.3 only
#                   (FAULT_SECONDS per round, FAULT_SEEDS for the fuzzer)
#   make patches    the upstream series (git format-patch) in build/patches
#
# KVER selects the kernel (6.1, 6.12 or 7.3; default 6.1). Kernels and
# their build trees are cached in $(STAP_CACHE) (~/.cache/stap).
#
# KDIR builds on a kernel of your own instead (6.1 or later, with its
# headers or build tree): no cache, no scripts/deps.sh, no root. "all" is
# then stap.ko, the samples and the tools (the selftests need 7.3's tree).
#
#   make KDIR=/lib/modules/$(uname -r)/build
#   sudo make install KDIR=/lib/modules/$(uname -r)/build   [PREFIX=/usr/local]
#   make deb        stap-dkms and stap-tools packages into build/deb

KVER		?= 6.1
KVERS		:= 6.1 6.12 7.3
TOP		:= $(CURDIR)
BUILD		:= $(TOP)/build
export STAP_CACHE ?= $(HOME)/.cache/stap

KSFT_DIR	:= tools/testing/selftests/net/stap
KSFT_OUT	:= $(BUILD)/ksft/tools/testing/selftests/net/stap
VMTEST		:= $(TOP)/$(KSFT_DIR)/vmtest.sh
KERNEL_SH	:= $(TOP)/scripts/kernel.sh

STAP_CFLAGS	:= -I$(TOP)/include -I$(TOP)/include/uapi

# The version of stap, for the packages: dkms.conf has it.
VERSION		:= $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' $(TOP)/dkms.conf)

# The module is built in a copy of net/stap (build/KVER/net/stap, or
# build/kdir-RELEASE/net/stap with KDIR), so that one checkout builds for
# every kernel side by side. deps.sh (root, apt) runs first unless KDIR
# is given; DEPS= skips it too.
ifneq ($(KDIR),)
override KDIR	:= $(abspath $(KDIR))
KREL		:= $(shell sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' \
			$(KDIR)/include/generated/utsrelease.h 2>/dev/null)
ifeq ($(KREL),)
$(error KDIR=$(KDIR) is not a kernel build tree (no include/generated/utsrelease.h))
endif
MODDIR		:= $(BUILD)/kdir-$(KREL)/net/stap
DEPS		:=
else
MODDIR		:= $(BUILD)/$(KVER)/net/stap
DEPS		:= deps
endif
KDIR_OF		:= $(if $(KDIR),$(KDIR),$$($(KERNEL_SH) kdir $(KVER)))
SYNC		:= $(if $(shell command -v rsync 2>/dev/null),rsync -a --delete,cp -pR)

# make install: GNU directory variables under PREFIX, DESTDIR for staging.
PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
LIBDIR		?= $(PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
DATADIR		?= $(PREFIX)/share
MANDIR		?= $(DATADIR)/man
BASHCOMPDIR	?= $(DATADIR)/bash-completion/completions
DKMS_SRCDIR	?= /usr/src/stap-$(VERSION)
DEPMOD		?= /sbin/depmod
INSTALL		?= install

TOOLS_OUT	:= $(BUILD)/tools
SAMPLES_OUT	:= $(BUILD)/samples
TOOLS_FILES	:= $(TOOLS_OUT)/stapctl $(TOOLS_OUT)/libstap_preload.so \
		   $(TOOLS_OUT)/stapctl.8
MOD_SRCS	:= $(filter-out %.mod.c,$(wildcard $(TOP)/net/stap/*.[ch])) \
		   $(TOP)/net/stap/Makefile $(TOP)/net/stap/Kbuild \
		   $(TOP)/net/stap/Kconfig

.PHONY: all deps module modules selftests samples tools run check lint patches intree-check \
	vm-tests splat-test run_tests bench check-faults clean help install install-module \
	install-tools install-dkms deb

all: module $(if $(KDIR),,selftests) samples tools

help:
	@sed -n '3,/^$$/{/^$$/d;s/^# \{0,1\}//;p}' $(TOP)/Makefile

deps:
	@bash $(TOP)/scripts/deps.sh

module: $(DEPS)
	@kdir=$(KDIR_OF) && \
	mkdir -p $(MODDIR) && \
	$(SYNC) $(TOP)/net/stap/. $(MODDIR)/ && \
	$(MAKE) -C $$kdir M=$(MODDIR) CONFIG_STAP=m \
		KCFLAGS="$(STAP_CFLAGS)" W=1 \
		$(if $(C),C=$(C) CHECK=$$($(KERNEL_SH) sparse)) modules

modules:
	@set -e; for v in $(KVERS); do $(MAKE) --no-print-directory module KVER=$$v; done

selftests: $(DEPS)
	@bash $(TOP)/scripts/selftests.sh build

# samples/bpf: the operator's starting points, and stap_loader
samples: $(DEPS)
	@$(MAKE) -s -C $(TOP)/samples/bpf OUT=$(SAMPLES_OUT)

# tools/net/stap: stapctl, libstap_preload.so and stapctl.8 into build/tools
tools: $(DEPS)
	@$(MAKE) -s -C $(TOP)/tools/net/stap OUT=$(TOOLS_OUT)

# The install targets build nothing: run make (with the same KDIR) first.
install: install-module install-tools

# stap.ko into $(DESTDIR)/lib/modules/RELEASE/updates with kbuild's
# modules_install, which compresses it and signs it as the kernel's
# configuration says (not when the signing key is absent, as in
# distribution header packages), then depmod, unless staging in DESTDIR.
install-module:
	@test -f $(MODDIR)/stap.ko || { echo "install-module: no $(MODDIR)/stap.ko;" \
		"run make$(if $(KDIR), KDIR=$(KDIR)) module first" >&2; exit 1; }
	@kdir=$(KDIR_OF) && \
	rel=$$(sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' \
		$$kdir/include/generated/utsrelease.h) && \
	key=$$(sed -n 's/^CONFIG_MODULE_SIG_KEY="\(.*\)"/\1/p' $$kdir/.config) && \
	case "$$key" in /*|pkcs11:*) ;; ?*) key=$$kdir/$$key ;; esac && \
	nosign=$$(case "$$key" in ""|pkcs11:*) ;; \
		*) [ -e "$$key" ] || echo CONFIG_MODULE_SIG_ALL= ;; esac) && \
	$(MAKE) -C $$kdir M=$(MODDIR) KERNELRELEASE=$$rel $$nosign \
		INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=updates \
		modules_install && \
	$(if $(DESTDIR),:,echo "  DEPMOD  $$rel" && $(DEPMOD) -a $$rel)

# stapctl and the preload library it loads from its own directory (so
# $(LIBDIR)/stap, with a link in $(SBINDIR)), the sample objects (BPF
# objects have the byte order of the machine: $(LIBDIR), not $(DATADIR)),
# the headers programs for stap build on, the man page and completion.
install-tools:
	@for f in $(TOOLS_FILES) $(SAMPLES_OUT)/*.bpf.o; do \
		test -f $$f || { echo "install-tools: no $$f;" \
			"run make tools samples first" >&2; exit 1; }; \
	done
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR)/stap \
		$(DESTDIR)$(LIBDIR)/stap/samples $(DESTDIR)$(INCLUDEDIR)/linux \
		$(DESTDIR)$(INCLUDEDIR)/stap $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 755 $(TOOLS_OUT)/stapctl $(DESTDIR)$(LIBDIR)/stap/
	$(INSTALL) -m 644 $(TOOLS_OUT)/libstap_preload.so $(DESTDIR)$(LIBDIR)/stap/
	ln -sfr $(DESTDIR)$(LIBDIR)/stap/stapctl $(DESTDIR)$(SBINDIR)/stapctl
	$(INSTALL) -m 644 $(SAMPLES_OUT)/*.bpf.o $(DESTDIR)$(LIBDIR)/stap/samples/
	$(INSTALL) -m 644 $(TOP)/include/uapi/linux/stap.h $(DESTDIR)$(INCLUDEDIR)/linux/
	$(INSTALL) -m 644 $(TOP)/samples/bpf/stap_common.bpf.h \
		$(TOP)/samples/bpf/stap_samples.h $(DESTDIR)$(INCLUDEDIR)/stap/
	$(INSTALL) -m 644 $(TOOLS_OUT)/stapctl.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 644 $(TOP)/tools/net/stap/stapctl.bash-completion \
		$(DESTDIR)$(BASHCOMPDIR)/stapctl

# The module's sources and dkms.conf into /usr/src/stap-VERSION, where
# "dkms install stap/$(VERSION)" finds them (stap-dkms ships this).
install-dkms:
	$(INSTALL) -d $(DESTDIR)$(DKMS_SRCDIR)/net/stap \
		$(DESTDIR)$(DKMS_SRCDIR)/include/net \
		$(DESTDIR)$(DKMS_SRCDIR)/include/uapi/linux
	$(INSTALL) -m 644 $(TOP)/dkms.conf $(DESTDIR)$(DKMS_SRCDIR)/
	$(INSTALL) -m 644 $(MOD_SRCS) $(DESTDIR)$(DKMS_SRCDIR)/net/stap/
	$(INSTALL) -m 644 $(TOP)/include/net/stap.h $(DESTDIR)$(DKMS_SRCDIR)/include/net/
	$(INSTALL) -m 644 $(TOP)/include/uapi/linux/stap.h \
		$(DESTDIR)$(DKMS_SRCDIR)/include/uapi/linux/

# Debian packages (stap-dkms, stap-tools) into build/deb
deb:
	@bash $(TOP)/scripts/package/deb.sh

# Runs inside the guest (vmtest.sh's default command).
run_tests:
	@bash $(TOP)/scripts/selftests.sh run

run: module tools
	@bash $(TOP)/scripts/demo.sh $(KVER)

# Benchmarks (not part of check): build/bench/results.md and results.png
bench: selftests
	@$(MAKE) --no-print-directory module KVER=$(or $(BENCH_KVER),6.12)
	@bash $(TOP)/scripts/bench.sh $(or $(BENCH_KVER),6.12)

lint: deps
	@bash $(TOP)/scripts/lint.sh

# The upstream submission: a git format-patch series in build/patches
patches: deps
	@bash $(TOP)/scripts/patches.sh

intree-check: deps
	@bash $(TOP)/scripts/intree.sh

check: deps
	@bash $(TOP)/scripts/check.sh

# make check runs each fault test once, briefly; this runs them longer
FAULT_SECONDS	?= 60
FAULT_SEEDS	?= 4,5,6,7,8,9
check-faults: deps selftests
	@$(MAKE) --no-print-directory module KVER=7.3
	@$(VMTEST) -k 7.3 -t 7200 -- sh -c 'cd $(KSFT_OUT) && ./stap_faults && \
		STAP_STRESS_FAULT_SECONDS=$(FAULT_SECONDS) ./stap_stress -t faults && \
		STAP_FUZZ_FAULT_SEEDS=$(FAULT_SEEDS) STAP_FUZZ_OPS=500 \
		./stap_fuzz -t faults'

clean:
	rm -rf $(BUILD)

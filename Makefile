# SPDX-License-Identifier: GPL-2.0
#
# stap, the socket tap: out-of-tree build, VM tests and quality gates.
#
#   make run        build everything and show stap working inside a VM
#   make check      build everything, run every gate and test
#
# KVER selects the kernel (6.1, 6.12 or 7.3; default 6.1). Kernels and
# their build trees are cached in $(STAP_CACHE) (~/.cache/stap).

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

.PHONY: all deps module modules selftests samples tools run check lint intree-check \
	vm-tests splat-test run_tests bench clean help

all: module selftests samples tools

help:
	@sed -n '3,10p' Makefile

deps:
	@bash $(TOP)/scripts/deps.sh

# build/$(KVER)/net/stap: a copy of the sources, so that one checkout
# builds for every kernel side by side.
module: deps
	@kdir=$$($(KERNEL_SH) kdir $(KVER)) && \
	mkdir -p $(BUILD)/$(KVER)/net && \
	rsync -a --delete $(TOP)/net/stap/ $(BUILD)/$(KVER)/net/stap/ && \
	$(MAKE) -C $$kdir M=$(BUILD)/$(KVER)/net/stap CONFIG_STAP=m \
		KCFLAGS="$(STAP_CFLAGS)" W=1 \
		$(if $(C),C=$(C) CHECK=$$($(KERNEL_SH) sparse)) modules

modules:
	@set -e; for v in $(KVERS); do $(MAKE) --no-print-directory module KVER=$$v; done

selftests: deps
	@bash $(TOP)/scripts/selftests.sh build

# samples/bpf: the operator's starting points, and stap_loader
samples: deps
	@$(MAKE) -s -C $(TOP)/samples/bpf OUT=$(BUILD)/samples

# tools/net/stap: stap(8) and libstap_preload.so into build/tools
tools: deps
	@$(MAKE) -s -C $(TOP)/tools/net/stap OUT=$(BUILD)/tools

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

intree-check: deps
	@bash $(TOP)/scripts/intree.sh

check: deps
	@bash $(TOP)/scripts/check.sh

clean:
	rm -rf $(BUILD)
